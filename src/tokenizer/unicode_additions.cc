#include "tokenizer/unicode_additions.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "tokenizer/utf8.h"

namespace dseek {

std::string_view UnicodeAdditions(std::string_view name) {
  // Generated with Python's `regex` 2026.5.9 (Unicode 17.0) against
  // unicodedata 14.0: for every code point c outside the surrogates and each
  // category X, the ranges where regex `\p{X}` matches c and
  // unicodedata.category(c) does not start with X.
  static constexpr std::pair<std::string_view, std::string_view> kTable[] = {
      {"L",
       "\\x{88F}\\x{C5C}\\x{CDC}\\x{1C89}-\\x{1C8A}\\x{A7CB}-\\x{A7CF}\\x{A7D2}\\x{A7D4}"
       "\\x{A7DA}-\\x{A7DC}\\x{A7F1}\\x{105C0}-\\x{105F3}\\x{10940}-\\x{10959}"
       "\\x{10D4A}-\\x{10D65}\\x{10D6F}-\\x{10D85}\\x{10EC2}-\\x{10EC7}"
       "\\x{1123F}-\\x{11240}\\x{11380}-\\x{11389}\\x{1138B}\\x{1138E}"
       "\\x{11390}-\\x{113B5}\\x{113B7}\\x{113D1}\\x{113D3}\\x{11BC0}-\\x{11BE0}"
       "\\x{11DB0}-\\x{11DDB}\\x{11F02}\\x{11F04}-\\x{11F10}\\x{11F12}-\\x{11F33}"
       "\\x{1342F}\\x{13441}-\\x{13446}\\x{13460}-\\x{143FA}\\x{16100}-\\x{1611D}"
       "\\x{16D40}-\\x{16D6C}\\x{16EA0}-\\x{16EB8}\\x{16EBB}-\\x{16ED3}"
       "\\x{16FF2}-\\x{16FF3}\\x{187F8}-\\x{187FF}\\x{18CFF}\\x{18D09}-\\x{18D1E}"
       "\\x{18D80}-\\x{18DF2}\\x{1B132}\\x{1B155}\\x{1DF25}-\\x{1DF2A}"
       "\\x{1E030}-\\x{1E06D}\\x{1E4D0}-\\x{1E4EB}\\x{1E5D0}-\\x{1E5ED}\\x{1E5F0}"
       "\\x{1E6C0}-\\x{1E6DE}\\x{1E6E0}-\\x{1E6E2}\\x{1E6E4}-\\x{1E6E5}"
       "\\x{1E6E7}-\\x{1E6ED}\\x{1E6F0}-\\x{1E6F4}\\x{1E6FE}-\\x{1E6FF}"
       "\\x{2B739}-\\x{2B73F}\\x{2CEA2}-\\x{2CEAD}\\x{2EBF0}-\\x{2EE5D}"
       "\\x{31350}-\\x{33479}"},
      {"Lu",
       "\\x{1C89}\\x{A7CB}-\\x{A7CC}\\x{A7CE}\\x{A7D2}\\x{A7D4}\\x{A7DA}\\x{A7DC}"
       "\\x{10D50}-\\x{10D65}\\x{16EA0}-\\x{16EB8}"},
      {"Ll",
       "\\x{1C8A}\\x{A7CD}\\x{A7CF}\\x{A7DB}\\x{10D70}-\\x{10D85}\\x{16EBB}-\\x{16ED3}"
       "\\x{1DF25}-\\x{1DF2A}"},
      {"Lm",
       "\\x{A7F1}\\x{10D4E}\\x{10D6F}\\x{10EC5}\\x{11DD9}\\x{16D40}-\\x{16D42}"
       "\\x{16D6B}-\\x{16D6C}\\x{16FF2}-\\x{16FF3}\\x{1E030}-\\x{1E06D}\\x{1E4EB}"
       "\\x{1E6FF}"},
      {"Lo",
       "\\x{295}\\x{88F}\\x{C5C}\\x{CDC}\\x{105C0}-\\x{105F3}\\x{10940}-\\x{10959}"
       "\\x{10D4A}-\\x{10D4D}\\x{10D4F}\\x{10EC2}-\\x{10EC4}\\x{10EC6}-\\x{10EC7}"
       "\\x{1123F}-\\x{11240}\\x{11380}-\\x{11389}\\x{1138B}\\x{1138E}"
       "\\x{11390}-\\x{113B5}\\x{113B7}\\x{113D1}\\x{113D3}\\x{11BC0}-\\x{11BE0}"
       "\\x{11DB0}-\\x{11DD8}\\x{11DDA}-\\x{11DDB}\\x{11F02}\\x{11F04}-\\x{11F10}"
       "\\x{11F12}-\\x{11F33}\\x{1342F}\\x{13441}-\\x{13446}\\x{13460}-\\x{143FA}"
       "\\x{16100}-\\x{1611D}\\x{16D43}-\\x{16D6A}\\x{187F8}-\\x{187FF}\\x{18CFF}"
       "\\x{18D09}-\\x{18D1E}\\x{18D80}-\\x{18DF2}\\x{1B132}\\x{1B155}"
       "\\x{1E4D0}-\\x{1E4EA}\\x{1E5D0}-\\x{1E5ED}\\x{1E5F0}\\x{1E6C0}-\\x{1E6DE}"
       "\\x{1E6E0}-\\x{1E6E2}\\x{1E6E4}-\\x{1E6E5}\\x{1E6E7}-\\x{1E6ED}"
       "\\x{1E6F0}-\\x{1E6F4}\\x{1E6FE}\\x{2B739}-\\x{2B73F}\\x{2CEA2}-\\x{2CEAD}"
       "\\x{2EBF0}-\\x{2EE5D}\\x{31350}-\\x{33479}"},
      {"M",
       "\\x{897}\\x{CF3}\\x{ECE}\\x{1ACF}-\\x{1ADD}\\x{1AE0}-\\x{1AEB}"
       "\\x{10D69}-\\x{10D6D}\\x{10EFA}-\\x{10EFF}\\x{11241}\\x{113B8}-\\x{113C0}"
       "\\x{113C2}\\x{113C5}\\x{113C7}-\\x{113CA}\\x{113CC}-\\x{113D0}\\x{113D2}"
       "\\x{113E1}-\\x{113E2}\\x{11B60}-\\x{11B67}\\x{11F00}-\\x{11F01}\\x{11F03}"
       "\\x{11F34}-\\x{11F3A}\\x{11F3E}-\\x{11F42}\\x{11F5A}\\x{13440}"
       "\\x{13447}-\\x{13455}\\x{1611E}-\\x{1612F}\\x{1E08F}\\x{1E4EC}-\\x{1E4EF}"
       "\\x{1E5EE}-\\x{1E5EF}\\x{1E6E3}\\x{1E6E6}\\x{1E6EE}-\\x{1E6EF}\\x{1E6F5}"},
      {"Mn",
       "\\x{897}\\x{ECE}\\x{1ACF}-\\x{1ADD}\\x{1AE0}-\\x{1AEB}\\x{10D69}-\\x{10D6D}"
       "\\x{10EFA}-\\x{10EFF}\\x{11241}\\x{113BB}-\\x{113C0}\\x{113CE}\\x{113D0}"
       "\\x{113D2}\\x{113E1}-\\x{113E2}\\x{11B60}\\x{11B62}-\\x{11B64}\\x{11B66}"
       "\\x{11F00}-\\x{11F01}\\x{11F36}-\\x{11F3A}\\x{11F40}\\x{11F42}\\x{11F5A}"
       "\\x{13440}\\x{13447}-\\x{13455}\\x{1611E}-\\x{16129}\\x{1612D}-\\x{1612F}"
       "\\x{1E08F}\\x{1E4EC}-\\x{1E4EF}\\x{1E5EE}-\\x{1E5EF}\\x{1E6E3}\\x{1E6E6}"
       "\\x{1E6EE}-\\x{1E6EF}\\x{1E6F5}"},
      {"Mc",
       "\\x{CF3}\\x{113B8}-\\x{113BA}\\x{113C2}\\x{113C5}\\x{113C7}-\\x{113CA}"
       "\\x{113CC}-\\x{113CD}\\x{113CF}\\x{1171E}\\x{11B61}\\x{11B65}\\x{11B67}"
       "\\x{11F03}\\x{11F34}-\\x{11F35}\\x{11F3E}-\\x{11F3F}\\x{11F41}"
       "\\x{1612A}-\\x{1612C}"},
      {"N",
       "\\x{10D40}-\\x{10D49}\\x{116D0}-\\x{116E3}\\x{11BF0}-\\x{11BF9}"
       "\\x{11DE0}-\\x{11DE9}\\x{11F50}-\\x{11F59}\\x{16130}-\\x{16139}"
       "\\x{16D70}-\\x{16D79}\\x{16FF4}-\\x{16FF6}\\x{1CCF0}-\\x{1CCF9}"
       "\\x{1D2C0}-\\x{1D2D3}\\x{1E4F0}-\\x{1E4F9}\\x{1E5F1}-\\x{1E5FA}"},
      {"Nd",
       "\\x{10D40}-\\x{10D49}\\x{116D0}-\\x{116E3}\\x{11BF0}-\\x{11BF9}"
       "\\x{11DE0}-\\x{11DE9}\\x{11F50}-\\x{11F59}\\x{16130}-\\x{16139}"
       "\\x{16D70}-\\x{16D79}\\x{1CCF0}-\\x{1CCF9}\\x{1E4F0}-\\x{1E4F9}"
       "\\x{1E5F1}-\\x{1E5FA}"},
      {"Nl",
       "\\x{16FF4}-\\x{16FF6}"},
      {"No",
       "\\x{1D2C0}-\\x{1D2D3}"},
      {"P",
       "\\x{1B4E}-\\x{1B4F}\\x{1B7F}\\x{10D6E}\\x{10ED0}\\x{113D4}-\\x{113D5}"
       "\\x{113D7}-\\x{113D8}\\x{11B00}-\\x{11B09}\\x{11BE1}\\x{11F43}-\\x{11F4F}"
       "\\x{16D6D}-\\x{16D6F}\\x{1E5FF}"},
      {"Pd",
       "\\x{10D6E}"},
      {"Po",
       "\\x{1B4E}-\\x{1B4F}\\x{1B7F}\\x{10ED0}\\x{113D4}-\\x{113D5}\\x{113D7}-\\x{113D8}"
       "\\x{11B00}-\\x{11B09}\\x{11BE1}\\x{11F43}-\\x{11F4F}\\x{16D6D}-\\x{16D6F}"
       "\\x{1E5FF}"},
      {"S",
       "\\x{20C1}\\x{2427}-\\x{2429}\\x{2B96}\\x{2FFC}-\\x{2FFF}\\x{31E4}-\\x{31E5}"
       "\\x{31EF}\\x{FBC3}-\\x{FBD2}\\x{FD90}-\\x{FD91}\\x{FDC8}-\\x{FDCE}"
       "\\x{10D8E}-\\x{10D8F}\\x{10ED1}-\\x{10ED8}\\x{1CC00}-\\x{1CCEF}"
       "\\x{1CCFA}-\\x{1CCFC}\\x{1CD00}-\\x{1CEB3}\\x{1CEBA}-\\x{1CED0}"
       "\\x{1CEE0}-\\x{1CEF0}\\x{1F6D8}\\x{1F6DC}\\x{1F774}-\\x{1F77F}\\x{1F7D9}"
       "\\x{1F8B2}-\\x{1F8BB}\\x{1F8C0}-\\x{1F8C1}\\x{1F8D0}-\\x{1F8D8}"
       "\\x{1FA54}-\\x{1FA57}\\x{1FA75}-\\x{1FA77}\\x{1FA87}-\\x{1FA8A}"
       "\\x{1FA8E}-\\x{1FA8F}\\x{1FAAD}-\\x{1FAAF}\\x{1FABB}-\\x{1FABF}\\x{1FAC6}"
       "\\x{1FAC8}\\x{1FACD}-\\x{1FACF}\\x{1FADA}-\\x{1FADC}\\x{1FADF}"
       "\\x{1FAE8}-\\x{1FAEA}\\x{1FAEF}\\x{1FAF7}-\\x{1FAF8}\\x{1FBCB}-\\x{1FBEF}"
       "\\x{1FBFA}"},
      {"Sm",
       "\\x{10D8E}-\\x{10D8F}\\x{1CEF0}\\x{1F8D0}-\\x{1F8D8}"},
      {"Sc",
       "\\x{20C1}"},
      {"So",
       "\\x{2427}-\\x{2429}\\x{2B96}\\x{2FFC}-\\x{2FFF}\\x{31E4}-\\x{31E5}\\x{31EF}"
       "\\x{FBC3}-\\x{FBD2}\\x{FD90}-\\x{FD91}\\x{FDC8}-\\x{FDCE}\\x{10ED1}-\\x{10ED8}"
       "\\x{1CC00}-\\x{1CCEF}\\x{1CCFA}-\\x{1CCFC}\\x{1CD00}-\\x{1CEB3}"
       "\\x{1CEBA}-\\x{1CED0}\\x{1CEE0}-\\x{1CEEF}\\x{1F6D8}\\x{1F6DC}"
       "\\x{1F774}-\\x{1F77F}\\x{1F7D9}\\x{1F8B2}-\\x{1F8BB}\\x{1F8C0}-\\x{1F8C1}"
       "\\x{1FA54}-\\x{1FA57}\\x{1FA75}-\\x{1FA77}\\x{1FA87}-\\x{1FA8A}"
       "\\x{1FA8E}-\\x{1FA8F}\\x{1FAAD}-\\x{1FAAF}\\x{1FABB}-\\x{1FABF}\\x{1FAC6}"
       "\\x{1FAC8}\\x{1FACD}-\\x{1FACF}\\x{1FADA}-\\x{1FADC}\\x{1FADF}"
       "\\x{1FAE8}-\\x{1FAEA}\\x{1FAEF}\\x{1FAF7}-\\x{1FAF8}\\x{1FBCB}-\\x{1FBEF}"
       "\\x{1FBFA}"},
  };
  for (const auto& [category, ranges] : kTable) {
    if (category == name) return ranges;
  }
  return {};
}

bool HasUnicodeAdditions(std::string_view text) {
  // The union of the L, M, N, P and S additions above, sorted.
  static constexpr std::pair<uint32_t, uint32_t> kRanges[] = {
      {0x88F, 0x88F}, {0x897, 0x897}, {0xC5C, 0xC5C}, {0xCDC, 0xCDC}, {0xCF3, 0xCF3},
      {0xECE, 0xECE}, {0x1ACF, 0x1ADD}, {0x1AE0, 0x1AEB}, {0x1B4E, 0x1B4F}, {0x1B7F, 0x1B7F},
      {0x1C89, 0x1C8A}, {0x20C1, 0x20C1}, {0x2427, 0x2429}, {0x2B96, 0x2B96}, {0x2FFC, 0x2FFF},
      {0x31E4, 0x31E5}, {0x31EF, 0x31EF}, {0xA7CB, 0xA7CF}, {0xA7D2, 0xA7D2}, {0xA7D4, 0xA7D4},
      {0xA7DA, 0xA7DC}, {0xA7F1, 0xA7F1}, {0xFBC3, 0xFBD2}, {0xFD90, 0xFD91}, {0xFDC8, 0xFDCE},
      {0x105C0, 0x105F3}, {0x10940, 0x10959}, {0x10D40, 0x10D65}, {0x10D69, 0x10D85},
      {0x10D8E, 0x10D8F}, {0x10EC2, 0x10EC7}, {0x10ED0, 0x10ED8}, {0x10EFA, 0x10EFF},
      {0x1123F, 0x11241}, {0x11380, 0x11389}, {0x1138B, 0x1138B}, {0x1138E, 0x1138E},
      {0x11390, 0x113B5}, {0x113B7, 0x113C0}, {0x113C2, 0x113C2}, {0x113C5, 0x113C5},
      {0x113C7, 0x113CA}, {0x113CC, 0x113D5}, {0x113D7, 0x113D8}, {0x113E1, 0x113E2},
      {0x116D0, 0x116E3}, {0x11B00, 0x11B09}, {0x11B60, 0x11B67}, {0x11BC0, 0x11BE1},
      {0x11BF0, 0x11BF9}, {0x11DB0, 0x11DDB}, {0x11DE0, 0x11DE9}, {0x11F00, 0x11F10},
      {0x11F12, 0x11F3A}, {0x11F3E, 0x11F5A}, {0x1342F, 0x1342F}, {0x13440, 0x13455},
      {0x13460, 0x143FA}, {0x16100, 0x16139}, {0x16D40, 0x16D79}, {0x16EA0, 0x16EB8},
      {0x16EBB, 0x16ED3}, {0x16FF2, 0x16FF6}, {0x187F8, 0x187FF}, {0x18CFF, 0x18CFF},
      {0x18D09, 0x18D1E}, {0x18D80, 0x18DF2}, {0x1B132, 0x1B132}, {0x1B155, 0x1B155},
      {0x1CC00, 0x1CCFC}, {0x1CD00, 0x1CEB3}, {0x1CEBA, 0x1CED0}, {0x1CEE0, 0x1CEF0},
      {0x1D2C0, 0x1D2D3}, {0x1DF25, 0x1DF2A}, {0x1E030, 0x1E06D}, {0x1E08F, 0x1E08F},
      {0x1E4D0, 0x1E4F9}, {0x1E5D0, 0x1E5FA}, {0x1E5FF, 0x1E5FF}, {0x1E6C0, 0x1E6DE},
      {0x1E6E0, 0x1E6F5}, {0x1E6FE, 0x1E6FF}, {0x1F6D8, 0x1F6D8}, {0x1F6DC, 0x1F6DC},
      {0x1F774, 0x1F77F}, {0x1F7D9, 0x1F7D9}, {0x1F8B2, 0x1F8BB}, {0x1F8C0, 0x1F8C1},
      {0x1F8D0, 0x1F8D8}, {0x1FA54, 0x1FA57}, {0x1FA75, 0x1FA77}, {0x1FA87, 0x1FA8A},
      {0x1FA8E, 0x1FA8F}, {0x1FAAD, 0x1FAAF}, {0x1FABB, 0x1FABF}, {0x1FAC6, 0x1FAC6},
      {0x1FAC8, 0x1FAC8}, {0x1FACD, 0x1FACF}, {0x1FADA, 0x1FADC}, {0x1FADF, 0x1FADF},
      {0x1FAE8, 0x1FAEA}, {0x1FAEF, 0x1FAEF}, {0x1FAF7, 0x1FAF8}, {0x1FBCB, 0x1FBEF},
      {0x1FBFA, 0x1FBFA}, {0x2B739, 0x2B73F}, {0x2CEA2, 0x2CEAD}, {0x2EBF0, 0x2EE5D},
      {0x31350, 0x33479},
  };
  constexpr uint32_t kFirst = kRanges[0].first;
  size_t i = 0;
  while (i < text.size()) {
    uint8_t b = static_cast<uint8_t>(text[i]);
    // Everything below U+0800 (1- and 2-byte sequences) is older than 15.0.
    if (b < 0xE0) {
      i += b < 0x80 ? 1 : 2;
      continue;
    }
    uint32_t cp = 0;
    size_t n = DecodeUtf8(text, i, &cp);
    if (n == 0) return true;  // not expected for repaired text; be safe
    i += n;
    if (cp < kFirst) continue;
    auto it = std::upper_bound(std::begin(kRanges), std::end(kRanges), cp,
                               [](uint32_t c, const auto& r) { return c < r.first; });
    if (it != std::begin(kRanges) && cp <= std::prev(it)->second) return true;
  }
  return false;
}

}  // namespace dseek
