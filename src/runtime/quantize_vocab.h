// The tokenizer.ggml.* metadata llama.cpp writes for a byte-level BPE
// ("gpt2") vocabulary, built from a Hugging Face folder's tokenizer.json,
// tokenizer_config.json (and chat_template.jinja): the inverse of
// tokenizer/tokenizer_gguf.cc, following convert_hf_to_gguf.py
// get_vocab_base and gguf-py's SpecialVocab. Part of `dseek quantize`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "format/gguf.h"

namespace dseek {

// Sets tokenizer.ggml.{model, pre, tokens, token_type, merges, bos/eos ids,
// add_bos_token, add_eos_token} and tokenizer.chat_template. The token list
// is padded to `vocab_size` with "[PAD<i>]" tokens (as llama.cpp does).
// Returns false (and sets nothing) when `dir` has no tokenizer.json; throws
// dseek::Error for a malformed or non-BPE tokenizer.
bool SetGgufVocab(GgufWriter& w, const std::string& dir, int64_t vocab_size, const nlohmann::json& config,
                  const std::string& gguf_arch);

// llama.cpp's tokenizer.ggml.pre name for a tokenizer.json pre_tokenizer
// ("deepseek-v3", "deepseek-llm", "qwen2", "llama-bpe", ... or "default").
std::string GgufPreName(const nlohmann::json& tokenizer_json);

}  // namespace dseek
