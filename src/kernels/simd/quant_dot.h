// Integer dot products of ggml block-quantized weight rows with activations
// quantized to 8 bits (Q8_0 / Q8_K), the way ggml's CPU backend multiplies
// GGUF weights: quantize each activation row once, then one integer dot per
// weight row and token. Scalar twins: ref::QuantizeRowGgml and
// ref::VecDotQuantized (kernels/ref/quant_ref.h).
//
// Exactness: the activation quantizers are bit-exact with the reference; the
// dots are exact in their integer part and differ from the reference only in
// the order the per-block float products are summed (float rounding).
//
// Dispatch: hand-written x86 kernels (AVX2, and AVX-512 VNNI at 256 bits,
// compiled in their own translation units with the matching -m flags) chosen
// once from cpuid; the scalar reference elsewhere. Stateless apart from the
// test-only override; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/ggml_types.h"

namespace dseek::simd {

enum class QuantIsa : int { kScalar = 0, kAvx2 = 1, kAvx512Vnni = 2 };

// Every ISA compiled in and supported by this CPU, best last.
std::vector<QuantIsa> SupportedQuantIsas();
QuantIsa ActiveQuantIsa();
const char* QuantIsaName(QuantIsa isa);
// Forces one ISA (tests only); ForceQuantIsaForTest(std::nullopt-like -1) via
// ResetQuantIsaForTest restores the CPU's best.
void ForceQuantIsaForTest(QuantIsa isa);
void ResetQuantIsaForTest();

// True when weight rows of type `w` have a fused integer dot here
// (Q8_0, Q4_0, Q4_K, Q6_K); other types keep the widen-to-float path.
bool HasQuantDot(GgmlType w);
// The activation format for `w` (ref::ActivationTypeFor): Q8_0 or Q8_K.
GgmlType QuantActivationType(GgmlType w);
// One activation row of n floats into `act` blocks (Q8_0 or Q8_K);
// GgmlRowBytes(act, n) bytes are written. Bit-exact with ref::QuantizeRowGgml.
void QuantizeActivationRow(GgmlType act, const float* x, int64_t n, void* out);
// Dot of one weight row (n elements of type w) with one quantized activation row.
float QuantDot(GgmlType w, const void* w_row, const void* act, int64_t n);
// y[t * y_stride] = dot(w_row, act + t * act_stride) for t < n_tok: the
// weight blocks are unpacked once for up to four tokens (prefill).
void QuantDotTokens(GgmlType w, const void* w_row, const void* act, size_t act_stride, size_t n_tok, int64_t n,
                    float* y, size_t y_stride);

// QuantDotTokens for n_rows consecutive weight rows (row_bytes apart):
// y[t * y_stride + r] for r < n_rows; the kernel is chosen once, not per row.
void QuantDotRows(GgmlType w, const void* rows, size_t row_bytes, size_t n_rows, const void* act, size_t act_stride,
                  size_t n_tok, int64_t n, float* y, size_t y_stride);

}  // namespace dseek::simd
