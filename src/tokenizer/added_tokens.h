// Added tokens (special or not) found in raw text before BPE, with Hugging
// Face's rules: leftmost-longest match, `single_word` (no word character on
// either side), `lstrip` / `rstrip` (the token swallows adjacent Unicode
// White_Space). Tokens with normalized=false are matched on the raw text
// first, the normalized ones afterwards on the remaining text, as HF's
// AddedVocabulary does (the normalizer itself is the identity here).
//
// Immutable after construction; safe to share between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.h"

namespace dseek {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// A run of the text: an added token (id >= 0) or plain text (id == -1).
struct TextSegment {
  uint32_t begin = 0;
  uint32_t end = 0;
  int32_t id = -1;
};

class AddedTokenMatcher {
 public:
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);
  AddedTokenMatcher(AddedTokenMatcher&&) noexcept = default;
  AddedTokenMatcher& operator=(AddedTokenMatcher&&) noexcept = default;

  // Cuts `text` (valid UTF-8) into segments in order, covering all of it
  // except whitespace swallowed by lstrip/rstrip.
  void Split(std::string_view text, RegexScratch* scratch, std::vector<TextSegment>* out) const;

 private:
  // A byte trie over token contents; one per pass (raw, normalized).
  struct Trie {
    struct Node {
      std::vector<std::pair<uint8_t, int32_t>> next;
      int32_t token = -1;  // index into tokens_
    };
    std::vector<Node> nodes{1};
    bool first_byte[256] = {};
    int only_first_byte = -1;  // when every token starts with one byte
    void Insert(std::string_view s, int32_t token);
    // Leftmost-longest match in text[from..]: sets *begin, *end, returns the
    // token index, or -1 when nothing matches.
    int32_t Find(std::string_view text, size_t from, size_t* begin, size_t* end) const;
  };

  void SplitPass(const Trie& trie, std::string_view text, uint32_t base, RegexScratch* scratch,
                 std::vector<TextSegment>* out) const;

  std::vector<AddedToken> tokens_;
  Trie raw_;
  Trie normalized_;
  bool has_raw_ = false;
  bool has_normalized_ = false;
  Regex word_char_;  // regex_syntax::is_word_character, used by single_word
};

}  // namespace dseek
