#include "tokenizer/jinja/builtins.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <set>

#include "tokenizer/jinja/args.h"
#include "tokenizer/jinja/ops.h"
#include "tokenizer/jinja/utf8.h"

namespace dseek::jinja {
namespace {

const std::set<std::string>& FilterNames() {
  static const std::set<std::string> kNames = {
      "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "e", "escape",
      "first", "float", "indent", "int", "items", "join", "last", "length", "list",
      "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse",
      "round", "safe", "select", "selectattr", "sort", "string", "sum", "title",
      "tojson", "trim", "unique", "upper", "wordcount"};
  return kNames;
}

const std::set<std::string>& TestNames() {
  static const std::set<std::string> kNames = {
      "defined", "undefined", "none", "boolean", "true", "false", "integer", "float",
      "number", "string", "mapping", "iterable", "sequence", "callable", "eq", "equalto",
      "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">",
      "ge", ">=", "in", "odd", "even", "divisibleby", "sameas", "lower", "upper"};
  return kNames;
}

// jinja2's make_attrgetter: "a.b.0" walks items, digits as list indices.
Value AttrPath(const Value& v, const std::string& path) {
  Value cur = v;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = digits ? GetItem(cur, Value(static_cast<int64_t>(std::stoll(part)))) : GetItem(cur, Value(part));
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return cur;
}

// Arguments after the first `skip` positional ones, as a fresh CallArgs.
CallArgs Rest(const CallArgs& args, size_t skip) {
  CallArgs out;
  for (size_t i = skip; i < args.positional.size(); ++i) out.positional.push_back(args.positional[i]);
  return out;
}

Value SelectImpl(const Value& input, CallArgs& args, bool by_attr, bool keep) {
  List out;
  std::string attr;
  size_t next = 0;
  if (by_attr) attr = StringArg(Arg(args, next++, "attribute"), "selectattr");
  bool has_test = args.positional.size() > next;
  std::string test = has_test ? StringArg(args.positional[next], "select") : "";
  CallArgs test_args = Rest(args, next + 1);
  for (const Value& item : Iterate(input)) {
    Value v = by_attr ? AttrPath(item, attr) : item;
    bool ok = has_test ? ApplyTest(test, v, test_args) : v.Truthy();
    if (ok == keep) out.push_back(item);
  }
  return Value::MakeGenerator(std::move(out));
}

bool LessThan(const Value& a, const Value& b, bool case_sensitive) {
  if (!case_sensitive && a.is_string() && b.is_string()) {
    std::string x = a.as_string(), y = b.as_string();
    for (char& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : y) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return x < y;
  }
  return BinaryOp("<", a, b).as_bool();
}

Value SortImpl(const Value& input, CallArgs& args) {
  bool reverse = Arg(args, 0, "reverse").Truthy();
  bool case_sensitive = Arg(args, 1, "case_sensitive").Truthy();
  Value attr = Arg(args, 2, "attribute");
  List items = Iterate(input);
  auto key = [&](const Value& v) { return attr.is_undefined() || attr.is_none() ? v : AttrPath(v, attr.Str()); };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    return reverse ? LessThan(key(b), key(a), case_sensitive) : LessThan(key(a), key(b), case_sensitive);
  });
  return Value::MakeList(std::move(items));
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

Value Indent(const Value& input, CallArgs& args) {
  Value w = Arg(args, 0, "width");
  std::string pad = w.is_string() ? w.as_string()
                                  : std::string(w.is_undefined() ? 4 : static_cast<size_t>(w.as_int()), ' ');
  bool first = Arg(args, 1, "first").Truthy();
  bool blank = Arg(args, 2, "blank").Truthy();
  std::string s = input.Str();
  std::string out;
  size_t pos = 0;
  bool is_first = true;
  while (true) {
    size_t nl = s.find('\n', pos);
    std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    bool indent = is_first ? first : (blank || !line.empty());
    if (indent && !line.empty()) out += pad;
    else if (indent && blank) out += pad;
    out += line;
    if (nl == std::string::npos) break;
    out += '\n';
    pos = nl + 1;
    is_first = false;
  }
  return Value(out);
}

Value ToInt(const Value& v, const Value& def) {
  if (v.is_int()) return v;
  if (v.is_bool()) return Value(v.as_int());
  if (v.is_float()) return Value(static_cast<int64_t>(v.as_float()));
  if (v.is_string()) {
    std::string s = v.as_string();
    try {
      size_t used = 0;
      int64_t i = std::stoll(s, &used);
      if (used == s.size()) return Value(i);
      double d = std::stod(s, &used);
      if (used == s.size()) return Value(static_cast<int64_t>(d));
    } catch (...) {
    }
  }
  return def.is_undefined() ? Value(static_cast<int64_t>(0)) : def;
}

Value ToFloat(const Value& v, const Value& def) {
  if (v.is_number()) return Value(v.as_float());
  if (v.is_string()) {
    try {
      size_t used = 0;
      double d = std::stod(v.as_string(), &used);
      if (used == v.as_string().size()) return Value(d);
    } catch (...) {
    }
  }
  return def.is_undefined() ? Value(0.0) : def;
}

Value MinMax(const Value& input, CallArgs& args, bool want_max) {
  bool cs = Arg(args, 0, "case_sensitive").Truthy();
  Value attr = Arg(args, 1, "attribute");
  List items = Iterate(input);
  if (items.empty()) return Value::Undefined(std::string("No aggregated item, sequence was empty."));
  auto key = [&](const Value& v) { return attr.is_undefined() || attr.is_none() ? v : AttrPath(v, attr.Str()); };
  Value best = items[0];
  for (size_t i = 1; i < items.size(); ++i) {
    bool better = want_max ? LessThan(key(best), key(items[i]), cs) : LessThan(key(items[i]), key(best), cs);
    if (better) best = items[i];
  }
  return best;
}

Value Range(CallArgs& args, int) {
  std::vector<int64_t> a;
  for (const Value& v : args.positional) {
    if (!v.is_int() && !v.is_bool()) ThrowError("'" + v.TypeName() + "' object cannot be interpreted as an integer");
    a.push_back(v.as_int());
  }
  if (a.empty() || a.size() > 3) ThrowError("range expected 1 to 3 arguments, got " + std::to_string(a.size()));
  int64_t start = a.size() == 1 ? 0 : a[0];
  int64_t stop = a.size() == 1 ? a[0] : a[1];
  int64_t step = a.size() == 3 ? a[2] : 1;
  if (step == 0) ThrowError("range() arg 3 must not be zero");
  if ((static_cast<__int128>(stop) - start) / step > 100000) ThrowError("range too big, maximum size for range is 100000");
  List out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(Value(i));
  return Value::MakeList(std::move(out));
}

Dict KwargsDict(CallArgs& args, const char* fn) {
  Dict d;
  for (const Value& p : args.positional) {
    if (!p.is_dict()) ThrowError(std::string(fn) + "() positional argument must be a dict");
    for (const auto& [k, v] : p.dict().items()) d.Set(k, v);
  }
  for (auto& [k, v] : args.keyword) d.Set(k, v);
  return d;
}

Value Native(const std::string& name, NativeFn fn) {
  Callable c;
  c.name = name;
  c.fn = std::move(fn);
  return Value::MakeCallable(std::move(c));
}

}  // namespace

