// Tokenizer::FromGguf against llama.cpp's own vocab tests: the
// ggml-vocab-deepseek-{llm,coder}.gguf files and their .inp/.out pairs
// (tests/data/gguf-vocab/README.md; test-tokenizer-0 encodes with no BOS/EOS
// and without parsing special-token text), plus the tiny model fixtures.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "format/gguf.h"
#include "tokenizer/tokenizer.h"

namespace dseek {
namespace {

const std::string kData = std::string(DSEEK_TEST_DATA);

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> SplitOn(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t at; (at = s.find(sep, pos)) != std::string::npos; pos = at + sep.size()) out.push_back(s.substr(pos, at - pos));
  out.push_back(s.substr(pos));
  return out;
}

class GgufVocab : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufVocab, MatchesLlamaCppTokenizerTests) {
  const std::string base = kData + "/gguf-vocab/ggml-vocab-" + GetParam() + ".gguf";
  auto file = GgufFile::Open(base);
  Tokenizer tok = Tokenizer::FromGguf(*file);
  std::vector<std::string> inputs = SplitOn(ReadAll(base + ".inp"), "\n__ggml_vocab_test__\n");
  if (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
  std::vector<std::string> lines = SplitOn(ReadAll(base + ".out"), "\n");
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  ASSERT_EQ(inputs.size(), lines.size());
  int failures = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int32_t> want;
    std::istringstream ls(lines[i]);
    for (int32_t id; ls >> id;) want.push_back(id);
    std::vector<int32_t> got = tok.Encode(inputs[i], false);
    if (got != want) {
      ++failures;
      std::string g, w;
      for (int32_t id : got) g += " " + std::to_string(id);
      for (int32_t id : want) w += " " + std::to_string(id);
      ADD_FAILURE() << "input " << i << " '" << inputs[i] << "'\n got:" << g << "\nwant:" << w;
    }
    EXPECT_EQ(tok.Decode(want), inputs[i]) << "input " << i;
  }
  EXPECT_EQ(failures, 0);
  EXPECT_TRUE(tok.add_bos());
  EXPECT_FALSE(tok.add_eos());
}

INSTANTIATE_TEST_SUITE_P(Files, GgufVocab, ::testing::Values("deepseek-llm", "deepseek-coder"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

// The tiny model fixtures: 256 byte tokens, 42 merges, BOS/EOS as CONTROL tokens.
TEST(GgufVocabTiny, ModelFilesCarryAUsableTokenizer) {
  for (const char* name : {"tiny-deepseek2-f32", "tiny-qwen2-f32", "tiny-llama-f16"}) {
    auto file = GgufFile::Open(kData + "/gguf/" + name + ".gguf");
    Tokenizer tok = Tokenizer::FromGguf(*file);
    EXPECT_EQ(tok.vocab_size(), 300u) << name;
    EXPECT_EQ(tok.bos_id(), 298) << name;
    EXPECT_EQ(tok.eos_id(), 299) << name;
    EXPECT_TRUE(tok.IsSpecial(298));
    EXPECT_EQ(tok.add_bos(), std::string(name) != "tiny-qwen2-f32") << name;
    const std::string text = "Hello, world! 123 \xc3\xa4";
    std::vector<int32_t> ids = tok.Encode(text, false);
    EXPECT_EQ(tok.Decode(ids), text) << name;
    EXPECT_EQ(tok.TokenBytes(65), "A");
    std::vector<int32_t> with_special = tok.Encode(tok.bos_token() + "A", false);
    EXPECT_EQ(with_special, (std::vector<int32_t>{298, 65})) << name;
  }
}

TEST(GgufVocabTiny, NoTokenizerIsAClearError) {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  const std::string path = ::testing::TempDir() + "/no_tokenizer.gguf";
  w.Write(path);
  try {
    Tokenizer::FromGguf(*GgufFile::Open(path));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dseek
