// Python semantics of the operations a template applies to values: binary
// operators, attribute and item access (jinja2's getattr/getitem fallbacks),
// slicing, iteration and membership. Errors are JinjaError with line 0 (the
// interpreter fills in the line) and Python's wording, e.g.
// `can only concatenate str (not "dict") to str`.
#pragma once

#include <optional>
#include <string>

#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/value.h"

namespace dseek::jinja {

[[noreturn]] void ThrowUndefined(const Value& v);
[[noreturn]] void ThrowError(std::string reason);

// + - * / // % ** ~ == != < <= > >= in, "not in". Not "and"/"or".
Value BinaryOp(const std::string& op, const Value& a, const Value& b);
Value UnaryMinus(const Value& v, bool negate);

// `obj.name`: attribute (methods of str/dict/list, namespace attributes)
// first, then item. Missing -> Undefined with jinja2's hint.
Value GetAttr(const Value& obj, const std::string& name);
// `obj[key]`: item first, then attribute for string keys.
Value GetItem(const Value& obj, const Value& key);
Value Slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// The items a for loop visits: list items, dict keys, string characters;
// Undefined iterates as empty; anything else raises Python's TypeError text.
List Iterate(const Value& v);
bool Contains(const Value& container, const Value& item);
// len(); throws for values without a length.
int64_t Length(const Value& v);

// A bound method of a str, dict or list (`"a,b".split`), if it exists.
std::optional<Value> GetMethod(const Value& obj, const std::string& name);

// Python whitespace per str.isspace(), for strip()/split().
bool IsPyWhitespace(char32_t c);

}  // namespace dseek::jinja
