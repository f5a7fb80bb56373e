#include "model/synth.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/numeric.h"
#include "format/json_config.h"
#include "format/safetensors.h"
#include "model/deepseek_config.h"
#include "model/dense_gqa_model.h"
#include "model/registry.h"

namespace dseek {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

enum class Kind { kLinear, kNorm, kEmbed, kBias };

struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  Kind kind;
};

// Every tensor of a DeepSeek-V2/V3 checkpoint, in HF order.
std::vector<Spec> DeepseekSpecs(const DeepseekConfig& c) {
  std::vector<Spec> s;
  const int64_t D = c.hidden_size, H = c.num_attention_heads;
  s.push_back({"model.embed_tokens.weight", {c.vocab_size, D}, Kind::kEmbed});
  auto mlp = [&](const std::string& p, int64_t inter) {
    s.push_back({p + "gate_proj.weight", {inter, D}, Kind::kLinear});
    s.push_back({p + "up_proj.weight", {inter, D}, Kind::kLinear});
    s.push_back({p + "down_proj.weight", {D, inter}, Kind::kLinear});
  };
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    s.push_back({p + "input_layernorm.weight", {D}, Kind::kNorm});
    s.push_back({p + "post_attention_layernorm.weight", {D}, Kind::kNorm});
    if (c.q_lora_rank > 0) {
      s.push_back({p + "self_attn.q_a_proj.weight", {c.q_lora_rank, D}, Kind::kLinear});
      s.push_back({p + "self_attn.q_a_layernorm.weight", {c.q_lora_rank}, Kind::kNorm});
      s.push_back({p + "self_attn.q_b_proj.weight", {H * c.qk_head_dim(), c.q_lora_rank}, Kind::kLinear});
    } else {
      s.push_back({p + "self_attn.q_proj.weight", {H * c.qk_head_dim(), D}, Kind::kLinear});
    }
    s.push_back({p + "self_attn.kv_a_proj_with_mqa.weight", {c.kv_lora_rank + c.qk_rope_head_dim, D}, Kind::kLinear});
    s.push_back({p + "self_attn.kv_a_layernorm.weight", {c.kv_lora_rank}, Kind::kNorm});
    s.push_back({p + "self_attn.kv_b_proj.weight", {H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank}, Kind::kLinear});
    s.push_back({p + "self_attn.o_proj.weight", {D, H * c.v_head_dim}, Kind::kLinear});
    if (!c.IsMoeLayer(i)) {
      mlp(p + "mlp.", c.intermediate_size);
      continue;
    }
    s.push_back({p + "mlp.gate.weight", {c.n_routed_experts, D}, Kind::kEmbed});
    if (c.topk_method == "noaux_tc") s.push_back({p + "mlp.gate.e_score_correction_bias", {c.n_routed_experts}, Kind::kBias});
    for (int64_t e = 0; e < c.n_routed_experts; ++e) mlp(p + "mlp.experts." + std::to_string(e) + ".", c.moe_intermediate_size);
    if (c.n_shared_experts > 0) mlp(p + "mlp.shared_experts.", c.n_shared_experts * c.moe_intermediate_size);
  }
  s.push_back({"model.norm.weight", {D}, Kind::kNorm});
  if (!c.tie_word_embeddings) s.push_back({"lm_head.weight", {c.vocab_size, D}, Kind::kLinear});
  return s;
}

