#include "format/json_config.h"

#include <cmath>

#include "base/error.h"
#include "base/mapped_file.h"

namespace dseek {

using Json = nlohmann::json;

JsonConfig JsonConfig::FromFile(const std::string& path) { return FromString(ReadTextFile(path), path); }

JsonConfig JsonConfig::FromString(const std::string& text, const std::string& origin) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    throw Error(origin, "", std::string("bad JSON: ") + e.what());
  }
  if (!j.is_object()) throw Error(origin, "", "top level is not a JSON object");
  return JsonConfig(std::move(j), origin);
}

bool JsonConfig::Has(const std::string& field) const { return j_.contains(field) && !j_[field].is_null(); }

const Json& JsonConfig::Get(const std::string& field) const {
  if (!Has(field)) throw Error(origin_, field, "required field is missing");
  return j_[field];
}

int64_t JsonConfig::Int(const std::string& field) const {
  const Json& v = Get(field);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  throw Error(origin_, field, "expected an integer, got " + v.dump());
}

double JsonConfig::Float(const std::string& field) const {
  const Json& v = Get(field);
  if (v.is_number()) return v.get<double>();
  throw Error(origin_, field, "expected a number, got " + v.dump());
}

std::string JsonConfig::String(const std::string& field) const {
  const Json& v = Get(field);
  if (v.is_string()) return v.get<std::string>();
  throw Error(origin_, field, "expected a string, got " + v.dump());
}

bool JsonConfig::Bool(const std::string& field) const {
  const Json& v = Get(field);
  if (v.is_boolean()) return v.get<bool>();
  throw Error(origin_, field, "expected true or false, got " + v.dump());
}

int64_t JsonConfig::Int(const std::string& field, int64_t def) const { return Has(field) ? Int(field) : def; }
double JsonConfig::Float(const std::string& field, double def) const { return Has(field) ? Float(field) : def; }
std::string JsonConfig::String(const std::string& field, const std::string& def) const {
  return Has(field) ? String(field) : def;
}
bool JsonConfig::Bool(const std::string& field, bool def) const { return Has(field) ? Bool(field) : def; }

int64_t JsonConfig::Size(const std::string& field, int64_t max) const {
  const int64_t v = Int(field);
  if (v <= 0) throw Error(origin_, field, "must be positive, got " + std::to_string(v));
  if (v > max)
    throw Error(origin_, field, "implausibly large (" + std::to_string(v) + ", limit " + std::to_string(max) + ")");
  return v;
}

int64_t JsonConfig::TokenId(const std::string& field) const {
  if (!Has(field)) return -1;
  const Json& v = j_[field];
  if (v.is_array()) return v.empty() || !v[0].is_number_integer() ? -1 : v[0].get<int64_t>();
  return Int(field);
}

std::optional<JsonConfig> JsonConfig::Object(const std::string& field) const {
  if (!Has(field)) return std::nullopt;
  if (!j_[field].is_object()) throw Error(origin_, field, "expected an object, got " + j_[field].dump());
  return JsonConfig(j_[field], origin_ + ": " + field);
}

}  // namespace dseek
