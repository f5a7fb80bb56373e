#include "runtime/stop_strings.h"

#include <algorithm>
#include <utility>

#include "base/error.h"

namespace dseek {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops)
    : stops_(std::move(stops)) {
  for (size_t i = 0; i < stops_.size(); ++i) {
    if (stops_[i].empty()) {
      throw Error("stop strings", "stop[" + std::to_string(i) + "]",
                  "stop strings must not be empty");
    }
  }
}

void StopStringMatcher::Reset() {
  pending_.clear();
  stop_index_ = -1;
}

size_t StopStringMatcher::LongestPartialTail() const {
  size_t best = 0;
  for (const std::string& s : stops_) {
    const size_t max_len = std::min(s.size() - 1, pending_.size());
    for (size_t len = max_len; len > best; --len) {
      if (std::string_view(pending_).substr(pending_.size() - len) ==
          std::string_view(s).substr(0, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

StopStringMatcher::Result StopStringMatcher::Feed(std::string_view piece) {
  Result r;
  if (stopped()) {
    r.stopped = true;
    r.stop_index = stop_index_;
    return r;
  }
  if (stops_.empty()) {
    r.emit.assign(piece);
    return r;
  }
  pending_.append(piece);

  // Whatever was released before cannot start a match (its tail was held
  // back), so searching pending_ alone finds every stop string that is there.
  // The one that completes first wins, as if the text came a byte at a time,
  // so the result never depends on how the text was split into pieces.
  size_t first = std::string::npos;
  size_t first_end = std::string::npos;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const size_t at = pending_.find(stops_[i]);
    if (at == std::string::npos) continue;
    const size_t end = at + stops_[i].size();
    if (end < first_end || (end == first_end && at < first)) {
      first = at;
      first_end = end;
      stop_index_ = static_cast<int>(i);
    }
  }
  if (first != std::string::npos) {
    r.emit = pending_.substr(0, first);
    r.stopped = true;
    r.stop_index = stop_index_;
    pending_.clear();
    return r;
  }

  const size_t keep = LongestPartialTail();
  r.emit = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return r;
}

std::string StopStringMatcher::Flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace dseek
