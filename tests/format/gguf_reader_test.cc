// GGUF fixtures written by llama.cpp's gguf-py (tests/data/gguf, see
// /work/shared/fixtures/gguf-models/README.md): metadata, tensor tables, and
// tensor contents checked against the F32 file of the same weights; plus a
// writer -> reader round trip over every value type.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "format/gguf.h"
#include "kernels/ref/quant_ref.h"

namespace dseek {
namespace {

std::string Fixture(const std::string& name) { return std::string(DSEEK_TEST_DATA) + "/gguf/" + name; }

std::vector<float> TensorAsF32(const GgufTensorInfo& t) {
  std::vector<float> out(static_cast<size_t>(t.n_elements()));
  const int64_t row_bytes = GgmlRowBytes(t.type, t.row_length());
  for (int64_t r = 0; r < t.n_rows(); ++r) {
    ref::DequantizeRowGgml(t.type, t.data + r * row_bytes, t.row_length(), out.data() + r * t.row_length());
  }
  return out;
}

TEST(GgufFixtures, Qwen2F32Metadata) {
  auto f = GgufFile::Open(Fixture("tiny-qwen2-f32.gguf"));
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->GetString("general.architecture"), "qwen2");
  EXPECT_EQ(f->GetU32("qwen2.embedding_length"), 64u);
  EXPECT_EQ(f->GetU32("qwen2.block_count"), 2u);
  EXPECT_EQ(f->GetU32("qwen2.attention.head_count"), 4u);
  EXPECT_EQ(f->GetU32("qwen2.attention.head_count_kv"), 2u);
  EXPECT_EQ(f->GetU32("qwen2.context_length"), 4096u);
  EXPECT_FLOAT_EQ(*f->GetF32("qwen2.rope.freq_base"), 1e6f);
  EXPECT_EQ(f->GetU32("general.file_type"), 0u);
  EXPECT_EQ(f->GetString("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f->GetString("tokenizer.ggml.pre"), "qwen2");
  EXPECT_EQ(f->GetBool("tokenizer.ggml.add_bos_token"), false);
  const GgufArray* tokens = f->GetArray("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->elem_type, GgufValueType::kString);
  ASSERT_EQ(tokens->size(), 300u);
  EXPECT_EQ(tokens->strings[0x20], "\xC4\xA0");  // GPT-2 byte table: space is U+0120
  EXPECT_EQ(tokens->strings[298], "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>");
  const GgufArray* types = f->GetArray("tokenizer.ggml.token_type");
  ASSERT_NE(types, nullptr);
  EXPECT_EQ(types->elem_type, GgufValueType::kI32);
  EXPECT_EQ(types->IntAt(0), 1);
  EXPECT_EQ(types->IntAt(299), 3);
  EXPECT_EQ(f->GetArray("tokenizer.ggml.merges")->size(), 42u);
  // Wrong-type access names the key.
  try {
    f->GetString("qwen2.block_count");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "qwen2.block_count");
  }
  EXPECT_THROW(f->GetU32("general.architecture"), Error);
  EXPECT_FALSE(f->GetU32("no.such.key").has_value());

  // qwen2: token_embd, output_norm, output + 2 layers of 12 (q/k/v biases).
  EXPECT_EQ(f->tensors().size(), 3u + 2 * 12);
  const GgufTensorInfo* q = f->FindTensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, GgmlType::kF32);
  EXPECT_EQ(q->dims, (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(q->nbytes, 64u * 64 * 4);
  const GgufTensorInfo* emb = f->FindTensor("token_embd.weight");
  EXPECT_EQ(emb->dims, (std::vector<int64_t>{64, 300}));
  EXPECT_EQ(f->FindTensor("blk.1.attn_k.bias")->dims, (std::vector<int64_t>{32}));
  for (const auto& t : f->tensors()) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 32, 0u) << t.name;  // mmap is page aligned
  }
}

// tiny-qwen2-q8_0 holds the same float weights as tiny-qwen2-f32, quantized
// by llama.cpp: our reference Q8_0 quantizer must reproduce its bytes exactly.
TEST(GgufFixtures, Qwen2Q8_0IsOurQuantizationOfTheF32File) {
  auto f32 = GgufFile::Open(Fixture("tiny-qwen2-f32.gguf"));
  auto q8 = GgufFile::Open(Fixture("tiny-qwen2-q8_0.gguf"));
  EXPECT_EQ(q8->GetU32("general.file_type"), 7u);
  ASSERT_EQ(f32->tensors().size(), q8->tensors().size());
  int n_q8 = 0;
  for (const auto& tq : q8->tensors()) {
    const GgufTensorInfo* tf = f32->FindTensor(tq.name);
    ASSERT_NE(tf, nullptr) << tq.name;
    EXPECT_EQ(tf->dims, tq.dims);
    const std::vector<float> want = TensorAsF32(*tf);
    if (tq.type == GgmlType::kF32) {
      EXPECT_EQ(tq.dims.size(), 1u) << tq.name;
      EXPECT_EQ(0, std::memcmp(tq.data, tf->data, tq.nbytes)) << tq.name;
      continue;
    }
    ASSERT_EQ(tq.type, GgmlType::kQ8_0) << tq.name;
    ++n_q8;
    std::vector<uint8_t> mine(tq.nbytes);
    ref::QuantizeRowGgml(GgmlType::kQ8_0, want.data(), tf->n_elements(), mine.data());
    EXPECT_EQ(0, std::memcmp(mine.data(), tq.data, tq.nbytes)) << tq.name;
    const std::vector<float> got = TensorAsF32(tq);
    double max_err = 0, max_abs = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      max_err = std::max(max_err, static_cast<double>(std::fabs(got[i] - want[i])));
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(want[i])));
    }
    EXPECT_LE(max_err, max_abs / 127 * 0.51 + 1e-6) << tq.name;  // half a step of the largest block
  }
  EXPECT_EQ(n_q8, 2 + 2 * 7);  // token_embd, output, 7 matrices per layer
}

