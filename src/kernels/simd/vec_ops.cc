// Highway code compiled once per target (foreach_target re-includes this file).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/vec_ops.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

#include "kernels/simd/vec_ops.h"
#include "base/numeric.h"
#include "kernels/ref/quant_ref.h"
#include "kernels/simd/quant_packed.h"
#include <algorithm>
#include <cmath>
#include <vector>

HWY_BEFORE_NAMESPACE();
namespace dseek::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

float DotF32Impl(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(d, a + i + N), hn::LoadU(d, b + i + N), s1);
    s2 = hn::MulAdd(hn::LoadU(d, a + i + 2 * N), hn::LoadU(d, b + i + 2 * N), s2);
    s3 = hn::MulAdd(hn::LoadU(d, a + i + 3 * N), hn::LoadU(d, b + i + 3 * N), s3);
  }
  for (; i + N <= n; i += N) s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
  s0 = hn::Add(hn::Add(s0, s1), hn::Add(s2, s3));
  float s = hn::GetLane(hn::SumOfLanes(d, s0));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void AxpyImpl(float a, const float* HWY_RESTRICT x, float* HWY_RESTRICT y, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto va = hn::Set(d, a);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::MulAdd(va, hn::LoadU(d, x + i), hn::LoadU(d, y + i)), d, y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

void DecodeBf16Impl(const uint16_t* HWY_RESTRICT in, size_t n, float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du32;
  const hn::Rebind<uint16_t, decltype(df)> du16;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    auto w = hn::PromoteTo(du32, hn::LoadU(du16, in + i));
    hn::StoreU(hn::BitCast(df, hn::ShiftLeft<16>(w)), df, out + i);
  }
  for (; i < n; ++i) out[i] = Bf16ToF32(in[i]);
}

void DecodeF16Impl(const uint16_t* HWY_RESTRICT in, size_t n, float* HWY_RESTRICT out) {
  // Integer widening rather than hn::PromoteTo: Highway's emulation on targets
  // without F16C turns Inf/NaN into finite numbers.
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du32;
  const hn::RebindToSigned<decltype(df)> di32;
  const hn::Rebind<uint16_t, decltype(df)> du16;
  const size_t N = hn::Lanes(df);
  const auto rebias = hn::Set(du32, 112u << 23);  // exponent 15 -> 127
  const auto k7fff = hn::Set(du32, 0x7fffu), k8000 = hn::Set(du32, 0x8000u);
  const auto k400 = hn::Set(du32, 0x400u), k7c00 = hn::Set(du32, 0x7c00u);
  const auto sub_step = hn::Set(df, 1.0f / 16777216.0f);  // 2^-24
  size_t i = 0;
  for (; i + N <= n; i += N) {
    auto v = hn::PromoteTo(du32, hn::LoadU(du16, in + i));
    auto em = hn::And(v, k7fff);
    auto sign = hn::ShiftLeft<16>(hn::And(v, k8000));
    auto normal = hn::Add(hn::ShiftLeft<13>(em), rebias);
    auto special = hn::Add(normal, rebias);  // exponent 31 -> 255: Inf/NaN
    auto bits = hn::IfThenElse(hn::Lt(em, k7c00), normal, special);
    auto val = hn::BitCast(df, bits);
    auto sub = hn::Mul(hn::ConvertTo(df, hn::BitCast(di32, em)), sub_step);
    val = hn::IfThenElse(hn::RebindMask(df, hn::Lt(em, k400)), sub, val);
    hn::StoreU(hn::Or(val, hn::BitCast(df, sign)), df, out + i);
  }
  for (; i < n; ++i) out[i] = F16ToF32(in[i]);
}

void DecodeFp8Impl(const uint8_t* HWY_RESTRICT in, size_t n, float scale, float* HWY_RESTRICT out) {
  // Same bit trick as DotFp8Impl: value * 2^-120 exactly, then * 2^120
  // (exact) and * scale: one rounding, as the scalar reference.
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di32;
  const hn::Rebind<int8_t, decltype(d)> di8;
  const size_t N = hn::Lanes(d);
  const auto mask = hn::Set(di32, static_cast<int32_t>(0x87f00000u));
  const auto p120 = hn::Set(d, 1.329228e36f), vscale = hn::Set(d, scale);
  const int8_t* wb = reinterpret_cast<const int8_t*>(in);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    auto t = hn::And(hn::ShiftLeft<20>(hn::PromoteTo(di32, hn::LoadU(di8, wb + i))), mask);
    hn::StoreU(hn::Mul(hn::Mul(hn::BitCast(d, t), p120), vscale), d, out + i);
  }
  for (; i < n; ++i) out[i] = Fp8E4M3ToF32(in[i]) * scale;
}

