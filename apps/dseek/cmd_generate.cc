// `dseek generate MODEL_DIR --ids 1,2,3 -n 12 --greedy`: the new ids on one
// line, space-separated. Timing goes to stderr with --verbose.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "apps/dseek/commands.h"
#include "apps/dseek/engine_flags.h"
#include "apps/dseek/hub_settings.h"
#include "base/error.h"
#include "runtime/engine.h"

namespace dseek::cli {

void AddGenerate(CLI::App& app, Action& action) {
  struct Args {
    std::string model, ids;
    int n = 16;
    bool greedy = false, verbose = false;
    EngineTuningFlags tuning;
    int threads = 0;
    int64_t ctx = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("generate", "Continue a sequence of token ids");
  cmd->add_option("model", a->model, "Model folder")->required();
  cmd->add_option("--ids", a->ids, "Comma-separated prompt token ids")->required();
  cmd->add_option("-n,--n-new", a->n, "Number of tokens to generate")->check(CLI::Range(0, 1 << 20));
  cmd->add_flag("--greedy", a->greedy, "Greedy decoding (argmax)");
  cmd->add_option("-t,--threads", a->threads, "Threads (default: all cores)");
  cmd->add_option("-c,--ctx-size", a->ctx, "Context size (default: prompt + n)");
  cmd->add_flag("-v,--verbose", a->verbose, "Print timings to stderr");
  a->tuning.Register(cmd);
  cmd->callback([a, &action] {
    action = [a] {
      if (!a->greedy) throw UsageError("generate: only --greedy is available here (use `dseek run` for sampling)");
      std::vector<int32_t> ids = ParseIds(a->ids);
      EngineOptions opt;
      opt.threads = a->threads;
      opt.context = a->ctx > 0 ? a->ctx : static_cast<int64_t>(ids.size()) + a->n;
      a->tuning.ApplyTo(opt);
      auto engine = Engine::Open(ResolveModelPath(a->model), opt);
      using Clock = std::chrono::steady_clock;
      auto t0 = Clock::now();
      Clock::time_point t_first;
      int count = 0;
      std::vector<int32_t> out = engine->GenerateGreedy(ids, a->n, [&](int32_t) {
        if (count++ == 0) t_first = Clock::now();
      });
      auto t1 = Clock::now();
      for (size_t i = 0; i < out.size(); ++i) std::printf("%s%d", i ? " " : "", out[i]);
      std::printf("\n");
      if (a->verbose && count > 0) {
        double prefill = std::chrono::duration<double>(t_first - t0).count();
        double decode = std::chrono::duration<double>(t1 - t_first).count();
        std::fprintf(stderr, "prefill: %zu tokens in %.3f s (%.2f tok/s)\n", ids.size(), prefill, ids.size() / prefill);
        if (count > 1)
          std::fprintf(stderr, "decode: %d tokens in %.3f s (%.2f tok/s), %d threads\n", count - 1, decode,
                       (count - 1) / decode, engine->backend().Threads());
      }
      return 0;
    };
  });
}

}  // namespace dseek::cli
