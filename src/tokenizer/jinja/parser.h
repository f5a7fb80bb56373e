// Recursive-descent parser from tokens to the AST, following jinja2's
// grammar and operator precedence (filters bind tighter than `+`, `is` tests
// sit inside unary, `not x is defined` means `not (x is defined)`).
// A tag or syntax it does not know is a JinjaError naming it and its line.
#pragma once

#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace dseek::jinja {

Body Parse(const std::vector<Token>& tokens);

}  // namespace dseek::jinja
