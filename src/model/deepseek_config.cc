#include "model/deepseek_config.h"

#include <cmath>

#include "base/error.h"

namespace dseek {
namespace {

int64_t Positive(const JsonConfig& j, const std::string& f) {
  int64_t v = j.Int(f);
  if (v <= 0) throw Error(j.origin(), f, "must be positive, got " + std::to_string(v));
  return v;
}

double Finite(const JsonConfig& j, const std::string& f, double def) {
  double v = j.Float(f, def);
  if (!std::isfinite(v) || std::fabs(v) > 1e6) throw Error(j.origin(), f, "must be a finite, moderate number");
  return v;
}

}  // namespace

DeepseekConfig DeepseekConfig::FromJson(const JsonConfig& j) {
  DeepseekConfig c;
  const std::string& o = j.origin();
  c.vocab_size = j.Size("vocab_size", 1 << 24);
  c.hidden_size = j.Size("hidden_size", 1 << 20);
  c.intermediate_size = j.Size("intermediate_size", 1 << 22);
  c.num_hidden_layers = j.Size("num_hidden_layers", 1 << 12);
  c.num_attention_heads = j.Size("num_attention_heads", 1 << 12);
  c.q_lora_rank = j.Int("q_lora_rank", 0);
  if (c.q_lora_rank < 0 || c.q_lora_rank > (1 << 20)) throw Error(o, "q_lora_rank", "must be null or a positive size up to 2^20");
  c.kv_lora_rank = j.Size("kv_lora_rank", 1 << 16);
  c.qk_nope_head_dim = j.Size("qk_nope_head_dim", 1 << 16);
  c.qk_rope_head_dim = j.Size("qk_rope_head_dim", 1 << 16);
  if (c.qk_rope_head_dim % 2 != 0) throw Error(o, "qk_rope_head_dim", "must be even (RoPE rotates pairs)");
  c.v_head_dim = j.Size("v_head_dim", 1 << 16);
  c.n_routed_experts = j.Int("n_routed_experts", 0);
  c.n_shared_experts = j.Int("n_shared_experts", 0);
  if (c.n_routed_experts < 0 || c.n_routed_experts > (1 << 16)) throw Error(o, "n_routed_experts", "must be in 0..65536");
  if (c.n_shared_experts < 0 || c.n_shared_experts > (1 << 10)) throw Error(o, "n_shared_experts", "must be in 0..1024");
  if (c.n_routed_experts > 0) {
    c.moe_intermediate_size = j.Size("moe_intermediate_size", 1 << 22);
    c.num_experts_per_tok = Positive(j, "num_experts_per_tok");
    if (c.num_experts_per_tok > c.n_routed_experts)
      throw Error(o, "num_experts_per_tok", "exceeds n_routed_experts");
  }
  c.first_k_dense_replace = j.Int("first_k_dense_replace", 0);
  if (c.first_k_dense_replace < 0) throw Error(o, "first_k_dense_replace", "must be >= 0");
  c.moe_layer_freq = j.Int("moe_layer_freq", 1);
  if (c.moe_layer_freq <= 0) throw Error(o, "moe_layer_freq", "must be positive");
  c.n_group = j.Int("n_group", 1);
  c.topk_group = j.Int("topk_group", 1);
  c.topk_method = j.String("topk_method", "greedy");
  c.scoring_func = j.String("scoring_func", "softmax");
  c.norm_topk_prob = j.Bool("norm_topk_prob", false);
  c.routed_scaling_factor = Finite(j, "routed_scaling_factor", 1.0);
  c.rms_norm_eps = Finite(j, "rms_norm_eps", 1e-6);
  c.rope_theta = Finite(j, "rope_theta", 10000.0);
  c.max_position_embeddings = j.Int("max_position_embeddings", 4096);
  if (c.max_position_embeddings <= 0 || c.max_position_embeddings > (1ll << 32))
    throw Error(o, "max_position_embeddings", "must be in 1..2^32");
  c.tie_word_embeddings = j.Bool("tie_word_embeddings", false);
  c.num_nextn_predict_layers = j.Int("num_nextn_predict_layers", 0);
  c.bos_token_id = j.TokenId("bos_token_id");
  c.eos_token_id = j.TokenId("eos_token_id");

  if (c.topk_method != "greedy" && c.topk_method != "group_limited_greedy" && c.topk_method != "noaux_tc")
    throw Error(o, "topk_method", "unsupported value '" + c.topk_method + "' (greedy, group_limited_greedy, noaux_tc)");
  if (c.scoring_func != "softmax" && c.scoring_func != "sigmoid")
    throw Error(o, "scoring_func", "unsupported value '" + c.scoring_func + "' (softmax, sigmoid)");
  if (c.n_routed_experts > 0) {
    if (c.n_group <= 0 || c.n_routed_experts % c.n_group != 0)
      throw Error(o, "n_group", "must divide n_routed_experts (" + std::to_string(c.n_routed_experts) + ")");
    if (c.n_group > 256) throw Error(o, "n_group", "more than 256 expert groups is not supported");
    if (c.topk_group <= 0 || c.topk_group > c.n_group) throw Error(o, "topk_group", "must be in 1..n_group");
    if (c.n_group > 1 && c.topk_group * (c.n_routed_experts / c.n_group) < c.num_experts_per_tok)
      throw Error(o, "topk_group", "kept groups hold fewer experts than num_experts_per_tok");
  }
  if (j.String("hidden_act", "silu") != "silu")
    throw Error(o, "hidden_act", "unsupported activation '" + j.String("hidden_act") + "' (silu)");
  if (j.Bool("attention_bias", false)) throw Error(o, "attention_bias", "attention biases are not supported");
  if (c.rms_norm_eps <= 0) throw Error(o, "rms_norm_eps", "must be positive");
  if (c.rope_theta <= 0) throw Error(o, "rope_theta", "must be positive");

  if (auto rs = j.Object("rope_scaling")) {
    std::string type = rs->String("type", rs->String("rope_type", ""));
    if (type != "yarn")
      throw Error(rs->origin(), "type", "unsupported rope_scaling type '" + type + "' (yarn)");
    c.yarn.enabled = true;
    c.yarn.factor = Finite(*rs, "factor", 0.0);
    if (c.yarn.factor < 1.0) throw Error(rs->origin(), "factor", "must be >= 1");
    c.yarn.original_max_position_embeddings = rs->Int("original_max_position_embeddings", 4096);
    c.yarn.beta_fast = Finite(*rs, "beta_fast", 32.0);
    c.yarn.beta_slow = Finite(*rs, "beta_slow", 1.0);
    c.yarn.mscale = Finite(*rs, "mscale", 1.0);
    c.yarn.mscale_all_dim = Finite(*rs, "mscale_all_dim", 0.0);
    if (c.yarn.original_max_position_embeddings <= 0)
      throw Error(rs->origin(), "original_max_position_embeddings", "must be positive");
    if (!(c.yarn.beta_slow > 0 && c.yarn.beta_fast > c.yarn.beta_slow))
      throw Error(rs->origin(), "beta_fast", "must exceed beta_slow, and both must be positive");
  }
  if (auto q = j.Object("quantization_config")) {
    std::string method = q->String("quant_method", "");
    if (method != "fp8") throw Error(q->origin(), "quant_method", "unsupported quantization '" + method + "' (fp8)");
    std::string fmt = q->String("fmt", "e4m3");
    if (fmt != "e4m3") throw Error(q->origin(), "fmt", "unsupported FP8 format '" + fmt + "' (e4m3)");
    if (q->Has("weight_block_size")) {
      const auto& b = q->data()["weight_block_size"];
      if (!b.is_array() || b.size() != 2 || b[0] != 128 || b[1] != 128)
        throw Error(q->origin(), "weight_block_size", "only [128, 128] blocks are supported, got " + b.dump());
    }
    c.fp8_block_quantized = true;
  }
  return c;
}

}  // namespace dseek
