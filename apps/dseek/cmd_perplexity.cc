// `dseek perplexity MODEL --text-file F [--ctx N] [--batch N] [--kl-base BASE]
// [--threads N]`: llama.cpp-style perplexity over windows of the text (or of
// the token ids in --ids-file), and with --kl-base the KL-divergence of the
// token distributions against a base model. Results on stdout.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "apps/dseek/commands.h"
#include "backend/backend.h"
#include "base/error.h"
#include "model/registry.h"
#include "runtime/perplexity.h"
#include "tokenizer/tokenizer.h"

namespace dseek::cli {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path, "", "cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

void AddPerplexity(CLI::App& app, Action& action) {
  struct Args {
    std::string model, text_file, ids_file, kl_base;
    int64_t ctx = 512, batch = 512;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("perplexity", "Perplexity of a model over a text (and KL-divergence against a base)");
  cmd->add_option("model", a->model, "Model folder or .gguf file")->required();
  auto* text = cmd->add_option("--text-file", a->text_file, "Text to score (tokenized with the model's tokenizer)");
  auto* ids = cmd->add_option("--ids-file", a->ids_file, "Comma/space-separated token ids instead of text (no BOS added)");
  text->excludes(ids);
  cmd->add_option("--ctx", a->ctx, "Tokens per window (the second half of each is scored)")->check(CLI::Range(4, 1 << 20));
  cmd->add_option("--batch", a->batch, "Tokens per forward pass")->check(CLI::PositiveNumber);
  cmd->add_option("--kl-base", a->kl_base, "Base model: report KL(base || model) at the scored positions");
  cmd->add_option("-t,--threads", a->threads, "Threads (default: all cores)");
  cmd->callback([a, &action] {
    action = [a] {
      if (a->text_file.empty() == a->ids_file.empty()) throw UsageError("perplexity: give --text-file or --ids-file");
      PerplexityOptions opt;
      opt.ctx = a->ctx;
      opt.batch = a->batch;
      std::vector<int32_t> tokens;
      if (!a->text_file.empty()) {
        Tokenizer tok = Tokenizer::FromDir(a->model);
        tokens = tok.Encode(ReadAll(a->text_file), false);
        if (tok.add_bos()) opt.bos_id = tok.bos_id();
      } else {
        std::string s = ReadAll(a->ids_file);
        for (char& c : s)
          if (c == '\n' || c == '\r' || c == '\t' || c == ' ') c = ',';
        std::string compact;
        for (char c : s)
          if (!(c == ',' && (compact.empty() || compact.back() == ','))) compact += c;
        while (!compact.empty() && compact.back() == ',') compact.pop_back();
        tokens = ParseIds(compact);
      }
      auto be = MakeCpuBackend(a->threads);
      auto model = LoadModel(a->model, *be);
      std::unique_ptr<Model> base;
      if (!a->kl_base.empty()) base = LoadModel(a->kl_base, *be);
      const bool tty = isatty(fileno(stderr));
      std::fprintf(stderr, "perplexity: %zu tokens, %lld windows of %lld, scoring the second half of each\n",
                   tokens.size(), static_cast<long long>(tokens.size() / opt.ctx), static_cast<long long>(opt.ctx));
      PerplexityResult r = ComputePerplexity(*model, tokens, opt, base.get(), [&](int64_t done, int64_t total) {
        if (tty) std::fprintf(stderr, "\r[%lld/%lld]", static_cast<long long>(done), static_cast<long long>(total));
      });
      if (tty) std::fprintf(stderr, "\n");
      std::printf("windows: %lld, scored tokens: %lld\n", static_cast<long long>(r.windows), static_cast<long long>(r.scored));
      std::printf("PPL = %.4f +/- %.4f\n", r.ppl, r.ppl_se);
      if (r.has_kl) {
        std::printf("base PPL = %.4f +/- %.4f\n", r.base_ppl, r.base_ppl_se);
        std::printf("mean KLD = %.6f +/- %.6f\n", r.kl_mean, r.kl_se);
        std::printf("max KLD = %.6f\n", r.kl_max);
        std::printf("99.0%% KLD = %.6f\n", r.kl_p99);
        std::printf("median KLD = %.6f\n", r.kl_median);
        std::printf("same top token = %.3f +/- %.3f %%\n", 100 * r.top1_agree, 100 * r.top1_agree_se);
      }
      return 0;
    };
  });
}

}  // namespace dseek::cli
