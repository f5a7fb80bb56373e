// Token sampling: one step's logits in, one token id out. Stands alone: it
// depends only on base/ and knows nothing of models, tokenizers or sessions.
//
// The pipeline follows llama.cpp's default sampler chain:
//   logit bias -> penalties (repetition, presence, frequency)
//   -> top-k -> top-p -> min-p -> temperature -> seeded draw.
// Greedy decoding (params.greedy, or temperature == 0) still applies the bias
// and the penalties, then takes the argmax with no sort.
//
// Determinism: the draw uses std::mt19937_64 (whose output the standard fixes)
// and turns its raw 64 bits into a uniform double itself, because the
// standard's distributions are implementation-defined. Every ordering uses a
// total order (logit descending, then id ascending), so results do not depend
// on how the library's sort breaks ties. Same seed, same logits -> same tokens.
//
// Memory: a Sampler owns vocab-sized scratch buffers, sized on the first call
// and reused, so steady-state sampling does not allocate. Not thread-safe: use
// one Sampler per sequence.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dseek {

// What a request asks of the sampler, in the shape of vLLM's SamplingParams /
// the OpenAI request fields. `stop` and `max_tokens` are carried for the
// generation loop (see stop_strings.h); the Sampler itself ignores them.
struct SamplingParams {
  float temperature = 1.0f;  // 0 means greedy
  int top_k = 0;             // 0 = off
  float top_p = 1.0f;        // (0, 1]; 1 = off
  float min_p = 0.0f;        // [0, 1], relative to the most likely token; 0 = off
  float repetition_penalty = 1.0f;  // CTRL-style; 1 = off
  float presence_penalty = 0.0f;    // OpenAI-style, [-2, 2]
  float frequency_penalty = 0.0f;   // OpenAI-style, [-2, 2]
  int penalty_last_n = 64;  // window of history the penalties see; -1 = all, 0 = off
  std::unordered_map<int32_t, float> logit_bias;  // added to the logit; -inf bans
  uint64_t seed = 0;
  bool greedy = false;
  std::vector<std::string> stop;  // stop strings, matched on decoded text
  int max_tokens = -1;            // -1 = no limit of its own

  bool IsGreedy() const { return greedy || temperature == 0.0f; }

  // Throws dseek::Error(where, field, reason) on the first out-of-range value.
  // `where` names the source of the values (a file, "request", ...).
  void Validate(std::string_view where = "sampling params") const;
};

// One surviving candidate of the final distribution.
struct TokenProb {
  int32_t id;
  float logit;  // after bias and penalties, before temperature
  float prob;   // after every filter and temperature; sums to 1 over the set
};

class Sampler {
 public:
  // Validates `params` (throws dseek::Error) and seeds the RNG with params.seed.
  explicit Sampler(const SamplingParams& params);

  // Picks the next token. `logits` has one entry per vocabulary id;
  // `history` holds the previous tokens, prompt included, oldest first.
  // Throws dseek::Error if logits are empty or hold NaN, if a logit_bias id
  // (or, with penalties on, a history id) is outside the vocabulary, or if
  // every token is banned (-inf).
  int32_t Sample(std::span<const float> logits,
                 std::span<const int32_t> history);

  // The distribution Sample() would draw from, without drawing: the kept
  // candidates with their probabilities, in a deterministic order (most
  // likely first when top-k is on; otherwise mostly by id). For greedy, the
  // single argmax with prob 1. Valid until the next call on this Sampler.
  std::span<const TokenProb> Distribution(std::span<const float> logits,
                                          std::span<const int32_t> history);

  // Applies the logit bias then the penalties to `logits` in place: the exact
  // first stage of Sample(), exposed so callers and tests can see it.
  void ApplyBiasAndPenalties(std::span<float> logits,
                             std::span<const int32_t> history);

  // Restarts the random sequence as if constructed with this seed.
  void Reset(uint64_t seed);

  const SamplingParams& params() const { return params_; }

 private:
  // The logits after bias and penalties: the caller's span itself when
  // neither is active, else work_. Throws on empty logits or bad ids.
  std::span<const float> PrepareLogits(std::span<const float> logits,
                                       std::span<const int32_t> history);
  int32_t Argmax(std::span<const float> logits) const;
  // Fills cand_ with the final distribution (non-greedy path).
  void BuildDistribution(std::span<const float> logits);
  void CollectTopK(std::span<const float> logits);
  void CollectAll(std::span<const float> logits);
  void KeepTopP(float max_logit);
  double UniformDouble();

  SamplingParams params_;
  // logit_bias as a sorted vector: deterministic order, no hashing per step.
  std::vector<std::pair<int32_t, float>> bias_;
  std::mt19937_64 rng_;

  std::vector<float> work_;       // [vocab] logits after bias and penalties
  std::vector<int32_t> counts_;   // [vocab] occurrences in the penalty window; kept zero
  std::vector<int32_t> touched_;  // ids whose counts_ are nonzero
  std::vector<TokenProb> cand_;   // surviving candidates
  std::vector<TokenProb> tail_;   // top-p: the bucket where the cut falls
  static constexpr size_t kBuckets = 256;
  std::array<double, kBuckets> bucket_mass_;  // top-p: mass per logit bucket
  double prob_sum_ = 0.0;         // sum of cand_[i].prob as stored (about 1)
};

}  // namespace dseek
