// Parsing tokenizer.json / tokenizer_config.json into Tokenizer::Impl.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer_impl.h"

namespace dseek {
namespace {

using nlohmann::json;

json ParseJson(std::string_view text, const std::string& where) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw Error(where, "", std::string("malformed JSON: ") + e.what());
  }
}

// An empty normalizer (null or a Sequence of nothing) is all we support:
// every DeepSeek file has one, and a real normalizer would need offsets.
bool IsIdentityNormalizer(const json& j) {
  if (j.is_null()) return true;
  if (!j.is_object() || j.value("type", "") != "Sequence") return false;
  auto it = j.find("normalizers");
  if (it == j.end() || !it->is_array()) return false;
  for (const json& n : *it) {
    if (!IsIdentityNormalizer(n)) return false;
  }
  return true;
}

void CheckDecoder(const json& j, const std::string& where) {
  if (j.is_object() && j.value("type", "") == "ByteLevel") return;
  if (j.is_object() && j.value("type", "") == "Sequence") {
    auto it = j.find("decoders");
    if (it != j.end() && it->is_array() && it->size() == 1) return CheckDecoder((*it)[0], where);
  }
  throw Error(where, "decoder", "only the ByteLevel decoder is supported");
}

bool Flag(const json& j, const char* key, const std::string& where, const std::string& field) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw Error(where, field + "." + key, "expected a boolean");
  return it->get<bool>();
}

std::vector<AddedToken> ParseAddedTokens(const json& j, const std::string& where) {
  std::vector<AddedToken> out;
  if (j.is_null()) return out;
  if (!j.is_array()) throw Error(where, "added_tokens", "expected an array");
  for (size_t i = 0; i < j.size(); ++i) {
    const json& t = j[i];
    std::string field = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object()) throw Error(where, field, "expected an object");
    auto id = t.find("id");
    auto content = t.find("content");
    if (id == t.end() || !id->is_number_integer() || id->get<int64_t>() < 0 ||
        id->get<int64_t>() >= INT32_MAX) {
      throw Error(where, field + ".id", "expected a non-negative integer");
    }
    if (content == t.end() || !content->is_string() || content->get<std::string>().empty()) {
      throw Error(where, field + ".content", "expected a non-empty string");
    }
    AddedToken a;
    a.id = static_cast<int32_t>(id->get<int64_t>());
    a.content = content->get<std::string>();
    a.single_word = Flag(t, "single_word", where, field);
    a.lstrip = Flag(t, "lstrip", where, field);
    a.rstrip = Flag(t, "rstrip", where, field);
    a.normalized = Flag(t, "normalized", where, field);
    a.special = Flag(t, "special", where, field);
    out.push_back(std::move(a));
  }
  return out;
}

// The `single` template of a TemplateProcessing post-processor: ids of the
// special tokens before and after the text ($A).
void ParseTemplate(const json& pp, const std::string& where, Tokenizer::Impl* impl) {
  auto single = pp.find("single");
  auto specials = pp.find("special_tokens");
  if (single == pp.end() || !single->is_array()) {
    throw Error(where, "post_processor.single", "expected an array");
  }
  bool seen_sequence = false;
  for (const json& piece : *single) {
    if (piece.contains("Sequence")) {
      seen_sequence = true;
      continue;
    }
    auto st = piece.find("SpecialToken");
    if (st == piece.end() || !st->is_object() || !st->contains("id")) {
      throw Error(where, "post_processor.single", "expected Sequence or SpecialToken entries");
    }
    std::string name = (*st)["id"].get<std::string>();
    if (specials == pp.end() || !specials->contains(name) || !(*specials)[name].contains("ids")) {
      throw Error(where, "post_processor.special_tokens", "no ids for \"" + name + "\"");
    }
    for (const json& id : (*specials)[name]["ids"]) {
      (seen_sequence ? impl->suffix_ids : impl->prefix_ids).push_back(id.get<int32_t>());
    }
  }
}

