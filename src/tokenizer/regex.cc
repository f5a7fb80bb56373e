#include "tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cctype>

#include "base/error.h"
#include "tokenizer/unicode_additions.h"

namespace dseek {
namespace {

// Unicode White_Space, written for the inside of a PCRE2 character class.
constexpr std::string_view kWhiteSpace =
    "\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";
constexpr std::string_view kHexDigit = "0-9a-fA-F";

// Escapes every ASCII punctuation character; PCRE2 reads "\<punct>" as that
// character literally, and bytes >= 0x80 are copied as they are.
std::string EscapeLiteral(std::string_view text) {
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x80 && !std::isalnum(u)) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string TranslateOnigPattern(std::string_view p, bool unicode_additions) {
  std::string out;
  out.reserve(p.size() + 64);
  bool in_class = false;
  bool class_start = false;  // just after '[' or '[^': a ']' here is literal
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[++i];
      class_start = false;
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpace) : "[" + std::string(kWhiteSpace) + "]";
      } else if (e == 'S' && !in_class) {
        out += "[^" + std::string(kWhiteSpace) + "]";
      } else if (e == 'h') {
        out += in_class ? std::string(kHexDigit) : "[" + std::string(kHexDigit) + "]";
      } else if (e == 'H' && !in_class) {
        out += "[^" + std::string(kHexDigit) + "]";
      } else if ((e == 'p' || e == 'P') && i + 1 < p.size() && p[i + 1] == '{' &&
                 p.find('}', i + 1) != std::string_view::npos) {
        size_t close = p.find('}', i + 1);
        std::string_view name = p.substr(i + 2, close - i - 2);
        std::string prop = std::string("\\") + e + "{" + std::string(name) + "}";
        std::string_view extra = unicode_additions ? UnicodeAdditions(name) : "";
        i = close;
        if (extra.empty() || (in_class && e == 'P')) {
          out += prop;  // a negated property inside a class cannot take additions
        } else if (in_class) {
          out += "\\p{" + std::string(name) + "}" + std::string(extra);
        } else {
          out += (e == 'P' ? "[^" : "[") + ("\\p{" + std::string(name) + "}") +
                 std::string(extra) + "]";
        }
      } else {
        out.push_back('\\');
        out.push_back(e);
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      class_start = true;
      out.push_back(c);
      if (i + 1 < p.size() && p[i + 1] == '^') out.push_back(p[++i]);
      continue;
    }
    if (in_class && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
      // POSIX class such as [:alpha:]: copy through its closing ":]".
      size_t end = p.find(":]", i + 2);
      if (end != std::string_view::npos) {
        out.append(p.substr(i, end + 2 - i));
        i = end + 1;
        class_start = false;
        continue;
      }
    }
    if (in_class && c == ']' && !class_start) in_class = false;
    class_start = false;
    out.push_back(c);
  }
  return out;
}

struct RegexScratch::State {
  pcre2_match_data* match = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
};

RegexScratch::RegexScratch() : state_(std::make_unique<State>()) {
  state_->match = pcre2_match_data_create(1, nullptr);
  state_->context = pcre2_match_context_create(nullptr);
}

RegexScratch::~RegexScratch() {
  if (state_->jit_stack != nullptr) pcre2_jit_stack_free(state_->jit_stack);
  pcre2_match_context_free(state_->context);
  pcre2_match_data_free(state_->match);
}

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

namespace {

// Compiles `pcre` (JIT when possible) or throws naming the original pattern.
void Compile(const std::string& pcre, std::string_view pattern, const std::string& where,
             const std::string& field, pcre2_code** code, bool* jit) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  *code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pcre.data()), pcre.size(),
                        PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &err, &offset, nullptr);
  if (*code == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    throw Error(where, field,
                "regex /" + std::string(pattern) + "/ rejected at offset " +
                    std::to_string(offset) + ": " + reinterpret_cast<char*>(msg));
  }
  // JIT is an optimisation only: without it pcre2_match interprets.
  *jit = pcre2_jit_compile(*code, PCRE2_JIT_COMPLETE) == 0;
}

}  // namespace

