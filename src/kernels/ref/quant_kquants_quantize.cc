// ggml's reference quantizers of the K-quants (quantize_row_q{2..6}_K_ref)
// and the scale searches they rely on (make_qx_quants, make_q3_quants,
// make_qkx2_quants), ported line for line from ggml-quants.c: model files
// quantized here must come out byte-identical to ggml's, so the float
// arithmetic order, the tie rules of NearestInt and the search grids are
// kept as they are even where a cleaner formulation exists.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/ref/quant_ref.h"

namespace dseek::ref {
namespace {

using ggml_detail::Blocks;
using ggml_detail::H;
using ggml_detail::NearestInt;
constexpr int kQK = 256;
constexpr float kGroupMaxEps = 1e-15f;

template <typename B>
void StoreBlock(void* base, int64_t i, const B& b) {
  std::memcpy(static_cast<uint8_t*>(base) + i * static_cast<int64_t>(sizeof(B)), &b, sizeof(B));
}

// Symmetric quantization of n values to [-nmax, nmax-1] (stored +nmax), with
// a search over 19 nearby scales minimizing the x^2-weighted error when
// rmse_type == 1 (the only mode the reference quantizers use).
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L, int rmse_type) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = -nmax / max;
  if (rmse_type == 0) {
    for (int i = 0; i < n; ++i) {
      const int l = NearestInt(iscale * x[i]);
      L[i] = static_cast<int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
    }
    return 1 / iscale;
  }
  auto weight = [&](float xi) {
    return rmse_type == 1 ? xi * xi : rmse_type == 2 ? 1.0f : rmse_type == 3 ? std::fabs(xi) : std::sqrt(std::fabs(xi));
  };
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = NearestInt(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = weight(x[i]);
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = NearestInt(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      const float w = weight(x[i]);
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        const int l = NearestInt(iscale * x[i]);
        L[i] = static_cast<int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Q3_K's variant: start from the max-based scale, then greedily move single
// quants while the x^2-weighted fit improves (at most 5 passes).
float MakeQ3Quants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = NearestInt(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (slx > 0) {
        float sl2 = suml2 - w * L[i] * L[i];
        int new_l = NearestInt(x[i] * sl2 / slx);
        new_l = std::max(-nmax, std::min(nmax - 1, new_l));
        if (new_l != L[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (!n_changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Asymmetric quantization x ~ scale * L + min, L in [0, nmax], min <= 0:
// tries nstep+1 scales around nmax/(max-min) and keeps the weighted
// least-squares (scale, min) with the smallest error. Returns the scale and
// stores -min in *the_min.
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                     uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = NearestInt(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = NearestInt(iscale * (x[i] - min));
      l = std::max(0, std::min(nmax, l));
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Packs 2-bit values L[0..255] the Q2_K / Q3_K way: byte l of each 32-byte
// group holds elements l, l+32, l+64, l+96 of its 128-element half.
void Pack2Bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
    }
  }
}

// Q4_K / Q5_K: 8 (scale, min) pairs of sub-blocks of 32 via make_qkx2_quants,
// then 6-bit scales/mins relative to the super-block d / dmin; returns the
// per-element levels in L (0..nmax).
template <typename Block>
void QuantizeScalesMinsK(const float* x, int nmax, float rmin, int nstep, Block* b, uint8_t L[kQK]) {
  uint8_t Laux[32];
  float weights[32], mins[8], scales[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = MakeQkx2Quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < 8; ++j) {
    // ggml stores nearest_int into a uint8_t before clamping; same here.
    uint8_t ls = static_cast<uint8_t>(NearestInt(inv_scale * scales[j]));
    uint8_t lm = static_cast<uint8_t>(NearestInt(inv_min * mins[j]));
    ls = std::min<uint8_t>(63, ls);
    lm = std::min<uint8_t>(63, lm);
    if (j < 4) {
      b->scales[j] = ls;
      b->scales[j + 4] = lm;
    } else {
      b->scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      b->scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      b->scales[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  b->d = F32ToF16(max_scale / 63.f);
  b->dmin = F32ToF16(max_min / 63.f);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    GetScaleMinK4(j, b->scales, &sc, &m);
    const float d = H(b->d) * sc;
    if (!d) continue;
    const float dm = H(b->dmin) * m;
    for (int ii = 0; ii < 32; ++ii) {
      const int l = NearestInt((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    }
  }
}

}  // namespace

void QuantizeQ2_K(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, kQK, "Q2_K");
  const float q4scale = 15.f;
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    BlockQ2_K b{};
    uint8_t L[kQK], Laux[16];
    float weights[16], mins[16], scales[16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = MakeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
      const float iscale = q4scale / max_scale;
      for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<uint8_t>(NearestInt(iscale * scales[j]));
      b.d = F32ToF16(max_scale / q4scale);
    } else {
      b.d = F32ToF16(0.f);
    }
    if (max_min > 0) {
      const float iscale = q4scale / max_min;
      for (int j = 0; j < 16; ++j) b.scales[j] |= static_cast<uint8_t>(NearestInt(iscale * mins[j]) << 4);
      b.dmin = F32ToF16(max_min / q4scale);
    } else {
      b.dmin = F32ToF16(0.f);
    }
    for (int j = 0; j < 16; ++j) {
      const float d = H(b.d) * (b.scales[j] & 0xF);
      if (!d) continue;
      const float dm = H(b.dmin) * (b.scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        const int l = NearestInt((x[16 * j + ii] + dm) / d);
        L[16 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(3, l)));
      }
    }
    Pack2Bit(L, b.qs);
    StoreBlock(y, i, b);
  }
}

void QuantizeQ3_K(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, kQK, "Q3_K");
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    BlockQ3_K b{};
    int8_t L[kQK];
    float scales[16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = MakeQ3Quants(16, 4, x + 16 * j, L + 16 * j);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    if (max_scale) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < 16; ++j) {
        int8_t l = static_cast<int8_t>(NearestInt(iscale * scales[j]));
        l = static_cast<int8_t>(std::max<int>(-32, std::min<int>(31, l)) + 32);
        if (j < 8) {
          b.scales[j] = l & 0xF;
        } else {
          b.scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        }
        l = static_cast<int8_t>(l >> 4);
        b.scales[j % 4 + 8] |= static_cast<uint8_t>(l << (2 * (j / 4)));
      }
      b.d = F32ToF16(1 / iscale);
    } else {
      b.d = F32ToF16(0.f);
    }
    int8_t sc[16];
    UnpackQ3KScales(b.scales, sc);
    for (int j = 0; j < 16; ++j) {
      const float d = H(b.d) * (sc[j] - 32);
      if (!d) continue;
      for (int ii = 0; ii < 16; ++ii) {
        const int l = NearestInt(x[16 * j + ii] / d);
        L[16 * j + ii] = static_cast<int8_t>(std::max(-4, std::min(3, l)) + 4);
      }
    }
    // High bit of element j goes to hmask[j % 32], bit j / 32.
    uint8_t low[kQK];
    for (int j = 0; j < kQK; ++j) {
      int v = L[j];
      if (v > 3) {
        b.hmask[j % 32] |= static_cast<uint8_t>(1 << (j / 32));
        v -= 4;
      }
      low[j] = static_cast<uint8_t>(v);
    }
    Pack2Bit(low, b.qs);
    StoreBlock(y, i, b);
  }
}

void QuantizeQ4_K(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, kQK, "Q4_K");
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    BlockQ4_K b{};
    uint8_t L[kQK];
    QuantizeScalesMinsK(x, 15, -1.f, 20, &b, L);
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) b.qs[32 * j + l] = static_cast<uint8_t>(L[64 * j + l] | (L[64 * j + l + 32] << 4));
    }
    StoreBlock(y, i, b);
  }
}