void ParsePostProcessor(const json& pp, const std::string& where, Tokenizer::Impl* impl) {
  if (pp.is_null()) return;
  std::string type = pp.is_object() ? pp.value("type", "") : "";
  if (type == "ByteLevel") return;  // only adjusts offsets
  if (type == "TemplateProcessing") return ParseTemplate(pp, where, impl);
  if (type == "Sequence" && pp.contains("processors") && pp["processors"].is_array()) {
    for (const json& p : pp["processors"]) ParsePostProcessor(p, where, impl);
    return;
  }
  throw Error(where, "post_processor", "unsupported post-processor \"" + type + "\"");
}

// bos_token / eos_token are a string or {"content": ...} (AddedToken).
std::string TokenContent(const json& cfg, const char* key, const std::string& where) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  throw Error(where, key, "expected a string or an object with \"content\"");
}

void ParseConfig(std::string_view text, const std::string& where, Tokenizer::Impl* impl) {
  json cfg = ParseJson(text, where);
  if (!cfg.is_object()) throw Error(where, "", "expected a JSON object");
  impl->bos_token = TokenContent(cfg, "bos_token", where);
  impl->eos_token = TokenContent(cfg, "eos_token", where);
  if (auto id = impl->TokenId(impl->bos_token); id && !impl->bos_token.empty()) impl->bos_id = *id;
  if (auto id = impl->TokenId(impl->eos_token); id && !impl->eos_token.empty()) impl->eos_id = *id;
  if (auto it = cfg.find("chat_template"); it != cfg.end()) {
    if (it->is_string()) {
      impl->chat_template = it->get<std::string>();
    } else if (it->is_array()) {
      // Named templates: [{"name": "default", "template": "..."}, ...].
      for (const json& t : *it) {
        if (t.is_object() && t.value("name", "") == "default" && t.contains("template")) {
          impl->chat_template = t["template"].get<std::string>();
        }
      }
    }
  }
  // transformers rebuilds the post-processor from add_bos_token /
  // add_eos_token when the config sets them (LlamaTokenizerFast and
  // PreTrainedTokenizerFast), overriding tokenizer.json's.
  bool has_bos_flag = cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean();
  bool has_eos_flag = cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean();
  if (!has_bos_flag && !has_eos_flag) return;
  impl->add_bos = has_bos_flag && cfg["add_bos_token"].get<bool>();
  impl->add_eos = has_eos_flag && cfg["add_eos_token"].get<bool>();
  if (impl->add_bos && impl->bos_id < 0) {
    throw Error(where, "bos_token", "add_bos_token is true but the BOS token is not in the vocab");
  }
  if (impl->add_eos && impl->eos_id < 0) {
    throw Error(where, "eos_token", "add_eos_token is true but the EOS token is not in the vocab");
  }
  impl->prefix_ids.clear();
  impl->suffix_ids.clear();
  if (impl->add_bos) impl->prefix_ids.push_back(impl->bos_id);
  if (impl->add_eos) impl->suffix_ids.push_back(impl->eos_id);
}

