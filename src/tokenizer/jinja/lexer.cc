#include "tokenizer/jinja/lexer.h"

#include <cctype>
#include <cstring>

#include "tokenizer/jinja/utf8.h"

namespace dseek::jinja {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// jinja2 splits lines on \r\n, \r and \n and joins them with \n before lexing.
std::string NormalizeNewlines(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out += '\n';
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else {
      out += in[i];
    }
  }
  return out;
}

int CountNewlines(const std::string& s, size_t from, size_t to) {
  int n = 0;
  for (size_t i = from; i < to && i < s.size(); ++i) n += s[i] == '\n';
  return n;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {}

  std::vector<Token> Run() {
    while (pos_ < src_.size()) {
      size_t start = FindTagStart(pos_);
      std::string text = src_.substr(pos_, start - pos_);
      int text_line = line_;
      line_ += CountNewlines(src_, pos_, start);
      if (start == src_.size()) {
        Emit(TokenType::kText, std::move(text), text_line);
        break;
      }
      char kind = src_[start + 1];  // '{', '%' or '#'
      char sign = start + 2 < src_.size() ? src_[start + 2] : '\0';
      if (sign == '-') {
        size_t end = text.size();
        while (end > 0 && IsSpace(text[end - 1])) --end;
        text.resize(end);
      } else if (sign != '+' && kind != '{') {
        // lstrip_blocks: drop spaces/tabs between a line start and the tag.
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if (l_pos > 0 || line_starting_) {
          if (text.find_first_not_of(" \t", l_pos) == std::string::npos) text.resize(l_pos);
        }
      }
      Emit(TokenType::kText, std::move(text), text_line);
      pos_ = start + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        LexComment();
      } else if (kind == '%' && TryRaw()) {
        // handled
      } else {
        LexTag(kind == '{');
      }
    }
    tokens_.push_back({TokenType::kEof, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t FindTagStart(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return src_.size();
  }

  void Emit(TokenType type, std::string value, int line) {
    if (type == TokenType::kText && value.empty()) return;
    tokens_.push_back({type, std::move(value), line});
  }

  // After a closing delimiter: `-` strips all following whitespace, a plain
  // block/comment end eats one newline (trim_blocks), `+` keeps everything.
  void AfterClose(char sign, bool trim_newline) {
    size_t before = pos_;
    if (sign == '-') {
      while (pos_ < src_.size() && IsSpace(src_[pos_])) ++pos_;
    } else if (sign != '+' && trim_newline && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
    line_ += CountNewlines(src_, before, pos_);
    line_starting_ = pos_ > 0 && src_[pos_ - 1] == '\n' && pos_ > before;
  }

  void LexComment() {
    size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) throw JinjaError{line_, "missing end of comment tag"};
    char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    line_ += CountNewlines(src_, pos_, end);
    pos_ = end + 2;
    AfterClose(sign, true);
  }

  // `{% raw %}...{% endraw %}`: the body is text, tags in it are not parsed.
  bool TryRaw() {
    size_t p = pos_;
    while (p < src_.size() && IsSpace(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && IsSpace(src_[p])) ++p;
    char open_sign = 0;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) open_sign = src_[p++];
    if (src_.compare(p, 2, "%}") != 0) return false;
    int raw_line = line_;
    line_ += CountNewlines(src_, pos_, p + 2);
    pos_ = p + 2;
    AfterClose(open_sign, true);
    // Find `{%[-+]? endraw [-+]?%}`.
    size_t search = pos_;
    while (true) {
      size_t tag = src_.find("{%", search);
      if (tag == std::string::npos) throw JinjaError{raw_line, "missing endraw for raw block"};
      size_t q = tag + 2;
      char lsign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) lsign = src_[q++];
      while (q < src_.size() && IsSpace(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) {
        search = tag + 2;
        continue;
      }
      q += 6;
      while (q < src_.size() && IsSpace(src_[q])) ++q;
      char rsign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) rsign = src_[q++];
      if (src_.compare(q, 2, "%}") != 0) {
        search = tag + 2;
        continue;
      }
      std::string body = src_.substr(pos_, tag - pos_);
      if (lsign == '-') {
        while (!body.empty() && IsSpace(body.back())) body.pop_back();
      }
      Emit(TokenType::kText, std::move(body), line_);
      line_ += CountNewlines(src_, pos_, q + 2);
      pos_ = q + 2;
      AfterClose(rsign, true);
      return true;
    }
  }

  void LexTag(bool is_var) {
    int begin_line = line_;
    Emit(is_var ? TokenType::kVarBegin : TokenType::kBlockBegin, "", line_);
    const char* close = is_var ? "}}" : "%}";
    int depth = 0;
    while (true) {
      while (pos_ < src_.size() && IsSpace(src_[pos_])) {
        line_ += src_[pos_] == '\n';
        ++pos_;
      }
      if (pos_ >= src_.size()) {
        throw JinjaError{begin_line, std::string("unexpected end of template, expected '") +
                                         close + "'"};
      }
      if (depth == 0) {
        char sign = 0;
        size_t p = pos_;
        if (src_[p] == '-' || (!is_var && src_[p] == '+')) sign = src_[p++];
        if (src_.compare(p, 2, close) == 0) {
          pos_ = p + 2;
          Emit(is_var ? TokenType::kVarEnd : TokenType::kBlockEnd, "", line_);
          AfterClose(sign, !is_var);
          return;
        }
      }
      LexExprToken(&depth);
    }
  }

  void LexExprToken(int* depth) {
    char c = src_[pos_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t s = pos_;
      while (pos_ < src_.size() &&
             (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) {
        ++pos_;
      }
      Emit(TokenType::kName, src_.substr(s, pos_ - s), line_);
      return;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      LexNumber();
      return;
    }
    if (c == '\'' || c == '"') {
      LexString(c);
      return;
    }
    static const char* kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : kTwo) {
      if (src_.compare(pos_, 2, op) == 0) {
        Emit(TokenType::kOperator, op, line_);
        pos_ += 2;
        return;
      }
    }
    if (std::strchr("+-*/%~<>=()[]{},.:|;", c) != nullptr) {
      if (c == '(' || c == '[' || c == '{') ++*depth;
      if (c == ')' || c == ']' || c == '}') {
        if (*depth == 0) throw JinjaError{line_, std::string("unexpected '") + c + "'"};
        --*depth;
      }
      Emit(TokenType::kOperator, std::string(1, c), line_);
      ++pos_;
      return;
    }
    throw JinjaError{line_, std::string("unexpected char '") + c + "'"};
  }

  void LexNumber() {
    size_t s = pos_;
    auto digits = [&] {
      while (pos_ < src_.size() &&
             (std::isdigit(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) {
        ++pos_;
      }
    };
    digits();
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      is_float = true;
      ++pos_;
      digits();
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
        is_float = true;
        pos_ = p;
        digits();
      }
    }
    std::string text;
    for (size_t i = s; i < pos_; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    Emit(is_float ? TokenType::kFloat : TokenType::kInt, text, line_);
  }

  // Python "unicode-escape" decoding, which jinja2 applies to string literals.
  void LexString(char quote) {
    int start_line = line_;
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) throw JinjaError{start_line, "unterminated string"};
      char c = src_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c == '\n') ++line_;
      if (c != '\\' || pos_ + 1 >= src_.size()) {
        out += c;
        ++pos_;
        continue;
      }
      char e = src_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': ++line_; break;  // line continuation
        case 'x': case 'u': case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          bool ok = pos_ + n <= src_.size();
          for (size_t k = 0; ok && k < n; ++k) ok = std::isxdigit(static_cast<unsigned char>(src_[pos_ + k])) != 0;
          if (!ok) throw JinjaError{line_, "truncated \\" + std::string(1, e) + " escape in string"};
          char32_t cp = static_cast<char32_t>(std::stoul(src_.substr(pos_, n), nullptr, 16));
          if (cp > 0x10ffff) throw JinjaError{line_, "illegal Unicode character in string"};
          AppendUtf8(cp, &out);
          pos_ += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0';
            for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k) {
              v = v * 8 + (src_[pos_++] - '0');
            }
            AppendUtf8(static_cast<char32_t>(v), &out);
          } else {
            // Python keeps unknown escapes as written.
            out += '\\';
            out += e;
          }
      }
    }
    Emit(TokenType::kString, std::move(out), start_line);
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> Tokenize(const std::string& source) {
  std::string src = NormalizeNewlines(source);
  if (!src.empty() && src.back() == '\n') src.pop_back();  // keep_trailing_newline=False
  return Lexer(std::move(src)).Run();
}

}  // namespace dseek::jinja
