// Key names follow llama.cpp's src/llama-arch.cpp (LLM_KV_*), read the way
// src/llama-model.cpp load_hparams reads them for LLM_ARCH_QWEN2, LLM_ARCH_LLAMA
// and LLM_ARCH_DEEPSEEK2.
#include "model/gguf_config.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <cmath>

#include "base/error.h"
#include "model/deepseek_v2.h"
#include "model/gguf_weight_source.h"
#include "model/prepared_weight_source.h"

namespace dseek {
namespace {

// Typed access to `<arch>.<key>` with errors naming the file and key.
class Keys {
 public:
  Keys(const GgufFile& f, std::string arch) : f_(f), arch_(std::move(arch)) {}

  std::string Full(const std::string& k) const { return arch_ + "." + k; }
  bool Has(const std::string& k) const { return f_.Find(Full(k)) != nullptr; }

  int64_t Int(const std::string& k, int64_t lo, int64_t hi) const {
    auto v = f_.GetI64(Full(k));
    if (!v) throw Error(f_.path(), Full(k), "missing metadata key");
    return Check(k, *v, lo, hi);
  }
  int64_t Int(const std::string& k, int64_t lo, int64_t hi, int64_t def) const {
    auto v = f_.GetI64(Full(k));
    return v ? Check(k, *v, lo, hi) : def;
  }
  double Float(const std::string& k, double def, bool required = false) const {
    auto v = f_.GetF64(Full(k));
    if (!v && required) throw Error(f_.path(), Full(k), "missing metadata key");
    double x = v ? *v : def;
    if (!std::isfinite(x) || std::fabs(x) > 1e12) throw Error(f_.path(), Full(k), "must be a finite number");
    return x;
  }
  bool Bool(const std::string& k, bool def) const {
    auto v = f_.GetBool(Full(k));
    return v ? *v : def;
  }
  [[noreturn]] void Fail(const std::string& k, const std::string& reason) const {
    throw Error(f_.path(), Full(k), reason);
  }

