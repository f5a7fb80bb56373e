// Grouped-query attention (Llama, Qwen2): per-head Q, shared K/V heads (each
// serves n_heads / n_kv_heads query heads), RoPE on rotated halves, optional
// q/k/v biases. The cache holds post-RoPE K then V for every KV head:
// 2 * n_kv_heads * head_dim floats per token per layer.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "model/kv_cache.h"
#include "model/layers/rope_yarn.h"
#include "tensor/tensor.h"

namespace dseek {

struct GqaDims {
  int64_t hidden = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  float softmax_scale = 1.0f;
};

struct GqaWeights {
  Matrix q, k, v, o;  // [H*hd, hidden], [KV*hd, hidden] x2, [hidden, H*hd]
  const float* q_bias = nullptr;
  const float* k_bias = nullptr;
  const float* v_bias = nullptr;
};

struct GqaScratch {
  std::vector<float> q, k, v, attn, scores, cos, sin, row;
  std::vector<const float*> seq_rows;          // each sequence's cache rows as float32
  std::vector<std::vector<float>> widened;     // their storage when the cache is bf16
};

// x: [n, hidden], the tokens of every sequence in `seqs` stacked (cache rows
// written, not advanced) -> out: [n, hidden].
void GqaAttention(Backend& be, const GqaDims& d, const GqaWeights& w, const RopeTable& rope, int64_t layer,
                  std::span<const SeqSpan> seqs, const float* x, size_t n, float* out, GqaScratch& s);

}  // namespace dseek
