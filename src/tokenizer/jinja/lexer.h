// Splits a template into text and tag tokens with jinja2's whitespace rules as
// Hugging Face configures them: trim_blocks and lstrip_blocks on, `-`/`+`
// modifiers, "\r\n" normalised to "\n", one trailing newline dropped
// (keep_trailing_newline=False), `{% raw %}` passed through verbatim.
#pragma once

#include <string>
#include <vector>

namespace dseek::jinja {

enum class TokenType {
  kText,        // literal template text (already whitespace-processed)
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,      // value holds the unescaped text
  kInt,
  kFloat,
  kOperator,    // value holds the operator spelling: "+", "//", "(", ...
  kEof,
};

struct Token {
  TokenType type;
  std::string value;
  int line;
};

// Internal error with the 1-based source line; Template turns it into a
// dseek::Error naming the template. line 0 means "fill in the caller's line".
struct JinjaError {
  int line;
  std::string reason;
};

// Throws JinjaError on an unterminated tag, comment or string, or a character
// that starts no token.
std::vector<Token> Tokenize(const std::string& source);

}  // namespace dseek::jinja
