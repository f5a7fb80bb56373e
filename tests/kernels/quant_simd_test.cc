// The quantized integer dots (kernels/simd/quant_dot.h) against the scalar
// reference (ref::QuantizeRowGgml, ref::VecDotQuantized) on every ISA this
// build and CPU support, over row lengths, token counts and misaligned
// pointers. Activation quantization must be bit-exact; dots agree to float
// rounding (the kernels sum the per-block float products in another order).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "kernels/ref/quant_ref.h"
#include "kernels/simd/quant_dot.h"

namespace dseek {
namespace {

class PerIsa : public ::testing::TestWithParam<simd::QuantIsa> {
 protected:
  void SetUp() override { simd::ForceQuantIsaForTest(GetParam()); }
  void TearDown() override { simd::ResetQuantIsaForTest(); }
};

std::vector<float> Random(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(g);
  return v;
}

// Bytes at an odd offset inside a larger buffer (no alignment assumed).
struct Buf {
  std::vector<uint8_t> mem;
  size_t off;
  Buf(size_t n, size_t offset) : mem(n + offset + 64), off(offset) {}
  uint8_t* data() { return mem.data() + off; }
};

const GgmlType kWeights[] = {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_K, GgmlType::kQ6_K};

TEST_P(PerIsa, ActivationQuantizationIsBitExact) {
  for (GgmlType act : {GgmlType::kQ8_0, GgmlType::kQ8_K}) {
    const int64_t bs = GgmlBlockSize(act);
    for (int64_t blocks : {1, 2, 3, 7, 12}) {
      const int64_t n = bs * blocks;
      for (size_t off : {0, 1, 3}) {
        auto xv = Random(n + 1, static_cast<uint32_t>(n + off));
        // Ties and special values: exact halves, zeros, a negative maximum.
        xv[1] = 0.0f;
        if (n > 8) xv[5] = -4.0f;
        const float* x = xv.data() + (off & 1);
        const size_t bytes = GgmlRowBytes(act, n);
        std::vector<uint8_t> want(bytes);
        Buf got(bytes, off);
        ref::QuantizeRowGgml(act, x, n, want.data());
        simd::QuantizeActivationRow(act, x, n, got.data());
        EXPECT_EQ(0, std::memcmp(want.data(), got.data(), bytes))
            << GgmlTypeName(act) << " n=" << n << " off=" << off;
      }
    }
    // An all-zero block, and one whose value of largest magnitude is negative.
    std::vector<float> z(bs, 0.0f);
    z[bs - 1] = 0.0f;
    std::vector<uint8_t> want(GgmlRowBytes(act, bs)), got(want.size());
    ref::QuantizeRowGgml(act, z.data(), bs, want.data());
    simd::QuantizeActivationRow(act, z.data(), bs, got.data());
    EXPECT_EQ(want, got) << GgmlTypeName(act) << " zeros";
    // Values landing on exact .5 after scaling (Q8_0 rounds half away from zero).
    std::vector<float> h(bs);
    for (int64_t i = 0; i < bs; ++i) h[i] = (i == 0) ? 127.0f : static_cast<float>(i % 50) - 24.5f;
    ref::QuantizeRowGgml(act, h.data(), bs, want.data());
    simd::QuantizeActivationRow(act, h.data(), bs, got.data());
    EXPECT_EQ(want, got) << GgmlTypeName(act) << " halves";
  }
}

TEST_P(PerIsa, DotsMatchReference) {
  for (GgmlType wt : kWeights) {
    const GgmlType act = simd::QuantActivationType(wt);
    const int64_t bs = GgmlBlockSize(wt);
    for (int64_t blocks : {1, 2, 5, 9}) {
      const int64_t n = (bs == 256 ? 256 : 32) * blocks * (bs == 256 ? 1 : 3);
      const size_t wbytes = GgmlRowBytes(wt, n), abytes = GgmlRowBytes(act, n);
      auto wf = Random(n, 7 + static_cast<uint32_t>(n), 0.05f);
      std::vector<uint8_t> wq(wbytes);
      ref::QuantizeRowGgml(wt, wf.data(), n, wq.data());
      for (size_t n_tok : {1, 2, 3, 4, 5, 9}) {
        for (size_t off : {0, 1, 2}) {
          const size_t stride = abytes + off;  // misaligned rows
          Buf a(stride * n_tok, off);
          Buf w(wbytes, (off * 5) % 7);
          std::memcpy(w.data(), wq.data(), wbytes);
          for (size_t t = 0; t < n_tok; ++t) {
            auto x = Random(n, 100 + static_cast<uint32_t>(t * 31 + n), 1.0f + t);
            ref::QuantizeRowGgml(act, x.data(), n, a.data() + t * stride);
          }
          std::vector<float> y(n_tok * 3, -1.0f);
          simd::QuantDotTokens(wt, w.data(), a.data(), stride, n_tok, n, y.data(), 3);
          for (size_t t = 0; t < n_tok; ++t) {
            const uint8_t* at = a.data() + t * stride;
            const float want = ref::VecDotQuantized(wt, w.data(), at, n);
            // Bound: float rounding of the block sums, relative to the sum of |terms|.
            std::vector<float> wd(n), ad(n);
            ref::DequantizeRowGgml(wt, w.data(), n, wd.data());
            ref::DequantizeRowGgml(act, at, n, ad.data());
            double mag = 0;
            for (int64_t i = 0; i < n; ++i) mag += std::fabs(static_cast<double>(wd[i]) * ad[i]);
            EXPECT_NEAR(y[t * 3], want, 2e-6 * mag + 1e-6)
                << GgmlTypeName(wt) << " n=" << n << " tok=" << t << "/" << n_tok << " off=" << off;
            if (t == 0) {
              EXPECT_FLOAT_EQ(simd::QuantDot(wt, w.data(), at, n), y[0]);
            }
          }
        }
      }
    }
  }
}

// The rows entry point gives the per-row results exactly (same kernel, chosen once).
TEST_P(PerIsa, RowsMatchOneRowAtATime) {
  for (GgmlType wt : kWeights) {
    const GgmlType act = simd::QuantActivationType(wt);
    const int64_t n = 512;
    const size_t rb = GgmlRowBytes(wt, n), ab = GgmlRowBytes(act, n);
    const size_t n_rows = 5, n_tok = 3;
    std::vector<uint8_t> w(rb * n_rows), a(ab * n_tok);
    for (size_t r = 0; r < n_rows; ++r) {
      auto f = Random(n, 40 + static_cast<uint32_t>(r), 0.05f);
      ref::QuantizeRowGgml(wt, f.data(), n, w.data() + r * rb);
    }
    for (size_t t = 0; t < n_tok; ++t) {
      auto x = Random(n, 50 + static_cast<uint32_t>(t), 1.0f);
      simd::QuantizeActivationRow(act, x.data(), n, a.data() + t * ab);
    }
    std::vector<float> got(n_tok * 7, -1.0f), want(n_tok * 7, -1.0f);
    simd::QuantDotRows(wt, w.data(), rb, n_rows, a.data(), ab, n_tok, n, got.data(), 7);
    for (size_t r = 0; r < n_rows; ++r)
      simd::QuantDotTokens(wt, w.data() + r * rb, a.data(), ab, n_tok, n, want.data() + r, 7);
    EXPECT_EQ(got, want) << GgmlTypeName(wt);
  }
}

// DeepSeek / Qwen row lengths (hidden 1536, 2048, ffn 8960, 10944, latent 512).
TEST_P(PerIsa, DotsAtModelShapes) {
  for (GgmlType wt : kWeights) {
    const GgmlType act = simd::QuantActivationType(wt);
    for (int64_t n : {512, 1536, 2048, 8960, 10944}) {
      if (n % GgmlBlockSize(wt) != 0) continue;
      auto wf = Random(n, 11, 0.03f);
      auto x = Random(n, 12, 2.0f);
      std::vector<uint8_t> wq(GgmlRowBytes(wt, n)), aq(GgmlRowBytes(act, n));
      ref::QuantizeRowGgml(wt, wf.data(), n, wq.data());
      simd::QuantizeActivationRow(act, x.data(), n, aq.data());
      const float want = ref::VecDotQuantized(wt, wq.data(), aq.data(), n);
      const float exact = ref::VecDotGgml(wt, wq.data(), x.data(), n);
      const float got = simd::QuantDot(wt, wq.data(), aq.data(), n);
      EXPECT_NEAR(got, want, 1e-4f * (std::fabs(want) + 1.0f)) << GgmlTypeName(wt) << " n=" << n;
      // The 8-bit activations themselves cost a little against the float dot.
      EXPECT_NEAR(got, exact, 0.05f * (std::fabs(exact) + 1.0f)) << GgmlTypeName(wt) << " n=" << n;
    }
  }
}

std::string IsaName(const ::testing::TestParamInfo<simd::QuantIsa>& info) {
  return simd::QuantIsaName(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, PerIsa, ::testing::ValuesIn(simd::SupportedQuantIsas()), IsaName);

TEST(QuantIsa, BestIsTheLastSupported) {
  EXPECT_EQ(simd::ActiveQuantIsa(), simd::SupportedQuantIsas().back());
  EXPECT_TRUE(simd::HasQuantDot(GgmlType::kQ4_K));
  EXPECT_FALSE(simd::HasQuantDot(GgmlType::kQ5_K));
}

}  // namespace
}  // namespace dseek
