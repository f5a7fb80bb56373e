#include "apps/dseek/chat_setup.h"

#include <cmath>
#include <filesystem>

#include "apps/dseek/hub_settings.h"
#include "base/error.h"
#include "base/mapped_file.h"
#include "runtime/generation_config.h"

namespace dseek::cli {

namespace fs = std::filesystem;

void SamplingFlags::Register(CLI::App* cmd) {
  SamplingParams& v = values;
  options.push_back(cmd->add_option("--temp,--temperature", v.temperature, "Temperature (0 = greedy)"));
  options.push_back(cmd->add_option("--top-k", v.top_k, "Top-k (0 = off)"));
  options.push_back(cmd->add_option("--top-p", v.top_p, "Top-p nucleus (1 = off)"));
  options.push_back(cmd->add_option("--min-p", v.min_p, "Min-p relative to the best token (0 = off)"));
  options.push_back(cmd->add_option("--repeat-penalty", v.repetition_penalty, "Repetition penalty (1 = off)"));
  options.push_back(cmd->add_option("--presence-penalty", v.presence_penalty, "Presence penalty"));
  options.push_back(cmd->add_option("--frequency-penalty", v.frequency_penalty, "Frequency penalty"));
  options.push_back(cmd->add_option("--repeat-last-n", v.penalty_last_n, "Penalty window (-1 = all)"));
  options.push_back(cmd->add_option("--seed", v.seed, "Random seed (same seed, same text)"));
  options.push_back(cmd->add_option("--stop", v.stop, "Stop string (repeatable)"));
  options.push_back(cmd->add_flag("--greedy", v.greedy, "Greedy decoding"));
  options.push_back(cmd->add_option("--logit-bias", logit_bias, "ID=BIAS added to a token's logit (repeatable)"));
  max_tokens_opt = cmd->add_option("-n,--max-tokens", max_tokens, "Most tokens to generate")->check(CLI::Range(1, 1 << 24));
}

SamplingParams SamplingFlags::Resolve(const std::string& model_dir) const {
  SamplingParams base;
  base.temperature = 0.8f;  // llama.cpp's default when the model gives none
  SamplingParams p = FromModelDir(ResolveModelPath(model_dir), base);
  auto given = [&](const char* name) {
    for (CLI::Option* o : options)
      if (o->check_name(name) && o->count() > 0) return true;
    return false;
  };
  if (given("--temp")) p.temperature = values.temperature;
  if (given("--top-k")) p.top_k = values.top_k;
  if (given("--top-p")) p.top_p = values.top_p;
  if (given("--min-p")) p.min_p = values.min_p;
  if (given("--repeat-penalty")) p.repetition_penalty = values.repetition_penalty;
  if (given("--presence-penalty")) p.presence_penalty = values.presence_penalty;
  if (given("--frequency-penalty")) p.frequency_penalty = values.frequency_penalty;
  if (given("--repeat-last-n")) p.penalty_last_n = values.penalty_last_n;
  if (given("--seed")) p.seed = values.seed;
  if (given("--stop")) p.stop = values.stop;
  if (given("--greedy")) p.greedy = values.greedy;
  for (const std::string& b : logit_bias) {
    size_t eq = b.find('=');
    try {
      if (eq == std::string::npos) throw std::invalid_argument("no '='");
      int32_t id = std::stoi(b.substr(0, eq));
      std::string val = b.substr(eq + 1);
      float bias = (val == "-inf") ? -INFINITY : std::stof(val);
      p.logit_bias[id] = bias;
    } catch (const std::exception&) {
      throw UsageError("--logit-bias: '" + b + "' is not ID=BIAS");
    }
  }
  p.max_tokens = max_tokens;
  p.Validate("command line");
  return p;
}

void ChatModelFlags::Register(CLI::App* cmd) {
  cmd->add_option("model", model, "Model folder (config.json, safetensors, tokenizer.json)")->required();
  cmd->add_option("--chat-template", chat_template, "Use this .jinja file instead of the model's template");
  cmd->add_option("-t,--threads", threads, "Threads (default: all cores)");
  cmd->add_option("-c,--ctx-size", ctx, "Context size in tokens")->check(CLI::Range(16, 1 << 24));
  tuning.Register(cmd);
}

ChatModel OpenChatModel(const ChatModelFlags& given) {
  ChatModelFlags flags = given;
  flags.model = ResolveModelPath(given.model);  // ORG/NAME[:FILE] from `dseek pull`
  ChatModel m;
  m.model_dir = flags.model;
  const bool gguf = fs::is_regular_file(flags.model) && fs::path(flags.model).extension() == ".gguf";
  if (!gguf && !fs::is_directory(flags.model))
    throw Error(flags.model, "", "no such model folder or .gguf file");
  m.tokenizer = Tokenizer::FromDir(flags.model);  // a .gguf file carries its own vocabulary
  if (!flags.chat_template.empty()) {
    m.tmpl = ChatTemplate::FromFile(flags.chat_template);
  } else if (gguf) {
    if (!m.tokenizer->chat_template().empty())
      m.tmpl = ChatTemplate::FromString(m.tokenizer->chat_template(), flags.model + ": tokenizer.chat_template");
  } else if (fs::exists(fs::path(flags.model) / "tokenizer_config.json")) {
    ChatTemplate t = ChatTemplate::FromFile(fs::path(flags.model) / "tokenizer_config.json");
    if (!t.source().empty()) m.tmpl = std::move(t);
  }
  try {
    if (gguf) throw std::runtime_error("no config.json");
    auto cfg = nlohmann::json::parse(ReadTextFile((fs::path(flags.model) / "config.json").string()));
    m.synthetic = cfg.is_object() && cfg.value("dseek_synthetic", false);
  } catch (const std::exception&) {
    // The engine below reports a broken config.json with its details.
  }
  EngineOptions opt;
  opt.threads = flags.threads;
  opt.context = flags.ctx;
  flags.tuning.ApplyTo(opt);
  m.engine = Engine::Open(flags.model, opt);
  if (static_cast<int64_t>(m.tokenizer->vocab_size()) > m.engine->facts().vocab_size)
    throw Error(flags.model, "tokenizer.json",
                "the tokenizer has " + std::to_string(m.tokenizer->vocab_size()) + " tokens but the model only " +
                    std::to_string(m.engine->facts().vocab_size));
  if (m.tokenizer->eos_id() >= 0) m.eos_ids.push_back(m.tokenizer->eos_id());
  int64_t cfg_eos = m.engine->facts().eos_token_id;
  if (cfg_eos >= 0 && cfg_eos != m.tokenizer->eos_id()) m.eos_ids.push_back(static_cast<int32_t>(cfg_eos));
  return m;
}

std::string RenderPrompt(const ChatModel& m, const nlohmann::ordered_json& messages, bool* opened_think) {
  std::string text;
  if (m.tmpl) {
    ChatTemplateInput in;
    in.messages = messages;
    in.add_generation_prompt = true;
    in.bos_token = m.tmpl->bos_token().empty() ? m.tokenizer->bos_token() : m.tmpl->bos_token();
    in.eos_token = m.tmpl->eos_token().empty() ? m.tokenizer->eos_token() : m.tmpl->eos_token();
    text = m.tmpl->Render(in);
  } else {
    // No template: plain role-prefixed turns.
    for (const auto& msg : messages)
      text += msg.value("role", std::string("user")) + ": " + msg.value("content", std::string()) + "\n";
    text += "assistant: ";
  }
  if (opened_think != nullptr) {
    size_t open = text.rfind("<think>");
    *opened_think = open != std::string::npos && text.find("</think>", open) == std::string::npos &&
                    text.find_first_not_of(" \n", open + 7) == std::string::npos;
  }
  return text;
}

}  // namespace dseek::cli
