// The GPT-2 byte-level alphabet: every byte 0..255 has one printable Unicode
// character standing for it in vocab and merges (space is "Ġ", LF is "Ċ").
// Owns two small tables; immutable after construction, so thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dseek {

class ByteLevelAlphabet {
 public:
  ByteLevelAlphabet();

  // The UTF-8 encoding of the character standing for `byte`.
  const std::string& CharFor(uint8_t byte) const { return byte_to_char_[byte]; }

  // Maps every character of `token` back to its byte. Returns nullopt when a
  // character is outside the alphabet (HF then keeps the token's raw UTF-8).
  std::optional<std::string> ToBytes(std::string_view token) const;

  // `bytes` spelled in the alphabet (what vocab keys look like).
  std::string ToChars(std::string_view bytes) const;

 private:
  std::array<std::string, 256> byte_to_char_;
  // Indexed by code point; the alphabet only uses U+0021..U+0143.
  std::array<int16_t, 324> char_to_byte_;
};

}  // namespace dseek
