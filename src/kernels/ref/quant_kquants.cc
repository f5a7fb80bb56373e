// ggml's K-quant super-blocks of 256 (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) and the
// Q8_K activation format: dequantize and the integer dots against Q8_K.
// Ported from ggml-quants.c (dequantize_row_*) and ggml-cpu/quants.c
// (ggml_vec_dot_*_q8_K_generic). The dots keep ggml's 8 float lanes of
// partial sums (sums[l] += d * aux32[l]) because the summation order changes
// the float result and the SIMD kernels are compared against this code.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/ref/quant_ref.h"

namespace dseek::ref {
namespace {

using ggml_detail::Blocks;
using ggml_detail::H;
constexpr int kQK = 256;

template <typename B>
B LoadBlock(const void* base, int64_t i) {
  B b;
  std::memcpy(&b, static_cast<const uint8_t*>(base) + i * static_cast<int64_t>(sizeof(B)), sizeof(B));
  return b;
}

// Unpacks the 8 scales and 8 mins of a Q4_K / Q5_K block.
void UnpackScalesMins(const uint8_t packed[12], uint8_t sc[8], uint8_t mn[8]) {
  for (int j = 0; j < 8; ++j) GetScaleMinK4(j, packed, &sc[j], &mn[j]);
}

// Accumulates d * sum_j(scale_j * <q8, a> over sub-blocks of `sub` elements)
// the way ggml's generic K-quant dots do: int32 partial sums in 8 lanes.
template <typename ScaleFn>
void AccumulateLanes(const int8_t* q8, const int8_t* a, int sub, ScaleFn scale_of, float d, float sums[8]) {
  int32_t aux32[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int j = 0; j < kQK / sub; ++j) {
    const int32_t scale = scale_of(j);
    for (int k = 0; k < sub; k += 8) {
      for (int l = 0; l < 8; ++l) aux32[l] += scale * (q8[l] * a[l]);
      q8 += 8;
      a += 8;
    }
  }
  for (int l = 0; l < 8; ++l) sums[l] += d * aux32[l];
}

}  // namespace

void UnpackQ3KScales(const uint8_t packed[12], int8_t out[16]) {
  // Low 4 bits: bytes 0..7 (low nibble = scales 0..7, high nibble = 8..15);
  // high 2 bits: bytes 8..11, scale j at byte 8 + j%4, bits 2*(j/4).
  for (int j = 0; j < 16; ++j) {
    const int lo = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
    const int hi = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = static_cast<int8_t>(lo | (hi << 4));
  }
}

// ---------------------------------------------------------------- dequantize

void DequantizeQ2_K(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, kQK, "Q2_K");
  for (int64_t i = 0; i < nb; ++i) {
    const auto b = LoadBlock<BlockQ2_K>(x, i);
    const float d = H(b.d), min = H(b.dmin);
    const uint8_t* q = b.qs;
    int is = 0;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part) {
          const uint8_t sc = b.scales[is++];
          const float dl = d * (sc & 0xF), ml = min * (sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16 * part] >> shift) & 3) - ml;
        }
      }
    }
  }
}

void DequantizeQ3_K(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, kQK, "Q3_K");
  for (int64_t i = 0; i < nb; ++i) {
    const auto b = LoadBlock<BlockQ3_K>(x, i);
    const float d_all = H(b.d);
    int8_t scales[16];
    UnpackQ3KScales(b.scales, scales);
    const uint8_t* q = b.qs;
    uint8_t m = 1;
    int is = 0;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (int part = 0; part < 2; ++part) {
          const float dl = d_all * (scales[is++] - 32);
          for (int l = 16 * part; l < 16 * part + 16; ++l) {
            // A clear high bit means the 2-bit value is offset by -4.
            *y++ = dl * (((q[l] >> shift) & 3) - ((b.hmask[l] & m) ? 0 : 4));
          }
        }
      }
    }
  }
}

