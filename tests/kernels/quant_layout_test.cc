// Bit layouts of ggml's block formats: hand-built blocks dequantize to exact
// values, and random blocks dequantize as an element-by-element reading of
// ggml-common.h's layout (written here independently of the kernels' loops).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "base/numeric.h"
#include "kernels/ref/quant_ref.h"

namespace dseek::ref {
namespace {

template <typename B>
std::vector<float> Deq(GgmlType t, const B& b, int n) {
  std::vector<float> out(n);
  DequantizeRowGgml(t, &b, n, out.data());
  return out;
}

TEST(QuantLayout, Q4_0LowNibblesFirstHalfHighNibblesSecondHalf) {
  BlockQ4_0 b{};
  b.d = F32ToF16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  auto y = Deq(GgmlType::kQ4_0, b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 0.5f) << j;
    EXPECT_EQ(y[j + 16], (7 - j) * 0.5f) << j;
  }
}

TEST(QuantLayout, Q4_1ScaleAndMin) {
  BlockQ4_1 b{};
  b.d = F32ToF16(0.25f);
  b.m = F32ToF16(-1.0f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | (3 << 4));
  auto y = Deq(GgmlType::kQ4_1, b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], j * 0.25f - 1.0f);
    EXPECT_EQ(y[j + 16], 3 * 0.25f - 1.0f);
  }
}

