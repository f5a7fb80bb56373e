// What `run` and `chat` share: the sampling flags, and a model opened together
// with its tokenizer, chat template and generation defaults.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/dseek/engine_flags.h"
#include "runtime/engine.h"
#include "runtime/generate.h"
#include "runtime/sampler.h"
#include "tokenizer/jinja/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace dseek::cli {

// Flags for sampling; only those given on the command line override the
// model's generation_config.json.
struct SamplingFlags {
  SamplingParams values;
  int max_tokens = 1024;
  std::vector<std::string> logit_bias;  // "ID=BIAS"
  std::vector<CLI::Option*> options;
  CLI::Option* max_tokens_opt = nullptr;
  void Register(CLI::App* cmd);
  // generation_config.json defaults from `model_dir`, then the given flags.
  SamplingParams Resolve(const std::string& model_dir) const;
};

struct ChatModelFlags {
  std::string model;
  std::string chat_template;  // override file
  int threads = 0;
  int64_t ctx = 4096;
  EngineTuningFlags tuning;
  void Register(CLI::App* cmd);
};

struct ChatModel {
  std::unique_ptr<Engine> engine;
  std::optional<Tokenizer> tokenizer;
  std::optional<ChatTemplate> tmpl;  // absent when the model has none
  std::vector<int32_t> eos_ids;
  std::string model_dir;
  bool synthetic = false;  // random weights from `dseek synth`
};

ChatModel OpenChatModel(const ChatModelFlags& flags);

// Renders the conversation for generation; returns the prompt text and
// whether it ends inside an opened <think> (R1 distills).
std::string RenderPrompt(const ChatModel& m, const nlohmann::ordered_json& messages, bool* opened_think);

}  // namespace dseek::cli
