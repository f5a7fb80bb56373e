// Dispatch of the generic quant entry points, plus the plain float formats
// (F32, F16, BF16). The block formats live in quant_legacy.cc (32-element
// blocks), quant_kquants.cc and quant_kquants_quantize.cc (256-element
// super-blocks).
#include "kernels/ref/quant_ref.h"

#include <algorithm>
#include <string>

#include "base/error.h"

namespace dseek::ref {
namespace ggml_detail {

int64_t Blocks(int64_t n, int64_t block, const char* type) {
  if (n < 0 || n % block != 0) {
    throw Error("", type, "row length " + std::to_string(n) + " is not a multiple of the block size " +
                              std::to_string(block));
  }
  return n / block;
}

}  // namespace ggml_detail

namespace {

using DequantFn = void (*)(const void*, int64_t, float*);
using QuantFn = void (*)(const float*, int64_t, void*);
using DotFn = float (*)(const void*, const void*, int64_t);

void DequantizeF32(const void* x, int64_t n, float* y) { std::memcpy(y, x, static_cast<size_t>(n) * 4); }
void DequantizeF16(const void* x, int64_t n, float* y) {
  const uint8_t* p = static_cast<const uint8_t*>(x);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    y[i] = F16ToF32(h);
  }
}
void DequantizeBF16(const void* x, int64_t n, float* y) {
  const uint8_t* p = static_cast<const uint8_t*>(x);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    y[i] = Bf16ToF32(h);
  }
}

void QuantizeF32(const float* x, int64_t n, void* y) { std::memcpy(y, x, static_cast<size_t>(n) * 4); }
void QuantizeF16(const float* x, int64_t n, void* y) {
  uint8_t* p = static_cast<uint8_t*>(y);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = F32ToF16(x[i]);
    std::memcpy(p + 2 * i, &h, 2);
  }
}
void QuantizeBF16(const float* x, int64_t n, void* y) {
  uint8_t* p = static_cast<uint8_t*>(y);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = F32ToBf16(x[i]);
    std::memcpy(p + 2 * i, &h, 2);
  }
}

// ggml's float dots accumulate each product (rounded to float) in double.
template <DequantFn kLoad>
float FloatDot(const void* w, const void* a, int64_t n) {
  constexpr int64_t kChunk = 256;
  float wx[kChunk], ax[kChunk];
  double sum = 0;
  const int64_t elem = kLoad == DequantizeF32 ? 4 : 2;
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t len = std::min(kChunk, n - i);
    kLoad(static_cast<const uint8_t*>(w) + i * elem, len, wx);
    kLoad(static_cast<const uint8_t*>(a) + i * elem, len, ax);
    for (int64_t j = 0; j < len; ++j) sum += static_cast<double>(wx[j] * ax[j]);
  }
  return static_cast<float>(sum);
}

struct Entry {
  DequantFn dequant;
  QuantFn quant;
  DotFn dot;         // against ActivationTypeFor(type); null if none
  GgmlType act_type;
};

