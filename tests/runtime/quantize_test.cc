// dseek quantize and dseek perplexity on a small synthetic DeepSeek-V2-style
// model (hidden 256 so Q4_K's 256-element blocks fit, 8 experts, no q LoRA,
// the real DeepSeek-V3 tokenizer beside it): the GGUF files load back in
// dseek with logits close to the BF16 source (tolerance by type), carry
// llama.cpp's metadata and vocabulary, have the expected bits per weight,
// and KL-divergence against BF16 orders q8_0 < q4_k < q4_0. FP8 output keeps
// DeepSeek's block layout. The CLI runs both commands once.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "backend/backend.h"
#include "base/error.h"
#include "base/numeric.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "model/gguf_weight_source.h"
#include "model/prepared_weight_source.h"
#include "model/registry.h"
#include "model/synth.h"
#include "runtime/perplexity.h"
#include "runtime/quantize.h"
#include "tokenizer/tokenizer.h"

namespace dseek {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kVocab = 1024;

const char* kConfig = R"({
  "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
  "vocab_size": 1024, "hidden_size": 256, "intermediate_size": 512, "moe_intermediate_size": 256,
  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
  "q_lora_rank": null, "kv_lora_rank": 256, "qk_nope_head_dim": 64, "qk_rope_head_dim": 32, "v_head_dim": 64,
  "n_routed_experts": 8, "n_shared_experts": 1, "num_experts_per_tok": 2, "first_k_dense_replace": 1,
  "moe_layer_freq": 1, "n_group": 1, "topk_group": 1, "topk_method": "greedy", "scoring_func": "softmax",
  "norm_topk_prob": false, "routed_scaling_factor": 1.0, "hidden_act": "silu", "attention_bias": false,
  "rms_norm_eps": 1e-06, "rope_theta": 10000, "max_position_embeddings": 4096,
  "bos_token_id": 0, "eos_token_id": 1, "tie_word_embeddings": false, "torch_dtype": "bfloat16"
})";

const std::vector<std::string> kTypes = {"q8_0", "q4_k", "q4_0", "fp8"};

std::vector<int32_t> RandomIds(size_t n, uint32_t seed) {
  std::vector<int32_t> ids(n);
  uint64_t s = seed;
  for (auto& id : ids) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<int32_t>((s >> 33) % kVocab);
  }
  return ids;
}

double MeanKl(const std::vector<float>& base, const std::vector<float>& q, int64_t V) {
  double total = 0;
  const int64_t n = static_cast<int64_t>(base.size()) / V;
  for (int64_t t = 0; t < n; ++t) {
    const float* a = base.data() + t * V;
    const float* b = q.data() + t * V;
    const double ma = *std::max_element(a, a + V), mb = *std::max_element(b, b + V);
    double sa = 0, sb = 0;
    for (int64_t i = 0; i < V; ++i) {
      sa += std::exp(a[i] - ma);
      sb += std::exp(b[i] - mb);
    }
    const double la = ma + std::log(sa), lb = mb + std::log(sb);
    for (int64_t i = 0; i < V; ++i) total += std::exp(a[i] - la) * ((a[i] - la) - (b[i] - lb));
  }
  return total / static_cast<double>(n);
}

class QuantizeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("dseek_quantize_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    {
      std::ofstream f(*dir_ / "config.json");
      f << kConfig;
    }
    backend_ = MakeCpuBackend(2).release();
    SynthOptions so;
    so.config = (*dir_ / "config.json").string();
    so.out_dir = Path("bf16");
    so.seed = 3;
    so.tokenizer_dir = std::string(DSEEK_TEST_DATA) + "/tokenizer/deepseek-v3";
    WriteSyntheticCheckpoint(so, *backend_);
    reports_ = new std::map<std::string, QuantizeReport>;
    for (const std::string& t : kTypes) {
      QuantizeOptions opt;
      opt.type = t;
      opt.threads = 2;
      (*reports_)[t] = Quantize(Path("bf16"), Out(t), opt);
    }
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    delete reports_;
    delete backend_;
  }
  static std::string Path(const std::string& name) { return (*dir_ / name).string(); }
  static std::string Out(const std::string& type) { return Path(type == "fp8" ? "fp8" : type + ".gguf"); }

  static std::vector<float> Logits(const std::string& model_path, const std::vector<int32_t>& ids,
                                   const ModelOptions& options = {}) {
    auto m = LoadModel(model_path, *backend_, options);
    auto cache = m->NewCache(static_cast<int64_t>(ids.size()));
    std::vector<float> logits(ids.size() * kVocab);
    m->Forward(ids.data(), ids.size(), *cache, logits.data(), true);
    return logits;
  }

  static fs::path* dir_;
  static Backend* backend_;
  static std::map<std::string, QuantizeReport>* reports_;
};
fs::path* QuantizeTest::dir_ = nullptr;
Backend* QuantizeTest::backend_ = nullptr;
std::map<std::string, QuantizeReport>* QuantizeTest::reports_ = nullptr;

