// Multi-head Latent Attention (DeepSeek-V2/V3). The cache holds only the
// compressed latent (kv_lora_rank, after kv_a_layernorm) and the shared RoPE
// key (qk_rope_head_dim) per token. Two forms of the same maths:
//  - absorbed: queries are projected into latent space with W_UK, attention
//    runs over the latent cache, W_UV maps the result back (decode form);
//  - naive: per-head K and V are expanded from the latents with kv_b_proj
//    (the textbook form; kept for prefill and to cross-check the other).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "model/kv_cache.h"
#include "model/layers/rope_yarn.h"
#include "tensor/tensor.h"

namespace dseek {

struct MlaDims {
  int64_t hidden = 0, n_heads = 0, q_lora_rank = 0, kv_lora_rank = 0;
  int64_t nope = 0, rope = 0, v = 0;
  float eps = 1e-6f;
  float softmax_scale = 1.0f;
  int64_t qk() const { return nope + rope; }
};

struct MlaWeights {
  Matrix q_proj;                 // [H*qk, hidden] when q_lora_rank == 0
  Matrix q_a_proj;               // [q_lora, hidden]
  const float* q_a_norm = nullptr;
  Matrix q_b_proj;               // [H*qk, q_lora]
  Matrix kv_a_proj;              // [kv_lora + rope, hidden]
  const float* kv_a_norm = nullptr;
  Matrix kv_b_proj;              // [H*(nope+v), kv_lora]
  // Optional (GGUF files from llama.cpp's converter): kv_b_proj split per
  // head so absorbed attention multiplies it without widening rows:
  Matrix k_b;                    // [H*kv_lora, nope]: per head W_UK transposed
  Matrix v_b;                    // [H*v, kv_lora]: per head W_UV
  bool has_split_kv_b() const { return k_b.rows > 0 && v_b.rows > 0; }
  Matrix o_proj;                 // [hidden, H*v]
};

enum class MlaForm { kAbsorbed, kNaive };

struct MlaScratch {
  std::vector<float> qa, q, kv, q_abs, ctx, ctx_part, attn_out, scores, rows, cos, sin, kfull, vfull;
  std::vector<std::pair<size_t, size_t>> token_seq;  // (batch row, sequence index)
  std::vector<float> head_in, head_out;               // per-head gathers for k_b / v_b
  std::vector<float> qcat;                            // [q_abs, q_pe] * scale per token and head
  std::vector<float> row, widened;                    // a cache row being written; bf16 rows widened
};

// x: [n, hidden], the tokens of every sequence in `seqs` stacked; each
// sequence's cache rows are written but not advanced -> out: [n, hidden].
// The projections run once for the whole batch; attention per sequence.
void Mla(Backend& be, const MlaDims& d, const MlaWeights& w, const RopeTable& rope, MlaForm form, int64_t layer,
         std::span<const SeqSpan> seqs, const float* x, size_t n, float* out, MlaScratch& s);

}  // namespace dseek
