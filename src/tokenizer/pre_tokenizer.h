// The pre-tokenizer of tokenizer.json: a chain of Split / Digits steps ending
// in ByteLevel, cutting normalized text into the pieces BPE sees.
//
// Each step runs on each piece separately, as Hugging Face does, so regex
// lookarounds never see past a piece. Pieces are views into the text or into
// the caller's arena; empty pieces are dropped. Immutable after construction
// and safe to share between threads (each thread brings its own scratch).
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/regex.h"

namespace dseek {

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct PreTokenizeScratch {
  RegexScratch regex;
  std::vector<Span> matches;
  std::vector<std::string_view> next;
  // Owns text that is not a view of the input (ByteLevel add_prefix_space).
  std::deque<std::string> arena;
};

class PreTokenizer {
 public:
  // Parses `pre_tokenizer` of tokenizer.json. It must be ByteLevel, or a
  // Sequence of Split/Digits steps ending in ByteLevel; anything else throws
  // dseek::Error(where, "pre_tokenizer...", reason).
  static PreTokenizer FromJson(const nlohmann::json& j, const std::string& where);

  // Replaces `pieces` (initially the text to split) with the final pieces,
  // each ready for byte-level BPE.
  void Split(std::vector<std::string_view>* pieces, PreTokenizeScratch* scratch) const;

 private:
  struct Step {
    enum class Kind { kSplit, kPrefixSpace } kind = Kind::kSplit;
    std::optional<Regex> regex;  // set for kSplit
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
  };
  static void AddStep(const nlohmann::json& j, const std::string& where,
                      const std::string& field, bool last, PreTokenizer* out);
  void RunSplit(const Step& step, std::vector<std::string_view>* pieces,
                PreTokenizeScratch* scratch) const;

  std::vector<Step> steps_;
};

}  // namespace dseek
