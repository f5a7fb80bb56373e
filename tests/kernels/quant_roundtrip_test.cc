// Quantize -> dequantize error on Gaussian data per type, the integer dot
// (VecDotQuantized) against float dots, and independence from alignment.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <random>
#include <vector>

#include "kernels/ref/quant_ref.h"

namespace dseek::ref {
namespace {

std::vector<float> Gaussian(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> x(n);
  for (auto& v : x) v = nd(rng);
  return x;
}

std::vector<uint8_t> Quantize(GgmlType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(GgmlRowBytes(t, static_cast<int64_t>(x.size())));
  QuantizeRowGgml(t, x.data(), static_cast<int64_t>(x.size()), q.data());
  return q;
}

struct TypeCase {
  GgmlType type;
  double max_rel_rms;  // RMS(dequant - x) / RMS(x) on N(0,1) data
};

// Thresholds sit ~25% above what ggml's reference quantizers reach on
// Gaussian data (bits per weight: Q2_K 2.6, Q3_K 3.4, Q4_0 4.5, Q4_K 4.5,
// Q5_K 5.5, Q6_K 6.6, Q8_0 8.5).
const TypeCase kCases[] = {
    {GgmlType::kF16, 3e-4},   {GgmlType::kBF16, 2.1e-3}, {GgmlType::kQ8_0, 7e-3},   {GgmlType::kQ8_1, 7e-3},
    {GgmlType::kQ4_0, 0.105}, {GgmlType::kQ4_1, 0.095},  {GgmlType::kQ5_0, 0.053},  {GgmlType::kQ5_1, 0.047},
    {GgmlType::kQ2_K, 0.36},  {GgmlType::kQ3_K, 0.185},  {GgmlType::kQ4_K, 0.088},  {GgmlType::kQ5_K, 0.045},
    {GgmlType::kQ6_K, 0.022}, {GgmlType::kQ8_K, 8.5e-3},
};

class QuantRoundTrip : public ::testing::TestWithParam<TypeCase> {};

TEST_P(QuantRoundTrip, RmsErrorWithinTypeBound) {
  const TypeCase c = GetParam();
  const int64_t n = 256 * 64;
  const auto x = Gaussian(n, 42);
  const auto q = Quantize(c.type, x);
  std::vector<float> y(n);
  DequantizeRowGgml(c.type, q.data(), n, y.data());
  double err2 = 0, x2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    err2 += (y[i] - x[i]) * static_cast<double>(y[i] - x[i]);
    x2 += static_cast<double>(x[i]) * x[i];
  }
  const double rel = std::sqrt(err2 / x2);
  std::printf("%-5s relative RMS error %.5f (bound %.5f)\n", std::string(GgmlTypeName(c.type)).c_str(), rel,
              c.max_rel_rms);
  EXPECT_LT(rel, c.max_rel_rms);
  // Re-quantizing the dequantized values must not drift far (quantizers are
  // near-idempotent); and zero rows stay zero.
  std::vector<float> zeros(256 * 2, 0.0f);
  const auto qz = Quantize(c.type, zeros);
  std::vector<float> yz(zeros.size());
  DequantizeRowGgml(c.type, qz.data(), static_cast<int64_t>(zeros.size()), yz.data());
  for (float v : yz) ASSERT_EQ(v, 0.0f);
}

TEST_P(QuantRoundTrip, DequantizeIgnoresAlignment) {
  const TypeCase c = GetParam();
  const int64_t n = 512;
  const auto q = Quantize(c.type, Gaussian(n, 7));
  std::vector<float> want(n), got(n);
  DequantizeRowGgml(c.type, q.data(), n, want.data());
  for (int off = 1; off < 4; ++off) {
    std::vector<uint8_t> shifted(q.size() + off);
    std::memcpy(shifted.data() + off, q.data(), q.size());
    DequantizeRowGgml(c.type, shifted.data() + off, n, got.data());
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), n * sizeof(float))) << "offset " << off;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantRoundTrip, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(GgmlTypeName(info.param.type)); });

