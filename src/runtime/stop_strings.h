// Stop strings on streamed output: decoded text arrives a piece at a time and
// a stop string may span pieces ("</th" + "ink>"). The matcher holds back the
// tail that could still grow into a stop string, so nothing it has
// released can turn out to be part of one, and cuts the text where the first
// stop string begins (the stop string itself is never emitted, as in the
// OpenAI API and vLLM's default).
//
// Works on bytes: pieces should be whole UTF-8 characters (the detokenizer's
// job); then every cut falls on a character boundary, because each stop string
// starts with a lead byte. Owns a copy of the stop strings and the held-back
// tail. Not thread-safe; one matcher per sequence.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dseek {

class StopStringMatcher {
 public:
  struct Result {
    // Text that is safe to show now. On the call that stops, the rest of the
    // text before the stop string; all emits joined are the whole text
    // before it.
    std::string emit;
    bool stopped = false;
    int stop_index = -1;  // which stop string matched, when stopped
  };

  // Throws dseek::Error if a stop string is empty. No stop strings is fine:
  // then every piece passes straight through.
  explicit StopStringMatcher(std::vector<std::string> stops);

  // Feeds the next decoded piece. After a stop, further pieces are ignored
  // and return an empty, stopped Result. The stop string that completes
  // first in the text wins (as when streaming byte by byte, so the split into
  // pieces never changes the result); if several end at the same byte, the
  // longest, then the earliest in the list.
  Result Feed(std::string_view piece);

  // Generation ended without a stop (EOS, max_tokens): releases the held tail.
  std::string Flush();

  bool stopped() const { return stop_index_ >= 0; }
  // Number of bytes currently held back.
  size_t held() const { return pending_.size(); }
  void Reset();

 private:
  // Length of the longest tail of pending_ that is a proper prefix of some
  // stop string.
  size_t LongestPartialTail() const;

  std::vector<std::string> stops_;
  std::string pending_;  // held back: could be the start of a stop string
  int stop_index_ = -1;
};

}  // namespace dseek
