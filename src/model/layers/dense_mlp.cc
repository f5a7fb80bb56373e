#include "model/layers/dense_mlp.h"

#include <cmath>

#include "kernels/simd/vec_ops.h"

namespace dseek {

void DenseMlp(Backend& be, const DenseMlpWeights& w, const float* x, size_t n, float* out, MlpScratch& s) {
  const size_t inter = static_cast<size_t>(w.gate.rows);
  if (s.gate.size() < n * inter) s.gate.resize(n * inter);
  if (s.up.size() < n * inter) s.up.resize(n * inter);
  const Matrix* ws[2] = {&w.gate, &w.up};
  float* ys[2] = {s.gate.data(), s.up.data()};
  be.MatMulShared(ws, x, n, ys);
  float* g = s.gate.data();
  const float* u = s.up.data();
  simd::SiluMul(g, u, n * inter, g);
  be.MatMul(w.down, g, n, out);
}

}  // namespace dseek
