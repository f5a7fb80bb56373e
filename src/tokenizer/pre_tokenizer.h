// The pre-tokenizer of tokenizer.json: a chain of Split / Digits steps ending
// in ByteLevel, cutting normalized text into the pieces BPE sees.
//
// Each step runs on each piece separately, as Hugging Face does, so regex
// lookarounds never see past a piece. Empty pieces are dropped. Immutable
// after construction and safe to share between threads (each thread brings
// its own scratch).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/regex.h"

namespace dseek {

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// A borrowed callable taking each final piece; it must outlive the call.
class PieceSink {
 public:
  template <typename F>
  explicit PieceSink(F& f)
      : obj_(&f), call_([](void* o, std::string_view p) { (*static_cast<F*>(o))(p); }) {}
  void operator()(std::string_view piece) const { call_(obj_, piece); }

 private:
  void* obj_;
  void (*call_)(void*, std::string_view);
};

struct PreTokenizeScratch {
  RegexScratch regex;
  // Per step: the (span, is_match) parts of the piece being split and the
  // pieces they combine into, for behaviors other than plain Isolated.
  std::vector<std::vector<std::pair<Span, bool>>> parts;
  std::vector<std::vector<Span>> merged;
};

class PreTokenizer {
 public:
  // Parses `pre_tokenizer` of tokenizer.json. It must be ByteLevel, or a
  // Sequence of Split/Digits steps ending in ByteLevel; anything else throws
  // dseek::Error(where, "pre_tokenizer...", reason).
  static PreTokenizer FromJson(const nlohmann::json& j, const std::string& where);

  // Cuts `text` into pieces ready for byte-level BPE and hands them to
  // `sink` in order. Works depth-first, so memory does not grow with `text`.
  void Split(std::string_view text, PreTokenizeScratch* scratch, const PieceSink& sink) const;

 private:
  struct Step {
    enum class Kind { kSplit, kPrefixSpace } kind = Kind::kSplit;
    std::optional<Regex> regex;  // set for kSplit
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
  };
  static void AddStep(const nlohmann::json& j, const std::string& where,
                      const std::string& field, bool last, PreTokenizer* out);
  void Run(size_t step, std::string_view piece, PreTokenizeScratch* scratch,
           const PieceSink& sink) const;
  void RunSplit(size_t step, std::string_view piece, PreTokenizeScratch* scratch,
                const PieceSink& sink) const;

  std::vector<Step> steps_;
};

}  // namespace dseek
