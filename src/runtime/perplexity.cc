#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "base/error.h"

namespace dseek {
namespace {

// log-sum-exp of n logits (max-subtracted, double accumulator).
double LogSumExp(const float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, x[i]);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - mx);
  return mx + std::log(s);
}

int64_t ArgMaxOf(const float* x, int64_t n) { return std::max_element(x, x + n) - x; }

// KL(p || q) with p, q the softmaxes of logits a and b.
double Kl(const float* a, double lse_a, const float* b, double lse_b, int64_t n) {
  double kl = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double la = a[i] - lse_a, lb = b[i] - lse_b;
    kl += std::exp(la) * (la - lb);
  }
  return std::max(kl, 0.0);
}

// Mean and standard error of the mean from running sums (llama.cpp's formula).
void MeanSe(double sum, double sum2, int64_t n, double* mean, double* se) {
  *mean = n > 0 ? sum / static_cast<double>(n) : 0;
  const double var = n > 0 ? sum2 / static_cast<double>(n) - *mean * *mean : 0;
  *se = n > 1 && var > 0 ? std::sqrt(var / static_cast<double>(n - 1)) : 0;
}

}  // namespace

PerplexityResult ComputePerplexity(Model& model, const std::vector<int32_t>& tokens, const PerplexityOptions& opt,
                                   Model* base, const std::function<void(int64_t, int64_t)>& progress) {
  const int64_t ctx = opt.ctx, V = model.facts().vocab_size;
  if (ctx < 4) throw Error("", "--ctx", "must be at least 4");
  if (opt.batch < 1) throw Error("", "--batch", "must be positive");
  const int64_t n_windows = static_cast<int64_t>(tokens.size()) / ctx;
  if (n_windows < 1)
    throw Error("", "--ctx", "the input is " + std::to_string(tokens.size()) + " tokens, fewer than one window of " +
                                       std::to_string(ctx) + " (use a smaller --ctx)");
  if (base && base->facts().vocab_size != V)
    throw Error("", "--kl-base", "vocabulary sizes differ (" + std::to_string(base->facts().vocab_size) + " vs " +
                                     std::to_string(V) + ")");
  const int64_t first = ctx / 2;
  const int64_t batch = std::min(opt.batch, ctx);
  std::vector<float> logits(static_cast<size_t>(batch * V)), base_logits(base ? static_cast<size_t>(batch * V) : 0);
  std::vector<double> kls;
  double nll = 0, nll2 = 0, bnll = 0, bnll2 = 0, kl = 0, kl2 = 0;
  int64_t count = 0, agree = 0;

  for (int64_t w = 0; w < n_windows; ++w) {
    std::vector<int32_t> win(tokens.begin() + w * ctx, tokens.begin() + (w + 1) * ctx);
    if (opt.bos_id >= 0) win[0] = opt.bos_id;
    auto cache = model.NewCache(ctx);
    auto base_cache = base ? base->NewCache(ctx) : nullptr;
    for (int64_t b0 = 0; b0 < ctx; b0 += batch) {
      const int64_t nb = std::min(batch, ctx - b0);
      // Nothing in this batch is scored: still run it, for the cache.
      model.Forward(win.data() + b0, static_cast<size_t>(nb), *cache, logits.data(), true);
      if (base) base->Forward(win.data() + b0, static_cast<size_t>(nb), *base_cache, base_logits.data(), true);
      for (int64_t t = 0; t < nb; ++t) {
        const int64_t j = b0 + t;  // position whose logits predict win[j + 1]
        if (j < first || j + 1 >= ctx) continue;
        const float* l = logits.data() + t * V;
        const double lse = LogSumExp(l, V);
        const double v = lse - l[win[j + 1]];
        nll += v;
        nll2 += v * v;
        ++count;
        if (base) {
          const float* bl = base_logits.data() + t * V;
          const double blse = LogSumExp(bl, V);
          const double bv = blse - bl[win[j + 1]];
          bnll += bv;
          bnll2 += bv * bv;
          const double k = Kl(bl, blse, l, lse, V);
          kl += k;
          kl2 += k * k;
          kls.push_back(k);
          agree += ArgMaxOf(bl, V) == ArgMaxOf(l, V);
        }
      }
    }
    if (progress) progress(w + 1, n_windows);
  }

  PerplexityResult r;
  r.windows = n_windows;
  r.scored = count;
  double se = 0;
  MeanSe(nll, nll2, count, &r.nll_mean, &se);
  r.ppl = std::exp(r.nll_mean);
  r.ppl_se = r.ppl * se;
  if (base) {
    r.has_kl = true;
    double bmean = 0, bse = 0;
    MeanSe(bnll, bnll2, count, &bmean, &bse);
    r.base_ppl = std::exp(bmean);
    r.base_ppl_se = r.base_ppl * bse;
    MeanSe(kl, kl2, count, &r.kl_mean, &r.kl_se);
    std::sort(kls.begin(), kls.end());
    if (!kls.empty()) {
      r.kl_max = kls.back();
      r.kl_median = kls[kls.size() / 2];
      r.kl_p99 = kls[std::min(kls.size() - 1, static_cast<size_t>(std::ceil(0.99 * static_cast<double>(kls.size()))) - 1)];
    }
    const double p = count > 0 ? static_cast<double>(agree) / static_cast<double>(count) : 0;
    r.top1_agree = p;
    r.top1_agree_se = count > 1 ? std::sqrt(p * (1 - p) / static_cast<double>(count - 1)) : 0;
  }
  return r;
}

}  // namespace dseek