TEST_F(QuantizeTest, BitsPerWeight) {
  auto bpw = [](const QuantizeTypeStats& s) { return 8.0 * static_cast<double>(s.bytes) / static_cast<double>(s.elements); };
  const auto& q8 = (*reports_)["q8_0"].by_type;
  ASSERT_TRUE(q8.count("Q8_0"));
  EXPECT_DOUBLE_EQ(bpw(q8.at("Q8_0")), 8.5);
  EXPECT_EQ(q8.size(), 2u);  // Q8_0 and F32 (norms, router)
  const auto& q4k = (*reports_)["q4_k"].by_type;
  EXPECT_DOUBLE_EQ(bpw(q4k.at("Q4_K")), 4.5);
  EXPECT_EQ(q4k.at("Q6_K").tensors, 1);  // output.weight
  EXPECT_EQ(q4k.at("Q5_0").tensors, 2);  // attn_k_b rows of 64 do not fit Q4_K's 256 blocks
  const auto& q40 = (*reports_)["q4_0"].by_type;
  EXPECT_DOUBLE_EQ(bpw(q40.at("Q4_0")), 4.5);
  for (const std::string& t : {"q8_0", "q4_k", "q4_0"}) {
    const QuantizeReport& r = (*reports_)[t];
    EXPECT_EQ(r.file_bytes, static_cast<int64_t>(fs::file_size(Out(t)))) << t;
    EXPECT_GT(r.file_bytes, r.tensor_bytes + 1000000) << t;  // the vocabulary
    EXPECT_NEAR(r.bits_per_weight, t == "q8_0" ? 8.55 : 4.75, t == "q8_0" ? 0.1 : 0.25) << t;
  }
  EXPECT_LT((*reports_)["fp8"].bits_per_weight, 10.0);
}

