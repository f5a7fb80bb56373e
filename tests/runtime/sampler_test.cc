// Sampler on hand-made logits: each stage checked exactly through
// Distribution()/ApplyBiasAndPenalties(), the draw checked statistically, and
// the whole pipeline against a plain reference that follows llama.cpp's order.
#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "base/error.h"

namespace dseek {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> LogitsOfProbs(const std::vector<double>& probs) {
  std::vector<float> out;
  for (double p : probs) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

std::vector<float> RandomLogits(size_t n, uint64_t seed, float scale = 3.0f) {
  std::mt19937_64 rng(seed);
  std::vector<float> out(n);
  // Raw bits, not std::*_distribution: the same values on every platform.
  for (float& v : out) {
    v = scale * (static_cast<float>(rng() >> 40) / static_cast<float>(1 << 24) - 0.5f) * 2.0f;
  }
  return out;
}

std::vector<double> Softmax(const std::vector<float>& logits, double t) {
  double m = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p;
  double sum = 0;
  for (float l : logits) {
    p.push_back(std::exp((l - m) / t));
    sum += p.back();
  }
  for (double& x : p) x /= sum;
  return p;
}

std::map<int32_t, double> AsMap(std::span<const TokenProb> d) {
  std::map<int32_t, double> m;
  for (const TokenProb& c : d) m[c.id] = c.prob;
  return m;
}

std::vector<int32_t> Ids(std::span<const TokenProb> d) {
  std::vector<int32_t> ids;
  for (const TokenProb& c : d) ids.push_back(c.id);
  return ids;
}

std::vector<int32_t> SortedIds(std::span<const TokenProb> d) {
  std::vector<int32_t> ids = Ids(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// ---- greedy ----

TEST(SamplerGreedy, PicksArgmaxLowestIndexOnTies) {
  SamplingParams p;
  p.greedy = true;
  Sampler s(p);
  std::vector<float> logits = {0.1f, 2.0f, -1.0f, 2.0f, 1.9f};
  EXPECT_EQ(s.Sample(logits, {}), 1);
  auto d = s.Distribution(logits, {});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, 1);
  EXPECT_EQ(d[0].prob, 1.0f);
}

TEST(SamplerGreedy, TemperatureZeroIsGreedyAndIgnoresFilters) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_k = 1000;
  p.top_p = 0.1f;
  p.min_p = 0.9f;
  Sampler s(p);
  std::vector<float> logits = RandomLogits(5000, 7);
  const int32_t want = static_cast<int32_t>(
      std::max_element(logits.begin(), logits.end()) - logits.begin());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.Sample(logits, {}), want);
}

TEST(SamplerGreedy, AppliesBiasAndPenaltiesFirst) {
  SamplingParams p;
  p.greedy = true;
  p.logit_bias = {{0, -kInf}};
  p.repetition_penalty = 4.0f;
  Sampler s(p);
  std::vector<float> logits = {5.0f, 3.0f, 2.0f};
  // 0 is banned; 1 is penalised to 0.75, so 2 wins.
  std::vector<int32_t> history = {1};
  EXPECT_EQ(s.Sample(logits, history), 2);
}

// ---- temperature and the draw ----

TEST(SamplerTemperature, DistributionIsSoftmaxOfScaledLogits) {
  std::vector<float> logits = {1.0f, 2.0f, 0.5f, 3.0f, -1.0f};
  for (float t : {0.3f, 0.7f, 1.0f, 2.5f}) {
    SamplingParams p;
    p.temperature = t;
    Sampler s(p);
    auto want = Softmax(logits, t);
    auto got = AsMap(s.Distribution(logits, {}));
    ASSERT_EQ(got.size(), logits.size());
    for (size_t i = 0; i < logits.size(); ++i) {
      EXPECT_NEAR(got[static_cast<int32_t>(i)], want[i], 1e-6) << "t=" << t;
    }
  }
}

TEST(SamplerTemperature, DrawFrequenciesMatchSoftmax) {
  std::vector<float> logits = {1.0f, 2.0f, 0.5f, 3.0f, -1.0f};
  for (float t : {0.7f, 1.5f}) {
    SamplingParams p;
    p.temperature = t;
    p.seed = 12345;
    Sampler s(p);
    constexpr int kDraws = 200000;
    std::vector<int> hits(logits.size(), 0);
    for (int i = 0; i < kDraws; ++i) ++hits[s.Sample(logits, {})];
    auto want = Softmax(logits, t);
    for (size_t i = 0; i < logits.size(); ++i) {
      // Standard error is at most ~0.0011 here; 0.005 is over 4 sigma.
      EXPECT_NEAR(hits[i] / static_cast<double>(kDraws), want[i], 0.005)
          << "token " << i << " t=" << t;
    }
  }
}

TEST(SamplerTemperature, TinyTemperatureNeverOverflows) {
  SamplingParams p;
  p.temperature = 1e-6f;
  Sampler s(p);
  std::vector<float> logits = {100.0f, 99.0f, -50.0f};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.Sample(logits, {}), 0);
}

