// Perplexity and KL-divergence over a token stream, scored the way llama.cpp's
// tools/perplexity does: the tokens are cut into windows of `ctx` tokens, the
// first token of each window is replaced by BOS when the vocabulary adds one,
// and only the predictions of the second half of each window count (token
// j+1 from the logits at j, for j in [ctx/2, ctx-1)), so every scored token
// has at least ctx/2 tokens of context.
//
// With a base model, KL(base || model) of the two next-token distributions is
// taken at the same positions (llama.cpp --kl-divergence), with its max, 99th
// percentile and how often both models rank the same token first.
//
// Runs the models given to it (one forward pass at a time each); no state of
// its own, no threads of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "model/model.h"

namespace dseek {

struct PerplexityOptions {
  int64_t ctx = 512;    // tokens per window
  int64_t batch = 512;  // tokens per forward pass (a window is fed in ceil(ctx/batch) passes)
  int32_t bos_id = -1;  // >= 0: the first token of every window becomes BOS
};

struct PerplexityResult {
  int64_t windows = 0;
  int64_t scored = 0;  // predictions counted
  double nll_mean = 0;  // mean negative log-likelihood (nats)
  double ppl = 0;
  double ppl_se = 0;    // standard error of ppl (ppl * se of the mean NLL)
  // With a base model:
  bool has_kl = false;
  double base_ppl = 0, base_ppl_se = 0;
  double kl_mean = 0, kl_se = 0, kl_max = 0, kl_p99 = 0, kl_median = 0;
  double top1_agree = 0, top1_agree_se = 0;  // share of positions, 0..1
};

// progress(windows_done, windows_total) after each window (optional).
// Throws dseek::Error when the stream is shorter than one window, when ctx < 4,
// or when the base and model vocabularies differ.
PerplexityResult ComputePerplexity(Model& model, const std::vector<int32_t>& tokens, const PerplexityOptions& opt,
                                   Model* base = nullptr,
                                   const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace dseek
