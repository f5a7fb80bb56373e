// Every SIMD kernel against its scalar reference, on every target compiled in
// and supported by this CPU, over ragged sizes and misaligned pointers; and
// the CPU backend's threaded matmul against the reference for each weight
// type, with DeepSeek's shapes (FP8 128x128 blocks with ragged edges).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <random>

#include "backend/backend.h"
#include "base/numeric.h"
#include "kernels/ref/quant_ref.h"
#include "kernels/ref/ref_ops.h"
#include "kernels/simd/quant_dot.h"
#include "kernels/simd/vec_ops.h"

namespace dseek {
namespace {

class PerTarget : public ::testing::TestWithParam<int64_t> {
 protected:
  void SetUp() override { simd::ForceTargetForTest(GetParam()); }
  void TearDown() override { simd::ForceTargetForTest(0); }
};

std::string TargetParamName(const ::testing::TestParamInfo<int64_t>& info) {
  std::string n = simd::TargetName(info.param);
  for (char& c : n)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

std::vector<float> Random(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(g);
  return v;
}

const size_t kSizes[] = {0, 1, 3, 7, 8, 15, 16, 17, 31, 64, 100, 127, 128, 129, 255, 512, 576, 1000};

TEST_P(PerTarget, DotF32MatchesReference) {
  for (size_t n : kSizes)
    for (size_t off : {0, 1, 3}) {
      auto a = Random(n + off, 1), b = Random(n + off, 2);
      float want = ref::Dot(a.data() + off, b.data() + off, n);
      float got = simd::DotF32(a.data() + off, b.data() + off, n);
      EXPECT_NEAR(got, want, 1e-5f * std::max<size_t>(n, 1)) << "n=" << n << " off=" << off;
    }
}

TEST_P(PerTarget, AxpyMatchesReference) {
  for (size_t n : kSizes) {
    auto x = Random(n + 1, 3), y = Random(n + 1, 4);
    auto want = y;
    for (size_t i = 0; i < n; ++i) want[i + 1] += 0.37f * x[i + 1];
    simd::Axpy(0.37f, x.data() + 1, y.data() + 1, n);
    for (size_t i = 0; i < n + 1; ++i) EXPECT_NEAR(y[i], want[i], 1e-6f);
  }
}

TEST_P(PerTarget, SiluMulAndSoftmaxMatchReference) {
  for (size_t n : kSizes) {
    auto g = Random(n + 1, 11, -12.0f, 12.0f), u = Random(n + 1, 12);
    std::vector<float> want(n + 1, 5.0f), got(n + 1, 5.0f);
    ref::SiluMul(g.data(), u.data(), n, want.data());
    simd::SiluMul(g.data(), u.data(), n, got.data());
    for (size_t i = 0; i <= n; ++i) ASSERT_NEAR(got[i], want[i], 2e-6f * (1.0f + std::fabs(want[i]))) << "silu n=" << n;
    // Softmax over a wide range (exp of -40..0 after the max is taken off).
    auto x = Random(n, 13, -20.0f, 20.0f), y = x;
    ref::Softmax(x.data(), n);
    simd::Softmax(y.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], x[i], 2e-6f * (1.0f + x[i])) << "softmax n=" << n << " i=" << i;
  }
  // Very negative gates give (almost) -0, not NaN: exp(-g) would overflow.
  {
    const float g[4] = {-300.0f, -1000.0f, -89.0f, 300.0f}, u[4] = {1.0f, 2.0f, 3.0f, 0.5f};
    float y[4];
    simd::SiluMul(g, u, 4, y);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isfinite(y[i]) && std::fabs(y[i]) < 1e-30f) << g[i] << " -> " << y[i];
    EXPECT_FLOAT_EQ(y[3], 150.0f);
  }
  // In place (out == gate), as the MLPs call it.
  auto g = Random(100, 14, -5.0f, 5.0f), u = Random(100, 15);
  std::vector<float> want(100);
  ref::SiluMul(g.data(), u.data(), 100, want.data());
  simd::SiluMul(g.data(), u.data(), 100, g.data());
  for (size_t i = 0; i < 100; ++i) ASSERT_NEAR(g[i], want[i], 2e-6f * (1.0f + std::fabs(want[i])));
}

TEST_P(PerTarget, MatMulBlockStridedMatchesReference) {
  // Rows and tokens as views into wider rows (one KV head of a cache row).
  for (size_t rows : {1, 3, 4, 9}) {
    for (size_t toks : {1, 4, 6, 33}) {
      for (size_t cols : {1, 16, 37, 128}) {
        const size_t w_stride = cols + 19, x_stride = cols * 3 + 1, y_stride = rows + 2;
        auto w = Random(rows * w_stride, 21), x = Random(toks * x_stride, 22);
        std::vector<float> y(toks * y_stride, -9.0f);
        simd::MatMulBlockStrided(w.data() + 5, w_stride, rows, x.data() + 1, x_stride, toks, cols, y.data(), y_stride);
        for (size_t t = 0; t < toks; ++t)
          for (size_t r = 0; r < y_stride; ++r) {
            if (r >= rows) {
              ASSERT_EQ(y[t * y_stride + r], -9.0f);
              continue;
            }
            const float want = ref::Dot(w.data() + 5 + r * w_stride, x.data() + 1 + t * x_stride, cols);
            ASSERT_NEAR(y[t * y_stride + r], want, 1e-5f * cols) << rows << "x" << toks << "x" << cols;
          }
      }
    }
  }
}

TEST_P(PerTarget, WeightedRowSumsMatchReference) {
  // Head counts around the 8-head register block, column tails, strided rows.
  for (size_t heads : {1, 3, 8, 9, 16}) {
    for (size_t cols : {1, 7, 16, 33, 512}) {
      for (size_t n_rows : {0, 1, 5, 64}) {
        const size_t w_stride = n_rows + 3, row_stride = cols + 64 + 5, out_stride = cols + 2;
        auto w = Random(heads * w_stride, 7), rows = Random(std::max<size_t>(n_rows, 1) * row_stride, 8);
        auto want = Random(heads * out_stride, 9), got = want;
        ref::WeightedRowSums(w.data(), w_stride, heads, rows.data(), row_stride, n_rows, cols, want.data(), out_stride);
        simd::WeightedRowSums(w.data(), w_stride, heads, rows.data(), row_stride, n_rows, cols, got.data(), out_stride);
        for (size_t i = 0; i < want.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 1e-5f * (n_rows + 1)) << heads << "x" << cols << " rows " << n_rows << " at " << i;
      }
    }
  }
}

TEST_P(PerTarget, DecodeBf16AndF16AreExact) {
  std::mt19937 g(5);
  for (size_t n : kSizes) {
    std::vector<uint16_t> in(n + 1);
    for (auto& v : in) v = static_cast<uint16_t>(g());
    std::vector<float> a(n), b(n);
    simd::DecodeBf16(in.data() + 1, n, a.data());
    for (size_t i = 0; i < n; ++i) {
      float w = Bf16ToF32(in[i + 1]);
      if (std::isnan(w)) EXPECT_TRUE(std::isnan(a[i])); else EXPECT_EQ(a[i], w);
    }
    simd::DecodeF16(in.data() + 1, n, b.data());
    for (size_t i = 0; i < n; ++i) {
      float w = F16ToF32(in[i + 1]);
      if (std::isnan(w)) EXPECT_TRUE(std::isnan(b[i])); else EXPECT_EQ(b[i], w) << std::hex << in[i + 1];
    }
  }
}

TEST_P(PerTarget, DecodeFp8IsExactForEveryCode) {
  // All 254 non-NaN codes, repeated at odd offsets so every lane sees each.
  std::vector<uint8_t> codes;
  for (int rep = 0; rep < 3; ++rep)
    for (int c = 0; c < 256; ++c)
      if ((c & 0x7f) != 0x7f) codes.push_back(static_cast<uint8_t>(c));
  for (float scale : {1.0f, 0.0123f, 3.5e-4f})
    for (size_t off : {0, 1, 5}) {
      const size_t n = codes.size() - off;
      std::vector<float> out(n);
      simd::DecodeFp8(codes.data() + off, n, scale, out.data());
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(out[i], Fp8E4M3ToF32(codes[i + off]) * scale) << int(codes[i + off]);
    }
}

TEST_P(PerTarget, FusedRowDotsMatchWidenThenDot) {
  std::mt19937 g(7);
  for (size_t cols : {1, 7, 16, 100, 128, 129, 192, 300, 1000, 2048}) {
    std::vector<uint8_t> w8(cols + 1);
    for (auto& b : w8) {
      b = static_cast<uint8_t>(g());
      if ((b & 0x7f) == 0x7f) b ^= 1;  // no NaN codes
    }
    std::vector<uint16_t> w16(cols + 1);
    for (auto& h : w16) h = F32ToBf16(std::uniform_real_distribution<float>(-2, 2)(g));
    const size_t nb = (cols + 127) / 128;
    std::vector<float> scales(nb);
    for (size_t b = 0; b < nb; ++b) scales[b] = b == 1 ? 300.0f : 1e-3f * static_cast<float>(b + 1);  // one huge scale
    auto x = Random(cols + 1, 8);
    double want = 0, mag = 0;
    for (size_t c = 0; c < cols; ++c) {
      double v = static_cast<double>(Fp8E4M3ToF32(w8[c + 1]) * scales[c / 128]) * x[c + 1];
      want += v;
      mag += std::fabs(v);
    }
    float got = simd::DotFp8(w8.data() + 1, scales.data(), x.data() + 1, cols);
    EXPECT_NEAR(got, want, 1e-5 * mag + 1e-30) << "fp8 cols=" << cols;
    want = mag = 0;
    for (size_t c = 0; c < cols; ++c) {
      double v = static_cast<double>(Bf16ToF32(w16[c + 1])) * x[c + 1];
      want += v;
      mag += std::fabs(v);
    }
    got = simd::DotBf16(w16.data() + 1, x.data() + 1, cols);
    EXPECT_NEAR(got, want, 1e-5 * mag + 1e-30) << "bf16 cols=" << cols;
  }
}

INSTANTIATE_TEST_SUITE_P(Simd, PerTarget, ::testing::ValuesIn(simd::CompiledTargets()), TargetParamName);

// A weight matrix of the given type built from random floats, with its own
// storage.
struct TestMatrix {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  Matrix m;
};

TestMatrix MakeMatrix(DType t, int64_t rows, int64_t cols, uint32_t seed) {
  TestMatrix tm;
  auto v = Random(rows * cols, seed);
  tm.m.dtype = t;
  tm.m.rows = rows;
  tm.m.cols = cols;
  tm.bytes.resize(rows * cols * DTypeSize(t));
  if (t == DType::kF8E4M3) {
    const int64_t sr = (rows + 127) / 128, sc = (cols + 127) / 128;
    tm.scales.resize(sr * sc);
    for (int64_t i = 0; i < sr * sc; ++i) tm.scales[i] = 0.001f * static_cast<float>(i + 1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        tm.bytes[r * cols + c] = F32ToFp8E4M3(v[r * cols + c] * 400.0f);
    tm.m.scale_inv = tm.scales.data();
    tm.m.scale_cols = sc;
  } else {
    for (int64_t i = 0; i < rows * cols; ++i) {
      if (t == DType::kF32) std::memcpy(&tm.bytes[4 * i], &v[i], 4);
      uint16_t h = t == DType::kBF16 ? F32ToBf16(v[i]) : F32ToF16(v[i]);
      if (t != DType::kF32) std::memcpy(&tm.bytes[2 * i], &h, 2);
    }
  }
  tm.m.data = tm.bytes.data();
  return tm;
}

class MatMulTypes : public ::testing::TestWithParam<DType> {};

TEST_P(MatMulTypes, CpuBackendMatchesReference) {
  for (int threads : {1, 2, 3}) {
    auto be = MakeCpuBackend(threads);
    // DeepSeek-like ragged shapes: [kv_lora + rope, hidden 192], [300, 200], 1 row.
    for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{160, 192}, {300, 200}, {1, 7}, {576, 256}})
      for (size_t ntok : {1, 3, 17}) {
        TestMatrix tm = MakeMatrix(GetParam(), rows, cols, static_cast<uint32_t>(rows + cols));
        auto x = Random(ntok * cols, 9);
        std::vector<float> want(ntok * rows), got(ntok * rows);
        ref::MatMul(tm.m, x.data(), ntok, want.data());
        be->MatMul(tm.m, x.data(), ntok, got.data());
        for (size_t i = 0; i < want.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 1e-4f * (1 + std::fabs(want[i]))) << rows << "x" << cols << " ntok=" << ntok;
      }
  }
}

