// Function tables the per-ISA translation units export to quant_dot.cc. Not
// part of the public kernel API.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dseek::simd::quant_internal {

using QuantizeFn = void (*)(const float* x, int64_t n, void* out);
// y[t * y_stride] = dot(w, a + t * a_stride), t < n_tok.
using DotTokensFn = void (*)(const void* w, const uint8_t* a, size_t a_stride, size_t n_tok, int64_t n, float* y,
                             size_t y_stride);

// Packed groups of 8 rows (quant_packed.h): y[t * y_stride + i], i < 8.
using PackedDotFn = void (*)(const uint8_t* group, int64_t n, const uint8_t* a, size_t a_stride, size_t n_tok,
                             float* y, size_t y_stride);

struct Kernels {
  QuantizeFn quantize_q8_0;
  QuantizeFn quantize_q8_k;
  DotTokensFn dot_q8_0;
  DotTokensFn dot_q4_0;
  DotTokensFn dot_q4_k;
  DotTokensFn dot_q6_k;
  PackedDotFn packed_q4_0;
  PackedDotFn packed_q8_0;
};

// The table for ActiveQuantIsa() (null: scalar). Defined in quant_dot.cc.
const Kernels* ActiveKernels();

// Null when the build has no such kernels (non-x86, or the compiler lacks the flags).
const Kernels* KernelsAvx2();
const Kernels* KernelsAvx512Vnni();

}  // namespace dseek::simd::quant_internal
