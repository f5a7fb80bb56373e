// Code points that newer Unicode versions put in a general category but
// PCRE2 10.42's tables (Unicode 14.0) leave unassigned: letters, marks,
// digits, punctuation and symbols (emoji such as U+1FAE8) added in Unicode
// 15.0 through 17.0. The regex translation adds them to `\p{..}` so that
// pieces match recent engines (the fixtures' JavaScript and Python `regex`
// runs). Only additions are listed: between 14.0 and 17.0 no code point left
// L, M, N, P or S (two moved between subcategories: U+0295 Ll->Lo, U+1171E
// Mn->Mc; the subcategory tables here do not subtract them).
#pragma once

#include <string_view>

namespace dseek {

// Ranges to add to the general category `name` ("L", "Lu", "So", ...), as a
// fragment for the inside of a PCRE2 character class; empty when none.
std::string_view UnicodeAdditions(std::string_view name);

// True when valid UTF-8 `text` holds any of those code points. Text without
// them matches the same with or without the additions, so the regexes can
// use the faster plain PCRE2 classes for it.
bool HasUnicodeAdditions(std::string_view text);

}  // namespace dseek
