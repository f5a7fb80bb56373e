#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "base/error.h"

namespace dseek {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr const char* kWhere = "sampler";

// The one order every sort uses: a strict total order, so the kept set and
// its order never depend on how the standard library breaks ties.
bool MoreLikely(const TokenProb& a, const TokenProb& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

[[noreturn]] void ThrowNaN(size_t i) {
  throw Error(kWhere, "logits", "NaN at token " + std::to_string(i));
}

[[noreturn]] void ThrowAllBanned() {
  throw Error(kWhere, "logits", "every token has logit -inf after logit_bias");
}

}  // namespace

Sampler::Sampler(const SamplingParams& params) : params_(params) {
  params_.Validate();
  bias_.assign(params_.logit_bias.begin(), params_.logit_bias.end());
  std::sort(bias_.begin(), bias_.end());
  Reset(params_.seed);
}

void Sampler::Reset(uint64_t seed) { rng_.seed(seed); }

double Sampler::UniformDouble() {
  // The top 53 bits fill a double's mantissa exactly: uniform on [0, 1).
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

void Sampler::ApplyBiasAndPenalties(std::span<float> logits,
                                    std::span<const int32_t> history) {
  const size_t vocab = logits.size();
  if (!bias_.empty() && static_cast<size_t>(bias_.back().first) >= vocab) {
    throw Error(kWhere, "logit_bias",
                "token id " + std::to_string(bias_.back().first) +
                    " is outside the vocabulary of " + std::to_string(vocab));
  }
  for (const auto& [id, bias] : bias_) logits[id] += bias;

  const SamplingParams& p = params_;
  const bool any_penalty = p.repetition_penalty != 1.0f ||
                           p.presence_penalty != 0.0f ||
                           p.frequency_penalty != 0.0f;
  if (!any_penalty || p.penalty_last_n == 0 || history.empty()) return;

  std::span<const int32_t> window = history;
  if (p.penalty_last_n > 0 &&
      window.size() > static_cast<size_t>(p.penalty_last_n)) {
    window = window.last(static_cast<size_t>(p.penalty_last_n));
  }
  for (int32_t t : window) {
    if (t < 0 || static_cast<size_t>(t) >= vocab) {
      throw Error(kWhere, "history",
                  "token id " + std::to_string(t) +
                      " is outside the vocabulary of " + std::to_string(vocab));
    }
  }

  // Count occurrences in a vocab-sized table kept all-zero between calls, so
  // the cost is O(window), not O(vocab), and nothing is allocated.
  if (counts_.size() < vocab) {
    counts_.resize(vocab, 0);
    touched_.reserve(vocab);
  }
  touched_.clear();
  for (int32_t t : window) {
    if (counts_[t]++ == 0) touched_.push_back(t);
  }
  for (int32_t t : touched_) {
    const float count = static_cast<float>(counts_[t]);
    counts_[t] = 0;
    float& l = logits[t];
    // CTRL (Keskar et al. 2019): shrink toward "less likely" on both sides
    // of zero, as llama.cpp does.
    if (p.repetition_penalty != 1.0f) {
      l = l <= 0.0f ? l * p.repetition_penalty : l / p.repetition_penalty;
    }
    // OpenAI: a flat cost for having appeared, plus one per appearance.
    l -= count * p.frequency_penalty + p.presence_penalty;
  }
  touched_.clear();
}

std::span<const float> Sampler::PrepareLogits(
    std::span<const float> logits, std::span<const int32_t> history) {
  if (logits.empty()) throw Error(kWhere, "logits", "empty logits");
  const SamplingParams& p = params_;
  const bool penalize = p.penalty_last_n != 0 && !history.empty() &&
                        (p.repetition_penalty != 1.0f ||
                         p.presence_penalty != 0.0f ||
                         p.frequency_penalty != 0.0f);
  // Without bias or penalties the caller's buffer is used as is: no copy.
  if (bias_.empty() && !penalize) return logits;
  work_.assign(logits.begin(), logits.end());  // reuses capacity
  ApplyBiasAndPenalties(work_, history);
  return work_;
}

int32_t Sampler::Argmax(std::span<const float> logits) const {
  // Strict '>' keeps the lowest index on ties.
  int32_t best = -1;
  float best_logit = kNegInf;
  for (size_t i = 0; i < logits.size(); ++i) {
    const float v = logits[i];
    if (std::isnan(v)) ThrowNaN(i);
    if (v > best_logit) {
      best_logit = v;
      best = static_cast<int32_t>(i);
    }
  }
  if (best < 0) ThrowAllBanned();
  return best;
}

void Sampler::CollectTopK(std::span<const float> logits) {
  // One pass with a heap of the k best so far, least likely on top: most
  // tokens lose a single comparison with the top, so this is O(vocab) in
  // practice, and the full candidate list is never built.
  const size_t k = static_cast<size_t>(params_.top_k);
  for (size_t i = 0; i < logits.size(); ++i) {
    const float v = logits[i];
    if (std::isnan(v)) ThrowNaN(i);
    if (v == kNegInf) continue;  // banned
    const TokenProb c{static_cast<int32_t>(i), v, 0.0f};
    if (cand_.size() < k) {
      cand_.push_back(c);
      std::push_heap(cand_.begin(), cand_.end(), MoreLikely);
    } else if (MoreLikely(c, cand_.front())) {
      std::pop_heap(cand_.begin(), cand_.end(), MoreLikely);
      cand_.back() = c;
      std::push_heap(cand_.begin(), cand_.end(), MoreLikely);
    }
  }
  std::sort_heap(cand_.begin(), cand_.end(), MoreLikely);  // most likely first
}

void Sampler::CollectAll(std::span<const float> logits) {
  for (size_t i = 0; i < logits.size(); ++i) {
    const float v = logits[i];
    if (std::isnan(v)) ThrowNaN(i);
    if (v == kNegInf) continue;  // banned
    cand_.push_back({static_cast<int32_t>(i), v, 0.0f});
  }
}

void Sampler::KeepTopP(float max_logit) {
  // The smallest most-likely set whose mass reaches top_p. Sorting the whole
  // vocabulary for it costs milliseconds on flat distributions, so first
  // bucket the candidates by distance below the maximum logit: every bucket
  // before the one where the mass crosses top_p is kept whole, every bucket
  // after it dropped, and only the crossing bucket is sorted to find the
  // exact cut. Buckets are monotone in the logit, so this is the same set a
  // full sort gives.
  constexpr float kSpan = 32.0f;  // logits further below the max share the last bucket
  constexpr float kScale = kBuckets / kSpan;
  auto bucket_of = [&](float logit) {
    const float d = (max_logit - logit) * kScale;
    return d < static_cast<float>(kBuckets - 1) ? static_cast<size_t>(d)
                                                : kBuckets - 1;
  };
  bucket_mass_.fill(0.0);
  double total = 0.0;
  for (const TokenProb& c : cand_) {
    const double w = std::exp(c.logit - max_logit);  // float exp: the hot loop
    bucket_mass_[bucket_of(c.logit)] += w;
    total += w;
  }
  const double target = static_cast<double>(params_.top_p) * total;
  double cum = 0.0;
  size_t crossing = 0;
  for (; crossing < kBuckets - 1; ++crossing) {
    if (cum + bucket_mass_[crossing] >= target) break;
    cum += bucket_mass_[crossing];
  }

  // Stable compaction keeps the order of the buckets kept whole; the
  // crossing bucket goes aside to be sorted.
  tail_.clear();
  size_t kept = 0;
  for (const TokenProb& c : cand_) {
    const size_t b = bucket_of(c.logit);
    if (b < crossing) {
      cand_[kept++] = c;
    } else if (b == crossing) {
      tail_.push_back(c);
    }
  }
  cand_.resize(kept);
  std::sort(tail_.begin(), tail_.end(), MoreLikely);
  for (const TokenProb& c : tail_) {
    cand_.push_back(c);
    cum += std::exp(c.logit - max_logit);  // the same float weights as above
    if (cum >= target) break;
  }
}

void Sampler::BuildDistribution(std::span<const float> logits) {
  const SamplingParams& p = params_;
  if (cand_.capacity() < logits.size()) {
    cand_.reserve(logits.size());
    tail_.reserve(logits.size());
  }
  cand_.clear();
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < logits.size()) {
    CollectTopK(logits);
  } else {
    CollectAll(logits);
  }
  if (cand_.empty()) ThrowAllBanned();
  float max_logit = kNegInf;
  for (const TokenProb& c : cand_) max_logit = std::max(max_logit, c.logit);

  // Top-p and min-p each keep the most likely token, so max_logit stays the
  // maximum of whatever remains.
  if (p.top_p < 1.0f) KeepTopP(max_logit);
  if (p.min_p > 0.0f) {
    // p_i / p_max = exp(l_i - l_max) >= min_p; a stable compaction.
    size_t kept = 0;
    for (const TokenProb& c : cand_) {
      if (std::exp(c.logit - max_logit) >= p.min_p) cand_[kept++] = c;
    }
    cand_.resize(kept);
  }

  // Temperature last, as llama.cpp: it reshapes what the filters kept.
  const float inv_t = 1.0f / p.temperature;
  double sum = 0.0;
  for (TokenProb& c : cand_) {
    c.prob = std::exp((c.logit - max_logit) * inv_t);
    sum += c.prob;
  }
  const double inv_sum = 1.0 / sum;  // sum >= 1: the maximum contributes 1
  prob_sum_ = 0.0;
  for (TokenProb& c : cand_) {
    c.prob = static_cast<float>(c.prob * inv_sum);
    prob_sum_ += c.prob;
  }
}

std::span<const TokenProb> Sampler::Distribution(
    std::span<const float> logits, std::span<const int32_t> history) {
  std::span<const float> prepared = PrepareLogits(logits, history);
  if (params_.IsGreedy()) {
    const int32_t id = Argmax(prepared);
    cand_.clear();
    cand_.push_back({id, prepared[id], 1.0f});
    prob_sum_ = 1.0;
    return cand_;
  }
  BuildDistribution(prepared);
  return cand_;
}

int32_t Sampler::Sample(std::span<const float> logits,
                        std::span<const int32_t> history) {
  if (params_.IsGreedy()) return Argmax(PrepareLogits(logits, history));
  BuildDistribution(PrepareLogits(logits, history));
  // Draw against the probabilities as stored, so float rounding in them can
  // only move the last boundary, never push the draw past the end.
  const double target = UniformDouble() * prob_sum_;
  double cum = 0.0;
  for (const TokenProb& c : cand_) {
    cum += c.prob;
    if (cum > target) return c.id;
  }
  return cand_.back().id;
}

}  // namespace dseek
