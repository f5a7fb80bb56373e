// The generation loop shared by `dseek run`, `dseek chat` and the server:
// prefill, then sample one token at a time, decode it to text as whole UTF-8
// characters, cut at stop strings and end-of-sequence ids, and stream the text
// to a callback. Stateless apart from the session it drives.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/sampler.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace dseek {

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated ids (the stop/eos token excluded)
  std::string text;             // everything streamed
  std::string finish_reason;    // "stop", "length" or "cancelled"
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;    // prompt tokens reused from the cache
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

struct GenerationRequest {
  std::vector<int32_t> prompt;
  SamplingParams params;
  std::vector<int32_t> eos_ids;  // any of these ends the answer
  int max_tokens = 256;          // also bounded by the context left
};

// on_text receives text as it becomes final; returning false stops (reason
// "cancelled"), as does *cancel turning true.
GenerationResult Generate(Session& session, const Tokenizer& tokenizer, const GenerationRequest& request,
                          const std::function<bool(const std::string&)>& on_text,
                          const std::atomic<bool>* cancel = nullptr);

// Routes streamed text into reasoning (inside <think>...</think>) and answer,
// holding back a partial tag until it is decided.
class ReasoningRouter {
 public:
  explicit ReasoningRouter(bool start_in_reasoning) : in_reasoning_(start_in_reasoning) {}
  // Calls emit(is_reasoning, text) for what is decided so far.
  void Feed(const std::string& text, const std::function<void(bool, const std::string&)>& emit);
  void Flush(const std::function<void(bool, const std::string&)>& emit);
  bool in_reasoning() const { return in_reasoning_; }

 private:
  bool in_reasoning_;
  bool seen_content_ = false;
  std::string held_;
};

}  // namespace dseek