void DequantizeQ4_K(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, kQK, "Q4_K");
  for (int64_t i = 0; i < nb; ++i) {
    const auto b = LoadBlock<BlockQ4_K>(x, i);
    const float d = H(b.d), min = H(b.dmin);
    uint8_t sc[8], mn[8];
    UnpackScalesMins(b.scales, sc, mn);
    const uint8_t* q = b.qs;
    for (int j = 0; j < 4; ++j, q += 32) {
      const float d1 = d * sc[2 * j], m1 = min * mn[2 * j];
      const float d2 = d * sc[2 * j + 1], m2 = min * mn[2 * j + 1];
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void DequantizeQ5_K(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, kQK, "Q5_K");
  for (int64_t i = 0; i < nb; ++i) {
    const auto b = LoadBlock<BlockQ5_K>(x, i);
    const float d = H(b.d), min = H(b.dmin);
    uint8_t sc[8], mn[8];
    UnpackScalesMins(b.scales, sc, mn);
    const uint8_t* ql = b.qs;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < 4; ++j, ql += 32, u1 <<= 2, u2 <<= 2) {
      const float d1 = d * sc[2 * j], m1 = min * mn[2 * j];
      const float d2 = d * sc[2 * j + 1], m2 = min * mn[2 * j + 1];
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (b.qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (b.qh[l] & u2 ? 16 : 0)) - m2;
    }
  }
}

void DequantizeQ6_K(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, kQK, "Q6_K");
  for (int64_t i = 0; i < nb; ++i) {
    const auto b = LoadBlock<BlockQ6_K>(x, i);
    const float d = H(b.d);
    const uint8_t* ql = b.ql;
    const uint8_t* qh = b.qh;
    const int8_t* sc = b.scales;
    for (int half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

void DequantizeQ8_K(const void* x, int64_t n, float* y) {
  const int64_t nb = Blocks(n, kQK, "Q8_K");
  for (int64_t i = 0; i < nb; ++i) {
    const auto b = LoadBlock<BlockQ8_K>(x, i);
    for (int j = 0; j < kQK; ++j) *y++ = b.d * b.qs[j];
  }
}

// Q8_K as ggml's quantize_row_q8_K_ref: the element of largest magnitude maps
// to -127 (not 127: the sign flip keeps the IQ kernels simple), d = 1/iscale.
void QuantizeQ8_K(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, kQK, "Q8_K");
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    BlockQ8_K b{};
    float max = 0, amax = 0;
    for (int j = 0; j < kQK; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    if (amax != 0) {
      const float iscale = -127.f / max;
      for (int j = 0; j < kQK; ++j) {
        b.qs[j] = static_cast<int8_t>(std::min(127, ggml_detail::NearestInt(iscale * x[j])));
      }
      for (int j = 0; j < kQK / 16; ++j) {
        int sum = 0;
        for (int l = 0; l < 16; ++l) sum += b.qs[j * 16 + l];
        b.bsums[j] = static_cast<int16_t>(sum);
      }
      b.d = 1 / iscale;
    }
    std::memcpy(static_cast<uint8_t*>(y) + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
  }
}

// ---------------------------------------------------------------- dots

float DotQ2_KQ8_K(const void* w, const void* a, int64_t n) {
  const int64_t nb = Blocks(n, kQK, "Q2_K");
  float sumf = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = LoadBlock<BlockQ2_K>(w, i);
    const auto y = LoadBlock<BlockQ8_K>(a, i);
    int summs = 0;
    for (int j = 0; j < 16; ++j) summs += y.bsums[j] * (x.scales[j] >> 4);
    const float dall = y.d * H(x.d);
    const float dmin = y.d * H(x.dmin);
    const uint8_t* q2 = x.qs;
    const int8_t* q8 = y.qs;
    int isum = 0, is = 0;
    for (int k = 0; k < 2; ++k, q2 += 32) {
      for (int shift = 0; shift < 8; shift += 2, q8 += 32) {
        int d = x.scales[is++] & 0xF;
        int isuml = 0;
        for (int l = 0; l < 16; ++l) isuml += q8[l] * ((q2[l] >> shift) & 3);
        isum += d * isuml;
        d = x.scales[is++] & 0xF;
        isuml = 0;
        for (int l = 16; l < 32; ++l) isuml += q8[l] * ((q2[l] >> shift) & 3);
        isum += d * isuml;
      }
    }
    sumf += dall * isum - dmin * summs;
  }
  return sumf;
}

float DotQ3_KQ8_K(const void* w, const void* a, int64_t n) {
  const int64_t nb = Blocks(n, kQK, "Q3_K");
  float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int8_t aux8[kQK];
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = LoadBlock<BlockQ3_K>(w, i);
    const auto y = LoadBlock<BlockQ8_K>(a, i);
    const uint8_t* q3 = x.qs;
    int8_t* p = aux8;
    uint8_t m = 1;
    for (int half = 0; half < 2; ++half, q3 += 32) {
      for (int shift = 0; shift < 8; shift += 2, m <<= 1, p += 32) {
        for (int l = 0; l < 32; ++l) p[l] = static_cast<int8_t>(((q3[l] >> shift) & 3) - (x.hmask[l] & m ? 0 : 4));
      }
    }
    int8_t scales[16];
    UnpackQ3KScales(x.scales, scales);
    AccumulateLanes(y.qs, aux8, 16, [&](int j) { return scales[j] - 32; }, H(x.d) * y.d, sums);
  }
  float sumf = 0;
  for (int l = 0; l < 8; ++l) sumf += sums[l];
  return sumf;
}

