// Internal: the data behind a dseek::Tokenizer handle, shared by
// tokenizer.cc (encode/decode) and tokenizer_load.cc (parsing). Immutable
// once built, apart from the BPE cache, which locks.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace dseek {

struct Tokenizer::Impl {
  std::unique_ptr<BpeModel> model;
  std::optional<PreTokenizer> pre_tokenizer;
  std::vector<AddedToken> added;  // as listed in tokenizer.json
  std::optional<AddedTokenMatcher> matcher;

  // Indexed by id, over vocab and added tokens: decoded bytes, flags.
  std::vector<std::string> id_bytes;
  std::vector<uint8_t> id_known;
  std::vector<uint8_t> id_special;
  std::vector<int32_t> added_index;  // index into `added`, or -1
  std::unordered_map<std::string, int32_t> added_ids;  // content -> id

  std::vector<int32_t> prefix_ids;  // added by Encode(add_special=true)
  std::vector<int32_t> suffix_ids;
  bool add_bos = false;
  bool add_eos = false;
  std::string bos_token;
  std::string eos_token;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  std::string chat_template;

  std::optional<int32_t> TokenId(std::string_view token) const;
  std::string TokenText(int32_t id) const;
};

}  // namespace dseek
