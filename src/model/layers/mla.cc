#include "model/layers/mla.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "kernels/ref/ref_ops.h"
#include "kernels/simd/vec_ops.h"

namespace dseek {
namespace {

void Grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

int64_t LongestContext(std::span<const SeqSpan> seqs) {
  int64_t m = 0;
  for (const SeqSpan& sp : seqs) m = std::max(m, sp.cache->length() + static_cast<int64_t>(sp.n));
  return m;
}

// Cache rows are read in chunks: a bf16 cache widens one chunk at a time
// into a small float buffer that stays in cache for the product.
constexpr int64_t kRowChunk = 256;

// Scores of every head against cache rows [p0, p1) of one token: a block
// product of the cache rows with the heads' [q_abs, q_pe] queries (already
// times the softmax scale), so each cache row is loaded once for all heads.
void LatentScores(const MlaDims& d, const KvCache& cache, int64_t layer, const float* qcat, int64_t len, int64_t p0,
                  int64_t p1, float* scores) {
  thread_local std::vector<float> widened;
  for (int64_t c0 = p0; c0 < p1; c0 += kRowChunk) {
    const int64_t c1 = std::min(p1, c0 + kRowChunk);
    simd::MatMulBlock(cache.Rows(layer, c0, c1 - c0, widened), static_cast<size_t>(c1 - c0), qcat,
                      static_cast<size_t>(d.n_heads), static_cast<size_t>(cache.width()), scores + c0,
                      static_cast<size_t>(len));
  }
}

// ctx[h] += sum over p in [p0, p1) of probs[h][p] * latent[p], all heads per row.
void LatentContext(const MlaDims& d, const KvCache& cache, int64_t layer, const float* probs, int64_t len,
                   int64_t p0, int64_t p1, float* ctx) {
  thread_local std::vector<float> widened;
  for (int64_t c0 = p0; c0 < p1; c0 += kRowChunk) {
    const int64_t c1 = std::min(p1, c0 + kRowChunk);
    simd::WeightedRowSums(probs + c0, static_cast<size_t>(len), static_cast<size_t>(d.n_heads),
                          cache.Rows(layer, c0, c1 - c0, widened), static_cast<size_t>(cache.width()),
                          static_cast<size_t>(c1 - c0), static_cast<size_t>(d.kv_lora_rank), ctx,
                          static_cast<size_t>(d.kv_lora_rank));
  }
}

// For each head h: y[t, h] = W[h] x[t, h] for the n tokens, where W[h] is
// rows [h*rows, (h+1)*rows) of w (cols wide), x[t, h] starts at
// x + t*x_tok + h*x_head and y[t, h] at y + t*y_tok + h*y_head. Heads run
// side by side, one thread each, on gathered contiguous token rows.
void PerHeadProducts(Backend& be, const Matrix& w, int64_t rows, int64_t cols, int64_t H, size_t n, const float* x,
                     int64_t x_head, int64_t x_tok, float* y, int64_t y_head, int64_t y_tok, MlaScratch& s) {
  const int threads = be.Threads();
  Grow(s.head_in, static_cast<size_t>(threads) * n * cols);
  Grow(s.head_out, static_cast<size_t>(threads) * n * rows);
  const bool local = be.CanMatMulLocal(w);
  auto head = [&](int64_t h, float* in, float* out, bool parallel) {
    for (size_t t = 0; t < n; ++t) std::copy_n(x + t * x_tok + h * x_head, cols, in + t * cols);
    const Matrix wh = w.RowSlice(h * rows, rows);
    if (parallel) {
      be.MatMul(wh, in, n, out);
    } else {
      be.MatMulLocal(wh, in, n, out);
    }
    for (size_t t = 0; t < n; ++t) std::copy_n(out + t * rows, rows, y + t * y_tok + h * y_head);
  };
  if (!local) {
    for (int64_t h = 0; h < H; ++h) head(h, s.head_in.data(), s.head_out.data(), true);
    return;
  }
  be.ParallelFor(static_cast<size_t>(threads), 1, [&](size_t c0, size_t c1) {
    for (size_t c = c0; c < c1; ++c)
      for (int64_t h = static_cast<int64_t>(c); h < H; h += threads)
        head(h, s.head_in.data() + c * n * cols, s.head_out.data() + c * n * rows, false);
  });
}

// Attention over the latent cache in absorbed form. W_UK / W_UV are either
// the split per-head matrices (k_b / v_b, multiplied as they are stored) or
// kv_b_proj rows widened once per head for the whole batch; the attention runs
// token-parallel when the batch has many tokens (prefill) and splits each
// token's context across threads otherwise (decode).
void AbsorbedAttention(Backend& be, const MlaDims& d, const MlaWeights& w, int64_t layer,
                       std::span<const SeqSpan> seqs, size_t n, MlaScratch& s) {
  const int64_t H = d.n_heads, L = d.kv_lora_rank, qk = d.qk(), per_head = d.nope + d.v;
  const int64_t longest = LongestContext(seqs);
  const int threads = be.Threads();
  Grow(s.q_abs, n * H * L);
  Grow(s.ctx, n * H * L);
  Grow(s.rows, H * L);
  const bool split = w.has_split_kv_b();
  if (split) {
    // q_abs[., h] = k_b[h] q_nope[., h]: one product per head, heads side by side.
    PerHeadProducts(be, w.k_b, L, d.nope, H, n, s.q.data(), qk, H * qk, s.q_abs.data(), L, H * L, s);
  } else {
    // q_abs[t,h] = W_UK[h]^T q_nope[t,h]: a weighted sum of the head's K rows.
    be.ParallelFor(H, 1, [&](size_t h0, size_t h1) {
      for (size_t h = h0; h < h1; ++h) {
        float* row = s.rows.data() + h * L;
        for (size_t t = 0; t < n; ++t) std::fill_n(s.q_abs.data() + (t * H + h) * L, L, 0.0f);
        for (int64_t j = 0; j < d.nope; ++j) {
          simd::WidenRow(w.kv_b_proj, h * per_head + j, row);
          for (size_t t = 0; t < n; ++t)
            simd::Axpy(s.q[(t * H + h) * qk + j], row, s.q_abs.data() + (t * H + h) * L, L);
        }
      }
    });
  }
  // [q_abs, q_pe] per head, times the softmax scale: one query row per head
  // against the cache's [latent, k_pe] rows.
  const int64_t W = L + d.rope;
  Grow(s.qcat, n * H * W);
  for (size_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < H; ++h) {
      float* qc = s.qcat.data() + (t * H + h) * W;
      const float* qa = s.q_abs.data() + (t * H + h) * L;
      const float* qr = s.q.data() + (t * H + h) * qk + d.nope;
      for (int64_t i = 0; i < L; ++i) qc[i] = qa[i] * d.softmax_scale;
      for (int64_t i = 0; i < d.rope; ++i) qc[L + i] = qr[i] * d.softmax_scale;
    }
  // (token, sequence) pairs in batch order.
  s.token_seq.clear();
  for (size_t k = 0; k < seqs.size(); ++k)
    for (size_t i = 0; i < seqs[k].n; ++i) s.token_seq.push_back({seqs[k].begin + i, k});
  auto token_len = [&](size_t idx) {
    const SeqSpan& sp = seqs[s.token_seq[idx].second];
    return sp.cache->length() + static_cast<int64_t>(s.token_seq[idx].first - sp.begin) + 1;  // causal
  };
  if (n >= static_cast<size_t>(2 * threads)) {
    // Many tokens: one token per task, all heads, whole context.
    Grow(s.scores, static_cast<size_t>(threads) * H * longest);
    std::atomic<size_t> next{0};
    be.ParallelFor(threads, 1, [&](size_t c0, size_t c1) {
      for (size_t c = c0; c < c1; ++c) {
        float* scores = s.scores.data() + c * H * longest;
        for (size_t idx; (idx = next.fetch_add(1)) < n;) {
          const size_t t = s.token_seq[idx].first;
          const KvCache& cache = *seqs[s.token_seq[idx].second].cache;
          const int64_t len = token_len(idx);
          LatentScores(d, cache, layer, s.qcat.data() + t * H * W, len, 0, len, scores);
          for (int64_t h = 0; h < H; ++h) simd::Softmax(scores + h * len, len);
          float* ctx = s.ctx.data() + t * H * L;
          std::fill_n(ctx, H * L, 0.0f);
          LatentContext(d, cache, layer, scores, len, 0, len, ctx);
        }
      }
    });
  } else {
    // Few tokens: split each token's context into one chunk per thread.
    Grow(s.scores, H * longest);
    Grow(s.ctx_part, static_cast<size_t>(threads) * H * L);
    for (size_t idx = 0; idx < n; ++idx) {
      const size_t t = s.token_seq[idx].first;
      const KvCache& cache = *seqs[s.token_seq[idx].second].cache;
      const int64_t len = token_len(idx);
      const int64_t chunk = (len + threads - 1) / threads;
      float* scores = s.scores.data();
      be.ParallelFor(threads, 1, [&](size_t c0, size_t c1) {
        for (size_t c = c0; c < c1; ++c)
          LatentScores(d, cache, layer, s.qcat.data() + t * H * W, len, std::min<int64_t>(len, c * chunk),
                       std::min<int64_t>(len, (c + 1) * chunk), scores);
      });
      for (int64_t h = 0; h < H; ++h) simd::Softmax(scores + h * len, len);
      be.ParallelFor(threads, 1, [&](size_t c0, size_t c1) {
        for (size_t c = c0; c < c1; ++c) {
          float* part = s.ctx_part.data() + c * H * L;
          std::fill_n(part, H * L, 0.0f);
          LatentContext(d, cache, layer, scores, len, std::min<int64_t>(len, c * chunk),
                        std::min<int64_t>(len, (c + 1) * chunk), part);
        }
      });
      float* ctx = s.ctx.data() + t * H * L;
      std::copy_n(s.ctx_part.data(), H * L, ctx);
      for (int c = 1; c < threads; ++c)
        for (int64_t i = 0; i < H * L; ++i) ctx[i] += s.ctx_part[c * H * L + i];
    }
  }
  if (split) {
    // out[., h] = v_b[h] ctx[., h]
    PerHeadProducts(be, w.v_b, d.v, L, H, n, s.ctx.data(), L, H * L, s.attn_out.data(), d.v, H * d.v, s);
    return;
  }
  // out[t, h*v + j] = W_UV[h][j] . ctx[t,h]
  be.ParallelFor(H, 1, [&](size_t h0, size_t h1) {
    for (size_t h = h0; h < h1; ++h) {
      float* row = s.rows.data() + h * L;
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
  const int64_t W = cache.width();
  const float* rows = cache.Rows(layer, 0, total, s.widened);
  Grow(s.kfull, total * L);
  for (int64_t p = 0; p < total; ++p) std::copy_n(rows + p * W, L, s.kfull.data() + p * L);
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
          scores[p] = (simd::DotF32(q, k, d.nope) + simd::DotF32(q + d.nope, rows + p * W + L, d.rope)) *
                      d.softmax_scale;
        }
        simd::Softmax(scores, len);
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
  Grow(s.kv, n * (L + d.rope));
  if (d.q_lora_rank > 0) {
    Grow(s.qa, n * d.q_lora_rank);
    const Matrix* ws[2] = {&w.q_a_proj, &w.kv_a_proj};
    float* ys[2] = {s.qa.data(), s.kv.data()};
    be.MatMulShared(ws, x, n, ys);
    for (size_t t = 0; t < n; ++t) {
      float* r = s.qa.data() + t * d.q_lora_rank;
      ref::RmsNorm(r, w.q_a_norm, d.q_lora_rank, d.eps, r);
    }
    be.MatMul(w.q_b_proj, s.qa.data(), n, s.q.data());
  } else {
    const Matrix* ws[2] = {&w.q_proj, &w.kv_a_proj};
    float* ys[2] = {s.q.data(), s.kv.data()};
    be.MatMulShared(ws, x, n, ys);
  }

  Grow(s.cos, half);
  Grow(s.sin, half);
  for (const SeqSpan& sp : seqs) {
    for (size_t i = 0; i < sp.n; ++i) {
      const size_t t = sp.begin + i;
      const int64_t pos = sp.cache->length() + static_cast<int64_t>(i);
      rope.Angles(pos, s.cos.data(), s.sin.data());
      const float* kv = s.kv.data() + t * (L + d.rope);
      Grow(s.row, L + d.rope);
      float* row = s.row.data();
      ref::RmsNorm(kv, w.kv_a_norm, L, d.eps, row);
      std::copy_n(kv + L, d.rope, row + L);
      ref::RopeInterleaved(row + L, s.cos.data(), s.sin.data(), half);
      sp.cache->WriteRow(layer, pos, row);
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
