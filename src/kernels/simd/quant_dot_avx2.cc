// The x86 quant-dot kernels built for AVX2 + FMA + F16C; see quant_dot_x86.inc.
// Only reached after quant_dot.cc has checked the CPU.
#include "kernels/simd/quant_dot_internal.h"

#if defined(DSEEK_QD_X86)
#define DSEEK_QD_VNNI 0
#include "kernels/simd/quant_dot_x86.inc"

namespace dseek::simd::quant_internal {
const Kernels* KernelsAvx2() {
  static constexpr Kernels k{QuantizeQ8_0, QuantizeQ8_K, DotQ8_0, DotQ4_0, DotQ4_K, DotQ6_K, PackedDotQ4_0, PackedDotQ8_0};
  return &k;
}
}  // namespace dseek::simd::quant_internal
#else
namespace dseek::simd::quant_internal {
const Kernels* KernelsAvx2() { return nullptr; }
}  // namespace dseek::simd::quant_internal
#endif
