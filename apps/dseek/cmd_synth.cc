// `dseek synth --config NAME|CONFIG.json --dtype bf16|fp8 --seed N --out DIR
// [--layers N]`: a random-weight checkpoint in the published layout.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "apps/dseek/commands.h"
#include "backend/backend.h"
#include "model/synth.h"

namespace dseek::cli {

void AddSynth(CLI::App& app, Action& action) {
  auto a = std::make_shared<SynthOptions>();
  auto threads = std::make_shared<int>(0);
  auto shard_mb = std::make_shared<int64_t>(4096);
  CLI::App* cmd = app.add_subcommand("synth", "Write a random-weight checkpoint (for tests and benchmarks)");
  cmd->add_option("--config", a->config, "Preset (deepseek-v2-lite, deepseek-v3, deepseek-small, deepseek-demo) or config.json")
      ->required();
  cmd->add_option("--dtype", a->dtype, "Weight type: bf16 or fp8 (128x128 block scales)")
      ->check(CLI::IsMember({"bf16", "fp8"}));
  cmd->add_option("--seed", a->seed, "Random seed");
  cmd->add_option("--layers", a->layers, "Keep only the first N layers")->check(CLI::PositiveNumber);
  cmd->add_option("--out", a->out_dir, "Output folder")->required();
  cmd->add_option("--tokenizer", a->tokenizer_dir, "Copy tokenizer.json and tokenizer_config.json from this folder");
  cmd->add_option("--shard-mb", *shard_mb, "Largest shard size in MiB")->check(CLI::PositiveNumber);
  cmd->add_option("-t,--threads", *threads, "Threads (default: all cores)");
  cmd->callback([a, threads, shard_mb, &action] {
    action = [a, threads, shard_mb] {
      a->shard_bytes = *shard_mb << 20;
      auto be = MakeCpuBackend(*threads);
      const bool tty = isatty(fileno(stderr));
      int last = -1;
      int64_t bytes = WriteSyntheticCheckpoint(*a, *be, [&](int64_t done, int64_t total) {
        int pct = static_cast<int>(100 * done / std::max<int64_t>(total, 1));
        if (tty && pct != last) std::fprintf(stderr, "\rsynth: %3d%%", pct);
        last = pct;
      });
      if (tty) std::fprintf(stderr, "\r");
      std::fprintf(stderr, "synth: wrote %.2f MB to %s\n", bytes / 1e6, a->out_dir.c_str());
      return 0;
    };
  });
}

}  // namespace dseek::cli