// ---- top-k ----

TEST(SamplerTopK, KeepsExactlyTheKMostLikely) {
  std::vector<float> logits = RandomLogits(1000, 3);
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  SamplingParams p;
  p.top_k = 5;
  p.seed = 1;
  Sampler s(p);
  auto d = s.Distribution(logits, {});
  EXPECT_EQ(Ids(d), std::vector<int32_t>(order.begin(), order.begin() + 5));
  double sum = 0;
  for (const TokenProb& c : d) sum += c.prob;
  EXPECT_NEAR(sum, 1.0, 1e-6);

  std::set<int32_t> allowed(order.begin(), order.begin() + 5);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(allowed.count(s.Sample(logits, {}))) << "draw " << i;
  }
}

TEST(SamplerTopK, TiesGoToLowestIds) {
  std::vector<float> logits(10, 1.0f);
  SamplingParams p;
  p.top_k = 3;
  Sampler s(p);
  EXPECT_EQ(Ids(s.Distribution(logits, {})), (std::vector<int32_t>{0, 1, 2}));
}

TEST(SamplerTopK, KLargerThanVocabKeepsAll) {
  SamplingParams p;
  p.top_k = 50;
  Sampler s(p);
  std::vector<float> logits = {0.0f, 1.0f, 2.0f};
  EXPECT_EQ(s.Distribution(logits, {}).size(), 3u);
}

// ---- top-p ----

TEST(SamplerTopP, KeepsSmallestPrefixReachingP) {
  std::vector<float> logits = LogitsOfProbs({0.15, 0.5, 0.05, 0.3});
  {
    SamplingParams p;
    p.top_p = 0.75f;  // 0.5 + 0.3 = 0.8 >= 0.75
    Sampler s(p);
    auto d = AsMap(s.Distribution(logits, {}));
    ASSERT_EQ(d.size(), 2u);
    EXPECT_NEAR(d[1], 0.5 / 0.8, 1e-6);
    EXPECT_NEAR(d[3], 0.3 / 0.8, 1e-6);
  }
  {
    SamplingParams p;
    p.top_p = 0.85f;
    Sampler s(p);
    EXPECT_EQ(SortedIds(s.Distribution(logits, {})), (std::vector<int32_t>{0, 1, 3}));
  }
  {
    SamplingParams p;
    p.top_p = 0.4f;  // the top token alone covers it
    Sampler s(p);
    EXPECT_EQ(Ids(s.Distribution(logits, {})), (std::vector<int32_t>{1}));
  }
}

TEST(SamplerTopP, NeverSamplesOutsideNucleus) {
  std::vector<float> logits = LogitsOfProbs({0.15, 0.5, 0.05, 0.3});
  SamplingParams p;
  p.top_p = 0.75f;
  p.seed = 99;
  Sampler s(p);
  int hits1 = 0;
  for (int i = 0; i < 20000; ++i) {
    int32_t t = s.Sample(logits, {});
    ASSERT_TRUE(t == 1 || t == 3);
    hits1 += t == 1;
  }
  EXPECT_NEAR(hits1 / 20000.0, 0.625, 0.015);
}

TEST(SamplerTopP, LargeFlatVocabularyKeepsLowestIds) {
  // 10000 equal logits: the nucleus for 0.5 is exactly ids 0..4999, which
  // leans on the tie order inside one (large) bucket.
  std::vector<float> logits(10000, 0.25f);
  SamplingParams p;
  p.top_p = 0.5f;
  Sampler s(p);
  auto ids = SortedIds(s.Distribution(logits, {}));
  ASSERT_EQ(ids.size(), 5000u);
  for (int32_t i = 0; i < 5000; ++i) ASSERT_EQ(ids[i], i);
}

