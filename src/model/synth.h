// Random-weight checkpoints in the published Hugging Face layout (config.json,
// sharded safetensors with an index, FP8 block scales), for tests and
// benchmarks on machines without real weights (like vLLM's dummy loading).
// Deterministic: the same config, dtype and seed give the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "backend/backend.h"

namespace dseek {

struct SynthOptions {
  std::string config;       // a preset name (deepseek-v2-lite, deepseek-v3, deepseek-small, deepseek-demo) or a config.json path
  std::string dtype = "bf16";  // bf16 | fp8
  uint64_t seed = 0;
  int64_t layers = 0;       // 0: as the config says
  int64_t shard_bytes = 4ll << 30;
  std::string out_dir;
  std::string tokenizer_dir;  // copied beside the weights when set
};

// Returns the bytes written. progress(done_bytes, total_bytes) is optional.
int64_t WriteSyntheticCheckpoint(const SynthOptions& opt, Backend& backend,
                                 const std::function<void(int64_t, int64_t)>& progress = {});

// The config.json text of a named preset; throws dseek::Error for unknown names.
std::string PresetConfig(const std::string& name);

}  // namespace dseek
