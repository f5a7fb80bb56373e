// Storage-type conversions: exhaustive round trips where the space is small.
#include <gtest/gtest.h>

#include <cmath>

#include "base/numeric.h"

namespace dseek {
namespace {

TEST(Numeric, Bf16RoundTripAndRounding) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = Bf16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(F32ToBf16(f), h);
  }
  EXPECT_EQ(F32ToBf16(1.00390625f), 0x3f80);  // halfway: ties to even (down)
  EXPECT_EQ(F32ToBf16(1.01171875f), 0x3f82);  // halfway: ties to even (up)
}

TEST(Numeric, F16RoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = F16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(F32ToF16(f), h) << std::hex << h;
  }
  EXPECT_EQ(F16ToF32(0x3c00), 1.0f);
  EXPECT_EQ(F16ToF32(0x0001), std::ldexp(1.0f, -24));
}

TEST(Numeric, Fp8E4M3Values) {
  EXPECT_EQ(Fp8E4M3ToF32(0x7e), 448.0f);
  EXPECT_EQ(Fp8E4M3ToF32(0xfe), -448.0f);
  EXPECT_EQ(Fp8E4M3ToF32(0x38), 1.0f);
  EXPECT_EQ(Fp8E4M3ToF32(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(Fp8E4M3ToF32(0x08), std::ldexp(1.0f, -6));
  EXPECT_TRUE(std::isnan(Fp8E4M3ToF32(0x7f)));
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7f) == 0x7f) continue;
    float f = Fp8E4M3ToF32(static_cast<uint8_t>(c));
    if (c == 0x80) continue;  // -0 encodes back as -0 (0x80): checked below
    EXPECT_EQ(F32ToFp8E4M3(f), c) << c;
  }
  EXPECT_EQ(F32ToFp8E4M3(-0.0f), 0x80);
  EXPECT_EQ(F32ToFp8E4M3(1000.0f), 0x7e);  // saturates
  EXPECT_EQ(F32ToFp8E4M3(1.0625f), 0x38);  // halfway between 1 and 1.125: ties to even
  EXPECT_EQ(F32ToFp8E4M3(1.1875f), 0x3a);  // halfway between 1.125 and 1.25: to even (1.25)
}

}  // namespace
}  // namespace dseek
