#include "tokenizer/jinja/interpreter.h"

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/ops.h"

namespace dseek::jinja {
namespace {

// A template calling a macro from itself without end would overflow the stack.
constexpr int kMaxMacroDepth = 200;

}  // namespace

Interpreter::Interpreter(const Dict& globals) : root_(std::make_shared<Scope>()) {
  for (const auto& [k, v] : globals.items()) root_->vars[k] = v;
}

std::string Interpreter::Render(const Body& body) {
  std::string out;
  auto top = std::make_shared<Scope>();
  top->parent = root_;
  Exec(body, top, &out);
  return out;
}

Interpreter::Flow Interpreter::Exec(const Body& body, const std::shared_ptr<Scope>& scope,
                                    std::string* out) {
  for (const StmtPtr& s : body) {
    Flow f = ExecStmt(*s, scope, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::ExecStmt(const Stmt& s, const std::shared_ptr<Scope>& scope,
                                        std::string* out) {
  switch (s.kind) {
    case Stmt::Kind::kText:
      *out += s.text;
      return Flow::kNormal;
    case Stmt::Kind::kOutput:
      *out += Eval(*s.expr, scope).Str();
      return Flow::kNormal;
    case Stmt::Kind::kIf:
      for (size_t i = 0; i < s.conds.size(); ++i) {
        if (Eval(*s.conds[i], scope).Truthy()) return Exec(s.bodies[i], scope, out);
      }
      return Exec(s.else_body, scope, out);
    case Stmt::Kind::kFor:
      return ExecFor(s, scope, out);
    case Stmt::Kind::kSet:
      ExecSet(s, scope, Eval(*s.expr, scope));
      return Flow::kNormal;
    case Stmt::Kind::kSetBlock: {
      std::string captured;
      Exec(s.bodies[0], scope, &captured);
      ExecSet(s, scope, Value(captured));
      return Flow::kNormal;
    }
    case Stmt::Kind::kMacro:
      scope->vars[s.name] = MakeMacro(s, scope);
      return Flow::kNormal;
    case Stmt::Kind::kBreak:
      return Flow::kBreak;
    case Stmt::Kind::kContinue:
      return Flow::kContinue;
    case Stmt::Kind::kPassthrough:
      return Exec(s.bodies[0], scope, out);
  }
  return Flow::kNormal;
}

void Interpreter::ExecSet(const Stmt& s, const std::shared_ptr<Scope>& scope, Value v) {
  if (!s.attr.empty()) {
    Value ns = Lookup(s.targets[0], scope);
    if (!ns.is_namespace()) {
      throw JinjaError{s.line, "cannot assign attribute on non-namespace object"};
    }
    ns.dict().Set(s.attr, std::move(v));
    return;
  }
  if (s.targets.size() == 1) {
    scope->vars[s.targets[0]] = std::move(v);
    return;
  }
  List items;
  try {
    items = Iterate(v);
  } catch (JinjaError& e) {
    e.line = s.line;
    throw;
  }
  if (items.size() != s.targets.size()) {
    throw JinjaError{s.line, (items.size() < s.targets.size() ? "not enough" : "too many") +
                                 std::string(" values to unpack (expected ") +
                                 std::to_string(s.targets.size()) + ", got " +
                                 std::to_string(items.size()) + ")"};
  }
  for (size_t i = 0; i < items.size(); ++i) scope->vars[s.targets[i]] = items[i];
}

Interpreter::Flow Interpreter::ExecFor(const Stmt& s, const std::shared_ptr<Scope>& scope,
                                       std::string* out) {
  Value seq = Eval(*s.expr, scope);
  List items;
  try {
    items = Iterate(seq);
  } catch (JinjaError& e) {
    e.line = s.line;
    throw;
  }
  auto bind = [&](const std::shared_ptr<Scope>& iter_scope, const Value& item) {
    if (s.targets.size() == 1) {
      iter_scope->vars[s.targets[0]] = item;
      return;
    }
    List parts;
    try {
      parts = Iterate(item);
    } catch (JinjaError& e) {
      e.line = s.line;
      throw;
    }
    if (parts.size() != s.targets.size()) {
      throw JinjaError{s.line, "cannot unpack " + std::to_string(parts.size()) + " values into " +
                                   std::to_string(s.targets.size()) + " loop variables"};
    }
    for (size_t i = 0; i < parts.size(); ++i) iter_scope->vars[s.targets[i]] = parts[i];
  };
  if (s.cond) {
    // `for x in xs if cond`: filtered before the loop, so loop.length counts
    // only the kept items.
    List kept;
    for (const Value& item : items) {
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      bind(probe, item);
      if (Eval(*s.cond, probe).Truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) return Exec(s.else_body, scope, out);
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    auto iter_scope = std::make_shared<Scope>();
    iter_scope->parent = scope;
    bind(iter_scope, items[i]);
    Dict loop;
    loop.Set("index", Value(i + 1));
    loop.Set("index0", Value(i));
    loop.Set("revindex", Value(n - i));
    loop.Set("revindex0", Value(n - i - 1));
    loop.Set("first", Value(i == 0));
    loop.Set("last", Value(i == n - 1));
    loop.Set("length", Value(n));
    loop.Set("depth", Value(1));
    loop.Set("depth0", Value(0));
    loop.Set("previtem", i > 0 ? items[i - 1] : Value::Undefined("there is no previous item"));
    loop.Set("nextitem", i + 1 < n ? items[i + 1] : Value::Undefined("there is no next item"));
    Callable cycle;
    cycle.name = "cycle";
    cycle.fn = [i](CallArgs& a, int) -> Value {
      if (a.positional.empty()) ThrowError("no items for cycling given");
      return a.positional[static_cast<size_t>(i) % a.positional.size()];
    };
    loop.Set("cycle", Value::MakeCallable(std::move(cycle)));
    iter_scope->vars["loop"] = Value::MakeDict(std::move(loop));
    Flow f = Exec(s.bodies[0], iter_scope, out);
    if (f == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

Value Interpreter::MakeMacro(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  Callable c;
  c.name = s.name;
  c.is_macro = true;
  const Stmt* def = &s;
  std::weak_ptr<Scope> weak = scope;  // the scope owns the macro: avoid a cycle
  c.fn = [this, def, weak](CallArgs& args, int line) -> Value {
    std::shared_ptr<Scope> closure = weak.lock();
    if (!closure) throw JinjaError{line, "macro '" + def->name + "' called after its scope ended"};
    if (args.positional.size() > def->params.size()) {
      throw JinjaError{line, "macro '" + def->name + "' takes not more than " +
                                 std::to_string(def->params.size()) + " argument(s)"};
    }
    auto local = std::make_shared<Scope>();
    local->parent = closure;
    for (size_t i = 0; i < def->params.size(); ++i) {
      const auto& [pname, pdefault] = def->params[i];
      Value v;
      bool given = false;
      if (i < args.positional.size()) {
        v = args.positional[i];
        given = true;
      }
      for (const auto& [k, kv] : args.keyword) {
        if (k == pname) {
          v = kv;
          given = true;
        }
      }
      if (!given) {
        v = pdefault ? Eval(*pdefault, local)
                     : Value::Undefined("parameter '" + pname + "' was not provided");
      }
      local->vars[pname] = v;
    }
    for (const auto& [k, _] : args.keyword) {
      bool known = false;
      for (const auto& p : def->params) known = known || p.first == k;
      if (!known) throw JinjaError{line, "macro '" + def->name + "' takes no keyword argument '" + k + "'"};
    }
    if (++macro_depth_ > kMaxMacroDepth) {
      --macro_depth_;
      throw JinjaError{line, "macro recursion too deep"};
    }
    std::string out;
    try {
      Exec(def->bodies[0], local, &out);
    } catch (...) {
      --macro_depth_;
      throw;
    }
    --macro_depth_;
    return Value(out);
  };
  return Value::MakeCallable(std::move(c));
}

Value Interpreter::Lookup(const std::string& name, const std::shared_ptr<Scope>& scope) const {
  for (const Scope* s = scope.get(); s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return it->second;
  }
  return Value::Undefined("'" + name + "' is undefined");
}

Value Interpreter::Eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
  try {
    return EvalInner(e, scope);
  } catch (JinjaError& err) {
    if (err.line == 0) err.line = e.line;
    throw;
  }
}

CallArgs Interpreter::EvalArgs(const Expr& e, size_t first, const std::shared_ptr<Scope>& scope) {
  CallArgs args;
  for (size_t i = first; i < e.args.size(); ++i) args.positional.push_back(Eval(*e.args[i], scope));
  for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, Eval(*v, scope));
  return args;
}

Value Interpreter::EvalInner(const Expr& e, const std::shared_ptr<Scope>& scope) {
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.literal;
    case Expr::Kind::kName:
      return Lookup(e.name, scope);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      List items;
      for (const ExprPtr& a : e.args) items.push_back(Eval(*a, scope));
      return e.kind == Expr::Kind::kTuple ? Value::MakeTuple(std::move(items))
                                          : Value::MakeList(std::move(items));
    }
    case Expr::Kind::kDict: {
      Dict d;
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value k = Eval(*e.args[i], scope);
        if (!k.is_string()) {
          throw JinjaError{e.args[i]->line, "unsupported construct: dict literal with a non-string key"};
        }
        d.Set(k.as_string(), Eval(*e.args[i + 1], scope));
      }
      return Value::MakeDict(std::move(d));
    }
    case Expr::Kind::kGetAttr:
      return GetAttr(Eval(*e.args[0], scope), e.name);
    case Expr::Kind::kGetItem: {
      Value obj = Eval(*e.args[0], scope);
      return GetItem(obj, Eval(*e.args[1], scope));
    }
    case Expr::Kind::kSlice: {
      Value obj = Eval(*e.args[0], scope);
      Value parts[3];
      for (int i = 0; i < 3; ++i) {
        if (e.args[1 + i]) parts[i] = Eval(*e.args[1 + i], scope);
      }
      return Slice(obj, parts[0], parts[1], parts[2]);
    }
    case Expr::Kind::kCall: {
      Value callee = Eval(*e.args[0], scope);
      CallArgs args = EvalArgs(e, 1, scope);
      if (callee.is_undefined()) ThrowUndefined(callee);
      if (!callee.is_callable()) ThrowError("'" + callee.TypeName() + "' object is not callable");
      return callee.callable().fn(args, e.line);
    }
    case Expr::Kind::kFilter: {
      Value input = Eval(*e.args[0], scope);
      CallArgs args = EvalArgs(e, 1, scope);
      return ApplyFilter(e.name, input, args);
    }
    case Expr::Kind::kTest: {
      Value input = Eval(*e.args[0], scope);
      CallArgs args = EvalArgs(e, 1, scope);
      return Value(ApplyTest(e.name, input, args) != e.negated);
    }
    case Expr::Kind::kUnary: {
      Value v = Eval(*e.args[0], scope);
      if (e.name == "not") return Value(!v.Truthy());
      return UnaryMinus(v, e.name == "-");
    }
    case Expr::Kind::kBinary: {
      Value a = Eval(*e.args[0], scope);
      // Python's and/or short-circuit and return an operand, not a bool.
      if (e.name == "and") return a.Truthy() ? Eval(*e.args[1], scope) : a;
      if (e.name == "or") return a.Truthy() ? a : Eval(*e.args[1], scope);
      return BinaryOp(e.name, a, Eval(*e.args[1], scope));
    }
    case Expr::Kind::kCompare: {
      Value left = Eval(*e.args[0], scope);
      for (size_t i = 0; i < e.ops.size(); ++i) {
        Value right = Eval(*e.args[i + 1], scope);
        if (!BinaryOp(e.ops[i], left, right).Truthy()) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case Expr::Kind::kCond:
      if (Eval(*e.args[0], scope).Truthy()) return Eval(*e.args[1], scope);
      if (e.args[2]) return Eval(*e.args[2], scope);
      return Value::Undefined("the inline if-expression on line " + std::to_string(e.line) +
                              " evaluated to false and no else section was defined.");
  }
  return Value();
}

}  // namespace dseek::jinja