TEST_F(QuantizeTest, GgufMetadataAndTensors) {
  auto f = GgufFile::Open(Out("q4_k"));
  EXPECT_EQ(f->GetString("general.architecture"), "deepseek2");
  EXPECT_EQ(f->GetU32("general.file_type"), 14u);
  EXPECT_EQ(f->GetU32("general.quantization_version"), 2u);
  EXPECT_EQ(f->GetU32("deepseek2.block_count"), 2u);
  EXPECT_EQ(f->GetU32("deepseek2.embedding_length"), 256u);
  EXPECT_EQ(f->GetU32("deepseek2.expert_count"), 8u);
  EXPECT_EQ(f->GetU32("deepseek2.expert_used_count"), 2u);
  EXPECT_EQ(f->GetU32("deepseek2.leading_dense_block_count"), 1u);
  EXPECT_EQ(f->GetU32("deepseek2.attention.kv_lora_rank"), 256u);
  EXPECT_EQ(f->GetU32("deepseek2.attention.key_length_mla"), 96u);
  EXPECT_EQ(f->GetU32("deepseek2.attention.value_length_mla"), 64u);
  EXPECT_EQ(f->GetU32("deepseek2.rope.dimension_count"), 32u);
  EXPECT_FALSE(f->Find("deepseek2.attention.q_lora_rank"));
  auto type_of = [&](const std::string& n) {
    const GgufTensorInfo* t = f->FindTensor(n);
    EXPECT_TRUE(t) << n;
    return t ? t->type : GgmlType::kI8;
  };
  EXPECT_EQ(type_of("token_embd.weight"), GgmlType::kQ4_K);
  EXPECT_EQ(type_of("output.weight"), GgmlType::kQ6_K);
  EXPECT_EQ(type_of("output_norm.weight"), GgmlType::kF32);
  EXPECT_EQ(type_of("blk.1.ffn_gate_inp.weight"), GgmlType::kF32);
  // As llama.cpp's converter writes MLA (llama.cpp refuses attn_kv_b next to the split pair).
  EXPECT_FALSE(f->FindTensor("blk.0.attn_kv_b.weight"));
  EXPECT_EQ(type_of("blk.0.attn_k_b.weight"), GgmlType::kQ5_0);
  EXPECT_EQ(type_of("blk.0.attn_v_b.weight"), GgmlType::kQ4_K);
  EXPECT_EQ(f->FindTensor("blk.0.attn_k_b.weight")->dims, (std::vector<int64_t>{64, 256, 4}));
  EXPECT_EQ(f->FindTensor("blk.0.attn_v_b.weight")->dims, (std::vector<int64_t>{256, 64, 4}));
  EXPECT_EQ(f->FindTensor("blk.1.ffn_down_exps.weight")->dims, (std::vector<int64_t>{256, 256, 8}));
  EXPECT_TRUE(f->FindTensor("blk.1.ffn_up_shexp.weight"));
  EXPECT_EQ(f->tensors().size(), 29u);

  // The vocabulary: the same encodings, specials and template as the folder's tokenizer.
  EXPECT_EQ(f->GetString("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f->GetString("tokenizer.ggml.pre"), "deepseek-v3");
  EXPECT_EQ(f->GetU32("tokenizer.ggml.bos_token_id"), 0u);
  EXPECT_EQ(f->GetU32("tokenizer.ggml.eos_token_id"), 1u);
  Tokenizer from_gguf = Tokenizer::FromGguf(*f);
  Tokenizer from_dir = Tokenizer::FromDir(Path("bf16"));
  for (const char* text : {"Hello, world! 12345 tokens", "  def f(x):\n\treturn x**2  # 平方",
                           "<｜begin▁of▁sentence｜>Ünïcödé and <｜User｜>hi<｜Assistant｜>"}) {
    EXPECT_EQ(from_gguf.Encode(text, true), from_dir.Encode(text, true)) << text;
  }
  EXPECT_EQ(from_gguf.chat_template(), from_dir.chat_template());
  EXPECT_EQ(from_gguf.vocab_size(), from_dir.vocab_size());
}

TEST_F(QuantizeTest, LoadsBackCloseToBf16) {
  const std::vector<int32_t> ids = RandomIds(48, 11);
  const std::vector<float> ref = Logits(Path("bf16"), ids);
  double sd = 0;
  for (float v : ref) sd += static_cast<double>(v) * v;
  sd = std::sqrt(sd / static_cast<double>(ref.size()));
  std::map<std::string, double> kl;
  for (const std::string& t : kTypes) {
    const std::vector<float> q = Logits(Out(t), ids);
    double rms = 0;
    for (size_t i = 0; i < q.size(); ++i) rms += (q[i] - ref[i]) * (q[i] - ref[i]);
    rms = std::sqrt(rms / static_cast<double>(q.size()));
    kl[t] = MeanKl(ref, q, kVocab);
    const double tol = t == "q8_0" ? 0.05 : t == "fp8" ? 0.1 : 0.3;  // relative RMS error of the logits
    EXPECT_LT(rms / sd, tol) << t << " rms " << rms << " logit sd " << sd;
  }
  EXPECT_LT(kl["q8_0"], 0.005);
  EXPECT_LT(kl["fp8"], 0.02);
  EXPECT_LT(kl["q4_k"], 0.1);
  EXPECT_LT(kl["q4_0"], 0.15);
  EXPECT_LT(kl["q8_0"], kl["fp8"]);
  EXPECT_LT(kl["fp8"], kl["q4_k"]);
  EXPECT_LT(kl["q4_k"], kl["q4_0"] * 1.1);
}

// The CPU backend repacks Q4_0 / Q8_0 rows in groups of 8 at load. Each
// product must match the file's layout to float rounding; whole-model logits
// can move a little more, because a rounding difference can flip an 8-bit
// activation at a quantization boundary, so they are held to a KL bound far
// below what the weight quantization itself costs. Prefill (many tokens) and
// decode (one token: MoE experts and MLA heads side by side on threads).
TEST_F(QuantizeTest, RepackedWeightsGiveTheSameLogits) {
  const std::vector<int32_t> ids = RandomIds(21, 3);
  const std::vector<float> ref = Logits(Path("bf16"), ids);
  ModelOptions plain;
  plain.repack_weights = false;
  for (const std::string& t : {"q8_0", "q4_0"}) {
    GgufWeightSource src(GgufFile::Open(Out(t)), {});
    for (const auto& [name, rows, cols] : std::vector<std::tuple<std::string, int64_t, int64_t>>{
             {"model.layers.1.mlp.experts.0.up_proj.weight", 256, 256},
             {"model.layers.0.mlp.down_proj.weight", 256, 512},
             {"model.layers.1.self_attn.k_b_proj.weight", 4 * 256, 64},
             {"model.layers.1.self_attn.v_b_proj.weight", 4 * 64, 256}}) {
      const Matrix m = src.GetMatrix(name, rows, cols);
      const Matrix p = backend_->PrepareMatrix(m);
      ASSERT_TRUE(p.packed8) << t << " " << name;
      std::vector<float> x(3 * cols), want(3 * rows), got(3 * rows), local(3 * rows);
      for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i) * 0.37f);
      backend_->MatMul(m, x.data(), 3, want.data());
      backend_->MatMul(p, x.data(), 3, got.data());
      backend_->MatMulLocal(p, x.data(), 3, local.data());
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_NEAR(got[i], want[i], 1e-5f * (1.0f + std::fabs(want[i]))) << t << " " << name << " " << i;
        EXPECT_NEAR(local[i], want[i], 1e-5f * (1.0f + std::fabs(want[i]))) << t << " " << name << " " << i;
      }
    }
    // Several matrices on one input (q/k/v, gate/up): one parallel region,
    // the same products; a Q4_0/Q8_0 mix uses both activation layouts.
    {
      GgufWeightSource other(GgufFile::Open(Out(t == "q8_0" ? "q4_0" : "q8_0")), {});
      const Matrix a = backend_->PrepareMatrix(src.GetMatrix("model.layers.1.mlp.experts.0.gate_proj.weight", 256, 256));
      const Matrix b = backend_->PrepareMatrix(src.GetMatrix("model.layers.1.mlp.shared_experts.up_proj.weight", 256, 256));
      const Matrix c = backend_->PrepareMatrix(other.GetMatrix("model.layers.1.mlp.experts.3.up_proj.weight", 256, 256));
      for (size_t n : {1, 5}) {
        std::vector<float> x(n * 256);
        for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i) * 0.11f);
        std::vector<float> ya(n * 256), yb(n * 256), yc(n * 256), za(n * 256), zb(n * 256), zc(n * 256);
        const Matrix* ws[3] = {&a, &b, &c};
        float* ys[3] = {ya.data(), yb.data(), yc.data()};
        backend_->MatMulShared(ws, x.data(), n, ys);
        backend_->MatMul(a, x.data(), n, za.data());
        backend_->MatMul(b, x.data(), n, zb.data());
        backend_->MatMul(c, x.data(), n, zc.data());
        EXPECT_EQ(ya, za) << t;
        EXPECT_EQ(yb, zb) << t;
        EXPECT_EQ(yc, zc) << t;
      }
    }
    auto run = [&](const ModelOptions& o, bool one_by_one) {
      auto m = LoadModel(Out(t), *backend_, o);
      auto cache = m->NewCache(static_cast<int64_t>(ids.size()));
      std::vector<float> logits(ids.size() * kVocab);
      if (!one_by_one) {
        m->Forward(ids.data(), ids.size(), *cache, logits.data(), true);
      } else {
        for (size_t i = 0; i < ids.size(); ++i) m->Forward(&ids[i], 1, *cache, logits.data() + i * kVocab, true);
      }
      return logits;
    };
    for (bool one_by_one : {false, true}) {
      const std::vector<float> want = run(plain, one_by_one), got = run(ModelOptions{}, one_by_one);
      const double kl_weights = MeanKl(ref, want, kVocab), kl_repack = MeanKl(want, got, kVocab);
      EXPECT_LT(kl_repack, 0.02 * kl_weights) << t << (one_by_one ? " decode" : " prefill");
      size_t same_top = 0;
      for (size_t p = 0; p < ids.size(); ++p) {
        const float* a = want.data() + p * kVocab;
        const float* b = got.data() + p * kVocab;
        same_top += std::max_element(a, a + kVocab) - a == std::max_element(b, b + kVocab) - b;
      }
      EXPECT_GE(same_top, ids.size() - 1) << t << (one_by_one ? " decode" : " prefill");
    }
  }
}

