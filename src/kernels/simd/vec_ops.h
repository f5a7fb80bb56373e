// Vector kernels with runtime CPU dispatch (Highway: one dynamic dispatch per
// entry point; the best target the CPU supports is chosen at first call).
// Each has a scalar twin in kernels/ref and a test comparing them on every
// compiled target. Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dseek::simd {

float DotF32(const float* a, const float* b, size_t n);
// y += a * x
void Axpy(float a, const float* x, float* y, size_t n);
// Storage types widened to float32.
void DecodeBf16(const uint16_t* in, size_t n, float* out);
void DecodeF16(const uint16_t* in, size_t n, float* out);
// out[i] = fp8_e4m3(in[i]) * scale; exact same rounding as the reference.
void DecodeFp8(const uint8_t* in, size_t n, float scale, float* out);

}  // namespace dseek::simd

#include "tensor/tensor.h"

namespace dseek::simd {

// Row r of a weight matrix widened to float32 (FP8 times its block scales).
void WidenRow(const Matrix& w, int64_t r, float* out);

// Fused row dots for decode (one or two tokens): the weight row is widened
// in registers, never stored. DotFp8 takes the row's block scales (one per
// 128 columns) and applies each once per block, so it rounds differently
// from widen-then-dot (within float error, not bit for bit).
float DotFp8(const uint8_t* w, const float* scales, const float* x, size_t cols);
float DotBf16(const uint16_t* w, const float* x, size_t cols);
// y[t * y_stride] = w . x[t * x_stride] for t < n_tok (prefill: one widened
// weight row against many tokens, four per pass).
void DotRowTokens(const float* w, const float* x, size_t x_stride, size_t n_tok, size_t cols, float* y,
                  size_t y_stride);
// out = silu(gate) * up (out may alias gate). Scalar twin: ref::SiluMul.
void SiluMul(const float* gate, const float* up, size_t n, float* out);
// In-place softmax over n values (max-subtracted). Scalar twin: ref::Softmax.
void Softmax(float* x, size_t n);
// out[h * out_stride + j] += sum over p < n_rows of w[h * w_stride + p] *
// rows[p * row_stride + j], for h < n_heads and j < cols: attention's
// probability-weighted sum of cache rows for several heads at once, each
// row read once. Scalar twin: ref::WeightedRowSums.
void WeightedRowSums(const float* w, size_t w_stride, size_t n_heads, const float* rows, size_t row_stride,
                     size_t n_rows, size_t cols, float* out, size_t out_stride);
// y[t * y_stride + r] = w[r] . x[t] for n_rows widened rows (stride cols) and
// n_tok tokens (stride cols): register-tiled 4 rows x 4 tokens (prefill).
void MatMulBlock(const float* w, size_t n_rows, const float* x, size_t n_tok, size_t cols, float* y,
                 size_t y_stride);
// MatMulBlock with row strides: w rows w_stride apart, x rows x_stride apart
// (views into wider rows, e.g. one KV head of a cache row).
void MatMulBlockStrided(const float* w, size_t w_stride, size_t n_rows, const float* x, size_t x_stride, size_t n_tok,
                        size_t cols, float* y, size_t y_stride);

// Name of the target the dispatcher picks on this CPU (for bench/info).
std::string ActiveTargetName();
// Every target compiled in and supported here (tests iterate over them).
std::vector<int64_t> CompiledTargets();
// Forces dispatch to one target (0 restores the default); for tests only.
void ForceTargetForTest(int64_t target);
std::string TargetName(int64_t target);

}  // namespace dseek::simd
