#include "model/layers/moe.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "kernels/simd/vec_ops.h"

namespace dseek {

namespace {
// Indices of the k largest values (ties: lower index first), best first.
void TopK(const float* v, int64_t n, int64_t k, int32_t* out) {
  for (int64_t j = 0; j < k; ++j) out[j] = -1;
  for (int64_t i = 0; i < n; ++i) {
    // insertion into a short sorted list; k is small (<= 8 or so)
    int64_t pos = k;
    while (pos > 0 && (out[pos - 1] < 0 || v[i] > v[out[pos - 1]])) --pos;
    if (pos >= k) continue;
    for (int64_t j = k - 1; j > pos; --j) out[j] = out[j - 1];
    out[pos] = static_cast<int32_t>(i);
  }
}
}  // namespace

void RouteToken(const RouterParams& p, const float* logits, const float* bias, int32_t* ids, float* weights,
                float* scratch) {
  const int64_t E = p.n_experts;
  float* scores = scratch;          // unbiased scores: the weights come from these
  float* choice = scratch + E;      // what selection ranks (biased for noaux_tc)
  if (p.scoring == ScoringFunc::kSoftmax) {
    float m = -INFINITY;
    for (int64_t e = 0; e < E; ++e) m = std::max(m, logits[e]);
    float sum = 0.0f;
    for (int64_t e = 0; e < E; ++e) sum += scores[e] = std::exp(logits[e] - m);
    for (int64_t e = 0; e < E; ++e) scores[e] /= sum;
  } else {
    for (int64_t e = 0; e < E; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logits[e]));
  }
  for (int64_t e = 0; e < E; ++e) choice[e] = scores[e] + (bias != nullptr ? bias[e] : 0.0f);

  if (p.n_group > 1 && p.method != TopkMethod::kGreedy) {
    const int64_t per = E / p.n_group;
    float group_score[256];
    int32_t keep[256];
    const int64_t G = std::min<int64_t>(p.n_group, 256);
    for (int64_t g = 0; g < G; ++g) {
      const float* s = choice + g * per;
      if (p.method == TopkMethod::kNoauxTc) {
        // Sum of the two best biased scores in the group.
        int32_t top2[2];
        TopK(s, per, std::min<int64_t>(2, per), top2);
        group_score[g] = s[top2[0]] + (per > 1 ? s[top2[1]] : 0.0f);
      } else {
        group_score[g] = *std::max_element(s, s + per);
      }
    }
    TopK(group_score, G, p.topk_group, keep);
    bool kept[256] = {false};
    for (int64_t j = 0; j < p.topk_group; ++j) kept[keep[j]] = true;
    for (int64_t g = 0; g < G; ++g)
      if (!kept[g])
        for (int64_t e = g * per; e < (g + 1) * per; ++e) choice[e] = -std::numeric_limits<float>::infinity();
  }
  TopK(choice, E, p.top_k, ids);
  float sum = 0.0f;
  for (int64_t j = 0; j < p.top_k; ++j) sum += weights[j] = scores[ids[j]];
  const bool renorm = p.top_k > 1 && p.norm_topk_prob;
  if (renorm)
    for (int64_t j = 0; j < p.top_k; ++j) weights[j] /= sum + 1e-20f;
  if (!renorm || p.scale_after_norm)
    for (int64_t j = 0; j < p.top_k; ++j) weights[j] *= p.routed_scaling_factor;
}

namespace {

bool LocalOk(const Backend& be, const DenseMlpWeights& m) {
  return be.CanMatMulLocal(m.gate) && be.CanMatMulLocal(m.up) && be.CanMatMulLocal(m.down);
}

}  // namespace

