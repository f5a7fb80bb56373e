#include "runtime/generation_config.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace dseek {
namespace {

using nlohmann::json;

// Present and not null: the fields a file actually sets.
const json* Field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

void ReadFloat(const json& obj, const char* name, const std::string& path,
               float* out) {
  const json* v = Field(obj, name);
  if (v == nullptr) return;
  if (!v->is_number()) throw Error(path, name, "expected a number");
  *out = v->get<float>();
}

void ReadInt(const json& obj, const char* name, const std::string& path,
             int* out) {
  const json* v = Field(obj, name);
  if (v == nullptr) return;
  if (!v->is_number_integer()) throw Error(path, name, "expected an integer");
  const int64_t i = v->get<int64_t>();
  if (i < std::numeric_limits<int>::min() ||
      i > std::numeric_limits<int>::max()) {
    throw Error(path, name, "out of range: " + std::to_string(i));
  }
  *out = static_cast<int>(i);
}

}  // namespace

SamplingParams FromGenerationConfig(const std::string& path,
                                    SamplingParams base) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "", "cannot open file");
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw Error(path, "", "not valid JSON");
  if (!doc.is_object()) throw Error(path, "", "expected a JSON object");

  if (const json* v = Field(doc, "do_sample")) {
    if (!v->is_boolean()) throw Error(path, "do_sample", "expected a boolean");
    base.greedy = !v->get<bool>();
  }
  ReadFloat(doc, "temperature", path, &base.temperature);
  ReadFloat(doc, "top_p", path, &base.top_p);
  ReadInt(doc, "top_k", path, &base.top_k);
  ReadFloat(doc, "min_p", path, &base.min_p);
  ReadFloat(doc, "repetition_penalty", path, &base.repetition_penalty);
  ReadInt(doc, "max_new_tokens", path, &base.max_tokens);
  base.Validate(path);
  return base;
}

SamplingParams FromModelDir(const std::string& model_dir,
                            SamplingParams base) {
  const std::filesystem::path path =
      std::filesystem::path(model_dir) / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec) || !std::filesystem::exists(path, ec)) return base;
  return FromGenerationConfig(path.string(), std::move(base));
}

}  // namespace dseek
