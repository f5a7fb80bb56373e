#include "tokenizer/jinja/template.h"

#include "base/error.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"

namespace dseek::jinja {
namespace {

// jinja2 rejects unknown filters and tests when compiling; so do we, so a
// template we cannot render fully fails up front instead of on some input.
void CheckExpr(const Expr* e) {
  if (!e) return;
  if (e->kind == Expr::Kind::kFilter && !IsKnownFilter(e->name)) {
    throw JinjaError{e->line, "unsupported construct: no filter named '" + e->name + "'"};
  }
  if (e->kind == Expr::Kind::kTest && !IsKnownTest(e->name)) {
    throw JinjaError{e->line, "unsupported construct: no test named '" + e->name + "'"};
  }
  for (const ExprPtr& a : e->args) CheckExpr(a.get());
  for (const auto& kv : e->kwargs) CheckExpr(kv.second.get());
}

void CheckBody(const Body& body) {
  for (const StmtPtr& s : body) {
    CheckExpr(s->expr.get());
    CheckExpr(s->cond.get());
    for (const ExprPtr& c : s->conds) CheckExpr(c.get());
    for (const Body& b : s->bodies) CheckBody(b);
    CheckBody(s->else_body);
    for (const auto& p : s->params) CheckExpr(p.second.get());
  }
}

Error ToError(const std::string& origin, const JinjaError& e) {
  return Error(origin, "line " + std::to_string(e.line), e.reason);
}

}  // namespace

Template Template::Parse(const std::string& source, std::string origin) {
  try {
    auto body = std::make_shared<Body>(jinja::Parse(Tokenize(source)));
    CheckBody(*body);
    return Template(std::move(origin), std::move(body));
  } catch (const JinjaError& e) {
    throw ToError(origin, e);
  }
}

std::string Template::Render(const Dict& variables) const {
  Dict globals;
  AddGlobals(&globals);
  for (const auto& [k, v] : variables.items()) globals.Set(k, v);
  try {
    Interpreter interp(globals);
    return interp.Render(*body_);
  } catch (const JinjaError& e) {
    throw ToError(origin_, e);
  }
}

}  // namespace dseek::jinja