bool IsKnownFilter(const std::string& name) { return FilterNames().count(name) != 0; }
bool IsKnownTest(const std::string& name) { return TestNames().count(name) != 0; }

Value ApplyFilter(const std::string& name, const Value& input, CallArgs& args) {
  const Value& v = input;
  if (name == "tojson") {
    Value indent = Arg(args, 0, "indent");
    for (const auto& [k, _] : args.keyword) {
      if (k != "indent" && k != "ensure_ascii" && k != "sort_keys" && k != "separators") {
        ThrowError("tojson() got an unexpected keyword argument '" + k + "'");
      }
      if (k == "sort_keys" || k == "separators") ThrowError("unsupported construct: tojson(" + k + "=...)");
    }
    std::optional<int> ind;
    if (!indent.is_undefined() && !indent.is_none()) {
      if (!indent.is_int()) ThrowError("tojson indent must be an integer, not " + indent.TypeName());
      ind = static_cast<int>(std::max<int64_t>(0, indent.as_int()));
    }
    std::string error;
    std::string out = ToJson(v, ind, &error);
    if (!error.empty()) ThrowError(error);
    return Value(out);
  }
  if (name == "default" || name == "d") {
    bool boolean = Arg(args, 1, "boolean").Truthy();
    bool use_default = v.is_undefined() || (boolean && !v.Truthy());
    if (!use_default) return v;
    return HasArg(args, 0, "default_value") ? Arg(args, 0, "default_value") : Value("");
  }
  if (name == "length" || name == "count") return Value(Length(v));
  if (name == "string") return Value(v.Str());
  if (name == "safe") return v;
  if (name == "trim") {
    return GetMethod(Value(v.Str()), "strip")->callable().fn(args, 0);
  }
  if (name == "upper" || name == "lower" || name == "capitalize" || name == "title") {
    CallArgs none;
    return GetMethod(Value(v.Str()), name)->callable().fn(none, 0);
  }
  if (name == "replace") {
    CallArgs a;
    a.positional = {Arg(args, 0, "old"), Arg(args, 1, "new")};
    if (HasArg(args, 2, "count") && !Arg(args, 2, "count").is_none()) a.positional.push_back(Arg(args, 2, "count"));
    return GetMethod(Value(v.Str()), "replace")->callable().fn(a, 0);
  }
  if (name == "e" || name == "escape") return Value(Escape(v.Str()));
  if (name == "items") {
    if (v.is_undefined()) return Value::MakeGenerator({});
    if (!v.is_dict()) ThrowError("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, val] : v.dict().items()) out.push_back(Value::MakeTuple({Value(k), val}));
    return Value::MakeGenerator(std::move(out));
  }
  if (name == "list") return Value::MakeList(Iterate(v));
  if (name == "first") {
    List items = Iterate(v);
    return items.empty() ? Value::Undefined("No first item, sequence was empty.") : items.front();
  }
  if (name == "last") {
    if (v.is_generator()) ThrowError("'generator' object is not reversible");
    List items = Iterate(v);
    return items.empty() ? Value::Undefined("No last item, sequence was empty.") : items.back();
  }
  if (name == "reverse") {
    if (v.is_string()) {
      std::u32string u = DecodeUtf8(v.as_string());
      std::reverse(u.begin(), u.end());
      return Value(EncodeUtf8(u));
    }
    List items = Iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::MakeGenerator(std::move(items));
  }
  if (name == "join") {
    std::string sep = HasArg(args, 0, "d") ? Arg(args, 0, "d").Str() : "";
    Value attr = Arg(args, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : Iterate(v)) {
      if (!first) out += sep;
      first = false;
      out += (attr.is_undefined() || attr.is_none() ? item : AttrPath(item, attr.Str())).Str();
    }
    return Value(out);
  }
  if (name == "map") {
    List out;
    if (HasArg(args, 99, "attribute")) {
      std::string attr = Arg(args, 99, "attribute").Str();
      Value def = Arg(args, 99, "default");
      for (const Value& item : Iterate(v)) {
        Value r = AttrPath(item, attr);
        out.push_back(r.is_undefined() && !def.is_undefined() ? def : r);
      }
    } else {
      if (args.positional.empty()) ThrowError("map requires a filter argument");
      std::string filter = StringArg(args.positional[0], "map");
      if (!IsKnownFilter(filter)) ThrowError("No filter named '" + filter + "'.");
      CallArgs rest = Rest(args, 1);
      rest.keyword = args.keyword;
      for (const Value& item : Iterate(v)) out.push_back(ApplyFilter(filter, item, rest));
    }
    return Value::MakeGenerator(std::move(out));
  }
  if (name == "select") return SelectImpl(v, args, false, true);
  if (name == "reject") return SelectImpl(v, args, false, false);
  if (name == "selectattr") return SelectImpl(v, args, true, true);
  if (name == "rejectattr") return SelectImpl(v, args, true, false);
  if (name == "sort") return SortImpl(v, args);
  if (name == "dictsort") {
    if (!v.is_dict()) ThrowError("dictsort filter needs a mapping");
    bool cs = Arg(args, 0, "case_sensitive").Truthy();
    Value by = Arg(args, 1, "by");
    bool by_value = by.is_string() && by.as_string() == "value";
    bool reverse = Arg(args, 2, "reverse").Truthy();
    List items;
    for (const auto& [k, val] : v.dict().items()) items.push_back(Value::MakeTuple({Value(k), val}));
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      const Value& x = a.list()[by_value ? 1 : 0];
      const Value& y = b.list()[by_value ? 1 : 0];
      return reverse ? LessThan(y, x, cs) : LessThan(x, y, cs);
    });
    return Value::MakeList(std::move(items));
  }
  if (name == "unique") {
    List out;
    for (const Value& item : Iterate(v)) {
      bool seen = false;
      for (const Value& o : out) seen = seen || o.Equals(item);
      if (!seen) out.push_back(item);
    }
    return Value::MakeGenerator(std::move(out));
  }
  if (name == "max" || name == "min") return MinMax(v, args, name == "max");
  if (name == "sum") {
    Value attr = Arg(args, 0, "attribute");
    Value total = HasArg(args, 1, "start") ? Arg(args, 1, "start") : Value(static_cast<int64_t>(0));
    for (const Value& item : Iterate(v)) {
      total = BinaryOp("+", total, attr.is_undefined() || attr.is_none() ? item : AttrPath(item, attr.Str()));
    }
    return total;
  }
  if (name == "abs") {
    if (v.is_float()) return Value(std::fabs(v.as_float()));
    if (v.is_int() || v.is_bool()) return Value(static_cast<int64_t>(std::llabs(v.as_int())));
    ThrowError("bad operand type for abs(): '" + v.TypeName() + "'");
  }
  if (name == "int") return ToInt(v, Arg(args, 0, "default"));
  if (name == "float") return ToFloat(v, Arg(args, 0, "default"));
  if (name == "round") {
    Value p = Arg(args, 0, "precision");
    std::string method = HasArg(args, 1, "method") ? Arg(args, 1, "method").Str() : "common";
    double scale = std::pow(10.0, p.is_undefined() ? 0 : static_cast<double>(p.as_int()));
    double x = v.as_float() * scale;
    double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::round(x);
    return Value(r / scale);
  }
  if (name == "attr") return GetAttr(v, StringArg(Arg(args, 0, "name"), "attr"));
  if (name == "indent") return Indent(v, args);
  if (name == "wordcount") {
    CallArgs none;
    return Value(static_cast<int64_t>(GetMethod(Value(v.Str()), "split")->callable().fn(none, 0).list().size()));
  }
  ThrowError("No filter named '" + name + "'.");
}

