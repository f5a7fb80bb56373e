// Bad input: malformed or unsupported files give a dseek::Error naming the
// file and field; any byte string, invalid UTF-8 included, encodes.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace dseek {
namespace {

using nlohmann::json;

const std::string kDir = std::string(DSEEK_TEST_DATA) + "/tokenizer/deepseek-v3";

// A minimal byte-level BPE: the 256 byte symbols, "Ġ"+"t" -> "Ġt" and
// "h"+"e" -> "he", DeepSeek's pre-tokenizer layout, and two added tokens.
json TinyTokenizer() {
  ByteLevelAlphabet alphabet;
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[alphabet.CharFor(static_cast<uint8_t>(b))] = b;
  vocab["Ġt"] = 256;
  vocab["he"] = 257;
  json j;
  j["version"] = "1.0";
  j["added_tokens"] = json::array({
      {{"id", 300}, {"content", "<s>"}, {"special", true}, {"normalized", false},
       {"lstrip", false}, {"rstrip", false}, {"single_word", false}},
      {{"id", 301}, {"content", "<tool>"}, {"special", false}, {"normalized", true},
       {"lstrip", false}, {"rstrip", false}, {"single_word", false}},
  });
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array({{{"type", "Split"},
                     {"pattern", {{"Regex", "\\p{N}{1,3}"}}},
                     {"behavior", "Isolated"},
                     {"invert", false}},
                    {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}})}};
  j["post_processor"] = nullptr;
  j["decoder"] = {{"type", "ByteLevel"}};
  j["model"] = {{"type", "BPE"},      {"dropout", nullptr}, {"unk_token", nullptr},
                {"vocab", vocab},     {"merges", json::array({"Ġ t", "h e"})}};
  return j;
}

// Runs `f`, expecting a dseek::Error whose field contains `field`.
template <typename F>
Error ExpectError(F f, const std::string& field) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_NE(e.field().find(field), std::string::npos)
        << "field '" << e.field() << "', reason: " << e.reason();
    return e;
  }
  ADD_FAILURE() << "no dseek::Error for " << field;
  return Error("", "", "");
}

Error Load(const json& j, const std::string& field) {
  return ExpectError([&] { Tokenizer::FromJsonText(j.dump(), ""); }, field);
}

TEST(TinyTokenizer, Loads) {
  Tokenizer tok = Tokenizer::FromJsonText(TinyTokenizer().dump(), "");
  EXPECT_EQ(tok.Encode(" the", false), (std::vector<int32_t>{256, 257}));
  // Byte symbols have the byte's value as id here.
  EXPECT_EQ(tok.Encode("<s> 12345<tool>", false),
            (std::vector<int32_t>{300, ' ', '1', '2', '3', '4', '5', 301}));
  EXPECT_EQ(tok.bos_id(), -1);
  EXPECT_FALSE(tok.add_bos());
  EXPECT_EQ(tok.Decode(tok.Encode("<s> the 12345<tool>", false)), "<s> the 12345<tool>");
}

TEST(TinyTokenizer, TemplatePostProcessorWithoutConfig) {
  json j = TinyTokenizer();
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
      {"pair", json::array()},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {300}}, {"tokens", {"<s>"}}}}}}};
  Tokenizer tok = Tokenizer::FromJsonText(j.dump(), "");
  EXPECT_EQ(tok.Encode(" t", true), (std::vector<int32_t>{300, 256}));
  EXPECT_EQ(tok.bos_id(), 300);
  // A config with add_bos_token / add_eos_token overrides the template.
  json cfg = {{"add_bos_token", false}, {"add_eos_token", true}, {"eos_token", "<s>"}};
  Tokenizer tok2 = Tokenizer::FromJsonText(j.dump(), cfg.dump());
  EXPECT_EQ(tok2.Encode(" t", true), (std::vector<int32_t>{256, 300}));
}

