// DeepSeekMoE: a router choosing top-k routed experts per token (softmax or
// sigmoid scores; greedy, group-limited greedy or noaux_tc selection), the
// chosen SiLU-gated experts weighted by their scores, plus shared experts that
// see every token. Tokens are grouped by expert so each active expert runs
// once as a matrix-matrix product; unselected experts cost nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "model/layers/dense_mlp.h"

namespace dseek {

enum class TopkMethod { kGreedy, kGroupLimitedGreedy, kNoauxTc };
enum class ScoringFunc { kSoftmax, kSigmoid };

struct RouterParams {
  int64_t n_experts = 0;
  int64_t top_k = 0;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  TopkMethod method = TopkMethod::kGreedy;
  ScoringFunc scoring = ScoringFunc::kSoftmax;
  bool norm_topk_prob = false;
  bool scale_after_norm = true;  // false: routed_scaling_factor only when not renormalised (HF V2)
  float routed_scaling_factor = 1.0f;
};

// One token's routing. logits: [n_experts] router outputs; bias: the
// e_score_correction_bias (noaux_tc; may be null), used to choose experts but
// never in their weights. Writes top_k expert ids and weights.
// scratch must hold 2 * n_experts floats.
void RouteToken(const RouterParams& p, const float* logits, const float* bias, int32_t* ids, float* weights,
                float* scratch);

struct MoeWeights {
  Matrix router;                 // [n_experts, hidden]
  const float* bias = nullptr;   // [n_experts] or null
  std::vector<DenseMlpWeights> experts;
  bool has_shared = false;
  DenseMlpWeights shared;
};

struct MoeScratch {
  std::vector<float> logits, route_scratch, weights, xe, ye;
  std::vector<int32_t> ids, active;
  std::vector<float> local;  // per-expert buffers of the side-by-side decode path
  std::vector<std::vector<std::pair<int32_t, float>>> per_expert;  // (token, weight)
  MlpScratch mlp;
};

// x: [n, hidden] -> out: [n, hidden] (overwritten).
void MoeFfn(Backend& be, const MoeWeights& w, const RouterParams& p, const float* x, size_t n, int64_t hidden,
            float* out, MoeScratch& s);

}  // namespace dseek
