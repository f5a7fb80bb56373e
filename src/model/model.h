// What every architecture offers the runtime: a forward pass over a batch of
// tokens that appends to a KV cache, and facts about itself. Implementations
// own their weights (memory-mapped) and reusable activation buffers, so a
// Model serves one forward pass at a time (not thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "model/kv_cache.h"

namespace dseek {

// How MLA attention is computed; both forms give the same result.
enum class AttentionForm { kAuto, kAbsorbed, kNaive };

struct ModelOptions {
  AttentionForm prefill_form = AttentionForm::kAuto;  // decode always absorbs
};

struct ModelFacts {
  std::string architecture;
  int64_t vocab_size = 0;
  int64_t n_layers = 0;
  int64_t max_context = 0;
  int64_t params_total = 0;   // without MTP layers
  int64_t params_active = 0;  // per token
  int64_t kv_floats_per_token = 0;  // over all layers
  int64_t bos_token_id = -1, eos_token_id = -1;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelFacts& facts() const = 0;
  virtual std::unique_ptr<KvCache> NewCache(int64_t capacity) const = 0;
  // Runs tokens at positions cache.length() .. +n-1 and advances the cache.
  // logits: [n, vocab] when all_logits, else [1, vocab] for the last token.
  // Token ids out of range are a dseek::Error.
  virtual void Forward(const int32_t* tokens, size_t n, KvCache& cache, float* logits, bool all_logits) = 0;
};

}  // namespace dseek