// Decode (one or two tokens): each thread runs whole experts (and the shared
// expert) on its own, so a MoE layer costs one parallel region instead of
// three per expert; the sum keeps the usual order, so results are identical.
bool DecodeExpertsSideBySide(Backend& be, const MoeWeights& w, const float* x, size_t n, int64_t hidden, float* out,
                             MoeScratch& s) {
  s.active.clear();
  for (size_t e = 0; e < s.per_expert.size(); ++e)
    if (!s.per_expert[e].empty()) {
      if (!LocalOk(be, w.experts[e])) return false;
      s.active.push_back(static_cast<int32_t>(e));
    }
  if (w.has_shared && !LocalOk(be, w.shared)) return false;
  const size_t tasks = s.active.size() + (w.has_shared ? 1 : 0);
  // Per task: input rows, gate, up, output rows.
  size_t max_inter = 0;
  for (int32_t e : s.active) max_inter = std::max<size_t>(max_inter, w.experts[e].gate.rows);
  if (w.has_shared) max_inter = std::max<size_t>(max_inter, w.shared.gate.rows);
  const size_t stride = 2 * n * hidden + 2 * n * max_inter;
  if (s.local.size() < tasks * stride) s.local.resize(tasks * stride);
  std::atomic<size_t> next{0};
  be.ParallelFor(static_cast<size_t>(be.Threads()), 1, [&](size_t, size_t) {
    for (size_t k; (k = next.fetch_add(1)) < tasks;) {
      float* buf = s.local.data() + k * stride;
      float* xe = buf;
      float* ye = xe + n * hidden;
      float* g = ye + n * hidden;
      float* u = g + n * max_inter;
      // The shared expert (the largest task) goes first: taken last, it
      // would leave the other threads idle while one thread finishes it.
      const bool shared = w.has_shared && k == 0;
      const size_t routed = k - (w.has_shared ? 1 : 0);
      const DenseMlpWeights& m = shared ? w.shared : w.experts[s.active[routed]];
      size_t rows = n;
      if (shared) {
        std::copy_n(x, n * hidden, xe);
      } else {
        const auto& toks = s.per_expert[s.active[routed]];
        rows = toks.size();
        for (size_t i = 0; i < rows; ++i) std::copy_n(x + toks[i].first * hidden, hidden, xe + i * hidden);
      }
      const size_t inter = static_cast<size_t>(m.gate.rows);
      be.MatMulLocal(m.gate, xe, rows, g);
      be.MatMulLocal(m.up, xe, rows, u);
      simd::SiluMul(g, u, rows * inter, g);
      be.MatMulLocal(m.down, g, rows, ye);
    }
  });
  if (w.has_shared) {
    std::copy_n(s.local.data() + n * hidden, n * hidden, out);
  } else {
    std::fill(out, out + n * hidden, 0.0f);
  }
  for (size_t k = 0; k < s.active.size(); ++k) {
    const auto& toks = s.per_expert[s.active[k]];
    const float* ye = s.local.data() + (k + (w.has_shared ? 1 : 0)) * stride + n * hidden;
    for (size_t i = 0; i < toks.size(); ++i)
      simd::Axpy(toks[i].second, ye + i * hidden, out + toks[i].first * hidden, hidden);
  }
  return true;
}

void MoeFfn(Backend& be, const MoeWeights& w, const RouterParams& p, const float* x, size_t n, int64_t hidden,
            float* out, MoeScratch& s) {
  const int64_t E = p.n_experts, K = p.top_k;
  if (s.logits.size() < n * E) s.logits.resize(n * E);
  if (s.route_scratch.size() < static_cast<size_t>(2 * E)) s.route_scratch.resize(2 * E);
  if (s.ids.size() < n * K) s.ids.resize(n * K);
  if (s.weights.size() < n * K) s.weights.resize(n * K);
  if (s.per_expert.size() < static_cast<size_t>(E)) s.per_expert.resize(E);
  be.MatMul(w.router, x, n, s.logits.data());
  for (auto& v : s.per_expert) v.clear();
  for (size_t t = 0; t < n; ++t) {
    RouteToken(p, s.logits.data() + t * E, w.bias, s.ids.data() + t * K, s.weights.data() + t * K,
               s.route_scratch.data());
    for (int64_t j = 0; j < K; ++j) s.per_expert[s.ids[t * K + j]].push_back({static_cast<int32_t>(t), s.weights[t * K + j]});
  }

  if (n <= 2 && be.Threads() > 1 && DecodeExpertsSideBySide(be, w, x, n, hidden, out, s)) return;

  // Shared experts first, straight into out; routed experts accumulate on top.
  if (w.has_shared) {
    DenseMlp(be, w.shared, x, n, out, s.mlp);
  } else {
    std::fill(out, out + n * hidden, 0.0f);
  }
  for (int64_t e = 0; e < E; ++e) {
    const auto& toks = s.per_expert[e];
    if (toks.empty()) continue;
    const size_t m = toks.size();
    if (s.xe.size() < m * hidden) s.xe.resize(m * hidden);
    if (s.ye.size() < m * hidden) s.ye.resize(m * hidden);
    for (size_t i = 0; i < m; ++i) std::copy_n(x + toks[i].first * hidden, hidden, s.xe.data() + i * hidden);
    DenseMlp(be, w.experts[e], s.xe.data(), m, s.ye.data(), s.mlp);
    for (size_t i = 0; i < m; ++i)
      simd::Axpy(toks[i].second, s.ye.data() + i * hidden, out + toks[i].first * hidden, hidden);
  }
}

}  // namespace dseek
