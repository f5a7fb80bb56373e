// Llama (LlamaForCausalLM; R1-Distill-Llama) and Qwen2 (Qwen2ForCausalLM;
// R1-Distill-Qwen): dense GQA decoders, see dense_gqa_model.h.
#pragma once

#include <memory>
#include <string>

#include "format/json_config.h"
#include "model/model.h"

namespace dseek {

std::unique_ptr<Model> LoadLlama(const std::string& dir, const JsonConfig& config, Backend& backend,
                                 const ModelOptions& options);
ModelFacts LlamaFacts(const JsonConfig& config);
std::unique_ptr<Model> LoadQwen2(const std::string& dir, const JsonConfig& config, Backend& backend,
                                 const ModelOptions& options);
ModelFacts Qwen2Facts(const JsonConfig& config);

}  // namespace dseek
