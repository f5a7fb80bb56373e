// Qwen2ForCausalLM: the dense GQA decoder with q/k/v biases (R1-Distill-Qwen
// 1.5B..32B). The sliding window is off in these models; a config that turns
// it on for fewer layers than the model has is refused rather than run wrong.
#include "base/error.h"
#include "model/dense_gqa_model.h"
#include "model/llama.h"

namespace dseek {
namespace {
DenseGqaConfig ParseQwen2(const JsonConfig& j) {
  DenseGqaConfig c = DenseGqaConfig::FromJson(j);
  c.architecture = "Qwen2ForCausalLM";
  c.qkv_bias = true;
  if (j.Bool("use_sliding_window", false)) {
    int64_t window = j.Int("sliding_window", 0);
    if (window > 0 && window < c.max_position_embeddings)
      throw Error(j.origin(), "use_sliding_window", "sliding-window attention is not supported");
  }
  return c;
}
}  // namespace

std::unique_ptr<Model> LoadQwen2(const std::string& dir, const JsonConfig& config, Backend& backend,
                                 const ModelOptions& options) {
  return LoadDenseGqa(dir, ParseQwen2(config), backend, options);
}

ModelFacts Qwen2Facts(const JsonConfig& config) { return DenseGqaFacts(ParseQwen2(config)); }

}  // namespace dseek
