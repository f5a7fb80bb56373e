// Session::Prefill prefix reuse on the tiny DeepSeek-V3 fixture: a prompt that
// shares a prefix with what is cached runs only its new tokens (reused() says
// how many were kept), and gives the same logits as a fresh session. A prompt
// that does not fit the context is refused with dseek::Error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/engine.h"
#include "runtime/session.h"

namespace dseek {
namespace {

constexpr int64_t kContext = 48;

class SessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EngineOptions opt;
    opt.threads = 2;
    opt.context = kContext;
    engine_ = Engine::Open(std::string(DSEEK_TEST_DATA) + "/models/tiny-v3", opt).release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }

  std::vector<float> Copy(const float* logits) const {
    return std::vector<float>(logits, logits + engine_->facts().vocab_size);
  }
  // The logits of a fresh session prefilled with `prompt`.
  std::vector<float> Fresh(const std::vector<int32_t>& prompt) const {
    Session s(engine_->model(), kContext);
    std::vector<float> out = Copy(s.Prefill(prompt));
    EXPECT_EQ(s.reused(), 0);
    return out;
  }
  static float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    float d = 0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
    return d;
  }

  static Engine* engine_;
};

Engine* SessionTest::engine_ = nullptr;

TEST_F(SessionTest, PrefillReusesCommonPrefixAndMatchesFreshLogits) {
  Session s(engine_->model(), kContext);
  const std::vector<int32_t> a = {0, 17, 42, 99, 256, 3};
  s.Prefill(a);
  EXPECT_EQ(s.reused(), 0);
  EXPECT_EQ(s.tokens(), a);
  // Two tokens appended as a generation would.
  s.Append(77);
  s.Append(128);
  ASSERT_EQ(s.tokens().size(), 8u);

  // A follow-up that shares the first 7 cached tokens (a + 77), then differs.
  const std::vector<int32_t> b = {0, 17, 42, 99, 256, 3, 77, 500, 11, 12};
  std::vector<float> got = Copy(s.Prefill(b));
  EXPECT_EQ(s.reused(), 7);
  EXPECT_EQ(s.tokens(), b);
  std::vector<float> want = Fresh(b);
  float d = MaxAbsDiff(got, want);
  std::printf("prefix reuse vs fresh prefill: max |diff| = %g\n", d);
  EXPECT_LE(d, 1e-5f);

  // Continuing after the reused prefill matches a fresh run of the whole thing.
  std::vector<float> next = Copy(s.Append(5));
  std::vector<int32_t> b5 = b;
  b5.push_back(5);
  EXPECT_LE(MaxAbsDiff(next, Fresh(b5)), 1e-5f);
}

TEST_F(SessionTest, PrefillEdgeCases) {
  Session s(engine_->model(), kContext);
  const std::vector<int32_t> a = {0, 5, 6, 7, 8};
  std::vector<float> first = Copy(s.Prefill(a));

  // The same prompt again: all but the last token are reused (its logits must
  // be computed again), and they are the same.
  std::vector<float> again = Copy(s.Prefill(a));
  EXPECT_EQ(s.reused(), 4);
  EXPECT_LE(MaxAbsDiff(first, again), 1e-5f);

  // A shorter prompt that is a prefix of the cache: the cache is cut back.
  const std::vector<int32_t> shorter = {0, 5, 6};
  std::vector<float> got = Copy(s.Prefill(shorter));
  EXPECT_EQ(s.reused(), 2);
  EXPECT_EQ(s.tokens(), shorter);
  EXPECT_LE(MaxAbsDiff(got, Fresh(shorter)), 1e-5f);

  // Nothing in common: everything runs again.
  const std::vector<int32_t> other = {1, 2, 3};
  got = Copy(s.Prefill(other));
  EXPECT_EQ(s.reused(), 0);
  EXPECT_LE(MaxAbsDiff(got, Fresh(other)), 1e-5f);

  // After Reset nothing is reused.
  s.Reset();
  EXPECT_TRUE(s.tokens().empty());
  got = Copy(s.Prefill(other));
  EXPECT_EQ(s.reused(), 0);
  EXPECT_LE(MaxAbsDiff(got, Fresh(other)), 1e-5f);
}

TEST_F(SessionTest, ContextOverflowThrows) {
  Session s(engine_->model(), kContext);
  EXPECT_EQ(s.context(), kContext);
  std::vector<int32_t> too_long(kContext + 1, 7);
  EXPECT_THROW(s.Prefill(too_long), Error);
  EXPECT_THROW(s.Prefill({}), Error);

  // A prompt that fills the context but for one slot, then appends up to the
  // limit; one more append is refused.
  std::vector<int32_t> p(kContext - 1, 9);
  s.Prefill(p);
  s.Append(10);
  EXPECT_EQ(static_cast<int64_t>(s.tokens().size()), kContext);
  EXPECT_THROW(s.Append(11), Error);
  // The session is still usable: a short prompt sharing a prefix works.
  std::vector<int32_t> short_p(4, 9);
  EXPECT_NO_THROW(s.Prefill(short_p));
  EXPECT_EQ(s.reused(), 3);
}

}  // namespace
}  // namespace dseek