TEST(QuantLayout, Q5_0HighBitsFromLittleEndianWord) {
  BlockQ5_0 b{};
  b.d = F32ToF16(1.0f);
  const uint32_t qh = 0x80000001u | (1u << 17);  // elements 0, 17, 31 get bit 4
  std::memcpy(b.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = 0x21;  // low nibble 1, high nibble 2
  auto y = Deq(GgmlType::kQ5_0, b, 32);
  for (int e = 0; e < 32; ++e) {
    const int low = e < 16 ? 1 : 2;
    const int high = (e == 0 || e == 17 || e == 31) ? 16 : 0;
    EXPECT_EQ(y[e], static_cast<float>(low + high - 16)) << e;
  }
}

TEST(QuantLayout, Q5_1HighBitsAndMin) {
  BlockQ5_1 b{};
  b.d = F32ToF16(2.0f);
  b.m = F32ToF16(0.5f);
  const uint32_t qh = 0x0000ffffu;  // first half gets bit 4
  std::memcpy(b.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = 0xf3;
  auto y = Deq(GgmlType::kQ5_1, b, 32);
  for (int e = 0; e < 32; ++e) EXPECT_EQ(y[e], (e < 16 ? 19 : 15) * 2.0f + 0.5f) << e;
}

TEST(QuantLayout, Q8_0) {
  BlockQ8_0 b{};
  b.d = F32ToF16(2.0f);
  for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(j * 8 - 128);
  auto y = Deq(GgmlType::kQ8_0, b, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 2.0f * (j * 8 - 128));
}

TEST(QuantLayout, Q4_KPackedSixBitScalesAndMins) {
  BlockQ4_K b{};
  b.d = F32ToF16(1.0f);
  b.dmin = F32ToF16(0.5f);
  // Sub-block j gets scale 10 + 7j and min 3 + 6j (both < 64, j >= 4 need the top bits).
  uint8_t sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = static_cast<uint8_t>(10 + 7 * j);
    mn[j] = static_cast<uint8_t>(3 + 6 * j);
  }
  for (int j = 0; j < 4; ++j) {
    b.scales[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    b.scales[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    b.scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
  }
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    GetScaleMinK4(j, b.scales, &s, &m);
    EXPECT_EQ(s, sc[j]);
    EXPECT_EQ(m, mn[j]);
  }
  // Chunk c of 64 elements: low nibbles of qs[32c..32c+31] then high nibbles.
  for (int i = 0; i < 128; ++i) b.qs[i] = static_cast<uint8_t>((i % 16) | ((15 - i % 16) << 4));
  auto y = Deq(GgmlType::kQ4_K, b, 256);
  for (int e = 0; e < 256; ++e) {
    const int j = e / 32, c = e / 64, l = e % 32;
    const uint8_t byte = b.qs[32 * c + l];
    const int q = (e % 64) < 32 ? (byte & 0xF) : (byte >> 4);
    EXPECT_EQ(y[e], 1.0f * sc[j] * q - 0.5f * mn[j]) << e;
  }
}

TEST(QuantLayout, Q6_KLowNibblesHighPairsAndScales) {
  BlockQ6_K b{};
  b.d = F32ToF16(0.5f);
  for (int i = 0; i < 16; ++i) b.scales[i] = static_cast<int8_t>(i - 8);
  std::mt19937 rng(1);
  for (auto& v : b.ql) v = static_cast<uint8_t>(rng());
  for (auto& v : b.qh) v = static_cast<uint8_t>(rng());
  auto y = Deq(GgmlType::kQ6_K, b, 256);
  for (int e = 0; e < 256; ++e) {
    // Half h of 128; within it, quarter k = (e%128)/32 and lane l = e%32.
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    const uint8_t ql = b.ql[64 * h + l + (k % 2) * 32];
    const int low = k < 2 ? (ql & 0xF) : (ql >> 4);
    const int high = (b.qh[32 * h + l] >> (2 * k)) & 3;
    const int q = (low | (high << 4)) - 32;
    const int scale = b.scales[e / 16];
    EXPECT_EQ(y[e], 0.5f * scale * q) << e;
  }
}

TEST(QuantLayout, Q2_KTwoBitGroupsAndNibbleScales) {
  BlockQ2_K b{};
  b.d = F32ToF16(0.5f);
  b.dmin = F32ToF16(0.25f);
  std::mt19937 rng(2);
  for (auto& v : b.scales) v = static_cast<uint8_t>(rng());
  for (auto& v : b.qs) v = static_cast<uint8_t>(rng());
  auto y = Deq(GgmlType::kQ2_K, b, 256);
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, shift = 2 * ((e % 128) / 32), l = e % 32;
    const int q = (b.qs[32 * h + l] >> shift) & 3;
    const uint8_t sc = b.scales[e / 16];
    EXPECT_EQ(y[e], 0.5f * (sc & 0xF) * q - 0.25f * (sc >> 4)) << e;
  }
}

TEST(QuantLayout, Q3_KHmaskAndSixBitScales) {
  BlockQ3_K b{};
  b.d = F32ToF16(0.25f);
  int8_t want_scale[16];
  for (int j = 0; j < 16; ++j) want_scale[j] = static_cast<int8_t>(4 * j - 30);  // in [-32, 31]
  for (int j = 0; j < 16; ++j) {
    const int v = want_scale[j] + 32;
    if (j < 8) b.scales[j] |= static_cast<uint8_t>(v & 0xF);
    else b.scales[j - 8] |= static_cast<uint8_t>((v & 0xF) << 4);
    b.scales[8 + j % 4] |= static_cast<uint8_t>((v >> 4) << (2 * (j / 4)));
  }
  std::mt19937 rng(3);
  for (auto& v : b.qs) v = static_cast<uint8_t>(rng());
  for (auto& v : b.hmask) v = static_cast<uint8_t>(rng());
  auto y = Deq(GgmlType::kQ3_K, b, 256);
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, shift = 2 * ((e % 128) / 32), l = e % 32;
    const int low = (b.qs[32 * h + l] >> shift) & 3;
    const bool hbit = (b.hmask[l] >> (e / 32)) & 1;
    const int q = low - (hbit ? 0 : 4);
    EXPECT_EQ(y[e], 0.25f * want_scale[e / 16] * q) << e;
  }
}

TEST(QuantLayout, Q5_KHighBitsPerChunk) {
  BlockQ5_K b{};
  b.d = F32ToF16(1.0f);
  b.dmin = F32ToF16(1.0f);
  for (int j = 0; j < 4; ++j) b.scales[j] = 1;  // scales 1 for sub-blocks 0..3, 0 for 4..7; mins 0
  std::mt19937 rng(4);
  for (auto& v : b.qs) v = static_cast<uint8_t>(rng());
  for (auto& v : b.qh) v = static_cast<uint8_t>(rng());
  auto y = Deq(GgmlType::kQ5_K, b, 256);
  for (int e = 0; e < 256; ++e) {
    const int c = e / 64, l = e % 32;
    const uint8_t byte = b.qs[32 * c + l];
    const int low = (e % 64) < 32 ? (byte & 0xF) : (byte >> 4);
    const int high = (b.qh[l] >> (e / 32)) & 1;  // sub-block j uses bit j of qh[l]
    const float want = e < 128 ? static_cast<float>(low + 16 * high) : 0.0f;
    EXPECT_EQ(y[e], want) << e;
  }
}

