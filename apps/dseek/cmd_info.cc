// `dseek info MODEL_DIR|CONFIG.json`: what a model is and what it needs.
// Works from config.json alone, before any weights are downloaded, or from a
// single .gguf file (metadata and tensor table).
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "apps/dseek/commands.h"
#include "apps/dseek/hub_settings.h"
#include "base/dtype.h"
#include "format/gguf.h"
#include "format/json_config.h"
#include "model/gguf_config.h"
#include "model/registry.h"
#include "tensor/weight_store.h"

namespace dseek::cli {
namespace {

std::string Human(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
  return buf;
}

std::string Count(int64_t n) {
  char buf[32];
  if (n >= 1000000000) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  else if (n >= 1000000) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1000) std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

void PrintFacts(const ModelFacts& f) {
  const int64_t kv_bytes = f.kv_floats_per_token * 4;
  std::printf("architecture:      %s\n", f.architecture.c_str());
  std::printf("layers:            %lld\n", static_cast<long long>(f.n_layers));
  std::printf("vocabulary:        %lld\n", static_cast<long long>(f.vocab_size));
  std::printf("parameters:        %s total, %s active per token\n", Count(f.params_total).c_str(),
              Count(f.params_active).c_str());
  std::printf("context:           %lld tokens\n", static_cast<long long>(f.max_context));
  std::printf("kv cache:          %s per token (f32 latent), %s at the full context\n", Human(kv_bytes).c_str(),
              Human(static_cast<double>(kv_bytes) * f.max_context).c_str());
}

int InfoGguf(const std::string& path) {
  auto g = GgufFile::Open(path);
  ModelFacts f = FactsFromGguf(*g);
  PrintFacts(f);
  std::printf("gguf:              version %u, %s (general.architecture)\n", g->version(),
              GgufArchitecture(*g).c_str());
  std::map<std::string, size_t> by_type;
  size_t total = 0;
  for (const GgufTensorInfo& t : g->tensors()) {
    by_type[std::string(GgmlTypeName(t.type))] += t.nbytes;
    total += t.nbytes;
  }
  std::printf("weights:           %s in %zu tensors\n", Human(static_cast<double>(total)).c_str(), g->tensors().size());
  for (auto& [name, b] : by_type) std::printf("  %-8s         %s\n", name.c_str(), Human(static_cast<double>(b)).c_str());
  if (auto m = g->GetString("tokenizer.ggml.model"))
    std::printf("tokenizer:         %s (pre: %s)\n", m->c_str(), g->GetString("tokenizer.ggml.pre").value_or("default").c_str());
  return 0;
}

}  // namespace

void AddInfo(CLI::App& app, Action& action) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("info", "Describe a model folder, a config.json alone or a .gguf file");
  cmd->add_option("model", *path, "Model folder, config.json or .gguf file")->required();
  cmd->callback([path, &action] {
    action = [path] {
      *path = ResolveModelPath(*path);
      namespace fs = std::filesystem;
      if (fs::path(*path).extension() == ".gguf" && !fs::is_directory(*path)) return InfoGguf(*path);
      const bool is_dir = fs::is_directory(*path);
      std::string cfg_path = is_dir ? (fs::path(*path) / "config.json").string() : *path;
      JsonConfig cfg = JsonConfig::FromFile(cfg_path);
      ModelFacts f = FactsFromConfig(cfg);
      PrintFacts(f);
      bool has_weights = false;
      if (is_dir) {
        bool any = fs::exists(fs::path(*path) / "model.safetensors.index.json") ||
                   fs::exists(fs::path(*path) / "model.safetensors");
        for (auto& e : fs::directory_iterator(*path)) any = any || e.path().extension() == ".safetensors";
        if (any) {
          auto ws = WeightStore::OpenDir(*path);
          has_weights = true;
          std::printf("weights:           %s in %zu file(s)\n", Human(static_cast<double>(ws->TotalBytes())).c_str(),
                      ws->files().size());
          for (auto& [dt, b] : ws->BytesByDType())
            std::printf("  %-8s         %s\n", std::string(DTypeName(dt)).c_str(), Human(static_cast<double>(b)).c_str());
        }
      }
      if (!has_weights) {
        const double p = static_cast<double>(f.params_total);
        std::printf("no weights here; they would need:\n");
        std::printf("  bf16             %s\n", Human(p * 2).c_str());
        std::printf("  fp8 (128x128)    %s (about; norms, router and embeddings stay bf16)\n", Human(p * 1.0).c_str());
        std::printf("  f32              %s\n", Human(p * 4).c_str());
      }
      return 0;
    };
  });
}

}  // namespace dseek::cli
