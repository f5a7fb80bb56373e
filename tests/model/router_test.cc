// The MoE router on hand-made logits: each scoring function and selection
// method, the correction bias (choice only, never weights), renormalisation
// and routed scaling.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "model/layers/moe.h"

namespace dseek {
namespace {

struct Routed {
  std::vector<int32_t> ids;
  std::vector<float> w;
};

Routed Route(const RouterParams& p, const std::vector<float>& logits, const float* bias = nullptr) {
  Routed r;
  r.ids.resize(p.top_k);
  r.w.resize(p.top_k);
  std::vector<float> scratch(2 * p.n_experts);
  RouteToken(p, logits.data(), bias, r.ids.data(), r.w.data(), scratch.data());
  return r;
}

TEST(Router, SoftmaxGreedyKeepsProbabilities) {
  RouterParams p;
  p.n_experts = 4;
  p.top_k = 2;
  p.routed_scaling_factor = 1.0f;
  std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.0f};
  Routed r = Route(p, logits);
  float z = std::exp(0.5f) + std::exp(2.0f) + std::exp(-1.0f) + std::exp(1.0f);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(r.w[0], std::exp(2.0f) / z, 1e-6);
  EXPECT_NEAR(r.w[1], std::exp(1.0f) / z, 1e-6);
}

TEST(Router, NormTopkProbRenormalisesAndScales) {
  RouterParams p;
  p.n_experts = 4;
  p.top_k = 2;
  p.norm_topk_prob = true;
  p.routed_scaling_factor = 2.5f;
  Routed r = Route(p, {0.5f, 2.0f, -1.0f, 1.0f});
  EXPECT_NEAR(r.w[0] + r.w[1], 2.5f, 1e-5);
  // HF DeepseekV2 skips the scaling when it renormalises.
  p.scale_after_norm = false;
  r = Route(p, {0.5f, 2.0f, -1.0f, 1.0f});
  EXPECT_NEAR(r.w[0] + r.w[1], 1.0f, 1e-6);
}

TEST(Router, GroupLimitedGreedyUsesGroupMax) {
  RouterParams p;
  p.n_experts = 8;
  p.top_k = 2;
  p.n_group = 4;
  p.topk_group = 1;
  p.method = TopkMethod::kGroupLimitedGreedy;
  // Group 1 (experts 2,3) holds the single best expert; group 0 has the two
  // next best, but only one group survives.
  Routed r = Route(p, {2.0f, 2.0f, 3.0f, -5.0f, 0.f, 0.f, 0.f, 0.f});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{2, 3}));
}

TEST(Router, NoauxTcBiasChoosesButDoesNotWeigh) {
  RouterParams p;
  p.n_experts = 8;
  p.top_k = 2;
  p.n_group = 4;
  p.topk_group = 2;
  p.method = TopkMethod::kNoauxTc;
  p.scoring = ScoringFunc::kSigmoid;
  p.norm_topk_prob = true;
  p.routed_scaling_factor = 2.5f;
  std::vector<float> logits = {1.0f, 0.9f, 0.0f, 0.0f, 0.5f, 0.5f, 0.5f, 3.0f};
  std::vector<float> bias(8, 0.0f);
  Routed plain = Route(p, logits, bias.data());
  // Group scores (sum of top 2): g0 = s(1)+s(.9) = 1.44, g1 = 2 s(0) = 1, g2 = 2 s(.5) = 1.24,
  // g3 = s(.5)+s(3) = 1.58.
  // Kept: g0 and g3; best experts there: 7 then 0.
  EXPECT_EQ(plain.ids, (std::vector<int32_t>{7, 0}));
  // A bias on expert 5 lifts group 2 and the expert itself into the choice.
  bias[5] = 1.0f;
  bias[4] = 0.6f;
  Routed biased = Route(p, logits, bias.data());
  std::set<int32_t> chosen(biased.ids.begin(), biased.ids.end());
  EXPECT_TRUE(chosen.count(5));
  auto sig = [](float x) { return 1.0f / (1.0f + std::exp(-x)); };
  // Weights come from the unbiased sigmoid scores, renormalised, times 2.5.
  float s0 = sig(logits[biased.ids[0]]), s1 = sig(logits[biased.ids[1]]);
  EXPECT_NEAR(biased.w[0], s0 / (s0 + s1) * 2.5f, 1e-5);
  EXPECT_NEAR(biased.w[1], s1 / (s0 + s1) * 2.5f, 1e-5);
}

TEST(Router, TiesGoToTheLowerIndex) {
  RouterParams p;
  p.n_experts = 6;
  p.top_k = 3;
  Routed r = Route(p, {1.f, 1.f, 1.f, 1.f, 1.f, 1.f});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{0, 1, 2}));
}

}  // namespace
}  // namespace dseek
