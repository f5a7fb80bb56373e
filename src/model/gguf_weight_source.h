// A WeightSource over a GGUF file (llama.cpp / Ollama): architectures ask for
// Hugging Face tensor names and get views of the GGUF tensors llama.cpp's
// converter wrote for them (token_embd.weight, blk.N.attn_q.weight, ...).
//
// Most weights are views into the file mapping (no copies). Three kinds are
// rearranged once, on first request, into memory owned by the source:
//  - Llama q_proj / k_proj: llama.cpp's converter permutes their rows so its
//    adjacent-pair ("NORM") RoPE works; we undo that (rows only, any type) so
//    the model can keep HF rotate-half RoPE (`unpermute_llama_qk`).
//  - DeepSeek kv_b_proj when the file holds only the split attn_k_b / attn_v_b
//    (current llama.cpp): rebuilt as float32 [H*(nope+v), kv_lora].
//  - 1-D F16/BF16 vectors widened to float32.
//  - DeepSeek kv_b_proj in a block-quantized type: dequantized to float32
//    once (MLA reads its rows on every forward pass).
// Stacked expert tensors (ffn_*_exps, [X, F, E] in HF order) are exposed per
// expert as row-slice views.
//
// Lives in model/, not tensor/: the HF -> llama.cpp name table is model
// knowledge, and rebuilding kv_b needs the ggml dequantizers (kernels/ref),
// which sit above tensor/.
//
// Owns the GgufFile. Not thread-safe during loading (owned copies are made
// lazily); the returned views are immutable and shareable afterwards.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "tensor/weight_source.h"

namespace dseek {

struct GgufSourceOptions {
  // Undo llama.cpp's q/k row permutation (LLM_ARCH_LLAMA); needs the head counts.
  bool unpermute_llama_qk = false;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
};

class GgufWeightSource final : public WeightSource {
 public:
  GgufWeightSource(std::unique_ptr<GgufFile> file, GgufSourceOptions options);

  bool Has(const std::string& hf_name) const override;
  Matrix GetMatrix(const std::string& hf_name, int64_t rows, int64_t cols) const override;
  const float* GetVectorF32(const std::string& hf_name, int64_t n) const override;
  void DropBytes(const void* data, size_t n) const override;

  const GgufFile& file() const { return *file_; }

  // The GGUF tensor name for an HF name ("" if there is no direct
  // counterpart); experts map to the stacked tensor with *expert set.
  static std::string GgufName(const std::string& hf_name, int64_t* expert = nullptr);

 private:
  const GgufTensorInfo& Tensor(const std::string& gguf_name, const std::string& hf_name) const;
  Matrix View(const GgufTensorInfo& t, int64_t rows, int64_t cols) const;
  Matrix RebuildKvB(const std::string& hf_name, int64_t layer, int64_t rows, int64_t cols) const;
  Matrix UnpermuteQk(const GgufTensorInfo& t, int64_t rows, int64_t cols, int64_t heads) const;

  std::unique_ptr<GgufFile> file_;
  GgufSourceOptions opt_;
  mutable std::map<std::string, std::vector<uint8_t>> owned_;
  mutable std::map<std::string, std::vector<float>> widened_;
};

}  // namespace dseek
