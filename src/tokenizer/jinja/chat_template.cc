#include "tokenizer/jinja/chat_template.h"

#include <fstream>
#include <sstream>

#include "base/error.h"

namespace dseek {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "", "cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// tokenizer_config.json writes tokens as "text" or as an AddedToken object.
std::string TokenText(const nlohmann::json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return "";
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string TrimBlanks(std::string_view s, bool left, bool right) {
  size_t b = 0, e = s.size();
  while (left && b < e && IsBlank(s[b])) ++b;
  while (right && e > b && IsBlank(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

ChatTemplate ChatTemplate::FromString(std::string source, std::string origin_name) {
  jinja::Template t = jinja::Template::Parse(source, std::move(origin_name));
  return ChatTemplate(std::move(source), std::move(t));
}

ChatTemplate ChatTemplate::FromFile(const std::filesystem::path& path, const std::string& name) {
  std::string text = ReadFile(path);
  if (path.extension() != ".json") return FromString(std::move(text), path.string());
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string(), "", std::string("invalid JSON: ") + e.what());
  }
  if (!config.is_object() || !config.contains("chat_template")) {
    throw Error(path.string(), "chat_template", "missing");
  }
  const nlohmann::json& ct = config["chat_template"];
  std::string source;
  if (ct.is_string()) {
    source = ct.get<std::string>();
  } else if (ct.is_array()) {
    bool found = false;
    for (const auto& entry : ct) {
      if (entry.is_object() && entry.value("name", "") == name && entry.contains("template") &&
          entry["template"].is_string()) {
        source = entry["template"].get<std::string>();
        found = true;
        break;
      }
    }
    if (!found) throw Error(path.string(), "chat_template", "no template named '" + name + "'");
  } else {
    throw Error(path.string(), "chat_template", "must be a string or a list of named templates");
  }
  ChatTemplate t = FromString(std::move(source), path.string() + ":chat_template");
  t.bos_token_ = TokenText(config, "bos_token");
  t.eos_token_ = TokenText(config, "eos_token");
  return t;
}

std::string ChatTemplate::Render(const ChatTemplateInput& input) const {
  using jinja::Value;
  jinja::Dict vars;
  vars.Set("messages", Value::FromJson(input.messages));
  vars.Set("tools", Value::FromJson(input.tools));
  vars.Set("add_generation_prompt", Value(input.add_generation_prompt));
  if (!input.bos_token.empty()) vars.Set("bos_token", Value(input.bos_token));
  if (!input.eos_token.empty()) vars.Set("eos_token", Value(input.eos_token));
  if (!input.extra.is_null()) {
    if (!input.extra.is_object()) throw Error(template_.origin(), "extra", "must be a JSON object");
    for (const auto& [k, v] : input.extra.items()) vars.Set(k, Value::FromJson(v));
  }
  return template_.Render(vars);
}

std::string StripReasoning(std::string text) {
  static constexpr std::string_view kClose = "</think>";
  size_t pos = text.rfind(kClose);
  if (pos == std::string::npos) return text;
  return text.substr(pos + kClose.size());
}

ReasoningSplit SplitReasoning(std::string_view text, bool prompt_opened_think) {
  static constexpr std::string_view kOpen = "<think>";
  static constexpr std::string_view kClose = "</think>";
  ReasoningSplit out;
  std::string_view lead = text;
  while (!lead.empty() && IsBlank(lead.front())) lead.remove_prefix(1);
  bool opened = lead.substr(0, kOpen.size()) == kOpen;
  if (opened) lead.remove_prefix(kOpen.size());
  size_t close = lead.find(kClose);
  if (close == std::string_view::npos) {
    if (opened || prompt_opened_think) {
      out.reasoning = TrimBlanks(lead, true, true);  // reasoning cut off before its end
    } else {
      out.content = std::string(text);
    }
    return out;
  }
  out.reasoning = TrimBlanks(lead.substr(0, close), true, true);
  out.content = TrimBlanks(lead.substr(close + kClose.size()), true, false);
  return out;
}

}  // namespace dseek
