// `dseek chat MODEL_DIR`: an interactive terminal chat. Line editing and
// history (readline), multi-line input (end a line with \ or wrap in """),
// slash commands, Ctrl-C stops the current answer (at the prompt it clears
// the line), Ctrl-D leaves. R1 reasoning is shown dimmed apart from the answer
// (--hide-thinking folds it to one line). Each answer ends with token counts
// and speed. Follow-up turns reuse the cached prefix of the conversation.
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "apps/dseek/chat_setup.h"
#include "apps/dseek/commands.h"
#include "base/error.h"
#include "base/mapped_file.h"

namespace dseek::cli {
namespace {

// Signal handlers can only reach process-wide state; this flag is the one
// mutable global, confined to the interactive front end.
std::atomic<bool> g_interrupted{false};

void OnSigint(int) { g_interrupted.store(true); }

// Called by readline when a signal interrupted its read: clear the line.
int OnReadlineSignal() {
  if (g_interrupted.exchange(false)) {
    rl_replace_line("", 0);
    rl_crlf();
    rl_on_new_line();
    rl_redisplay();
  }
  return 0;
}

const char* kHelp =
    "commands:\n"
    "  /help                 this text\n"
    "  /reset                forget the conversation\n"
    "  /save FILE            save the conversation as JSON\n"
    "  /load FILE            load a conversation saved with /save\n"
    "  /set NAME VALUE       temperature, top_p, top_k, min_p, max_tokens, seed,\n"
    "                        repeat_penalty, presence_penalty, frequency_penalty\n"
    "  /system TEXT          set the system prompt (and reset)\n"
    "  /exit                 leave (or Ctrl-D)\n"
    "input: end a line with \\ to continue it, or wrap several lines in \"\"\".\n"
    "Ctrl-C stops an answer.\n";

class Chat {
 public:
  Chat(ChatModel& m, SamplingParams params, int max_tokens, bool hide_thinking, std::string system)
      : m_(m), params_(std::move(params)), max_tokens_(max_tokens), hide_thinking_(hide_thinking),
        system_(std::move(system)), session_(m.engine->model(), m.engine->context()) {
    tty_ = isatty(fileno(stdout));
  }

  int Loop() {
    std::printf("dseek chat: %s (%s, %lld-token context). /help for commands, Ctrl-D to leave.\n",
                m_.model_dir.c_str(), m_.engine->facts().architecture.c_str(),
                static_cast<long long>(m_.engine->context()));
    if (m_.synthetic)
      std::printf("NOTE: this model's weights are random (made by `dseek synth`), so its replies are noise.\n"
                  "It shows the engine, tokenizer and chat template at work, not a trained model.\n");
    std::fflush(stdout);
    std::string line;
    while (ReadInput(&line)) {
      if (line.empty()) continue;
      if (line[0] == '/') {
        if (!Command(line)) break;
        continue;
      }
      Answer(line);
    }
    std::printf("\n");
    return 0;
  }

 private:
  bool ReadLine(const char* prompt, std::string* out) {
    if (!isatty(fileno(stdin))) {
      std::fputs(prompt, stdout);
      std::fflush(stdout);
      return static_cast<bool>(std::getline(std::cin, *out));
    }
    char* s = readline(prompt);
    if (s == nullptr) return false;
    *out = s;
    std::free(s);
    return true;
  }

  bool ReadInput(std::string* out) {
    std::string line;
    if (!ReadLine(">>> ", &line)) return false;
    if (line == "\"\"\"") {
      std::string all, more;
      while (ReadLine("... ", &more) && more != "\"\"\"") all += (all.empty() ? "" : "\n") + more;
      *out = all;
    } else {
      while (!line.empty() && line.back() == '\\') {
        line.pop_back();
        std::string more;
        if (!ReadLine("... ", &more)) break;
        line += "\n" + more;
      }
      *out = line;
    }
    if (!out->empty() && isatty(fileno(stdin))) add_history(out->c_str());
    return true;
  }

