// DeepSeek-V2/V3 as in the paper and DeepSeek's inference/model.py: embedding,
// then per layer h += MLA(norm(h)); h += FFN(norm(h)) where the FFN is a dense
// SiLU MLP for the first first_k_dense_replace layers and DeepSeekMoE after;
// then a final norm and the LM head. V2 and V3 differ only in config values
// (router scoring and selection, q LoRA, YaRN), so one file serves both.
// Multi-token-prediction layers (index >= num_hidden_layers) are not used for
// plain next-token decoding and are left unloaded.
#include "model/deepseek_v2.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "base/error.h"
#include "model/batch_plan.h"
#include "kernels/ref/ref_ops.h"
#include "kernels/simd/vec_ops.h"
#include "model/deepseek_config.h"
#include "model/layers/dense_mlp.h"
#include "model/layers/mla.h"
#include "model/layers/moe.h"
#include "model/layers/rope_yarn.h"
#include "tensor/weight_store.h"

namespace dseek {
namespace {

// Tensor names of one layer, as published.
struct LayerNames {
  std::string p;
  explicit LayerNames(int64_t i) : p("model.layers." + std::to_string(i) + ".") {}
  std::string operator()(const std::string& s) const { return p + s; }
};

struct Layer {
  const float* attn_norm = nullptr;
  const float* ffn_norm = nullptr;
  MlaWeights attn;
  bool moe = false;
  DenseMlpWeights mlp;
  MoeWeights moe_w;
};

RopeParams RopeParamsOf(const DeepseekConfig& c) {
  RopeParams r;
  r.dim = c.qk_rope_head_dim;
  r.theta = c.rope_theta;
  r.yarn = c.yarn.enabled;
  r.factor = c.yarn.factor;
  r.original_max_position = c.yarn.original_max_position_embeddings;
  r.beta_fast = c.yarn.beta_fast;
  r.beta_slow = c.yarn.beta_slow;
  r.mscale = c.yarn.mscale;
  r.mscale_all_dim = c.yarn.mscale_all_dim;
  return r;
}

ModelFacts FactsOf(const DeepseekConfig& c) {
  ModelFacts f;
  f.architecture = c.architecture;
  f.vocab_size = c.vocab_size;
  f.n_layers = c.num_hidden_layers;
  f.max_context = c.max_position_embeddings;
  f.bos_token_id = c.bos_token_id;
  f.eos_token_id = c.eos_token_id;
  const int64_t D = c.hidden_size, H = c.num_attention_heads;
  int64_t attn = c.q_lora_rank > 0 ? c.q_lora_rank * D + c.q_lora_rank + H * c.qk_head_dim() * c.q_lora_rank
                                   : H * c.qk_head_dim() * D;
  attn += (c.kv_lora_rank + c.qk_rope_head_dim) * D + c.kv_lora_rank +
          H * (c.qk_nope_head_dim + c.v_head_dim) * c.kv_lora_rank + D * H * c.v_head_dim;
  const int64_t dense = 3 * D * c.intermediate_size;
  const int64_t expert = 3 * D * c.moe_intermediate_size;
  int64_t total = c.vocab_size * D * (c.tie_word_embeddings ? 1 : 2) + D, active = total;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    int64_t common = attn + 2 * D;
    if (c.IsMoeLayer(l)) {
      int64_t router = c.n_routed_experts * D;
      total += common + router + (c.n_routed_experts + c.n_shared_experts) * expert;
      active += common + router + (c.num_experts_per_tok + c.n_shared_experts) * expert;
    } else {
      total += common + dense;
      active += common + dense;
    }
  }
  f.params_total = total;
  f.params_active = active;
  f.kv_floats_per_token = c.num_hidden_layers * (c.kv_lora_rank + c.qk_rope_head_dim);
  return f;
}

class DeepseekV2Model final : public Model {
 public:
  DeepseekV2Model(const DeepseekConfig& c, std::unique_ptr<WeightSource> source, Backend& be,
                  const ModelOptions& opt)
      : c_(c), be_(be), opt_(opt), rope_(RopeParamsOf(c)), store_(std::move(source)) {
    facts_ = FactsOf(c);
    Load();
  }

  const ModelFacts& facts() const override { return facts_; }

  std::unique_ptr<KvCache> NewCache(int64_t capacity) const override {
    return std::make_unique<KvCache>(c_.num_hidden_layers, c_.kv_lora_rank + c_.qk_rope_head_dim, capacity, opt_.kv_type);
  }

