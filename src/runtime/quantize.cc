// The GGUF side follows llama.cpp: names from convert_hf_to_gguf.py (the
// table in model/gguf_weight_source.cc, used here in reverse), metadata keys
// from src/llama-arch.cpp, type choices from src/llama-quant.cpp
// (llama_tensor_get_type), the vocabulary from gguf-py's SpecialVocab /
// convert_hf_to_gguf.py get_vocab_base. DeepSeek MLA is written in the form
// current llama.cpp converts to: only the split attn_k_b / attn_v_b (llama.cpp
// refuses a file that also holds attn_kv_b; dseek multiplies the split pair in
// absorbed attention and rebuilds kv_b from it for the naive form).
#include "runtime/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/ggml_types.h"
#include "base/numeric.h"
#include "base/thread_pool.h"
#include "format/gguf.h"
#include "format/json_config.h"
#include "format/safetensors.h"
#include "kernels/ref/quant_ref.h"
#include "kernels/ref/ref_ops.h"
#include "model/deepseek_config.h"
#include "model/dense_gqa_model.h"
#include "model/gguf_weight_source.h"
#include "model/layers/rope_yarn.h"
#include "model/registry.h"
#include "runtime/quantize_vocab.h"
#include "tensor/weight_store.h"

namespace dseek {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// One tensor of the output: its name, type, ggml dims, and how to read row r
// (of the [rows, cols] view) as float32. Row readers must be thread-safe.
struct Job {
  std::string name;     // GGUF name
  std::string match;    // the name --keep-bf16 globs are matched against
  GgmlType type = GgmlType::kF32;
  std::vector<int64_t> dims;
  int64_t rows = 1, cols = 1;
  std::function<void(int64_t, float*)> row;
  // When the source already holds exactly the target bytes (same type, same
  // layout), they are copied instead of requantized.
  const uint8_t* raw = nullptr;
  GgmlType raw_type = GgmlType::kF32;
  // Optional setup before the rows are read (and teardown after).
  std::function<void()> prepare, release;
};

struct Plan {
  GgmlType base;
  uint32_t file_type;  // llama_ftype
};

Plan PlanFor(const std::string& type) {
  if (type == "q8_0") return {GgmlType::kQ8_0, 7};
  if (type == "q4_0") return {GgmlType::kQ4_0, 2};
  if (type == "q4_k") return {GgmlType::kQ4_K, 14};  // LLAMA_FTYPE_MOSTLY_Q4_K_S: every matrix Q4_K
  if (type == "q6_k") return {GgmlType::kQ6_K, 18};
  throw Error("", "--type", "unknown type '" + type + "' (q8_0, q4_0, q4_k, q6_k, fp8)");
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// llama.cpp's fallback when the row does not fit the type's blocks.
GgmlType Fit(GgmlType t, int64_t cols) {
  while (cols % GgmlBlockSize(t) != 0) {
    switch (t) {
      case GgmlType::kQ4_K: t = GgmlType::kQ5_0; break;
      case GgmlType::kQ6_K: t = GgmlType::kQ8_0; break;
      case GgmlType::kQ5_0: case GgmlType::kQ4_0: case GgmlType::kQ8_0: t = GgmlType::kF16; break;
      default: return GgmlType::kF16;
    }
  }
  return t;
}

GgmlType ChooseType(const Job& j, const Plan& plan, const QuantizeOptions& opt) {
  if (j.dims.size() <= 1) return GgmlType::kF32;  // norms, biases, e_score_correction_bias
  for (const std::string& p : opt.keep_bf16)
    if (GlobMatch(p, j.match) || GlobMatch(p, j.name)) return GgmlType::kBF16;
  if (EndsWith(j.name, "ffn_gate_inp.weight")) return GgmlType::kF32;  // the router: llama.cpp never quantizes it
  if (j.name == "output.weight") return Fit(plan.base == GgmlType::kQ8_0 ? GgmlType::kQ8_0 : GgmlType::kQ6_K, j.cols);
  return Fit(plan.base, j.cols);
}

std::string TypeLabel(GgmlType t) { return std::string(GgmlTypeName(t)); }

// ---------------------------------------------------------------- jobs from a HF folder

// Splits "model.layers.N.rest"; false for other names.
bool SplitLayer(const std::string& hf, int64_t* layer, std::string* rest) {
  static const std::string kPrefix = "model.layers.";
  if (hf.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  size_t dot = hf.find('.', kPrefix.size());
  if (dot == std::string::npos || dot == kPrefix.size()) return false;
  const std::string num = hf.substr(kPrefix.size(), dot - kPrefix.size());
  for (char ch : num)
    if (ch < '0' || ch > '9') return false;
  *layer = std::stoll(num);
  *rest = hf.substr(dot + 1);
  return true;
}

// Output order: embeddings, layers by number, final norm, head.
std::pair<int64_t, std::string> OrderKey(const std::string& hf) {
  int64_t layer;
  std::string rest;
  if (hf == "model.embed_tokens.weight") return {-1, hf};
  if (SplitLayer(hf, &layer, &rest)) return {layer, rest};
  return {int64_t{1} << 40, hf};
}

std::vector<int64_t> Reversed(std::vector<int64_t> v) {
  std::reverse(v.begin(), v.end());
  return v;
}

struct HfModel {
  std::string arch;  // config architectures[0]
  Json config;
  bool deepseek = false, llama = false;
  DeepseekConfig ds;
  DenseGqaConfig dense;
  int64_t n_layers = 0, vocab = 0;
};

HfModel ReadHfModel(const std::string& dir) {
  HfModel m;
  JsonConfig cfg = JsonConfig::FromFile((fs::path(dir) / "config.json").string());
  m.config = cfg.data();
  m.arch = ArchitectureOf(cfg);
  FactsFromConfig(cfg);  // rejects unsupported architectures and values
  if (m.arch == "DeepseekV2ForCausalLM" || m.arch == "DeepseekV3ForCausalLM") {
    m.deepseek = true;
    m.ds = DeepseekConfig::FromJson(cfg);
    if (m.ds.moe_layer_freq != 1)
      throw Error(cfg.origin(), "moe_layer_freq", "GGUF (llama.cpp deepseek2) has no key for moe_layer_freq != 1");
    m.n_layers = m.ds.num_hidden_layers;
    m.vocab = m.ds.vocab_size;
  } else {
    m.dense = DenseGqaConfig::FromJson(cfg);
    m.llama = m.arch == "LlamaForCausalLM";
    m.n_layers = m.dense.num_hidden_layers;
    m.vocab = m.dense.vocab_size;
  }
  return m;
}

std::function<void(int64_t, float*)> MatrixRows(Matrix m) {
  return [m](int64_t r, float* out) { ref::DequantizeRow(m, r, out); };
}

std::vector<Job> HfJobs(const WeightStore& ws, const HfModel& m, std::vector<std::string>* warnings) {
  std::vector<std::string> names;
  for (const std::string& n : ws.TensorNames())
    if (!EndsWith(n, "_scale_inv")) names.push_back(n);
  std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return OrderKey(a) < OrderKey(b); });

  auto matrix = [&](const std::string& n) {
    TensorView v = ws.Get(n);
    if (v.shape.size() != 2) throw Error(ws.dir(), n, "expected a 2-D tensor, got " + ShapeString(v.shape));
    return ws.GetMatrix(n, v.shape[0], v.shape[1]);
  };
  auto raw_of = [&](Job& j, const TensorView& v) {
    if (v.dtype == DType::kF32 || v.dtype == DType::kF16 || v.dtype == DType::kBF16) {
      j.raw = v.data;
      j.raw_type = v.dtype == DType::kF32 ? GgmlType::kF32 : v.dtype == DType::kF16 ? GgmlType::kF16 : GgmlType::kBF16;
    }
  };

  std::vector<Job> jobs;
  std::map<std::string, size_t> experts;  // stacked GGUF name -> job index
  for (const std::string& n : names) {
    int64_t layer = -1, expert = -1;
    std::string rest;
    if (SplitLayer(n, &layer, &rest) && layer >= m.n_layers) continue;  // MTP layers: llama.cpp skips them too
    const std::string g = GgufWeightSource::GgufName(n, &expert);
    if (g.empty()) {
      warnings->push_back("skipped " + n + " (no GGUF counterpart)");
      continue;
    }
    const TensorView v = ws.Get(n);
    if (expert >= 0) {
      auto it = experts.find(g);
      if (it == experts.end()) {
        const int64_t E = m.ds.n_routed_experts;
        if (v.shape.size() != 2 || E <= 0) throw Error(ws.dir(), n, "unexpected expert tensor");
        const int64_t rows = v.shape[0], cols = v.shape[1];
        const std::string prefix = n.substr(0, n.find("mlp.experts.")) + "mlp.experts.";
        const std::string suffix = rest.substr(rest.find('.', std::string("mlp.experts.").size()));
        auto mats = std::make_shared<std::vector<Matrix>>();
        for (int64_t e = 0; e < E; ++e) {
          const std::string en = prefix + std::to_string(e) + suffix;
          if (!ws.Has(en)) throw Error(ws.dir(), en, "missing expert tensor");
          mats->push_back(ws.GetMatrix(en, rows, cols));
        }
        Job j;
        j.name = g;
        j.match = n;
        j.dims = {cols, rows, E};
        j.rows = rows * E;
        j.cols = cols;
        j.row = [mats, rows](int64_t r, float* out) { ref::DequantizeRow((*mats)[r / rows], r % rows, out); };
        experts[g] = jobs.size();
        jobs.push_back(std::move(j));
      }
      continue;
    }
    Job j;
    j.name = g;
    j.match = n;
    j.dims = Reversed(v.shape);
    if (v.shape.size() == 1) {
      const float* p = ws.GetVectorF32(n, v.shape[0]);
      j.cols = v.shape[0];
      j.row = [p, c = j.cols](int64_t, float* out) { std::memcpy(out, p, sizeof(float) * c); };
      jobs.push_back(std::move(j));
      continue;
    }
    Matrix mat = matrix(n);
    j.rows = mat.rows;
    j.cols = mat.cols;
    j.row = MatrixRows(mat);
    raw_of(j, v);
    const bool q = rest == "self_attn.q_proj.weight", k = rest == "self_attn.k_proj.weight";
    if (m.llama && (q || k)) {
      // convert_hf_to_gguf.py LlamaModel.permute: GGUF row h*hd + 2i + j holds HF row h*hd + j*hd/2 + i.
      const int64_t heads = q ? m.dense.num_attention_heads : m.dense.num_key_value_heads;
      const int64_t hd = mat.rows / heads, half = hd / 2;
      j.raw = nullptr;
      j.row = [mat, hd, half](int64_t r, float* out) {
        const int64_t h = r / hd, rem = r % hd;
        ref::DequantizeRow(mat, h * hd + (rem % 2) * half + rem / 2, out);
      };
    }
    const bool kv_b = m.deepseek && rest == "self_attn.kv_b_proj.weight";
    if (!kv_b) {
      jobs.push_back(std::move(j));
      continue;
    }
    // attn_k_b: ggml [nope, R, H] (per head the transposed k part); attn_v_b: ggml [R, v, H].
    const int64_t H = m.ds.num_attention_heads, nope = m.ds.qk_nope_head_dim, vd = m.ds.v_head_dim, R = mat.cols;
    const std::string blk = "blk." + std::to_string(layer) + ".";
    auto dense = std::make_shared<std::vector<float>>();
    Job kb;
    kb.name = blk + "attn_k_b.weight";
    kb.match = n;
    kb.dims = {nope, R, H};
    kb.rows = R * H;
    kb.cols = nope;
    kb.prepare = [dense, mat] {
      dense->resize(static_cast<size_t>(mat.rows * mat.cols));
      for (int64_t r = 0; r < mat.rows; ++r) ref::DequantizeRow(mat, r, dense->data() + r * mat.cols);
    };
    kb.release = [dense] { std::vector<float>().swap(*dense); };
    kb.row = [dense, R, nope, vd](int64_t r, float* out) {
      const int64_t h = r / R, c = r % R;
      for (int64_t i = 0; i < nope; ++i) out[i] = (*dense)[(h * (nope + vd) + i) * R + c];
    };
    jobs.push_back(std::move(kb));
    Job vb;
    vb.name = blk + "attn_v_b.weight";
    vb.match = n;
    vb.dims = {R, vd, H};
    vb.rows = vd * H;
    vb.cols = R;
    vb.row = [mat, nope, vd](int64_t r, float* out) {
      const int64_t h = r / vd, i = r % vd;
      ref::DequantizeRow(mat, h * (nope + vd) + nope + i, out);
    };
    jobs.push_back(std::move(vb));
  }
  if (!m.deepseek && m.dense.rope.llama3) {
    // Llama 3 rope scaling travels in GGUF as one divisor per rotated pair,
    // as llama.cpp's converter writes it: base frequency / scaled frequency.
    RopeParams base = m.dense.rope;
    base.llama3 = false;
    auto factors = std::make_shared<std::vector<float>>();
    const RopeTable plain(base), scaled(m.dense.rope);
    for (size_t i = 0; i < plain.inv_freq().size(); ++i) factors->push_back(plain.inv_freq()[i] / scaled.inv_freq()[i]);
    Job j;
    j.name = j.match = "rope_freqs.weight";
    j.dims = {static_cast<int64_t>(factors->size())};
    j.rows = 1;
    j.cols = static_cast<int64_t>(factors->size());
    j.row = [factors](int64_t, float* out) { std::copy(factors->begin(), factors->end(), out); };
    jobs.insert(jobs.begin(), std::move(j));
  }
  return jobs;
}

// ---------------------------------------------------------------- metadata

void SetDeepseekMetadata(GgufWriter& w, const DeepseekConfig& c) {
  const std::string a = "deepseek2.";
  w.SetString("general.architecture", "deepseek2");
  w.SetU32(a + "vocab_size", static_cast<uint32_t>(c.vocab_size));
  w.SetU32(a + "context_length", static_cast<uint32_t>(std::min<int64_t>(c.max_position_embeddings, UINT32_MAX)));
  w.SetU32(a + "embedding_length", static_cast<uint32_t>(c.hidden_size));
  w.SetU32(a + "feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  w.SetU32(a + "block_count", static_cast<uint32_t>(c.num_hidden_layers));
  w.SetU32(a + "attention.head_count", static_cast<uint32_t>(c.num_attention_heads));
  // The latent-MQA view of current llama.cpp (one KV "head" of kv_lora + rope);
  // the per-head sizes go to the *_mla keys.
  w.SetU32(a + "attention.head_count_kv", 1);
  w.SetU32(a + "attention.key_length", static_cast<uint32_t>(c.kv_lora_rank + c.qk_rope_head_dim));
  w.SetU32(a + "attention.value_length", static_cast<uint32_t>(c.kv_lora_rank));
  w.SetU32(a + "attention.key_length_mla", static_cast<uint32_t>(c.qk_head_dim()));
  w.SetU32(a + "attention.value_length_mla", static_cast<uint32_t>(c.v_head_dim));
  w.SetF32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  if (c.q_lora_rank > 0) w.SetU32(a + "attention.q_lora_rank", static_cast<uint32_t>(c.q_lora_rank));
  w.SetU32(a + "attention.kv_lora_rank", static_cast<uint32_t>(c.kv_lora_rank));
  w.SetU32(a + "rope.dimension_count", static_cast<uint32_t>(c.qk_rope_head_dim));
  w.SetF32(a + "rope.freq_base", static_cast<float>(c.rope_theta));
  w.SetU32(a + "leading_dense_block_count", static_cast<uint32_t>(std::min(c.first_k_dense_replace, c.num_hidden_layers)));
  if (c.n_routed_experts > 0) {
    w.SetU32(a + "expert_feed_forward_length", static_cast<uint32_t>(c.moe_intermediate_size));
    w.SetU32(a + "expert_count", static_cast<uint32_t>(c.n_routed_experts));
    w.SetU32(a + "expert_shared_count", static_cast<uint32_t>(c.n_shared_experts));
    w.SetU32(a + "expert_used_count", static_cast<uint32_t>(c.num_experts_per_tok));
    w.SetF32(a + "expert_weights_scale", static_cast<float>(c.routed_scaling_factor));
    w.SetBool(a + "expert_weights_norm", c.norm_topk_prob);
    w.SetU32(a + "expert_gating_func", c.scoring_func == "sigmoid" ? 2 : 1);
    w.SetU32(a + "expert_group_count", static_cast<uint32_t>(c.n_group));
    w.SetU32(a + "expert_group_used_count", static_cast<uint32_t>(c.topk_group));
  }
  if (c.yarn.enabled) {
    w.SetString(a + "rope.scaling.type", "yarn");
    w.SetF32(a + "rope.scaling.factor", static_cast<float>(c.yarn.factor));
    w.SetU32(a + "rope.scaling.original_context_length", static_cast<uint32_t>(c.yarn.original_max_position_embeddings));
    w.SetF32(a + "rope.scaling.yarn_log_multiplier", static_cast<float>(0.1 * c.yarn.mscale_all_dim));
    w.SetF32(a + "rope.scaling.yarn_beta_fast", static_cast<float>(c.yarn.beta_fast));
    w.SetF32(a + "rope.scaling.yarn_beta_slow", static_cast<float>(c.yarn.beta_slow));
  }
}

void SetDenseMetadata(GgufWriter& w, const DenseGqaConfig& c, bool llama) {
  const std::string arch = llama ? "llama" : "qwen2", a = arch + ".";
  w.SetString("general.architecture", arch);
  w.SetU32(a + "vocab_size", static_cast<uint32_t>(c.vocab_size));
  w.SetU32(a + "context_length", static_cast<uint32_t>(std::min<int64_t>(c.max_position_embeddings, UINT32_MAX)));
  w.SetU32(a + "embedding_length", static_cast<uint32_t>(c.hidden_size));
  w.SetU32(a + "feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  w.SetU32(a + "block_count", static_cast<uint32_t>(c.num_hidden_layers));
  w.SetU32(a + "attention.head_count", static_cast<uint32_t>(c.num_attention_heads));
  w.SetU32(a + "attention.head_count_kv", static_cast<uint32_t>(c.num_key_value_heads));
  if (c.head_dim != c.hidden_size / c.num_attention_heads) {
    w.SetU32(a + "attention.key_length", static_cast<uint32_t>(c.head_dim));
    w.SetU32(a + "attention.value_length", static_cast<uint32_t>(c.head_dim));
  }
  w.SetU32(a + "rope.dimension_count", static_cast<uint32_t>(c.head_dim));
  w.SetF32(a + "rope.freq_base", static_cast<float>(c.rope.theta));
  w.SetF32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
}

// ---------------------------------------------------------------- the writer loop

class Runner {
 public:
  Runner(const QuantizeOptions& opt, const QuantizeProgress& progress) : pool_(opt.threads), progress_(progress) {}

  ThreadPool& pool() { return pool_; }

  // Writes `jobs` (types already chosen) with the metadata already in w.
  void WriteGguf(GgufWriter& w, std::vector<Job>& jobs, const std::string& out, QuantizeReport* rep) {
    int64_t total = 0;
    for (const Job& j : jobs) {
      w.AddTensorInfo(j.name, j.type, j.dims);
      total += j.rows * j.cols;
    }
    int64_t done = 0;
    w.WriteStreaming(out, [&](size_t i, const GgufWriter::Sink& sink) {
      Job& j = jobs[i];
      if (progress_) progress_(done, total, j.name);
      const int64_t row_bytes = GgmlRowBytes(j.type, j.cols);
      if (j.raw && j.raw_type == j.type) {
        sink(j.raw, static_cast<size_t>(row_bytes * j.rows));
      } else {
        if (j.prepare) j.prepare();
        // Chunks of about 32 MB of output keep memory flat on any tensor size.
        const int64_t chunk_rows = std::max<int64_t>(1, (int64_t{32} << 20) / std::max<int64_t>(row_bytes, 1));
        std::vector<uint8_t> buf;
        for (int64_t r0 = 0; r0 < j.rows; r0 += chunk_rows) {
          const int64_t n = std::min(chunk_rows, j.rows - r0);
          buf.resize(static_cast<size_t>(n * row_bytes));
          pool_.ParallelFor(static_cast<size_t>(n), 1, [&](size_t a, size_t b) {
            std::vector<float> row(static_cast<size_t>(j.cols));
            for (size_t r = a; r < b; ++r) {
              j.row(r0 + static_cast<int64_t>(r), row.data());
              ref::QuantizeRowGgml(j.type, row.data(), j.cols, buf.data() + r * row_bytes);
            }
          });
          sink(buf.data(), buf.size());
          if (progress_) progress_(done + (r0 + n) * j.cols, total, j.name);
        }
        if (j.release) j.release();
      }
      done += j.rows * j.cols;
      QuantizeTypeStats& s = rep->by_type[TypeLabel(j.type)];
      s.elements += j.rows * j.cols;
      s.bytes += row_bytes * j.rows;
      s.tensors += 1;
      rep->elements += j.rows * j.cols;
    });
    if (progress_) progress_(total, total, "");
    rep->file_bytes = static_cast<int64_t>(fs::file_size(out));
  }

 private:
  ThreadPool pool_;
  const QuantizeProgress& progress_;
};

std::string FileStem(const std::string& path) {
  fs::path p(path);
  if (p.filename().empty()) p = p.parent_path();
  return p.stem().string();
}

QuantizeReport FromHf(const std::string& in, const std::string& out, const QuantizeOptions& opt, const QuantizeProgress& progress) {
  const Plan plan = PlanFor(opt.type);
  QuantizeReport rep;
  rep.output = out;
  HfModel m = ReadHfModel(in);
  auto ws = WeightStore::OpenDir(in);
  std::vector<Job> jobs = HfJobs(*ws, m, &rep.warnings);
  for (Job& j : jobs) j.type = ChooseType(j, plan, opt);

  GgufWriter w;
  if (m.deepseek) SetDeepseekMetadata(w, m.ds); else SetDenseMetadata(w, m.dense, m.llama);
  w.SetString("general.name", FileStem(in));
  w.SetU32("general.file_type", plan.file_type);
  w.SetU32("general.quantization_version", 2);
  if (!SetGgufVocab(w, in, m.vocab, m.config, m.deepseek ? "deepseek2" : m.llama ? "llama" : "qwen2"))
    rep.warnings.push_back("no tokenizer.json in " + in + ": the GGUF file has no vocabulary");
  Runner(opt, progress).WriteGguf(w, jobs, out, &rep);
  return rep;
}

QuantizeReport FromGguf(const std::string& in, const std::string& out, const QuantizeOptions& opt, const QuantizeProgress& progress) {
  const Plan plan = PlanFor(opt.type);
  QuantizeReport rep;
  rep.output = out;
  std::unique_ptr<GgufFile> f = GgufFile::Open(in);
  GgufWriter w;
  for (const auto& [k, v] : f->metadata()) {
    if (k == "general.file_type" || k == "general.quantization_version" || k == "general.alignment") continue;
    w.Set(k, v);
  }
  w.SetU32("general.file_type", plan.file_type);
  w.SetU32("general.quantization_version", 2);
  std::vector<Job> jobs;
  for (const GgufTensorInfo& t : f->tensors()) {
    if (!ref::CanDequantizeGgml(t.type))
      throw Error(in, t.name, "ggml type " + std::string(GgmlTypeName(t.type)) + " cannot be requantized");
    Job j;
    j.name = t.name;
    j.match = t.name;
    j.dims = t.dims;
    j.rows = t.n_rows();
    j.cols = t.row_length();
    j.raw = t.data;
    j.raw_type = t.type;
    const int64_t rb = GgmlRowBytes(t.type, j.cols);
    j.row = [data = t.data, type = t.type, rb, cols = j.cols](int64_t r, float* o) {
      ref::DequantizeRowGgml(type, data + r * rb, cols, o);
    };
    j.type = ChooseType(j, plan, opt);
    jobs.push_back(std::move(j));
  }
  Runner(opt, progress).WriteGguf(w, jobs, out, &rep);
  return rep;
}

// ---------------------------------------------------------------- FP8 safetensors output

// Linear weights become FP8; embeddings, head, router, norms, biases stay (as
// DeepSeek-V3's own FP8 release keeps them).
bool Fp8Eligible(const std::string& n, const TensorView& v, const QuantizeOptions& opt) {
  if (v.shape.size() != 2 || !EndsWith(n, "_proj.weight")) return false;
  if (n.find("model.layers.") != 0) return false;
  for (const std::string& p : opt.keep_bf16)
    if (GlobMatch(p, n)) return false;
  return v.dtype == DType::kF32 || v.dtype == DType::kBF16 || v.dtype == DType::kF16;
}

// scale_inv per 128x128 block = amax / 448; values round to nearest even.
void QuantizeFp8(const Matrix& m, ThreadPool& pool, std::vector<uint8_t>* q, std::vector<uint8_t>* scales) {
  const int64_t R = m.rows, C = m.cols, sr = (R + kFp8Block - 1) / kFp8Block, sc = (C + kFp8Block - 1) / kFp8Block;
  q->assign(static_cast<size_t>(R * C), 0);
  scales->assign(static_cast<size_t>(sr * sc * 4), 0);
  pool.ParallelFor(static_cast<size_t>(sr), 1, [&](size_t b0, size_t b1) {
    std::vector<float> rows(static_cast<size_t>(kFp8Block * C));
    for (size_t br = b0; br < b1; ++br) {
      const int64_t r0 = static_cast<int64_t>(br) * kFp8Block, nr = std::min(kFp8Block, R - r0);
      for (int64_t r = 0; r < nr; ++r) ref::DequantizeRow(m, r0 + r, rows.data() + r * C);
      for (int64_t bc = 0; bc < sc; ++bc) {
        const int64_t c0 = bc * kFp8Block, nc = std::min(kFp8Block, C - c0);
        float amax = 0;
        for (int64_t r = 0; r < nr; ++r)
          for (int64_t c = 0; c < nc; ++c) amax = std::max(amax, std::fabs(rows[r * C + c0 + c]));
        const float scale = amax > 0 ? amax / 448.0f : 1.0f;
        std::memcpy(scales->data() + 4 * (br * sc + bc), &scale, 4);
        for (int64_t r = 0; r < nr; ++r)
          for (int64_t c = 0; c < nc; ++c)
            (*q)[(r0 + r) * C + c0 + c] = F32ToFp8E4M3(rows[r * C + c0 + c] / scale);
      }
    }
  });
}

QuantizeReport ToFp8(const std::string& in, const std::string& out, const QuantizeOptions& opt, const QuantizeProgress& progress) {
  if (!fs::is_directory(in)) throw Error(in, "--type", "fp8 output needs a Hugging Face folder as input");
  HfModel m = ReadHfModel(in);
  if (!m.deepseek) throw Error(in, "--type", "fp8 checkpoints are a DeepSeek-V2/V3 format; " + m.arch + " is not");
  auto ws = WeightStore::OpenDir(in);
  QuantizeReport rep;
  rep.output = out;
  fs::create_directories(out);
  ThreadPool pool(opt.threads);

  std::vector<std::string> names;
  for (const std::string& n : ws->TensorNames())
    if (!EndsWith(n, "_scale_inv")) names.push_back(n);
  std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return OrderKey(a) < OrderKey(b); });
  auto out_bytes = [&](const std::string& n) -> int64_t {
    TensorView v = ws->Get(n);
    if (Fp8Eligible(n, v, opt)) return v.numel() + 4 * ((v.shape[0] + 127) / 128) * ((v.shape[1] + 127) / 128);
    int64_t b = static_cast<int64_t>(v.nbytes);
    if (ws->Has(n + "_scale_inv")) b += static_cast<int64_t>(ws->Get(n + "_scale_inv").nbytes);
    return b;
  };
  std::vector<std::vector<std::string>> shards(1);
  int64_t cur = 0, total = 0;
  for (const std::string& n : names) {
    const int64_t b = out_bytes(n);
    if (cur > 0 && cur + b > opt.fp8_shard_bytes) {
      shards.emplace_back();
      cur = 0;
    }
    shards.back().push_back(n);
    cur += b;
    total += ws->Get(n).numel();
  }
  Json weight_map = Json::object();
  int64_t done = 0, total_size = 0;
  for (size_t si = 0; si < shards.size(); ++si) {
    char fname[64];
    if (shards.size() == 1) std::snprintf(fname, sizeof fname, "model.safetensors");
    else std::snprintf(fname, sizeof fname, "model-%05zu-of-%05zu.safetensors", si + 1, shards.size());
    std::vector<SafetensorsWriteEntry> entries;
    for (const std::string& n : shards[si]) {
      if (progress) progress(done, total, n);
      TensorView v = ws->Get(n);
      auto add = [&](const std::string& name, DType dt, std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
        int64_t el = 1;
        for (int64_t d : shape) el *= d;
        if (!EndsWith(name, "_scale_inv")) {
          QuantizeTypeStats& s = rep.by_type[std::string(DTypeName(dt))];
          s.elements += el;
          s.tensors += 1;
          rep.elements += el;
          s.bytes += static_cast<int64_t>(bytes.size());
        } else {
          rep.by_type[std::string(DTypeName(DType::kF8E4M3))].bytes += static_cast<int64_t>(bytes.size());
        }
        total_size += static_cast<int64_t>(bytes.size());
        weight_map[name] = fname;
        entries.push_back({name, dt, std::move(shape), std::move(bytes)});
      };
      if (Fp8Eligible(n, v, opt)) {
        std::vector<uint8_t> q, sc;
        QuantizeFp8(ws->GetMatrix(n, v.shape[0], v.shape[1]), pool, &q, &sc);
        add(n, DType::kF8E4M3, v.shape, std::move(q));
        add(n + "_scale_inv", DType::kF32, {(v.shape[0] + 127) / 128, (v.shape[1] + 127) / 128}, std::move(sc));
      } else {
        add(n, v.dtype, v.shape, std::vector<uint8_t>(v.data, v.data + v.nbytes));
        if (ws->Has(n + "_scale_inv")) {
          TensorView s = ws->Get(n + "_scale_inv");
          add(s.name, s.dtype, s.shape, std::vector<uint8_t>(s.data, s.data + s.nbytes));
        }
      }
      done += v.numel();
    }
    const std::string path = (fs::path(out) / fname).string();
    WriteSafetensors(path, entries, {{"format", "pt"}});
    rep.file_bytes += static_cast<int64_t>(fs::file_size(path));
  }
  std::error_code ec;
  if (shards.size() > 1) {
    std::ofstream f(fs::path(out) / "model.safetensors.index.json");
    f << Json{{"metadata", {{"total_size", total_size}}}, {"weight_map", weight_map}}.dump(2) << "\n";
    if (!f) throw Error(out, "model.safetensors.index.json", "write failed");
  } else {
    fs::remove(fs::path(out) / "model.safetensors.index.json", ec);
  }
  Json cfg = m.config;
  cfg["quantization_config"] = {{"activation_scheme", "dynamic"}, {"fmt", "e4m3"}, {"quant_method", "fp8"},
                                {"weight_block_size", {128, 128}}};
  {
    std::ofstream cf(fs::path(out) / "config.json");
    cf << cfg.dump(2) << "\n";
    if (!cf) throw Error(out, "config.json", "write failed");
  }
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json", "chat_template.jinja"}) {
    const fs::path src = fs::path(in) / f;
    if (fs::exists(src)) fs::copy_file(src, fs::path(out) / f, fs::copy_options::overwrite_existing);
  }
  if (progress) progress(total, total, "");
  return rep;
}

}  // namespace

bool GlobMatch(const std::string& p, const std::string& s) {
  size_t pi = 0, si = 0, star = std::string::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

QuantizeReport Quantize(const std::string& in, const std::string& out, const QuantizeOptions& opt,
                        const QuantizeProgress& progress) {
  if (!fs::exists(in)) throw Error(in, "", "input does not exist");
  if (fs::exists(out) && fs::equivalent(in, out)) throw Error(out, "", "output would overwrite the input");
  QuantizeReport rep;
  if (opt.type == "fp8") {
    rep = ToFp8(in, out, opt, progress);
  } else if (fs::is_regular_file(in) && fs::path(in).extension() == ".gguf") {
    rep = FromGguf(in, out, opt, progress);
  } else if (fs::is_directory(in)) {
    rep = FromHf(in, out, opt, progress);
  } else {
    throw Error(in, "", "expected a Hugging Face model folder or a .gguf file");
  }
  for (const auto& [type, st] : rep.by_type) rep.tensor_bytes += st.bytes;
  rep.bits_per_weight = rep.elements > 0 ? 8.0 * static_cast<double>(rep.tensor_bytes) / static_cast<double>(rep.elements) : 0;
  return rep;
}

}  // namespace dseek
