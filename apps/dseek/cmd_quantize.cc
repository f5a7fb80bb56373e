// `dseek quantize IN OUT --type q8_0|q4_0|q4_k|q6_k|fp8 [--keep-bf16 GLOB]...
// [--threads N]`: a Hugging Face folder or a GGUF file to a GGUF file (or, for
// fp8, a DeepSeek FP8 safetensors folder). Progress on stderr when it is a
// terminal; the output's size and bits per weight at the end (stdout).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "apps/dseek/commands.h"
#include "runtime/quantize.h"

namespace dseek::cli {

void AddQuantize(CLI::App& app, Action& action) {
  struct Args {
    std::string in, out;
    QuantizeOptions opt;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("quantize", "Quantize a model to GGUF (llama.cpp's block types) or to DeepSeek FP8");
  cmd->add_option("input", a->in, "Hugging Face model folder (BF16/FP8 safetensors) or .gguf file")->required();
  cmd->add_option("output", a->out, "Output .gguf file (a folder for --type fp8)")->required();
  cmd->add_option("--type", a->opt.type, "q8_0, q4_0, q4_k, q6_k or fp8")
      ->required()
      ->check(CLI::IsMember({"q8_0", "q4_0", "q4_k", "q6_k", "fp8"}));
  cmd->add_option("--keep-bf16", a->opt.keep_bf16, "Keep tensors whose HF name matches this glob in BF16 (repeatable)");
  cmd->add_option("-t,--threads", a->opt.threads, "Threads (default: all cores)");
  cmd->callback([a, &action] {
    action = [a] {
      const bool tty = isatty(fileno(stderr));
      int last = -1;
      QuantizeReport rep = Quantize(a->in, a->out, a->opt, [&](int64_t done, int64_t total, const std::string& name) {
        if (!tty) return;
        const int pct = static_cast<int>(100 * done / std::max<int64_t>(total, 1));
        if (pct == last && !name.empty()) return;
        last = pct;
        const int width = 30, fill = pct * width / 100;
        std::fprintf(stderr, "\r[%.*s%*s] %3d%% %-40.40s", fill, "##############################", width - fill, "", pct,
                     name.c_str());
        std::fflush(stderr);
      });
      if (tty) std::fprintf(stderr, "\r%*s\r", 80, "");
      for (const std::string& w : rep.warnings) std::fprintf(stderr, "dseek quantize: warning: %s\n", w.c_str());
      for (const auto& [type, s] : rep.by_type) {
        std::printf("  %-8s %5lld tensors %14lld weights %10.2f MB  %6.3f bits/weight\n", type.c_str(),
                    static_cast<long long>(s.tensors), static_cast<long long>(s.elements), s.bytes / 1e6,
                    s.elements > 0 ? 8.0 * static_cast<double>(s.bytes) / static_cast<double>(s.elements) : 0.0);
      }
      std::printf("%s: %.2f MB (tensors %.2f MB), %lld weights, %.3f bits per weight\n", rep.output.c_str(),
                  rep.file_bytes / 1e6, rep.tensor_bytes / 1e6, static_cast<long long>(rep.elements), rep.bits_per_weight);
      return 0;
    };
  });
}

}  // namespace dseek::cli
