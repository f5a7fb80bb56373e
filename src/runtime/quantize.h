// `dseek quantize`: a Hugging Face folder (BF16/F16/F32 or DeepSeek FP8
// safetensors) or a GGUF file in, a GGUF file llama.cpp can read out (ggml's
// block layouts, llama.cpp's tensor names and metadata keys, the vocabulary
// as tokenizer.ggml.*), or with type "fp8" a safetensors folder in
// DeepSeek-V3's FP8 layout (128x128 blocks, scale_inv = amax / 448).
//
// Lives in runtime/ because it is the lowest layer that sees everything it
// needs: the name tables and configs of model/, the ggml quantizers of
// kernels/ref, the writers of format/ and the tokenizer files (tokenizer.json
// as llama.cpp's tokenizer.ggml.* keys). Nothing below depends on it.
//
// What stays in higher precision (llama.cpp's defaults): 1-D tensors (norms,
// biases, e_score_correction_bias) in F32; the MoE router (ffn_gate_inp) in
// F32; output.weight in Q6_K unless the type is Q8_0 (then Q8_0);
// token_embd in the chosen type (as llama.cpp's mixes). Rows whose length is
// not a multiple of the type's block fall back as llama.cpp does (Q4_K ->
// Q5_0, Q6_K -> Q8_0, then F16). `--keep-bf16` globs (on HF names, or GGUF
// names for a GGUF input) keep tensors in BF16.
//
// Streams tensor by tensor: sources are memory-mapped, and at most one chunk
// of rows (tens of MB) is held per tensor; FP8 output holds one shard.
// Quantize() uses its own thread pool; not re-entrant per call, no globals.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dseek {

struct QuantizeOptions {
  std::string type = "q8_0";           // q8_0 | q4_0 | q4_k | q6_k | fp8
  std::vector<std::string> keep_bf16;  // glob patterns (* and ?)
  int threads = 0;                     // 0: all cores
  int64_t fp8_shard_bytes = int64_t{2} << 30;
};

struct QuantizeTypeStats {
  int64_t elements = 0;
  int64_t bytes = 0;
  int64_t tensors = 0;
};

struct QuantizeReport {
  std::string output;
  int64_t file_bytes = 0;    // the output file (or the folder's safetensors) size
  int64_t tensor_bytes = 0;  // tensor data alone (FP8: with its scales), as llama.cpp's "model size"
  int64_t elements = 0;      // all tensor elements written
  double bits_per_weight = 0;  // 8 * tensor_bytes / elements (metadata such as the vocabulary excluded)
  std::map<std::string, QuantizeTypeStats> by_type;  // "q4_K", "f32", "f8_e4m3" ...
  std::vector<std::string> warnings;
};

// done/total in tensor elements, and the tensor being written.
using QuantizeProgress = std::function<void(int64_t done, int64_t total, const std::string& tensor)>;

// Throws dseek::Error(path, field, reason) for unsupported input or options.
QuantizeReport Quantize(const std::string& in, const std::string& out, const QuantizeOptions& opt,
                        const QuantizeProgress& progress = {});

// Shell-style glob: '*' any run, '?' any one character.
bool GlobMatch(const std::string& pattern, const std::string& text);

}  // namespace dseek
