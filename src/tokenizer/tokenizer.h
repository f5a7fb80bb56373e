// dseek::Tokenizer: the byte-level BPE tokenizer of a Hugging Face
// tokenizer.json (DeepSeek V2/V3/R1 and other GPT-2-style byte-level files),
// plus the BOS/EOS rules and chat template of tokenizer_config.json.
//
// Encode: invalid UTF-8 is first repaired (each bad sequence -> U+FFFD, the
// way Rust's String::from_utf8_lossy does: HF only accepts Rust Strings, so
// this is what Python callers get from `bytes.decode(errors="replace")`);
// then added tokens are cut out, the rest is pre-tokenized with the file's
// regexes (PCRE2, see regex.h) and merged by BPE.
// Decode: token bytes are concatenated and invalid UTF-8 becomes U+FFFD.
//
// Depends on base/ only. A Tokenizer is an immutable handle (copies share
// the loaded data) and is safe to use from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dseek {

class GgufFile;

class Tokenizer {
 public:
  // Loads tokenizer.json and, when given, tokenizer_config.json. Throws
  // dseek::Error(path, field, reason) for unreadable, malformed or
  // unsupported files.
  static Tokenizer FromFile(const std::string& tokenizer_json,
                            const std::optional<std::string>& tokenizer_config_json = {});
  // A model directory: tokenizer.json, plus tokenizer_config.json and
  // chat_template.jinja when present. A path to a .gguf file: FromGguf.
  static Tokenizer FromDir(const std::string& dir);
  // The vocabulary in a GGUF file's metadata (tokenizer.ggml.model "gpt2":
  // tokens, merges, token types, pre-tokenizer name, BOS/EOS, chat template),
  // so a .gguf file alone is enough to chat. See tokenizer_gguf.cc.
  static Tokenizer FromGguf(const GgufFile& file);
  // The same from file contents; `where` names the source in errors.
  static Tokenizer FromJsonText(std::string_view tokenizer_json, std::string_view config_json,
                                const std::string& where = "tokenizer.json");

  // `add_special`: add BOS/EOS as the config says (HF add_special_tokens).
  std::vector<int32_t> Encode(std::string_view text, bool add_special) const;
  // Unknown ids are skipped, as HF does. `skip_special` drops special tokens.
  std::string Decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

  // The token as written in the vocab ("Ġworld") or an added token's content;
  // empty for an unknown id.
  std::string TokenText(int32_t id) const;
  // The bytes the token decodes to (may be part of a UTF-8 character).
  std::string TokenBytes(int32_t id) const;
  // Id of an added token's content or of a vocab entry.
  std::optional<int32_t> TokenId(std::string_view token) const;
  bool IsSpecial(int32_t id) const;

  int32_t bos_id() const;  // -1 when there is none
  int32_t eos_id() const;  // -1 when there is none
  const std::string& bos_token() const;
  const std::string& eos_token() const;
  bool add_bos() const;
  bool add_eos() const;
  // The Jinja chat template, empty when the files have none.
  const std::string& chat_template() const;
  // One past the highest id (vocab and added tokens).
  size_t vocab_size() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  friend class StreamDecoder;
  std::shared_ptr<const Impl> impl_;
};

// Turns ids produced one at a time into text, holding back the bytes of an
// unfinished UTF-8 character until the next token completes it. The
// concatenation of all Push() results and Finish() equals Decode() of all
// ids. Not thread-safe; one per stream.
class StreamDecoder {
 public:
  explicit StreamDecoder(Tokenizer tokenizer, bool skip_special = false);

  // Text that became complete with this token (often empty mid-character).
  std::string Push(int32_t id);
  // Flushes what is held back; an unfinished character becomes U+FFFD.
  std::string Finish();

 private:
  Tokenizer tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace dseek
