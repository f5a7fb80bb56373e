#include "runtime/session.h"

#include "base/error.h"

namespace dseek {

Session::Session(Model& model, int64_t context)
    : model_(model), cache_(model.NewCache(context)), logits_(model.facts().vocab_size) {}

void Session::Reset() {
  cache_->Truncate(0);
  tokens_.clear();
}

const float* Session::Prefill(const std::vector<int32_t>& prompt) {
  if (prompt.empty()) throw Error("", "prompt", "empty prompt");
  if (static_cast<int64_t>(prompt.size()) >= cache_->capacity())
    throw Error("", "prompt", "prompt of " + std::to_string(prompt.size()) + " tokens does not fit the context of " +
                                  std::to_string(cache_->capacity()) + " tokens (raise --ctx-size)");
  size_t common = 0;
  while (common < tokens_.size() && common < prompt.size() && tokens_[common] == prompt[common]) ++common;
  // At least the last prompt token must run to produce its logits.
  if (common == prompt.size()) --common;
  cache_->Truncate(static_cast<int64_t>(common));
  tokens_.resize(common);
  reused_ = static_cast<int64_t>(common);
  model_.Forward(prompt.data() + common, prompt.size() - common, *cache_, logits_.data(), false);
  tokens_ = prompt;
  return logits_.data();
}

const float* Session::Append(int32_t token) {
  if (cache_->length() >= cache_->capacity())
    throw Error("", "context", "the context of " + std::to_string(cache_->capacity()) + " tokens is full");
  model_.Forward(&token, 1, *cache_, logits_.data(), false);
  tokens_.push_back(token);
  return logits_.data();
}

}  // namespace dseek