// --repack-cache: the first load writes MODEL.dseek-repack, later loads map it
// and give the same logits; a stale or damaged cache is ignored and rewritten.
TEST_F(QuantizeTest, RepackCacheIsReusedAndRebuiltWhenStale) {
  const std::string model = Path("cache-q4_0.gguf");
  fs::copy_file(Out("q4_0"), model, fs::copy_options::overwrite_existing);
  const std::string cache = PreparedWeightSource::CachePathFor(model);
  fs::remove(cache);
  const std::vector<int32_t> ids = RandomIds(9, 4);
  const std::vector<float> want = Logits(model, ids);
  ModelOptions o;
  o.repack_cache = true;
  EXPECT_EQ(Logits(model, ids, o), want);  // writes the cache
  ASSERT_TRUE(fs::exists(cache));
  EXPECT_TRUE(PreparedWeightSource::CacheMatches(cache, model, *backend_));
  const auto written = fs::last_write_time(cache);
  EXPECT_EQ(Logits(model, ids, o), want);  // maps it
  EXPECT_EQ(fs::last_write_time(cache), written);
  // The model changes (new mtime): the cache no longer matches and is rebuilt.
  fs::last_write_time(model, fs::last_write_time(model) + std::chrono::seconds(5));
  EXPECT_FALSE(PreparedWeightSource::CacheMatches(cache, model, *backend_));
  EXPECT_EQ(Logits(model, ids, o), want);
  EXPECT_TRUE(PreparedWeightSource::CacheMatches(cache, model, *backend_));
  // Damaged: truncated inside the header, then garbage.
  for (const std::string& junk : {std::string("DSKREPK1\x05\x00"), std::string(100, '\xff')}) {
    {
      std::ofstream f(cache, std::ios::binary | std::ios::trunc);
      f << junk;
    }
    EXPECT_FALSE(PreparedWeightSource::CacheMatches(cache, model, *backend_));
    EXPECT_EQ(Logits(model, ids, o), want);
    EXPECT_TRUE(PreparedWeightSource::CacheMatches(cache, model, *backend_));
  }
  // Without the flag nothing is read or written.
  fs::remove(cache);
  EXPECT_EQ(Logits(model, ids), want);
  EXPECT_FALSE(fs::exists(cache));
}

