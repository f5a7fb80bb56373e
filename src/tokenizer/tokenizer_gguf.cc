// Tokenizer::FromGguf: the vocabulary llama.cpp stores in GGUF metadata
// (tokenizer.ggml.*) for byte-level BPE ("gpt2") models. Rather than a second
// loader, the metadata is rewritten as the tokenizer.json / tokenizer_config.json
// pair Hugging Face would hold, and goes through the same parser:
//  - tokens with type NORMAL / BYTE / UNUSED / UNKNOWN form the BPE vocab (ids
//    are list positions; a repeated string keeps its first id), merges as stored;
//  - CONTROL (3) and USER_DEFINED (4) tokens become added tokens (CONTROL ones special);
//  - tokenizer.ggml.pre picks the pre-tokenizer regexes llama.cpp uses for it
//    (src/llama-vocab.cpp, llm_tokenizer_bpe), each a Split(Isolated) step
//    followed by ByteLevel without its own regex;
//  - bos/eos ids, add_bos_token / add_eos_token and tokenizer.chat_template
//    fill the config.
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer.h"

namespace dseek {
namespace {

using nlohmann::json;

// GPT-2's pattern, llama.cpp's default for BPE vocabularies.
constexpr const char* kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// llama.cpp's regex lists by tokenizer.ggml.pre; *known = false for a name we lack.
std::vector<std::string> PreRegexes(const std::string& pre, bool* known) {
  *known = true;
  if (pre == "deepseek-v3") {
    return {"\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
            "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"};
  }
  if (pre == "deepseek-llm") {
    return {"[\r\n]",
            // \p{LC} (cased letters) as llama.cpp spells it out, by code point so that no
            // editor's Unicode normalisation can change a range end (U+1FD3, U+2126, U+212A...).
            "\\s?[A-Za-z\\x{00B5}\\x{00C0}-\\x{00D6}\\x{00D8}-\\x{00F6}\\x{00F8}-\\x{01BA}"
            "\\x{01BC}-\\x{01BF}\\x{01C4}-\\x{0293}\\x{0295}-\\x{02AF}\\x{0370}-\\x{0373}"
            "\\x{0376}-\\x{0377}\\x{037B}-\\x{037D}\\x{037F}\\x{0386}\\x{0388}-\\x{038A}\\x{038C}"
            "\\x{038E}-\\x{03A1}\\x{03A3}-\\x{03F5}\\x{03F7}-\\x{0481}\\x{048A}-\\x{052F}"
            "\\x{0531}-\\x{0556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}"
            "\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}"
            "\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}"
            "\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}"
            "\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}"
            "\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}"
            "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}"
            "\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}"
            "\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}-\\x{2184}\\x{2C00}-\\x{2C7B}"
            "\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}-\\x{2CF3}\\x{A640}-\\x{A66D}"
            "\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}"
            "\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}"
            "\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}"
            "\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
            "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+", "\\s+$", "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+", "\\p{N}+"};
  }
  if (pre == "deepseek-coder") {
    return {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+", "\\p{N}"};
  }
  if (pre == "llama-bpe" || pre == "llama3" || pre == "dbrx" || pre == "smaug-bpe") {
    return {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
            "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
  }
  if (pre == "qwen2" || pre == "deepseek-r1-qwen") {
    return {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
            "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
  }
  if (pre == "default" || pre == "gpt-2" || pre.empty()) return {kGpt2};
  *known = false;
  return {};
}

}  // namespace

Tokenizer Tokenizer::FromGguf(const GgufFile& f) {
  const std::string& path = f.path();
  const std::string model = f.GetString("tokenizer.ggml.model").value_or("");
  if (model.empty()) throw Error(path, "tokenizer.ggml.model", "missing: the file holds no tokenizer");
  if (model != "gpt2")
    throw Error(path, "tokenizer.ggml.model", "unsupported tokenizer model '" + model + "' (gpt2, byte-level BPE)");
  const GgufArray* tokens = f.GetArray("tokenizer.ggml.tokens");
  if (!tokens || tokens->elem_type != GgufValueType::kString || tokens->size() == 0)
    throw Error(path, "tokenizer.ggml.tokens", "missing or not a list of strings");
  const GgufArray* types = f.GetArray("tokenizer.ggml.token_type");
  if (types && types->size() != tokens->size())
    throw Error(path, "tokenizer.ggml.token_type", "length differs from tokenizer.ggml.tokens");
  const GgufArray* merges = f.GetArray("tokenizer.ggml.merges");
  if (merges && merges->elem_type != GgufValueType::kString)
    throw Error(path, "tokenizer.ggml.merges", "not a list of strings");
  const std::string pre = f.GetString("tokenizer.ggml.pre").value_or("default");
  bool known = false;
  std::vector<std::string> regexes = PreRegexes(pre, &known);
  if (!known) throw Error(path, "tokenizer.ggml.pre", "unsupported pre-tokenizer '" + pre + "'");

  json vocab = json::object(), added = json::array();
  for (uint64_t i = 0; i < tokens->size(); ++i) {
    const std::string& t = tokens->strings[i];
    const int64_t type = types ? types->IntAt(i) : 1;
    if (type == 3 || type == 4) {
      if (t.empty()) continue;
      added.push_back({{"id", i}, {"content", t}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", false}, {"special", type == 3}});
    } else if (!vocab.contains(t)) {
      vocab[t] = i;
    }
  }
  json tj;
  tj["model"] = {{"type", "BPE"}, {"vocab", std::move(vocab)},
                 {"merges", merges ? json(merges->strings) : json::array()},
                 {"ignore_merges", pre == "llama-bpe" || pre == "llama3"}};
  json steps = json::array();
  for (const std::string& r : regexes)
    steps.push_back({{"type", "Split"}, {"pattern", {{"Regex", r}}}, {"behavior", "Isolated"}, {"invert", false}});
  steps.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}});
  tj["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", std::move(steps)}};
  tj["normalizer"] = nullptr;
  tj["decoder"] = {{"type", "ByteLevel"}};
  tj["added_tokens"] = std::move(added);

  json cfg = json::object();
  auto token_text = [&](const char* key) -> std::string {
    auto id = f.GetI64(key);
    if (!id) return "";
    if (*id < 0 || static_cast<uint64_t>(*id) >= tokens->size()) throw Error(path, key, "id outside the vocabulary");
    return tokens->strings[*id];
  };
  if (std::string b = token_text("tokenizer.ggml.bos_token_id"); !b.empty()) cfg["bos_token"] = b;
  if (std::string e = token_text("tokenizer.ggml.eos_token_id"); !e.empty()) cfg["eos_token"] = e;
  cfg["add_bos_token"] = f.GetBool("tokenizer.ggml.add_bos_token").value_or(false) && cfg.contains("bos_token");
  cfg["add_eos_token"] = f.GetBool("tokenizer.ggml.add_eos_token").value_or(false) && cfg.contains("eos_token");
  if (auto tmpl = f.GetString("tokenizer.chat_template")) cfg["chat_template"] = *tmpl;
  // Added-token text is not guaranteed UTF-8; replace rather than throw.
  const auto kReplace = json::error_handler_t::replace;
  return FromJsonText(tj.dump(-1, ' ', false, kReplace), cfg.dump(-1, ' ', false, kReplace), path);
}

}  // namespace dseek
