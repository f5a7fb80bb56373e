// SiLU-gated MLP (down(silu(gate(x)) * up(x))): the dense layers, each routed
// expert and the shared experts. Stateless apart from the caller's buffers.
#pragma once

#include <vector>

#include "backend/backend.h"
#include "tensor/tensor.h"

namespace dseek {

struct DenseMlpWeights {
  Matrix gate, up, down;  // [inter, hidden], [inter, hidden], [hidden, inter]
};

struct MlpScratch {
  std::vector<float> gate, up;
};

// x: [n, hidden] -> out: [n, hidden] (overwritten).
void DenseMlp(Backend& be, const DenseMlpWeights& w, const float* x, size_t n, float* out, MlpScratch& s);

}  // namespace dseek
