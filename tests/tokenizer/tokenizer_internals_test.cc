// The pieces under the Tokenizer: regex translation, pre-tokenizer split
// behaviors, the two BPE merge loops, UTF-8 repair.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tokenizer/bpe.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode_additions.h"
#include "tokenizer/utf8.h"

namespace dseek {
namespace {

using nlohmann::json;

std::vector<std::string> Pieces(const json& pre, std::string_view text) {
  PreTokenizer p = PreTokenizer::FromJson(pre, "test");
  PreTokenizeScratch scratch;
  scratch.regex.unicode_additions = HasUnicodeAdditions(text);
  std::vector<std::string> out;
  auto add = [&](std::string_view piece) { out.emplace_back(piece); };
  p.Split(text, &scratch, PieceSink(add));
  return out;
}

json WithByteLevel(json step) {
  return {{"type", "Sequence"},
          {"pretokenizers",
           json::array({step, {{"type", "ByteLevel"},
                               {"add_prefix_space", false},
                               {"use_regex", false}}})}};
}

json DeepSeekPreTokenizer() {
  json split = {{"type", "Split"}, {"behavior", "Isolated"}, {"invert", false}};
  json a = split, b = split, c = split;
  a["pattern"] = {{"Regex", "\\p{N}{1,3}"}};
  b["pattern"] = {{"Regex", "[一-龥぀-ゟ゠-ヿ]+"}};
  c["pattern"] = {{"Regex",
                   "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?"
                   "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}};
  return {{"type", "Sequence"},
          {"pretokenizers", json::array({a, b, c, {{"type", "ByteLevel"},
                                                   {"add_prefix_space", false},
                                                   {"use_regex", false}}})}};
}

using V = std::vector<std::string>;

TEST(SplitBehavior, MatchesHuggingFaceExamples) {
  // The examples of HF's SplitDelimiterBehavior docs, on "the-final--countdown".
  auto split = [](const char* behavior, bool invert = false) {
    json s = {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior},
              {"invert", invert}};
    return Pieces(WithByteLevel(s), "the-final--countdown");
  };
  EXPECT_EQ(split("Removed"), (V{"the", "final", "countdown"}));
  EXPECT_EQ(split("Isolated"), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split("MergedWithPrevious"), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split("MergedWithNext"), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split("Contiguous"), (V{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(split("Removed", true), (V{"-", "-", "-"}));
}

TEST(SplitBehavior, LiteralPatternsAreNotRegexes) {
  json s = {{"type", "Split"}, {"pattern", {{"String", ".*"}}}, {"behavior", "Isolated"}};
  EXPECT_EQ(Pieces(WithByteLevel(s), "a.*b"), (V{"a", ".*", "b"}));
}

TEST(SplitBehavior, DigitsAndPrefixSpace) {
  EXPECT_EQ(Pieces(WithByteLevel({{"type", "Digits"}, {"individual_digits", true}}), "ab123"),
            (V{"ab", "1", "2", "3"}));
  EXPECT_EQ(Pieces(WithByteLevel({{"type", "Digits"}, {"individual_digits", false}}), "ab123c"),
            (V{"ab", "123", "c"}));
  json gpt2 = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  EXPECT_EQ(Pieces(gpt2, "Hello world's 42!"),
            (V{" Hello", " world", "'s", " 42", "!"}));
}

TEST(DeepSeekPreTokenizer, Pieces) {
  json pre = DeepSeekPreTokenizer();
  EXPECT_EQ(Pieces(pre, "Hello, world!"), (V{"Hello", ",", " world", "!"}));
  EXPECT_EQ(Pieces(pre, "12345 你好世界"), (V{"123", "45", " ", "你好世界"}));
  EXPECT_EQ(Pieces(pre, "a  \n\n b"), (V{"a", "  \n\n", " b"}));
  // U+0085 is White_Space (as in Oniguruma), U+FEFF is not.
  EXPECT_EQ(Pieces(pre, "a \xC2\x85"), (V{"a", " \xC2\x85"}));
  EXPECT_EQ(Pieces(pre, "a \xEF\xBB\xBF"), (V{"a", " ", "\xEF\xBB\xBF"}));
}

TEST(DeepSeekPreTokenizer, NewerUnicodeCharacters) {
  json pre = DeepSeekPreTokenizer();
  // U+1FAE8 (Unicode 15.0 emoji, So) joins the space before it like ☺.
  EXPECT_EQ(Pieces(pre, "a \xE2\x98\xBA"), (V{"a", " \xE2\x98\xBA"}));
  EXPECT_EQ(Pieces(pre, "a \xF0\x9F\xAB\xA8"), (V{"a", " \xF0\x9F\xAB\xA8"}));
  // U+16D40 (Unicode 16.0 letter) continues a word.
  EXPECT_EQ(Pieces(pre, "x\xF0\x96\xB5\x80y z"), (V{"x\xF0\x96\xB5\x80y", " z"}));
  EXPECT_TRUE(HasUnicodeAdditions("a \xF0\x9F\xAB\xA8"));
  EXPECT_FALSE(HasUnicodeAdditions("a \xE2\x98\xBA 你好 é"));
}

TEST(RegexTranslation, WhiteSpaceAndHex) {
  EXPECT_EQ(TranslateOnigPattern("a\\sb", false),
            "a[\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
            "\\x{205F}\\x{3000}]b");
  EXPECT_EQ(TranslateOnigPattern("[^\\s\\p{L}]", false),
            "[^\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
            "\\x{205F}\\x{3000}\\p{L}]");
  EXPECT_EQ(TranslateOnigPattern("\\h+", false), "[0-9a-fA-F]+");
  EXPECT_EQ(TranslateOnigPattern("[]\\s]", false).substr(0, 4), "[]\\t");
  EXPECT_EQ(TranslateOnigPattern("\\p{L}"), "[\\p{L}" + std::string(UnicodeAdditions("L")) + "]");
  EXPECT_FALSE(UnicodeAdditions("So").empty());
  EXPECT_TRUE(UnicodeAdditions("Zs").empty());
}

TEST(RegexTranslation, WhiteSpaceMatches) {
  Regex ws("\\s", false, "", "");
  RegexScratch scratch;
  for (const char* yes : {" ", "\t", "\xC2\x85", "\xC2\xA0", "\xE3\x80\x80", "\xE2\x80\xA8"}) {
    EXPECT_TRUE(ws.MatchesAt(yes, 0, &scratch)) << yes;
  }
  // U+180E left White_Space in Unicode 6.3; PCRE2's own \s still has it.
  for (const char* no : {"a", "\xEF\xBB\xBF", "\xE1\xA0\x8E", "\xE2\x80\x8B"}) {
    EXPECT_FALSE(ws.MatchesAt(no, 0, &scratch)) << no;
  }
}

TEST(RegexTranslation, EmptyMatchesAdvance) {
  Regex re("x*", false, "", "");
  RegexScratch scratch;
  std::vector<Span> m;
  re.FindAll("axxb", &scratch, &m);
  EXPECT_EQ(m, (std::vector<Span>{{0, 0}, {1, 3}, {3, 3}, {4, 4}}));
}

// Random merge tables: the linear scan and the heap must agree exactly.
TEST(BpeMerge, LinearAndHeapAgree) {
  std::mt19937 rng(7);
  for (int table = 0; table < 20; ++table) {
    const int kBase = 6;
    MergeTable merges;
    int next_id = kBase;
    for (int r = 0; r < 120; ++r) {
      int32_t a = rng() % next_id, b = rng() % next_id;
      if (merges.Insert(a, b, {r, next_id})) ++next_id;
    }
    for (int iter = 0; iter < 300; ++iter) {
      std::vector<int32_t> s(1 + rng() % 90);
      for (int32_t& x : s) x = rng() % kBase;
      // Pieces longer than the linear limit take the heap path either way.
      std::vector<int32_t> lin = s, heap = s;
      ApplyMerges(merges, false, &lin);
      ApplyMerges(merges, true, &heap);
      ASSERT_EQ(lin, heap);
    }
  }
}

TEST(Utf8, RepairFollowsMaximalSubparts) {
  const std::string r(kReplacementChar);
  EXPECT_EQ(RepairUtf8("ok"), "ok");
  EXPECT_EQ(RepairUtf8("\x80\x80"), r + r);
  EXPECT_EQ(RepairUtf8("\xF0\x9F\x98"), r);        // truncated 4-byte
  EXPECT_EQ(RepairUtf8("\xF0\x9F\x98x"), r + "x");  // interrupted
  EXPECT_EQ(RepairUtf8("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(RepairUtf8("\xC1\xBF"), r + r);                 // overlong
  EXPECT_TRUE(IsValidUtf8("plain ascii text, long enough for the fast path"));
  EXPECT_FALSE(IsValidUtf8("plain ascii text, long enough \xFF for the fast path"));
}

}  // namespace
}  // namespace dseek
