#include "model/layers/mla.h"

#include <algorithm>
#include <cmath>

#include "kernels/ref/ref_ops.h"
#include "kernels/simd/vec_ops.h"

namespace dseek {
namespace {

void Grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// In-place softmax over the first n scores.
void SoftmaxInPlace(float* s, size_t n) {
  float m = -INFINITY;
  for (size_t i = 0; i < n; ++i) m = std::max(m, s[i]);
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) sum += s[i] = std::exp(s[i] - m);
  const float inv = 1.0f / sum;
  for (size_t i = 0; i < n; ++i) s[i] *= inv;
}

int64_t LongestContext(std::span<const SeqSpan> seqs) {
  int64_t m = 0;
  for (const SeqSpan& sp : seqs) m = std::max(m, sp.cache->length() + static_cast<int64_t>(sp.n));
  return m;
}

// Attention over the latent cache, one head at a time (heads in parallel).
// Each head's W_UK / W_UV rows are widened once for the whole batch.
void AbsorbedAttention(Backend& be, const MlaDims& d, const MlaWeights& w, int64_t layer,
                       std::span<const SeqSpan> seqs, size_t n, MlaScratch& s) {
  const int64_t H = d.n_heads, L = d.kv_lora_rank, qk = d.qk(), per_head = d.nope + d.v;
  const int64_t longest = LongestContext(seqs);
  Grow(s.q_abs, n * H * L);
  Grow(s.ctx, n * H * L);
  Grow(s.rows, H * L);
  Grow(s.scores, H * longest);
  be.ParallelFor(H, 1, [&](size_t h0, size_t h1) {
    for (size_t h = h0; h < h1; ++h) {
      float* row = s.rows.data() + h * L;
      float* scores = s.scores.data() + h * longest;
      // q_abs[t,h] = W_UK[h]^T q_nope[t,h]: a weighted sum of the head's K rows.
      for (size_t t = 0; t < n; ++t) std::fill_n(s.q_abs.data() + (t * H + h) * L, L, 0.0f);
      for (int64_t j = 0; j < d.nope; ++j) {
        simd::WidenRow(w.kv_b_proj, h * per_head + j, row);
        for (size_t t = 0; t < n; ++t)
          simd::Axpy(s.q[(t * H + h) * qk + j], row, s.q_abs.data() + (t * H + h) * L, L);
      }
      for (const SeqSpan& sp : seqs) {
        const KvCache& cache = *sp.cache;
        const int64_t pos0 = cache.length();
        for (size_t i = 0; i < sp.n; ++i) {
          const size_t t = sp.begin + i;
          const float* qa = s.q_abs.data() + (t * H + h) * L;
          const float* qpe = s.q.data() + (t * H + h) * qk + d.nope;
          const int64_t len = pos0 + static_cast<int64_t>(i) + 1;  // causal
          for (int64_t p = 0; p < len; ++p) {
            const float* c = cache.Row(layer, p);
            scores[p] = (simd::DotF32(qa, c, L) + simd::DotF32(qpe, c + L, d.rope)) * d.softmax_scale;
          }
          SoftmaxInPlace(scores, len);
          float* ctx = s.ctx.data() + (t * H + h) * L;
          std::fill_n(ctx, L, 0.0f);
          for (int64_t p = 0; p < len; ++p) simd::Axpy(scores[p], cache.Row(layer, p), ctx, L);
        }
      }
      // out[t, h*v + j] = W_UV[h][j] . ctx[t,h]
      for (int64_t j = 0; j < d.v; ++j) {
        simd::WidenRow(w.kv_b_proj, h * per_head + d.nope + j, row);
        for (size_t t = 0; t < n; ++t)
          s.attn_out[t * H * d.v + h * d.v + j] = simd::DotF32(row, s.ctx.data() + (t * H + h) * L, L);
      }
    }
  });
}

// Per-head K and V expanded from every cached latent, then plain attention.
void NaiveAttention(Backend& be, const MlaDims& d, const MlaWeights& w, int64_t layer, const SeqSpan& sp,
                    MlaScratch& s) {
  const int64_t H = d.n_heads, L = d.kv_lora_rank, qk = d.qk(), per_head = d.nope + d.v;
  const KvCache& cache = *sp.cache;
  const int64_t pos0 = cache.length();
  const int64_t total = pos0 + static_cast<int64_t>(sp.n);
  Grow(s.kfull, total * L);
  for (int64_t p = 0; p < total; ++p) std::copy_n(cache.Row(layer, p), L, s.kfull.data() + p * L);
  Grow(s.vfull, total * H * per_head);
  be.MatMul(w.kv_b_proj, s.kfull.data(), total, s.vfull.data());  // [total, H*(nope+v)]
  Grow(s.scores, H * total);
  be.ParallelFor(H, 1, [&](size_t h0, size_t h1) {
    for (size_t h = h0; h < h1; ++h) {
      float* scores = s.scores.data() + h * total;
      for (size_t i = 0; i < sp.n; ++i) {
        const size_t t = sp.begin + i;
        const float* q = s.q.data() + (t * H + h) * qk;
        const int64_t len = pos0 + static_cast<int64_t>(i) + 1;
        for (int64_t p = 0; p < len; ++p) {
          const float* k = s.vfull.data() + (p * H + h) * per_head;
          scores[p] = (simd::DotF32(q, k, d.nope) + simd::DotF32(q + d.nope, cache.Row(layer, p) + L, d.rope)) *
                      d.softmax_scale;
        }
        SoftmaxInPlace(scores, len);
        float* o = s.attn_out.data() + t * H * d.v + h * d.v;
        std::fill_n(o, d.v, 0.0f);
        for (int64_t p = 0; p < len; ++p) simd::Axpy(scores[p], s.vfull.data() + (p * H + h) * per_head + d.nope, o, d.v);
      }
    }
  });
}

}  // namespace

