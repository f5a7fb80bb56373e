// STREAM-like read bandwidth: the physical limit decode speed is held to.
// Sums a buffer far larger than the caches with 1..N threads and prints GB/s.
// Usage: bench_bandwidth [GiB=4] [repetitions=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/simd/vec_ops.h"

int main(int argc, char** argv) {
  const double gib = argc > 1 ? std::atof(argv[1]) : 4.0;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const size_t n = static_cast<size_t>(gib * (1ull << 30) / sizeof(float));
  std::string cpu = "unknown";
  std::ifstream ci("/proc/cpuinfo");
  for (std::string line; std::getline(ci, line);)
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  std::printf("command: %s %.1f %d\ncpu: %s, simd %s, buffer %.1f GiB\n", argv[0], gib, reps, cpu.c_str(),
              dseek::simd::ActiveTargetName().c_str(), gib);
  std::vector<float> buf(n, 1.0f);  // touched: every page is resident before timing
  const int max_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int threads = 1; threads <= max_threads; threads *= 2) {
    dseek::ThreadPool pool(threads);
    double best = 0;
    for (int r = 0; r < reps; ++r) {
      std::vector<float> partial(threads, 0.0f);
      auto t0 = std::chrono::steady_clock::now();
      pool.RunOnAll([&](int t) {
        const size_t per = n / threads, b = t * per, e = t + 1 == threads ? n : b + per;
        partial[t] = dseek::simd::DotF32(buf.data() + b, buf.data() + b, e - b);
      });
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, n * sizeof(float) / s / 1e9);
      if (partial[0] < 0) std::printf("?");  // keep the sum alive
    }
    std::printf("threads %d: read %.1f GB/s (best of %d)\n", threads, best, reps);
  }
  return 0;
}
