#include "tokenizer/jinja/ops.h"

#include <cmath>

#include "tokenizer/jinja/utf8.h"

namespace dseek::jinja {

void ThrowUndefined(const Value& v) {
  std::string hint = v.undefined_hint();
  throw JinjaError{0, hint.empty() ? "a required value or argument is undefined" : hint};
}
void ThrowError(std::string reason) { throw JinjaError{0, std::move(reason)}; }

bool IsPyWhitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}

namespace {

// jinja2's object_type_repr: "dict object", "None", ...
std::string ObjectTypeRepr(const Value& v) {
  if (v.is_none()) return "None";
  if (v.is_namespace()) return "jinja2.utils.Namespace object";
  return v.TypeName() + " object";
}

Value MissingAttr(const Value& obj, const std::string& name) {
  return Value::Undefined("'" + ObjectTypeRepr(obj) + "' has no attribute '" + name + "'");
}

Value MissingElement(const Value& obj, const Value& key) {
  return Value::Undefined(ObjectTypeRepr(obj) + " has no element " + key.Repr());
}

[[noreturn]] void Unsupported(const std::string& op, const Value& a, const Value& b) {
  ThrowError("unsupported operand type(s) for " + op + ": '" + a.TypeName() + "' and '" +
             b.TypeName() + "'");
}

// Python ints are unbounded; ours are 64-bit, so overflow is an error
// rather than a silently wrong number. `v` is a reference so that it is read
// after the __builtin_*_overflow in the same call has written it.
int64_t Checked(bool overflowed, const int64_t& v) {
  if (overflowed) ThrowError("integer overflow: result does not fit in 64 bits");
  return v;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Value Repeat(const Value& seq, int64_t n) {
  // Guards memory against `'x' * 10**12`.
  constexpr int64_t kMaxItems = int64_t{1} << 28;
  int64_t unit = seq.is_string() ? static_cast<int64_t>(seq.as_string().size())
                                 : static_cast<int64_t>(seq.list().size());
  if (n > 0 && unit > 0 && n > kMaxItems / unit) ThrowError("repetition result too large");
  if (seq.is_string()) {
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return Value(out);
  }
  List out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.list().begin(), seq.list().end());
  return Value::MakeList(std::move(out));
}

int Compare(const std::string& op, const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_float(), y = b.as_float();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.as_string().compare(b.as_string());
  if (a.is_list() && b.is_list() && !a.is_generator() && !b.is_generator()) {
    const List& x = a.list();
    const List& y = b.list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!x[i].Equals(y[i])) return Compare(op, x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  ThrowError("'" + op + "' not supported between instances of '" + a.TypeName() + "' and '" +
             b.TypeName() + "'");
}

// Normalises a Python index (negative from the end); false when out of range.
bool NormIndex(int64_t i, size_t size, size_t* out) {
  if (i < 0) i += static_cast<int64_t>(size);
  if (i < 0 || i >= static_cast<int64_t>(size)) return false;
  *out = static_cast<size_t>(i);
  return true;
}

}  // namespace

Value BinaryOp(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") return Value(a.Str() + b.Str());
  if (op == "==") return Value(a.Equals(b));
  if (op == "!=") return Value(!a.Equals(b));
  if (op == "in") return Value(Contains(b, a));
  if (op == "not in") return Value(!Contains(b, a));
  if (a.is_undefined()) ThrowUndefined(a);
  if (b.is_undefined()) ThrowUndefined(b);
  if (op == "<") return Value(Compare(op, a, b) < 0);
  if (op == "<=") return Value(Compare(op, a, b) <= 0);
  if (op == ">") return Value(Compare(op, a, b) > 0);
  if (op == ">=") return Value(Compare(op, a, b) >= 0);
  if (op == "%" && a.is_string()) {
    ThrowError("unsupported construct: printf-style formatting ('%' on a str)");
  }
  bool nums = a.is_number() && b.is_number();
  bool ints = nums && !a.is_float() && !b.is_float();
  if (op == "+") {
    int64_t r;
    if (ints) return Value(Checked(__builtin_add_overflow(a.as_int(), b.as_int(), &r), r));
    if (nums) return Value(a.as_float() + b.as_float());
    if (a.is_string()) {
      if (!b.is_string()) {
        ThrowError("can only concatenate str (not \"" + b.TypeName() + "\") to str");
      }
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && !a.is_generator()) {
      if (!b.is_list() || b.is_generator() || a.is_tuple() != b.is_tuple()) {
        std::string t = a.TypeName();
        ThrowError("can only concatenate " + t + " (not \"" + b.TypeName() + "\") to " + t);
      }
      List out = a.list();
      out.insert(out.end(), b.list().begin(), b.list().end());
      return a.is_tuple() ? Value::MakeTuple(std::move(out)) : Value::MakeList(std::move(out));
    }
    Unsupported(op, a, b);
  }
  if (op == "-") {
    int64_t r;
    if (ints) return Value(Checked(__builtin_sub_overflow(a.as_int(), b.as_int(), &r), r));
    if (nums) return Value(a.as_float() - b.as_float());
    Unsupported(op, a, b);
  }
  if (op == "*") {
    int64_t r;
    if (ints) return Value(Checked(__builtin_mul_overflow(a.as_int(), b.as_int(), &r), r));
    if (nums) return Value(a.as_float() * b.as_float());
    bool a_seq = a.is_string() || (a.is_list() && !a.is_generator());
    bool b_seq = b.is_string() || (b.is_list() && !b.is_generator());
    if (a_seq && (b.is_int() || b.is_bool())) return Repeat(a, b.as_int());
    if (b_seq && (a.is_int() || a.is_bool())) return Repeat(b, a.as_int());
    Unsupported(op, a, b);
  }
  if (!nums) Unsupported(op, a, b);
  if (op == "/") {
    if (b.as_float() == 0.0) ThrowError("division by zero");
    return Value(a.as_float() / b.as_float());
  }
  if (op == "//" || op == "%") {
    if (b.as_float() == 0.0) {
      ThrowError(op == "%" ? "integer modulo by zero" : "integer division or modulo by zero");
    }
    if (ints) {
      int64_t q = FloorDiv(a.as_int(), b.as_int());
      return op == "//" ? Value(q) : Value(a.as_int() - q * b.as_int());
    }
    double q = std::floor(a.as_float() / b.as_float());
    return op == "//" ? Value(q) : Value(a.as_float() - q * b.as_float());
  }
  if (op == "**") {
    if (ints && b.as_int() >= 0) {
      int64_t base = a.as_int(), exp = b.as_int();
      if (base == 0 || base == 1) return Value(exp == 0 ? int64_t{1} : base);
      if (base == -1) return Value(exp % 2 == 0 ? int64_t{1} : int64_t{-1});
      int64_t r = 1;  // |base| >= 2 overflows within 63 steps
      for (int64_t i = 0; i < exp; ++i) Checked(__builtin_mul_overflow(r, base, &r), r);
      return Value(r);
    }
    return Value(std::pow(a.as_float(), b.as_float()));
  }
  ThrowError("unknown operator '" + op + "'");
}

Value UnaryMinus(const Value& v, bool negate) {
  if (v.is_undefined()) ThrowUndefined(v);
  if (!v.is_number()) {
    ThrowError(std::string("bad operand type for unary ") + (negate ? "-" : "+") + ": '" +
               v.TypeName() + "'");
  }
  if (!negate) return v.is_bool() ? Value(v.as_int()) : v;
  if (v.is_float()) return Value(-v.as_float());
  int64_t r;
  return Value(Checked(__builtin_sub_overflow(int64_t{0}, v.as_int(), &r), r));
}

Value GetAttr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) ThrowUndefined(obj);
  if (obj.is_namespace()) {
    const Value* v = obj.dict().Find(name);
    return v ? *v : MissingAttr(obj, name);
  }
  if (auto m = GetMethod(obj, name)) return *m;
  if (obj.is_dict()) {
    const Value* v = obj.dict().Find(name);
    if (v) return *v;
  }
  return MissingAttr(obj, name);
}