// Every tensor of a Llama / Qwen2 checkpoint, in HF order.
std::vector<Spec> DenseGqaSpecs(const JsonConfig& j, bool qkv_bias) {
  DenseGqaConfig c = DenseGqaConfig::FromJson(j);
  std::vector<Spec> s;
  const int64_t D = c.hidden_size, H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim;
  s.push_back({"model.embed_tokens.weight", {c.vocab_size, D}, Kind::kEmbed});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    s.push_back({p + "input_layernorm.weight", {D}, Kind::kNorm});
    s.push_back({p + "self_attn.q_proj.weight", {H * hd, D}, Kind::kLinear});
    if (qkv_bias) s.push_back({p + "self_attn.q_proj.bias", {H * hd}, Kind::kBias});
    s.push_back({p + "self_attn.k_proj.weight", {KV * hd, D}, Kind::kLinear});
    if (qkv_bias) s.push_back({p + "self_attn.k_proj.bias", {KV * hd}, Kind::kBias});
    s.push_back({p + "self_attn.v_proj.weight", {KV * hd, D}, Kind::kLinear});
    if (qkv_bias) s.push_back({p + "self_attn.v_proj.bias", {KV * hd}, Kind::kBias});
    s.push_back({p + "self_attn.o_proj.weight", {D, H * hd}, Kind::kLinear});
    s.push_back({p + "post_attention_layernorm.weight", {D}, Kind::kNorm});
    s.push_back({p + "mlp.gate_proj.weight", {c.intermediate_size, D}, Kind::kLinear});
    s.push_back({p + "mlp.up_proj.weight", {c.intermediate_size, D}, Kind::kLinear});
    s.push_back({p + "mlp.down_proj.weight", {D, c.intermediate_size}, Kind::kLinear});
  }
  s.push_back({"model.norm.weight", {D}, Kind::kNorm});
  if (!c.tie_word_embeddings) s.push_back({"lm_head.weight", {c.vocab_size, D}, Kind::kLinear});
  return s;
}

// SplitMix64: tiny, fast, and the same on every platform.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

// Uniform(-1, 1) quantised to FP8 e4m3 at full scale (448): a random draw is
// one table lookup, which keeps a 16 GB checkpoint quick to write.
std::vector<uint8_t> Fp8UniformTable() {
  std::vector<uint8_t> t(65536);
  for (int i = 0; i < 65536; ++i) t[i] = F32ToFp8E4M3((static_cast<float>(i) / 65535.0f * 2.0f - 1.0f) * 448.0f);
  return t;
}

const char* kPresetV2Lite = R"({
  "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
  "vocab_size": 102400, "hidden_size": 2048, "intermediate_size": 10944, "moe_intermediate_size": 1408,
  "num_hidden_layers": 27, "num_attention_heads": 16, "num_key_value_heads": 16,
  "q_lora_rank": null, "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
  "n_routed_experts": 64, "n_shared_experts": 2, "num_experts_per_tok": 6, "first_k_dense_replace": 1,
  "moe_layer_freq": 1, "n_group": 1, "topk_group": 1, "topk_method": "greedy", "scoring_func": "softmax",
  "norm_topk_prob": false, "routed_scaling_factor": 1.0, "aux_loss_alpha": 0.001, "seq_aux": true,
  "hidden_act": "silu", "attention_bias": false, "attention_dropout": 0.0, "rms_norm_eps": 1e-06,
  "rope_theta": 10000, "max_position_embeddings": 163840,
  "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32,
                   "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707},
  "bos_token_id": 100000, "eos_token_id": 100001, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "use_cache": true
})";

const char* kPresetV3 = R"({
  "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
  "vocab_size": 129280, "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048,
  "num_hidden_layers": 61, "num_attention_heads": 128, "num_key_value_heads": 128,
  "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
  "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8, "first_k_dense_replace": 3,
  "moe_layer_freq": 1, "n_group": 8, "topk_group": 4, "topk_method": "noaux_tc", "scoring_func": "sigmoid",
  "norm_topk_prob": true, "routed_scaling_factor": 2.5, "num_nextn_predict_layers": 1,
  "hidden_act": "silu", "attention_bias": false, "attention_dropout": 0.0, "rms_norm_eps": 1e-06,
  "rope_theta": 10000, "max_position_embeddings": 163840,
  "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32,
                   "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
  "bos_token_id": 0, "eos_token_id": 1, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "use_cache": true
})";

// A small but non-toy shape: hidden 1024, 64 routed experts, q LoRA on.
const char* kPresetSmall = R"({
  "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
  "vocab_size": 4096, "hidden_size": 1024, "intermediate_size": 2048, "moe_intermediate_size": 256,
  "num_hidden_layers": 3, "num_attention_heads": 8, "num_key_value_heads": 8,
  "q_lora_rank": 384, "kv_lora_rank": 256, "qk_nope_head_dim": 64, "qk_rope_head_dim": 32, "v_head_dim": 64,
  "n_routed_experts": 64, "n_shared_experts": 1, "num_experts_per_tok": 6, "first_k_dense_replace": 1,
  "moe_layer_freq": 1, "n_group": 8, "topk_group": 4, "topk_method": "noaux_tc", "scoring_func": "sigmoid",
  "norm_topk_prob": true, "routed_scaling_factor": 2.5, "num_nextn_predict_layers": 0,
  "hidden_act": "silu", "attention_bias": false, "rms_norm_eps": 1e-06,
  "rope_theta": 10000, "max_position_embeddings": 16384,
  "rope_scaling": {"type": "yarn", "factor": 4, "original_max_position_embeddings": 4096, "beta_fast": 32,
                   "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
  "bos_token_id": 0, "eos_token_id": 1, "tie_word_embeddings": false, "torch_dtype": "bfloat16"
})";