// y[t * y_stride] = w . x[t * x_stride] for n_tok tokens, four at a time so
// each weight vector loaded serves four activations.
void DotRowTokensImpl(const float* HWY_RESTRICT w, const float* HWY_RESTRICT x, size_t x_stride, size_t n_tok,
                      size_t cols, float* HWY_RESTRICT y, size_t y_stride) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t t = 0;
  for (; t + 4 <= n_tok; t += 4) {
    const float* x0 = x + t * x_stride;
    const float* x1 = x0 + x_stride;
    const float* x2 = x1 + x_stride;
    const float* x3 = x2 + x_stride;
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    size_t i = 0;
    for (; i + N <= cols; i += N) {
      const auto wv = hn::LoadU(d, w + i);
      a0 = hn::MulAdd(wv, hn::LoadU(d, x0 + i), a0);
      a1 = hn::MulAdd(wv, hn::LoadU(d, x1 + i), a1);
      a2 = hn::MulAdd(wv, hn::LoadU(d, x2 + i), a2);
      a3 = hn::MulAdd(wv, hn::LoadU(d, x3 + i), a3);
    }
    float s0 = hn::GetLane(hn::SumOfLanes(d, a0)), s1 = hn::GetLane(hn::SumOfLanes(d, a1));
    float s2 = hn::GetLane(hn::SumOfLanes(d, a2)), s3 = hn::GetLane(hn::SumOfLanes(d, a3));
    for (; i < cols; ++i) {
      s0 += w[i] * x0[i];
      s1 += w[i] * x1[i];
      s2 += w[i] * x2[i];
      s3 += w[i] * x3[i];
    }
    y[t * y_stride] = s0;
    y[(t + 1) * y_stride] = s1;
    y[(t + 2) * y_stride] = s2;
    y[(t + 3) * y_stride] = s3;
  }
  for (; t < n_tok; ++t) y[t * y_stride] = DotF32Impl(w, x + t * x_stride, cols);
}