TEST(GgufFixtures, LlamaF16AndDeepseek2F32) {
  auto llama = GgufFile::Open(Fixture("tiny-llama-f16.gguf"));
  EXPECT_EQ(llama->GetString("general.architecture"), "llama");
  EXPECT_EQ(llama->GetU32("general.file_type"), 1u);
  EXPECT_EQ(llama->GetU32("llama.feed_forward_length"), 160u);
  const GgufTensorInfo* up = llama->FindTensor("blk.1.ffn_up.weight");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->type, GgmlType::kF16);
  EXPECT_EQ(up->dims, (std::vector<int64_t>{64, 160}));
  // Gaussian weights of std 1/sqrt(fan_in): check the dequantized statistics.
  const auto w = TensorAsF32(*up);
  double s2 = 0;
  for (float v : w) s2 += static_cast<double>(v) * v;
  EXPECT_NEAR(std::sqrt(s2 / w.size()), 1.0 / 8.0, 0.01);

  auto ds = GgufFile::Open(Fixture("tiny-deepseek2-f32.gguf"));
  EXPECT_EQ(ds->GetString("general.architecture"), "deepseek2");
  EXPECT_EQ(ds->tensors().size(), 52u);
  EXPECT_EQ(ds->GetU32("deepseek2.attention.kv_lora_rank"), 32u);
  EXPECT_EQ(ds->GetU32("deepseek2.attention.q_lora_rank"), 48u);
  EXPECT_EQ(ds->GetU32("deepseek2.expert_count"), 8u);
  EXPECT_EQ(ds->GetBool("deepseek2.expert_weights_norm"), true);
  EXPECT_FLOAT_EQ(*ds->GetF32("deepseek2.expert_weights_scale"), 2.5f);
  EXPECT_EQ(ds->GetString("deepseek2.rope.scaling.type"), "yarn");
  EXPECT_EQ(ds->FindTensor("blk.1.ffn_gate_exps.weight")->dims, (std::vector<int64_t>{64, 32, 8}));
  EXPECT_EQ(ds->FindTensor("blk.0.attn_k_b.weight")->dims, (std::vector<int64_t>{16, 32, 4}));
  EXPECT_EQ(ds->FindTensor("blk.1.attn_kv_b.weight"), nullptr);
}