// The vocabulary of the real DeepSeek-V3 tokenizer on a small body: the
// default model of `make demo` and the chat tests (random weights).
const char* kPresetDemo = R"({
  "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
  "vocab_size": 129280, "hidden_size": 256, "intermediate_size": 512, "moe_intermediate_size": 128,
  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
  "q_lora_rank": 128, "kv_lora_rank": 128, "qk_nope_head_dim": 32, "qk_rope_head_dim": 32, "v_head_dim": 32,
  "n_routed_experts": 16, "n_shared_experts": 1, "num_experts_per_tok": 4, "first_k_dense_replace": 1,
  "moe_layer_freq": 1, "n_group": 4, "topk_group": 2, "topk_method": "noaux_tc", "scoring_func": "sigmoid",
  "norm_topk_prob": true, "routed_scaling_factor": 2.5, "num_nextn_predict_layers": 0,
  "hidden_act": "silu", "attention_bias": false, "rms_norm_eps": 1e-06,
  "rope_theta": 10000, "max_position_embeddings": 163840,
  "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32,
                   "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
  "bos_token_id": 0, "eos_token_id": 1, "tie_word_embeddings": false, "torch_dtype": "bfloat16"
})";

// R1-Distill-Qwen-1.5B's shape (Qwen2.5-Math-1.5B body).
const char* kPresetQwen15b = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "vocab_size": 151936, "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
  "num_attention_heads": 12, "num_key_value_heads": 2, "max_position_embeddings": 131072,
  "rms_norm_eps": 1e-06, "rope_theta": 10000, "tie_word_embeddings": false, "use_sliding_window": false,
  "sliding_window": 4096, "hidden_act": "silu", "bos_token_id": 151643, "eos_token_id": 151643,
  "torch_dtype": "bfloat16"
})";

// Small Qwen2 and Llama shapes for parity tests (GQA 2:1, biases, Llama 3 rope scaling).
const char* kPresetQwen2Tiny = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "vocab_size": 384, "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 2048,
  "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "tie_word_embeddings": false, "use_sliding_window": false,
  "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"
})";

const char* kPresetLlamaTiny = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "vocab_size": 384, "hidden_size": 128, "intermediate_size": 320, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 131072,
  "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": true, "attention_bias": false,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 64, "rope_type": "llama3"},
  "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"
})";

}  // namespace

std::string PresetConfig(const std::string& name) {
  if (name == "deepseek-v2-lite") return kPresetV2Lite;
  if (name == "deepseek-v3") return kPresetV3;
  if (name == "deepseek-small") return kPresetSmall;
  if (name == "deepseek-demo") return kPresetDemo;
  if (name == "r1-distill-qwen-1.5b") return kPresetQwen15b;
  if (name == "qwen2-tiny") return kPresetQwen2Tiny;
  if (name == "llama-tiny") return kPresetLlamaTiny;
  throw Error("", "--config", "unknown preset '" + name +
                                  "' (deepseek-v2-lite, deepseek-v3, deepseek-small, deepseek-demo, r1-distill-qwen-1.5b, qwen2-tiny, llama-tiny, or a config.json path)");
}