// y[t * y_stride + r] = w[r] . x[t] for a block of widened weight rows
// (n_rows <= 16, row-major with stride cols) and n_tok tokens: 4 rows x 4
// tokens per register tile, so every load feeds four FMAs, and tokens in
// blocks of 32 so their activations stay in L2 while the rows are reused.
void MatMulBlockImpl(const float* HWY_RESTRICT w, size_t w_stride, size_t n_rows, const float* HWY_RESTRICT x,
                     size_t x_stride, size_t n_tok, size_t cols, float* HWY_RESTRICT y, size_t y_stride) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const size_t vec_cols = cols / N * N;
  for (size_t tb = 0; tb < n_tok; tb += 32) {
    const size_t te = tb + 32 < n_tok ? tb + 32 : n_tok;
    size_t r = 0;
    for (; r + 4 <= n_rows; r += 4) {
      const float* w0 = w + r * w_stride;
      const float* w1 = w0 + w_stride;
      const float* w2 = w1 + w_stride;
      const float* w3 = w2 + w_stride;
      size_t t = tb;
      for (; t + 4 <= te; t += 4) {
        const float* x0 = x + t * x_stride;
        const float* x1 = x0 + x_stride;
        const float* x2 = x1 + x_stride;
        const float* x3 = x2 + x_stride;
        auto a00 = hn::Zero(d), a01 = hn::Zero(d), a02 = hn::Zero(d), a03 = hn::Zero(d);
        auto a10 = hn::Zero(d), a11 = hn::Zero(d), a12 = hn::Zero(d), a13 = hn::Zero(d);
        auto a20 = hn::Zero(d), a21 = hn::Zero(d), a22 = hn::Zero(d), a23 = hn::Zero(d);
        auto a30 = hn::Zero(d), a31 = hn::Zero(d), a32 = hn::Zero(d), a33 = hn::Zero(d);
        for (size_t i = 0; i < vec_cols; i += N) {
          const auto v0 = hn::LoadU(d, x0 + i), v1 = hn::LoadU(d, x1 + i);
          const auto v2 = hn::LoadU(d, x2 + i), v3 = hn::LoadU(d, x3 + i);
          auto u = hn::LoadU(d, w0 + i);
          a00 = hn::MulAdd(u, v0, a00); a01 = hn::MulAdd(u, v1, a01);
          a02 = hn::MulAdd(u, v2, a02); a03 = hn::MulAdd(u, v3, a03);
          u = hn::LoadU(d, w1 + i);
          a10 = hn::MulAdd(u, v0, a10); a11 = hn::MulAdd(u, v1, a11);
          a12 = hn::MulAdd(u, v2, a12); a13 = hn::MulAdd(u, v3, a13);
          u = hn::LoadU(d, w2 + i);
          a20 = hn::MulAdd(u, v0, a20); a21 = hn::MulAdd(u, v1, a21);
          a22 = hn::MulAdd(u, v2, a22); a23 = hn::MulAdd(u, v3, a23);
          u = hn::LoadU(d, w3 + i);
          a30 = hn::MulAdd(u, v0, a30); a31 = hn::MulAdd(u, v1, a31);
          a32 = hn::MulAdd(u, v2, a32); a33 = hn::MulAdd(u, v3, a33);
        }
        float acc[4][4] = {
            {hn::GetLane(hn::SumOfLanes(d, a00)), hn::GetLane(hn::SumOfLanes(d, a01)),
             hn::GetLane(hn::SumOfLanes(d, a02)), hn::GetLane(hn::SumOfLanes(d, a03))},
            {hn::GetLane(hn::SumOfLanes(d, a10)), hn::GetLane(hn::SumOfLanes(d, a11)),
             hn::GetLane(hn::SumOfLanes(d, a12)), hn::GetLane(hn::SumOfLanes(d, a13))},
            {hn::GetLane(hn::SumOfLanes(d, a20)), hn::GetLane(hn::SumOfLanes(d, a21)),
             hn::GetLane(hn::SumOfLanes(d, a22)), hn::GetLane(hn::SumOfLanes(d, a23))},
            {hn::GetLane(hn::SumOfLanes(d, a30)), hn::GetLane(hn::SumOfLanes(d, a31)),
             hn::GetLane(hn::SumOfLanes(d, a32)), hn::GetLane(hn::SumOfLanes(d, a33))}};
        const float* xs[4] = {x0, x1, x2, x3};
        const float* ws[4] = {w0, w1, w2, w3};
        for (size_t i = vec_cols; i < cols; ++i)
          for (int rr = 0; rr < 4; ++rr)
            for (int tt = 0; tt < 4; ++tt) acc[rr][tt] += ws[rr][i] * xs[tt][i];
        for (int rr = 0; rr < 4; ++rr)
          for (int tt = 0; tt < 4; ++tt) y[(t + tt) * y_stride + r + rr] = acc[rr][tt];
      }
      for (; t < te; ++t)
        for (int rr = 0; rr < 4; ++rr)
          y[t * y_stride + r + rr] = DotF32Impl(w + (r + rr) * w_stride, x + t * x_stride, cols);
    }
    for (; r < n_rows; ++r)
      DotRowTokensImpl(w + r * w_stride, x + tb * x_stride, x_stride, te - tb, cols, y + tb * y_stride + r, y_stride);
  }
}

// Dot of an FP8 e4m3 weight row with float activations, widening in
// registers (no scratch row). The e4m3 bits shifted into a float32's
// exponent/mantissa give value * 2^-120 exactly (subnormals included), so
// 2^120 folds into the per-128-column block scale applied once per block.
float DotFp8Impl(const uint8_t* HWY_RESTRICT w, const float* HWY_RESTRICT scales, const float* HWY_RESTRICT x,
                 size_t cols) {
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di32;
  const hn::Rebind<int8_t, decltype(d)> di8;
  const size_t N = hn::Lanes(d);
  // Sign-extending the byte and shifting by 20 puts the 7 magnitude bits in
  // the float's exponent/mantissa and copies of the sign above them; the
  // mask keeps bit 31 and the magnitude: 4 instructions per vector.
  const auto mask = hn::Set(di32, static_cast<int32_t>(0x87f00000u));
  const int8_t* wb = reinterpret_cast<const int8_t*>(w);
  auto total = hn::Zero(d);
  float tail_sum = 0.0f;
  for (size_t c0 = 0, b = 0; c0 < cols; c0 += 128, ++b) {
    const size_t len = cols - c0 < 128 ? cols - c0 : 128;
    // 2^120 times the scale, in two steps when one would overflow.
    const float scale = scales[b];
    const bool big = !(scale < 1.0e2f);
    const float fold = big ? 1.329228e36f : scale * 1.329228e36f;  // 2^120 (* scale)
    auto a0 = hn::Zero(d), a1 = hn::Zero(d);
    size_t i = 0;
    for (; i + 2 * N <= len; i += 2 * N) {
      auto t0 = hn::ShiftLeft<20>(hn::PromoteTo(di32, hn::LoadU(di8, wb + c0 + i)));
      auto t1 = hn::ShiftLeft<20>(hn::PromoteTo(di32, hn::LoadU(di8, wb + c0 + i + N)));
      a0 = hn::MulAdd(hn::BitCast(d, hn::And(t0, mask)), hn::LoadU(d, x + c0 + i), a0);
      a1 = hn::MulAdd(hn::BitCast(d, hn::And(t1, mask)), hn::LoadU(d, x + c0 + i + N), a1);
    }
    float tail = 0.0f;
    for (; i < len; ++i) tail += Fp8E4M3ToF32(w[c0 + i]) * x[c0 + i];
    auto blk = hn::Add(a0, a1);
    if (big) blk = hn::Mul(blk, hn::Set(d, fold));
    total = hn::MulAdd(blk, hn::Set(d, big ? scale : fold), total);
    tail_sum += tail * scale;
  }
  return hn::GetLane(hn::SumOfLanes(d, total)) + tail_sum;
}