TEST(GgufWriter, RoundTripsEveryValueTypeAndTensor) {
  GgufWriter w;
  w.Set("u8", GgufValue::U8(200));
  w.Set("i8", GgufValue::I8(-100));
  w.Set("u16", GgufValue::U16(60000));
  w.Set("i16", GgufValue::I16(-30000));
  w.SetU32("u32", 4000000000u);
  w.SetI32("i32", -2000000000);
  w.SetU64("u64", 18000000000000000000ull);
  w.Set("i64", GgufValue::I64(-9000000000000000000ll));
  w.SetF32("f32", 1.5f);
  w.Set("f64", GgufValue::F64(-2.25));
  w.SetBool("bool", true);
  w.SetString("str", std::string("h\0llo", 5));
  w.SetArray("strs", GgufStringArray({"a", "", "ccc"}));
  w.SetArray("i32s", GgufI32Array({1, -2, 3}));
  w.SetArray("f32s", GgufF32Array({0.5f, -1.0f}));
  GgufArray nested;
  nested.elem_type = GgufValueType::kArray;
  nested.count = 2;
  nested.arrays = {GgufI32Array({7}), GgufI32Array({8, 9})};
  w.SetArray("nested", nested);
  w.SetU32("general.alignment", 64);

  const int64_t n = 512;
  std::vector<float> x(n);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  for (auto& v : x) v = nd(rng);
  std::vector<uint8_t> q4k(GgmlRowBytes(GgmlType::kQ4_K, n));
  ref::QuantizeRowGgml(GgmlType::kQ4_K, x.data(), n, q4k.data());
  std::vector<uint8_t> f32(n * 4);
  std::memcpy(f32.data(), x.data(), f32.size());
  w.AddTensor("q", GgmlType::kQ4_K, {256, 2}, q4k);
  w.AddTensor("f", GgmlType::kF32, {n}, f32);
  w.AddTensor("odd", GgmlType::kF16, {3}, std::vector<uint8_t>(6, 0x11));
  EXPECT_THROW(w.AddTensor("bad", GgmlType::kF32, {3}, std::vector<uint8_t>(11)), Error);
  EXPECT_THROW(w.AddTensor("q", GgmlType::kF32, {1}, std::vector<uint8_t>(4)), Error);

  const std::string path = (std::filesystem::temp_directory_path() /
                            ("dseek-gguf-rt-" + std::to_string(::getpid()) + ".gguf")).string();
  w.Write(path);
  auto f = GgufFile::Open(path);
  std::filesystem::remove(path);
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->GetU32("u8"), 200u);
  EXPECT_EQ(f->GetI32("i8"), -100);
  EXPECT_EQ(f->GetU32("u16"), 60000u);
  EXPECT_EQ(f->GetI32("i16"), -30000);
  EXPECT_EQ(f->GetU32("u32"), 4000000000u);
  EXPECT_THROW(f->GetI32("u32"), Error);  // out of range
  EXPECT_EQ(f->GetI32("i32"), -2000000000);
  EXPECT_EQ(f->GetU64("u64"), 18000000000000000000ull);
  EXPECT_THROW(f->GetI64("u64"), Error);
  EXPECT_EQ(f->GetI64("i64"), -9000000000000000000ll);
  EXPECT_EQ(f->GetF32("f32"), 1.5f);
  EXPECT_EQ(f->GetF64("f64"), -2.25);
  EXPECT_EQ(f->GetBool("bool"), true);
  EXPECT_EQ(f->GetString("str"), std::string("h\0llo", 5));
  EXPECT_EQ(f->GetArray("strs")->strings, (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(f->GetArray("i32s")->IntAt(1), -2);
  EXPECT_EQ(f->GetArray("f32s")->FloatAt(1), -1.0);
  const GgufArray* nst = f->GetArray("nested");
  ASSERT_EQ(nst->arrays.size(), 2u);
  EXPECT_EQ(nst->arrays[1].IntAt(1), 9);
  EXPECT_EQ(f->metadata().front().first, "u8");  // file order kept

  ASSERT_EQ(f->tensors().size(), 3u);
  const GgufTensorInfo* q = f->FindTensor("q");
  EXPECT_EQ(q->type, GgmlType::kQ4_K);
  EXPECT_EQ(q->dims, (std::vector<int64_t>{256, 2}));
  ASSERT_EQ(q->nbytes, q4k.size());
  EXPECT_EQ(0, std::memcmp(q->data, q4k.data(), q4k.size()));
  for (const auto& t : f->tensors()) EXPECT_EQ(t.offset % 64, 0u) << t.name;
  const auto back = TensorAsF32(*f->FindTensor("f"));
  EXPECT_EQ(back, x);
  EXPECT_EQ(f->FindTensor("odd")->nbytes, 6u);
}

}  // namespace
}  // namespace dseek
