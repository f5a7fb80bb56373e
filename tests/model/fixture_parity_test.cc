// Parity with DeepSeek's reference implementation (inference/model.py, float32)
// on the tiny checkpoints in tests/data/models: logits at every position,
// incremental decode against full prefill, the naive and absorbed MLA forms
// against each other, and the 12-token greedy continuations.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/engine.h"
#include "logits_compare.h"

namespace dseek {
namespace {

using testing::MaxAbsDiff;
using testing::ReadF32;

const std::string kModels = std::string(DSEEK_TEST_DATA) + "/models/";

class FixtureParity : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureParity, LogitsIncrementalAndGreedyMatchReference) {
  const std::string dir = kModels + GetParam();
  nlohmann::json golden = nlohmann::json::parse(std::ifstream(dir + "/golden.json"));
  for (int threads : {1, 2}) {
    EngineOptions opt;
    opt.threads = threads;
    opt.context = 128;
    auto absorbed = Engine::Open(dir, opt);
    opt.model.prefill_form = AttentionForm::kNaive;
    auto naive = Engine::Open(dir, opt);
    for (const auto& p : golden["prompts"]) {
      std::vector<int32_t> ids = p["token_ids"].get<std::vector<int32_t>>();
      std::vector<float> expect = ReadF32(dir + "/" + p["logits_file"].get<std::string>());
      std::vector<float> full = absorbed->Logits(ids, false);
      std::vector<float> inc = absorbed->Logits(ids, true);
      std::vector<float> nv = naive->Logits(ids, false);
      const float d_full = MaxAbsDiff(full, expect), d_inc = MaxAbsDiff(inc, expect);
      const float d_self = MaxAbsDiff(inc, full), d_naive = MaxAbsDiff(nv, full);
      std::printf("%s %s threads=%d: max|full-golden|=%.3g max|incremental-golden|=%.3g "
                  "max|incremental-full|=%.3g max|naive-absorbed|=%.3g\n",
                  GetParam().c_str(), p["name"].get<std::string>().c_str(), threads, d_full, d_inc, d_self, d_naive);
      EXPECT_LE(d_full, 1e-3f);
      EXPECT_LE(d_inc, 1e-3f);
      EXPECT_LE(d_self, 1e-4f);
      EXPECT_LE(d_naive, 1e-4f);
      std::vector<int32_t> want = p["greedy_continuation"]["tokens"].get<std::vector<int32_t>>();
      EXPECT_EQ(absorbed->GenerateGreedy(ids, static_cast<int>(want.size())), want);
    }
  }
}

// The bf16 latent cache rounds each stored latent to 8 significant bits: the
// logits move on average by far less than their spread (a single position can
// move more where the rounding flips an expert choice at a near tie, as in
// tiny-v3-fp8's third prompt), incremental decode and prefill read the same
// rounded cache, and the greedy continuations stay the same.
TEST_P(FixtureParity, Bf16LatentCacheStaysClose) {
  const std::string dir = kModels + GetParam();
  nlohmann::json golden = nlohmann::json::parse(std::ifstream(dir + "/golden.json"));
  EngineOptions opt;
  opt.context = 128;
  opt.model.kv_type = KvType::kBF16;
  auto bf16 = Engine::Open(dir, opt);
  opt.model.prefill_form = AttentionForm::kNaive;
  auto naive = Engine::Open(dir, opt);
  for (const auto& p : golden["prompts"]) {
    std::vector<int32_t> ids = p["token_ids"].get<std::vector<int32_t>>();
    std::vector<float> expect = ReadF32(dir + "/" + p["logits_file"].get<std::string>());
    std::vector<float> full = bf16->Logits(ids, false), inc = bf16->Logits(ids, true), nv = naive->Logits(ids, false);
    double sd = 0;
    for (float v : expect) sd += static_cast<double>(v) * v;
    sd = std::sqrt(sd / static_cast<double>(expect.size()));
    const float d_full = MaxAbsDiff(full, expect), d_inc = MaxAbsDiff(inc, full), d_naive = MaxAbsDiff(nv, full);
    double mean = 0;
    for (size_t i = 0; i < full.size(); ++i) mean += std::fabs(full[i] - expect[i]);
    mean /= static_cast<double>(full.size());
    std::printf("%s %s bf16 cache: max|full-golden|=%.3g mean=%.3g (logit sd %.3g) max|incremental-full|=%.3g "
                "max|naive-absorbed|=%.3g\n",
                GetParam().c_str(), p["name"].get<std::string>().c_str(), d_full, mean, sd, d_inc, d_naive);
    EXPECT_GT(d_full, 0.0f);  // the cache really is rounded
    EXPECT_LE(mean, 0.01 * sd);
    EXPECT_LE(d_inc, 1e-3 * sd);
    EXPECT_LE(d_naive, 1e-3 * sd);
    std::vector<int32_t> want = p["greedy_continuation"]["tokens"].get<std::vector<int32_t>>();
    EXPECT_EQ(bf16->GenerateGreedy(ids, static_cast<int>(want.size())), want);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureParity, ::testing::Values("tiny-v2lite", "tiny-v3", "tiny-v3-fp8"));

TEST(FixtureParity, TwoEnginesInOneProcessAreIndependent) {
  EngineOptions opt;
  opt.context = 64;
  auto a = Engine::Open(kModels + "tiny-v3", opt);
  auto b = Engine::Open(kModels + "tiny-v2lite", opt);
  std::vector<int32_t> ids = {5, 6, 7, 8};
  std::vector<float> a1 = a->Logits(ids, false);
  b->Logits(ids, false);
  EXPECT_EQ(a->Logits(ids, false), a1);
}

TEST(FixtureParity, OutOfRangeTokenIsAnError) {
  auto e = Engine::Open(kModels + "tiny-v2lite", {});
  EXPECT_THROW(e->Logits({1, 512}, false), Error);
  EXPECT_THROW(e->Logits({}, false), Error);
}

}  // namespace
}  // namespace dseek