// Dot of a BF16 weight row with float activations, widening in registers.
float DotBf16Impl(const uint16_t* HWY_RESTRICT w, const float* HWY_RESTRICT x, size_t cols) {
  const hn::ScalableTag<float> d;
  const hn::RebindToUnsigned<decltype(d)> du32;
  const hn::Rebind<uint16_t, decltype(d)> du16;
  const size_t N = hn::Lanes(d);
  auto a0 = hn::Zero(d), a1 = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * N <= cols; i += 2 * N) {
    auto f0 = hn::BitCast(d, hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, w + i))));
    auto f1 = hn::BitCast(d, hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, w + i + N))));
    a0 = hn::MulAdd(f0, hn::LoadU(d, x + i), a0);
    a1 = hn::MulAdd(f1, hn::LoadU(d, x + i + N), a1);
  }
  float s = hn::GetLane(hn::SumOfLanes(d, hn::Add(a0, a1)));
  for (; i < cols; ++i) s += Bf16ToF32(w[i]) * x[i];
  return s;
}

// out[h * out_stride + j] += sum_p w[h * w_stride + p] * rows[p * row_stride + j]:
// eight heads at a time keep their accumulators in registers while each row
// chunk is loaded once for all of them.
void WeightedRowSumsImpl(const float* HWY_RESTRICT w, size_t w_stride, size_t n_heads, const float* HWY_RESTRICT rows,
                         size_t row_stride, size_t n_rows, size_t cols, float* HWY_RESTRICT out, size_t out_stride) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const size_t vec_cols = cols / N * N;
  constexpr size_t kHeads = 8;
  for (size_t h0 = 0; h0 < n_heads; h0 += kHeads) {
    const size_t nh = n_heads - h0 < kHeads ? n_heads - h0 : kHeads;
    for (size_t j = 0; j < vec_cols; j += N) {
      auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
      auto a4 = hn::Zero(d), a5 = hn::Zero(d), a6 = hn::Zero(d), a7 = hn::Zero(d);
      const float* wh = w + h0 * w_stride;
      if (nh == kHeads) {
        for (size_t p = 0; p < n_rows; ++p) {
          const auto r = hn::LoadU(d, rows + p * row_stride + j);
          a0 = hn::MulAdd(hn::Set(d, wh[p]), r, a0);
          a1 = hn::MulAdd(hn::Set(d, wh[w_stride + p]), r, a1);
          a2 = hn::MulAdd(hn::Set(d, wh[2 * w_stride + p]), r, a2);
          a3 = hn::MulAdd(hn::Set(d, wh[3 * w_stride + p]), r, a3);
          a4 = hn::MulAdd(hn::Set(d, wh[4 * w_stride + p]), r, a4);
          a5 = hn::MulAdd(hn::Set(d, wh[5 * w_stride + p]), r, a5);
          a6 = hn::MulAdd(hn::Set(d, wh[6 * w_stride + p]), r, a6);
          a7 = hn::MulAdd(hn::Set(d, wh[7 * w_stride + p]), r, a7);
        }
        float* o = out + h0 * out_stride + j;
        hn::StoreU(hn::Add(hn::LoadU(d, o), a0), d, o);
        hn::StoreU(hn::Add(hn::LoadU(d, o + out_stride), a1), d, o + out_stride);
        hn::StoreU(hn::Add(hn::LoadU(d, o + 2 * out_stride), a2), d, o + 2 * out_stride);
        hn::StoreU(hn::Add(hn::LoadU(d, o + 3 * out_stride), a3), d, o + 3 * out_stride);
        hn::StoreU(hn::Add(hn::LoadU(d, o + 4 * out_stride), a4), d, o + 4 * out_stride);
        hn::StoreU(hn::Add(hn::LoadU(d, o + 5 * out_stride), a5), d, o + 5 * out_stride);
        hn::StoreU(hn::Add(hn::LoadU(d, o + 6 * out_stride), a6), d, o + 6 * out_stride);
        hn::StoreU(hn::Add(hn::LoadU(d, o + 7 * out_stride), a7), d, o + 7 * out_stride);
      } else {
        for (size_t h = 0; h < nh; ++h) {
          auto a = hn::Zero(d);
          for (size_t p = 0; p < n_rows; ++p)
            a = hn::MulAdd(hn::Set(d, wh[h * w_stride + p]), hn::LoadU(d, rows + p * row_stride + j), a);
          float* o = out + (h0 + h) * out_stride + j;
          hn::StoreU(hn::Add(hn::LoadU(d, o), a), d, o);
        }
      }
    }
    for (size_t j = vec_cols; j < cols; ++j)
      for (size_t h = h0; h < h0 + nh; ++h) {
        float a = 0.0f;
        for (size_t p = 0; p < n_rows; ++p) a += w[h * w_stride + p] * rows[p * row_stride + j];
        out[h * out_stride + j] += a;
      }
  }
}

