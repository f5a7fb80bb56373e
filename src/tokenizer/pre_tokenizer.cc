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

void PreTokenizer::Split(std::vector<std::string_view>* pieces,
                         PreTokenizeScratch* scratch) const {
  for (const Step& step : steps_) {
    if (step.kind == Step::Kind::kPrefixSpace) {
      for (std::string_view& p : *pieces) {
        if (!p.empty() && p.front() == ' ') continue;
        scratch->arena.push_back(" " + std::string(p));
        p = scratch->arena.back();
      }
      continue;
    }
    RunSplit(step, pieces, scratch);
  }
}

void PreTokenizer::RunSplit(const Step& step, std::vector<std::string_view>* pieces,
                            PreTokenizeScratch* scratch) const {
  std::vector<std::string_view>& next = scratch->next;
  next.clear();
  std::vector<Span>& m = scratch->matches;
  // (span, is_match) for one piece: gaps and matches in order, as HF's
  // Pattern::find_matches produces them.
  std::vector<std::pair<Span, bool>> parts;
  for (std::string_view piece : *pieces) {
    m.clear();
    step.regex->FindAll(piece, &scratch->regex, &m);
    if (step.behavior == SplitBehavior::kIsolated && !step.invert) {
      // Fast path for the common case: gaps and matches become pieces.
      uint32_t prev = 0;
      for (const Span& s : m) {
        if (s.first > prev) next.push_back(piece.substr(prev, s.first - prev));
        if (s.second > s.first) next.push_back(piece.substr(s.first, s.second - s.first));
        prev = s.second;
      }
      if (prev < piece.size()) next.push_back(piece.substr(prev));
      continue;
    }
    parts.clear();
    uint32_t prev = 0;
    for (const Span& s : m) {
      if (s.first != prev) parts.push_back({{prev, s.first}, step.invert});
      parts.push_back({s, !step.invert});
      prev = s.second;
    }
    if (prev != piece.size()) {
      parts.push_back({{prev, static_cast<uint32_t>(piece.size())}, step.invert});
    }
    std::vector<Span> out;
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
    for (const Span& s : out) {
      if (s.second > s.first) next.push_back(piece.substr(s.first, s.second - s.first));
    }
  }
  pieces->swap(next);
}

}  // namespace dseek
