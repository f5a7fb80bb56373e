// PCRE2 (UTF + UCP, JIT when available) standing in for the Oniguruma regexes
// that Hugging Face tokenizers compiles from tokenizer.json.
//
// Where the two engines disagree, the pattern is rewritten so PCRE2 behaves
// like Oniguruma (Ruby syntax, as HF uses it):
//  - `\s` / `\S` mean Unicode White_Space (as Oniguruma and Rust's
//    char::is_whitespace): U+0085 is space, U+180E and U+FEFF are not. PCRE2's
//    own `\s` adds U+180E. Inside a character class `\S` is left to PCRE2
//    (no nested classes there); only U+180E is affected.
//  - `\h` / `\H` are Oniguruma's hex digit classes, not horizontal space.
//  - `^` / `$` match at line boundaries (Ruby syntax), hence PCRE2_MULTILINE.
//  - `\p{X}` for a general category X also matches the code points that
//    Unicode 15.0-17.0 added to X (unicode_additions.h), since PCRE2 10.42
//    knows Unicode 14.0 only; `\P{X}` inside a class is left as it is.
//
// A Regex is immutable after construction and may be shared by threads; each
// thread passes its own RegexScratch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dseek {

// Byte offsets [first, second) of one match inside the subject.
using Span = std::pair<uint32_t, uint32_t>;

// Per-thread match state (match data, JIT stack). Cheap to create.
class RegexScratch {
 public:
  RegexScratch();

  // False when the subject is known to hold no code point from
  // unicode_additions.h: matching may then use the plain PCRE2 classes.
  bool unicode_additions = true;

  ~RegexScratch();
  RegexScratch(const RegexScratch&) = delete;
  RegexScratch& operator=(const RegexScratch&) = delete;

 private:
  friend class Regex;
  struct State;
  std::unique_ptr<State> state_;
};

class Regex {
 public:
  // `literal`: match `pattern` as plain text (tokenizer.json {"String": ..}).
  // Throws dseek::Error(where, field, reason) if PCRE2 rejects the pattern.
  Regex(std::string_view pattern, bool literal, const std::string& where,
        const std::string& field);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // Iterates over matches: `*pos` (start at 0) and `*options` (start at 0)
  // carry the state between calls. Returns false when there are no more.
  bool Next(std::string_view subject, size_t* pos, uint32_t* options, RegexScratch* scratch,
            Span* match) const;

  // Appends every non-overlapping match of `subject` (valid UTF-8), leftmost
  // first, to `out`. Empty matches are reported too.
  void FindAll(std::string_view subject, RegexScratch* scratch,
               std::vector<Span>* out) const;

  // True when the pattern matches starting exactly at byte `pos`.
  bool MatchesAt(std::string_view subject, size_t pos, RegexScratch* scratch) const;

  const std::string& pcre_pattern() const { return pcre_pattern_; }

 private:
  struct Code;
  std::unique_ptr<Code> code_;
  std::unique_ptr<Code> plain_code_;  // without additions; null when identical
  std::string pcre_pattern_;
};

// The Oniguruma-to-PCRE2 rewrite described above; exposed for tests.
// `unicode_additions`: extend \p{X} with unicode_additions.h.
std::string TranslateOnigPattern(std::string_view pattern, bool unicode_additions = true);

}  // namespace dseek
