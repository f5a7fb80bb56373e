// What every architecture offers the runtime: a forward pass over a batch of
// tokens that appends to a KV cache, and facts about itself. Implementations
// own their weights (memory-mapped) and reusable activation buffers, so a
// Model serves one forward pass at a time (not thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "backend/backend.h"
#include "model/kv_cache.h"

namespace dseek {

// How MLA attention is computed; both forms give the same result.
enum class AttentionForm { kAuto, kAbsorbed, kNaive };

struct ModelOptions {
  AttentionForm prefill_form = AttentionForm::kAuto;  // decode always absorbs
  // Let the backend rearrange GGUF weights for its kernels at load
  // (Backend::PrepareMatrix); off keeps the file's layout (comparisons, tests).
  bool repack_weights = true;
  // Keep the repacked weights in "<model>.dseek-repack" and reuse them on
  // later starts (see PreparedWeightSource).
  bool repack_cache = false;
  // Storage of the attention cache (KvCache): f32, or bf16 for half the memory.
  KvType kv_type = KvType::kF32;
};

struct ModelFacts {
  std::string architecture;
  int64_t vocab_size = 0;
  int64_t n_layers = 0;
  int64_t max_context = 0;
  int64_t params_total = 0;   // without MTP layers
  int64_t params_active = 0;  // per token
  int64_t kv_floats_per_token = 0;  // over all layers
  int64_t weight_bytes_per_token = 0;  // weights a decode step reads (set once loaded)
  int64_t bos_token_id = -1, eos_token_id = -1;
};

// One sequence's part of a batched forward pass.
struct BatchSeq {
  const int32_t* tokens = nullptr;
  size_t n = 0;
  KvCache* cache = nullptr;  // tokens go at positions cache->length() ..
  float* logits = nullptr;   // [n, vocab] when all_logits, else [1, vocab]
  bool all_logits = false;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelFacts& facts() const = 0;
  virtual std::unique_ptr<KvCache> NewCache(int64_t capacity) const = 0;
  // Runs several sequences in one pass (continuous batching): the weight
  // matrices stream once for all their tokens; attention stays per sequence.
  // Advances every cache. Token ids out of range and full caches are a
  // dseek::Error thrown before any cache changes.
  virtual void ForwardBatch(std::span<const BatchSeq> batch) = 0;
  // One sequence: tokens at positions cache.length() .. +n-1.
  void Forward(const int32_t* tokens, size_t n, KvCache& cache, float* logits, bool all_logits) {
    BatchSeq s{tokens, n, &cache, logits, all_logits};
    ForwardBatch(std::span<const BatchSeq>(&s, 1));
  }
};

}  // namespace dseek
