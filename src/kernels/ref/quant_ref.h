// Scalar reference of ggml's quantized block formats: dequantize, the
// reference quantizers (ggml's quantize_row_*_ref) and the dot products ggml's
// CPU backend computes (weights in a block format, activations quantized to
// Q8_0 / Q8_1 / Q8_K and multiplied in integers). Bit-exact with ggml's
// layouts and, for the integer dots, with ggml's generic C code including its
// float summation order. This is the definition of correct the SIMD kernels
// are tested against: slow on purpose, no dispatch, no threads, no state.
//
// Rows are byte arrays; no alignment is assumed (blocks are memcpy'd into the
// structs below). n is the number of elements and must be a multiple of the
// type's block size; a wrong n or an unsupported type is a dseek::Error (the
// callers validate shapes when loading, so this only fires on a bug).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "base/ggml_types.h"
#include "base/numeric.h"

namespace dseek::ref {

// ---- Block layouts (ggml-common.h). f16 fields are raw IEEE half bits.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];  // element j in the low nibble of qs[j], element j+16 in the high nibble
};
struct BlockQ4_1 {
  uint16_t d, m;  // x = d * q + m
  uint8_t qs[16];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // bit j (little-endian u32) = 5th bit of element j
  uint8_t qs[16];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ8_1 {
  uint16_t d, s;  // s = d * sum(qs)
  int8_t qs[32];
};
struct BlockQ2_K {
  uint8_t scales[16];  // low nibble scale, high nibble min, per 16 elements
  uint8_t qs[64];
  uint16_t d, dmin;
};
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];  // 16 6-bit scales, offset by 32
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];  // 8 6-bit scales + 8 6-bit mins (GetScaleMinK4)
  uint8_t qs[128];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];  // sums of qs in groups of 16
};
static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);

// ---- Type-generic entry points.

// True for F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K..Q6_K, Q8_K.
bool CanDequantizeGgml(GgmlType t);
void DequantizeRowGgml(GgmlType t, const void* row, int64_t n, float* out);

// True for F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K..Q6_K, Q8_K.
bool CanQuantizeGgml(GgmlType t);
// ggml's reference quantizer (quantize_row_*_ref): deterministic, what model
// files are made with. `out` holds GgmlRowBytes(t, n) bytes.
void QuantizeRowGgml(GgmlType t, const float* x, int64_t n, void* out);

// The type ggml's CPU backend quantizes activations to before a dot with a
// weight row of `weight_type` (its vec_dot_type): Q8_0 for Q4_0/Q5_0/Q8_0,
// Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants, F16 for F16, BF16 for BF16, F32
// for F32. Throws for types without a dot product here.
GgmlType ActivationTypeFor(GgmlType weight_type);

// Reference dot: dequantize the weight row, then a float dot (double
// accumulator). The ideal the quantized path approximates.
float VecDotGgml(GgmlType weight_type, const void* weight_row, const float* x, int64_t n);

// ggml's dot: `act_row_q` is the activation row already in
// ActivationTypeFor(weight_type) (see QuantizeRowGgml); block products in
// integers, scaled and summed in float exactly as ggml's generic code does.
float VecDotQuantized(GgmlType weight_type, const void* weight_row, const void* act_row_q, int64_t n);

// ---- Per-format functions (what the generic entry points dispatch to).
// Dequantize: n elements from blocks at x. Quantize: n elements into blocks at y.

void DequantizeQ4_0(const void* x, int64_t n, float* y);
void DequantizeQ4_1(const void* x, int64_t n, float* y);
void DequantizeQ5_0(const void* x, int64_t n, float* y);
void DequantizeQ5_1(const void* x, int64_t n, float* y);
void DequantizeQ8_0(const void* x, int64_t n, float* y);
void DequantizeQ8_1(const void* x, int64_t n, float* y);
void DequantizeQ2_K(const void* x, int64_t n, float* y);
void DequantizeQ3_K(const void* x, int64_t n, float* y);
void DequantizeQ4_K(const void* x, int64_t n, float* y);
void DequantizeQ5_K(const void* x, int64_t n, float* y);
void DequantizeQ6_K(const void* x, int64_t n, float* y);
void DequantizeQ8_K(const void* x, int64_t n, float* y);

void QuantizeQ4_0(const float* x, int64_t n, void* y);
void QuantizeQ4_1(const float* x, int64_t n, void* y);
void QuantizeQ5_0(const float* x, int64_t n, void* y);
void QuantizeQ5_1(const float* x, int64_t n, void* y);
void QuantizeQ8_0(const float* x, int64_t n, void* y);
void QuantizeQ8_1(const float* x, int64_t n, void* y);
void QuantizeQ2_K(const float* x, int64_t n, void* y);
void QuantizeQ3_K(const float* x, int64_t n, void* y);
void QuantizeQ4_K(const float* x, int64_t n, void* y);
void QuantizeQ5_K(const float* x, int64_t n, void* y);
void QuantizeQ6_K(const float* x, int64_t n, void* y);
void QuantizeQ8_K(const float* x, int64_t n, void* y);

// Integer dots: weight blocks w, activation blocks a (Q8_0 / Q8_1 / Q8_K).
float DotQ4_0Q8_0(const void* w, const void* a, int64_t n);
float DotQ4_1Q8_1(const void* w, const void* a, int64_t n);
float DotQ5_0Q8_0(const void* w, const void* a, int64_t n);
float DotQ5_1Q8_1(const void* w, const void* a, int64_t n);
float DotQ8_0Q8_0(const void* w, const void* a, int64_t n);
float DotQ2_KQ8_K(const void* w, const void* a, int64_t n);
float DotQ3_KQ8_K(const void* w, const void* a, int64_t n);
float DotQ4_KQ8_K(const void* w, const void* a, int64_t n);
float DotQ5_KQ8_K(const void* w, const void* a, int64_t n);
float DotQ6_KQ8_K(const void* w, const void* a, int64_t n);

// Q4_K / Q5_K: the 6-bit scale and min of sub-block j (0..7) from the packed
// 12 bytes (ggml's get_scale_min_k4): j < 4 in the low 6 bits of bytes j and
// j+4; j >= 4 in the nibbles of byte j+4 plus the top 2 bits of bytes j-4 / j.
inline void GetScaleMinK4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Q3_K: the 16 scales (6-bit, still offset by 32) from the packed 12 bytes.
void UnpackQ3KScales(const uint8_t packed[12], int8_t out[16]);

namespace ggml_detail {
// ggml's nearest_int: round half to even via the 1.5*2^23 trick, valid for
// |f| <= 2^22. The quantizers depend on its exact tie behaviour.
inline int NearestInt(float f) {
  float v = f + 12582912.f;
  int32_t i;
  std::memcpy(&i, &v, 4);
  return (i & 0x007fffff) - 0x00400000;
}
inline float H(uint16_t h) { return F16ToF32(h); }
// Throws dseek::Error unless n >= 0 and n % block == 0; returns n / block.
int64_t Blocks(int64_t n, int64_t block, const char* type);
}  // namespace ggml_detail

}  // namespace dseek::ref
