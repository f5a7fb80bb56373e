// SamplingParams::Validate: the ranges vLLM and the OpenAI API accept, checked
// once when a request arrives so the sampler never sees a value it cannot use.
#include <cmath>
#include <limits>
#include <string>

#include "base/error.h"
#include "runtime/sampler.h"

namespace dseek {
namespace {

std::string Num(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s = std::to_string(v);
  // to_string pads to six decimals; trim them for readable messages.
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// `!(ok)` form throughout so that NaN always fails the check.
void Require(bool ok, std::string_view where, const std::string& field,
             const std::string& rule, double got) {
  if (!ok) {
    throw Error(std::string(where), field, rule + ", got " + Num(got));
  }
}

}  // namespace

void SamplingParams::Validate(std::string_view where) const {
  Require(temperature >= 0.0f && std::isfinite(temperature), where,
          "temperature", "must be finite and >= 0", temperature);
  Require(top_k >= 0, where, "top_k", "must be >= 0 (0 = off)", top_k);
  Require(top_p > 0.0f && top_p <= 1.0f, where, "top_p", "must be in (0, 1]",
          top_p);
  Require(min_p >= 0.0f && min_p <= 1.0f, where, "min_p", "must be in [0, 1]",
          min_p);
  Require(repetition_penalty > 0.0f && std::isfinite(repetition_penalty),
          where, "repetition_penalty", "must be finite and > 0",
          repetition_penalty);
  Require(presence_penalty >= -2.0f && presence_penalty <= 2.0f, where,
          "presence_penalty", "must be in [-2, 2]", presence_penalty);
  Require(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f, where,
          "frequency_penalty", "must be in [-2, 2]", frequency_penalty);
  Require(penalty_last_n >= -1, where, "penalty_last_n",
          "must be >= -1 (-1 = whole history, 0 = off)", penalty_last_n);
  Require(max_tokens == -1 || max_tokens >= 1, where, "max_tokens",
          "must be >= 1, or -1 for no limit", max_tokens);
  for (const auto& [id, bias] : logit_bias) {
    std::string field = "logit_bias[" + std::to_string(id) + "]";
    Require(id >= 0, where, field, "token id must be >= 0", id);
    // -inf is allowed (bans the token); +inf or NaN would poison the softmax.
    Require(!std::isnan(bias) && bias != std::numeric_limits<float>::infinity(),
            where, field, "bias must be a number below +inf", bias);
  }
  for (size_t i = 0; i < stop.size(); ++i) {
    if (stop[i].empty()) {
      throw Error(std::string(where), "stop[" + std::to_string(i) + "]",
                  "stop strings must not be empty");
    }
  }
}

}  // namespace dseek
