// Packed Q4_0 / Q8_0 row groups (kernels/simd/quant_packed.h) against the
// scalar reference on the plain rows (ref::VecDotQuantized with Q8_0
// activations from ref::QuantizeRowGgml), on every ISA: packing round-trips,
// the packed activations carry the reference quantization, and every token
// count and row length gives the reference dots up to float rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "base/numeric.h"
#include "kernels/ref/quant_ref.h"
#include "kernels/simd/quant_dot.h"
#include "kernels/simd/quant_packed.h"

namespace dseek {
namespace {

class PackedPerIsa : public ::testing::TestWithParam<simd::QuantIsa> {
 protected:
  void SetUp() override { simd::ForceQuantIsaForTest(GetParam()); }
  void TearDown() override { simd::ResetQuantIsaForTest(); }
};

std::vector<float> Random(size_t n, uint32_t seed, float scale) {
  std::mt19937 g(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(g);
  return v;
}

// 8 plain rows of type t, quantized from random floats.
std::vector<uint8_t> PlainRows(GgmlType t, int64_t cols, uint32_t seed) {
  const size_t rb = GgmlRowBytes(t, cols);
  std::vector<uint8_t> rows(rb * simd::kPackRows);
  for (int64_t i = 0; i < simd::kPackRows; ++i) {
    auto f = Random(cols, seed + static_cast<uint32_t>(i), 0.05f);
    ref::QuantizeRowGgml(t, f.data(), cols, rows.data() + i * rb);
  }
  return rows;
}

const GgmlType kTypes[] = {GgmlType::kQ4_0, GgmlType::kQ8_0};

TEST(PackedLayout, PackThenUnpackGivesTheRowsBack) {
  for (GgmlType t : kTypes) {
    for (int64_t cols : {32, 96, 1536}) {
      auto plain = PlainRows(t, cols, 3);
      // Q8_0 extremes survive the layout (the kernels flip signs, the storage does not).
      if (t == GgmlType::kQ8_0) plain[2] = 0x80, plain[3] = 0x7F;
      std::vector<uint8_t> group(plain.size()), back(GgmlRowBytes(t, cols));
      simd::PackRowGroup(t, plain.data(), cols, group.data());
      EXPECT_NE(plain, group) << GgmlTypeName(t);
      for (int64_t i = 0; i < simd::kPackRows; ++i) {
        simd::UnpackGroupRow(t, group.data(), cols, i, back.data());
        EXPECT_EQ(0, std::memcmp(back.data(), plain.data() + i * back.size(), back.size()))
            << GgmlTypeName(t) << " cols=" << cols << " row " << i;
      }
    }
  }
  EXPECT_FALSE(simd::CanPackRows(GgmlType::kQ4_K));
  std::vector<uint8_t> tmp(8 * 18 * 2);
  EXPECT_THROW(simd::PackRowGroup(GgmlType::kQ4_K, tmp.data(), 256, tmp.data()), Error);
}

TEST_P(PackedPerIsa, ActivationsCarryTheReferenceQuantization) {
  for (GgmlType t : kTypes) {
    const int64_t cols = 96;
    auto x = Random(cols, 5, 3.0f);
    std::vector<uint8_t> q8(GgmlRowBytes(GgmlType::kQ8_0, cols)), packed(simd::PackedActivationBytes(cols));
    ref::QuantizeRowGgml(GgmlType::kQ8_0, x.data(), cols, q8.data());
    simd::QuantizeActivationPacked(t, x.data(), cols, packed.data());
    const int32_t offset = t == GgmlType::kQ4_0 ? 8 : 128;
    for (int64_t b = 0; b < cols / 32; ++b) {
      ref::BlockQ8_0 blk;
      std::memcpy(&blk, q8.data() + 34 * b, 34);
      EXPECT_EQ(0, std::memcmp(packed.data() + 32 * b, blk.qs, 32));
      float d;
      int32_t osum;
      std::memcpy(&d, packed.data() + cols + 4 * b, 4);
      std::memcpy(&osum, packed.data() + cols + 4 * (cols / 32) + 4 * b, 4);
      EXPECT_EQ(d, F16ToF32(blk.d));
      int32_t s = 0;
      for (int8_t q : blk.qs) s += q;
      EXPECT_EQ(osum, offset * s);
    }
  }
}

TEST_P(PackedPerIsa, DotsMatchTheReferenceOnPlainRows) {
  for (GgmlType t : kTypes) {
    for (int64_t cols : {32, 64, 160, 1536, 8960}) {
      auto plain = PlainRows(t, cols, static_cast<uint32_t>(cols));
      if (t == GgmlType::kQ8_0) {
        // -128 never comes out of the quantizer but a file may hold it.
        plain[2] = 0x80;
        plain[GgmlRowBytes(t, cols) + 5] = 0x80;
      }
      const size_t rb = GgmlRowBytes(t, cols);
      std::vector<uint8_t> group(plain.size() + 1);
      simd::PackRowGroup(t, plain.data(), cols, group.data() + 1);  // misaligned on purpose
      for (size_t n_tok : {1, 2, 3, 4, 5, 7, 9}) {
        const size_t stride = simd::PackedActivationBytes(cols) + 4;
        std::vector<uint8_t> act(stride * n_tok), q8(GgmlRowBytes(GgmlType::kQ8_0, cols) * n_tok);
        for (size_t tok = 0; tok < n_tok; ++tok) {
          auto x = Random(cols, 100 + static_cast<uint32_t>(tok), 1.0f + tok);
          if (tok == 1) std::fill(x.begin(), x.begin() + 32, 0.0f);  // an all-zero block
          simd::QuantizeActivationPacked(t, x.data(), cols, act.data() + tok * stride);
          ref::QuantizeRowGgml(GgmlType::kQ8_0, x.data(), cols, q8.data() + tok * (q8.size() / n_tok));
        }
        const size_t y_stride = 11;
        std::vector<float> y(y_stride * n_tok, -7.0f);
        simd::PackedGroupDot(t, group.data() + 1, cols, act.data(), stride, n_tok, y.data(), y_stride);
        for (size_t tok = 0; tok < n_tok; ++tok) {
          const uint8_t* a = q8.data() + tok * (q8.size() / n_tok);
          std::vector<float> ad(cols), wd(cols);
          ref::DequantizeRowGgml(GgmlType::kQ8_0, a, cols, ad.data());
          for (int64_t i = 0; i < simd::kPackRows; ++i) {
            const uint8_t* w = plain.data() + i * rb;
            const float want = ref::VecDotQuantized(t, w, a, cols);
            ref::DequantizeRowGgml(t, w, cols, wd.data());
            double mag = 0;
            for (int64_t k = 0; k < cols; ++k) mag += std::fabs(static_cast<double>(wd[k]) * ad[k]);
            EXPECT_NEAR(y[tok * y_stride + i], want, 2e-6 * mag + 1e-6)
                << GgmlTypeName(t) << " cols=" << cols << " tok " << tok << "/" << n_tok << " row " << i;
          }
          EXPECT_EQ(y[tok * y_stride + 8], -7.0f);  // nothing written past the group's 8 rows
        }
      }
    }
  }
}

std::string IsaName(const ::testing::TestParamInfo<simd::QuantIsa>& info) {
  return simd::QuantIsaName(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, PackedPerIsa, ::testing::ValuesIn(simd::SupportedQuantIsas()), IsaName);

}  // namespace
}  // namespace dseek
