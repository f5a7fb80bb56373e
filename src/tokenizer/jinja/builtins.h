// jinja2's filters, tests and globals that chat templates use, plus the
// globals transformers adds (raise_exception, strftime_now) and its tojson
// override (json.dumps with ensure_ascii=False, sort_keys=False).
// Errors are JinjaError with line 0; the interpreter adds the line.
#pragma once

#include <string>

#include "tokenizer/jinja/value.h"

namespace dseek::jinja {

bool IsKnownFilter(const std::string& name);
bool IsKnownTest(const std::string& name);

Value ApplyFilter(const std::string& name, const Value& input, CallArgs& args);
bool ApplyTest(const std::string& name, const Value& input, CallArgs& args);

// range, dict, namespace, raise_exception, strftime_now.
void AddGlobals(Dict* globals);

}  // namespace dseek::jinja