 private:
  int64_t Check(const std::string& k, int64_t v, int64_t lo, int64_t hi) const {
    if (v < lo || v > hi)
      throw Error(f_.path(), Full(k),
                  "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(v));
    return v;
  }
  const GgufFile& f_;
  std::string arch_;
};

int64_t TokenIdOf(const GgufFile& f, const std::string& key) {
  auto v = f.GetI64(key);
  return v ? *v : -1;
}

// `<arch>.vocab_size`, else the token list, else token_embd's row count.
int64_t VocabSize(const GgufFile& f, const Keys& k) {
  if (k.Has("vocab_size")) return k.Int("vocab_size", 1, 1 << 24);
  if (const GgufArray* tokens = f.GetArray("tokenizer.ggml.tokens")) return static_cast<int64_t>(tokens->size());
  if (const GgufTensorInfo* t = f.FindTensor("token_embd.weight"); t && t->dims.size() == 2) return t->dims[1];
  throw Error(f.path(), k.Full("vocab_size"), "no vocab_size key, token list or token_embd.weight to size the vocabulary");
}

int64_t ContextLength(const Keys& k) { return k.Int("context_length", 1, int64_t{1} << 32, 4096); }

}  // namespace

std::string GgufArchitecture(const GgufFile& f) {
  auto a = f.GetString("general.architecture");
  if (!a) throw Error(f.path(), "general.architecture", "missing metadata key");
  return *a;
}

std::vector<std::string> SupportedGgufArchitectures() { return {"deepseek2", "llama", "qwen2"}; }

DenseGqaConfig DenseGqaConfigFromGguf(const GgufFile& f) {
  const std::string arch = GgufArchitecture(f);
  if (arch != "qwen2" && arch != "llama")
    throw Error(f.path(), "general.architecture", "'" + arch + "' is not a dense GQA architecture (qwen2, llama)");
  Keys k(f, arch);
  DenseGqaConfig c;
  c.architecture = arch == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
  c.vocab_size = VocabSize(f, k);
  c.hidden_size = k.Int("embedding_length", 1, 1 << 20);
  c.intermediate_size = k.Int("feed_forward_length", 1, 1 << 22);
  c.num_hidden_layers = k.Int("block_count", 1, 1 << 12);
  c.num_attention_heads = k.Int("attention.head_count", 1, 1 << 12);
  c.num_key_value_heads = k.Int("attention.head_count_kv", 1, 1 << 12, c.num_attention_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    k.Fail("attention.head_count_kv", "must divide attention.head_count");
  c.head_dim = k.Int("attention.key_length", 2, 1 << 14, c.hidden_size / c.num_attention_heads);
  if (k.Int("attention.value_length", 2, 1 << 14, c.head_dim) != c.head_dim)
    k.Fail("attention.value_length", "must equal attention.key_length");
  if (c.head_dim % 2 != 0) k.Fail("attention.key_length", "head size must be even");
  if (k.Int("rope.dimension_count", 2, 1 << 14, c.head_dim) != c.head_dim)
    k.Fail("rope.dimension_count", "partial rotary embeddings are not supported");
  c.rms_norm_eps = k.Float("attention.layer_norm_rms_epsilon", 1e-6, true);
  if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1)) k.Fail("attention.layer_norm_rms_epsilon", "must be in (0, 1)");
  c.max_position_embeddings = ContextLength(k);
  c.rope.dim = c.head_dim;
  c.rope.theta = k.Float("rope.freq_base", 10000.0);
  if (!(c.rope.theta > 0)) k.Fail("rope.freq_base", "must be positive");
  if (const GgufTensorInfo* rf = f.FindTensor("rope_freqs.weight")) {
    // Llama 3 rope scaling, stored as one divisor per rotated pair.
    if (rf->type != GgmlType::kF32 || rf->n_elements() != c.head_dim / 2)
      throw Error(f.path(), "rope_freqs.weight",
                  "expected " + std::to_string(c.head_dim / 2) + " F32 values (head size / 2)");
    c.rope.freq_factors.resize(c.head_dim / 2);
    std::memcpy(c.rope.freq_factors.data(), rf->data, c.rope.freq_factors.size() * sizeof(float));
    for (float v : c.rope.freq_factors)
      if (!(v > 0 && std::isfinite(v))) throw Error(f.path(), "rope_freqs.weight", "factors must be positive and finite");
  }
  if (auto type = f.GetString(k.Full("rope.scaling.type")); type && *type != "none")
    k.Fail("rope.scaling.type", "unsupported rope scaling '" + *type + "'");
  c.tie_word_embeddings = f.FindTensor("output.weight") == nullptr;
  c.qkv_bias = f.FindTensor("blk.0.attn_q.bias") != nullptr;
  c.bos_token_id = TokenIdOf(f, "tokenizer.ggml.bos_token_id");
  c.eos_token_id = TokenIdOf(f, "tokenizer.ggml.eos_token_id");
  return c;
}

DeepseekConfig DeepseekConfigFromGguf(const GgufFile& f) {
  const std::string arch = GgufArchitecture(f);
  if (arch != "deepseek2") throw Error(f.path(), "general.architecture", "'" + arch + "' is not deepseek2");
  Keys k(f, arch);
  DeepseekConfig c;
  // llama.cpp scales routed weights after renormalising (V3 semantics); any
  // name but DeepseekV2ForCausalLM selects that in DeepseekConfig.
  c.architecture = "deepseek2";
  c.vocab_size = VocabSize(f, k);
  c.hidden_size = k.Int("embedding_length", 1, 1 << 20);
  c.intermediate_size = k.Int("feed_forward_length", 1, 1 << 22);
  c.num_hidden_layers = k.Int("block_count", 1, 1 << 12);
  c.num_attention_heads = k.Int("attention.head_count", 1, 1 << 12);
  c.q_lora_rank = k.Int("attention.q_lora_rank", 0, 1 << 20, 0);
  c.kv_lora_rank = k.Int("attention.kv_lora_rank", 1, 1 << 16);
  c.qk_rope_head_dim = k.Int("rope.dimension_count", 2, 1 << 16);
  if (c.qk_rope_head_dim % 2 != 0) k.Fail("rope.dimension_count", "must be even");
  // Newer files store the latent-MQA view in key_length/value_length and the
  // per-head sizes in *_mla; older ones store the per-head sizes directly.
  const std::string kl = k.Has("attention.key_length_mla") ? "attention.key_length_mla" : "attention.key_length";
  const std::string vl = k.Has("attention.value_length_mla") ? "attention.value_length_mla" : "attention.value_length";
  const int64_t key_len = k.Int(kl, 1, 1 << 16);
  if (key_len <= c.qk_rope_head_dim) k.Fail(kl, "must exceed rope.dimension_count");
  c.qk_nope_head_dim = key_len - c.qk_rope_head_dim;
  c.v_head_dim = k.Int(vl, 1, 1 << 16);
  c.n_routed_experts = k.Int("expert_count", 0, 1 << 16, 0);
  c.n_shared_experts = k.Int("expert_shared_count", 0, 1 << 10, 0);
  if (c.n_routed_experts > 0) {
    c.moe_intermediate_size = k.Int("expert_feed_forward_length", 1, 1 << 22);
    c.num_experts_per_tok = k.Int("expert_used_count", 1, c.n_routed_experts);
  }
  c.first_k_dense_replace = k.Int("leading_dense_block_count", 0, c.num_hidden_layers, 0);
  c.n_group = k.Int("expert_group_count", 1, 256, 1);
  c.topk_group = k.Int("expert_group_used_count", 1, c.n_group, 1);
  const int64_t gating = k.Int("expert_gating_func", 0, 2, 1);  // llama.cpp: 0 none (softmax), 1 softmax, 2 sigmoid
  c.scoring_func = gating == 2 ? "sigmoid" : "softmax";
  c.norm_topk_prob = k.Bool("expert_weights_norm", false);
  c.routed_scaling_factor = k.Float("expert_weights_scale", 1.0);
  const bool has_bias = f.FindTensor("blk." + std::to_string(c.first_k_dense_replace) + ".exp_probs_b.bias") != nullptr;
  c.topk_method = has_bias ? "noaux_tc" : c.n_group > 1 ? "group_limited_greedy" : "greedy";
  if (c.n_routed_experts > 0) {
    if (c.n_routed_experts % c.n_group != 0) k.Fail("expert_group_count", "must divide expert_count");
    if (c.n_group > 1 && c.topk_group * (c.n_routed_experts / c.n_group) < c.num_experts_per_tok)
      k.Fail("expert_group_used_count", "kept groups hold fewer experts than expert_used_count");
  }
  c.rms_norm_eps = k.Float("attention.layer_norm_rms_epsilon", 1e-6, true);
  if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1)) k.Fail("attention.layer_norm_rms_epsilon", "must be in (0, 1)");
  c.rope_theta = k.Float("rope.freq_base", 10000.0);
  if (!(c.rope_theta > 0)) k.Fail("rope.freq_base", "must be positive");
  c.max_position_embeddings = ContextLength(k);
  if (auto type = f.GetString(k.Full("rope.scaling.type")); type && *type != "none") {
    if (*type != "yarn") k.Fail("rope.scaling.type", "unsupported rope scaling '" + *type + "' (yarn)");
    c.yarn.enabled = true;
    c.yarn.factor = k.Float("rope.scaling.factor", 0.0, true);
    if (c.yarn.factor < 1.0) k.Fail("rope.scaling.factor", "must be >= 1");
    c.yarn.original_max_position_embeddings = k.Int("rope.scaling.original_context_length", 1, int64_t{1} << 32);
    c.yarn.beta_fast = k.Float("rope.scaling.yarn_beta_fast", 32.0);
    c.yarn.beta_slow = k.Float("rope.scaling.yarn_beta_slow", 1.0);
    if (!(c.yarn.beta_slow > 0 && c.yarn.beta_fast > c.yarn.beta_slow))
      k.Fail("rope.scaling.yarn_beta_fast", "must exceed yarn_beta_slow, and both must be positive");
    // The key stores 0.1 * mscale_all_dim. llama.cpp leaves cos/sin unscaled
    // (mscale == mscale_all_dim) and puts mscale^2 into the softmax scale.
    c.yarn.mscale_all_dim = k.Float("rope.scaling.yarn_log_multiplier", 0.0) / 0.1;
    c.yarn.mscale = c.yarn.mscale_all_dim;
  }
  c.tie_word_embeddings = f.FindTensor("output.weight") == nullptr;
  c.bos_token_id = TokenIdOf(f, "tokenizer.ggml.bos_token_id");
  c.eos_token_id = TokenIdOf(f, "tokenizer.ggml.eos_token_id");
  return c;
}

