// UTF-8 helpers shared by the tokenizer: strict decoding, lossy repair with
// U+FFFD, and the split point for streaming. Pure functions, thread-safe.
//
// Invalid input is repaired the way Rust's String::from_utf8_lossy and the
// WHATWG TextDecoder do ("maximal subpart" rule): each maximal prefix of a
// well-formed sequence that cannot be completed, and each byte that cannot
// start one, becomes one U+FFFD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dseek {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

enum class Utf8Status { kValid, kInvalid, kTruncated };

// Looks at the sequence starting at s[i]. kValid: *len is its length.
// kInvalid: *len is the maximal subpart to replace with one U+FFFD.
// kTruncated: the bytes up to the end of `s` are a valid but unfinished prefix
// (*len = s.size() - i).
Utf8Status NextUtf8(std::string_view s, size_t i, size_t* len);

// Decodes one valid character at s[i]; returns its length, or 0 if invalid.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp);

void AppendUtf8(uint32_t cp, std::string* out);

// True when `s` is entirely well-formed UTF-8.
bool IsValidUtf8(std::string_view s);

// `s` with every invalid or truncated sequence replaced by U+FFFD.
std::string RepairUtf8(std::string_view s);

}  // namespace dseek
