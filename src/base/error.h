// Errors that travel up from any layer: (file, field or tensor, reason).
// Only apps/ and api/ turn them into exit codes or HTTP statuses; nothing below
// them calls exit(). Thread-safe: plain value types.
#pragma once

#include <stdexcept>
#include <string>

namespace dseek {

class Error : public std::runtime_error {
 public:
  // `where` is the file (or other source) the bad input came from, `field` the
  // tensor name, JSON field or argument; either may be empty.
  Error(std::string where, std::string field, std::string reason);

  const std::string& where() const { return where_; }
  const std::string& field() const { return field_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string where_;
  std::string field_;
  std::string reason_;
};

// A command-line mistake: apps map it to exit code 2 rather than 1.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& msg) : std::runtime_error(msg) {}
};

}  // namespace dseek