TEST_F(QuantizeTest, PerplexityAndKl) {
  const std::vector<int32_t> tokens = RandomIds(4 * 128 + 17, 5);
  PerplexityOptions opt;
  opt.ctx = 128;
  opt.batch = 48;  // a window in three passes
  auto bf16 = LoadModel(Path("bf16"), *backend_);
  // Self-comparison: zero KL, full agreement, and the NLL by hand for window 0.
  auto same = LoadModel(Path("bf16"), *backend_);
  PerplexityResult self = ComputePerplexity(*bf16, tokens, opt, same.get());
  EXPECT_EQ(self.windows, 4);
  EXPECT_EQ(self.scored, 4 * (128 - 64 - 1));
  EXPECT_NEAR(self.kl_mean, 0.0, 1e-9);
  EXPECT_DOUBLE_EQ(self.top1_agree, 1.0);
  EXPECT_NEAR(self.base_ppl, self.ppl, 1e-9 * self.ppl);
  // Random weights: close to uniform over the vocabulary.
  EXPECT_GT(self.ppl, 0.3 * kVocab);
  EXPECT_LT(self.ppl, 3.0 * kVocab);
  EXPECT_GT(self.ppl_se, 0);

  PerplexityOptions one = opt;
  std::vector<int32_t> w0(tokens.begin(), tokens.begin() + 128);
  PerplexityResult r0 = ComputePerplexity(*bf16, w0, one);
  std::vector<float> logits = Logits(Path("bf16"), w0);
  double nll = 0;
  for (int64_t j = 64; j < 127; ++j) {
    const float* l = logits.data() + j * kVocab;
    const float mx = *std::max_element(l, l + kVocab);
    double s = 0;
    for (int64_t i = 0; i < kVocab; ++i) s += std::exp(l[i] - mx);
    nll += mx + std::log(s) - l[w0[j + 1]];
  }
  EXPECT_NEAR(r0.nll_mean, nll / 63, 1e-4);

  std::map<std::string, PerplexityResult> r;
  for (const std::string& t : {"q8_0", "q4_k", "q4_0"}) {
    auto m = LoadModel(Out(t), *backend_);
    r[t] = ComputePerplexity(*m, tokens, opt, bf16.get());
    EXPECT_TRUE(r[t].has_kl);
    EXPECT_NEAR(r[t].base_ppl, self.ppl, 1e-6 * self.ppl);
    EXPECT_GE(r[t].kl_max, r[t].kl_p99);
    EXPECT_GE(r[t].kl_p99, r[t].kl_median);
  }
  EXPECT_LT(r["q8_0"].kl_mean, r["q4_k"].kl_mean);
  EXPECT_LT(r["q4_k"].kl_mean, r["q4_0"].kl_mean * 1.1);
  EXPECT_GT(r["q8_0"].top1_agree, r["q4_0"].top1_agree);
  EXPECT_THROW(ComputePerplexity(*bf16, std::vector<int32_t>(100, 3), opt), Error);
}

