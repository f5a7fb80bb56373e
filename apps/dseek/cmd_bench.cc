// `dseek bench MODEL [-p 512] [-n 128] [-d 0] [-t N] [-r 3] [--json]`: prompt
// processing (pp) and token generation (tg) speed, like llama-bench: mean
// and standard deviation over repetitions, with the CPU, the SIMD target and
// the weight bytes a generated token reads (so decode speed can be compared
// with the memory bandwidth).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>

#include "apps/dseek/commands.h"
#include "apps/dseek/engine_flags.h"
#include "apps/dseek/hub_settings.h"
#include "base/error.h"
#include "kernels/simd/vec_ops.h"
#include "runtime/engine.h"

namespace dseek::cli {
namespace {

std::string CpuName() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

struct Stat {
  double mean = 0, sd = 0;
};

Stat Summarize(const std::vector<double>& v) {
  Stat s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

}  // namespace

void AddBench(CLI::App& app, Action& action) {
  struct Args {
    std::string model;
    int p = 512, n = 128, d = 0, threads = 0, reps = 3;
    bool json = false, no_repack = false;
    EngineTuningFlags tuning;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prompt processing and generation speed");
  cmd->add_option("model", a->model, "Model folder or .gguf file")->required();
  cmd->add_option("-p,--n-prompt", a->p, "Prompt tokens for pp (0 to skip)")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-n,--n-gen", a->n, "Generated tokens for tg (0 to skip)")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-d,--depth", a->d, "Tokens already in the context before tg")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-t,--threads", a->threads, "Threads (default: all cores)");
  cmd->add_option("-r,--repetitions", a->reps, "Repetitions")->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", a->json, "One JSON object on stdout");
  cmd->add_flag("--no-repack", a->no_repack, "Keep GGUF weights in the file's layout (for comparison)");
  a->tuning.Register(cmd);
  cmd->callback([a, &action] {
    action = [a] {
      EngineOptions opt;
      opt.threads = a->threads;
      opt.context = std::max<int64_t>(a->p, a->d + a->n) + 1;
      opt.model.repack_weights = !a->no_repack;
      a->tuning.ApplyTo(opt);
      using Clock = std::chrono::steady_clock;
      const auto t_open = Clock::now();
      auto engine = Engine::Open(ResolveModelPath(a->model), opt);
      const double load_s = std::chrono::duration<double>(Clock::now() - t_open).count();
      Model& m = engine->model();
      const int64_t V = m.facts().vocab_size;
      std::mt19937 rng(1234);
      auto random_ids = [&](int count) {
        std::vector<int32_t> ids(count);
        for (auto& id : ids) id = static_cast<int32_t>(rng() % static_cast<uint32_t>(V));
        return ids;
      };
      std::vector<float> logits(V);
      std::vector<double> pp, tg;
      // One untimed warm-up pass pages the weights in.
      {
        auto c = m.NewCache(8);
        auto ids = random_ids(2);
        m.Forward(ids.data(), ids.size(), *c, logits.data(), false);
      }
      for (int r = 0; r < a->reps; ++r) {
        if (a->p > 0) {
          auto ids = random_ids(a->p);
          auto c = m.NewCache(a->p);
          auto t0 = Clock::now();
          m.Forward(ids.data(), ids.size(), *c, logits.data(), false);
          pp.push_back(a->p / std::chrono::duration<double>(Clock::now() - t0).count());
        }
        if (a->n > 0) {
          auto c = m.NewCache(a->d + a->n + 1);
          if (a->d > 0) {
            auto ctx = random_ids(a->d);
            m.Forward(ctx.data(), ctx.size(), *c, logits.data(), false);
          }
          int32_t tok = static_cast<int32_t>(rng() % static_cast<uint32_t>(V));
          auto t0 = Clock::now();
          for (int i = 0; i < a->n; ++i) {
            m.Forward(&tok, 1, *c, logits.data(), false);
            tok = ArgMax(logits.data(), V);
          }
          tg.push_back(a->n / std::chrono::duration<double>(Clock::now() - t0).count());
        }
      }
      const ModelFacts& f = m.facts();
      const std::string cpu = CpuName(), target = simd::ActiveTargetName();
      const int threads = engine->backend().Threads();
      Stat sp = pp.empty() ? Stat{} : Summarize(pp), st = tg.empty() ? Stat{} : Summarize(tg);
      const double gbps = st.mean * static_cast<double>(f.weight_bytes_per_token) / 1e9;
      if (a->json) {
        std::printf("{\"model\": \"%s\", \"architecture\": \"%s\", \"cpu\": \"%s\", \"simd\": \"%s\", \"threads\": %d, "
                    "\"n_prompt\": %d, \"n_gen\": %d, \"depth\": %d, \"repetitions\": %d, "
                    "\"pp_tokens_per_s\": %.3f, \"pp_sd\": %.3f, \"tg_tokens_per_s\": %.3f, \"tg_sd\": %.3f, "
                    "\"weight_bytes_per_token\": %lld, \"tg_weight_read_gb_per_s\": %.3f, \"load_s\": %.3f}\n",
                    a->model.c_str(), f.architecture.c_str(), cpu.c_str(), target.c_str(), threads, a->p, a->n, a->d,
                    a->reps, sp.mean, sp.sd, st.mean, st.sd, static_cast<long long>(f.weight_bytes_per_token), gbps, load_s);
        return 0;
      }
      std::printf("model: %s (%s, %.2fB params, %.2f GB read per generated token)\n", a->model.c_str(),
                  f.architecture.c_str(), f.params_total / 1e9, f.weight_bytes_per_token / 1e9);
      std::printf("cpu: %s, simd %s, %d threads; model loaded in %.2f s\n", cpu.c_str(), target.c_str(), threads, load_s);
      std::printf("| test            |            t/s |\n|-----------------|----------------|\n");
      if (!pp.empty()) std::printf("| pp%-13d | %7.2f ± %5.2f |\n", a->p, sp.mean, sp.sd);
      if (!tg.empty()) {
        std::string name = "tg" + std::to_string(a->n) + (a->d > 0 ? " @ d" + std::to_string(a->d) : "");
        std::printf("| %-15s | %7.2f ± %5.2f |\n", name.c_str(), st.mean, st.sd);
        std::printf("decode reads %.1f GB/s of weights\n", gbps);
      }
      return 0;
    };
  });
}

}  // namespace dseek::cli
