// CPU backend: the persistent thread pool plus the SIMD kernels. Matrix rows
// are split across threads; each thread widens a weight row once into its own
// scratch buffer and reuses it for every token of the batch.
#include <algorithm>
#include <atomic>
#include <vector>

#include "backend/backend.h"
#include "base/thread_pool.h"
#include "kernels/simd/vec_ops.h"

namespace dseek {
namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int n_threads) : pool_(n_threads), scratch_(pool_.size()) {}

  std::string Name() const override { return "cpu(" + simd::ActiveTargetName() + ")"; }
  int Threads() const override { return pool_.size(); }

  void MatMul(const Matrix& w, const float* x, size_t n_tokens, float* y) override {
    const int nt = pool_.size();
    const int64_t rows = w.rows;
    // Chunks of 16 rows keep each thread's writes to y on separate cache
    // lines; threads take chunks from a shared counter, so a core slowed by
    // other work does not hold the others up (static splits wait for it).
    const int64_t grain = 16;
    const int64_t n_chunks = (rows + grain - 1) / grain;
    const int parts = static_cast<int>(std::min<int64_t>(nt, n_chunks));
    std::atomic<int64_t> next{0};
    const bool fused = n_tokens <= 2 && (w.dtype == DType::kF8E4M3 || w.dtype == DType::kBF16);
    auto work = [&](int t) {
      if (t >= parts) return;
      std::vector<float>& buf = scratch_[t];
      if (!fused && buf.size() < static_cast<size_t>(w.cols)) buf.resize(w.cols);
      for (;;) {
        const int64_t chunk = next.fetch_add(1, std::memory_order_relaxed);
        if (chunk >= n_chunks) return;
        const int64_t r0 = chunk * grain, r1 = std::min(rows, r0 + grain);
        if (fused) {
          // Decode (a token or two): dot straight from the stored row.
          for (int64_t r = r0; r < r1; ++r)
            for (size_t tok = 0; tok < n_tokens; ++tok)
              y[tok * rows + r] =
                  w.dtype == DType::kF8E4M3
                      ? simd::DotFp8(w.row(r), w.row_scales(r), x + tok * w.cols, w.cols)
                      : simd::DotBf16(reinterpret_cast<const uint16_t*>(w.row(r)), x + tok * w.cols, w.cols);
          continue;
        }
        for (int64_t r = r0; r < r1; ++r) {
          const float* row;
          if (w.dtype == DType::kF32) {
            row = reinterpret_cast<const float*>(w.row(r));
          } else {
            simd::WidenRow(w, r, buf.data());
            row = buf.data();
          }
          simd::DotRowTokens(row, x, w.cols, n_tokens, w.cols, y + r, rows);
        }
      }
    };
    if (parts <= 1) {
      work(0);
    } else {
      pool_.RunOnAll(work);
    }
  }

  void ParallelFor(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) override {
    pool_.ParallelFor(n, grain, fn);
  }

 private:
  ThreadPool pool_;
  std::vector<std::vector<float>> scratch_;
};

}  // namespace

std::unique_ptr<Backend> MakeCpuBackend(int n_threads) { return std::make_unique<CpuBackend>(n_threads); }

}  // namespace dseek
