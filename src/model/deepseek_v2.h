// DeepSeek-V2 / V2-Lite / V3 / R1 (DeepseekV2ForCausalLM, DeepseekV3ForCausalLM).
#pragma once

#include <memory>
#include <string>

#include "format/json_config.h"
#include "model/deepseek_config.h"
#include "model/model.h"
#include "tensor/weight_source.h"

namespace dseek {

std::unique_ptr<Model> LoadDeepseekV2(const std::string& dir, const JsonConfig& config, Backend& backend,
                                      const ModelOptions& options);
ModelFacts DeepseekV2Facts(const JsonConfig& config);
ModelFacts DeepseekFacts(const DeepseekConfig& config);
// The same model from any weight source (a GGUF file, say) by HF tensor names.
std::unique_ptr<Model> MakeDeepseekV2(const DeepseekConfig& config, std::unique_ptr<WeightSource> source,
                                      Backend& backend, const ModelOptions& options);

}  // namespace dseek
