#include "runtime/generate.h"

#include <algorithm>
#include <chrono>

#include "runtime/stop_strings.h"

namespace dseek {

GenerationResult Generate(Session& session, const Tokenizer& tokenizer, const GenerationRequest& req,
                          const std::function<bool(const std::string&)>& on_text, const std::atomic<bool>* cancel) {
  using Clock = std::chrono::steady_clock;
  GenerationResult r;
  r.prompt_tokens = static_cast<int64_t>(req.prompt.size());
  Sampler sampler(req.params);
  StopStringMatcher stops(req.params.stop);
  StreamDecoder decoder(tokenizer, /*skip_special=*/true);
  auto t0 = Clock::now();
  const float* logits = session.Prefill(req.prompt);
  r.cached_tokens = session.reused();
  auto t1 = Clock::now();
  r.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();
  const int64_t room = session.context() - static_cast<int64_t>(req.prompt.size());
  int max_tokens = req.max_tokens;
  if (req.params.max_tokens > 0) max_tokens = std::min(max_tokens, req.params.max_tokens);
  max_tokens = static_cast<int>(std::min<int64_t>(max_tokens, room));
  auto emit = [&](const std::string& s) {
    if (s.empty()) return true;
    r.text += s;
    return on_text ? on_text(s) : true;
  };
  r.finish_reason = "length";
  for (int i = 0; i < max_tokens; ++i) {
    if (cancel != nullptr && cancel->load()) {
      r.finish_reason = "cancelled";
      break;
    }
    const std::vector<int32_t>& hist = session.tokens();
    int32_t tok = sampler.Sample(std::span<const float>(logits, session.vocab()), hist);
    if (std::find(req.eos_ids.begin(), req.eos_ids.end(), tok) != req.eos_ids.end()) {
      r.finish_reason = "stop";
      break;
    }
    r.tokens.push_back(tok);
    auto res = stops.Feed(decoder.Push(tok));
    if (!emit(res.emit)) {
      r.finish_reason = "cancelled";
      break;
    }
    if (res.stopped) {
      r.finish_reason = "stop";
      break;
    }
    if (i + 1 < max_tokens) logits = session.Append(tok);
  }
  if (!stops.stopped()) {
    auto res = stops.Feed(decoder.Finish());
    emit(res.emit);
    if (!res.stopped) emit(stops.Flush());
  }
  r.decode_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return r;
}

void ReasoningRouter::Feed(const std::string& text, const std::function<void(bool, const std::string&)>& emit) {
  held_ += text;
  for (;;) {
    const std::string tag = in_reasoning_ ? "</think>" : "<think>";
    size_t pos = held_.find(tag);
    if (pos != std::string::npos) {
      // An opening tag only counts before any answer text (R1 puts it first);
      // after answer text it is answer text.
      std::string before = held_.substr(0, pos);
      if (!in_reasoning_ && (seen_content_ || before.find_first_not_of(" \n\r\t") != std::string::npos)) {
        seen_content_ = true;
        emit(false, held_);
        held_.clear();
        return;
      }
      if (in_reasoning_ && !before.empty()) emit(true, before);
      held_.erase(0, pos + tag.size());
      in_reasoning_ = !in_reasoning_;
      if (!in_reasoning_) {
        // Drop the blank lines between </think> and the answer.
        size_t k = held_.find_first_not_of("\n");
        held_.erase(0, k == std::string::npos ? held_.size() : k);
      }
      continue;
    }
    // Hold back a tail that could be the start of the tag.
    size_t keep = 0;
    for (size_t k = std::min(tag.size() - 1, held_.size()); k > 0; --k)
      if (held_.compare(held_.size() - k, k, tag, 0, k) == 0) {
        keep = k;
        break;
      }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    if (!out.empty()) {
      if (!in_reasoning_ && out.find_first_not_of(" \n\r\t") != std::string::npos) seen_content_ = true;
      if (in_reasoning_ || seen_content_) emit(in_reasoning_, out);
    }
    return;
  }
}

void ReasoningRouter::Flush(const std::function<void(bool, const std::string&)>& emit) {
  if (!held_.empty()) emit(in_reasoning_, held_);
  held_.clear();
}

}  // namespace dseek
