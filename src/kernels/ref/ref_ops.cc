#include "kernels/ref/ref_ops.h"

#include "base/error.h"

#include <cmath>
#include <cstring>

#include "base/numeric.h"
#include "kernels/ref/quant_ref.h"

namespace dseek::ref {

void DequantizeRow(const Matrix& w, int64_t r, float* out) {
  if (w.packed8) throw Error("", "matrix", "ref::DequantizeRow reads plain rows only (use simd::WidenRow)");
  const uint8_t* p = w.row(r);
  if (w.dtype == DType::kGgml) {
    DequantizeRowGgml(w.ggml, p, w.cols, out);
    return;
  }
  for (int64_t c = 0; c < w.cols; ++c) {
    switch (w.dtype) {
      case DType::kF32: std::memcpy(&out[c], p + 4 * c, 4); break;
      case DType::kBF16: {
        uint16_t h;
        std::memcpy(&h, p + 2 * c, 2);
        out[c] = Bf16ToF32(h);
        break;
      }
      case DType::kF16: {
        uint16_t h;
        std::memcpy(&h, p + 2 * c, 2);
        out[c] = F16ToF32(h);
        break;
      }
      case DType::kF8E4M3:
        out[c] = Fp8E4M3ToF32(p[c]) * w.row_scales(r)[c / kFp8Block];
        break;
      default: out[c] = 0.0f; break;
    }
  }
}

float Dot(const float* a, const float* b, size_t n) {
  float s = 0.0f;
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void MatMul(const Matrix& w, const float* x, size_t n_tokens, float* y) {
  float* row = new float[w.cols];
  for (int64_t r = 0; r < w.rows; ++r) {
    DequantizeRow(w, r, row);
    for (size_t t = 0; t < n_tokens; ++t) y[t * w.rows + r] = Dot(row, x + t * w.cols, w.cols);
  }
  delete[] row;
}

void RmsNorm(const float* x, const float* weight, size_t n, float eps, float* out) {
  float ss = 0.0f;
  for (size_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float inv = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (size_t i = 0; i < n; ++i) out[i] = x[i] * inv * weight[i];
}

void Softmax(float* x, size_t n) {
  float m = -INFINITY;
  for (size_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  float s = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    s += x[i];
  }
  for (size_t i = 0; i < n; ++i) x[i] /= s;
}

void SiluMul(const float* gate, const float* up, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void RopeInterleaved(float* x, const float* cos, const float* sin, size_t n_pairs) {
  for (size_t i = 0; i < n_pairs; ++i) {
    float a = x[2 * i], b = x[2 * i + 1];
    x[2 * i] = a * cos[i] - b * sin[i];
    x[2 * i + 1] = a * sin[i] + b * cos[i];
  }
}

void RopeHalves(float* x, const float* cos, const float* sin, size_t n_pairs) {
  for (size_t i = 0; i < n_pairs; ++i) {
    float a = x[i], b = x[i + n_pairs];
    x[i] = a * cos[i] - b * sin[i];
    x[i + n_pairs] = a * sin[i] + b * cos[i];
  }
}

void AddBias(float* x, const float* bias, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] += bias[i];
}

void WeightedRowSums(const float* w, size_t w_stride, size_t n_heads, const float* rows, size_t row_stride,
                     size_t n_rows, size_t cols, float* out, size_t out_stride) {
  for (size_t h = 0; h < n_heads; ++h)
    for (size_t j = 0; j < cols; ++j) {
      double a = 0.0;
      for (size_t p = 0; p < n_rows; ++p) a += static_cast<double>(w[h * w_stride + p]) * rows[p * row_stride + j];
      out[h * out_stride + j] += static_cast<float>(a);
    }
}

}  // namespace dseek::ref
