// Steady-state sampling must not touch the heap (vocab 129280, every stage on).
// Counting allocations needs a replaced global operator new, so this lives in
// its own binary; the counter is the one mutable global, and test-only.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "runtime/sampler.h"

namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace dseek {
namespace {

constexpr size_t kVocab = 129280;  // DeepSeek-V3/R1

std::vector<float> RandomLogits(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> out(kVocab);
  for (float& v : out) v = static_cast<float>(rng() >> 40) * 0x1.0p-21f - 4.0f;
  return out;
}

int64_t AllocationsDuring(Sampler& s, const std::vector<std::vector<float>>& steps,
                          std::vector<int32_t>& history) {
  // Warm-up sizes the buffers (and any growth of the history vector).
  history.reserve(history.size() + 2 * steps.size());
  for (const auto& l : steps) history.push_back(s.Sample(l, history));
  const int64_t before = g_allocations.load();
  for (const auto& l : steps) history.push_back(s.Sample(l, history));
  return g_allocations.load() - before;
}

TEST(SamplerAlloc, NoHeapAllocationInSteadyState) {
  std::vector<std::vector<float>> steps;
  for (uint64_t i = 0; i < 8; ++i) steps.push_back(RandomLogits(i));
  std::vector<int32_t> prompt;
  for (int32_t i = 0; i < 300; ++i) prompt.push_back(i * 37 % kVocab);

  SamplingParams all;
  all.top_k = 200;
  all.top_p = 0.95f;
  all.min_p = 0.01f;
  all.temperature = 0.6f;
  all.repetition_penalty = 1.1f;
  all.presence_penalty = 0.2f;
  all.frequency_penalty = 0.1f;
  all.penalty_last_n = -1;
  all.logit_bias = {{5, -100.0f}, {9, 3.0f}};

  SamplingParams top_p_only;
  top_p_only.top_p = 0.95f;

  SamplingParams plain;  // full-vocabulary draw

  SamplingParams greedy;
  greedy.greedy = true;
  greedy.repetition_penalty = 1.3f;

  for (const SamplingParams& p : {all, top_p_only, plain, greedy}) {
    Sampler s(p);
    std::vector<int32_t> history = prompt;
    EXPECT_EQ(AllocationsDuring(s, steps, history), 0);
  }
}

}  // namespace
}  // namespace dseek
