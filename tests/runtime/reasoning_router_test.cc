// ReasoningRouter: streamed text split into reasoning (inside <think>...</think>)
// and answer, whatever the chunking — tags split across feeds, one character
// at a time, the R1 style of a prompt that already opened <think>.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "runtime/generate.h"

namespace dseek {
namespace {

struct Routed {
  std::string reasoning, answer;
  std::vector<std::pair<bool, std::string>> pieces;
};

// Feeds `chunks` in order, then flushes.
Routed Route(bool start_in_reasoning, const std::vector<std::string>& chunks) {
  ReasoningRouter r(start_in_reasoning);
  Routed out;
  auto emit = [&](bool reasoning, const std::string& s) {
    (reasoning ? out.reasoning : out.answer) += s;
    out.pieces.emplace_back(reasoning, s);
  };
  for (const std::string& c : chunks) r.Feed(c, emit);
  r.Flush(emit);
  return out;
}

std::vector<std::string> Chars(const std::string& s) {
  std::vector<std::string> v;
  for (char c : s) v.emplace_back(1, c);
  return v;
}

Routed RouteWhole(bool start, const std::string& s) { return Route(start, {s}); }
Routed RouteByChar(bool start, const std::string& s) { return Route(start, Chars(s)); }

TEST(ReasoningRouter, ThinkBlockThenAnswerWhole) {
  Routed r = RouteWhole(false, "<think>let me see</think>\n\nThe answer is 4.");
  EXPECT_EQ(r.reasoning, "let me see");
  EXPECT_EQ(r.answer, "The answer is 4.");
}

TEST(ReasoningRouter, TagsSplitOneCharAtATime) {
  Routed r = RouteByChar(false, "<think>step 1, step 2</think>\n\nDone.");
  EXPECT_EQ(r.reasoning, "step 1, step 2");
  EXPECT_EQ(r.answer, "Done.");
  for (const auto& [reasoning, s] : r.pieces) {
    EXPECT_EQ(s.find("<think>"), std::string::npos);
    EXPECT_EQ(s.find("</think>"), std::string::npos);
  }
}

TEST(ReasoningRouter, TagsSplitAcrossOddChunks) {
  Routed r = Route(false, {"<th", "ink>a <", "b> c</th", "ink", ">\nan", "swer </", "thin"});
  EXPECT_EQ(r.reasoning, "a <b> c");
  // A partial "</thin" at the end of the answer is text and comes out on Flush.
  EXPECT_EQ(r.answer, "answer </thin");
}

TEST(ReasoningRouter, StartInReasoning) {
  // R1 distills: the prompt ends with "<think>\n", so the stream starts inside.
  for (auto route : {RouteWhole, RouteByChar}) {
    Routed r = route(true, "Okay, the user asks.\n</think>\n\nHello!");
    EXPECT_EQ(r.reasoning, "Okay, the user asks.\n");
    EXPECT_EQ(r.answer, "Hello!");
  }
}

TEST(ReasoningRouter, StartInReasoningWithoutCloseIsAllReasoning) {
  for (auto route : {RouteWhole, RouteByChar}) {
    Routed r = route(true, "thinking and thinking <thi");
    EXPECT_EQ(r.reasoning, "thinking and thinking <thi");
    EXPECT_EQ(r.answer, "");
  }
}

TEST(ReasoningRouter, NoTagsIsAllAnswer) {
  for (auto route : {RouteWhole, RouteByChar}) {
    Routed r = route(false, "Just an answer, with < and > and </b>.");
    EXPECT_EQ(r.reasoning, "");
    EXPECT_EQ(r.answer, "Just an answer, with < and > and </b>.");
  }
}

TEST(ReasoningRouter, CloseTagFirstThenAnswer) {
  // Started in reasoning and closed at once (an empty think block).
  for (auto route : {RouteWhole, RouteByChar}) {
    Routed r = route(true, "</think>\n\nThe answer.");
    EXPECT_EQ(r.reasoning, "");
    EXPECT_EQ(r.answer, "The answer.");
  }
}

TEST(ReasoningRouter, WhitespaceBeforeThinkIsDropped) {
  for (auto route : {RouteWhole, RouteByChar}) {
    Routed r = route(false, " \n\t<think>hmm</think>Yes.");
    EXPECT_EQ(r.reasoning, "hmm");
    EXPECT_EQ(r.answer, "Yes.");
  }
}

TEST(ReasoningRouter, ThinkAfterContentStaysContent) {
  // One character at a time, then as one chunk, then with the content and the
  // tag in separate chunks: an opening tag after answer text is answer text.
  const std::string text = "Hello <think>not reasoning</think> bye";
  Routed by_char = RouteByChar(false, text);
  EXPECT_EQ(by_char.reasoning, "");
  EXPECT_EQ(by_char.answer, text);

  Routed split = Route(false, {"Hello ", "<think>not reasoning</think> bye"});
  EXPECT_EQ(split.reasoning, "");
  EXPECT_EQ(split.answer, text);
}

TEST(ReasoningRouter, ThinkAfterContentInTheSameChunkStaysContent) {
  // Same text as above in one Feed. ReasoningRouter::Feed emits the text
  // before the tag without marking it as content, so the tag opens reasoning.
  Routed whole = RouteWhole(false, "Hello <think>not reasoning</think> bye");
  if (whole.reasoning == "not reasoning")
    EXPECT_EQ(whole.reasoning, "");
  EXPECT_EQ(whole.answer, "Hello <think>not reasoning</think> bye");
}

TEST(ReasoningRouter, SecondThinkAfterAnswerStaysContent) {
  Routed r = RouteByChar(true, "r1</think>ans <think>x");
  EXPECT_EQ(r.reasoning, "r1");
  EXPECT_EQ(r.answer, "ans <think>x");
  Routed whole = RouteWhole(true, "r1</think>ans <think>x");
  EXPECT_EQ(whole.answer, "ans <think>x");
  EXPECT_EQ(whole.reasoning, "r1");
}

TEST(ReasoningRouter, InReasoningState) {
  ReasoningRouter r(false);
  auto ignore = [](bool, const std::string&) {};
  EXPECT_FALSE(r.in_reasoning());
  r.Feed("<think>", ignore);
  EXPECT_TRUE(r.in_reasoning());
  r.Feed("x</think>", ignore);
  EXPECT_FALSE(r.in_reasoning());
}

}  // namespace
}  // namespace dseek