Value GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) ThrowUndefined(obj);
  if (obj.is_dict() || obj.is_namespace()) {
    if (key.is_string()) {
      const Value* v = obj.dict().Find(key.as_string());
      if (v) return *v;
      if (obj.is_dict()) {
        if (auto m = GetMethod(obj, key.as_string())) return *m;
      }
      return MissingAttr(obj, key.as_string());
    }
    return MissingElement(obj, key);
  }
  if ((obj.is_list() && !obj.is_generator()) || obj.is_string()) {
    if (key.is_int() || key.is_bool()) {
      size_t idx;
      if (obj.is_list()) {
        if (NormIndex(key.as_int(), obj.list().size(), &idx)) return obj.list()[idx];
      } else {
        std::u32string s = DecodeUtf8(obj.as_string());
        if (NormIndex(key.as_int(), s.size(), &idx)) return Value(EncodeUtf8(s.substr(idx, 1)));
      }
      return MissingElement(obj, key);
    }
    if (key.is_string()) {
      if (auto m = GetMethod(obj, key.as_string())) return *m;
      return MissingAttr(obj, key.as_string());
    }
    return MissingElement(obj, key);
  }
  if (key.is_string()) return MissingAttr(obj, key.as_string());
  return MissingElement(obj, key);
}

Value Slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) ThrowUndefined(obj);
  auto as_opt = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    if (!v.is_int() && !v.is_bool()) {
      ThrowError("slice indices must be integers or None, not " + v.TypeName());
    }
    return v.as_int();
  };
  std::optional<int64_t> b = as_opt(start, "start"), e = as_opt(stop, "stop");
  int64_t st = as_opt(step, "step").value_or(1);
  if (st == 0) ThrowError("slice step cannot be zero");
  bool is_str = obj.is_string();
  if (!is_str && !(obj.is_list() && !obj.is_generator())) {
    ThrowError("'" + obj.TypeName() + "' object is not subscriptable");
  }
  std::u32string chars;
  if (is_str) chars = DecodeUtf8(obj.as_string());
  int64_t n = is_str ? static_cast<int64_t>(chars.size()) : static_cast<int64_t>(obj.list().size());
  auto clamp = [&](std::optional<int64_t> v, int64_t def) {
    if (!v) return def;
    int64_t x = *v < 0 ? *v + n : *v;
    if (st > 0) return std::max<int64_t>(0, std::min(x, n));
    return std::max<int64_t>(-1, std::min(x, n - 1));
  };
  int64_t lo = clamp(b, st > 0 ? 0 : n - 1);
  int64_t hi = clamp(e, st > 0 ? n : -1);
  std::u32string out_s;
  List out_l;
  for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) {
    if (is_str) out_s += chars[i];
    else out_l.push_back(obj.list()[i]);
  }
  if (is_str) return Value(EncodeUtf8(out_s));
  return obj.is_tuple() ? Value::MakeTuple(std::move(out_l)) : Value::MakeList(std::move(out_l));
}

List Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return {};
    case Value::Kind::kList:
      return v.list();
    case Value::Kind::kDict: {
      List keys;
      for (const auto& [k, _] : v.dict().items()) keys.push_back(Value(k));
      return keys;
    }
    case Value::Kind::kString: {
      List chars;
      for (char32_t c : DecodeUtf8(v.as_string())) {
        std::string s;
        AppendUtf8(c, &s);
        chars.push_back(Value(s));
      }
      return chars;
    }
    default:
      ThrowError("'" + v.TypeName() + "' object is not iterable");
  }
}

bool Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.is_string()) {
        ThrowError("'in <string>' requires string as left operand, not " + item.TypeName());
      }
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.list()) {
        if (v.Equals(item)) return true;
      }
      return false;
    case Value::Kind::kDict:
      return item.is_string() && container.dict().Find(item.as_string()) != nullptr;
    default:
      ThrowError("argument of type '" + container.TypeName() + "' is not iterable");
  }
}

int64_t Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return 0;
    case Value::Kind::kString:
      return static_cast<int64_t>(DecodeUtf8(v.as_string()).size());
    case Value::Kind::kList:
      if (v.is_generator()) break;
      return static_cast<int64_t>(v.list().size());
    case Value::Kind::kDict:
      return static_cast<int64_t>(v.dict().size());
    default:
      break;
  }
  ThrowError("object of type '" + v.TypeName() + "' has no len()");
}

}  // namespace dseek::jinja
