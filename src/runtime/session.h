// One sequence's state on a model: the tokens in its KV cache. Prefill reuses
// the longest common prefix of what is cached (prefix caching for chat turns
// and regenerations), so a follow-up turn only runs its new tokens. Owns its
// cache; uses but does not own the model. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/model.h"

namespace dseek {

class Session {
 public:
  Session(Model& model, int64_t context);

  int64_t context() const { return cache_->capacity(); }
  size_t vocab() const { return logits_.size(); }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  // Tokens of the last Prefill() that were already in the cache.
  int64_t reused() const { return reused_; }

  // Makes the cache hold exactly `prompt` and returns the logits after its
  // last token ([vocab], valid until the next call). Throws dseek::Error when
  // the prompt is empty or leaves no room for one more token
  // (size >= context).
  const float* Prefill(const std::vector<int32_t>& prompt);
  // Appends one token; returns the logits after it.
  const float* Append(int32_t token);
  void Reset();

 private:
  Model& model_;
  std::unique_ptr<KvCache> cache_;
  std::vector<int32_t> tokens_;
  std::vector<float> logits_;
  int64_t reused_ = 0;
};

}  // namespace dseek
