// Typed, checked access to a JSON configuration file (config.json and the
// like). Every failed lookup names the file and the field. No model knowledge:
// the architecture code decides which fields it needs. Immutable; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace dseek {

class JsonConfig {
 public:
  static JsonConfig FromFile(const std::string& path);
  static JsonConfig FromString(const std::string& text, const std::string& origin);

  const std::string& origin() const { return origin_; }
  const nlohmann::json& data() const { return j_; }
  bool Has(const std::string& field) const;  // present and not null

  // Required fields: throw dseek::Error if missing or of the wrong type.
  int64_t Int(const std::string& field) const;
  double Float(const std::string& field) const;
  std::string String(const std::string& field) const;
  bool Bool(const std::string& field) const;
  // Optional fields: the default when missing or null; wrong type still throws.
  int64_t Int(const std::string& field, int64_t def) const;
  double Float(const std::string& field, double def) const;
  std::string String(const std::string& field, const std::string& def) const;
  bool Bool(const std::string& field, bool def) const;
  // A required size in 1..max (configs past any real model would overflow
  // products or allocate terabytes before the weights could disagree).
  int64_t Size(const std::string& field, int64_t max) const;
  // A token id that may be given as a list (eos_token_id): the first entry;
  // -1 when absent.
  int64_t TokenId(const std::string& field) const;
  // A nested object as its own config (origin "file: field"); nullopt when absent/null.
  std::optional<JsonConfig> Object(const std::string& field) const;

 private:
  JsonConfig(nlohmann::json j, std::string origin) : j_(std::move(j)), origin_(std::move(origin)) {}
  const nlohmann::json& Get(const std::string& field) const;
  nlohmann::json j_;
  std::string origin_;
};

}  // namespace dseek
