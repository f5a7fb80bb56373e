// Plain scalar reference of every kernel: the definition of correct that each
// SIMD or backend path is tested against. Slow on purpose; no dispatch, no
// threads. Knows nothing of any model architecture.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/tensor.h"

namespace dseek::ref {

// Row r of a weight matrix as float32 (FP8 rows multiplied by their block scales).
void DequantizeRow(const Matrix& w, int64_t r, float* out);
float Dot(const float* a, const float* b, size_t n);
// y[t][r] = sum_c w[r][c] * x[t][c]; x: [n_tokens, w.cols], y: [n_tokens, w.rows].
void MatMul(const Matrix& w, const float* x, size_t n_tokens, float* y);
// out = x / sqrt(mean(x^2) + eps) * weight.
void RmsNorm(const float* x, const float* weight, size_t n, float eps, float* out);
// In-place softmax over n values (max-subtracted).
void Softmax(float* x, size_t n);
// out = silu(gate) * up.
void SiluMul(const float* gate, const float* up, size_t n, float* out);
// Rotates interleaved pairs (x[2i], x[2i+1]) by angles with the given cos/sin
// (n_pairs entries each), in place.
void RopeInterleaved(float* x, const float* cos, const float* sin, size_t n_pairs);
// Rotates split halves (x[i], x[i + n_pairs]) in place: HF's rotate_half
// (GPT-NeoX style), used by Llama and Qwen2 checkpoints.
void RopeHalves(float* x, const float* cos, const float* sin, size_t n_pairs);
// out[h * out_stride + j] += sum_p w[h * w_stride + p] * rows[p * row_stride + j].
void WeightedRowSums(const float* w, size_t w_stride, size_t n_heads, const float* rows, size_t row_stride,
                     size_t n_rows, size_t cols, float* out, size_t out_stride);
// out[i] += bias[i]
void AddBias(float* x, const float* bias, size_t n);

}  // namespace dseek::ref