const GgmlType kWeightTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ8_0,
                                 GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                                 GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K, GgmlType::kQ5_K,
                                 GgmlType::kQ6_K};

class QuantDot : public ::testing::TestWithParam<GgmlType> {};

// The integer dot equals a float dot of the two dequantized rows up to float
// rounding (and, for Q8_1 activations, the f16 rounding of s = d * sum(q)).
// Against the exact float activations it differs by the activation
// quantization error only.
TEST_P(QuantDot, MatchesDequantizedDot) {
  const GgmlType wt = GetParam();
  const GgmlType at = ActivationTypeFor(wt);
  const int64_t bs = std::max<int64_t>(GgmlBlockSize(wt), GgmlBlockSize(at));
  for (int64_t blocks = 1; blocks <= 12; ++blocks) {
    const int64_t n = bs * blocks;
    const auto w = Gaussian(n, 100 + static_cast<uint32_t>(blocks), 0.05f);
    auto x = Gaussian(n, 200 + static_cast<uint32_t>(blocks), 3.0f);
    const auto wq = Quantize(wt, w);
    const auto xq = Quantize(at, x);
    std::vector<float> wd(n), xd(n);
    DequantizeRowGgml(wt, wq.data(), n, wd.data());
    DequantizeRowGgml(at, xq.data(), n, xd.data());
    double exact = 0, abs_sum = 0, norm_w = 0, norm_x = 0;
    for (int64_t i = 0; i < n; ++i) {
      exact += static_cast<double>(wd[i]) * xd[i];
      abs_sum += std::fabs(static_cast<double>(wd[i]) * xd[i]);
      norm_w += static_cast<double>(wd[i]) * wd[i];
      norm_x += static_cast<double>(x[i]) * x[i];
    }
    const float got = VecDotQuantized(wt, wq.data(), xq.data(), n);
    double tol = 2e-6 * abs_sum + 1e-6;
    if (at == GgmlType::kQ8_1) {
      // m * f16(s) per block: s is rounded to 11 significant bits.
      double sterm = 0;
      for (int64_t b = 0; b < n / 32; ++b) {
        double s = 0;
        for (int i = 0; i < 32; ++i) s += xd[b * 32 + i];
        sterm += std::fabs(s) * 0.2;  // |m| <= ~0.2 for weights of std 0.05
      }
      tol += sterm * std::ldexp(1.0, -10);
    }
    EXPECT_NEAR(got, exact, tol) << GgmlTypeName(wt) << " n=" << n;
    // Against unquantized activations: error of the activation rounding,
    // bounded by |w| * |x - xq| (Cauchy-Schwarz) with |x - xq| <= 1% |x|.
    const float ref = VecDotGgml(wt, wq.data(), x.data(), n);
    const double act_tol = (at == GgmlType::kF32 ? 1e-6 : at == GgmlType::kBF16 ? 1e-2 : 1.5e-2) *
                               std::sqrt(norm_w * norm_x) + 1e-6;
    EXPECT_NEAR(got, ref, act_tol) << GgmlTypeName(wt) << " n=" << n;
  }
}

TEST_P(QuantDot, IgnoresAlignment) {
  const GgmlType wt = GetParam();
  const GgmlType at = ActivationTypeFor(wt);
  const int64_t n = 512;
  const auto wq = Quantize(wt, Gaussian(n, 11));
  const auto xq = Quantize(at, Gaussian(n, 12));
  const float want = VecDotQuantized(wt, wq.data(), xq.data(), n);
  for (int off = 1; off < 4; ++off) {
    std::vector<uint8_t> w2(wq.size() + off), x2(xq.size() + off);
    std::memcpy(w2.data() + off, wq.data(), wq.size());
    std::memcpy(x2.data() + off, xq.data(), xq.size());
    EXPECT_EQ(want, VecDotQuantized(wt, w2.data() + off, x2.data() + off, n)) << off;
  }
}

INSTANTIATE_TEST_SUITE_P(WeightTypes, QuantDot, ::testing::ValuesIn(kWeightTypes),
                         [](const auto& info) { return std::string(GgmlTypeName(info.param)); });

}  // namespace
}  // namespace dseek::ref
