// Reading Python-style call arguments (positional or keyword) in builtins.
#pragma once

#include <string>

#include "tokenizer/jinja/ops.h"
#include "tokenizer/jinja/value.h"

namespace dseek::jinja {

// The argument at `index` or named `name`; Undefined when not given.
inline Value Arg(const CallArgs& args, size_t index, const char* name) {
  if (index < args.positional.size()) return args.positional[index];
  for (const auto& [k, v] : args.keyword) {
    if (k == name) return v;
  }
  return Value();
}

inline bool HasArg(const CallArgs& args, size_t index, const char* name) {
  if (index < args.positional.size()) return true;
  for (const auto& [k, v] : args.keyword) {
    if (k == name) return true;
  }
  return false;
}

// Rejects more positional arguments than `max` (Python's TypeError wording).
inline void MaxArgs(const CallArgs& args, size_t max, const std::string& fn) {
  if (args.positional.size() > max) {
    ThrowError(fn + "() takes at most " + std::to_string(max) + " argument(s) (" +
               std::to_string(args.positional.size()) + " given)");
  }
}

inline const std::string& StringArg(const Value& v, const std::string& fn) {
  if (v.is_undefined()) {
    if (v.undefined_hint().empty()) ThrowError(fn + "() is missing a required argument");
    ThrowUndefined(v);
  }
  if (!v.is_string()) ThrowError(fn + "() argument must be str, not " + v.TypeName());
  return v.as_string();
}

}  // namespace dseek::jinja
