// Continuous batching on DeepSeek's tiny reference checkpoints: many requests
// decoded together reproduce the reference greedy continuations exactly;
// cancellation, queue limits, prefix reuse and shutdown behave.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>

#include "runtime/engine.h"
#include "runtime/scheduler.h"

namespace dseek {
namespace {

const std::string kModels = std::string(DSEEK_TEST_DATA) + "/models/";

struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<GenerationResult> results;
  std::vector<std::string> errors;
  size_t done = 0;
  RequestCallbacks Callbacks(size_t index) {
    return {nullptr, [this, index](const GenerationResult& r, const std::string& err) {
              std::lock_guard<std::mutex> l(mu);
              if (results.size() <= index) results.resize(index + 1), errors.resize(index + 1);
              results[index] = r;
              errors[index] = err;
              ++done;
              cv.notify_all();
            }};
  }
  void WaitFor(size_t n) {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(60), [&] { return done >= n; }));
  }
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tok_ = Tokenizer::FromDir(std::string(DSEEK_TEST_DATA) + "/tokenizer/deepseek-v3");
  }
  std::optional<Tokenizer> tok_;
};

TEST_F(SchedulerTest, BatchedGreedyMatchesReferenceContinuations) {
  for (const char* fx : {"tiny-v3-fp8", "tiny-v2lite"}) {
    EngineOptions eo;
    eo.threads = 2;
    auto e = Engine::Open(kModels + fx, eo);
    nlohmann::json golden = nlohmann::json::parse(std::ifstream(kModels + fx + "/golden.json"));
    SchedulerOptions so;
    so.parallel = 2;  // 6 requests through 2 slots: queueing, joining mid-flight
    so.slot_context = 64;
    so.prefill_chunk = 7;  // prompts of 17 and 40 tokens prefill over several steps
    Scheduler sched(e->model(), *tok_, so);
    Waiter w;
    std::vector<std::vector<int32_t>> want;
    size_t i = 0;
    for (int rep = 0; rep < 2; ++rep)
      for (const auto& p : golden["prompts"]) {
        GenerationRequest req;
        req.prompt = p["token_ids"].get<std::vector<int32_t>>();
        req.params.greedy = true;
        req.max_tokens = 12;
        want.push_back(p["greedy_continuation"]["tokens"].get<std::vector<int32_t>>());
        sched.Submit(req, w.Callbacks(i++));
      }
    w.WaitFor(i);
    for (size_t k = 0; k < i; ++k) {
      EXPECT_EQ(w.errors[k], "");
      EXPECT_EQ(w.results[k].finish_reason, "length");
      EXPECT_EQ(w.results[k].tokens, want[k]) << fx << " request " << k;
    }
    // The second round found the same prompts cached in the slots.
    EXPECT_GT(sched.Stats().cached_tokens_total, 0);
    EXPECT_EQ(sched.Stats().active, 0);
  }
}

TEST_F(SchedulerTest, CancelQueueLimitsAndTooLong) {
  auto e = Engine::Open(kModels + "tiny-v3", {});
  SchedulerOptions so;
  so.parallel = 1;
  so.slot_context = 48;
  so.max_queue = 2;
  Scheduler sched(e->model(), *tok_, so);
  GenerationRequest too_long;
  too_long.prompt.assign(48, 5);
  EXPECT_THROW(sched.Submit(too_long, {}), Scheduler::TooLong);

  Waiter w;
  std::atomic<int> pieces{0};
  GenerationRequest req;
  req.prompt = {1, 2, 3};
  req.max_tokens = 40;
  req.params.temperature = 0.8f;
  req.params.seed = 3;
  // The first request stops itself after a few pieces (a disconnecting client).
  RequestCallbacks first = w.Callbacks(0);
  first.on_text = [&](const std::string&) {
    // Slow enough that the queue fills while this one runs.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return ++pieces < 6;
  };
  sched.Submit(req, first);
  for (int k = 0; k < 2000 && sched.Stats().queued > 0; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const uint64_t second = sched.Submit(req, w.Callbacks(1));
  sched.Submit(req, w.Callbacks(2));
  EXPECT_THROW(sched.Submit(req, w.Callbacks(3)), Scheduler::QueueFull);
  sched.Cancel(second);
  w.WaitFor(3);
  EXPECT_EQ(w.results[0].finish_reason, "cancelled");
  EXPECT_EQ(w.results[1].finish_reason, "cancelled");
  EXPECT_NE(w.results[2].finish_reason, "cancelled");
  EXPECT_EQ(sched.Stats().active, 0);
  EXPECT_EQ(sched.Stats().requests_rejected, 1u);
  sched.Shutdown(false);
  EXPECT_THROW(sched.Submit(req, {}), Scheduler::ShuttingDown);
}

}  // namespace
}  // namespace dseek
