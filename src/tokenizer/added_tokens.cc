#include "tokenizer/added_tokens.h"

#include <algorithm>
#include <cstring>

#include "tokenizer/utf8.h"

namespace dseek {
namespace {

// Rust's char::is_whitespace (Unicode White_Space), which HF uses for
// lstrip/rstrip.
bool IsWhiteSpace(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Start of the character that ends at `end` (exclusive) in valid UTF-8.
size_t PrevCharStart(std::string_view s, size_t end) {
  size_t i = end - 1;
  while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

// HF's space_leftmost_at_end: where the trailing whitespace of `s` begins.
size_t TrailingSpaceStart(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t i = PrevCharStart(s, end);
    uint32_t cp = 0;
    DecodeUtf8(s, i, &cp);
    if (!IsWhiteSpace(cp)) break;
    end = i;
  }
  return end;
}

// HF's space_rightmost_at_start: the length of the leading whitespace of `s`.
size_t LeadingSpaceLength(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0 || !IsWhiteSpace(cp)) break;
    i += n;
  }
  return i;
}

}  // namespace

void AddedTokenMatcher::Trie::Insert(std::string_view s, int32_t token) {
  if (s.empty()) return;
  uint8_t b0 = static_cast<uint8_t>(s[0]);
  bool first_token = nodes.size() == 1;
  if (first_token) only_first_byte = b0;
  if (!first_token && only_first_byte != b0) only_first_byte = -1;
  first_byte[b0] = true;
  int32_t node = 0;
  for (char ch : s) {
    uint8_t c = static_cast<uint8_t>(ch);
    int32_t child = -1;
    for (auto& [b, n] : nodes[node].next) {
      if (b == c) child = n;
    }
    if (child < 0) {
      child = static_cast<int32_t>(nodes.size());
      nodes[node].next.emplace_back(c, child);
      nodes.emplace_back();
    }
    node = child;
  }
  // Two entries with the same content: the first one wins, as in HF's map.
  if (nodes[node].token < 0) nodes[node].token = token;
}

int32_t AddedTokenMatcher::Trie::Find(std::string_view text, size_t from, size_t* begin,
                                      size_t* end) const {
  for (size_t i = from; i < text.size(); ++i) {
    if (only_first_byte >= 0) {
      // All DeepSeek added tokens start with '<': let memchr find candidates.
      const void* hit = std::memchr(text.data() + i, only_first_byte, text.size() - i);
      if (hit == nullptr) return -1;
      i = static_cast<const char*>(hit) - text.data();
    } else if (!first_byte[static_cast<uint8_t>(text[i])]) {
      continue;
    }
    int32_t node = 0, best = -1;
    for (size_t j = i; j < text.size(); ++j) {
      uint8_t c = static_cast<uint8_t>(text[j]);
      int32_t child = -1;
      for (const auto& [b, n] : nodes[node].next) {
        if (b == c) {
          child = n;
          break;
        }
      }
      if (child < 0) break;
      node = child;
      if (nodes[node].token >= 0) {
        best = nodes[node].token;
        *end = j + 1;
      }
    }
    if (best >= 0) {
      *begin = i;
      return best;
    }
  }
  return -1;
}

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens)
    : tokens_(tokens),
      word_char_("[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]", false, "",
                 "added_tokens") {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    (t.normalized ? normalized_ : raw_).Insert(t.content, static_cast<int32_t>(i));
    (t.normalized ? has_normalized_ : has_raw_) = true;
  }
}

void AddedTokenMatcher::Split(std::string_view text, RegexScratch* scratch,
                              std::vector<TextSegment>* out) const {
  out->clear();
  if (!has_raw_) {
    out->push_back({0, static_cast<uint32_t>(text.size()), -1});
  } else {
    SplitPass(raw_, text, 0, scratch, out);
  }
  if (!has_normalized_) return;
  std::vector<TextSegment> first;
  first.swap(*out);
  for (const TextSegment& seg : first) {
    if (seg.id >= 0) {
      out->push_back(seg);
    } else {
      SplitPass(normalized_, text.substr(seg.begin, seg.end - seg.begin), seg.begin, scratch,
                out);
    }
  }
}

void AddedTokenMatcher::SplitPass(const Trie& trie, std::string_view text, uint32_t base,
                                  RegexScratch* scratch, std::vector<TextSegment>* out) const {
  auto push = [&](size_t b, size_t e, int32_t id) {
    out->push_back({base + static_cast<uint32_t>(b), base + static_cast<uint32_t>(e), id});
  };
  size_t done = 0;  // end of the last emitted segment
  size_t pos = 0;   // where the next search starts (after the last match)
  size_t b = 0, e = 0;
  for (int32_t t; (t = trie.Find(text, pos, &b, &e)) >= 0;) {
    pos = e;
    const AddedToken& tok = tokens_[t];
    if (tok.single_word) {
      bool word_before = b > 0 && word_char_.MatchesAt(text.substr(0, b), PrevCharStart(text, b),
                                                        scratch);
      bool word_after = e < text.size() && word_char_.MatchesAt(text, e, scratch);
      if (word_before || word_after) continue;
    }
    size_t start = b, stop = e;
    if (tok.lstrip) start = TrailingSpaceStart(text.substr(0, start));
    if (tok.rstrip) stop += LeadingSpaceLength(text.substr(stop));
    // Spaces already taken by the previous token's rstrip stay with it.
    start = std::max(start, done);
    if (start >= stop) continue;
    if (done < start) push(done, start, -1);
    push(start, stop, tok.id);
    done = stop;
    pos = std::max(pos, stop);
  }
  if (done < text.size()) push(done, text.size(), -1);
}

}  // namespace dseek
