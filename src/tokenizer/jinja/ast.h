// Syntax tree of a parsed template. Nodes are immutable after parsing and
// owned by the Template (unique_ptr trees), so one parsed template can render
// from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace dseek::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,   // literal
    kName,      // name
    kList,      // args
    kTuple,     // args
    kDict,      // args: key, value, key, value, ...
    kGetAttr,   // args[0].name
    kGetItem,   // args[0][args[1]]
    kSlice,     // args[0][args[1]:args[2]:args[3]] (null parts allowed)
    kCall,      // args[0](args[1..], kwargs)
    kFilter,    // args[0] | name(args[1..], kwargs)
    kTest,      // args[0] is [not] name(args[1..], kwargs)
    kUnary,     // op args[0]: "not", "-", "+"
    kBinary,    // args[0] op args[1]; op includes "and", "or", "in", "not in"
    kCond,      // args[1] if args[0] else args[2] (args[2] may be null)
    kCompare,   // Python chain args[0] ops[0] args[1] ops[1] args[2] ...
  };
  Kind kind;
  int line = 0;
  std::string name;  // name, attribute, filter/test name, or operator
  bool negated = false;
  Value literal;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;  // kCompare only
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  enum class Kind {
    kText,      // text
    kOutput,    // {{ expr }}
    kIf,        // conds[i] -> bodies[i]; else_body
    kFor,       // for targets in expr [if cond]: bodies[0]; else_body
    kSet,       // set targets = expr  /  set targets[0].attr = expr
    kSetBlock,  // {% set x %}bodies[0]{% endset %}
    kMacro,     // macro name(params) bodies[0]
    kBreak,
    kContinue,
    kPassthrough,  // {% generation %}: renders bodies[0] as is
  };
  Kind kind;
  int line = 0;
  std::string text;
  std::string name;     // macro name
  std::string attr;     // for `set ns.attr = ...`
  std::vector<std::string> targets;
  ExprPtr expr;
  ExprPtr cond;
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  Body else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // macro params, default may be null
};

}  // namespace dseek::jinja
