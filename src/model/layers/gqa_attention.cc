#include "model/layers/gqa_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/ref/ref_ops.h"
#include "kernels/simd/vec_ops.h"

namespace dseek {

namespace {
void Grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}
}  // namespace

void GqaAttention(Backend& be, const GqaDims& d, const GqaWeights& w, const RopeTable& rope, int64_t layer,
                  std::span<const SeqSpan> seqs, const float* x, size_t n, float* out, GqaScratch& s) {
  const int64_t H = d.n_heads, KV = d.n_kv_heads, hd = d.head_dim, half = hd / 2;
  int64_t longest = 0;
  for (const SeqSpan& sp : seqs) {
    const int64_t end = sp.cache->length() + static_cast<int64_t>(sp.n);
    if (end > sp.cache->capacity())
      throw Error("", "context", "sequence of " + std::to_string(end) + " tokens exceeds the context size " +
                                     std::to_string(sp.cache->capacity()));
    longest = std::max(longest, end);
  }
  Grow(s.q, n * H * hd);
  Grow(s.k, n * KV * hd);
  Grow(s.v, n * KV * hd);
  const Matrix* ws[3] = {&w.q, &w.k, &w.v};
  float* ys[3] = {s.q.data(), s.k.data(), s.v.data()};
  be.MatMulShared(ws, x, n, ys);
  Grow(s.cos, half);
  Grow(s.sin, half);
  for (const SeqSpan& sp : seqs) {
    for (size_t i = 0; i < sp.n; ++i) {
      const size_t t = sp.begin + i;
      const int64_t pos = sp.cache->length() + static_cast<int64_t>(i);
      float* q = s.q.data() + t * H * hd;
      float* k = s.k.data() + t * KV * hd;
      float* v = s.v.data() + t * KV * hd;
      if (w.q_bias) ref::AddBias(q, w.q_bias, H * hd);
      if (w.k_bias) ref::AddBias(k, w.k_bias, KV * hd);
      if (w.v_bias) ref::AddBias(v, w.v_bias, KV * hd);
      rope.Angles(pos, s.cos.data(), s.sin.data());
      for (int64_t h = 0; h < H; ++h) ref::RopeHalves(q + h * hd, s.cos.data(), s.sin.data(), half);
      for (int64_t h = 0; h < KV; ++h) ref::RopeHalves(k + h * hd, s.cos.data(), s.sin.data(), half);
      Grow(s.row, 2 * KV * hd);
      std::copy_n(k, KV * hd, s.row.data());
      std::copy_n(v, KV * hd, s.row.data() + KV * hd);
      sp.cache->WriteRow(layer, pos, s.row.data());
    }
  }
  // Each sequence's cache rows as float32 once per layer (a pointer into the
  // cache itself unless it stores bf16).
  s.seq_rows.resize(seqs.size());
  if (s.widened.size() < seqs.size()) s.widened.resize(seqs.size());
  for (size_t k = 0; k < seqs.size(); ++k)
    s.seq_rows[k] = seqs[k].cache->Rows(layer, 0, seqs[k].cache->length() + static_cast<int64_t>(seqs[k].n), s.widened[k]);
  const int64_t row_width = 2 * KV * hd;
  Grow(s.attn, n * H * hd);
  Grow(s.scores, H * longest);
  const int64_t group = H / KV;
  be.ParallelFor(H, 1, [&](size_t h0, size_t h1) {
    for (size_t h = h0; h < h1; ++h) {
      const int64_t kvh = static_cast<int64_t>(h) / group;
      float* scores = s.scores.data() + h * longest;
      for (size_t k = 0; k < seqs.size(); ++k) {
        const SeqSpan& sp = seqs[k];
        const KvCache& cache = *sp.cache;
        const float* rows = s.seq_rows[k];
        if (sp.n >= 4) {
          // Prefill: the head's scores for all of the sequence's new tokens as
          // one block product with the cache's K rows, causal positions masked
          // after it; the outputs as probability-weighted sums of V rows.
          const int64_t pos0 = cache.length(), total = pos0 + static_cast<int64_t>(sp.n);
          thread_local std::vector<float> probs;
          probs.resize(sp.n * static_cast<size_t>(total));
          simd::MatMulBlockStrided(rows + kvh * hd, static_cast<size_t>(row_width), static_cast<size_t>(total),
                                   s.q.data() + (sp.begin * H + h) * hd, static_cast<size_t>(H * hd), sp.n,
                                   static_cast<size_t>(hd), probs.data(), static_cast<size_t>(total));
          for (size_t i = 0; i < sp.n; ++i) {
            float* row = probs.data() + i * total;
            const int64_t len = pos0 + static_cast<int64_t>(i) + 1;
            for (int64_t p = 0; p < len; ++p) row[p] *= d.softmax_scale;
            simd::Softmax(row, static_cast<size_t>(len));
            std::fill(row + len, row + total, 0.0f);
            std::fill_n(s.attn.data() + ((sp.begin + i) * H + h) * hd, hd, 0.0f);
          }
          simd::WeightedRowSums(probs.data(), static_cast<size_t>(total), sp.n, rows + (KV + kvh) * hd,
                                static_cast<size_t>(row_width), static_cast<size_t>(total), static_cast<size_t>(hd),
                                s.attn.data() + (sp.begin * H + h) * hd, static_cast<size_t>(H * hd));
          continue;
        }
        for (size_t i = 0; i < sp.n; ++i) {
          const size_t t = sp.begin + i;
          const float* q = s.q.data() + (t * H + h) * hd;
          const int64_t len = cache.length() + static_cast<int64_t>(i) + 1;
          for (int64_t p = 0; p < len; ++p)
            scores[p] = simd::DotF32(q, rows + p * row_width + kvh * hd, hd) * d.softmax_scale;
          simd::Softmax(scores, static_cast<size_t>(len));
          float* o = s.attn.data() + (t * H + h) * hd;
          std::fill_n(o, hd, 0.0f);
          for (int64_t p = 0; p < len; ++p) simd::Axpy(scores[p], rows + p * row_width + (KV + kvh) * hd, o, hd);
        }
      }
    }
  });
  be.MatMul(w.o, s.attn.data(), n, out);
}

}  // namespace dseek
