// Sampling defaults from a model's own Hugging Face generation_config.json
// (DeepSeek-R1 ships temperature 0.6, top_p 0.95 there): read, not hard-coded.
// Fields read: do_sample, temperature, top_p, top_k, min_p,
// repetition_penalty, max_new_tokens. A field that is absent or null leaves
// `base` as it was; do_sample=false makes the result greedy. Everything else
// in the file (eos_token_id, transformers_version, ...) is ignored here.
// Pure functions; the result is validated.
#pragma once

#include <string>

#include "runtime/sampler.h"

namespace dseek {

// Throws dseek::Error(path, field, reason) if the file cannot be read, is not
// a JSON object, has a field of the wrong type, or a value out of range.
SamplingParams FromGenerationConfig(const std::string& path,
                                    SamplingParams base);

// As above for `model_dir`/generation_config.json, but a model without that
// file is normal (many have none): then returns `base` unchanged.
SamplingParams FromModelDir(const std::string& model_dir, SamplingParams base);

}  // namespace dseek
