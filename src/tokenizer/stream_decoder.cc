#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace dseek {

StreamDecoder::StreamDecoder(Tokenizer tokenizer, bool skip_special)
    : tokenizer_(std::move(tokenizer)), skip_special_(skip_special) {}

std::string StreamDecoder::Push(int32_t id) {
  if (skip_special_ && tokenizer_.IsSpecial(id)) return "";
  pending_ += tokenizer_.TokenBytes(id);
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    size_t n = 0;
    Utf8Status st = NextUtf8(pending_, i, &n);
    // An unfinished character at the end may still be completed.
    if (st == Utf8Status::kTruncated) break;
    if (st == Utf8Status::kValid) {
      out.append(pending_, i, n);
    } else {
      out.append(kReplacementChar);
    }
    i += n;
  }
  pending_.erase(0, i);
  return out;
}

std::string StreamDecoder::Finish() {
  std::string out = RepairUtf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace dseek