// out = gate / (1 + exp(-gate)) * up (SiLU-gated product of the MLPs).
void SiluMulImpl(const float* gate, const float* HWY_RESTRICT up, size_t n, float* out) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  // Highway's Exp is valid up to about 104; exp(88) already overflows to a
  // silu of -0, as the scalar form gives.
  const auto one = hn::Set(d, 1.0f), limit = hn::Set(d, 88.0f);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto g = hn::LoadU(d, gate + i);
    const auto e = hn::Exp(d, hn::Min(hn::Neg(g), limit));
    hn::StoreU(hn::Mul(hn::Div(g, hn::Add(one, e)), hn::LoadU(d, up + i)), d, out + i);
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// In-place softmax: max, exp(x - max) with its sum, scale.
void SoftmaxImpl(float* HWY_RESTRICT x, size_t n) {
  if (n == 0) return;
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  float m = x[0];
  size_t i = 0;
  if (n >= N) {
    auto vm = hn::LoadU(d, x);
    for (i = N; i + N <= n; i += N) vm = hn::Max(vm, hn::LoadU(d, x + i));
    m = hn::GetLane(hn::MaxOfLanes(d, vm));
  }
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  const auto vmax = hn::Set(d, m);
  auto vsum = hn::Zero(d);
  for (i = 0; i + N <= n; i += N) {
    const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, x + i), vmax));
    hn::StoreU(e, d, x + i);
    vsum = hn::Add(vsum, e);
  }
  float sum = hn::GetLane(hn::SumOfLanes(d, vsum));
  for (; i < n; ++i) sum += x[i] = std::exp(x[i] - m);
  const auto inv = hn::Set(d, 1.0f / sum);
  for (i = 0; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), inv), d, x + i);
  for (; i < n; ++i) x[i] *= 1.0f / sum;
}

}  // namespace HWY_NAMESPACE
}  // namespace dseek::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace dseek::simd {
HWY_EXPORT(DotF32Impl);
HWY_EXPORT(AxpyImpl);
HWY_EXPORT(DecodeBf16Impl);
HWY_EXPORT(DecodeF16Impl);
HWY_EXPORT(DecodeFp8Impl);
HWY_EXPORT(DotFp8Impl);
HWY_EXPORT(DotBf16Impl);
HWY_EXPORT(DotRowTokensImpl);
HWY_EXPORT(MatMulBlockImpl);
HWY_EXPORT(WeightedRowSumsImpl);
HWY_EXPORT(SiluMulImpl);
HWY_EXPORT(SoftmaxImpl);