TEST_F(QuantizeTest, Fp8FolderLayout) {
  nlohmann::json cfg = nlohmann::json::parse(std::ifstream(Path("fp8/config.json")));
  EXPECT_EQ(cfg["quantization_config"]["quant_method"], "fp8");
  EXPECT_EQ(cfg["quantization_config"]["weight_block_size"], nlohmann::json::array({128, 128}));
  EXPECT_TRUE(fs::exists(Path("fp8/tokenizer.json")));
  auto q = SafetensorsFile::Open(Path("fp8/model.safetensors"));
  auto src = SafetensorsFile::Open(Path("bf16/model.safetensors"));
  const std::string n = "model.layers.1.mlp.experts.3.down_proj.weight";
  const SafetensorsEntry* w = q->Find(n);
  const SafetensorsEntry* s = q->Find(n + "_scale_inv");
  const SafetensorsEntry* b = src->Find(n);
  ASSERT_TRUE(w && s && b);
  EXPECT_EQ(w->dtype, DType::kF8E4M3);
  EXPECT_EQ(s->shape, (std::vector<int64_t>{2, 2}));
  // Block (1, 0): scale_inv = amax / 448, and values round to nearest.
  float amax = 0;
  const int64_t cols = 256;
  for (int64_t r = 128; r < 256; ++r)
    for (int64_t c = 0; c < 128; ++c) {
      uint16_t v;
      std::memcpy(&v, b->data + 2 * (r * cols + c), 2);
      amax = std::max(amax, std::fabs(Bf16ToF32(v)));
    }
  float scale;
  std::memcpy(&scale, s->data + 4 * 2, 4);
  EXPECT_FLOAT_EQ(scale, amax / 448.0f);
  uint16_t v;
  std::memcpy(&v, b->data + 2 * (130 * cols + 5), 2);
  EXPECT_EQ(w->data[130 * cols + 5], F32ToFp8E4M3(Bf16ToF32(v) / scale));
  // Embeddings, norms and the router stay BF16.
  EXPECT_EQ(q->Find("model.embed_tokens.weight")->dtype, DType::kBF16);
  EXPECT_EQ(q->Find("model.layers.1.mlp.gate.weight")->dtype, DType::kBF16);
  EXPECT_EQ(q->Find("model.norm.weight")->dtype, DType::kBF16);
}

