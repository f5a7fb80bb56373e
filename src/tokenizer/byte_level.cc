#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace dseek {

ByteLevelAlphabet::ByteLevelAlphabet() {
  char_to_byte_.fill(-1);
  // Printable Latin-1 bytes stand for themselves; the other 68 bytes take
  // code points from U+0100 upwards in byte order (GPT-2 bytes_to_unicode).
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                     (b >= 0xAE && b <= 0xFF);
    uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(next++);
    byte_to_char_[b].clear();
    AppendUtf8(cp, &byte_to_char_[b]);
    char_to_byte_[cp] = static_cast<int16_t>(b);
  }
}

std::optional<std::string> ByteLevelAlphabet::ToBytes(std::string_view token) const {
  std::string out;
  out.reserve(token.size());
  size_t i = 0;
  while (i < token.size()) {
    uint32_t cp = 0;
    size_t n = DecodeUtf8(token, i, &cp);
    if (n == 0 || cp >= char_to_byte_.size() || char_to_byte_[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(char_to_byte_[cp]));
    i += n;
  }
  return out;
}

std::string ByteLevelAlphabet::ToChars(std::string_view bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += byte_to_char_[b];
  return out;
}

}  // namespace dseek
