#include "tokenizer/jinja/parser.h"

#include <algorithm>
#include <initializer_list>

namespace dseek::jinja {
namespace {

class Parser {
 public:
  explicit Parser(const std::vector<Token>& toks) : t_(toks) {}

  Body ParseTemplate() {
    std::string end;
    Body body = ParseBody({}, &end, 0);
    return body;
  }

 private:
  const Token& Cur() const { return t_[pos_]; }
  const Token& Peek(size_t n = 1) const { return t_[std::min(pos_ + n, t_.size() - 1)]; }
  bool IsOp(const char* op) const {
    return Cur().type == TokenType::kOperator && Cur().value == op;
  }
  bool IsName(const char* name) const {
    return Cur().type == TokenType::kName && Cur().value == name;
  }
  [[noreturn]] void Fail(const std::string& reason) const { throw JinjaError{Cur().line, reason}; }

  std::string Describe(const Token& t) const {
    switch (t.type) {
      case TokenType::kText: return "template text";
      case TokenType::kVarBegin: return "'{{'";
      case TokenType::kVarEnd: return "end of print statement";
      case TokenType::kBlockBegin: return "'{%'";
      case TokenType::kBlockEnd: return "end of statement block";
      case TokenType::kEof: return "end of template";
      case TokenType::kString: return "string";
      default: return "'" + t.value + "'";
    }
  }

  void ExpectOp(const char* op) {
    if (!IsOp(op)) Fail(std::string("expected '") + op + "', got " + Describe(Cur()));
    ++pos_;
  }
  std::string ExpectName() {
    if (Cur().type != TokenType::kName) Fail("expected a name, got " + Describe(Cur()));
    return t_[pos_++].value;
  }
  void ExpectBlockEnd() {
    if (Cur().type != TokenType::kBlockEnd) Fail("expected end of statement block, got " + Describe(Cur()));
    ++pos_;
  }

  // Parses until `{% name %}` with name in `ends`; leaves pos_ on that name.
  Body ParseBody(std::initializer_list<const char*> ends, std::string* which, int open_line) {
    Body body;
    while (Cur().type != TokenType::kEof) {
      const Token& tok = Cur();
      if (tok.type == TokenType::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kText;
        s->line = tok.line;
        s->text = tok.value;
        body.push_back(std::move(s));
        ++pos_;
      } else if (tok.type == TokenType::kVarBegin) {
        ++pos_;
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kOutput;
        s->line = tok.line;
        s->expr = ParseTuple(true);
        if (Cur().type != TokenType::kVarEnd) Fail("expected end of print statement, got " + Describe(Cur()));
        ++pos_;
        body.push_back(std::move(s));
      } else if (tok.type == TokenType::kBlockBegin) {
        ++pos_;
        if (Cur().type != TokenType::kName) Fail("expected a tag name, got " + Describe(Cur()));
        for (const char* e : ends) {
          if (Cur().value == e) {
            *which = e;
            return body;
          }
        }
        body.push_back(ParseStatement());
      } else {
        Fail("unexpected " + Describe(tok));
      }
    }
    if (ends.size() != 0) {
      std::string expected;
      for (const char* e : ends) expected += (expected.empty() ? "'" : " or '") + std::string(e) + "'";
      throw JinjaError{open_line, "unexpected end of template: block opened here was never closed, expected " + expected};
    }
    return body;
  }