  void ForwardBatch(std::span<const BatchSeq> batch) override {
    plan_.Build(batch, c_.vocab_size, c_.vocab_size);
    const size_t n = plan_.n();
    const int64_t D = c_.hidden_size;
    Grow(h_, n * D);
    Grow(xn_, n * D);
    Grow(tmp_, n * D);
    for (size_t t = 0; t < n; ++t) simd::WidenRow(embed_, plan_.tokens[t], h_.data() + t * D);
    bool prefill = false;
    for (const SeqSpan& sp : plan_.spans) prefill = prefill || sp.n > 1;
    const MlaForm form = (prefill && opt_.prefill_form == AttentionForm::kNaive) ? MlaForm::kNaive : MlaForm::kAbsorbed;
    for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
      const Layer& L = layers_[l];
      for (size_t t = 0; t < n; ++t) ref::RmsNorm(h_.data() + t * D, L.attn_norm, D, eps_, xn_.data() + t * D);
      Mla(be_, dims_, L.attn, rope_, form, l, plan_.spans, xn_.data(), n, tmp_.data(), mla_s_);
      for (size_t i = 0; i < n * D; ++i) h_[i] += tmp_[i];
      for (size_t t = 0; t < n; ++t) ref::RmsNorm(h_.data() + t * D, L.ffn_norm, D, eps_, xn_.data() + t * D);
      if (L.moe) {
        MoeFfn(be_, L.moe_w, router_, xn_.data(), n, D, tmp_.data(), moe_s_);
      } else {
        DenseMlp(be_, L.mlp, xn_.data(), n, tmp_.data(), mlp_s_);
      }
      for (size_t i = 0; i < n * D; ++i) h_[i] += tmp_[i];
    }
    plan_.Finish(be_, h_.data(), D, final_norm_, eps_, lm_head_, xn_, logits_);
  }

