#include "apps/dseek/engine_flags.h"

namespace dseek::cli {

void EngineTuningFlags::Register(CLI::App* cmd) {
  cmd->add_flag("--repack-cache", repack_cache,
                "GGUF: keep the weights repacked for this CPU in MODEL.dseek-repack (a second file the size of the "
                "model) and map it on later starts instead of repacking");
  cmd->add_option("--cache-type", cache_type,
                  "Attention cache storage: f32, or bf16 for half the memory (and half the cache bytes read per token)")
      ->check(CLI::IsMember({"f32", "bf16"}));
  cmd->add_flag("--pin-threads", pin_threads,
                "Bind worker threads to CPUs, one each, filling a NUMA node's cores before the next node's");
}

void EngineTuningFlags::ApplyTo(EngineOptions& opt) const {
  opt.model.repack_cache = repack_cache;
  opt.model.kv_type = ParseKvType(cache_type);
  opt.pin_threads = pin_threads;
}

}  // namespace dseek::cli