// ---- min-p ----

TEST(SamplerMinP, KeepsTokensAboveFractionOfMax) {
  std::vector<float> logits = LogitsOfProbs({0.15, 0.5, 0.05, 0.3});
  {
    SamplingParams p;
    p.min_p = 0.2f;  // threshold 0.1: drops only the 0.05
    Sampler s(p);
    auto d = AsMap(s.Distribution(logits, {}));
    ASSERT_EQ(d.size(), 3u);
    EXPECT_FALSE(d.count(2));
    EXPECT_NEAR(d[1], 0.5 / 0.95, 1e-6);
  }
  {
    SamplingParams p;
    p.min_p = 0.5f;  // threshold 0.25
    Sampler s(p);
    auto d = AsMap(s.Distribution(logits, {}));
    ASSERT_EQ(d.size(), 2u);
    EXPECT_TRUE(d.count(1) && d.count(3));
  }
}

// ---- the whole pipeline against a plain reference ----

// llama.cpp's order done the obvious way: sort everything, top-k, softmax,
// top-p, min-p, temperature.
std::map<int32_t, double> Reference(const std::vector<float>& logits,
                                    const SamplingParams& p) {
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < ids.size()) ids.resize(p.top_k);
  const double m = logits[ids[0]];
  double z = 0;
  for (int32_t i : ids) z += std::exp(logits[i] - m);
  if (p.top_p < 1.0f) {
    double cum = 0;
    for (size_t k = 0; k < ids.size(); ++k) {
      cum += std::exp(logits[ids[k]] - m) / z;
      if (cum >= p.top_p) {
        ids.resize(k + 1);
        break;
      }
    }
  }
  std::vector<int32_t> kept;
  for (int32_t i : ids) {
    if (std::exp(logits[i] - m) >= p.min_p) kept.push_back(i);
  }
  std::map<int32_t, double> out;
  double sum = 0;
  for (int32_t i : kept) sum += out[i] = std::exp((logits[i] - m) / p.temperature);
  for (auto& [id, prob] : out) prob /= sum;
  return out;
}

TEST(SamplerPipeline, MatchesReferenceOrder) {
  // Wide logits (values spread over many top-p buckets, some past the last).
  std::vector<float> logits = RandomLogits(3000, 11, 25.0f);
  for (int i = 0; i < 3000; i += 300) logits[i] += 30.0f;
  std::vector<float> narrow = RandomLogits(3000, 12, 2.0f);
  for (const auto* l : {&logits, &narrow}) {
  for (int top_k : {0, 40, 700}) {
    for (float top_p : {1.0f, 0.9f, 0.5f}) {
      for (float min_p : {0.0f, 0.05f, 0.3f}) {
        for (float t : {0.6f, 1.3f}) {
          SamplingParams p;
          p.top_k = top_k;
          p.top_p = top_p;
          p.min_p = min_p;
          p.temperature = t;
          Sampler s(p);
          auto got = AsMap(s.Distribution(*l, {}));
          auto want = Reference(*l, p);
          ASSERT_EQ(got.size(), want.size())
              << "k=" << top_k << " p=" << top_p << " min_p=" << min_p;
          for (const auto& [id, prob] : want) {
            ASSERT_TRUE(got.count(id));
            EXPECT_NEAR(got[id], prob, 1e-5);
          }
        }
      }
    }
  }
  }
}

// ---- penalties, exactly ----

TEST(SamplerPenalties, RepetitionPresenceFrequencyExact) {
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  Sampler s(p);
  std::vector<float> logits = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f};
  std::vector<int32_t> history = {0, 1, 1, 3, 3, 3};
  s.ApplyBiasAndPenalties(logits, history);
  // id0: 2/2 - 0.5 - 0.25*1; id1: -1*2 - 0.5 - 0.25*2; id3: 3/2 - 0.5 - 0.25*3
  EXPECT_FLOAT_EQ(logits[0], 0.25f);
  EXPECT_FLOAT_EQ(logits[1], -3.0f);
  EXPECT_FLOAT_EQ(logits[2], 0.5f);
  EXPECT_FLOAT_EQ(logits[3], 0.25f);
  EXPECT_FLOAT_EQ(logits[4], -2.0f);

  // The counting table is left clean: a second call gives the same answer.
  std::vector<float> again = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f};
  s.ApplyBiasAndPenalties(again, history);
  EXPECT_EQ(again, logits);
}

