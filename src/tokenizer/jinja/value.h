// The value type the Jinja interpreter computes with. It models the Python
// objects jinja2 sees when Hugging Face renders a chat template: Undefined,
// None, bool, int, float, str, list, dict (insertion-ordered), callables
// (globals, bound methods, macros) and namespace() objects.
//
// Ownership: scalars are held by value; lists, dicts and namespaces are shared
// (Python reference semantics), so `ns.x = 1` inside a macro is seen by the
// caller. Not thread-safe to mutate; a Template renders with fresh values per
// call, so concurrent Render() calls on one Template are fine.
//
// Depends on: std and nlohmann_json (for conversion from JSON inputs) only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dseek::jinja {

class Value;
using List = std::vector<Value>;

// Insertion-ordered string-keyed map, as Python dicts keep insertion order
// (tojson must print tool definitions in the order the caller gave them).
class Dict {
 public:
  const Value* Find(const std::string& key) const;
  Value* Find(const std::string& key);
  void Set(const std::string& key, Value v);
  size_t size() const { return items_.size(); }
  const std::vector<std::pair<std::string, Value>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, Value>> items_;
};

// Arguments of a call: positional then keyword, as Python passes them.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// A callable gets the arguments and the source line of the call (for errors).
using NativeFn = std::function<Value(CallArgs& args, int line)>;

struct Callable {
  std::string name;      // how Python would name it in repr()
  bool is_macro = false;
  NativeFn fn;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict,
                    kCallable, kNamespace };

  Value() = default;  // undefined
  static Value Undefined(std::string hint = "");
  static Value None();
  Value(bool b);                 // NOLINT: implicit like Python literals
  Value(int64_t i);              // NOLINT
  Value(int i) : Value(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double d);               // NOLINT
  Value(std::string s);          // NOLINT
  Value(const char* s) : Value(std::string(s)) {}   // NOLINT
  static Value MakeList(List items = {});
  // jinja2's map/select filters return generators, which iterate like lists
  // but json.dumps refuses; keeping the flag reproduces HF's error.
  static Value MakeGenerator(List items);
  // A Python tuple: a list that prints as `(a, b)`.
  static Value MakeTuple(List items);
  static Value MakeDict(Dict d = {});
  static Value MakeNamespace(Dict d = {});
  static Value MakeCallable(Callable c);
  static Value FromJson(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  // Python bool is an int subclass: True + 1 == 2.
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_generator() const { return kind_ == Kind::kList && generator_; }
  bool is_tuple() const { return kind_ == Kind::kList && tuple_; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_callable() const { return kind_ == Kind::kCallable; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return is_bool() ? (b_ ? 1 : 0) : i_; }
  double as_float() const { return is_float() ? d_ : static_cast<double>(as_int()); }
  const std::string& as_string() const { return *s_; }
  List& list() const { return *list_; }
  Dict& dict() const { return *dict_; }  // also the namespace's attributes
  const Callable& callable() const { return *fn_; }
  // Why the value is undefined, in jinja2's words; "" when no reason was kept.
  std::string undefined_hint() const { return s_ ? *s_ : std::string(); }

  // Python truthiness: empty containers, "", 0, None and Undefined are false.
  bool Truthy() const;
  // str(x) as jinja2 prints it: strings raw, everything else Python repr.
  std::string Str() const;
  // repr(x): strings quoted the way Python quotes them.
  std::string Repr() const;
  // Python's type name, used in error messages ("NoneType", "dict", ...).
  std::string TypeName() const;
  // ==, with Python's numeric tower (1 == 1.0 == True).
  bool Equals(const Value& other) const;
  // Identity for lists/dicts/namespaces, value otherwise (`is sameas`).
  bool SameAs(const Value& other) const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  bool generator_ = false;
  bool tuple_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::shared_ptr<const std::string> s_;  // string, or undefined's hint
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<const Callable> fn_;
};

// Python float repr (shortest round-trip, "1.0", "1e+20", "inf", "nan").
std::string FloatRepr(double d);
// Python repr of a str.
std::string StringRepr(const std::string& s);

// json.dumps(v, ensure_ascii=False, indent=indent, sort_keys=False), the
// tojson HF installs. Returns an error reason (Python's wording) in `error`
// and an empty string when v holds something JSON cannot represent.
std::string ToJson(const Value& v, std::optional<int> indent, std::string* error);

}  // namespace dseek::jinja