  StmtPtr ParseStatement() {
    DepthGuard guard(this);
    const Token& tok = Cur();
    auto s = std::make_unique<Stmt>();
    s->line = tok.line;
    const std::string& tag = tok.value;
    if (tag == "if") {
      ++pos_;
      s->kind = Stmt::Kind::kIf;
      s->conds.push_back(ParseTuple(false));
      ExpectBlockEnd();
      while (true) {
        std::string which;
        s->bodies.push_back(ParseBody({"elif", "else", "endif"}, &which, s->line));
        ++pos_;
        if (which == "elif") {
          s->conds.push_back(ParseTuple(false));
          ExpectBlockEnd();
          continue;
        }
        if (which == "else") {
          ExpectBlockEnd();
          s->else_body = ParseBody({"endif"}, &which, s->line);
          ++pos_;
        }
        ExpectBlockEnd();
        break;
      }
    } else if (tag == "for") {
      ++pos_;
      s->kind = Stmt::Kind::kFor;
      s->targets = ParseTargetNames();
      if (!IsName("in")) Fail("expected 'in' in for loop, got " + Describe(Cur()));
      ++pos_;
      s->expr = ParseTuple(false);
      if (IsName("if")) {
        ++pos_;
        s->cond = ParseExpression(true);
      }
      if (IsName("recursive")) Fail("unsupported construct: recursive for loop");
      ExpectBlockEnd();
      std::string which;
      s->bodies.push_back(ParseBody({"else", "endfor"}, &which, s->line));
      ++pos_;
      if (which == "else") {
        ExpectBlockEnd();
        s->else_body = ParseBody({"endfor"}, &which, s->line);
        ++pos_;
      }
      ExpectBlockEnd();
    } else if (tag == "set") {
      ++pos_;
      std::string first = ExpectName();
      if (IsOp(".")) {
        ++pos_;
        s->attr = ExpectName();
        s->targets.push_back(first);
      } else {
        s->targets.push_back(first);
        while (IsOp(",")) {
          ++pos_;
          s->targets.push_back(ExpectName());
        }
      }
      if (IsOp("=")) {
        ++pos_;
        s->kind = Stmt::Kind::kSet;
        s->expr = ParseTuple(true);
        ExpectBlockEnd();
      } else {
        if (Cur().type != TokenType::kBlockEnd) Fail("unsupported construct: filtered set block");
        if (s->targets.size() != 1 || !s->attr.empty()) Fail("set block needs a single name");
        ExpectBlockEnd();
        s->kind = Stmt::Kind::kSetBlock;
        std::string which;
        s->bodies.push_back(ParseBody({"endset"}, &which, s->line));
        ++pos_;
        ExpectBlockEnd();
      }
    } else if (tag == "macro") {
      ++pos_;
      s->kind = Stmt::Kind::kMacro;
      s->name = ExpectName();
      ExpectOp("(");
      while (!IsOp(")")) {
        if (!s->params.empty()) ExpectOp(",");
        if (IsOp(")")) break;
        std::string pname = ExpectName();
        ExprPtr def;
        if (IsOp("=")) {
          ++pos_;
          def = ParseExpression(true);
        }
        s->params.emplace_back(pname, std::move(def));
      }
      ++pos_;
      ExpectBlockEnd();
      std::string which;
      s->bodies.push_back(ParseBody({"endmacro"}, &which, s->line));
      ++pos_;
      if (Cur().type == TokenType::kName && Cur().value == s->name) ++pos_;
      ExpectBlockEnd();
    } else if (tag == "break" || tag == "continue") {
      ++pos_;
      s->kind = tag == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
      ExpectBlockEnd();
    } else if (tag == "generation") {
      // transformers' AssistantTracker tag: only marks spans, renders as is.
      ++pos_;
      s->kind = Stmt::Kind::kPassthrough;
      ExpectBlockEnd();
      std::string which;
      s->bodies.push_back(ParseBody({"endgeneration"}, &which, s->line));
      ++pos_;
      ExpectBlockEnd();
    } else {
      static const char* kKnown[] = {"block", "extends", "include", "import", "from", "call",
                                     "filter", "with", "autoescape", "print", "do"};
      for (const char* k : kKnown) {
        if (tag == k) Fail("unsupported construct: '{% " + tag + " %}' tag");
      }
      if (tag.rfind("end", 0) == 0 || tag == "else" || tag == "elif") {
        Fail("unexpected '{% " + tag + " %}': no open block it could close");
      }
      Fail("unknown tag '" + tag + "'");
    }
    return s;
  }

  std::vector<std::string> ParseTargetNames() {
    std::vector<std::string> names;
    bool paren = IsOp("(");
    if (paren) ++pos_;
    names.push_back(ExpectName());
    while (IsOp(",")) {
      ++pos_;
      if (Cur().type != TokenType::kName) break;
      names.push_back(ExpectName());
    }
    if (paren) ExpectOp(")");
    return names;
  }