Regex::Regex(std::string_view pattern, bool literal, const std::string& where,
             const std::string& field)
    : code_(std::make_unique<Code>()),
      pcre_pattern_(literal ? EscapeLiteral(pattern) : TranslateOnigPattern(pattern)) {
  Compile(pcre_pattern_, pattern, where, field, &code_->code, &code_->jit);
  // Classes with added ranges defeat some PCRE2 optimisations (about half
  // the speed), so text without such code points uses the plain pattern.
  std::string plain = literal ? pcre_pattern_ : TranslateOnigPattern(pattern, false);
  if (plain != pcre_pattern_) {
    plain_code_ = std::make_unique<Code>();
    Compile(plain, pattern, where, field, &plain_code_->code, &plain_code_->jit);
  }
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

bool Regex::Next(std::string_view subject, size_t* pos, uint32_t* options,
                 RegexScratch* scratch, Span* match) const {
  RegexScratch::State& st = *scratch->state_;
  const Code& code = plain_code_ && !scratch->unicode_additions ? *plain_code_ : *code_;
  // PCRE2 wants a non-null pointer even for an empty subject.
  auto* s = reinterpret_cast<PCRE2_SPTR>(subject.empty() ? "" : subject.data());
  const size_t len = subject.size();
  while (*pos <= len) {
    int rc;
    // pcre2_jit_match ignores PCRE2_ANCHORED, so the retry after an empty
    // match goes through pcre2_match.
    if (code.jit && *options == 0) {
      rc = pcre2_jit_match(code.code, s, len, *pos, 0, st.match, st.context);
      if (rc == PCRE2_ERROR_JIT_STACKLIMIT && st.jit_stack == nullptr) {
        // Long runs backtrack deeply and outgrow the default 32 KiB JIT
        // stack; a big one is made only then, as it costs a mapping.
        st.jit_stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
        if (st.jit_stack != nullptr) {
          pcre2_jit_stack_assign(st.context, nullptr, st.jit_stack);
          rc = pcre2_jit_match(code.code, s, len, *pos, 0, st.match, st.context);
        }
      }
      if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        rc = pcre2_match(code.code, s, len, *pos, PCRE2_NO_JIT | PCRE2_NO_UTF_CHECK, st.match,
                         st.context);
      }
    } else {
      rc = pcre2_match(code.code, s, len, *pos, *options | PCRE2_NO_UTF_CHECK, st.match,
                       st.context);
    }
    if (rc == PCRE2_ERROR_NOMATCH) {
      if (*options == 0) return false;
      // The empty match at `*pos` was refused; move on by one character.
      ++*pos;
      while (*pos < len && (static_cast<uint8_t>(subject[*pos]) & 0xC0) == 0x80) ++*pos;
      *options = 0;
      continue;
    }
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof(msg));
      throw Error("", "pre_tokenizer", std::string("regex match failed: ") +
                                           reinterpret_cast<char*>(msg));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.match);
    *match = {static_cast<uint32_t>(ov[0]), static_cast<uint32_t>(ov[1])};
    *pos = ov[1];
    // After an empty match, look for a non-empty one at the same place first.
    *options = ov[0] == ov[1] ? (PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED) : 0;
    return true;
  }
  return false;
}

void Regex::FindAll(std::string_view subject, RegexScratch* scratch,
                    std::vector<Span>* out) const {
  size_t pos = 0;
  uint32_t options = 0;
  Span m;
  while (Next(subject, &pos, &options, scratch, &m)) out->push_back(m);
}

bool Regex::MatchesAt(std::string_view subject, size_t pos, RegexScratch* scratch) const {
  RegexScratch::State& st = *scratch->state_;
  auto* s = reinterpret_cast<PCRE2_SPTR>(subject.empty() ? "" : subject.data());
  int rc = pcre2_match(code_->code, s, subject.size(), pos, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK,
                       st.match, st.context);
  return rc >= 0;
}

}  // namespace dseek
