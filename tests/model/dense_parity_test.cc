// Qwen2 and Llama against an independent PyTorch implementation of the
// Hugging Face modeling code (tests/reference/hf_dense_reference.py, float64),
// on tiny checkpoints that `dseek synth` regenerates bit for bit from a seed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/synth.h"
#include "runtime/quantize.h"
#include "runtime/engine.h"
#include "logits_compare.h"

namespace dseek {
namespace {

using testing::MaxAbsDiff;
using testing::ReadF32;

namespace fs = std::filesystem;

class DenseParity : public ::testing::TestWithParam<std::string> {};

TEST_P(DenseParity, LogitsMatchPyTorchReference) {
  const std::string ref = std::string(DSEEK_TEST_DATA) + "/reference/";
  fs::path dir = fs::temp_directory_path() / ("dseek_dense_" + GetParam() + "_" + std::to_string(::getpid()));
  auto be = MakeCpuBackend(0);
  SynthOptions o;
  o.config = GetParam();
  o.seed = 3;
  o.out_dir = dir.string();
  WriteSyntheticCheckpoint(o, *be);
  EngineOptions opt;
  opt.context = 64;
  auto e = Engine::Open(dir.string(), opt);
  EXPECT_EQ(e->facts().architecture, GetParam() == "llama-tiny" ? "LlamaForCausalLM" : "Qwen2ForCausalLM");
  nlohmann::json manifest = nlohmann::json::parse(std::ifstream(ref + GetParam() + ".json"));
  for (const auto& p : manifest["prompts"]) {
    std::vector<int32_t> ids = p["token_ids"].get<std::vector<int32_t>>();
    std::vector<float> want = ReadF32(ref + p["logits_file"].get<std::string>());
    std::vector<float> full = e->Logits(ids, false), inc = e->Logits(ids, true);
    const float d = MaxAbsDiff(full, want), di = MaxAbsDiff(inc, full);
    std::printf("%s %zu ids: max|dseek-pytorch|=%.3g max|incremental-full|=%.3g\n", GetParam().c_str(), ids.size(), d, di);
    EXPECT_LE(d, 1e-3f);
    EXPECT_LE(di, 1e-4f);
  }
  // A bf16 attention cache: close to the reference on average, and
  // incremental decode reads the same rounded rows as prefill.
  EngineOptions bopt = opt;
  bopt.model.kv_type = KvType::kBF16;
  auto b = Engine::Open(dir.string(), bopt);
  for (const auto& p : manifest["prompts"]) {
    std::vector<int32_t> ids = p["token_ids"].get<std::vector<int32_t>>();
    std::vector<float> want = ReadF32(ref + p["logits_file"].get<std::string>());
    std::vector<float> full = b->Logits(ids, false), inc = b->Logits(ids, true);
    double mean = 0, sd = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      mean += std::fabs(full[i] - want[i]);
      sd += static_cast<double>(want[i]) * want[i];
    }
    mean /= static_cast<double>(want.size());
    sd = std::sqrt(sd / static_cast<double>(want.size()));
    std::printf("%s bf16 cache: mean|dseek-pytorch|=%.3g (sd %.3g) max|incremental-full|=%.3g\n", GetParam().c_str(),
                mean, sd, MaxAbsDiff(inc, full));
    EXPECT_GT(MaxAbsDiff(full, want), 0.0f);
    EXPECT_LE(mean, 0.01 * sd);
    EXPECT_LE(MaxAbsDiff(inc, full), 1e-3 * sd);
  }
  // The same weights through GGUF (kept in BF16 so only the format differs):
  // Llama 3 rope scaling travels as rope_freqs.weight and must give the same
  // logits.
  const std::string gguf = dir.string() + ".gguf";
  QuantizeOptions qo;
  qo.type = "q8_0";
  qo.keep_bf16 = {"*"};
  Quantize(dir.string(), gguf, qo, {});
  auto g = Engine::Open(gguf, opt);
  for (const auto& p : manifest["prompts"]) {
    std::vector<int32_t> ids = p["token_ids"].get<std::vector<int32_t>>();
    std::vector<float> want = ReadF32(ref + p["logits_file"].get<std::string>());
    const float d = MaxAbsDiff(g->Logits(ids, false), want);
    std::printf("%s via GGUF: max|dseek-pytorch|=%.3g\n", GetParam().c_str(), d);
    EXPECT_LE(d, 1e-3f);
  }
  fs::remove(gguf);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Architectures, DenseParity, ::testing::Values("qwen2-tiny", "llama-tiny"),
                         [](const auto& info) { return info.param == "llama-tiny" ? std::string("Llama") : std::string("Qwen2"); });

}  // namespace
}  // namespace dseek
