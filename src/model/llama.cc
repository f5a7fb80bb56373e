// LlamaForCausalLM: the dense GQA decoder with no attention biases and
// optional Llama 3 rope scaling (R1-Distill-Llama-8B/70B use it).
#include "model/llama.h"

#include "base/error.h"
#include "model/dense_gqa_model.h"

namespace dseek {
namespace {
DenseGqaConfig ParseLlama(const JsonConfig& j) {
  DenseGqaConfig c = DenseGqaConfig::FromJson(j);
  c.architecture = "LlamaForCausalLM";
  c.qkv_bias = j.Bool("attention_bias", false);
  return c;
}
}  // namespace

std::unique_ptr<Model> LoadLlama(const std::string& dir, const JsonConfig& config, Backend& backend,
                                 const ModelOptions& options) {
  return LoadDenseGqa(dir, ParseLlama(config), backend, options);
}

ModelFacts LlamaFacts(const JsonConfig& config) { return DenseGqaFacts(ParseLlama(config)); }

}  // namespace dseek