TEST(TinyTokenizer, AddedTokenFlags) {
  json j = TinyTokenizer();
  j["added_tokens"][0]["lstrip"] = true;   // <s> swallows spaces before it
  j["added_tokens"][1]["rstrip"] = true;   // <tool> swallows spaces after it
  Tokenizer tok = Tokenizer::FromJsonText(j.dump(), "");
  const int32_t a = tok.TokenId("a").value(), b = tok.TokenId("b").value();
  EXPECT_EQ(tok.Encode("a \t <s>b", false), (std::vector<int32_t>{a, 300, b}));
  EXPECT_EQ(tok.Encode("a<tool>  \nb", false), (std::vector<int32_t>{a, 301, b}));

  json k = TinyTokenizer();
  k["added_tokens"][1]["single_word"] = true;
  Tokenizer sw = Tokenizer::FromJsonText(k.dump(), "");
  const int32_t sp = sw.TokenId("Ġ").value();
  EXPECT_EQ(sw.Encode("a <tool> b", false), (std::vector<int32_t>{a, sp, 301, sp, b}));
  // Inside a word it is plain text.
  std::vector<int32_t> inside = sw.Encode("a<tool>", false);
  EXPECT_EQ(std::count(inside.begin(), inside.end(), 301), 0);
  EXPECT_EQ(sw.Decode(inside), "a<tool>");
}

TEST(TinyTokenizer, LeftmostLongestAddedTokens) {
  json j = TinyTokenizer();
  j["added_tokens"].push_back({{"id", 302}, {"content", "<s>x"}, {"special", true},
                               {"normalized", false}});
  Tokenizer tok = Tokenizer::FromJsonText(j.dump(), "");
  EXPECT_EQ(tok.Encode("<s>x<s>", false), (std::vector<int32_t>{302, 300}));
}

TEST(MalformedFiles, NotJson) {
  Error e = ExpectError([] { Tokenizer::FromJsonText("{\"model\": ", "", "t.json"); }, "");
  EXPECT_EQ(e.where(), "t.json");
  EXPECT_NE(e.reason().find("malformed JSON"), std::string::npos);
  ExpectError([] { Tokenizer::FromJsonText("[1, 2]", ""); }, "");
}

TEST(MalformedFiles, UnsupportedParts) {
  json j = TinyTokenizer();
  j["model"]["type"] = "Unigram";
  Load(j, "model.type");

  j = TinyTokenizer();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  Load(j, "pre_tokenizer");

  j = TinyTokenizer();
  j["pre_tokenizer"]["pretokenizers"][0]["type"] = "Metaspace";
  Load(j, "pre_tokenizer.pretokenizers[0]");

  j = TinyTokenizer();
  j["pre_tokenizer"]["pretokenizers"].erase(1);  // no ByteLevel at the end
  Load(j, "pre_tokenizer.pretokenizers[0]");

  j = TinyTokenizer();
  j["normalizer"] = {{"type", "NFC"}};
  Load(j, "normalizer");

  j = TinyTokenizer();
  j["decoder"] = {{"type", "Metaspace"}};
  Load(j, "decoder");

  j = TinyTokenizer();
  j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways";
  Load(j, "behavior");
}

TEST(MalformedFiles, BadFields) {
  json j = TinyTokenizer();
  j.erase("model");
  Load(j, "model");

  j = TinyTokenizer();
  j["model"]["merges"].push_back("Ġ nosuchtoken");
  Load(j, "model.merges[2]");

  j = TinyTokenizer();
  j["model"]["merges"].push_back(42);
  Load(j, "model.merges[2]");

  j = TinyTokenizer();
  j["model"]["vocab"]["x"] = "seven";
  Load(j, "model.vocab");

  j = TinyTokenizer();
  j["added_tokens"][0].erase("id");
  Load(j, "added_tokens[0].id");

  j = TinyTokenizer();
  j["added_tokens"][1]["content"] = "";
  Load(j, "added_tokens[1].content");

  j = TinyTokenizer();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  Error e = Load(j, "pre_tokenizer.pretokenizers[0].pattern.Regex");
  EXPECT_NE(e.reason().find("(unclosed"), std::string::npos);
}