TEST(SamplerPenalties, EachPenaltyAlone) {
  const std::vector<float> base = {2.0f, -1.0f, 0.5f};
  const std::vector<int32_t> history = {0, 1, 0};
  {
    SamplingParams p;
    p.repetition_penalty = 1.25f;
    Sampler s(p);
    auto l = base;
    s.ApplyBiasAndPenalties(l, history);
    EXPECT_EQ(l, (std::vector<float>{1.6f, -1.25f, 0.5f}));
  }
  {
    SamplingParams p;
    p.presence_penalty = 1.0f;
    Sampler s(p);
    auto l = base;
    s.ApplyBiasAndPenalties(l, history);
    EXPECT_EQ(l, (std::vector<float>{1.0f, -2.0f, 0.5f}));
  }
  {
    SamplingParams p;
    p.frequency_penalty = -0.5f;  // negative encourages repeats
    Sampler s(p);
    auto l = base;
    s.ApplyBiasAndPenalties(l, history);
    EXPECT_EQ(l, (std::vector<float>{3.0f, -0.5f, 0.5f}));
  }
}

TEST(SamplerPenalties, WindowIsLastN) {
  const std::vector<float> base = {1.0f, 1.0f, 1.0f, 1.0f};
  const std::vector<int32_t> history = {0, 1, 2, 2, 3};
  auto run = [&](int last_n) {
    SamplingParams p;
    p.frequency_penalty = 1.0f;
    p.penalty_last_n = last_n;
    Sampler s(p);
    auto l = base;
    s.ApplyBiasAndPenalties(l, history);
    return l;
  };
  EXPECT_EQ(run(2), (std::vector<float>{1.0f, 1.0f, 0.0f, 0.0f}));
  EXPECT_EQ(run(3), (std::vector<float>{1.0f, 1.0f, -1.0f, 0.0f}));
  EXPECT_EQ(run(-1), (std::vector<float>{0.0f, 0.0f, -1.0f, 0.0f}));
  EXPECT_EQ(run(0), base);
  EXPECT_EQ(run(100), run(-1));
}

// ---- logit bias ----

TEST(SamplerLogitBias, AddsExactlyAndMinusInfBans) {
  SamplingParams p;
  p.logit_bias = {{1, 2.5f}, {2, -kInf}};
  p.repetition_penalty = 2.0f;
  Sampler s(p);
  std::vector<float> logits = {1.0f, 1.0f, 10.0f};
  std::vector<int32_t> history = {1};
  s.ApplyBiasAndPenalties(logits, history);
  // Bias first, then the penalty sees the biased logit: (1 + 2.5) / 2.
  EXPECT_FLOAT_EQ(logits[1], 1.75f);
  EXPECT_EQ(logits[2], -kInf);

  std::vector<float> raw = {1.0f, 1.0f, 10.0f};
  auto d = AsMap(s.Distribution(raw, {}));
  EXPECT_FALSE(d.count(2));
  for (int i = 0; i < 5000; ++i) ASSERT_NE(s.Sample(raw, {}), 2);
}

TEST(SamplerLogitBias, BannedTokensNeverDrawnEvenAtHighTemperature) {
  SamplingParams p;
  p.temperature = 50.0f;
  for (int32_t id = 0; id < 100; id += 2) p.logit_bias[id] = -kInf;
  Sampler s(p);
  std::vector<float> logits = RandomLogits(100, 5);
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(s.Sample(logits, {}) % 2, 1);
}

// ---- seeds ----

TEST(SamplerSeed, SameSeedSameSequenceAndResetRestarts) {
  std::vector<float> logits = RandomLogits(500, 21, 2.0f);
  SamplingParams p;
  p.seed = 2024;
  p.top_p = 0.9f;
  Sampler a(p), b(p);
  std::vector<int32_t> seq_a, seq_b;
  for (int i = 0; i < 1000; ++i) {
    seq_a.push_back(a.Sample(logits, {}));
    seq_b.push_back(b.Sample(logits, {}));
  }
  EXPECT_EQ(seq_a, seq_b);

  a.Reset(2024);
  std::vector<int32_t> again;
  for (int i = 0; i < 1000; ++i) again.push_back(a.Sample(logits, {}));
  EXPECT_EQ(again, seq_a);

  p.seed = 2025;
  Sampler c(p);
  std::vector<int32_t> seq_c;
  for (int i = 0; i < 1000; ++i) seq_c.push_back(c.Sample(logits, {}));
  EXPECT_NE(seq_c, seq_a);
}

