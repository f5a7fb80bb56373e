// DeepSeek-V2 / V2-Lite / V3 / R1 (DeepseekV2ForCausalLM, DeepseekV3ForCausalLM).
#pragma once

#include <memory>
#include <string>

#include "format/json_config.h"
#include "model/model.h"

namespace dseek {

std::unique_ptr<Model> LoadDeepseekV2(const std::string& dir, const JsonConfig& config, Backend& backend,
                                      const ModelOptions& options);
ModelFacts DeepseekV2Facts(const JsonConfig& config);

}  // namespace dseek