TEST(MalformedFiles, BadConfig) {
  std::string tj = TinyTokenizer().dump();
  ExpectError([&] { Tokenizer::FromJsonText(tj, "not json"); }, "");
  ExpectError([&] { Tokenizer::FromJsonText(tj, R"({"bos_token": 5})"); }, "bos_token");
  ExpectError(
      [&] { Tokenizer::FromJsonText(tj, R"({"add_bos_token": true, "bos_token": "<nope>"})"); },
      "bos_token");
}

TEST(MalformedFiles, FilesNamedInErrors) {
  auto dir = std::filesystem::temp_directory_path() / "dseek_tokenizer_errors_test";
  std::filesystem::create_directories(dir);
  std::string tj = (dir / "tokenizer.json").string();
  std::string cfg = (dir / "tokenizer_config.json").string();
  std::ofstream(tj) << TinyTokenizer().dump();
  std::ofstream(cfg) << "{\"add_bos_token\": tru";
  Error e = ExpectError([&] { Tokenizer::FromDir(dir.string()); }, "");
  EXPECT_EQ(e.where(), cfg);
  e = ExpectError([&] { Tokenizer::FromFile((dir / "missing.json").string()); }, "");
  EXPECT_EQ(e.where(), (dir / "missing.json").string());
  std::filesystem::remove_all(dir);
}

class InvalidUtf8 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tok_ = new Tokenizer(Tokenizer::FromDir(kDir)); }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  static Tokenizer* tok_;
};
Tokenizer* InvalidUtf8::tok_ = nullptr;

// Invalid bytes are replaced by U+FFFD before anything else (maximal-subpart
// rule, like Rust's from_utf8_lossy and Python's errors="replace").
TEST_F(InvalidUtf8, ReplacedBeforeEncoding) {
  const std::string fffd(kReplacementChar);
  EXPECT_EQ(tok_->Encode("\xFF", false), tok_->Encode(fffd, false));
  EXPECT_EQ(tok_->Encode("ab\xC3", false), tok_->Encode("ab" + fffd, false));
  // E0 needs A0..BF next, so E0 80 is two bad sequences.
  EXPECT_EQ(tok_->Encode("\xE0\x80x", false), tok_->Encode(fffd + fffd + "x", false));
  // A truncated 3-byte sequence is one U+FFFD.
  EXPECT_EQ(tok_->Encode("\xE4\xBD \xE4\xBD\xA0", false), tok_->Encode(fffd + " 你", false));
  // Surrogates (ED A0 80) and overlong NUL (C0 80) are invalid too.
  EXPECT_EQ(tok_->Decode(tok_->Encode("\xED\xA0\x80|\xC0\x80", false)),
            fffd + fffd + fffd + "|" + fffd + fffd);
  std::string nul("a\0b", 3);
  EXPECT_EQ(tok_->Decode(tok_->Encode(nul, false)), nul);
}

TEST_F(InvalidUtf8, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s(rng() % 64, '\0');
    // Mix in structure so regexes and added tokens are exercised.
    for (char& c : s) {
      uint32_t r = rng() % 8;
      c = r < 3 ? static_cast<char>(rng() % 256) : r < 5 ? " \n\t1a<"[rng() % 6] : "\xE4\xBD\xA0"[rng() % 3];
    }
    if (iter % 10 == 0) s += "<｜User｜>";
    std::vector<int32_t> ids = tok_->Encode(s, iter % 2 == 0);
    if (iter % 2 == 0) ids.erase(ids.begin());
    EXPECT_EQ(tok_->Decode(ids), RepairUtf8(s));
  }
}

TEST_F(InvalidUtf8, LongRunsDoNotOverflowTheRegexStack) {
  for (std::string unit : {" ", "\n", "a", "1", "你", "!", " \n"}) {
    std::string s;
    for (int i = 0; i < 200000; ++i) s += unit;
    s += "x";
    EXPECT_EQ(tok_->Decode(tok_->Encode(s, false)), s) << "unit '" << unit << "'";
  }
}

}  // namespace
}  // namespace dseek