  ExprPtr Make(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  bool AtExprEnd() const {
    const Token& c = Cur();
    if (c.type == TokenType::kVarEnd || c.type == TokenType::kBlockEnd || c.type == TokenType::kEof) return true;
    return c.type == TokenType::kOperator && (c.value == ")" || c.value == "]" || c.value == "}");
  }

  // expr [, expr ...] -> a tuple when there is a comma.
  ExprPtr ParseTuple(bool with_condexpr) {
    int line = Cur().line;
    ExprPtr first = ParseExpression(with_condexpr);
    if (!IsOp(",")) return first;
    auto tup = Make(Expr::Kind::kTuple, line);
    tup->args.push_back(std::move(first));
    while (IsOp(",")) {
      ++pos_;
      if (AtExprEnd() || IsName("in")) break;
      tup->args.push_back(ParseExpression(with_condexpr));
    }
    return tup;
  }

  // Bounds recursion so a hostile template cannot overflow the stack.
  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) {
      if (++p->depth_ > kMaxDepth) p->Fail("template nested too deeply");
    }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };
  static constexpr int kMaxDepth = 200;

  ExprPtr ParseExpression(bool with_condexpr) {
    DepthGuard guard(this);
    ExprPtr e = ParseOr();
    if (!with_condexpr) return e;
    while (IsName("if")) {
      int line = Cur().line;
      ++pos_;
      auto c = Make(Expr::Kind::kCond, line);
      ExprPtr cond = ParseOr();
      ExprPtr other;
      if (IsName("else")) {
        ++pos_;
        other = ParseExpression(true);
      }
      c->args.push_back(std::move(cond));
      c->args.push_back(std::move(e));
      c->args.push_back(std::move(other));
      e = std::move(c);
    }
    return e;
  }

  ExprPtr Binary(std::string op, ExprPtr l, ExprPtr r, int line) {
    auto b = Make(Expr::Kind::kBinary, line);
    b->name = std::move(op);
    b->args.push_back(std::move(l));
    b->args.push_back(std::move(r));
    return b;
  }

  ExprPtr ParseOr() {
    ExprPtr l = ParseAnd();
    while (IsName("or")) {
      int line = Cur().line;
      ++pos_;
      l = Binary("or", std::move(l), ParseAnd(), line);
    }
    return l;
  }

  ExprPtr ParseAnd() {
    ExprPtr l = ParseNot();
    while (IsName("and")) {
      int line = Cur().line;
      ++pos_;
      l = Binary("and", std::move(l), ParseNot(), line);
    }
    return l;
  }

  ExprPtr ParseNot() {
    if (IsName("not")) {
      DepthGuard guard(this);
      auto u = Make(Expr::Kind::kUnary, Cur().line);
      ++pos_;
      u->name = "not";
      u->args.push_back(ParseNot());
      return u;
    }
    return ParseCompare();
  }

  // Comparisons chain as in Python: `a < b < c` is `a < b and b < c`, with b
  // evaluated once.
  ExprPtr ParseCompare() {
    int line = Cur().line;
    std::vector<ExprPtr> operands;
    std::vector<std::string> ops;
    operands.push_back(ParseMath1());
    while (true) {
      std::string op;
      if (Cur().type == TokenType::kOperator &&
          (Cur().value == "==" || Cur().value == "!=" || Cur().value == "<" ||
           Cur().value == "<=" || Cur().value == ">" || Cur().value == ">=")) {
        op = Cur().value;
        ++pos_;
      } else if (IsName("in")) {
        op = "in";
        ++pos_;
      } else if (IsName("not") && Peek().type == TokenType::kName && Peek().value == "in") {
        op = "not in";
        pos_ += 2;
      } else {
        break;
      }
      ops.push_back(op);
      operands.push_back(ParseMath1());
    }
    if (ops.empty()) return std::move(operands[0]);
    if (ops.size() == 1) return Binary(ops[0], std::move(operands[0]), std::move(operands[1]), line);
    auto c = Make(Expr::Kind::kCompare, line);
    c->args = std::move(operands);
    c->ops = std::move(ops);
    return c;
  }

  ExprPtr ParseMath1() {
    ExprPtr l = ParseConcat();
    while (IsOp("+") || IsOp("-")) {
      std::string op = Cur().value;
      int line = Cur().line;
      ++pos_;
      l = Binary(op, std::move(l), ParseConcat(), line);
    }
    return l;
  }

  ExprPtr ParseConcat() {
    ExprPtr l = ParseMath2();
    while (IsOp("~")) {
      int line = Cur().line;
      ++pos_;
      l = Binary("~", std::move(l), ParseMath2(), line);
    }
    return l;
  }

