// RoPE and YaRN tables against the formulas of DeepSeek's reference, computed
// here independently in double precision.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "model/layers/rope_yarn.h"

namespace dseek {
namespace {

RopeParams TinyV3() {
  RopeParams p;
  p.dim = 32;
  p.theta = 10000;
  p.yarn = true;
  p.factor = 40;
  p.original_max_position = 4096;
  p.beta_fast = 32;
  p.beta_slow = 1;
  p.mscale = 1.0;
  p.mscale_all_dim = 1.0;
  return p;
}

TEST(RopeYarn, PlainFrequencies) {
  RopeParams p;
  p.dim = 16;
  RopeTable t(p);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(t.inv_freq()[i], std::pow(10000.0, -2.0 * i / 16), 1e-7);
  EXPECT_NEAR(MlaSoftmaxScale(48, p), 0.144338, 1e-6);
}

TEST(RopeYarn, YarnBlendMatchesReferenceFormula) {
  RopeParams p = TinyV3();
  RopeTable t(p);
  auto cdim = [&](double r) { return p.dim * std::log(4096.0 / (2 * M_PI * r)) / (2 * std::log(p.theta)); };
  double low = std::max(std::floor(cdim(32)), 0.0), high = std::min(std::ceil(cdim(1)), p.dim - 1.0);
  for (int i = 0; i < 16; ++i) {
    double f = std::pow(10000.0, -2.0 * i / 32);
    double s = 1.0 - std::clamp((i - low) / (high - low), 0.0, 1.0);
    double want = f / 40 * (1 - s) + f * s;
    EXPECT_NEAR(t.inv_freq()[i], want, 1e-6 * std::max(1.0, want)) << i;
  }
  EXPECT_NEAR(MlaSoftmaxScale(64, p), 0.23423177588657831, 1e-7);
  EXPECT_FLOAT_EQ(t.cos_sin_scale(), 1.0f);
}

TEST(RopeYarn, AnglesAndMscaleRatio) {
  RopeParams p = TinyV3();
  p.mscale = 0.707;
  p.mscale_all_dim = 1.0;
  RopeTable t(p);
  std::vector<float> c(16), s(16);
  t.Angles(0, c.data(), s.data());
  const float m = static_cast<float>((0.1 * 0.707 * std::log(40.0) + 1) / (0.1 * std::log(40.0) + 1));
  for (int i = 0; i < 16; ++i) {
    EXPECT_NEAR(c[i], m, 1e-6);
    EXPECT_EQ(s[i], 0.0f);
  }
  t.Angles(1000, c.data(), s.data());
  for (int i = 0; i < 16; ++i) {
    float a = 1000.0f * t.inv_freq()[i];
    EXPECT_NEAR(c[i], std::cos(a) * m, 1e-5);
    EXPECT_NEAR(s[i], std::sin(a) * m, 1e-5);
  }
}

}  // namespace
}  // namespace dseek
