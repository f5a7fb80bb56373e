// A generated DeepSeek-V3-style model at a non-toy shape (hidden 1024, 64
// routed experts in 8 groups, q LoRA, YaRN, FP8 128x128 blocks with ragged
// edges): incremental decode equals full prefill, and the naive and absorbed
// attention forms agree.
#include <gtest/gtest.h>

#include <cmath>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "model/synth.h"
#include "runtime/engine.h"

namespace dseek {
namespace {

namespace fs = std::filesystem;

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

class SynthModel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dseek_synth_" + GetParam() + "_" + std::to_string(::getpid()));
    auto be = MakeCpuBackend(0);
    SynthOptions o;
    o.config = "deepseek-small";
    o.dtype = GetParam();
    o.seed = 7;
    o.shard_bytes = 24ll << 20;  // several shards and an index
    o.out_dir = dir_.string();
    WriteSyntheticCheckpoint(o, *be);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(SynthModel, IncrementalEqualsFullPrefill) {
  ASSERT_TRUE(fs::exists(dir_ / "model.safetensors.index.json"));
  EngineOptions opt;
  opt.context = 64;
  auto e = Engine::Open(dir_.string(), opt);
  EXPECT_EQ(e->facts().vocab_size, 4096);
  std::vector<int32_t> ids;
  for (int i = 0; i < 24; ++i) ids.push_back((i * 131 + 7) % 4096);
  std::vector<float> full = e->Logits(ids, false);
  std::vector<float> inc = e->Logits(ids, true);
  float scale = 0.0f;
  for (float v : full) scale = std::max(scale, std::fabs(v));
  const float d = MaxAbsDiff(full, inc);
  std::printf("deepseek-small %s: max|logit|=%.3g max|incremental-full|=%.3g\n", GetParam().c_str(), scale, d);
  EXPECT_GT(scale, 0.1f);
  EXPECT_LE(d, 1e-4f * std::max(1.0f, scale));

  opt.model.prefill_form = AttentionForm::kNaive;
  auto naive = Engine::Open(dir_.string(), opt);
  EXPECT_LE(MaxAbsDiff(naive->Logits(ids, false), full), 1e-4f * std::max(1.0f, scale));
}

TEST_P(SynthModel, SameSeedSameBytes) {
  auto be = MakeCpuBackend(1);
  fs::path other = dir_.string() + "_again";
  SynthOptions o;
  o.config = "deepseek-small";
  o.dtype = GetParam();
  o.seed = 7;
  o.layers = 2;
  o.out_dir = other.string();
  WriteSyntheticCheckpoint(o, *be);
  fs::path third = dir_.string() + "_third";
  auto be2 = MakeCpuBackend(2);
  o.out_dir = third.string();
  WriteSyntheticCheckpoint(o, *be2);
  std::ifstream a(other / "model.safetensors", std::ios::binary), b(third / "model.safetensors", std::ios::binary);
  std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_FALSE(sa.empty());
  EXPECT_EQ(sa, sb);
  fs::remove_all(other);
  fs::remove_all(third);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, SynthModel, ::testing::Values("fp8", "bf16"));

}  // namespace
}  // namespace dseek
