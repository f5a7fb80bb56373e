// The interface a compute device implements. The model calls it for the heavy
// work (matrix products) and for data-parallel loops; it knows nothing of any
// architecture. One instance per engine (no globals). Not thread-safe: one
// forward pass at a time per backend.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "tensor/tensor.h"

namespace dseek {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string Name() const = 0;
  virtual int Threads() const = 0;
  // y[t][r] = sum_c w[r][c] * x[t][c]; x: [n_tokens, w.cols], y: [n_tokens, w.rows].
  virtual void MatMul(const Matrix& w, const float* x, size_t n_tokens, float* y) = 0;
  // Several products of the same input: ys[i] = ws[i] x (each [n_tokens,
  // ws[i].rows]). One parallel region and one quantization of x instead of
  // one per matrix (q/k/v, gate/up).
  virtual void MatMulShared(std::span<const Matrix* const> ws, const float* x, size_t n_tokens,
                            std::span<float* const> ys) {
    for (size_t i = 0; i < ws.size(); ++i) MatMul(*ws[i], x, n_tokens, ys[i]);
  }
  // Single-threaded product on the calling thread, for callers that already
  // split work across threads (decode runs the chosen experts side by side,
  // MLA its heads). Only for matrices with CanMatMulLocal(w).
  virtual bool CanMatMulLocal(const Matrix& w) const { return false; }
  virtual void MatMulLocal(const Matrix& w, const float* x, size_t n_tokens, float* y) { MatMul(w, x, n_tokens, y); }
  // The matrix in the layout this backend multiplies fastest. When that
  // differs from w's, the result lives in memory the backend owns until it
  // is destroyed (w's bytes are no longer read by MatMul); otherwise w itself.
  virtual Matrix PrepareMatrix(const Matrix& w) { return w; }
  // Names the layout PrepareMatrix produces (with a version), so prepared
  // weights saved to disk are only reused by a backend that made them; ""
  // when this backend prepares nothing.
  virtual std::string PreparedLayout() const { return ""; }
  // Runs fn(begin, end) over contiguous chunks of [0, n) in parallel.
  virtual void ParallelFor(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) = 0;
};

// n_threads: 0 = all cores. pin_threads: bind the pool's workers to CPUs (ThreadPool).
std::unique_ptr<Backend> MakeCpuBackend(int n_threads, bool pin_threads = false);

}  // namespace dseek
