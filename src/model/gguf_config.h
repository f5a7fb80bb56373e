// Models from a single GGUF file (llama.cpp / Ollama): general.architecture
// picks the builder (qwen2, llama -> the dense GQA decoder; deepseek2 ->
// DeepSeek-V2/V3), the `<arch>.*` metadata keys fill its config, and
// GgufWeightSource serves the weights by HF name. Missing or implausible keys
// are a dseek::Error(path, key, reason). Pure functions of the file.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "format/gguf.h"
#include "model/deepseek_config.h"
#include "model/dense_gqa_model.h"
#include "model/model.h"

namespace dseek {

// general.architecture; dseek::Error when absent.
std::string GgufArchitecture(const GgufFile& f);
std::vector<std::string> SupportedGgufArchitectures();

// llama.cpp's qwen2 / llama metadata as a DenseGqaConfig.
DenseGqaConfig DenseGqaConfigFromGguf(const GgufFile& f);
// llama.cpp's deepseek2 metadata as a DeepseekConfig (with its routing rules:
// expert weights are scaled after renormalisation, as llama.cpp does).
DeepseekConfig DeepseekConfigFromGguf(const GgufFile& f);

// Facts from the metadata alone, for `dseek info`.
ModelFacts FactsFromGguf(const GgufFile& f);

// Loads `path` (a .gguf file) onto the backend, which must outlive the model.
std::unique_ptr<Model> LoadGgufModel(const std::string& path, Backend& backend, const ModelOptions& options = {});

}  // namespace dseek