  ExprPtr ParseMath2() {
    ExprPtr l = ParsePow();
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      std::string op = Cur().value;
      int line = Cur().line;
      ++pos_;
      l = Binary(op, std::move(l), ParsePow(), line);
    }
    return l;
  }

  ExprPtr ParsePow() {
    ExprPtr l = ParseUnary(true);
    while (IsOp("**")) {
      int line = Cur().line;
      ++pos_;
      l = Binary("**", std::move(l), ParseUnary(true), line);
    }
    return l;
  }

  ExprPtr ParseUnary(bool with_filter) {
    DepthGuard guard(this);
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      node = Make(Expr::Kind::kUnary, Cur().line);
      node->name = Cur().value;
      ++pos_;
      node->args.push_back(ParseUnary(false));
    } else {
      node = ParsePrimary();
    }
    node = ParsePostfix(std::move(node));
    if (with_filter) node = ParseFilterExpr(std::move(node));
    return node;
  }

  ExprPtr ParsePrimary() {
    const Token& tok = Cur();
    int line = tok.line;
    switch (tok.type) {
      case TokenType::kName: {
        ++pos_;
        auto lit = Make(Expr::Kind::kLiteral, line);
        if (tok.value == "true" || tok.value == "True") lit->literal = Value(true);
        else if (tok.value == "false" || tok.value == "False") lit->literal = Value(false);
        else if (tok.value == "none" || tok.value == "None") lit->literal = Value::None();
        else {
          lit->kind = Expr::Kind::kName;
          lit->name = tok.value;
        }
        return lit;
      }
      case TokenType::kString: {
        std::string s;
        while (Cur().type == TokenType::kString) s += t_[pos_++].value;
        auto lit = Make(Expr::Kind::kLiteral, line);
        lit->literal = Value(std::move(s));
        return lit;
      }
      case TokenType::kInt: {
        ++pos_;
        auto lit = Make(Expr::Kind::kLiteral, line);
        try {
          lit->literal = Value(static_cast<int64_t>(std::stoll(tok.value)));
        } catch (...) {
          Fail("integer literal out of range: " + tok.value);
        }
        return lit;
      }
      case TokenType::kFloat: {
        ++pos_;
        auto lit = Make(Expr::Kind::kLiteral, line);
        lit->literal = Value(std::stod(tok.value));
        return lit;
      }
      case TokenType::kOperator:
        if (tok.value == "(") {
          ++pos_;
          if (IsOp(")")) {
            ++pos_;
            return Make(Expr::Kind::kTuple, line);
          }
          ExprPtr inner = ParseExpression(true);
          if (IsOp(",")) {
            auto tup = Make(Expr::Kind::kTuple, line);
            tup->args.push_back(std::move(inner));
            while (IsOp(",")) {
              ++pos_;
              if (IsOp(")")) break;
              tup->args.push_back(ParseExpression(true));
            }
            inner = std::move(tup);
          }
          ExpectOp(")");
          return inner;
        }
        if (tok.value == "[") {
          ++pos_;
          auto list = Make(Expr::Kind::kList, line);
          while (!IsOp("]")) {
            if (!list->args.empty()) ExpectOp(",");
            if (IsOp("]")) break;
            list->args.push_back(ParseExpression(true));
          }
          ++pos_;
          return list;
        }
        if (tok.value == "{") {
          ++pos_;
          auto dict = Make(Expr::Kind::kDict, line);
          while (!IsOp("}")) {
            if (!dict->args.empty()) ExpectOp(",");
            if (IsOp("}")) break;
            dict->args.push_back(ParseExpression(true));
            ExpectOp(":");
            dict->args.push_back(ParseExpression(true));
          }
          ++pos_;
          return dict;
        }
        break;
      default:
        break;
    }
    Fail("unexpected " + Describe(tok));
  }

  ExprPtr ParsePostfix(ExprPtr node) {
    while (true) {
      int line = Cur().line;
      if (IsOp(".")) {
        ++pos_;
        if (Cur().type == TokenType::kName) {
          auto g = Make(Expr::Kind::kGetAttr, line);
          g->name = t_[pos_++].value;
          g->args.push_back(std::move(node));
          node = std::move(g);
        } else if (Cur().type == TokenType::kInt) {
          auto g = Make(Expr::Kind::kGetItem, line);
          auto idx = Make(Expr::Kind::kLiteral, line);
          idx->literal = Value(static_cast<int64_t>(std::stoll(t_[pos_++].value)));
          g->args.push_back(std::move(node));
          g->args.push_back(std::move(idx));
          node = std::move(g);
        } else {
          Fail("expected an attribute name after '.', got " + Describe(Cur()));
        }
      } else if (IsOp("[")) {
        ++pos_;
        node = ParseSubscript(std::move(node), line);
      } else if (IsOp("(")) {
        node = ParseCall(std::move(node), Expr::Kind::kCall, line);
      } else {
        return node;
      }
    }
  }

  ExprPtr ParseSubscript(ExprPtr obj, int line) {
    ExprPtr parts[3];
    int part = 0;
    bool is_slice = false;
    while (!IsOp("]")) {
      if (IsOp(":")) {
        is_slice = true;
        if (++part > 2) Fail("invalid slice");
        ++pos_;
        continue;
      }
      if (parts[part]) Fail("expected ']' or ':' in subscript, got " + Describe(Cur()));
      parts[part] = ParseExpression(true);
      if (IsOp(",")) Fail("unsupported construct: tuple subscript");
    }
    ++pos_;
    if (!is_slice) {
      if (!parts[0]) Fail("empty subscript");
      auto g = Make(Expr::Kind::kGetItem, line);
      g->args.push_back(std::move(obj));
      g->args.push_back(std::move(parts[0]));
      return g;
    }
    auto s = Make(Expr::Kind::kSlice, line);
    s->args.push_back(std::move(obj));
    for (auto& p : parts) s->args.push_back(std::move(p));
    return s;
  }

  // Parses `(args...)` into `node` of kind kCall (callee = args[0]) or fills
  // the arguments of an existing filter/test node.
  void ParseArgs(Expr* target) {
    ExpectOp("(");
    bool first = true;
    while (!IsOp(")")) {
      if (!first) ExpectOp(",");
      first = false;
      if (IsOp(")")) break;
      if (IsOp("*") || IsOp("**")) Fail("unsupported construct: *args / **kwargs in call");
      if (Cur().type == TokenType::kName && Peek().type == TokenType::kOperator && Peek().value == "=") {
        std::string key = t_[pos_].value;
        pos_ += 2;
        target->kwargs.emplace_back(key, ParseExpression(true));
      } else {
        if (!target->kwargs.empty()) Fail("positional argument follows keyword argument");
        target->args.push_back(ParseExpression(true));
      }
    }
    ++pos_;
  }

  ExprPtr ParseCall(ExprPtr callee, Expr::Kind kind, int line) {
    auto c = Make(kind, line);
    c->args.push_back(std::move(callee));
    ParseArgs(c.get());
    return c;
  }

  ExprPtr ParseFilterExpr(ExprPtr node) {
    while (true) {
      int line = Cur().line;
      if (IsOp("|")) {
        ++pos_;
        auto f = Make(Expr::Kind::kFilter, line);
        f->name = ExpectName();
        while (IsOp(".")) {
          ++pos_;
          f->name += "." + ExpectName();
        }
        f->args.push_back(std::move(node));
        if (IsOp("(")) ParseArgs(f.get());
        node = std::move(f);
      } else if (IsName("is")) {
        ++pos_;
        auto t = Make(Expr::Kind::kTest, line);
        if (IsName("not")) {
          t->negated = true;
          ++pos_;
        }
        t->name = ExpectName();
        t->args.push_back(std::move(node));
        const Token& c = Cur();
        bool arg_start = c.type == TokenType::kName || c.type == TokenType::kString ||
                         c.type == TokenType::kInt || c.type == TokenType::kFloat ||
                         (c.type == TokenType::kOperator && (c.value == "[" || c.value == "{"));
        if (IsOp("(")) {
          ParseArgs(t.get());
        } else if (arg_start && !IsName("else") && !IsName("or") && !IsName("and")) {
          if (IsName("is")) Fail("You cannot chain multiple tests with is");
          t->args.push_back(ParsePostfix(ParsePrimary()));
        }
        node = std::move(t);
      } else if (IsOp("(")) {
        node = ParseCall(std::move(node), Expr::Kind::kCall, line);
      } else {
        return node;
      }
    }
  }

  const std::vector<Token>& t_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body Parse(const std::vector<Token>& tokens) { return Parser(tokens).ParseTemplate(); }

}  // namespace dseek::jinja