TEST_F(QuantizeTest, KeepBf16AndRequantizeGguf) {
  QuantizeOptions opt;
  opt.type = "q4_0";
  opt.threads = 2;
  opt.keep_bf16 = {"*.self_attn.*", "lm_head.weight"};
  Quantize(Path("bf16"), Path("keep.gguf"), opt);
  auto f = GgufFile::Open(Path("keep.gguf"));
  EXPECT_EQ(f->FindTensor("blk.0.attn_kv_a_mqa.weight")->type, GgmlType::kBF16);
  EXPECT_EQ(f->FindTensor("blk.1.attn_output.weight")->type, GgmlType::kBF16);
  EXPECT_EQ(f->FindTensor("output.weight")->type, GgmlType::kBF16);
  EXPECT_EQ(f->FindTensor("blk.0.ffn_up.weight")->type, GgmlType::kQ4_0);

  // GGUF in: q8_0 -> q4_k keeps the metadata and vocabulary, and loads.
  opt.keep_bf16.clear();
  opt.type = "q4_k";
  QuantizeReport rep = Quantize(Out("q8_0"), Path("re.gguf"), opt);
  auto g = GgufFile::Open(Path("re.gguf"));
  EXPECT_EQ(g->GetU32("general.file_type"), 14u);
  EXPECT_EQ(g->FindTensor("blk.0.ffn_up.weight")->type, GgmlType::kQ4_K);
  EXPECT_TRUE(g->GetArray("tokenizer.ggml.tokens"));
  const std::vector<int32_t> ids = RandomIds(16, 2);
  const std::vector<float> a = Logits(Path("re.gguf"), ids);
  EXPECT_LT(MeanKl(Logits(Path("bf16"), ids), a, kVocab), 0.15);
  EXPECT_THROW(Quantize(Out("q8_0"), Path("x"), QuantizeOptions{"fp8"}), Error);
  EXPECT_THROW(Quantize(Path("bf16"), Path("x.gguf"), QuantizeOptions{"q3_k"}), Error);
}

TEST(GlobMatch, Patterns) {
  EXPECT_TRUE(GlobMatch("*.self_attn.*", "model.layers.3.self_attn.o_proj.weight"));
  EXPECT_TRUE(GlobMatch("model.layers.?.mlp.*", "model.layers.3.mlp.gate.weight"));
  EXPECT_FALSE(GlobMatch("model.layers.?.mlp.*", "model.layers.13.mlp.gate.weight"));
  EXPECT_TRUE(GlobMatch("lm_head.weight", "lm_head.weight"));
  EXPECT_FALSE(GlobMatch("lm_head", "lm_head.weight"));
  EXPECT_TRUE(GlobMatch("*", ""));
}

// The two commands through the CLI: exit 0, the size line, the PPL line.
TEST_F(QuantizeTest, Cli) {
  const std::string ids_file = Path("ids.txt");
  {
    std::ofstream f(ids_file);
    for (int32_t id : RandomIds(300, 9)) f << id << "\n";
  }
  auto run = [](const std::string& cmd) {
    std::string out;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    char buf[512];
    while (p && fgets(buf, sizeof buf, p)) out += buf;
    const int status = p ? pclose(p) : -1;
    const int rc = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return std::make_pair(rc, out);
  };
  auto [rc, out] = run(std::string(DSEEK_BINARY) + " quantize " + Path("bf16") + " " + Path("cli.gguf") +
                       " --type q8_0 -t 2");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("bits per weight"), std::string::npos) << out;
  std::tie(rc, out) = run(std::string(DSEEK_BINARY) + " perplexity " + Path("cli.gguf") + " --ids-file " + ids_file +
                          " --ctx 128 --kl-base " + Path("bf16") + " -t 2");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("PPL = "), std::string::npos) << out;
  EXPECT_NE(out.find("mean KLD = "), std::string::npos) << out;
  std::tie(rc, out) = run(std::string(DSEEK_BINARY) + " perplexity " + Path("cli.gguf") + " --ids-file " + ids_file +
                          " --ctx 512");
  EXPECT_EQ(rc, 1) << out;
}

}  // namespace
}  // namespace dseek
