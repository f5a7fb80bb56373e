// One registry from config.json `architectures[0]` to the code that builds
// that architecture. A new architecture adds one line here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "format/json_config.h"
#include "model/model.h"

namespace dseek {

// Loads the model in a Hugging Face folder (or a single .gguf file) onto the backend (which must
// outlive the model). Throws dseek::Error for anything unsupported or broken.
std::unique_ptr<Model> LoadModel(const std::string& dir, Backend& backend, const ModelOptions& options = {});

// Facts from config.json alone (no weights needed): for `dseek info`.
ModelFacts FactsFromConfig(const JsonConfig& config);

std::vector<std::string> SupportedArchitectures();
std::string ArchitectureOf(const JsonConfig& config);

}  // namespace dseek
