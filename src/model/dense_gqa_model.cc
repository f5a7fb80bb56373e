#include "model/dense_gqa_model.h"

#include <cmath>

#include "base/error.h"
#include "model/batch_plan.h"
#include "kernels/ref/ref_ops.h"
#include "kernels/simd/vec_ops.h"
#include "model/layers/dense_mlp.h"
#include "model/layers/gqa_attention.h"
#include "tensor/weight_store.h"

namespace dseek {
namespace {

struct Layer {
  const float* attn_norm = nullptr;
  const float* ffn_norm = nullptr;
  GqaWeights attn;
  DenseMlpWeights mlp;
};

class DenseGqaModel final : public Model {
 public:
  DenseGqaModel(const DenseGqaConfig& c, std::unique_ptr<WeightSource> source, Backend& be, KvType kv_type)
      : c_(c), be_(be), kv_type_(kv_type), rope_(c.rope), store_(std::move(source)) {
    facts_ = DenseGqaFacts(c);
    const int64_t D = c.hidden_size, H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim;
    dims_ = GqaDims{D, H, KV, hd, static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)))};
    const WeightSource& ws = *store_;
    embed_ = ws.GetMatrix("model.embed_tokens.weight", c.vocab_size, D);
    final_norm_ = ws.GetVectorF32("model.norm.weight", D);
    lm_head_ = c.tie_word_embeddings ? embed_ : ws.GetMatrix("lm_head.weight", c.vocab_size, D);
    layers_.resize(c.num_hidden_layers);
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      Layer& L = layers_[i];
      L.attn_norm = ws.GetVectorF32(p + "input_layernorm.weight", D);
      L.ffn_norm = ws.GetVectorF32(p + "post_attention_layernorm.weight", D);
      L.attn.q = ws.GetMatrix(p + "self_attn.q_proj.weight", H * hd, D);
      L.attn.k = ws.GetMatrix(p + "self_attn.k_proj.weight", KV * hd, D);
      L.attn.v = ws.GetMatrix(p + "self_attn.v_proj.weight", KV * hd, D);
      L.attn.o = ws.GetMatrix(p + "self_attn.o_proj.weight", D, H * hd);
      if (c.qkv_bias) {
        L.attn.q_bias = ws.GetVectorF32(p + "self_attn.q_proj.bias", H * hd);
        L.attn.k_bias = ws.GetVectorF32(p + "self_attn.k_proj.bias", KV * hd);
        L.attn.v_bias = ws.GetVectorF32(p + "self_attn.v_proj.bias", KV * hd);
      }
      L.mlp = DenseMlpWeights{ws.GetMatrix(p + "mlp.gate_proj.weight", c.intermediate_size, D),
                              ws.GetMatrix(p + "mlp.up_proj.weight", c.intermediate_size, D),
                              ws.GetMatrix(p + "mlp.down_proj.weight", D, c.intermediate_size)};
    }
    int64_t bytes = static_cast<int64_t>(lm_head_.bytes());
    for (const Layer& L : layers_)
      bytes += L.attn.q.bytes() + L.attn.k.bytes() + L.attn.v.bytes() + L.attn.o.bytes() + L.mlp.gate.bytes() +
               L.mlp.up.bytes() + L.mlp.down.bytes();
    facts_.weight_bytes_per_token = bytes;
  }

  const ModelFacts& facts() const override { return facts_; }

  std::unique_ptr<KvCache> NewCache(int64_t capacity) const override {
    return std::make_unique<KvCache>(c_.num_hidden_layers, 2 * c_.num_key_value_heads * c_.head_dim, capacity, kv_type_);
  }

  void ForwardBatch(std::span<const BatchSeq> batch) override {
    plan_.Build(batch, c_.vocab_size, c_.vocab_size);
    const size_t n = plan_.n();
    const int64_t D = c_.hidden_size;
    const float eps = static_cast<float>(c_.rms_norm_eps);
    Grow(h_, n * D);
    Grow(xn_, n * D);
    Grow(tmp_, n * D);
    for (size_t t = 0; t < n; ++t) simd::WidenRow(embed_, plan_.tokens[t], h_.data() + t * D);
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
      const Layer& L = layers_[l];
      for (size_t t = 0; t < n; ++t) ref::RmsNorm(h_.data() + t * D, L.attn_norm, D, eps, xn_.data() + t * D);
      GqaAttention(be_, dims_, L.attn, rope_, l, plan_.spans, xn_.data(), n, tmp_.data(), attn_s_);
      for (size_t i = 0; i < n * D; ++i) h_[i] += tmp_[i];
      for (size_t t = 0; t < n; ++t) ref::RmsNorm(h_.data() + t * D, L.ffn_norm, D, eps, xn_.data() + t * D);
      DenseMlp(be_, L.mlp, xn_.data(), n, tmp_.data(), mlp_s_);
      for (size_t i = 0; i < n * D; ++i) h_[i] += tmp_[i];
    }
    plan_.Finish(be_, h_.data(), D, final_norm_, eps, lm_head_, xn_, logits_);
  }

 private:
  static void Grow(std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);
  }

  DenseGqaConfig c_;
  Backend& be_;
  KvType kv_type_;
  RopeTable rope_;
  std::unique_ptr<WeightSource> store_;
  ModelFacts facts_;
  GqaDims dims_;
  Matrix embed_, lm_head_;
  const float* final_norm_ = nullptr;
  std::vector<Layer> layers_;
  std::vector<float> h_, xn_, tmp_, logits_;
  BatchPlan plan_;
  GqaScratch attn_s_;
  MlpScratch mlp_s_;
};

}  // namespace

