#include "runtime/quantize_vocab.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/error.h"

namespace dseek {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// llama.cpp's llama_token_type.
enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

Json ReadJson(const fs::path& p) {
  std::ifstream f(p);
  if (!f) throw Error(p.string(), "", "cannot open");
  try {
    return Json::parse(f);
  } catch (const Json::exception& e) {
    throw Error(p.string(), "", std::string("invalid JSON: ") + e.what());
  }
}

// tokenizer_config.json holds special tokens as a string or {"content": ...}.
std::string TokenContent(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return "";
}

void CollectRegexes(const Json& pre, std::string* all) {
  if (!pre.is_object()) return;
  if (pre.contains("pattern") && pre["pattern"].is_object() && pre["pattern"].contains("Regex"))
    *all += pre["pattern"]["Regex"].get<std::string>() + "\n";
  if (pre.contains("pretokenizers") && pre["pretokenizers"].is_array())
    for (const Json& p : pre["pretokenizers"]) CollectRegexes(p, all);
}

}  // namespace

std::string GgufPreName(const Json& tj) {
  std::string re;
  if (tj.contains("pre_tokenizer")) CollectRegexes(tj["pre_tokenizer"], &re);
  auto has = [&](const char* s) { return re.find(s) != std::string::npos; };
  if (has("\\p{N}{1,3}") && has("[\\p{L}\\p{M}]+")) return "deepseek-v3";
  if (has("'[sS]") && has("\\p{N}{1,3}")) return "llama-bpe";
  if (has("'[sS]") && has("\\p{N}|")) return "qwen2";
  if (has("\\s?\\p{L}+") && has("\\s?\\p{P}+")) return "deepseek-coder";
  if (has("[\r\n]") && has("\\s?[A-Za-z")) return "deepseek-llm";
  return "default";
}

bool SetGgufVocab(GgufWriter& w, const std::string& dir, int64_t vocab_size, const Json& config,
                  const std::string& gguf_arch) {
  (void)gguf_arch;
  const fs::path tpath = fs::path(dir) / "tokenizer.json";
  if (!fs::exists(tpath)) return false;
  const Json tj = ReadJson(tpath);
  const std::string where = tpath.string();
  if (!tj.contains("model") || !tj["model"].is_object() || tj["model"].value("type", "") != "BPE")
    throw Error(where, "model.type", "only byte-level BPE tokenizers can be written to GGUF");
  const Json& model = tj["model"];
  if (!model.contains("vocab") || !model["vocab"].is_object()) throw Error(where, "model.vocab", "missing");

  std::map<int64_t, std::pair<std::string, int32_t>> by_id;  // id -> (text, type)
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    if (!it.value().is_number_integer()) throw Error(where, "model.vocab", "ids must be integers");
    by_id[it.value().get<int64_t>()] = {it.key(), kNormal};
  }
  if (tj.contains("added_tokens") && tj["added_tokens"].is_array()) {
    for (const Json& a : tj["added_tokens"]) {
      if (!a.contains("id") || !a.contains("content")) continue;
      by_id[a["id"].get<int64_t>()] = {a["content"].get<std::string>(), a.value("special", false) ? kControl : kUserDefined};
    }
  }
  int64_t n = vocab_size;
  if (!by_id.empty()) n = std::max<int64_t>(n, by_id.rbegin()->first + 1);
  std::vector<std::string> tokens(static_cast<size_t>(n));
  std::vector<int32_t> types(static_cast<size_t>(n), kUserDefined);
  for (int64_t i = 0; i < n; ++i) tokens[i] = "[PAD" + std::to_string(i) + "]";
  for (const auto& [id, tt] : by_id) {
    if (id < 0) throw Error(where, "model.vocab", "negative token id");
    tokens[id] = tt.first;
    types[id] = tt.second;
  }
  std::vector<std::string> merges;
  if (model.contains("merges") && model["merges"].is_array()) {
    for (const Json& m : model["merges"]) {
      if (m.is_string()) merges.push_back(m.get<std::string>());
      else if (m.is_array() && m.size() == 2) merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      else throw Error(where, "model.merges", "a merge must be \"a b\" or [a, b]");
    }
  }
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", GgufPreName(tj));
  w.SetArray("tokenizer.ggml.tokens", GgufStringArray(std::move(tokens)));
  w.SetArray("tokenizer.ggml.token_type", GgufI32Array(types));
  w.SetArray("tokenizer.ggml.merges", GgufStringArray(std::move(merges)));

  Json tc = Json::object();
  if (fs::exists(fs::path(dir) / "tokenizer_config.json")) tc = ReadJson(fs::path(dir) / "tokenizer_config.json");
  auto id_of = [&](const std::string& text) -> int64_t {
    for (const auto& [id, tt] : by_id)
      if (tt.first == text) return id;
    return -1;
  };
  auto set_id = [&](const char* key, const char* tc_key, const char* cfg_key) {
    int64_t id = -1;
    if (tc.contains(tc_key)) id = id_of(TokenContent(tc[tc_key]));
    if (id < 0 && config.contains(cfg_key) && config[cfg_key].is_number_integer()) id = config[cfg_key].get<int64_t>();
    if (id >= 0) w.SetU32(key, static_cast<uint32_t>(id));
  };
  set_id("tokenizer.ggml.bos_token_id", "bos_token", "bos_token_id");
  set_id("tokenizer.ggml.eos_token_id", "eos_token", "eos_token_id");
  if (tc.contains("pad_token")) {
    if (int64_t id = id_of(TokenContent(tc["pad_token"])); id >= 0)
      w.SetU32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(id));
  }
  if (tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean())
    w.SetBool("tokenizer.ggml.add_bos_token", tc["add_bos_token"].get<bool>());
  if (tc.contains("add_eos_token") && tc["add_eos_token"].is_boolean())
    w.SetBool("tokenizer.ggml.add_eos_token", tc["add_eos_token"].get<bool>());
  std::string tmpl;
  if (tc.contains("chat_template")) {
    const Json& t = tc["chat_template"];
    if (t.is_string()) {
      tmpl = t.get<std::string>();
    } else if (t.is_array()) {  // [{"name": "default", "template": ...}, ...]
      for (const Json& e : t)
        if (e.value("name", "") == "default" && e.contains("template")) tmpl = e["template"].get<std::string>();
    }
  }
  if (const fs::path jp = fs::path(dir) / "chat_template.jinja"; tmpl.empty() && fs::exists(jp)) {
    std::ifstream f(jp);
    std::stringstream ss;
    ss << f.rdbuf();
    tmpl = ss.str();
  }
  if (!tmpl.empty()) w.SetString("tokenizer.chat_template", tmpl);
  return true;
}

}  // namespace dseek