float DotQ4_KQ8_K(const void* w, const void* a, int64_t n) {
  const int64_t nb = Blocks(n, kQK, "Q4_K");
  float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float sumf = 0;
  int8_t aux8[kQK];
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = LoadBlock<BlockQ4_K>(w, i);
    const auto y = LoadBlock<BlockQ8_K>(a, i);
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) {
        aux8[64 * j + l] = static_cast<int8_t>(x.qs[32 * j + l] & 0xF);
        aux8[64 * j + 32 + l] = static_cast<int8_t>(x.qs[32 * j + l] >> 4);
      }
    }
    uint8_t sc[8], mn[8];
    UnpackScalesMins(x.scales, sc, mn);
    int sumi = 0;
    for (int j = 0; j < 16; ++j) sumi += y.bsums[j] * mn[j / 2];
    AccumulateLanes(y.qs, aux8, 32, [&](int j) { return static_cast<int32_t>(sc[j]); }, H(x.d) * y.d, sums);
    sumf -= H(x.dmin) * y.d * sumi;
  }
  for (int l = 0; l < 8; ++l) sumf += sums[l];
  return sumf;
}

float DotQ5_KQ8_K(const void* w, const void* a, int64_t n) {
  const int64_t nb = Blocks(n, kQK, "Q5_K");
  float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float sumf = 0;
  int8_t aux8[kQK];
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = LoadBlock<BlockQ5_K>(w, i);
    const auto y = LoadBlock<BlockQ8_K>(a, i);
    uint8_t m = 1;
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) {
        aux8[64 * j + l] = static_cast<int8_t>((x.qs[32 * j + l] & 0xF) + (x.qh[l] & m ? 16 : 0));
      }
      m <<= 1;
      for (int l = 0; l < 32; ++l) {
        aux8[64 * j + 32 + l] = static_cast<int8_t>((x.qs[32 * j + l] >> 4) + (x.qh[l] & m ? 16 : 0));
      }
      m <<= 1;
    }
    uint8_t sc[8], mn[8];
    UnpackScalesMins(x.scales, sc, mn);
    int sumi = 0;
    for (int j = 0; j < 16; ++j) sumi += y.bsums[j] * mn[j / 2];
    AccumulateLanes(y.qs, aux8, 32, [&](int j) { return static_cast<int32_t>(sc[j]); }, H(x.d) * y.d, sums);
    sumf -= H(x.dmin) * y.d * sumi;
  }
  for (int l = 0; l < 8; ++l) sumf += sums[l];
  return sumf;
}

float DotQ6_KQ8_K(const void* w, const void* a, int64_t n) {
  const int64_t nb = Blocks(n, kQK, "Q6_K");
  float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int8_t aux8[kQK];
  for (int64_t i = 0; i < nb; ++i) {
    const auto x = LoadBlock<BlockQ6_K>(w, i);
    const auto y = LoadBlock<BlockQ8_K>(a, i);
    const uint8_t* ql = x.ql;
    const uint8_t* qh = x.qh;
    int8_t* p = aux8;
    for (int half = 0; half < 2; ++half, p += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        p[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        p[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        p[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        p[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
    }
    AccumulateLanes(y.qs, aux8, 16, [&](int j) { return static_cast<int32_t>(x.scales[j]); }, H(x.d) * y.d, sums);
  }
  float sumf = 0;
  for (int l = 0; l < 8; ++l) sumf += sums[l];
  return sumf;
}

}  // namespace dseek::ref
