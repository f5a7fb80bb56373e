// The dense decoder shared by Llama and Qwen2 (and so by the R1-Distill
// models): embedding, per layer h += GQA(norm(h)); h += SwiGLU(norm(h)), final
// norm, LM head. The architecture files (llama.cc, qwen2.cc) read their
// config.json into DenseGqaConfig; this file runs it.
#pragma once

#include <memory>
#include <string>

#include "format/json_config.h"
#include "model/layers/rope_yarn.h"
#include "model/model.h"
#include "tensor/weight_source.h"

namespace dseek {

struct DenseGqaConfig {
  std::string architecture;
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0;
  int64_t num_attention_heads = 0, num_key_value_heads = 0, head_dim = 0;
  double rms_norm_eps = 1e-6;
  RopeParams rope;
  int64_t max_position_embeddings = 4096;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;
  int64_t bos_token_id = -1, eos_token_id = -1;

  // Reads the fields Llama and Qwen2 share; rejects unsupported values.
  static DenseGqaConfig FromJson(const JsonConfig& j);
};

ModelFacts DenseGqaFacts(const DenseGqaConfig& c);
std::unique_ptr<Model> LoadDenseGqa(const std::string& dir, const DenseGqaConfig& c, Backend& backend,
                                    const ModelOptions& options = {});
std::unique_ptr<Model> MakeDenseGqa(const DenseGqaConfig& c, std::unique_ptr<WeightSource> source, Backend& backend,
                                    const ModelOptions& options = {});

}  // namespace dseek
