// CPU backend: the persistent thread pool plus the SIMD kernels. Matrix rows
// are split across threads; each thread widens a weight row once into its own
// scratch buffer and reuses it for every token of the batch. GGUF block
// weights with an integer dot (simd::HasQuantDot) instead quantize the
// activations to 8 bits once per MatMul, as llama.cpp does, and never widen.
#include <algorithm>
#include <atomic>
#include <vector>

#include "backend/backend.h"
#include "base/thread_pool.h"
#include "kernels/simd/quant_dot.h"
#include "kernels/simd/vec_ops.h"

namespace dseek {
namespace {

// Weight row r (FP8, BF16 or F32) times x, straight from storage: the decode
// path, where a widened copy of the row would be used once.
float DotStoredRow(const Matrix& w, int64_t r, const float* x) {
  switch (w.dtype) {
    case DType::kF8E4M3: return simd::DotFp8(w.row(r), w.row_scales(r), x, w.cols);
    case DType::kBF16: return simd::DotBf16(reinterpret_cast<const uint16_t*>(w.row(r)), x, w.cols);
    default: return simd::DotF32(reinterpret_cast<const float*>(w.row(r)), x, w.cols);
  }
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int n_threads) : pool_(n_threads), scratch_(pool_.size()) {}

  std::string Name() const override { return "cpu(" + simd::ActiveTargetName() + ")"; }
  int Threads() const override { return pool_.size(); }

  void MatMul(const Matrix& w, const float* x, size_t n_tokens, float* y) override {
    if (w.dtype == DType::kGgml && simd::HasQuantDot(w.ggml)) return MatMulQuant(w, x, n_tokens, y);
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
      if (!fused && buf.size() < static_cast<size_t>(grain * w.cols)) buf.resize(grain * w.cols);
      for (;;) {
        const int64_t chunk = next.fetch_add(1, std::memory_order_relaxed);
        if (chunk >= n_chunks) return;
        const int64_t r0 = chunk * grain, r1 = std::min(rows, r0 + grain);
        if (fused) {
          // Decode (a token or two): dot straight from the stored row.
          for (int64_t r = r0; r < r1; ++r)
            for (size_t tok = 0; tok < n_tokens; ++tok) y[tok * rows + r] = DotStoredRow(w, r, x + tok * w.cols);
          continue;
        }
        // Prefill: widen the chunk's rows once, then a register-tiled block
        // product against every token.
        const float* block;
        if (w.dtype == DType::kF32) {
          block = reinterpret_cast<const float*>(w.row(r0));
        } else {
          for (int64_t r = r0; r < r1; ++r) simd::WidenRow(w, r, buf.data() + (r - r0) * w.cols);
          block = buf.data();
        }
        simd::MatMulBlock(block, static_cast<size_t>(r1 - r0), x, n_tokens, w.cols, y + r0, rows);
      }
    };
    if (parts <= 1) {
      work(0);
    } else {
      pool_.RunOnAll(work);
    }
  }

  bool CanMatMulLocal(const Matrix& w) const override {
    return w.dtype == DType::kF8E4M3 || w.dtype == DType::kBF16 || w.dtype == DType::kF32;
  }

  void MatMulLocal(const Matrix& w, const float* x, size_t n_tokens, float* y) override {
    for (int64_t r = 0; r < w.rows; ++r)
      for (size_t tok = 0; tok < n_tokens; ++tok) y[tok * w.rows + r] = DotStoredRow(w, r, x + tok * w.cols);
  }

  void ParallelFor(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) override {
    pool_.ParallelFor(n, grain, fn);
  }

 private:
  // y = W x for GGUF block weights: each activation row is quantized once
  // (Q8_0 or Q8_K, shared by all threads), then integer dots. Threads take
  // chunks of 16 weight rows; within a chunk, tokens go in tiles so the
  // chunk's rows stay in cache while a tile's activations are reused by each
  // row, and each row's blocks are unpacked once per four tokens.
  void MatMulQuant(const Matrix& w, const float* x, size_t n_tokens, float* y) {
    const GgmlType act_type = simd::QuantActivationType(w.ggml);
    const int64_t cols = w.cols, rows = w.rows;
    const size_t act_bytes = static_cast<size_t>(GgmlRowBytes(act_type, cols));
    if (act_.size() < act_bytes * n_tokens) act_.resize(act_bytes * n_tokens);
    uint8_t* act = act_.data();
    auto quantize = [&](size_t t0, size_t t1) {
      for (size_t t = t0; t < t1; ++t) simd::QuantizeActivationRow(act_type, x + t * cols, cols, act + t * act_bytes);
    };
    if (n_tokens >= 8 && pool_.size() > 1) {
      pool_.ParallelFor(n_tokens, 4, quantize);
    } else {
      quantize(0, n_tokens);
    }
    const int64_t grain = 16;
    const int64_t n_chunks = (rows + grain - 1) / grain;
    const int parts = static_cast<int>(std::min<int64_t>(pool_.size(), n_chunks));
    const size_t tile = 32;
    std::atomic<int64_t> next{0};
    auto work = [&](int t) {
      if (t >= parts) return;
      for (;;) {
        const int64_t chunk = next.fetch_add(1, std::memory_order_relaxed);
        if (chunk >= n_chunks) return;
        const int64_t r0 = chunk * grain, r1 = std::min(rows, r0 + grain);
        for (size_t t0 = 0; t0 < n_tokens; t0 += tile) {
          const size_t nt = std::min(tile, n_tokens - t0);
          for (int64_t r = r0; r < r1; ++r)
            simd::QuantDotTokens(w.ggml, w.row(r), act + t0 * act_bytes, act_bytes, nt, cols, y + t0 * rows + r, rows);
        }
      }
    };
    if (parts <= 1) {
      work(0);
    } else {
      pool_.RunOnAll(work);
    }
  }

  ThreadPool pool_;
  std::vector<std::vector<float>> scratch_;
  std::vector<uint8_t> act_;  // quantized activations of the current MatMul
};

}  // namespace

std::unique_ptr<Backend> MakeCpuBackend(int n_threads) { return std::make_unique<CpuBackend>(n_threads); }

}  // namespace dseek