 private:
  static void Grow(std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);
  }

  void Load() {
    const DeepseekConfig& c = c_;
    const WeightSource& ws = *store_;
    const int64_t D = c.hidden_size, H = c.num_attention_heads;
    eps_ = static_cast<float>(c.rms_norm_eps);
    dims_ = MlaDims{D, H, c.q_lora_rank, c.kv_lora_rank, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim,
                    eps_, static_cast<float>(MlaSoftmaxScale(c.qk_head_dim(), RopeParamsOf(c)))};
    router_.n_experts = c.n_routed_experts;
    router_.top_k = c.num_experts_per_tok;
    router_.n_group = c.n_group;
    router_.topk_group = c.topk_group;
    router_.method = c.topk_method == "noaux_tc"               ? TopkMethod::kNoauxTc
                     : c.topk_method == "group_limited_greedy" ? TopkMethod::kGroupLimitedGreedy
                                                               : TopkMethod::kGreedy;
    router_.scoring = c.scoring_func == "sigmoid" ? ScoringFunc::kSigmoid : ScoringFunc::kSoftmax;
    router_.norm_topk_prob = c.norm_topk_prob;
    router_.scale_after_norm = c.ScaleAfterNorm();
    router_.routed_scaling_factor = static_cast<float>(c.routed_scaling_factor);

    embed_ = ws.GetMatrix("model.embed_tokens.weight", c.vocab_size, D);
    final_norm_ = ws.GetVectorF32("model.norm.weight", D);
    lm_head_ = c.tie_word_embeddings ? embed_ : ws.GetMatrix("lm_head.weight", c.vocab_size, D);
    layers_.resize(c.num_hidden_layers);
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      LayerNames n(i);
      Layer& L = layers_[i];
      L.attn_norm = ws.GetVectorF32(n("input_layernorm.weight"), D);
      L.ffn_norm = ws.GetVectorF32(n("post_attention_layernorm.weight"), D);
      MlaWeights& a = L.attn;
      if (c.q_lora_rank > 0) {
        a.q_a_proj = ws.GetMatrix(n("self_attn.q_a_proj.weight"), c.q_lora_rank, D);
        a.q_a_norm = ws.GetVectorF32(n("self_attn.q_a_layernorm.weight"), c.q_lora_rank);
        a.q_b_proj = ws.GetMatrix(n("self_attn.q_b_proj.weight"), H * c.qk_head_dim(), c.q_lora_rank);
      } else {
        a.q_proj = ws.GetMatrix(n("self_attn.q_proj.weight"), H * c.qk_head_dim(), D);
      }
      a.kv_a_proj = ws.GetMatrix(n("self_attn.kv_a_proj_with_mqa.weight"), c.kv_lora_rank + c.qk_rope_head_dim, D);
      a.kv_a_norm = ws.GetVectorF32(n("self_attn.kv_a_layernorm.weight"), c.kv_lora_rank);
      a.o_proj = ws.GetMatrix(n("self_attn.o_proj.weight"), D, H * c.v_head_dim);
      if (ws.Has(n("self_attn.k_b_proj.weight")) && ws.Has(n("self_attn.v_b_proj.weight"))) {
        a.k_b = ws.GetMatrix(n("self_attn.k_b_proj.weight"), H * c.kv_lora_rank, c.qk_nope_head_dim);
        a.v_b = ws.GetMatrix(n("self_attn.v_b_proj.weight"), H * c.v_head_dim, c.kv_lora_rank);
      }
      // Per-head slices of a packed matrix must be whole groups of 8 rows.
      if (a.has_split_kv_b() && ((a.k_b.packed8 && c.kv_lora_rank % 8 != 0) || (a.v_b.packed8 && c.v_head_dim % 8 != 0)))
        a.k_b = a.v_b = Matrix{};
      // With the split pair, kv_b_proj is only needed by the naive form
      // (a GGUF file may not even hold it: it is then rebuilt in float32).
      if (!a.has_split_kv_b() || opt_.prefill_form == AttentionForm::kNaive)
        a.kv_b_proj =
            ws.GetMatrix(n("self_attn.kv_b_proj.weight"), H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
      L.moe = c.IsMoeLayer(i);
      if (!L.moe) {
        L.mlp = Mlp(n("mlp."), c.intermediate_size);
        continue;
      }
      MoeWeights& m = L.moe_w;
      m.router = ws.GetMatrix(n("mlp.gate.weight"), c.n_routed_experts, D);
      if (c.topk_method == "noaux_tc") m.bias = ws.GetVectorF32(n("mlp.gate.e_score_correction_bias"), c.n_routed_experts);
      m.experts.reserve(c.n_routed_experts);
      for (int64_t e = 0; e < c.n_routed_experts; ++e)
        m.experts.push_back(Mlp(n("mlp.experts." + std::to_string(e) + "."), c.moe_intermediate_size));
      m.has_shared = c.n_shared_experts > 0;
      if (m.has_shared) m.shared = Mlp(n("mlp.shared_experts."), c.n_shared_experts * c.moe_intermediate_size);
    }
    // What one decode step streams: every attention and dense weight, the
    // router, the shared experts, top-k routed experts, the LM head.
    auto mlp_bytes = [](const DenseMlpWeights& m) { return m.gate.bytes() + m.up.bytes() + m.down.bytes(); };
    int64_t bytes = static_cast<int64_t>(lm_head_.bytes());
    for (const Layer& L : layers_) {
      const MlaWeights& a = L.attn;
      bytes += a.q_proj.bytes() + a.q_a_proj.bytes() + a.q_b_proj.bytes() + a.kv_a_proj.bytes() + a.o_proj.bytes() +
               (a.has_split_kv_b() ? a.k_b.bytes() + a.v_b.bytes() : a.kv_b_proj.bytes());
      if (!L.moe) {
        bytes += mlp_bytes(L.mlp);
      } else {
        bytes += L.moe_w.router.bytes() + (L.moe_w.has_shared ? mlp_bytes(L.moe_w.shared) : 0) +
                 c.num_experts_per_tok * mlp_bytes(L.moe_w.experts[0]);
      }
    }
    facts_.weight_bytes_per_token = bytes;
  }

  DenseMlpWeights Mlp(const std::string& prefix, int64_t inter) const {
    const int64_t D = c_.hidden_size;
    return DenseMlpWeights{store_->GetMatrix(prefix + "gate_proj.weight", inter, D),
                           store_->GetMatrix(prefix + "up_proj.weight", inter, D),
                           store_->GetMatrix(prefix + "down_proj.weight", D, inter)};
  }

  DeepseekConfig c_;
  Backend& be_;
  ModelOptions opt_;
  RopeTable rope_;
  std::unique_ptr<WeightSource> store_;
  ModelFacts facts_;
  float eps_ = 1e-6f;
  MlaDims dims_;
  RouterParams router_;
  Matrix embed_, lm_head_;
  const float* final_norm_ = nullptr;
  std::vector<Layer> layers_;
  // Activations, reused across calls (grown, never shrunk).
  std::vector<float> h_, xn_, tmp_, logits_;
  BatchPlan plan_;
  MlaScratch mla_s_;
  MoeScratch moe_s_;
  MlpScratch mlp_s_;
};

DeepseekConfig ParseConfig(const JsonConfig& config) {
  DeepseekConfig c = DeepseekConfig::FromJson(config);
  c.architecture = config.data()["architectures"][0].get<std::string>();
  return c;
}

}  // namespace

std::unique_ptr<Model> LoadDeepseekV2(const std::string& dir, const JsonConfig& config, Backend& backend,
                                      const ModelOptions& options) {
  return MakeDeepseekV2(ParseConfig(config), WeightStore::OpenDir(dir), backend, options);
}

std::unique_ptr<Model> MakeDeepseekV2(const DeepseekConfig& config, std::unique_ptr<WeightSource> source,
                                      Backend& backend, const ModelOptions& options) {
  return std::make_unique<DeepseekV2Model>(config, std::move(source), backend, options);
}

ModelFacts DeepseekV2Facts(const JsonConfig& config) { return FactsOf(ParseConfig(config)); }
ModelFacts DeepseekFacts(const DeepseekConfig& config) { return FactsOf(config); }

}  // namespace dseek