TEST(SamplerSeed, GoldenSequence) {
  // mt19937_64 and our raw-bits-to-double are fully specified, so this holds
  // on every platform. Coarse probabilities keep libm rounding out of it.
  std::vector<float> logits = LogitsOfProbs({0.1, 0.2, 0.3, 0.4});
  SamplingParams p;
  p.seed = 42;
  Sampler s(p);
  std::vector<int32_t> seq;
  for (int i = 0; i < 16; ++i) seq.push_back(s.Sample(logits, {}));
  EXPECT_EQ(seq, (std::vector<int32_t>{3, 3, 3, 1, 3, 0, 2, 2, 1, 2, 0, 2, 3, 3, 3, 3}));
}

// ---- errors ----

TEST(SamplerValidate, RejectsOutOfRange) {
  auto field_of = [](auto mutate) -> std::string {
    SamplingParams p;
    mutate(p);
    try {
      p.Validate();
    } catch (const Error& e) {
      return e.field();
    }
    return "(accepted)";
  };
  EXPECT_EQ(field_of([](SamplingParams&) {}), "(accepted)");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.temperature = -0.1f; }), "temperature");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.temperature = NAN; }), "temperature");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.temperature = kInf; }), "temperature");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.top_k = -1; }), "top_k");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.top_p = 0.0f; }), "top_p");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.top_p = 1.01f; }), "top_p");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.top_p = NAN; }), "top_p");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.min_p = -0.1f; }), "min_p");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.min_p = 1.5f; }), "min_p");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.repetition_penalty = 0.0f; }),
            "repetition_penalty");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.presence_penalty = 2.5f; }),
            "presence_penalty");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.frequency_penalty = -3.0f; }),
            "frequency_penalty");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.penalty_last_n = -2; }),
            "penalty_last_n");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.max_tokens = 0; }), "max_tokens");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.logit_bias[-3] = 1.0f; }),
            "logit_bias[-3]");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.logit_bias[3] = kInf; }),
            "logit_bias[3]");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.logit_bias[3] = NAN; }),
            "logit_bias[3]");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.logit_bias[3] = -kInf; }),
            "(accepted)");
  EXPECT_EQ(field_of([](SamplingParams& p) { p.stop = {"a", ""}; }), "stop[1]");
}

TEST(SamplerValidate, MessageNamesSourceFieldAndValue) {
  SamplingParams p;
  p.top_p = 2.0f;
  try {
    p.Validate("request");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "request");
    EXPECT_STREQ(e.what(), "request: top_p: must be in (0, 1], got 2");
  }
  EXPECT_THROW(Sampler{p}, Error);
}

TEST(SamplerErrors, BadInputsThrow) {
  SamplingParams p;
  Sampler s(p);
  std::vector<float> empty;
  EXPECT_THROW(s.Sample(empty, {}), Error);
  std::vector<float> nan = {1.0f, NAN, 0.0f};
  EXPECT_THROW(s.Sample(nan, {}), Error);
  std::vector<float> banned = {-kInf, -kInf};
  EXPECT_THROW(s.Sample(banned, {}), Error);

  SamplingParams g;
  g.greedy = true;
  Sampler gs(g);
  EXPECT_THROW(gs.Sample(nan, {}), Error);
  EXPECT_THROW(gs.Sample(banned, {}), Error);

  SamplingParams b;
  b.logit_bias[7] = 1.0f;
  Sampler bs(b);
  std::vector<float> small = {0.0f, 1.0f};
  EXPECT_THROW(bs.Sample(small, {}), Error);

  SamplingParams r;
  r.repetition_penalty = 1.5f;
  Sampler rs(r);
  std::vector<int32_t> bad_history = {0, 9};
  EXPECT_THROW(rs.Sample(small, bad_history), Error);
  // A failed call leaves the counting table clean.
  std::vector<int32_t> ok_history = {1};
  std::vector<float> l = {0.0f, 3.0f};
  rs.ApplyBiasAndPenalties(l, ok_history);
  EXPECT_FLOAT_EQ(l[0], 0.0f);
  EXPECT_FLOAT_EQ(l[1], 2.0f);
}

}  // namespace
}  // namespace dseek
