// The engine tuning flags that run, chat, serve, generate and bench share:
// --repack-cache, --cache-type, --pin-threads.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "runtime/engine.h"

namespace dseek::cli {

struct EngineTuningFlags {
  bool repack_cache = false;
  std::string cache_type = "f32";
  bool pin_threads = false;

  void Register(CLI::App* cmd);
  void ApplyTo(EngineOptions& opt) const;
};

}  // namespace dseek::cli