void QuantizeQ5_K(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, kQK, "Q5_K");
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    BlockQ5_K b{};
    uint8_t L[kQK];
    QuantizeScalesMinsK(x, 31, -0.5f, 15, &b, L);
    uint8_t m1 = 1, m2 = 2;
    for (int j = 0; j < 4; ++j, m1 <<= 2, m2 <<= 2) {
      for (int l = 0; l < 32; ++l) {
        int l1 = L[64 * j + l];
        if (l1 > 15) {
          l1 -= 16;
          b.qh[l] |= m1;
        }
        int l2 = L[64 * j + l + 32];
        if (l2 > 15) {
          l2 -= 16;
          b.qh[l] |= m2;
        }
        b.qs[32 * j + l] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
    }
    StoreBlock(y, i, b);
  }
}

void QuantizeQ6_K(const float* x, int64_t n, void* y) {
  const int64_t nb = Blocks(n, kQK, "Q6_K");
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    BlockQ6_K b{};
    int8_t L[kQK];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      scales[ib] = MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib, 1);
      if (std::fabs(scales[ib]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    if (max_abs_scale < kGroupMaxEps) {  // all (near) zero: an all-zero block
      StoreBlock(y, i, b);
      continue;
    }
    const float iscale = -128.f / max_scale;
    b.d = F32ToF16(1 / iscale);
    for (int ib = 0; ib < 16; ++ib) b.scales[ib] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[ib])));
    for (int j = 0; j < 16; ++j) {
      const float d = H(b.d) * b.scales[j];
      if (!d) continue;
      for (int ii = 0; ii < 16; ++ii) {
        const int l = NearestInt(x[16 * j + ii] / d);
        L[16 * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
      }
    }
    uint8_t* ql = b.ql;
    uint8_t* qh = b.qh;
    for (int j = 0; j < kQK; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF;
        const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
        ql[l] = static_cast<uint8_t>(q1 | (q3 << 4));
        ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
        qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                     ((L[j + l + 96] >> 4) << 6));
      }
    }
    StoreBlock(y, i, b);
  }
}

}  // namespace dseek::ref
