// Methods of str, dict and list that templates call (`content.split('x')`).
// The sandbox HF uses is immutable: list.append and friends raise, and so do
// they here.
#include <algorithm>
#include <cctype>

#include "tokenizer/jinja/args.h"
#include "tokenizer/jinja/ops.h"
#include "tokenizer/jinja/utf8.h"

namespace dseek::jinja {
namespace {

Value Method(const std::string& name, std::function<Value(CallArgs&)> fn) {
  Callable c;
  c.name = name;
  c.fn = [fn = std::move(fn)](CallArgs& args, int) { return fn(args); };
  return Value::MakeCallable(std::move(c));
}

// str.strip/lstrip/rstrip: whitespace when chars is None, else those chars.
std::string Strip(const std::string& s, const Value& chars, bool left, bool right) {
  std::u32string u = DecodeUtf8(s);
  std::u32string set;
  bool ws = chars.is_undefined() || chars.is_none();
  if (!ws) set = DecodeUtf8(StringArg(chars, "strip"));
  auto strip_it = [&](char32_t c) {
    return ws ? IsPyWhitespace(c) : set.find(c) != std::u32string::npos;
  };
  size_t b = 0, e = u.size();
  if (left) {
    while (b < e && strip_it(u[b])) ++b;
  }
  if (right) {
    while (e > b && strip_it(u[e - 1])) --e;
  }
  return EncodeUtf8(u.substr(b, e - b));
}

List Split(const std::string& s, const Value& sep_v, const Value& max_v, bool from_right) {
  int64_t maxsplit = (max_v.is_undefined() || max_v.is_none()) ? -1 : max_v.as_int();
  List out;
  if (sep_v.is_undefined() || sep_v.is_none()) {
    // Runs of whitespace, leading/trailing ignored.
    std::u32string u = DecodeUtf8(s);
    std::vector<std::pair<size_t, size_t>> words;
    size_t i = 0;
    while (i < u.size()) {
      while (i < u.size() && IsPyWhitespace(u[i])) ++i;
      if (i >= u.size()) break;
      size_t j = i;
      while (j < u.size() && !IsPyWhitespace(u[j])) ++j;
      words.emplace_back(i, j);
      i = j;
    }
    if (maxsplit < 0 || static_cast<size_t>(maxsplit) + 1 >= words.size()) {
      for (auto [b, e] : words) out.push_back(Value(EncodeUtf8(u.substr(b, e - b))));
      return out;
    }
    size_t keep = static_cast<size_t>(maxsplit);
    if (!from_right) {
      for (size_t k = 0; k < keep; ++k) out.push_back(Value(EncodeUtf8(u.substr(words[k].first, words[k].second - words[k].first))));
      std::u32string rest = u.substr(words[keep].first);
      while (!rest.empty() && IsPyWhitespace(rest.back())) rest.pop_back();
      out.push_back(Value(EncodeUtf8(rest)));
    } else {
      size_t first = words.size() - keep;
      std::u32string rest = u.substr(0, words[first - 1].second);
      size_t lead = 0;
      while (lead < rest.size() && IsPyWhitespace(rest[lead])) ++lead;
      out.push_back(Value(EncodeUtf8(rest.substr(lead))));
      for (size_t k = first; k < words.size(); ++k) out.push_back(Value(EncodeUtf8(u.substr(words[k].first, words[k].second - words[k].first))));
    }
    return out;
  }
  const std::string& sep = StringArg(sep_v, "split");
  if (sep.empty()) ThrowError("empty separator");
  std::vector<std::string> parts;
  if (!from_right) {
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      size_t f = s.find(sep, pos);
      if (f == std::string::npos) break;
      parts.push_back(s.substr(pos, f - pos));
      pos = f + sep.size();
    }
    parts.push_back(s.substr(pos));
  } else {
    size_t end = s.size();
    std::vector<std::string> rev;
    while (maxsplit < 0 || static_cast<int64_t>(rev.size()) < maxsplit) {
      if (end < sep.size()) break;
      size_t f = s.rfind(sep, end - sep.size());
      if (f == std::string::npos) break;
      rev.push_back(s.substr(f + sep.size(), end - f - sep.size()));
      end = f;
    }
    rev.push_back(s.substr(0, end));
    parts.assign(rev.rbegin(), rev.rend());
  }
  for (auto& p : parts) out.push_back(Value(std::move(p)));
  return out;
}

bool AffixMatch(const std::string& s, const Value& affix, bool prefix, const char* fn) {
  auto one = [&](const std::string& a) {
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.is_list()) {
    for (const Value& v : affix.list()) {
      if (one(StringArg(v, fn))) return true;
    }
    return false;
  }
  if (!affix.is_string()) {
    ThrowError(std::string(fn) + " first arg must be str or a tuple of str, not " + affix.TypeName());
  }
  return one(affix.as_string());
}

std::string MapAscii(const std::string& s, int (*f)(int)) {
  std::string out = s;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(f(static_cast<unsigned char>(c)));
  }
  return out;
}