bool ApplyTest(const std::string& name, const Value& v, CallArgs& args) {
  auto other = [&]() { return Arg(args, 0, "other"); };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_undefined() || v.is_list() || v.is_dict() || v.is_string();
  if (name == "sequence") return (v.is_list() && !v.is_generator()) || v.is_dict() || v.is_string();
  if (name == "callable") return v.is_callable();
  if (name == "eq" || name == "equalto" || name == "==") return v.Equals(other());
  if (name == "ne" || name == "!=") return !v.Equals(other());
  if (name == "lt" || name == "lessthan" || name == "<") return BinaryOp("<", v, other()).as_bool();
  if (name == "le" || name == "<=") return BinaryOp("<=", v, other()).as_bool();
  if (name == "gt" || name == "greaterthan" || name == ">") return BinaryOp(">", v, other()).as_bool();
  if (name == "ge" || name == ">=") return BinaryOp(">=", v, other()).as_bool();
  if (name == "in") return Contains(Arg(args, 0, "seq"), v);
  if (name == "odd" || name == "even") {
    if (v.is_undefined()) ThrowUndefined(v);
    if (!v.is_int() && !v.is_bool()) ThrowError("not all arguments converted during string formatting");
    int64_t r = v.as_int() % 2;
    return name == "odd" ? r != 0 : r == 0;
  }
  if (name == "divisibleby") {
    Value n = Arg(args, 0, "num");
    return BinaryOp("%", v, n).as_float() == 0.0;
  }
  if (name == "sameas") return v.SameAs(other());
  if (name == "lower" || name == "upper") {
    std::string s = v.Str();
    for (unsigned char c : s) {
      if (name == "lower" ? std::isupper(c) : std::islower(c)) return false;
    }
    return true;
  }
  ThrowError("No test named '" + name + "'.");
}

void AddGlobals(Dict* globals) {
  globals->Set("range", Native("range", Range));
  globals->Set("dict", Native("dict", [](CallArgs& a, int) { return Value::MakeDict(KwargsDict(a, "dict")); }));
  globals->Set("namespace", Native("namespace", [](CallArgs& a, int) {
                 return Value::MakeNamespace(KwargsDict(a, "namespace"));
               }));
  globals->Set("raise_exception", Native("raise_exception", [](CallArgs& a, int) -> Value {
                 ThrowError(Arg(a, 0, "message").Str());
               }));
  globals->Set("strftime_now", Native("strftime_now", [](CallArgs& a, int) {
                 const std::string& fmt = StringArg(Arg(a, 0, "format"), "strftime_now");
                 std::time_t now = std::time(nullptr);
                 std::tm tm{};
                 localtime_r(&now, &tm);
                 char buf[256];
                 size_t n = std::strftime(buf, sizeof(buf), fmt.c_str(), &tm);
                 return Value(std::string(buf, n));
               }));
}

}  // namespace dseek::jinja
