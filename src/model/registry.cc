#include "model/registry.h"

#include <filesystem>
#include <functional>
#include <map>

#include "base/error.h"
#include "model/deepseek_v2.h"
#include "model/gguf_config.h"
#include "model/llama.h"

namespace dseek {
namespace {

struct ArchEntry {
  std::function<std::unique_ptr<Model>(const std::string&, const JsonConfig&, Backend&, const ModelOptions&)> load;
  std::function<ModelFacts(const JsonConfig&)> facts;
};

const std::map<std::string, ArchEntry>& Registry() {
  static const std::map<std::string, ArchEntry> kRegistry = {
      {"DeepseekV2ForCausalLM", {LoadDeepseekV2, DeepseekV2Facts}},
      {"DeepseekV3ForCausalLM", {LoadDeepseekV2, DeepseekV2Facts}},
      {"LlamaForCausalLM", {LoadLlama, LlamaFacts}},
      {"Qwen2ForCausalLM", {LoadQwen2, Qwen2Facts}},
  };
  return kRegistry;
}

const ArchEntry& Lookup(const JsonConfig& config) {
  std::string arch = ArchitectureOf(config);
  auto it = Registry().find(arch);
  if (it == Registry().end()) {
    std::string known;
    for (auto& [name, e] : Registry()) known += (known.empty() ? "" : ", ") + name;
    throw Error(config.origin(), "architectures", "unsupported architecture '" + arch + "' (supported: " + known + ")");
  }
  return it->second;
}

}  // namespace

std::string ArchitectureOf(const JsonConfig& config) {
  const auto& j = config.data();
  if (!j.contains("architectures") || !j["architectures"].is_array() || j["architectures"].empty() ||
      !j["architectures"][0].is_string())
    throw Error(config.origin(), "architectures", "missing or not a list of names");
  return j["architectures"][0].get<std::string>();
}

std::unique_ptr<Model> LoadModel(const std::string& dir, Backend& backend, const ModelOptions& options) {
  namespace fs = std::filesystem;
  // A single GGUF file (llama.cpp / Ollama) carries its own config.
  if (fs::is_regular_file(dir) && fs::path(dir).extension() == ".gguf") return LoadGgufModel(dir, backend, options);
  if (!fs::is_directory(dir)) throw Error(dir, "", "model folder does not exist");
  JsonConfig config = JsonConfig::FromFile((fs::path(dir) / "config.json").string());
  return Lookup(config).load(dir, config, backend, options);
}

ModelFacts FactsFromConfig(const JsonConfig& config) { return Lookup(config).facts(config); }

std::vector<std::string> SupportedArchitectures() {
  std::vector<std::string> out;
  for (auto& [name, e] : Registry()) out.push_back(name);
  return out;
}

}  // namespace dseek