void Mla(Backend& be, const MlaDims& d, const MlaWeights& w, const RopeTable& rope, MlaForm form, int64_t layer,
         std::span<const SeqSpan> seqs, const float* x, size_t n, float* out, MlaScratch& s) {
  const int64_t H = d.n_heads, L = d.kv_lora_rank, qk = d.qk(), half = d.rope / 2;
  for (const SeqSpan& sp : seqs)
    if (sp.cache->length() + static_cast<int64_t>(sp.n) > sp.cache->capacity())
      throw Error("", "context", "sequence of " + std::to_string(sp.cache->length() + sp.n) +
                                     " tokens exceeds the context size " + std::to_string(sp.cache->capacity()));
  Grow(s.q, n * H * qk);
  if (d.q_lora_rank > 0) {
    Grow(s.qa, n * d.q_lora_rank);
    be.MatMul(w.q_a_proj, x, n, s.qa.data());
    for (size_t t = 0; t < n; ++t) {
      float* r = s.qa.data() + t * d.q_lora_rank;
      ref::RmsNorm(r, w.q_a_norm, d.q_lora_rank, d.eps, r);
    }
    be.MatMul(w.q_b_proj, s.qa.data(), n, s.q.data());
  } else {
    be.MatMul(w.q_proj, x, n, s.q.data());
  }
  Grow(s.kv, n * (L + d.rope));
  be.MatMul(w.kv_a_proj, x, n, s.kv.data());

  Grow(s.cos, half);
  Grow(s.sin, half);
  for (const SeqSpan& sp : seqs) {
    for (size_t i = 0; i < sp.n; ++i) {
      const size_t t = sp.begin + i;
      const int64_t pos = sp.cache->length() + static_cast<int64_t>(i);
      rope.Angles(pos, s.cos.data(), s.sin.data());
      const float* kv = s.kv.data() + t * (L + d.rope);
      float* row = sp.cache->Row(layer, pos);
      ref::RmsNorm(kv, w.kv_a_norm, L, d.eps, row);
      std::copy_n(kv + L, d.rope, row + L);
      ref::RopeInterleaved(row + L, s.cos.data(), s.sin.data(), half);
      for (int64_t h = 0; h < H; ++h)
        ref::RopeInterleaved(s.q.data() + (t * H + h) * qk + d.nope, s.cos.data(), s.sin.data(), half);
    }
  }

  Grow(s.attn_out, n * H * d.v);
  if (form == MlaForm::kAbsorbed) {
    AbsorbedAttention(be, d, w, layer, seqs, n, s);
  } else {
    for (const SeqSpan& sp : seqs) NaiveAttention(be, d, w, layer, sp, s);
  }
  be.MatMul(w.o_proj, s.attn_out.data(), n, out);
}

}  // namespace dseek
