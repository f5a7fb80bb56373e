#include "base/numeric.h"

namespace dseek {

uint8_t F32ToFp8E4M3(float f) {
  if (std::isnan(f)) return 0x7f;
  uint8_t sign = std::signbit(f) ? 0x80 : 0x00;
  float a = std::fabs(f);
  if (a >= 448.0f) return sign | 0x7e;
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1): leading bit is 2^(e-1)
  int exp = e - 1;
  if (exp < -6) exp = -6;  // subnormal range shares the step of 2^-6 numbers
  float step = std::ldexp(1.0f, exp - 3);
  float q = std::nearbyint(a / step);  // default rounding: nearest even
  if (q == 0.0f) return sign;
  if (q >= 16.0f) {  // rounded up into the next binade
    ++exp;
    q = 8.0f;
  }
  int qi = static_cast<int>(q);
  if (qi < 8) return sign | static_cast<uint8_t>(qi);  // subnormal (exp == -6)
  if (exp > 8) return sign | 0x7e;
  uint8_t code = static_cast<uint8_t>(((exp + 7) << 3) | (qi - 8));
  if (code > 0x7e) code = 0x7e;
  return sign | code;
}

}  // namespace dseek
