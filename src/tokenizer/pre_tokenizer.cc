#include "tokenizer/pre_tokenizer.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace dseek {
namespace {

// The regex ByteLevel applies when use_regex is true (GPT-2's pattern).
constexpr std::string_view kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

bool BoolField(const nlohmann::json& j, const char* key, bool fallback,
               const std::string& where, const std::string& field) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw Error(where, field + "." + key, "expected a boolean");
  return it->get<bool>();
}

SplitBehavior ParseBehavior(const nlohmann::json& j, const std::string& where,
                            const std::string& field) {
  auto it = j.find("behavior");
  if (it == j.end() || !it->is_string()) throw Error(where, field + ".behavior", "missing");
  const std::string& b = it->get_ref<const std::string&>();
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  throw Error(where, field + ".behavior", "unknown split behavior \"" + b + "\"");
}

}  // namespace

PreTokenizer PreTokenizer::FromJson(const nlohmann::json& j, const std::string& where) {
  PreTokenizer out;
  if (!j.is_object()) throw Error(where, "pre_tokenizer", "expected an object");
  std::string type = j.value("type", "");
  if (type == "Sequence") {
    auto it = j.find("pretokenizers");
    if (it == j.end() || !it->is_array() || it->empty()) {
      throw Error(where, "pre_tokenizer.pretokenizers", "expected a non-empty array");
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const nlohmann::json& step = (*it)[i];
      std::string field = "pre_tokenizer.pretokenizers[" + std::to_string(i) + "]";
      if (step.is_object() && step.value("type", "") == "Sequence") {
        throw Error(where, field, "nested Sequence pre-tokenizers are not supported");
      }
      AddStep(step, where, field, i + 1 == it->size(), &out);
    }
  } else {
    AddStep(j, where, "pre_tokenizer", true, &out);
  }
  return out;
}

void PreTokenizer::AddStep(const nlohmann::json& j, const std::string& where,
                           const std::string& field, bool last, PreTokenizer* out) {
  if (!j.is_object()) throw Error(where, field, "expected an object");
  std::string type = j.value("type", "");
  if (type == "ByteLevel") {
    // Byte-level mapping is done by the BPE stage, so it must come last.
    if (!last) throw Error(where, field, "ByteLevel must be the last pre-tokenizer");
    if (BoolField(j, "add_prefix_space", true, where, field)) {
      Step step;
      step.kind = Step::Kind::kPrefixSpace;
      out->steps_.push_back(std::move(step));
    }
    if (BoolField(j, "use_regex", true, where, field)) {
      Step step;
      step.regex.emplace(kGpt2Pattern, false, where, field);
      out->steps_.push_back(std::move(step));
    }
    return;
  }
  if (type != "Split" && type != "Digits") {
    throw Error(where, field, "unsupported pre-tokenizer type \"" + type + "\"");
  }
  if (last) {
    throw Error(where, field,
                "the last pre-tokenizer must be ByteLevel (only byte-level BPE is supported)");
  }
  Step step;
  if (type == "Split") {
    auto pat = j.find("pattern");
    if (pat == j.end() || !pat->is_object()) throw Error(where, field + ".pattern", "missing");
    if (auto re = pat->find("Regex"); re != pat->end() && re->is_string()) {
      step.regex.emplace(re->get<std::string>(), false, where, field + ".pattern.Regex");
    } else if (auto lit = pat->find("String"); lit != pat->end() && lit->is_string()) {
      step.regex.emplace(lit->get<std::string>(), true, where, field + ".pattern.String");
    } else {
      throw Error(where, field + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    step.behavior = ParseBehavior(j, where, field);
    step.invert = BoolField(j, "invert", false, where, field);
  } else {  // Digits
    // HF splits on char::is_numeric, i.e. general category N.
    bool individual = BoolField(j, "individual_digits", false, where, field);
    step.regex.emplace(individual ? "\\p{N}" : "\\p{N}+", false, where, field);
  }
  out->steps_.push_back(std::move(step));
}

void PreTokenizer::Split(std::string_view text, PreTokenizeScratch* scratch,
                         const PieceSink& sink) const {
  scratch->parts.resize(steps_.size());
  scratch->merged.resize(steps_.size());
  Run(0, text, scratch, sink);
}

void PreTokenizer::Run(size_t step, std::string_view piece, PreTokenizeScratch* scratch,
                       const PieceSink& sink) const {
  if (piece.empty()) return;
  if (step == steps_.size()) return sink(piece);
  if (steps_[step].kind == Step::Kind::kPrefixSpace) {
    if (piece.front() == ' ') return Run(step + 1, piece, scratch, sink);
    std::string spaced = " " + std::string(piece);
    return Run(step + 1, spaced, scratch, sink);
  }
  RunSplit(step, piece, scratch, sink);
}

void PreTokenizer::RunSplit(size_t step_index, std::string_view piece,
                            PreTokenizeScratch* scratch, const PieceSink& sink) const {
  const Step& step = steps_[step_index];
  auto sub = [&](Span s) { return piece.substr(s.first, s.second - s.first); };
  size_t pos = 0;
  uint32_t options = 0;
  Span m;
  if (step.behavior == SplitBehavior::kIsolated && !step.invert) {
    // The common case: gaps and matches become pieces as they are found.
    uint32_t prev = 0;
    while (step.regex->Next(piece, &pos, &options, &scratch->regex, &m)) {
      Run(step_index + 1, sub({prev, m.first}), scratch, sink);
      Run(step_index + 1, sub(m), scratch, sink);
      prev = m.second;
    }
    Run(step_index + 1, piece.substr(prev), scratch, sink);
    return;
  }
  // (span, is_match) for the piece: gaps and matches in order, as HF's
  // Pattern::find_matches produces them.
  std::vector<std::pair<Span, bool>>& parts = scratch->parts[step_index];
  parts.clear();
  uint32_t prev = 0;
  while (step.regex->Next(piece, &pos, &options, &scratch->regex, &m)) {
    if (m.first != prev) parts.push_back({{prev, m.first}, step.invert});
    parts.push_back({m, !step.invert});
    prev = m.second;
  }
  if (prev != piece.size()) {
    parts.push_back({{prev, static_cast<uint32_t>(piece.size())}, step.invert});
  }
  // Combined as HF's NormalizedString::split does for each behavior.
  std::vector<Span>& out = scratch->merged[step_index];
  out.clear();
  bool previous_match = false;
  switch (step.behavior) {
    case SplitBehavior::kRemoved:
      for (auto& [s, is_match] : parts) {
        if (!is_match) out.push_back(s);
      }
      break;
    case SplitBehavior::kIsolated:
      for (auto& [s, is_match] : parts) out.push_back(s);
      break;
    case SplitBehavior::kContiguous:
      for (auto& [s, is_match] : parts) {
        if (is_match == previous_match && !out.empty()) {
          out.back().second = s.second;
        } else {
          out.push_back(s);
        }
        previous_match = is_match;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (auto& [s, is_match] : parts) {
        if (is_match && !previous_match && !out.empty()) {
          out.back().second = s.second;
        } else {
          out.push_back(s);
        }
        previous_match = is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->second && !previous_match && !out.empty()) {
          out.back().first = it->first.first;
        } else {
          out.push_back(it->first);
        }
        previous_match = it->second;
      }
      std::reverse(out.begin(), out.end());
      break;
  }
  // Deeper steps use their own scratch entries, so `out` stays intact.
  for (const Span& s : out) Run(step_index + 1, sub(s), scratch, sink);
}

}  // namespace dseek