  bool Command(const std::string& line) {
    std::string cmd = line.substr(0, line.find(' '));
    std::string arg = line.size() > cmd.size() ? line.substr(cmd.size() + 1) : "";
    try {
      if (cmd == "/exit" || cmd == "/quit" || cmd == "/bye") return false;
      if (cmd == "/help" || cmd == "/?") {
        std::fputs(kHelp, stdout);
      } else if (cmd == "/reset" || cmd == "/clear") {
        messages_ = nlohmann::ordered_json::array();
        std::printf("conversation cleared\n");
      } else if (cmd == "/system") {
        system_ = arg;
        messages_ = nlohmann::ordered_json::array();
        std::printf("system prompt set; conversation cleared\n");
      } else if (cmd == "/save") {
        if (arg.empty()) throw UsageError("usage: /save FILE");
        nlohmann::ordered_json j = {{"system", system_}, {"messages", messages_}};
        std::ofstream f(arg);
        f << j.dump(2) << "\n";
        if (!f) throw Error(arg, "", "cannot write");
        std::printf("saved %zu messages to %s\n", messages_.size(), arg.c_str());
      } else if (cmd == "/load") {
        if (arg.empty()) throw UsageError("usage: /load FILE");
        nlohmann::ordered_json j;
        try {
          j = nlohmann::ordered_json::parse(ReadTextFile(arg));
        } catch (const nlohmann::json::exception& e) {
          throw Error(arg, "", std::string("bad JSON: ") + e.what());
        }
        if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array())
          throw Error(arg, "messages", "not a conversation saved with /save");
        for (const auto& msg : j["messages"])
          if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string() || !msg.contains("content") ||
              !msg["content"].is_string())
            throw Error(arg, "messages", "each message needs string role and content");
        messages_ = j["messages"];
        system_ = j.value("system", std::string());
        std::printf("loaded %zu messages from %s\n", messages_.size(), arg.c_str());
      } else if (cmd == "/set") {
        Set(arg);
      } else {
        std::printf("unknown command %s (/help lists them)\n", cmd.c_str());
      }
    } catch (const std::exception& e) {
      std::printf("error: %s\n", e.what());
    }
    std::fflush(stdout);
    return true;
  }

  void Set(const std::string& arg) {
    size_t sp = arg.find(' ');
    if (sp == std::string::npos) throw UsageError("usage: /set NAME VALUE");
    std::string name = arg.substr(0, sp), value = arg.substr(sp + 1);
    SamplingParams p = params_;
    int max_tokens = max_tokens_;
    try {
      if (name == "temperature" || name == "temp") p.temperature = std::stof(value);
      else if (name == "top_p") p.top_p = std::stof(value);
      else if (name == "top_k") p.top_k = std::stoi(value);
      else if (name == "min_p") p.min_p = std::stof(value);
      else if (name == "seed") p.seed = std::stoull(value);
      else if (name == "repeat_penalty") p.repetition_penalty = std::stof(value);
      else if (name == "presence_penalty") p.presence_penalty = std::stof(value);
      else if (name == "frequency_penalty") p.frequency_penalty = std::stof(value);
      else if (name == "max_tokens") max_tokens = std::stoi(value);
      else throw UsageError("unknown setting '" + name + "' (/help lists them)");
    } catch (const std::invalid_argument&) {
      throw UsageError("'" + value + "' is not a number");
    } catch (const std::out_of_range&) {
      throw UsageError("'" + value + "' is out of range");
    }
    if (max_tokens < 1) throw UsageError("max_tokens must be at least 1");
    p.max_tokens = max_tokens;
    p.Validate("/set");
    params_ = p;
    max_tokens_ = max_tokens;
    std::printf("%s = %s\n", name.c_str(), value.c_str());
  }

