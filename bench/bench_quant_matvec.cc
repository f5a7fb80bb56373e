// Decode-shaped matrix-vector products over quantized weights far larger than
// the caches, one row group stream per thread: GB/s of weights read for the
// plain GGUF layout and the packed groups of 8 rows (kernels/simd/quant_packed.h),
// to set against bench_bandwidth's read limit.
// Usage: bench_quant_matvec [MiB=512] [cols=2048] [repetitions=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/ref/quant_ref.h"
#include "kernels/simd/quant_dot.h"
#include "kernels/simd/quant_packed.h"

using namespace dseek;

int main(int argc, char** argv) {
  const double mib = argc > 1 ? std::atof(argv[1]) : 512.0;
  const int64_t cols = argc > 2 ? std::atoll(argv[2]) : 2048;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  std::printf("command: %s %.0f %lld %d (quant ISA %s)\n", argv[0], mib, static_cast<long long>(cols), reps,
              simd::QuantIsaName(simd::ActiveQuantIsa()));
  std::mt19937 rng(1);
  std::vector<float> x(cols);
  for (auto& v : x) v = std::normal_distribution<float>(0, 1)(rng);
  const int max_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (GgmlType t : {GgmlType::kQ4_0, GgmlType::kQ8_0, GgmlType::kQ6_K}) {
    const bool packable = simd::CanPackRows(t);
    const size_t rb = GgmlRowBytes(t, cols);
    const int64_t rows = static_cast<int64_t>(mib * (1 << 20) / rb) / 8 * 8;
    std::vector<uint8_t> plain(rb * rows), packed(rb * rows);
    {
      std::vector<float> f(cols);
      std::vector<uint8_t> row(rb);
      for (int64_t r = 0; r < 64; ++r) {
        for (auto& v : f) v = std::normal_distribution<float>(0, 0.05f)(rng);
        ref::QuantizeRowGgml(t, f.data(), cols, row.data());
        for (int64_t k = r; k < rows; k += 64) std::copy(row.begin(), row.end(), plain.begin() + k * rb);
      }
    }
    if (packable)
      for (int64_t g = 0; g < rows / 8; ++g) simd::PackRowGroup(t, plain.data() + g * 8 * rb, cols, packed.data() + g * 8 * rb);
    const GgmlType at = simd::QuantActivationType(t);
    std::vector<uint8_t> act_plain(GgmlRowBytes(at, cols)), act_packed(simd::PackedActivationBytes(cols));
    simd::QuantizeActivationRow(at, x.data(), cols, act_plain.data());
    if (packable) simd::QuantizeActivationPacked(t, x.data(), cols, act_packed.data());
    std::vector<float> y(rows);
    for (int threads = 1; threads <= max_threads; threads *= 2) {
      ThreadPool pool(threads);
      for (bool use_packed : {false, true}) {
        if (use_packed && !packable) continue;
        double best = 0;
        for (int r = 0; r < reps; ++r) {
          auto t0 = std::chrono::steady_clock::now();
          pool.RunOnAll([&](int th) {
            const int64_t groups = rows / 8, per = (groups + threads - 1) / threads;
            const int64_t g0 = std::min(groups, th * per), g1 = std::min(groups, g0 + per);
            for (int64_t g = g0; g < g1; ++g) {
              if (use_packed) {
                simd::PackedGroupDot(t, packed.data() + g * 8 * rb, cols, act_packed.data(), 0, 1, y.data() + g * 8, 0);
              } else {
                for (int64_t i = 0; i < 8; ++i)
                  y[g * 8 + i] = simd::QuantDot(t, plain.data() + (g * 8 + i) * rb, act_plain.data(), cols);
              }
            }
          });
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          best = std::max(best, static_cast<double>(rb * rows) / s / 1e9);
        }
        std::printf("%s %-6s %d thread%s: %6.1f GB/s\n", GgmlTypeName(t).data(), use_packed ? "packed" : "plain",
                    threads, threads > 1 ? "s" : " ", best);
      }
    }
  }
}
