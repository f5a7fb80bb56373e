// Aggregate decode throughput of continuous batching: S concurrent streams
// (S = 1, 4, 8 by default), each a P-token prompt and G generated tokens,
// through the same Scheduler `dseek serve` uses. Prints time to first token
// and aggregate generated tokens/s per S, and the S=max / S=1 ratio that shows
// batching at work.
// Usage: bench_serving MODEL [P=128] [G=64] [threads=0] [streams=1,4,8]
#include <algorithm>
#include <atomic>
#include <memory>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/simd/vec_ops.h"
#include "runtime/engine.h"
#include "runtime/scheduler.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [prompt=128] [gen=64] [threads=0] [streams=1,4,8]\n", argv[0]);
    return 2;
  }
  const std::string model = argv[1];
  const int P = argc > 2 ? std::atoi(argv[2]) : 128, G = argc > 3 ? std::atoi(argv[3]) : 64;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 0;
  std::vector<int> streams = {1, 4, 8};
  if (argc > 5) {
    streams.clear();
    std::stringstream ss(argv[5]);
    for (std::string x; std::getline(ss, x, ',');) streams.push_back(std::atoi(x.c_str()));
  }
  try {
    dseek::EngineOptions eo;
    eo.threads = threads;
    auto engine = dseek::Engine::Open(model, eo);
    const std::string tok_dir = fs::is_directory(model) && fs::exists(fs::path(model) / "tokenizer.json")
                                    ? model
                                    : std::string(DSEEK_DEFAULT_TOKENIZER);
    dseek::Tokenizer tok = fs::path(model).extension() == ".gguf" ? dseek::Tokenizer::FromDir(model)
                                                                  : dseek::Tokenizer::FromDir(tok_dir);
    std::printf("command: bench_serving %s %d %d %d\nmodel: %s, %d threads, simd %s\n", model.c_str(), P, G, threads,
                engine->facts().architecture.c_str(), engine->backend().Threads(),
                dseek::simd::ActiveTargetName().c_str());
    std::printf("| streams | TTFT median ms | aggregate tok/s (whole run) | aggregate decode tok/s (after the last first token) |\n|---|---|---|---|\n");
    const int64_t vocab = engine->facts().vocab_size;
    {
      // Untimed warm-up: pages the weights in.
      auto cache = engine->model().NewCache(P + 1);
      std::vector<int32_t> ids(P, 1);
      std::vector<float> logits(vocab);
      engine->model().Forward(ids.data(), ids.size(), *cache, logits.data(), false);
    }
    double first_rate = 0, last_rate = 0;
    for (int S : streams) {
      dseek::SchedulerOptions so;
      so.parallel = S;
      so.slot_context = P + G + 8;
      dseek::Scheduler sched(engine->model(), tok, so);
      std::mutex mu;
      std::condition_variable cv;
      int done = 0;
      std::vector<double> ttft(S, 0);
      std::mt19937 rng(42);
      const auto t0 = Clock::now();
      for (int s = 0; s < S; ++s) {
        dseek::GenerationRequest req;
        for (int i = 0; i < P; ++i) req.prompt.push_back(static_cast<int32_t>(rng() % vocab));
        req.params.greedy = true;
        req.max_tokens = G;
        auto first = std::make_shared<std::atomic<bool>>(false);
        dseek::RequestCallbacks cb;
        cb.on_text = [&, s, first](const std::string&) {
          if (!first->exchange(true)) ttft[s] = std::chrono::duration<double>(Clock::now() - t0).count() * 1000;
          return true;
        };
        cb.on_done = [&](const dseek::GenerationResult&, const std::string& err) {
          if (!err.empty()) std::fprintf(stderr, "error: %s\n", err.c_str());
          std::lock_guard<std::mutex> l(mu);
          ++done;
          cv.notify_all();
        };
        sched.Submit(req, cb);
      }
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return done == S; });
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      std::sort(ttft.begin(), ttft.end());
      // Whole run (prompts included), as a user sees it; and the decode phase
      // alone, once every stream has its first token (llama-batched-bench's S_TG).
      const double rate = static_cast<double>(S) * G / secs;
      const double decode_secs = secs - ttft.back() / 1000.0;
      const double decode_rate = decode_secs > 0 ? static_cast<double>(S) * (G - 1) / decode_secs : 0.0;
      if (first_rate == 0) first_rate = decode_rate;
      last_rate = decode_rate;
      std::printf("| %d | %.0f | %.2f | %.2f |\n", S, ttft[S / 2], rate, decode_rate);
    }
    if (streams.size() > 1)
      std::printf("aggregate decode, %d streams / %d stream: %.2fx\n", streams.back(), streams.front(),
                  first_rate > 0 ? last_rate / first_rate : 0.0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_serving: %s\n", e.what());
    return 1;
  }
  return 0;
}
