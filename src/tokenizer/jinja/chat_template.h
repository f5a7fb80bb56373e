// Chat templates: turns an OpenAI-style message list into the prompt text a
// model expects, exactly as Hugging Face's apply_chat_template renders the
// model's Jinja template (see template.h for the jinja2 configuration).
//
// Owns the parsed template; immutable, so Render is safe from many threads.
// Depends on dseek_base (errors) and nlohmann_json; nothing model-specific.
// Errors: dseek::Error(origin, field, reason): template syntax at load,
// rendering failures (undefined values, type errors, raise_exception) at Render.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja/template.h"

namespace dseek {

// The variables apply_chat_template passes. JSON fields are ordered_json
// because tojson must print object keys in the caller's order, as Python's
// dicts do (nlohmann::json sorts keys); a nlohmann::json converts implicitly,
// but then its keys arrive already sorted.
struct ChatTemplateInput {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;  // null when there are none (passed as None)
  bool add_generation_prompt = true;
  // Empty means "not passed": the variable is undefined in the template, as
  // when the tokenizer config has no such token.
  std::string bos_token;
  std::string eos_token;
  // Further variables (e.g. {"thinking": true}); must be an object or null.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

class ChatTemplate {
 public:
  // `origin_name` names the template in errors.
  static ChatTemplate FromString(std::string source, std::string origin_name);
  // A .jinja file, or a tokenizer_config.json whose chat_template is a string
  // or a list of {"name", "template"} (then `name` picks one, "default"
  // unless told). From a config, bos_token()/eos_token() are read as well.
  static ChatTemplate FromFile(const std::filesystem::path& path,
                               const std::string& name = "default");

  std::string Render(const ChatTemplateInput& input) const;

  const std::string& source() const { return source_; }
  // Tokens named by tokenizer_config.json (string or {"content": ...}); empty
  // when loaded from a .jinja file or the config has none.
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }

 private:
  ChatTemplate(std::string source, jinja::Template tmpl)
      : source_(std::move(source)), template_(std::move(tmpl)) {}

  std::string source_;
  jinja::Template template_;
  std::string bos_token_;
  std::string eos_token_;
};

// What R1-style templates keep of an assistant message sent back as history:
// the text after the last "</think>" (`content.split('</think>')[-1]`), or the
// whole text when there is none.
std::string StripReasoning(std::string text);

struct ReasoningSplit {
  std::string reasoning;  // without the <think> tags, surrounding blanks trimmed
  std::string content;    // the answer, leading blanks trimmed
};

// Splits a model reply into reasoning and answer at the first "</think>".
// `prompt_opened_think`: the generation prompt already ended in "<think>" (R1
// distills), so a reply without "</think>" is unfinished reasoning; otherwise
// such a reply is all content unless it starts with "<think>".
ReasoningSplit SplitReasoning(std::string_view text, bool prompt_opened_think = false);

}  // namespace dseek
