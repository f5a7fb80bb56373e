// Highway code compiled once per target (foreach_target re-includes this file).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/vec_ops.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include "kernels/simd/vec_ops.h"
#include "base/numeric.h"
#include "kernels/ref/quant_ref.h"
#include <algorithm>

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

float DotF32(const float* a, const float* b, size_t n) { return HWY_DYNAMIC_DISPATCH(DotF32Impl)(a, b, n); }
void Axpy(float a, const float* x, float* y, size_t n) { HWY_DYNAMIC_DISPATCH(AxpyImpl)(a, x, y, n); }
void DecodeBf16(const uint16_t* in, size_t n, float* out) { HWY_DYNAMIC_DISPATCH(DecodeBf16Impl)(in, n, out); }
void DecodeF16(const uint16_t* in, size_t n, float* out) { HWY_DYNAMIC_DISPATCH(DecodeF16Impl)(in, n, out); }
void DecodeFp8(const uint8_t* in, size_t n, float scale, float* out) {
  HWY_DYNAMIC_DISPATCH(DecodeFp8Impl)(in, n, scale, out);
}

void WidenRow(const Matrix& w, int64_t r, float* out) {
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