std::optional<Value> StringMethod(const std::string& s, const std::string& name) {
  if (name == "split" || name == "rsplit") {
    bool right = name == "rsplit";
    return Method(name, [s, right](CallArgs& a) {
      return Value::MakeList(Split(s, Arg(a, 0, "sep"), Arg(a, 1, "maxsplit"), right));
    });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    bool l = name != "rstrip", r = name != "lstrip";
    return Method(name, [s, l, r](CallArgs& a) { return Value(Strip(s, Arg(a, 0, "chars"), l, r)); });
  }
  if (name == "startswith" || name == "endswith") {
    bool prefix = name == "startswith";
    return Method(name, [s, prefix, name](CallArgs& a) {
      return Value(AffixMatch(s, Arg(a, 0, "prefix"), prefix, name.c_str()));
    });
  }
  if (name == "replace") {
    return Method(name, [s](CallArgs& a) {
      const std::string& from = StringArg(Arg(a, 0, "old"), "replace");
      const std::string& to = StringArg(Arg(a, 1, "new"), "replace");
      Value cv = Arg(a, 2, "count");
      int64_t count = cv.is_undefined() ? -1 : cv.as_int();
      std::string out;
      if (from.empty()) {
        // Python inserts `to` between every character (and at both ends).
        std::u32string u = DecodeUtf8(s);
        int64_t done = 0;
        for (char32_t c : u) {
          if (count < 0 || done < count) { out += to; ++done; }
          AppendUtf8(c, &out);
        }
        if (count < 0 || done < count) out += to;
        return Value(out);
      }
      size_t pos = 0;
      int64_t done = 0;
      while (count < 0 || done < count) {
        size_t f = s.find(from, pos);
        if (f == std::string::npos) break;
        out += s.substr(pos, f - pos) + to;
        pos = f + from.size();
        ++done;
      }
      return Value(out + s.substr(pos));
    });
  }
  if (name == "upper") return Method(name, [s](CallArgs&) { return Value(MapAscii(s, ::toupper)); });
  if (name == "lower") return Method(name, [s](CallArgs&) { return Value(MapAscii(s, ::tolower)); });
  if (name == "title" || name == "capitalize") {
    bool title = name == "title";
    return Method(name, [s, title](CallArgs&) {
      std::string out = s;
      bool start = true;
      for (char& c : out) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u >= 0x80) { start = false; continue; }
        c = static_cast<char>(start ? std::toupper(u) : std::tolower(u));
        start = title ? !std::isalpha(u) : false;
      }
      return Value(out);
    });
  }
  if (name == "find" || name == "rfind" || name == "count") {
    return Method(name, [s, name](CallArgs& a) {
      const std::string& sub = StringArg(Arg(a, 0, "sub"), name);
      if (name == "count") {
        if (sub.empty()) return Value(static_cast<int64_t>(DecodeUtf8(s).size() + 1));
        int64_t n = 0;
        for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
        return Value(n);
      }
      size_t p = name == "find" ? s.find(sub) : s.rfind(sub);
      if (p == std::string::npos) return Value(static_cast<int64_t>(-1));
      return Value(static_cast<int64_t>(DecodeUtf8(s.substr(0, p)).size()));
    });
  }
  if (name == "join") {
    return Method(name, [s](CallArgs& a) {
      std::string out;
      bool first = true;
      for (const Value& v : Iterate(Arg(a, 0, "iterable"))) {
        if (!first) out += s;
        first = false;
        out += StringArg(v, "join");
      }
      return Value(out);
    });
  }
  if (name == "splitlines") {
    return Method(name, [s](CallArgs&) {
      List out;
      size_t pos = 0;
      while (pos < s.size()) {
        size_t f = s.find_first_of("\n\r", pos);
        if (f == std::string::npos) { out.push_back(Value(s.substr(pos))); break; }
        out.push_back(Value(s.substr(pos, f - pos)));
        pos = f + ((s[f] == '\r' && f + 1 < s.size() && s[f + 1] == '\n') ? 2 : 1);
      }
      return Value::MakeList(std::move(out));
    });
  }
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" ||
      name == "islower" || name == "isupper") {
    return Method(name, [s, name](CallArgs&) {
      if (s.empty()) return Value(false);
      bool any_cased = false;
      for (unsigned char c : s) {
        bool ok = name == "isdigit" ? std::isdigit(c) : name == "isalpha" ? std::isalpha(c)
                : name == "isalnum" ? std::isalnum(c) : name == "isspace" ? std::isspace(c)
                : name == "islower" ? !std::isupper(c) : !std::islower(c);
        if (!ok) return Value(false);
        any_cased |= std::isalpha(c) != 0;
      }
      if (name == "islower" || name == "isupper") return Value(any_cased);
      return Value(true);
    });
  }
  if (name == "format" || name == "format_map") {
    return Method(name, [name](CallArgs&) -> Value {
      ThrowError("unsupported construct: str." + name + "()");
    });
  }
  return std::nullopt;
}

}  // namespace

