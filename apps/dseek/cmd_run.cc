// `dseek run MODEL_DIR -p "prompt" [sampling flags] [--raw] [--system TEXT]`:
// one answer streamed to stdout. Reasoning (<think>...</think>) goes to
// stderr, dimmed on a terminal, so scripts get only the answer on stdout.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "apps/dseek/chat_setup.h"
#include "apps/dseek/commands.h"
#include "base/error.h"

namespace dseek::cli {

void AddRun(CLI::App& app, Action& action) {
  struct Args {
    ChatModelFlags model;
    SamplingFlags sampling;
    std::string prompt, system;
    bool raw = false, verbose = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("run", "Answer one prompt, streaming to stdout");
  a->model.Register(cmd);
  cmd->add_option("-p,--prompt", a->prompt, "The prompt")->required();
  cmd->add_option("--system", a->system, "System prompt");
  cmd->add_flag("--raw", a->raw, "Feed the prompt as is, without the chat template");
  cmd->add_flag("-v,--verbose", a->verbose, "Print token counts and speed to stderr");
  a->sampling.Register(cmd);
  cmd->callback([a, &action] {
    action = [a] {
      SamplingParams params = a->sampling.Resolve(a->model.model);
      ChatModel m = OpenChatModel(a->model);
      bool opened_think = false;
      std::string prompt;
      std::vector<int32_t> ids;
      if (a->raw) {
        ids = m.tokenizer->Encode(a->prompt, /*add_special=*/true);
      } else {
        nlohmann::ordered_json messages = nlohmann::ordered_json::array();
        if (!a->system.empty()) messages.push_back({{"role", "system"}, {"content", a->system}});
        messages.push_back({{"role", "user"}, {"content", a->prompt}});
        prompt = RenderPrompt(m, messages, &opened_think);
        ids = m.tokenizer->Encode(prompt, /*add_special=*/false);
      }
      Session session(m.engine->model(), m.engine->context());
      GenerationRequest req;
      req.prompt = ids;
      req.params = params;
      req.eos_ids = m.eos_ids;
      req.max_tokens = a->sampling.max_tokens;
      const bool dim = isatty(fileno(stderr));
      ReasoningRouter router(opened_think);
      auto emit = [&](bool reasoning, const std::string& s) {
        if (reasoning) {
          if (dim) std::fputs("\x1b[2m", stderr);
          std::fwrite(s.data(), 1, s.size(), stderr);
          if (dim) std::fputs("\x1b[0m", stderr);
          std::fflush(stderr);
        } else {
          std::fwrite(s.data(), 1, s.size(), stdout);
          std::fflush(stdout);
        }
      };
      GenerationResult r = Generate(session, *m.tokenizer, req, [&](const std::string& s) {
        if (a->raw) {
          emit(false, s);
        } else {
          router.Feed(s, emit);
        }
        return true;
      });
      router.Flush(emit);
      std::fputs("\n", stdout);
      if (a->verbose)
        std::fprintf(stderr, "[prompt %lld tokens, %.1f tok/s; answer %zu tokens, %.1f tok/s; %s]\n",
                     static_cast<long long>(r.prompt_tokens), r.prompt_tokens / std::max(r.prefill_seconds, 1e-9),
                     r.tokens.size(), r.tokens.size() / std::max(r.decode_seconds, 1e-9), r.finish_reason.c_str());
      return 0;
    };
  });
}

}  // namespace dseek::cli