// Builds the shared data; `config_json` may be empty (no config file).
std::shared_ptr<Tokenizer::Impl> BuildImpl(std::string_view tokenizer_json,
                                           const std::string& where,
                                           std::string_view config_json,
                                           const std::string& config_where) {
  auto impl = std::make_shared<Tokenizer::Impl>();
  {
    json j = ParseJson(tokenizer_json, where);
    if (!j.is_object()) throw Error(where, "", "expected a JSON object");
    if (!j.contains("model")) throw Error(where, "model", "missing");
    impl->model = BpeModel::FromJson(j["model"], where);
    if (!IsIdentityNormalizer(j.value("normalizer", json()))) {
      throw Error(where, "normalizer", "only an empty normalizer is supported");
    }
    auto pre = j.find("pre_tokenizer");
    if (pre == j.end() || pre->is_null()) {
      throw Error(where, "pre_tokenizer", "missing (byte-level BPE needs ByteLevel)");
    }
    impl->pre_tokenizer.emplace(PreTokenizer::FromJson(*pre, where));
    CheckDecoder(j.value("decoder", json()), where);
    impl->added = ParseAddedTokens(j.value("added_tokens", json()), where);
    impl->matcher.emplace(impl->added);
    ParsePostProcessor(j.value("post_processor", json()), where, impl.get());
  }

  // Per-id tables over vocab and added tokens.
  const BpeModel& model = *impl->model;
  size_t n = model.id_end();
  for (const AddedToken& a : impl->added) n = std::max(n, static_cast<size_t>(a.id) + 1);
  impl->id_bytes.resize(n);
  impl->id_known.assign(n, 0);
  impl->id_special.assign(n, 0);
  impl->added_index.assign(n, -1);
  // HF's ByteLevel decoder maps a token's characters back to bytes when all
  // of them are in the alphabet and keeps its raw UTF-8 otherwise.
  auto bytes_of = [&](const std::string& token) {
    std::optional<std::string> b = model.alphabet().ToBytes(token);
    return b ? std::move(*b) : token;
  };
  for (size_t id = 0; id < model.id_end(); ++id) {
    if (const std::string* t = model.Token(static_cast<int32_t>(id))) {
      impl->id_bytes[id] = bytes_of(*t);
      impl->id_known[id] = 1;
    }
  }
  for (size_t i = 0; i < impl->added.size(); ++i) {
    const AddedToken& a = impl->added[i];
    if (impl->added_index[a.id] >= 0) continue;  // first entry for an id wins
    impl->id_bytes[a.id] = bytes_of(a.content);
    impl->id_known[a.id] = 1;
    impl->id_special[a.id] = a.special;
    impl->added_index[a.id] = static_cast<int32_t>(i);
    impl->added_ids.emplace(a.content, a.id);
  }

  if (!config_json.empty()) {
    ParseConfig(config_json, config_where, impl.get());
  } else if (impl->prefix_ids.size() == 1) {
    impl->bos_id = impl->prefix_ids[0];
    impl->bos_token = impl->TokenText(impl->bos_id);
    impl->add_bos = true;
  }
  return impl;
}

}  // namespace

Tokenizer Tokenizer::FromJsonText(std::string_view tokenizer_json, std::string_view config_json,
                                  const std::string& where) {
  return Tokenizer(BuildImpl(tokenizer_json, where, config_json, where + " (tokenizer_config)"));
}

namespace {

// A config file that exists must not be empty: empty text means "no config".
std::string ReadConfig(const std::string& path) {
  std::string cfg = ReadTextFile(path);
  if (cfg.empty()) throw Error(path, "", "empty file");
  return cfg;
}

}  // namespace

Tokenizer Tokenizer::FromFile(const std::string& tokenizer_json,
                              const std::optional<std::string>& tokenizer_config_json) {
  MappedFile tj(tokenizer_json);
  std::string_view tj_text(reinterpret_cast<const char*>(tj.data()), tj.size());
  std::string cfg = tokenizer_config_json ? ReadConfig(*tokenizer_config_json) : "";
  return Tokenizer(
      BuildImpl(tj_text, tokenizer_json, cfg, tokenizer_config_json.value_or("")));
}

Tokenizer Tokenizer::FromDir(const std::string& dir) {
  namespace fs = std::filesystem;
  // A single .gguf model file carries its tokenizer in its metadata.
  if (fs::is_regular_file(dir) && fs::path(dir).extension() == ".gguf") return FromGguf(*GgufFile::Open(dir));
  const std::string tj = (fs::path(dir) / "tokenizer.json").string();
  const std::string cfg = (fs::path(dir) / "tokenizer_config.json").string();
  const std::string jinja = (fs::path(dir) / "chat_template.jinja").string();
  MappedFile tj_file(tj);
  std::string_view tj_text(reinterpret_cast<const char*>(tj_file.data()), tj_file.size());
  std::string cfg_text = fs::exists(cfg) ? ReadConfig(cfg) : "";
  auto impl = BuildImpl(tj_text, tj, cfg_text, cfg);
  // Newer transformers save the template next to the config instead.
  if (fs::exists(jinja)) impl->chat_template = ReadTextFile(jinja);
  return Tokenizer(std::move(impl));
}

}  // namespace dseek