  void Answer(const std::string& user) {
    nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
    if (!system_.empty()) msgs.push_back({{"role", "system"}, {"content", system_}});
    for (const auto& m : messages_) msgs.push_back(m);
    msgs.push_back({{"role", "user"}, {"content", user}});
    bool opened_think = false;
    std::vector<int32_t> ids;
    try {
      ids = m_.tokenizer->Encode(RenderPrompt(m_, msgs, &opened_think), false);
    } catch (const std::exception& e) {
      std::printf("error: %s\n", e.what());
      return;
    }
    GenerationRequest req;
    req.prompt = ids;
    req.params = params_;
    req.params.seed = params_.seed + turn_++;  // a fresh draw each turn, reproducible per run
    req.eos_ids = m_.eos_ids;
    req.max_tokens = max_tokens_;
    ReasoningRouter router(opened_think);
    std::string answer;
    int64_t reasoning_chars = 0;
    bool in_reasoning_shown = false;
    auto emit = [&](bool reasoning, const std::string& s) {
      if (reasoning) {
        reasoning_chars += static_cast<int64_t>(s.size());
        if (hide_thinking_) {
          if (!in_reasoning_shown) std::fputs(Dim("(thinking...)\n").c_str(), stdout);
          in_reasoning_shown = true;
        } else {
          std::fputs(Dim(s).c_str(), stdout);
        }
      } else {
        if (reasoning_chars > 0 && answer.empty() && !hide_thinking_) std::fputs("\n\n", stdout);
        answer += s;
        std::fwrite(s.data(), 1, s.size(), stdout);
      }
      std::fflush(stdout);
    };
    g_interrupted.store(false);
    GenerationResult r;
    try {
      r = Generate(session_, *m_.tokenizer, req,
                   [&](const std::string& s) {
                     router.Feed(s, emit);
                     return true;
                   },
                   &g_interrupted);
    } catch (const std::exception& e) {
      std::printf("\nerror: %s\n", e.what());
      return;
    }
    router.Flush(emit);
    g_interrupted.store(false);
    messages_.push_back({{"role", "user"}, {"content", user}});
    messages_.push_back({{"role", "assistant"}, {"content", answer}});
    char stats[256];
    std::snprintf(stats, sizeof stats, "\n[%zu tokens, %.1f tok/s | prompt %lld tokens (%lld cached), %.1f tok/s%s]\n",
                  r.tokens.size(), r.tokens.size() / std::max(r.decode_seconds, 1e-9),
                  static_cast<long long>(r.prompt_tokens), static_cast<long long>(r.cached_tokens),
                  (r.prompt_tokens - r.cached_tokens) / std::max(r.prefill_seconds, 1e-9),
                  r.finish_reason == "cancelled" ? " | stopped" : r.finish_reason == "length" ? " | length limit" : "");
    std::fputs(Dim(stats).c_str(), stdout);
    std::fflush(stdout);
  }

  std::string Dim(const std::string& s) const { return tty_ ? "\x1b[2m" + s + "\x1b[0m" : s; }

  ChatModel& m_;
  SamplingParams params_;
  int max_tokens_;
  bool hide_thinking_;
  std::string system_;
  Session session_;
  nlohmann::ordered_json messages_ = nlohmann::ordered_json::array();
  uint64_t turn_ = 0;
  bool tty_ = false;
};

}  // namespace

void AddChat(CLI::App& app, Action& action) {
  struct Args {
    ChatModelFlags model;
    SamplingFlags sampling;
    std::string system;
    bool hide_thinking = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("chat", "Interactive chat in the terminal");
  a->model.Register(cmd);
  cmd->add_option("--system", a->system, "System prompt");
  cmd->add_flag("--hide-thinking", a->hide_thinking, "Fold the model's reasoning into one line");
  a->sampling.Register(cmd);
  cmd->callback([a, &action] {
    action = [a] {
      SamplingParams params = a->sampling.Resolve(a->model.model);
      ChatModel m = OpenChatModel(a->model);
      struct sigaction sa {};
      sa.sa_handler = OnSigint;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = 0;  // no SA_RESTART: let readline see the interrupted read
      sigaction(SIGINT, &sa, nullptr);
      rl_signal_event_hook = OnReadlineSignal;
      Chat chat(m, params, a->sampling.max_tokens, a->hide_thinking, a->system);
      return chat.Loop();
    };
  });
}

}  // namespace dseek::cli