std::optional<Value> GetMethod(const Value& obj, const std::string& name) {
  if (obj.is_string()) return StringMethod(obj.as_string(), name);
  if (obj.is_dict()) {
    if (name == "items" || name == "keys" || name == "values") {
      return Method(name, [obj, name](CallArgs&) {
        List out;
        for (const auto& [k, v] : obj.dict().items()) {
          if (name == "items") out.push_back(Value::MakeTuple({Value(k), v}));
          else out.push_back(name == "keys" ? Value(k) : v);
        }
        return Value::MakeList(std::move(out));
      });
    }
    if (name == "get") {
      return Method(name, [obj](CallArgs& a) {
        Value key = Arg(a, 0, "key");
        const Value* v = key.is_string() ? obj.dict().Find(key.as_string()) : nullptr;
        if (v) return *v;
        return HasArg(a, 1, "default") ? Arg(a, 1, "default") : Value::None();
      });
    }
    if (name == "update" || name == "pop" || name == "popitem" || name == "setdefault" ||
        name == "clear") {
      return Method(name, [name](CallArgs&) -> Value {
        ThrowError("access to attribute '" + name + "' of 'dict' object is unsafe.");
      });
    }
  }
  if (obj.is_list() && !obj.is_generator()) {
    if (name == "index" || name == "count") {
      return Method(name, [obj, name](CallArgs& a) {
        Value x = Arg(a, 0, "value");
        int64_t n = 0;
        for (size_t i = 0; i < obj.list().size(); ++i) {
          if (obj.list()[i].Equals(x)) {
            if (name == "index") return Value(static_cast<int64_t>(i));
            ++n;
          }
        }
        if (name == "index") ThrowError(x.Repr() + " is not in list");
        return Value(n);
      });
    }
    if (name == "append" || name == "extend" || name == "insert" || name == "pop" ||
        name == "remove" || name == "sort" || name == "reverse" || name == "clear") {
      return Method(name, [name, obj](CallArgs&) -> Value {
        ThrowError("access to attribute '" + name + "' of '" + obj.TypeName() + "' object is unsafe.");
      });
    }
  }
  return std::nullopt;
}

}  // namespace dseek::jinja