float DotF32(const float* a, const float* b, size_t n) { return HWY_DYNAMIC_DISPATCH(DotF32Impl)(a, b, n); }
void Axpy(float a, const float* x, float* y, size_t n) { HWY_DYNAMIC_DISPATCH(AxpyImpl)(a, x, y, n); }
void DecodeBf16(const uint16_t* in, size_t n, float* out) { HWY_DYNAMIC_DISPATCH(DecodeBf16Impl)(in, n, out); }
void DecodeF16(const uint16_t* in, size_t n, float* out) { HWY_DYNAMIC_DISPATCH(DecodeF16Impl)(in, n, out); }
void DecodeFp8(const uint8_t* in, size_t n, float scale, float* out) {
  HWY_DYNAMIC_DISPATCH(DecodeFp8Impl)(in, n, scale, out);
}

void WidenRow(const Matrix& w, int64_t r, float* out) {
  if (w.packed8) {
    thread_local std::vector<uint8_t> plain;
    plain.resize(w.row_bytes());
    UnpackGroupRow(w.ggml, w.row(r - r % kPackRows), w.cols, r % kPackRows, plain.data());
    return ref::DequantizeRowGgml(w.ggml, plain.data(), w.cols, out);
  }
  const uint8_t* p = w.row(r);
  switch (w.dtype) {
    case DType::kF32: std::copy_n(reinterpret_cast<const float*>(p), w.cols, out); break;
    case DType::kBF16: DecodeBf16(reinterpret_cast<const uint16_t*>(p), w.cols, out); break;
    case DType::kF16: DecodeF16(reinterpret_cast<const uint16_t*>(p), w.cols, out); break;
    case DType::kF8E4M3: {
      const float* scales = w.row_scales(r);
      for (int64_t c0 = 0, b = 0; c0 < w.cols; c0 += kFp8Block, ++b)
        DecodeFp8(p + c0, std::min<int64_t>(kFp8Block, w.cols - c0), scales[b], out + c0);
      break;
    }
    // Reference dequantization for now; a SIMD path per block type can come later.
    case DType::kGgml: ref::DequantizeRowGgml(w.ggml, p, w.cols, out); break;
    default: std::fill_n(out, w.cols, 0.0f); break;
  }
}

float DotFp8(const uint8_t* w, const float* scales, const float* x, size_t cols) {
  return HWY_DYNAMIC_DISPATCH(DotFp8Impl)(w, scales, x, cols);
}
float DotBf16(const uint16_t* w, const float* x, size_t cols) { return HWY_DYNAMIC_DISPATCH(DotBf16Impl)(w, x, cols); }
void MatMulBlock(const float* w, size_t n_rows, const float* x, size_t n_tok, size_t cols, float* y,
                 size_t y_stride) {
  HWY_DYNAMIC_DISPATCH(MatMulBlockImpl)(w, cols, n_rows, x, cols, n_tok, cols, y, y_stride);
}
void MatMulBlockStrided(const float* w, size_t w_stride, size_t n_rows, const float* x, size_t x_stride, size_t n_tok,
                        size_t cols, float* y, size_t y_stride) {
  HWY_DYNAMIC_DISPATCH(MatMulBlockImpl)(w, w_stride, n_rows, x, x_stride, n_tok, cols, y, y_stride);
}
void SiluMul(const float* gate, const float* up, size_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(SiluMulImpl)(gate, up, n, out);
}
void Softmax(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(SoftmaxImpl)(x, n); }
void WeightedRowSums(const float* w, size_t w_stride, size_t n_heads, const float* rows, size_t row_stride,
                     size_t n_rows, size_t cols, float* out, size_t out_stride) {
  HWY_DYNAMIC_DISPATCH(WeightedRowSumsImpl)(w, w_stride, n_heads, rows, row_stride, n_rows, cols, out, out_stride);
}
void DotRowTokens(const float* w, const float* x, size_t x_stride, size_t n_tok, size_t cols, float* y,
                  size_t y_stride) {
  HWY_DYNAMIC_DISPATCH(DotRowTokensImpl)(w, x, x_stride, n_tok, cols, y, y_stride);
}

std::string TargetName(int64_t target) { return hwy::TargetName(target); }

std::string ActiveTargetName() {
  // The chosen target is the best of the supported ones that were compiled.
  auto targets = hwy::SupportedAndGeneratedTargets();
  return targets.empty() ? "none" : hwy::TargetName(targets.front());
}

std::vector<int64_t> CompiledTargets() { return hwy::SupportedAndGeneratedTargets(); }

void ForceTargetForTest(int64_t target) { hwy::SetSupportedTargetsForTest(target); }

}  // namespace dseek::simd
#endif  // HWY_ONCE
