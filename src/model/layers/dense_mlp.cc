#include "model/layers/dense_mlp.h"

#include <cmath>

#include "kernels/simd/vec_ops.h"

namespace dseek {

void DenseMlp(Backend& be, const DenseMlpWeights& w, const float* x, size_t n, float* out, MlpScratch& s) {
  const size_t inter = static_cast<size_t>(w.gate.rows);
  if (s.gate.size() < n * inter) s.gate.resize(n * inter);
  if (s.up.size() < n * inter) s.up.resize(n * inter);
  be.MatMul(w.gate, x, n, s.gate.data());
  be.MatMul(w.up, x, n, s.up.data());
  float* g = s.gate.data();
  const float* u = s.up.data();
  simd::SiluMul(g, u, n * inter, g);
  be.MatMul(w.down, g, n, out);
}

}  // namespace dseek