const Entry* Lookup(GgmlType t) {
  static constexpr Entry kF32{DequantizeF32, QuantizeF32, FloatDot<DequantizeF32>, GgmlType::kF32};
  static constexpr Entry kF16{DequantizeF16, QuantizeF16, FloatDot<DequantizeF16>, GgmlType::kF16};
  static constexpr Entry kBF16{DequantizeBF16, QuantizeBF16, FloatDot<DequantizeBF16>, GgmlType::kBF16};
  static constexpr Entry kQ4_0{DequantizeQ4_0, QuantizeQ4_0, DotQ4_0Q8_0, GgmlType::kQ8_0};
  static constexpr Entry kQ4_1{DequantizeQ4_1, QuantizeQ4_1, DotQ4_1Q8_1, GgmlType::kQ8_1};
  static constexpr Entry kQ5_0{DequantizeQ5_0, QuantizeQ5_0, DotQ5_0Q8_0, GgmlType::kQ8_0};
  static constexpr Entry kQ5_1{DequantizeQ5_1, QuantizeQ5_1, DotQ5_1Q8_1, GgmlType::kQ8_1};
  static constexpr Entry kQ8_0{DequantizeQ8_0, QuantizeQ8_0, DotQ8_0Q8_0, GgmlType::kQ8_0};
  static constexpr Entry kQ8_1{DequantizeQ8_1, QuantizeQ8_1, nullptr, GgmlType::kQ8_1};
  static constexpr Entry kQ2_K{DequantizeQ2_K, QuantizeQ2_K, DotQ2_KQ8_K, GgmlType::kQ8_K};
  static constexpr Entry kQ3_K{DequantizeQ3_K, QuantizeQ3_K, DotQ3_KQ8_K, GgmlType::kQ8_K};
  static constexpr Entry kQ4_K{DequantizeQ4_K, QuantizeQ4_K, DotQ4_KQ8_K, GgmlType::kQ8_K};
  static constexpr Entry kQ5_K{DequantizeQ5_K, QuantizeQ5_K, DotQ5_KQ8_K, GgmlType::kQ8_K};
  static constexpr Entry kQ6_K{DequantizeQ6_K, QuantizeQ6_K, DotQ6_KQ8_K, GgmlType::kQ8_K};
  static constexpr Entry kQ8_K{DequantizeQ8_K, QuantizeQ8_K, nullptr, GgmlType::kQ8_K};
  switch (t) {
    case GgmlType::kF32: return &kF32;
    case GgmlType::kF16: return &kF16;
    case GgmlType::kBF16: return &kBF16;
    case GgmlType::kQ4_0: return &kQ4_0;
    case GgmlType::kQ4_1: return &kQ4_1;
    case GgmlType::kQ5_0: return &kQ5_0;
    case GgmlType::kQ5_1: return &kQ5_1;
    case GgmlType::kQ8_0: return &kQ8_0;
    case GgmlType::kQ8_1: return &kQ8_1;
    case GgmlType::kQ2_K: return &kQ2_K;
    case GgmlType::kQ3_K: return &kQ3_K;
    case GgmlType::kQ4_K: return &kQ4_K;
    case GgmlType::kQ5_K: return &kQ5_K;
    case GgmlType::kQ6_K: return &kQ6_K;
    case GgmlType::kQ8_K: return &kQ8_K;
    default: return nullptr;
  }
}

const Entry& Require(GgmlType t, const char* what) {
  const Entry* e = Lookup(t);
  if (!e) throw Error("", std::string(GgmlTypeName(t)), std::string("no reference ") + what + " for this ggml type");
  return *e;
}

void CheckLength(GgmlType t, int64_t n) {
  ggml_detail::Blocks(n, GgmlBlockSize(t), std::string(GgmlTypeName(t)).c_str());
}

}  // namespace

bool CanDequantizeGgml(GgmlType t) { return Lookup(t) != nullptr; }
bool CanQuantizeGgml(GgmlType t) { return Lookup(t) != nullptr; }

void DequantizeRowGgml(GgmlType t, const void* row, int64_t n, float* out) {
  const Entry& e = Require(t, "dequantize");
  CheckLength(t, n);
  e.dequant(row, n, out);
}

void QuantizeRowGgml(GgmlType t, const float* x, int64_t n, void* out) {
  const Entry& e = Require(t, "quantize");
  CheckLength(t, n);
  e.quant(x, n, out);
}

GgmlType ActivationTypeFor(GgmlType weight_type) {
  const Entry& e = Require(weight_type, "dot product");
  if (!e.dot) throw Error("", std::string(GgmlTypeName(weight_type)), "not a weight type (activation format)");
  return e.act_type;
}

float VecDotGgml(GgmlType weight_type, const void* weight_row, const float* x, int64_t n) {
  const Entry& e = Require(weight_type, "dequantize");
  CheckLength(weight_type, n);
  constexpr int64_t kChunk = 256;  // every block size divides it
  const int64_t bs = GgmlBlockSize(weight_type);
  const int64_t bytes_per_chunk = kChunk / bs * GgmlTypeSize(weight_type);
  float w[kChunk];
  double sum = 0;
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t len = std::min(kChunk, n - i);
    e.dequant(static_cast<const uint8_t*>(weight_row) + i / kChunk * bytes_per_chunk, len, w);
    for (int64_t j = 0; j < len; ++j) sum += static_cast<double>(w[j]) * x[i + j];
  }
  return static_cast<float>(sum);
}

float VecDotQuantized(GgmlType weight_type, const void* weight_row, const void* act_row_q, int64_t n) {
  const Entry& e = Require(weight_type, "dot product");
  if (!e.dot) throw Error("", std::string(GgmlTypeName(weight_type)), "not a weight type (activation format)");
  CheckLength(weight_type, n);
  return e.dot(weight_row, act_row_q, n);
}

}  // namespace dseek::ref