TEST_P(MatMulTypes, RowSliceKeepsFp8BlockGrid) {
  TestMatrix tm = MakeMatrix(GetParam(), 320, 130, 11);
  std::vector<float> full(130), part(130);
  Matrix slice = tm.m.RowSlice(200, 64);  // not a multiple of 128
  for (int64_t r = 0; r < 64; ++r) {
    ref::DequantizeRow(tm.m, 200 + r, full.data());
    simd::WidenRow(slice, r, part.data());
    for (int c = 0; c < 130; ++c) ASSERT_EQ(part[c], full[c]);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, MatMulTypes, ::testing::Values(DType::kF32, DType::kBF16, DType::kF16, DType::kF8E4M3),
                         [](const auto& info) { return std::string(DTypeName(info.param)); });

// Weights in a ggml block type (from GGUF files): the CPU backend's matmul
// must equal the reference dequantize-then-dot on every type and thread count.
class MatMulGgmlTypes : public ::testing::TestWithParam<GgmlType> {};

TEST_P(MatMulGgmlTypes, CpuBackendMatchesDequantizeDot) {
  const GgmlType t = GetParam();
  for (int threads : {1, 3}) {
    auto be = MakeCpuBackend(threads);
    for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{1, 256}, {37, 512}, {160, 256}})
      for (size_t ntok : {1, 5, 33}) {
        auto v = Random(rows * cols, static_cast<uint32_t>(rows * 7 + cols));
        const int64_t rb = GgmlRowBytes(t, cols);
        std::vector<uint8_t> bytes(rows * rb);
        for (int64_t r = 0; r < rows; ++r) ref::QuantizeRowGgml(t, v.data() + r * cols, cols, bytes.data() + r * rb);
        Matrix m;
        if (t == GgmlType::kF16 || t == GgmlType::kBF16) {
          m.dtype = t == GgmlType::kF16 ? DType::kF16 : DType::kBF16;
        } else {
          m.dtype = DType::kGgml;
          m.ggml = t;
        }
        m.rows = rows;
        m.cols = cols;
        m.data = bytes.data();
        ASSERT_EQ(m.row_bytes(), static_cast<size_t>(rb));
        auto x = Random(ntok * cols, 5);
        std::vector<float> got(ntok * rows), row(cols);
        be->MatMul(m, x.data(), ntok, got.data());
        const bool int_dot = m.dtype == DType::kGgml && simd::HasQuantDot(t);
        if (int_dot) {
          // Integer dots with 8-bit activations, as llama.cpp: each token's
          // result is ggml's quantized dot, whatever the batch or threads.
          const GgmlType at = simd::QuantActivationType(t);
          std::vector<uint8_t> aq(GgmlRowBytes(at, cols));
          for (size_t k = 0; k < ntok; ++k) {
            ref::QuantizeRowGgml(at, x.data() + k * cols, cols, aq.data());
            for (int64_t r = 0; r < rows; ++r) {
              const float want = ref::VecDotQuantized(t, bytes.data() + r * rb, aq.data(), cols);
              ASSERT_NEAR(got[k * rows + r], want, 1e-5 * (1 + std::fabs(want)))
                  << GgmlTypeName(t) << " " << rows << "x" << cols << " row " << r << " tok " << k;
            }
          }
        }
        for (int64_t r = 0; r < rows && !int_dot; ++r) {
          ref::DequantizeRowGgml(t, bytes.data() + r * rb, cols, row.data());
          for (size_t k = 0; k < ntok; ++k) {
            double want = 0;
            for (int64_t c = 0; c < cols; ++c) want += static_cast<double>(row[c]) * x[k * cols + c];
            ASSERT_NEAR(got[k * rows + r], want, 1e-4 * (1 + std::fabs(want)))
                << GgmlTypeName(t) << " " << rows << "x" << cols << " row " << r << " tok " << k;
          }
        }
        // WidenRow on a row slice sees the same blocks.
        Matrix slice = m.RowSlice(rows - 1, 1);
        std::vector<float> widened(cols);
        simd::WidenRow(slice, 0, widened.data());
        ref::DequantizeRowGgml(t, bytes.data() + (rows - 1) * rb, cols, row.data());
        for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(widened[c], row[c]);
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, MatMulGgmlTypes,
                         ::testing::Values(GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0,
                                           GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ2_K,
                                           GgmlType::kQ3_K, GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K),
                         [](const auto& info) { return std::string(GgmlTypeName(info.param)); });

TEST(RefOps, RmsNormSoftmaxSiluRope) {
  std::vector<float> x = {1, 2, 3, 4}, w = {1, 1, 2, 0.5f}, out(4);
  ref::RmsNorm(x.data(), w.data(), 4, 0.0f, out.data());
  const float inv = 1.0f / std::sqrt(7.5f);
  EXPECT_NEAR(out[2], 3 * inv * 2, 1e-6);
  std::vector<float> s = {1, 2, 3};
  ref::Softmax(s.data(), 3);
  float z = std::exp(1.f) + std::exp(2.f) + std::exp(3.f);
  EXPECT_NEAR(s[2], std::exp(3.f) / z, 1e-6);
  std::vector<float> g = {0.5f}, u = {2.0f}, o(1);
  ref::SiluMul(g.data(), u.data(), 1, o.data());
  EXPECT_NEAR(o[0], 0.5f / (1 + std::exp(-0.5f)) * 2, 1e-6);
  std::vector<float> r = {1, 0, 0, 1}, c = {0, 1}, sn = {1, 0};
  ref::RopeInterleaved(r.data(), c.data(), sn.data(), 2);  // rotate pair 0 by 90 degrees, pair 1 by 0
  EXPECT_NEAR(r[0], 0, 1e-7);
  EXPECT_NEAR(r[1], 1, 1e-7);
  EXPECT_NEAR(r[3], 1, 1e-7);
}

}  // namespace
}  // namespace dseek
