// The fields of a DeepSeek-V2/V3 config.json that the forward pass uses,
// read and checked once. Unsupported values are a dseek::Error naming the
// field. Plain value type.
#pragma once

#include <cstdint>
#include <string>

#include "format/json_config.h"

namespace dseek {

struct YarnConfig {
  bool enabled = false;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 4096;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;
};

struct DeepseekConfig {
  std::string architecture;  // DeepseekV2ForCausalLM or DeepseekV3ForCausalLM
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t moe_intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t q_lora_rank = 0;  // 0: plain q_proj
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;
  int64_t n_routed_experts = 0;  // 0: every layer dense
  int64_t n_shared_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  std::string topk_method = "greedy";  // greedy | group_limited_greedy | noaux_tc
  std::string scoring_func = "softmax";  // softmax | sigmoid
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  YarnConfig yarn;
  int64_t max_position_embeddings = 4096;
  bool tie_word_embeddings = false;
  int64_t num_nextn_predict_layers = 0;
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;
  bool fp8_block_quantized = false;  // quantization_config fp8 with 128x128 blocks

  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  bool IsMoeLayer(int64_t layer) const {
    return n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0;
  }
  // HF DeepseekV2 skips routed scaling when it renormalises; V3 always scales.
  bool ScaleAfterNorm() const { return architecture != "DeepseekV2ForCausalLM"; }

  static DeepseekConfig FromJson(const JsonConfig& j);
};

}  // namespace dseek