TEST(QuantLayout, Q8_KAndBsums) {
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[i] = static_cast<float>(i % 17) - 8.0f;
  x[5] = -10.0f;  // the largest magnitude always maps to -127: d = -max / 127
  BlockQ8_K b;
  QuantizeRowGgml(GgmlType::kQ8_K, x.data(), 256, &b);
  EXPECT_EQ(b.qs[5], -127);
  EXPECT_FLOAT_EQ(b.d, 10.0f / 127.0f);
  EXPECT_EQ(b.qs[8], static_cast<int8_t>(ggml_detail::NearestInt(12.7f * 0.0f)));
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int l = 0; l < 16; ++l) sum += b.qs[16 * g + l];
    EXPECT_EQ(b.bsums[g], sum);
  }
}

TEST(QuantLayout, FloatFormats) {
  const uint16_t f16[4] = {0x3c00, 0xc000, 0x3555, 0x0001};  // 1, -2, ~1/3, smallest subnormal
  std::vector<float> y(4);
  DequantizeRowGgml(GgmlType::kF16, f16, 4, y.data());
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[2], 0.333251953125f);
  EXPECT_EQ(y[3], 5.9604644775390625e-8f);
  const uint16_t bf16[2] = {0x3f80, 0xc0a0};  // 1, -5
  DequantizeRowGgml(GgmlType::kBF16, bf16, 2, y.data());
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -5.0f);
}

TEST(QuantLayout, BadLengthAndUnsupportedTypeAreErrors) {
  std::vector<uint8_t> buf(1024);
  std::vector<float> out(300);
  EXPECT_THROW(DequantizeRowGgml(GgmlType::kQ4_0, buf.data(), 33, out.data()), Error);
  EXPECT_THROW(DequantizeRowGgml(GgmlType::kQ4_K, buf.data(), 128, out.data()), Error);
  EXPECT_THROW(DequantizeRowGgml(GgmlType::kIQ2_XXS, buf.data(), 256, out.data()), Error);
  EXPECT_THROW(ActivationTypeFor(GgmlType::kQ8_K), Error);
  EXPECT_EQ(ActivationTypeFor(GgmlType::kQ4_0), GgmlType::kQ8_0);
  EXPECT_EQ(ActivationTypeFor(GgmlType::kQ4_1), GgmlType::kQ8_1);
  EXPECT_EQ(ActivationTypeFor(GgmlType::kQ5_1), GgmlType::kQ8_1);
  EXPECT_EQ(ActivationTypeFor(GgmlType::kQ6_K), GgmlType::kQ8_K);
  EXPECT_EQ(ActivationTypeFor(GgmlType::kF16), GgmlType::kF16);
}

TEST(GgmlTypes, Geometry) {
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ4_K, 512), 288);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ8_0, 64), 68);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kF16, 7), 14);
  EXPECT_EQ(GgmlRowBytes(GgmlType::kQ6_K, 256), 210);
  EXPECT_THROW(GgmlRowBytes(GgmlType::kQ4_K, 64), Error);
  EXPECT_THROW(GgmlRowBytes(static_cast<GgmlType>(4), 32), Error);
  EXPECT_TRUE(IsKnownGgmlType(30));
  EXPECT_FALSE(IsKnownGgmlType(4));
  EXPECT_FALSE(IsKnownGgmlType(31));
  EXPECT_FALSE(IsKnownGgmlType(1000));
  EXPECT_EQ(GgmlTypeName(GgmlType::kQ5_K), "Q5_K");
  static_assert(GgmlBlockSize(GgmlType::kQ2_K) == 256 && GgmlTypeSize(GgmlType::kQ2_K) == 84);
}

}  // namespace
}  // namespace dseek::ref
