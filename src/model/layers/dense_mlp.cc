#include "model/layers/dense_mlp.h"

#include <cmath>

namespace dseek {

void DenseMlp(Backend& be, const DenseMlpWeights& w, const float* x, size_t n, float* out, MlpScratch& s) {
  const size_t inter = static_cast<size_t>(w.gate.rows);
  if (s.gate.size() < n * inter) s.gate.resize(n * inter);
  if (s.up.size() < n * inter) s.up.resize(n * inter);
  be.MatMul(w.gate, x, n, s.gate.data());
  be.MatMul(w.up, x, n, s.up.data());
  float* g = s.gate.data();
  const float* u = s.up.data();
  for (size_t i = 0; i < n * inter; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  be.MatMul(w.down, g, n, out);
}

}  // namespace dseek