int64_t WriteSyntheticCheckpoint(const SynthOptions& opt, Backend& backend,
                                 const std::function<void(int64_t, int64_t)>& progress) {
  if (opt.dtype != "bf16" && opt.dtype != "fp8") throw Error("", "--dtype", "must be bf16 or fp8, got '" + opt.dtype + "'");
  std::string text = fs::exists(opt.config) ? ReadTextFile(opt.config) : PresetConfig(opt.config);
  JsonConfig parsed = JsonConfig::FromString(text, opt.config);
  Json j = parsed.data();
  if (opt.layers > 0) {
    j["num_hidden_layers"] = opt.layers;
    if (j.contains("first_k_dense_replace") && j["first_k_dense_replace"].is_number_integer() &&
        j["first_k_dense_replace"].get<int64_t>() > opt.layers)
      j["first_k_dense_replace"] = opt.layers;
  }
  if (j.contains("num_nextn_predict_layers")) j["num_nextn_predict_layers"] = 0;  // MTP layers are not generated
  j["dseek_synthetic"] = true;        // so front ends can say the weights are random
  const bool fp8 = opt.dtype == "fp8";
  if (fp8) {
    j["quantization_config"] = {{"activation_scheme", "dynamic"}, {"fmt", "e4m3"}, {"quant_method", "fp8"},
                                {"weight_block_size", {128, 128}}};
  } else {
    j.erase("quantization_config");
  }
  JsonConfig final_cfg = JsonConfig::FromString(j.dump(), opt.config);
  const std::string arch = ArchitectureOf(final_cfg);
  FactsFromConfig(final_cfg);  // rejects unsupported architectures and values
  std::vector<Spec> specs;
  if (arch == "LlamaForCausalLM" || arch == "Qwen2ForCausalLM") {
    if (fp8) throw Error("", "--dtype", "fp8 checkpoints are a DeepSeek-V3 format; use bf16 for " + arch);
    specs = DenseGqaSpecs(final_cfg, arch == "Qwen2ForCausalLM" || j.value("attention_bias", false));
  } else {
    specs = DeepseekSpecs(DeepseekConfig::FromJson(final_cfg));
  }

  fs::create_directories(opt.out_dir);
  {
    std::ofstream cf(fs::path(opt.out_dir) / "config.json");
    cf << j.dump(2) << "\n";
    if (!cf) throw Error(opt.out_dir, "config.json", "write failed");
  }

  auto stored_bytes = [&](const Spec& s) {
    int64_t n = 1;
    for (int64_t d : s.shape) n *= d;
    if (s.kind == Kind::kBias) return n * 4;
    return n * ((fp8 && s.kind == Kind::kLinear) ? 1 : 2);
  };
  int64_t total = 0;
  for (const auto& s : specs) total += stored_bytes(s);

  // Group tensors into shards by size.
  std::vector<std::vector<size_t>> shards(1);
  int64_t cur = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    int64_t b = stored_bytes(specs[i]);
    if (cur > 0 && cur + b > opt.shard_bytes) {
      shards.emplace_back();
      cur = 0;
    }
    shards.back().push_back(i);
    cur += b;
  }
  const std::vector<uint8_t> fp8_table = Fp8UniformTable();
  Json weight_map = Json::object();
  int64_t done = 0, written = 0;
  const size_t n_shards = shards.size();
  for (size_t si = 0; si < n_shards; ++si) {
    char fname[64];
    if (n_shards == 1) {
      std::snprintf(fname, sizeof fname, "model.safetensors");
    } else {
      std::snprintf(fname, sizeof fname, "model-%05zu-of-%05zu.safetensors", si + 1, n_shards);
    }
    std::vector<SafetensorsWriteEntry> entries;
    for (size_t idx : shards[si]) {
      const Spec& s = specs[idx];
      int64_t n = 1;
      for (int64_t d : s.shape) n *= d;
      const int64_t cols = s.shape.back(), rows = n / cols;
      // Linear weights ~ U(-a, a) with a = sqrt(3 / fan_in): activations keep unit scale.
      const float a = s.kind == Kind::kLinear ? std::sqrt(3.0f / static_cast<float>(cols)) : 1.0f;
      const uint64_t tseed = opt.seed * 0x100000001b3ull + idx * 0x9e3779b97f4a7c15ull;
      SafetensorsWriteEntry e;
      e.name = s.name;
      e.shape = s.shape;
      if (s.kind == Kind::kBias) {
        e.dtype = DType::kF32;
        e.bytes.resize(n * 4);
        Rng r{tseed};
        for (int64_t i = 0; i < n; ++i) {
          float v = static_cast<float>(r.Next() >> 40) / 16777216.0f * 0.1f;  // small, positive
          std::memcpy(e.bytes.data() + 4 * i, &v, 4);
        }
      } else if (s.kind == Kind::kNorm) {
        e.dtype = DType::kBF16;
        e.bytes.resize(n * 2);
        Rng r{tseed};
        for (int64_t i = 0; i < n; ++i) {
          uint16_t v = F32ToBf16(1.0f + (static_cast<float>(r.Next() >> 40) / 16777216.0f - 0.5f) * 0.2f);
          std::memcpy(e.bytes.data() + 2 * i, &v, 2);
        }
      } else if (fp8 && s.kind == Kind::kLinear) {
        e.dtype = DType::kF8E4M3;
        e.bytes.resize(n);
        // Rows split into chunks, each with its own stream: the bytes do not
        // depend on the thread count.
        backend.ParallelFor(rows, 64, [&](size_t r0, size_t r1) {
          for (size_t r = r0; r < r1; ++r) {
            Rng rng{tseed ^ (r * 0xd1b54a32d192ed03ull)};
            uint8_t* out = e.bytes.data() + r * cols;
            for (int64_t c2 = 0; c2 < cols; c2 += 4) {
              uint64_t bits = rng.Next();
              for (int k = 0; k < 4 && c2 + k < cols; ++k) out[c2 + k] = fp8_table[(bits >> (16 * k)) & 0xffff];
            }
          }
        });
        const int64_t sr = (rows + 127) / 128, sc = (cols + 127) / 128;
        SafetensorsWriteEntry se;
        se.name = s.name + "_scale_inv";
        se.dtype = DType::kF32;
        se.shape = {sr, sc};
        se.bytes.resize(sr * sc * 4);
        const float scale = a / 448.0f;
        for (int64_t i = 0; i < sr * sc; ++i) std::memcpy(se.bytes.data() + 4 * i, &scale, 4);
        entries.push_back(std::move(e));
        weight_map[se.name] = fname;
        entries.push_back(std::move(se));
        weight_map[s.name] = fname;
        done += n;
        if (progress) progress(done, total);
        continue;
      } else {
        e.dtype = DType::kBF16;
        e.bytes.resize(n * 2);
        backend.ParallelFor(rows, 64, [&](size_t r0, size_t r1) {
          for (size_t r = r0; r < r1; ++r) {
            Rng rng{tseed ^ (r * 0xd1b54a32d192ed03ull)};
            uint8_t* out = e.bytes.data() + r * cols * 2;
            for (int64_t c2 = 0; c2 < cols; ++c2) {
              float u = static_cast<float>(rng.Next() >> 40) / 16777216.0f * 2.0f - 1.0f;
              uint16_t v = F32ToBf16(u * a);
              std::memcpy(out + 2 * c2, &v, 2);
            }
          }
        });
      }
      done += static_cast<int64_t>(e.bytes.size());
      weight_map[s.name] = fname;
      entries.push_back(std::move(e));
      if (progress) progress(done, total);
    }
    std::string path = (fs::path(opt.out_dir) / fname).string();
    WriteSafetensors(path, entries, {{"format", "pt"}});
    written += static_cast<int64_t>(fs::file_size(path));
  }
  if (!opt.tokenizer_dir.empty()) {
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
      fs::path src = fs::path(opt.tokenizer_dir) / f;
      if (!fs::exists(src)) {
        if (std::string(f) == "tokenizer.json") throw Error(opt.tokenizer_dir, f, "no tokenizer.json to copy");
        continue;
      }
      fs::copy_file(src, fs::path(opt.out_dir) / f, fs::copy_options::overwrite_existing);
    }
  }
  if (n_shards > 1) {
    int64_t total_size = 0;
    for (const auto& s : specs) total_size += stored_bytes(s);
    Json index = {{"metadata", {{"total_size", total_size}}}, {"weight_map", weight_map}};
    std::ofstream f(fs::path(opt.out_dir) / "model.safetensors.index.json");
    f << index.dump(2) << "\n";
    if (!f) throw Error(opt.out_dir, "model.safetensors.index.json", "write failed");
  } else {
    std::error_code ec;
    fs::remove(fs::path(opt.out_dir) / "model.safetensors.index.json", ec);
  }
  return written;
}

}  // namespace dseek
