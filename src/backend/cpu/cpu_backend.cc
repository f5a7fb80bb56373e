// CPU backend: the persistent thread pool plus the SIMD kernels. Matrix rows
// are split across threads; each thread widens a weight row once into its own
// scratch buffer and reuses it for every token of the batch. GGUF block
// weights with an integer dot (simd::HasQuantDot) instead quantize the
// activations to 8 bits once per MatMul, as llama.cpp does, and never widen.
#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "base/thread_pool.h"
#include "kernels/simd/quant_dot.h"
#include "kernels/simd/quant_packed.h"
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
  CpuBackend(int n_threads, bool pin) : pool_(n_threads, pin), scratch_(pool_.size()) {}

  std::string Name() const override { return "cpu(" + simd::ActiveTargetName() + ")"; }
  int Threads() const override { return pool_.size(); }

  void MatMul(const Matrix& w, const float* x, size_t n_tokens, float* y) override {
    if (w.packed8) {
      const Matrix* one[1] = {&w};
      float* out[1] = {y};
      return MatMulPacked(one, x, n_tokens, out);
    }
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
    return w.packed8 || w.dtype == DType::kF8E4M3 || w.dtype == DType::kBF16 || w.dtype == DType::kF32;
  }

  void MatMulLocal(const Matrix& w, const float* x, size_t n_tokens, float* y) override {
    if (w.packed8) {
      thread_local std::vector<uint8_t> act;
      const size_t ab = simd::PackedActivationBytes(w.cols);
      if (act.size() < ab * n_tokens) act.resize(ab * n_tokens);
      for (size_t t = 0; t < n_tokens; ++t) simd::QuantizeActivationPacked(w.ggml, x + t * w.cols, w.cols, act.data() + t * ab);
      for (int64_t r = 0; r < w.rows; r += simd::kPackRows)
        simd::PackedGroupDot(w.ggml, w.row(r), w.cols, act.data(), ab, n_tokens, y + r, w.rows);
      return;
    }
    for (int64_t r = 0; r < w.rows; ++r)
      for (size_t tok = 0; tok < n_tokens; ++tok) y[tok * w.rows + r] = DotStoredRow(w, r, x + tok * w.cols);
  }

  void ParallelFor(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) override {
    pool_.ParallelFor(n, grain, fn);
  }

  std::string PreparedLayout() const override { return "cpu-q4_0-q8_0-rows8-v1"; }

  // Q4_0 / Q8_0 rows in groups of 8 (simd::PackRowGroup): one copy, made on
  // the pool; the caller drops the original.
  Matrix PrepareMatrix(const Matrix& w) override {
    if (w.dtype != DType::kGgml || w.packed8 || !simd::CanPackRows(w.ggml) || w.rows % simd::kPackRows != 0 ||
        w.cols % 32 != 0 || w.rows == 0)
      return w;
    owned_.emplace_back(new uint8_t[w.bytes()]);
    uint8_t* dst = owned_.back().get();
    const size_t group_bytes = simd::kPackRows * w.row_bytes();
    pool_.ParallelFor(static_cast<size_t>(w.rows / simd::kPackRows), 16, [&](size_t g0, size_t g1) {
      for (size_t g = g0; g < g1; ++g)
        simd::PackRowGroup(w.ggml, w.row(static_cast<int64_t>(g) * simd::kPackRows), w.cols, dst + g * group_bytes);
    });
    Matrix p = w;
    p.data = dst;
    p.packed8 = true;
    return p;
  }

  void MatMulShared(std::span<const Matrix* const> ws, const float* x, size_t n_tokens,
                    std::span<float* const> ys) override {
    bool all_packed = !ws.empty();
    for (const Matrix* w : ws) all_packed = all_packed && w->packed8 && w->cols == ws[0]->cols;
    if (!all_packed) return Backend::MatMulShared(ws, x, n_tokens, ys);
    MatMulPacked(ws, x, n_tokens, ys);
  }

 private:
  // ys[i] = ws[i] x for packed Q4_0 / Q8_0 matrices of the same width:
  // activations quantized once per weight type; threads take row groups of
  // all the matrices from one counter, 16 at a time in decode (long streams
  // for the prefetcher), 4 in prefill; within them, tokens go in tiles whose
  // activations stay in cache while the groups use them.
  void MatMulPacked(std::span<const Matrix* const> ws, const float* x, size_t n_tokens, std::span<float* const> ys) {
    const int64_t cols = ws[0]->cols;
    const size_t ab = simd::PackedActivationBytes(cols);
    // One activation layout per weight type (the offset in it differs).
    GgmlType types[2] = {ws[0]->ggml, ws[0]->ggml};
    for (const Matrix* w : ws)
      if (w->ggml != types[0]) types[1] = w->ggml;
    const int n_types = types[1] != types[0] ? 2 : 1;
    if (act_.size() < n_types * ab * n_tokens) act_.resize(n_types * ab * n_tokens);
    auto quantize = [&](size_t t0, size_t t1) {
      for (int k = 0; k < n_types; ++k)
        for (size_t t = t0; t < t1; ++t)
          simd::QuantizeActivationPacked(types[k], x + t * cols, cols, act_.data() + (k * n_tokens + t) * ab);
    };
    if (n_tokens >= 8 && pool_.size() > 1) {
      pool_.ParallelFor(n_tokens, 4, quantize);
    } else {
      quantize(0, n_tokens);
    }
    const int64_t groups_per_chunk = n_tokens <= 2 ? 16 : 4, group_rows = simd::kPackRows;
    // Chunk c of matrix i is global chunk first_chunk[i] + c.
    std::vector<int64_t>& first = chunk_starts_;
    first.assign(ws.size() + 1, 0);
    for (size_t i = 0; i < ws.size(); ++i)
      first[i + 1] = first[i] + (ws[i]->rows / group_rows + groups_per_chunk - 1) / groups_per_chunk;
    const int64_t n_chunks = first.back();
    const int parts = static_cast<int>(std::min<int64_t>(pool_.size(), n_chunks));
    const size_t tile = 64;
    std::atomic<int64_t> next{0};
    auto work = [&](int t) {
      if (t >= parts) return;
      size_t i = 0;
      for (;;) {
        const int64_t chunk = next.fetch_add(1, std::memory_order_relaxed);
        if (chunk >= n_chunks) return;
        while (chunk >= first[i + 1]) ++i;
        const Matrix& w = *ws[i];
        const uint8_t* act = act_.data() + (w.ggml == types[0] ? 0 : n_tokens * ab);
        const int64_t n_groups = w.rows / group_rows;
        const int64_t g0 = (chunk - first[i]) * groups_per_chunk, g1 = std::min(n_groups, g0 + groups_per_chunk);
        for (size_t t0 = 0; t0 < n_tokens; t0 += tile) {
          const size_t nt = std::min(tile, n_tokens - t0);
          for (int64_t g = g0; g < g1; ++g)
            simd::PackedGroupDot(w.ggml, w.row(g * group_rows), cols, act + t0 * ab, ab, nt,
                                 ys[i] + t0 * w.rows + g * group_rows, static_cast<size_t>(w.rows));
        }
      }
    };
    if (parts <= 1) {
      work(0);
    } else {
      pool_.RunOnAll(work);
    }
  }

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
          simd::QuantDotRows(w.ggml, w.row(r0), w.row_bytes(), static_cast<size_t>(r1 - r0), act + t0 * act_bytes,
                             act_bytes, nt, cols, y + t0 * rows + r0, static_cast<size_t>(rows));
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
  std::vector<std::unique_ptr<uint8_t[]>> owned_;  // PrepareMatrix copies
  std::vector<int64_t> chunk_starts_;               // MatMulPacked's chunk index per matrix
};

}  // namespace

std::unique_ptr<Backend> MakeCpuBackend(int n_threads, bool pin_threads) {
  return std::make_unique<CpuBackend>(n_threads, pin_threads);
}

}  // namespace dseek
