#include "runtime/stop_strings.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"

namespace dseek {
namespace {

// Feeds pieces one by one and records what each call released.
struct Fed {
  std::vector<std::string> emits;
  std::string text;  // everything emitted, Flush() included if not stopped
  bool stopped = false;
  int stop_index = -1;
};

Fed FeedAll(StopStringMatcher& m, const std::vector<std::string>& pieces) {
  Fed run;
  for (const std::string& piece : pieces) {
    auto r = m.Feed(piece);
    run.emits.push_back(r.emit);
    run.text += r.emit;
    if (r.stopped) {
      run.stopped = true;
      run.stop_index = r.stop_index;
    }
  }
  if (!run.stopped) run.text += m.Flush();
  return run;
}

TEST(StopStrings, NoStopsPassThrough) {
  StopStringMatcher m({});
  auto r = m.Feed("hello <");
  EXPECT_EQ(r.emit, "hello <");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(m.held(), 0u);
}

TEST(StopStrings, StopInsideOnePiece) {
  StopStringMatcher m({"</s>"});
  auto r = m.Feed("Hello</s>world");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "Hello");
  EXPECT_EQ(r.stop_index, 0);
  EXPECT_TRUE(m.stopped());
}

TEST(StopStrings, StopSpanningPiecesIsHeldBackThenCut) {
  StopStringMatcher m({"</s>"});
  Fed run = FeedAll(m, {"Hel", "lo <", "/s", ">", "ignored"});
  EXPECT_EQ(run.emits, (std::vector<std::string>{"Hel", "lo ", "", "", ""}));
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.text, "Hello ");
}

TEST(StopStrings, FalseAlarmIsReleased) {
  StopStringMatcher m({"</s>"});
  auto a = m.Feed("a <");
  EXPECT_EQ(a.emit, "a ");
  EXPECT_EQ(m.held(), 1u);
  auto b = m.Feed("/b> c");
  EXPECT_EQ(b.emit, "</b> c");
  EXPECT_FALSE(b.stopped);
  EXPECT_EQ(m.held(), 0u);
}

TEST(StopStrings, OverlappingPartialMatch) {
  // "aaab": the stop "aab" starts at the second 'a', so one 'a' is text.
  StopStringMatcher m({"aab"});
  Fed run = FeedAll(m, {"a", "a", "a", "b"});
  EXPECT_EQ(run.emits, (std::vector<std::string>{"", "", "a", ""}));
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.text, "a");
}

TEST(StopStrings, FirstToCompleteWins) {
  {
    StopStringMatcher m({"world", "lo w"});
    auto r = m.Feed("hello world");
    EXPECT_EQ(r.emit, "hel");
    EXPECT_EQ(r.stop_index, 1);
  }
  {
    StopStringMatcher m({"ab", "abc"});
    auto r = m.Feed("xabc");
    EXPECT_EQ(r.emit, "x");
    EXPECT_EQ(r.stop_index, 0);
  }
  {
    // "aa" completes before "caaa" does, even within one piece.
    StopStringMatcher m({"caaa", "aa"});
    auto r = m.Feed("caaa");
    EXPECT_EQ(r.emit, "c");
    EXPECT_EQ(r.stop_index, 1);
  }
  {
    // Same end: the longer (earlier-starting) one.
    StopStringMatcher m({"b", "ab"});
    auto r = m.Feed("xab");
    EXPECT_EQ(r.emit, "x");
    EXPECT_EQ(r.stop_index, 1);
  }
  {
    // The shorter stop completes inside the held tail of a longer one.
    StopStringMatcher m({"<think>", "hi"});
    Fed run = FeedAll(m, {"<t", "hi"});
    EXPECT_TRUE(run.stopped);
    EXPECT_EQ(run.stop_index, 1);
    EXPECT_EQ(run.text, "<t");
  }
}

TEST(StopStrings, StopAtStartAndWholePiece) {
  StopStringMatcher m({"\n\n"});
  auto r = m.Feed("\n\n");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "");
}

TEST(StopStrings, FlushReleasesHeldTail) {
  StopStringMatcher m({"</think>"});
  Fed run = FeedAll(m, {"done </th"});
  EXPECT_EQ(run.emits, (std::vector<std::string>{"done "}));
  EXPECT_FALSE(run.stopped);
  EXPECT_EQ(run.text, "done </th");
  EXPECT_EQ(m.held(), 0u);
}

TEST(StopStrings, Utf8StopSpanningPieces) {
  StopStringMatcher m({"。\n", "用户："});
  Fed run = FeedAll(m, {"你好", "。", "\n后面"});
  EXPECT_EQ(run.emits, (std::vector<std::string>{"你好", "", ""}));
  EXPECT_TRUE(run.stopped);
  EXPECT_EQ(run.stop_index, 0);
  EXPECT_EQ(run.text, "你好");
}

TEST(StopStrings, ResetStartsOver) {
  StopStringMatcher m({"x"});
  EXPECT_TRUE(m.Feed("ax").stopped);
  m.Reset();
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.Feed("bb").emit, "bb");
}

TEST(StopStrings, EmptyStopRejected) {
  EXPECT_THROW(StopStringMatcher({"ok", ""}), Error);
}

TEST(StopStrings, RandomSplitsMatchWholeTextSearch) {
  // Small alphabet so partial matches and overlaps are frequent.
  std::mt19937_64 rng(5);
  const std::string alphabet = "abc";
  auto random_string = [&](size_t max_len) {
    std::string s(1 + rng() % max_len, 'a');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    return s;
  };
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<std::string> stops;
    for (size_t i = 0, n = 1 + rng() % 3; i < n; ++i) stops.push_back(random_string(5));
    const std::string text = random_string(40);

    // Reference: the occurrence that ends first over the whole text; then
    // the earliest start, then list order.
    size_t first = std::string::npos, first_end = std::string::npos;
    int which = -1;
    for (size_t i = 0; i < stops.size(); ++i) {
      size_t at = text.find(stops[i]);
      if (at == std::string::npos) continue;
      size_t end = at + stops[i].size();
      if (end < first_end || (end == first_end && at < first)) {
        first = at;
        first_end = end;
        which = static_cast<int>(i);
      }
    }

    std::vector<std::string> pieces;
    for (size_t pos = 0; pos < text.size();) {
      size_t len = std::min<size_t>(1 + rng() % 4, text.size() - pos);
      pieces.push_back(text.substr(pos, len));
      pos += len;
    }
    StopStringMatcher m(stops);
    Fed run = FeedAll(m, pieces);
    ASSERT_EQ(run.stopped, first != std::string::npos) << text;
    if (run.stopped) {
      std::string dbg = text + " stops:";
      for (auto& s : stops) dbg += " [" + s + "]";
      dbg += " pieces:";
      for (auto& s : pieces) dbg += " [" + s + "]";
      ASSERT_EQ(run.text, text.substr(0, first)) << dbg;
      ASSERT_EQ(run.stop_index, which) << text;
    } else {
      ASSERT_EQ(run.text, text);
    }
  }
}

}  // namespace
}  // namespace dseek