DenseGqaConfig DenseGqaConfig::FromJson(const JsonConfig& j) {
  DenseGqaConfig c;
  const std::string& o = j.origin();
  c.vocab_size = j.Size("vocab_size", 1 << 24);
  c.hidden_size = j.Size("hidden_size", 1 << 20);
  c.intermediate_size = j.Size("intermediate_size", 1 << 22);
  c.num_hidden_layers = j.Size("num_hidden_layers", 1 << 12);
  c.num_attention_heads = j.Size("num_attention_heads", 1 << 12);
  c.num_key_value_heads = j.Has("num_key_value_heads") ? j.Size("num_key_value_heads", 1 << 12) : c.num_attention_heads;
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw Error(o, "num_key_value_heads", "must divide num_attention_heads");
  c.head_dim = j.Has("head_dim") ? j.Size("head_dim", 1 << 14) : c.hidden_size / c.num_attention_heads;
  if (c.head_dim % 2 != 0 || c.head_dim <= 0) throw Error(o, "head_dim", "must be even and positive");
  c.rms_norm_eps = j.Float("rms_norm_eps", 1e-6);
  if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1)) throw Error(o, "rms_norm_eps", "must be in (0, 1)");
  c.max_position_embeddings = j.Int("max_position_embeddings", 4096);
  if (c.max_position_embeddings <= 0) throw Error(o, "max_position_embeddings", "must be positive");
  c.tie_word_embeddings = j.Bool("tie_word_embeddings", false);
  c.bos_token_id = j.TokenId("bos_token_id");
  c.eos_token_id = j.TokenId("eos_token_id");
  if (j.String("hidden_act", "silu") != "silu") throw Error(o, "hidden_act", "unsupported activation (silu)");
  if (j.Bool("mlp_bias", false)) throw Error(o, "mlp_bias", "MLP biases are not supported");
  c.rope.dim = c.head_dim;
  c.rope.theta = j.Float("rope_theta", 10000.0);
  if (!(c.rope.theta > 0 && std::isfinite(c.rope.theta))) throw Error(o, "rope_theta", "must be positive");
  if (auto rs = j.Object("rope_scaling")) {
    std::string type = rs->String("rope_type", rs->String("type", ""));
    if (type == "llama3") {
      c.rope.llama3 = true;
      c.rope.factor = rs->Float("factor");
      c.rope.low_freq_factor = rs->Float("low_freq_factor", 1.0);
      c.rope.high_freq_factor = rs->Float("high_freq_factor", 4.0);
      c.rope.original_max_position = rs->Int("original_max_position_embeddings", 8192);
      if (!(c.rope.factor >= 1 && c.rope.high_freq_factor > c.rope.low_freq_factor && c.rope.low_freq_factor > 0 &&
            c.rope.original_max_position > 0))
        throw Error(rs->origin(), "factor", "inconsistent llama3 rope_scaling values");
    } else if (type != "default") {
      throw Error(rs->origin(), "rope_type", "unsupported rope scaling '" + type + "' (llama3)");
    }
  }
  return c;
}

ModelFacts DenseGqaFacts(const DenseGqaConfig& c) {
  ModelFacts f;
  f.architecture = c.architecture;
  f.vocab_size = c.vocab_size;
  f.n_layers = c.num_hidden_layers;
  f.max_context = c.max_position_embeddings;
  f.bos_token_id = c.bos_token_id;
  f.eos_token_id = c.eos_token_id;
  const int64_t D = c.hidden_size, H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim;
  int64_t per_layer = D * H * hd * 2 + D * KV * hd * 2 + 3 * D * c.intermediate_size + 2 * D;
  if (c.qkv_bias) per_layer += (H + 2 * KV) * hd;
  f.params_total = c.vocab_size * D * (c.tie_word_embeddings ? 1 : 2) + D + c.num_hidden_layers * per_layer;
  f.params_active = f.params_total;
  f.kv_floats_per_token = c.num_hidden_layers * 2 * KV * hd;
  return f;
}

std::unique_ptr<Model> LoadDenseGqa(const std::string& dir, const DenseGqaConfig& c, Backend& backend,
                                    const ModelOptions& options) {
  return MakeDenseGqa(c, WeightStore::OpenDir(dir), backend, options);
}

std::unique_ptr<Model> MakeDenseGqa(const DenseGqaConfig& c, std::unique_ptr<WeightSource> source, Backend& backend,
                                    const ModelOptions& options) {
  return std::make_unique<DenseGqaModel>(c, std::move(source), backend, options.kv_type);
}

}  // namespace dseek
