// StreamDecoder: text comes out only once its UTF-8 characters are complete,
// and the pieces add up to Decode() of the whole sequence.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

namespace dseek {
namespace {

const std::string kDir = std::string(DSEEK_TEST_DATA) + "/tokenizer/deepseek-v3";

class StreamDecoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tok_ = new Tokenizer(Tokenizer::FromDir(kDir)); }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  static Tokenizer* tok_;
};
Tokenizer* StreamDecoderTest::tok_ = nullptr;

std::string StreamAll(const Tokenizer& tok, const std::vector<int32_t>& ids,
                      std::vector<std::string>* parts = nullptr, bool skip_special = false) {
  StreamDecoder dec(tok, skip_special);
  std::string out;
  for (int32_t id : ids) {
    std::string piece = dec.Push(id);
    if (parts) parts->push_back(piece);
    out += piece;
  }
  std::string tail = dec.Finish();
  if (parts) parts->push_back(tail);
  return out + tail;
}

TEST_F(StreamDecoderTest, EmojiWaitsForItsLastByte) {
  // 👨‍👩‍👧‍👦: the first token holds three of the four bytes of 👨.
  std::vector<int32_t> ids = {25730, 104, 46088, 25730, 105, 46088,
                              25730, 103, 46088, 25730, 102};
  std::vector<std::string> parts;
  EXPECT_EQ(StreamAll(*tok_, ids, &parts), "👨‍👩‍👧‍👦");
  EXPECT_EQ(parts[0], "");
  EXPECT_EQ(parts[1], "👨");
  for (const std::string& p : parts) {
    // Every piece is complete UTF-8 on its own.
    EXPECT_EQ(tok_->Decode(tok_->Encode(p, false)), p);
  }
  EXPECT_EQ(parts.back(), "");
}

TEST_F(StreamDecoderTest, DanglingLeadBytesFlushAsReplacement) {
  // 62377 is "ðŁ¤" (F0 9F A4), the first three bytes of 🤖.
  StreamDecoder dec(*tok_);
  EXPECT_EQ(dec.Push(19923), "Hello");
  EXPECT_EQ(dec.Push(62377), "");
  EXPECT_EQ(dec.Finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(dec.Finish(), "");
}

TEST_F(StreamDecoderTest, InvalidBytesComeOutAtOnce) {
  // 104 is the lone continuation byte A8: it can never be completed.
  StreamDecoder dec(*tok_);
  EXPECT_EQ(dec.Push(104), "\xEF\xBF\xBD");
  EXPECT_EQ(dec.Push(19923), "Hello");
  // A lead byte followed by a non-continuation: U+FFFD, then the text.
  EXPECT_EQ(dec.Push(62377), "");
  EXPECT_EQ(dec.Push(19923), "\xEF\xBF\xBDHello");
  EXPECT_EQ(dec.Finish(), "");
}

TEST_F(StreamDecoderTest, MatchesDecodeOnEveryFixture) {
  for (const char* name : {"encode_cases.jsonl", "decode_cases.jsonl", "chat_cases.jsonl"}) {
    std::ifstream in(kDir + "/" + name);
    ASSERT_TRUE(in.good()) << name;
    for (std::string line; std::getline(in, line);) {
      auto ids = nlohmann::json::parse(line)["ids"].get<std::vector<int32_t>>();
      EXPECT_EQ(StreamAll(*tok_, ids), tok_->Decode(ids)) << line;
      EXPECT_EQ(StreamAll(*tok_, ids, nullptr, true), tok_->Decode(ids, true)) << line;
    }
  }
}

TEST_F(StreamDecoderTest, SkipsSpecialTokensWhenAsked) {
  StreamDecoder dec(*tok_, /*skip_special=*/true);
  EXPECT_EQ(dec.Push(0), "");
  EXPECT_EQ(dec.Push(19923), "Hello");
  EXPECT_EQ(dec.Push(1), "");
  StreamDecoder keep(*tok_);
  EXPECT_EQ(keep.Push(1), "<｜end▁of▁sentence｜>");
}

}  // namespace
}  // namespace dseek
