#include "model/gguf_weight_source.h"

#include <algorithm>
#include <cstring>
#include <regex>

#include "base/error.h"
#include "base/numeric.h"
#include "kernels/ref/quant_ref.h"
#include "kernels/ref/ref_ops.h"

namespace dseek {
namespace {

// HF module suffix (after "model.layers.N.") -> llama.cpp tensor suffix (after "blk.N.").
struct Rename {
  const char* hf;
  const char* gguf;
};
constexpr Rename kLayerNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_a_proj.weight", "attn_q_a.weight"},
    {"self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight"},
    {"self_attn.q_b_proj.weight", "attn_q_b.weight"},
    {"self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight"},
    {"self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight"},
    {"self_attn.kv_b_proj.weight", "attn_kv_b.weight"},
    // Not Hugging Face tensors: llama.cpp's per-head split of kv_b_proj
    // (W_UK transposed, W_UV), which absorbed MLA multiplies as they are.
    {"self_attn.k_b_proj.weight", "attn_k_b.weight"},
    {"self_attn.v_b_proj.weight", "attn_v_b.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"mlp.gate.weight", "ffn_gate_inp.weight"},
    {"mlp.gate.e_score_correction_bias", "exp_probs_b.bias"},
    {"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight"},
    {"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight"},
    {"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight"},
};

std::string DimsString(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

// Splits "model.layers.N.rest" into N and rest; false for other names.
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

}  // namespace

GgufWeightSource::GgufWeightSource(std::unique_ptr<GgufFile> file, GgufSourceOptions options)
    : file_(std::move(file)), opt_(options) {}

std::string GgufWeightSource::GgufName(const std::string& hf, int64_t* expert) {
  if (expert) *expert = -1;
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  int64_t layer;
  std::string rest;
  if (!SplitLayer(hf, &layer, &rest)) return "";
  const std::string blk = "blk." + std::to_string(layer) + ".";
  for (const Rename& r : kLayerNames)
    if (rest == r.hf) return blk + r.gguf;
  // mlp.experts.E.{gate,up,down}_proj.weight -> the stacked ffn_{gate,up,down}_exps.weight
  static const std::regex kExpert(R"(mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight)");
  std::smatch m;
  if (std::regex_match(rest, m, kExpert)) {
    if (expert) *expert = std::stoll(m[1].str());
    return blk + "ffn_" + m[2].str() + "_exps.weight";
  }
  return "";
}

bool GgufWeightSource::Has(const std::string& hf) const {
  const std::string g = GgufName(hf);
  if (g.empty()) return false;
  if (file_->FindTensor(g)) return true;
  if (hf == "lm_head.weight") return file_->FindTensor("token_embd.weight") != nullptr;  // tied
  int64_t layer;
  std::string rest;
  if (SplitLayer(hf, &layer, &rest) && rest == "self_attn.kv_b_proj.weight") {
    const std::string blk = "blk." + std::to_string(layer) + ".";
    return file_->FindTensor(blk + "attn_k_b.weight") && file_->FindTensor(blk + "attn_v_b.weight");
  }
  return false;
}

const GgufTensorInfo& GgufWeightSource::Tensor(const std::string& g, const std::string& hf) const {
  const GgufTensorInfo* t = g.empty() ? nullptr : file_->FindTensor(g);
  if (!t) throw Error(file_->path(), g.empty() ? hf : g, "missing tensor (wanted for " + hf + ")");
  return *t;
}

Matrix GgufWeightSource::View(const GgufTensorInfo& t, int64_t rows, int64_t cols) const {
  Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.data = t.data;
  switch (t.type) {
    case GgmlType::kF32: m.dtype = DType::kF32; break;
    case GgmlType::kF16: m.dtype = DType::kF16; break;
    case GgmlType::kBF16: m.dtype = DType::kBF16; break;
    default:
      if (!IsQuantizedGgmlType(t.type) || !ref::CanDequantizeGgml(t.type))
        throw Error(file_->path(), t.name, "ggml type " + std::string(GgmlTypeName(t.type)) + " is not supported");
      m.dtype = DType::kGgml;
      m.ggml = t.type;
      if (cols % GgmlBlockSize(t.type) != 0)
        throw Error(file_->path(), t.name, "row length " + std::to_string(cols) + " is not a multiple of the " +
                                               std::string(GgmlTypeName(t.type)) + " block size");
  }
  const size_t align = m.dtype == DType::kGgml ? 1 : DTypeSize(m.dtype);
  if (reinterpret_cast<uintptr_t>(t.data) % align != 0) throw Error(file_->path(), t.name, "data is misaligned");
  return m;
}

Matrix GgufWeightSource::GetMatrix(const std::string& hf, int64_t rows, int64_t cols) const {
  int64_t expert = -1;
  std::string g = GgufName(hf, &expert);
  int64_t layer;
  std::string rest;
  const bool in_layer = SplitLayer(hf, &layer, &rest);
  if (in_layer && rest == "self_attn.kv_b_proj.weight") {
    if (!file_->FindTensor(g)) return RebuildKvB(hf, layer, rows, cols);
    // Without the split pair, MLA widens kv_b rows on every forward pass
    // (absorbed decode); a block-quantized copy would be dequantized row by
    // row each time.
    const GgufTensorInfo& t = Tensor(g, hf);
    const std::string blk = "blk." + std::to_string(layer) + ".";
    const bool split = file_->FindTensor(blk + "attn_k_b.weight") && file_->FindTensor(blk + "attn_v_b.weight");
    if (!split && IsQuantizedGgmlType(t.type) && t.dims.size() == 2 && t.dims[0] == cols && t.dims[1] == rows) {
      Matrix q = View(t, rows, cols);
      auto& buf = owned_[t.name + "(f32)"];
      if (buf.empty()) {
        buf.resize(sizeof(float) * rows * cols);
        for (int64_t r = 0; r < rows; ++r) ref::DequantizeRow(q, r, reinterpret_cast<float*>(buf.data()) + r * cols);
      }
      Matrix m;
      m.rows = rows;
      m.cols = cols;
      m.data = buf.data();
      return m;
    }
  }
  if (hf == "lm_head.weight" && !file_->FindTensor(g)) g = "token_embd.weight";  // tied embeddings
  const GgufTensorInfo& t = Tensor(g, hf);
  if (expert >= 0) {
    // [X, rows, cols] in HF order: expert e is rows [e*rows, (e+1)*rows) of the [X*rows, cols] stack.
    if (t.dims.size() != 3 || t.dims[0] != cols || t.dims[1] != rows || expert >= t.dims[2])
      throw Error(file_->path(), t.name, "dims " + DimsString(t.dims) + " do not hold expert " + std::to_string(expert) +
                                             " of [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    return View(t, t.dims[1] * t.dims[2], cols).RowSlice(expert * rows, rows);
  }
  if (in_layer && (rest == "self_attn.k_b_proj.weight" || rest == "self_attn.v_b_proj.weight")) {
    // [cols, per-head rows, heads] in ggml order: the heads stacked by rows.
    if (t.dims.size() != 3 || t.dims[0] != cols || t.dims[1] * t.dims[2] != rows)
      throw Error(file_->path(), t.name, "dims " + DimsString(t.dims) + " do not stack to [" + std::to_string(rows) +
                                             ", " + std::to_string(cols) + "]");
    return View(t, rows, cols);
  }
  if (t.dims.size() != 2 || t.dims[0] != cols || t.dims[1] != rows)
    throw Error(file_->path(), t.name, "dims " + DimsString(t.dims) + " (ggml order) do not match [" + std::to_string(cols) +
                                           ", " + std::to_string(rows) + "] expected for " + hf);
  if (opt_.unpermute_llama_qk && in_layer) {
    if (rest == "self_attn.q_proj.weight") return UnpermuteQk(t, rows, cols, opt_.n_head);
    if (rest == "self_attn.k_proj.weight") return UnpermuteQk(t, rows, cols, opt_.n_head_kv);
  }
  return View(t, rows, cols);
}

// llama.cpp's convert_hf_to_gguf.py LlamaModel.permute:
//   w.reshape(n_head, 2, hd/2, in).swapaxes(1, 2)
// so HF row h*hd + j*(hd/2) + i is GGUF row h*hd + 2*i + j. Rows move whole,
// so the copy keeps the storage type.
Matrix GgufWeightSource::UnpermuteQk(const GgufTensorInfo& t, int64_t rows, int64_t cols, int64_t heads) const {
  if (heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0)
    throw Error(file_->path(), t.name, "cannot undo the q/k permutation: " + std::to_string(rows) + " rows for " +
                                           std::to_string(heads) + " heads");
  Matrix src = View(t, rows, cols);
  auto& buf = owned_[t.name];
  if (buf.empty()) {
    const int64_t hd = rows / heads, half = hd / 2;
    const size_t rb = src.row_bytes();
    buf.resize(rb * rows);
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t j = 0; j < 2; ++j)
        for (int64_t i = 0; i < half; ++i)
          std::memcpy(buf.data() + (h * hd + j * half + i) * rb, src.row(h * hd + 2 * i + j), rb);
  }
  src.data = buf.data();
  return src;
}

// kv_b_proj [H*(nope+v), R] from llama.cpp's split form (convert_hf_to_gguf.py
// DeepseekV2Model.modify_tensors): kv_b viewed [H, nope+v, R] is split into
// k_b = kv_b[:, :nope, :].transpose(1, 2) -> ggml dims [nope, R, H], and
// v_b = kv_b[:, nope:, :] -> ggml dims [R, v, H]. k_b is transposed relative
// to kv_b, which block types cannot express, so the rebuilt matrix is float32
// (H*(nope+v)*R floats per layer, built once at load).
Matrix GgufWeightSource::RebuildKvB(const std::string& hf, int64_t layer, int64_t rows, int64_t cols) const {
  const std::string blk = "blk." + std::to_string(layer) + ".";
  const GgufTensorInfo& kb = Tensor(blk + "attn_k_b.weight", hf);
  const GgufTensorInfo& vb = Tensor(blk + "attn_v_b.weight", hf);
  if (kb.dims.size() != 3 || vb.dims.size() != 3 || kb.dims[1] != cols || vb.dims[0] != cols || kb.dims[2] != vb.dims[2] ||
      kb.dims[2] * (kb.dims[0] + vb.dims[1]) != rows)
    throw Error(file_->path(), kb.name, "attn_k_b " + DimsString(kb.dims) + " / attn_v_b " + DimsString(vb.dims) +
                                            " do not form kv_b_proj [" + std::to_string(rows) + ", " +
                                            std::to_string(cols) + "]");
  const int64_t nope = kb.dims[0], R = cols, v = vb.dims[1], H = kb.dims[2];
  Matrix km = View(kb, R * H, nope), vm = View(vb, v * H, R);  // per head: [R, nope] and [v, R]
  auto& buf = owned_[blk + "attn_kv_b(rebuilt)"];
  if (buf.empty()) {
    buf.resize(sizeof(float) * rows * cols);
    float* out = reinterpret_cast<float*>(buf.data());
    std::vector<float> row(std::max(nope, R));
    for (int64_t h = 0; h < H; ++h) {
      float* head = out + h * (nope + v) * R;  // [nope+v, R]
      for (int64_t c = 0; c < R; ++c) {        // k_b[h] row c holds column c of the k part
        ref::DequantizeRow(km, h * R + c, row.data());
        for (int64_t i = 0; i < nope; ++i) head[i * R + c] = row[i];
      }
      for (int64_t i = 0; i < v; ++i) ref::DequantizeRow(vm, h * v + i, head + (nope + i) * R);
    }
  }
  Matrix m;
  m.dtype = DType::kF32;
  m.rows = rows;
  m.cols = cols;
  m.data = buf.data();
  return m;
}

void GgufWeightSource::DropBytes(const void* data, size_t n) const { file_->DropPages(data, n); }

const float* GgufWeightSource::GetVectorF32(const std::string& hf, int64_t n) const {
  const GgufTensorInfo& t = Tensor(GgufName(hf), hf);
  if (t.n_elements() != n || t.dims.size() != 1)
    throw Error(file_->path(), t.name, "dims " + DimsString(t.dims) + " do not match [" + std::to_string(n) + "]");
  if (t.type == GgmlType::kF32 && reinterpret_cast<uintptr_t>(t.data) % 4 == 0)
    return reinterpret_cast<const float*>(t.data);
  if (t.type != GgmlType::kF32 && t.type != GgmlType::kF16 && t.type != GgmlType::kBF16)
    throw Error(file_->path(), t.name, "ggml type " + std::string(GgmlTypeName(t.type)) + " is not supported for a vector");
  auto& v = widened_[t.name];
  if (v.empty()) {
    v.resize(n);
    ref::DequantizeRowGgml(t.type, t.data, n, v.data());
  }
  return v.data();
}

}  // namespace dseek