namespace dseek {
namespace {

// Continuous batching: several sequences at different positions in one
// forward pass give the same logits as each run alone.
TEST(FixtureParity, BatchedForwardEqualsSeparateForwards) {
  for (const char* fx : {"tiny-v3-fp8", "tiny-v2lite"}) {
    EngineOptions opt;
    opt.context = 64;
    auto e = Engine::Open(kModels + fx, opt);
    Model& m = e->model();
    const int64_t V = m.facts().vocab_size;
    std::vector<std::vector<int32_t>> prompts = {{5, 6, 7}, {100, 200, 300, 400, 11}, {42}};
    // Reference: each sequence alone, prefill then two decode steps.
    std::vector<std::vector<float>> want;
    for (auto& p : prompts) {
      auto c = m.NewCache(64);
      std::vector<float> l(V);
      m.Forward(p.data(), p.size(), *c, l.data(), false);
      int32_t a = 9, b = 17;
      m.Forward(&a, 1, *c, l.data(), false);
      m.Forward(&b, 1, *c, l.data(), false);
      want.push_back(l);
    }
    // Batched: prefill all three together (mixed lengths), then decode steps together.
    std::vector<std::unique_ptr<KvCache>> caches;
    std::vector<std::vector<float>> got(prompts.size(), std::vector<float>(V));
    std::vector<BatchSeq> batch;
    for (size_t i = 0; i < prompts.size(); ++i) {
      caches.push_back(m.NewCache(64));
      batch.push_back({prompts[i].data(), prompts[i].size(), caches[i].get(), got[i].data(), false});
    }
    m.ForwardBatch(batch);
    for (int32_t tok : {9, 17}) {
      for (auto& b : batch) {
        b.tokens = &tok;
        b.n = 1;
      }
      m.ForwardBatch(batch);
    }
    for (size_t i = 0; i < prompts.size(); ++i)
      for (int64_t v = 0; v < V; ++v) ASSERT_NEAR(got[i][v], want[i][v], 1e-5f) << fx << " seq " << i;
    // A bad id anywhere in the batch rejects the whole batch and moves no cache.
    int32_t bad = static_cast<int32_t>(V);
    batch[1].tokens = &bad;
    const int64_t before = caches[0]->length();
    EXPECT_THROW(m.ForwardBatch(batch), Error);
    EXPECT_EQ(caches[0]->length(), before);
  }
}

}  // namespace
}  // namespace dseek
