// Walks a parsed template and writes its output. One Interpreter per render:
// it owns the scopes of that render and nothing else, so a Template can be
// rendered concurrently by separate interpreters.
//
// Scoping follows jinja2: a for loop gives each iteration a fresh scope
// (assignments inside do not leak out), `if` does not open a scope, macros
// run in a scope whose parent is the scope they were defined in, and
// namespace() objects are shared so `set ns.x` is seen everywhere.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace dseek::jinja {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
};

class Interpreter {
 public:
  // `globals` holds the builtin globals and the caller's variables.
  explicit Interpreter(const Dict& globals);

  // Throws JinjaError (with the line of the failing node).
  std::string Render(const Body& body);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow Exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string* out);
  Flow ExecStmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string* out);
  Flow ExecFor(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string* out);
  void ExecSet(const Stmt& s, const std::shared_ptr<Scope>& scope, Value v);
  Value MakeMacro(const Stmt& s, const std::shared_ptr<Scope>& scope);

  Value Eval(const Expr& e, const std::shared_ptr<Scope>& scope);
  Value EvalInner(const Expr& e, const std::shared_ptr<Scope>& scope);
  CallArgs EvalArgs(const Expr& e, size_t first, const std::shared_ptr<Scope>& scope);
  Value Lookup(const std::string& name, const std::shared_ptr<Scope>& scope) const;

  std::shared_ptr<Scope> root_;
  int macro_depth_ = 0;
};

}  // namespace dseek::jinja