ModelFacts FactsFromGguf(const GgufFile& f) {
  const std::string arch = GgufArchitecture(f);
  if (arch == "deepseek2") return DeepseekFacts(DeepseekConfigFromGguf(f));
  if (arch == "qwen2" || arch == "llama") return DenseGqaFacts(DenseGqaConfigFromGguf(f));
  throw Error(f.path(), "general.architecture", "unsupported GGUF architecture '" + arch + "' (deepseek2, llama, qwen2)");
}

std::unique_ptr<Model> LoadGgufModel(const std::string& path, Backend& backend, const ModelOptions& options) {
  std::error_code size_ec;
  const auto file_bytes = std::filesystem::file_size(path, size_ec);
  const std::string cache = options.repack_weights && options.repack_cache ? PreparedWeightSource::CachePathFor(path) : "";
  const bool cached = !cache.empty() && PreparedWeightSource::CacheMatches(cache, path, backend);
  // With a usable repack cache most of the file is never read: no populate.
  std::unique_ptr<GgufFile> f = GgufFile::Open(path, !cached && !size_ec && FitsInRam(file_bytes));
  const std::string arch = GgufArchitecture(*f);
  PreparedWeightSource* prepared = nullptr;
  auto source = [&](std::unique_ptr<WeightSource> s) -> std::unique_ptr<WeightSource> {
    if (!options.repack_weights) return s;
    auto p = std::make_unique<PreparedWeightSource>(std::move(s), backend, cache, path);
    prepared = p.get();
    return p;
  };
  std::unique_ptr<Model> model;
  if (arch == "deepseek2") {
    DeepseekConfig c = DeepseekConfigFromGguf(*f);
    model = MakeDeepseekV2(c, source(std::make_unique<GgufWeightSource>(std::move(f), GgufSourceOptions{})), backend,
                           options);
  } else if (arch == "qwen2" || arch == "llama") {
    DenseGqaConfig c = DenseGqaConfigFromGguf(*f);
    GgufSourceOptions so;
    // llama.cpp permutes Llama q/k for its adjacent-pair RoPE; Qwen2 (NeoX RoPE) is stored as in HF.
    so.unpermute_llama_qk = arch == "llama";
    so.n_head = c.num_attention_heads;
    so.n_head_kv = c.num_key_value_heads;
    model = MakeDenseGqa(c, source(std::make_unique<GgufWeightSource>(std::move(f), so)), backend, options);
  } else {
    throw Error(path, "general.architecture", "unsupported GGUF architecture '" + arch + "' (deepseek2, llama, qwen2)");
  }
  // The model owns the source; it outlives this call.
  if (prepared && !cache.empty() && !prepared->from_cache()) {
    try {
      prepared->WriteCache();
    } catch (const Error& e) {
      std::fprintf(stderr, "dseek: repack cache not written: %s\n", e.what());
    }
  }
  return model;
}

}  // namespace dseek
