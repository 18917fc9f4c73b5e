// Attribute/item lookup, slicing, iteration, membership, and the Python methods of
// str, list and dict that the immutable sandbox allows.
#include <algorithm>
#include <optional>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/pystr.h"

namespace kiln::jinja {

namespace {

constexpr std::string_view kStrMethods[] = {
    "strip",        "lstrip",    "rstrip",     "split",     "rsplit",    "splitlines",
    "startswith",   "endswith",  "upper",      "lower",     "title",     "capitalize",
    "swapcase",     "casefold",  "replace",    "find",      "rfind",     "index",
    "rindex",       "count",     "join",       "format",    "isdigit",   "isalpha",
    "isalnum",      "isspace",   "isupper",    "islower",   "isnumeric", "isdecimal",
    "istitle",      "zfill",     "center",     "ljust",     "rjust",     "removeprefix",
    "removesuffix", "partition", "rpartition", "expandtabs"};
constexpr std::string_view kListSafe[] = {"index", "count", "copy"};
constexpr std::string_view kListUnsafe[] = {"append", "pop",   "insert", "extend",
                                            "remove", "clear", "sort",   "reverse"};
constexpr std::string_view kDictSafe[] = {"items", "keys", "values", "get", "copy"};
constexpr std::string_view kDictUnsafe[] = {"pop", "popitem", "setdefault", "update", "clear"};

template <size_t N>
bool one_of(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

std::string object_label(const Value& v) {
  if (v.is_mapping()) return "dict object";
  return v.type_name() + " object";
}

Value unsafe(const Value& obj, const std::string& name) {
  return Value::undefined("access to attribute '" + name + "' of '" + obj.type_name() +
                          "' object is unsafe.");
}

Value no_attribute(const Value& obj, const std::string& name) {
  return Value::undefined("'" + object_label(obj) + "' has no attribute '" + name + "'");
}

Value bound_method(const Value& obj, const std::string& name) {
  return Value::callable(name, [obj, name](Interpreter& in, CallArgs& args) -> Result<Value> {
    if (auto r = call_method(in, obj, name, args)) return std::move(*r);
    return Status::error("'" + obj.type_name() + "' object has no method '" + name + "'");
  });
}

// Method lookup by name; nullopt if obj has no such attribute.
std::optional<Value> method_attr(const Value& obj, const std::string& name) {
  if (obj.is_string() && one_of(kStrMethods, name)) return bound_method(obj, name);
  if (obj.is_list()) {
    if (one_of(kListSafe, name)) return bound_method(obj, name);
    if (one_of(kListUnsafe, name)) return unsafe(obj, name);
  }
  if (obj.is_mapping()) {
    if (one_of(kDictSafe, name)) return bound_method(obj, name);
    if (one_of(kDictUnsafe, name)) return unsafe(obj, name);
  }
  return std::nullopt;
}

// Python index normalization; nullopt when out of range.
std::optional<size_t> norm_index(int64_t i, size_t size) {
  const auto n = static_cast<int64_t>(size);
  if (i < 0) i += n;
  if (i < 0 || i >= n) return std::nullopt;
  return static_cast<size_t>(i);
}

bool is_index(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t index_of(const Value& v) { return v.is_int() ? v.as_int() : (v.as_bool() ? 1 : 0); }

}  // namespace

Status undefined_error(const Value& v) {
  const std::string& hint = v.is_undefined() ? v.undefined_hint() : std::string();
  return Status::error(hint.empty() ? std::string("value is undefined") : hint);
}

Result<Value> get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) return undefined_error(obj);
  if (auto m = method_attr(obj, name)) return *m;
  if (obj.is_dict()) {
    if (const Value* v = obj.as_dict().find(std::string_view(name))) return *v;
  }
  return no_attribute(obj, name);
}

Result<Value> get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return undefined_error(obj);
  if (obj.is_list() && obj.as_list().is_generator)
    return Value::undefined("'generator' object is not subscriptable");
  if (obj.is_list() && is_index(key)) {
    const auto& items = obj.as_list().items;
    if (auto i = norm_index(index_of(key), items.size())) return items[*i];
    return Value::undefined("'" + object_label(obj) + "' has no element " + key.str());
  }
  if (obj.is_string() && is_index(key)) {
    const std::string& s = obj.as_string();
    if (pystr::is_ascii(s)) {
      if (auto i = norm_index(index_of(key), s.size())) return Value(std::string(1, s[*i]));
    } else {
      const std::u32string cps = pystr::decode(s);
      if (auto i = norm_index(index_of(key), cps.size())) {
        return Value(pystr::encode(std::u32string_view(cps).substr(*i, 1)));
      }
    }
    return Value::undefined("'str object' has no element " + key.str());
  }
  if (obj.is_mapping()) {
    if (const Value* v = obj.as_dict().find(key)) return *v;
  }
  if (key.is_string()) return get_attr(obj, key.as_string());
  return Value::undefined("'" + object_label(obj) + "' has no element " + key.repr());
}

Result<Value> get_slice(const Value& obj, const Value& start_v, const Value& stop_v,
                        const Value& step_v) {
  if (obj.is_undefined()) return undefined_error(obj);
  for (const Value* b : {&start_v, &stop_v, &step_v}) {
    if (!b->is_none() && !is_index(*b)) return Value::undefined("slice indices must be integers");
  }
  const bool is_str = obj.is_string();
  if (!is_str && (!obj.is_list() || obj.as_list().is_generator))
    return Value::undefined("object is not subscriptable");
  std::u32string cps;
  if (is_str) cps = pystr::decode(obj.as_string());
  const auto len = static_cast<int64_t>(is_str ? cps.size() : obj.as_list().items.size());
  const int64_t step = step_v.is_none() ? 1 : index_of(step_v);
  if (step == 0) return Status::error("slice step cannot be zero");
  auto adjust = [&](const Value& v, int64_t dflt) {
    if (v.is_none()) return dflt;
    int64_t i = index_of(v);
    if (i < 0) {
      i += len;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= len) {
      i = step < 0 ? len - 1 : len;
    }
    return i;
  };
  const int64_t start = adjust(start_v, step < 0 ? len - 1 : 0);
  const int64_t stop = adjust(stop_v, step < 0 ? -1 : len);
  std::vector<size_t> picks;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    picks.push_back(static_cast<size_t>(i));
  }
  if (is_str) {
    std::u32string out;
    for (size_t i : picks) out.push_back(cps[i]);
    return Value(pystr::encode(out));
  }
  std::vector<Value> out;
  for (size_t i : picks) out.push_back(obj.as_list().items[i]);
  return Value::list(std::move(out), obj.as_list().is_tuple);
}

Result<std::vector<Value>> iterate(const Value& v) {
  if (v.is_list()) return v.as_list().items;
  if (v.is_mapping()) {
    std::vector<Value> keys;
    for (const auto& [k, x] : v.as_dict().entries) keys.push_back(k);
    return keys;
  }
  if (v.is_string()) {
    std::vector<Value> chars;
    for (char32_t c : pystr::decode(v.as_string())) {
      std::string s;
      pystr::append_utf8(s, c);
      chars.emplace_back(std::move(s));
    }
    return chars;
  }
  if (v.is_undefined()) return std::vector<Value>{};
  return Status::error("'" + v.type_name() + "' object is not iterable");
}

Result<bool> contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    if (!item.is_string()) {
      if (item.is_undefined()) return undefined_error(item);
      return Status::error("'in <string>' requires string as left operand, not " +
                           item.type_name());
    }
    return container.as_string().find(item.as_string()) != std::string::npos;
  }
  if (container.is_list()) {
    for (const auto& x : container.as_list().items) {
      if (values_equal(x, item)) return true;
    }
    return false;
  }
  if (container.is_mapping()) {
    if (item.is_list() || item.is_mapping()) {
      return Status::error("unhashable type: '" + item.type_name() + "'");
    }
    return container.as_dict().find(item) != nullptr;
  }
  if (container.is_undefined()) return false;
  return Status::error("argument of type '" + container.type_name() + "' is not iterable");
}

namespace {

Result<std::optional<std::string>> opt_string(const Value& v, const char* what) {
  if (v.is_none()) return std::optional<std::string>();
  if (!v.is_string()) {
    return Status::error(std::string(what) + " arg must be None or str, not " + v.type_name());
  }
  return std::optional<std::string>(v.as_string());
}

Result<int64_t> int_arg(const Value& v, const char* what) {
  if (!is_index(v)) {
    return Status::error(std::string(what) + ": an integer is required, not " + v.type_name());
  }
  return index_of(v);
}

Value string_list(std::vector<std::string> parts) {
  std::vector<Value> out;
  out.reserve(parts.size());
  for (auto& p : parts) out.emplace_back(std::move(p));
  return Value::list(std::move(out));
}

// startswith/endswith accept a str or a tuple of str.
Result<bool> affix_match(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const std::string& a) {
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0
                  : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.is_string()) return one(affix.as_string());
  if (affix.is_list() && affix.as_list().is_tuple) {
    for (const auto& a : affix.as_list().items) {
      if (!a.is_string())
        return Status::error("tuple for startswith/endswith must only contain str");
      if (one(a.as_string())) return true;
    }
    return false;
  }
  return Status::error(std::string(prefix ? "startswith" : "endswith") +
                       " first arg must be str or a tuple of str, not " + affix.type_name());
}

template <typename Pred>
bool all_chars(const std::string& s, Pred p) {
  const std::u32string cps = pystr::decode(s);
  return !cps.empty() && std::all_of(cps.begin(), cps.end(), p);
}

Result<Value> pad(const std::string& s, int64_t width, const std::string& fill, char align) {
  if (pystr::length(fill) != 1) {
    return Status::error("The fill character must be exactly one character long");
  }
  const auto len = static_cast<int64_t>(pystr::length(s));
  if (width <= len) return Value(s);
  if (width > (int64_t{1} << 24)) return Status::error("padding width too large");
  const int64_t total = width - len;
  int64_t left = align == '<' ? 0 : align == '>' ? total : total / 2 + (total & width & 1);
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += s;
  for (int64_t i = 0; i < total - left; ++i) out += fill;
  return Value(std::move(out));
}

Result<Value> str_method(Interpreter& in, const std::string& s, const std::string& name,
                         CallArgs& args) {
  using P = std::vector<std::pair<std::string, Value>>;
  const Value none{None{}};
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    KILN_ASSIGN_OR_RETURN(auto a, bind_args(name, args, P{{"chars", none}}));
    KILN_ASSIGN_OR_RETURN(auto chars, opt_string(a[0], name.c_str()));
    return Value(pystr::strip(s, chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    KILN_ASSIGN_OR_RETURN(auto a, bind_args(name, args, P{{"sep", none}, {"maxsplit", Value(-1)}}));
    KILN_ASSIGN_OR_RETURN(auto sep, opt_string(a[0], name.c_str()));
    if (sep && sep->empty()) return Status::error("empty separator");
    KILN_ASSIGN_OR_RETURN(int64_t maxsplit, int_arg(a[1], "maxsplit"));
    KILN_TRY(in.tick(s.size() / 64));
    return string_list(name == "split" ? pystr::split(s, sep, maxsplit)
                                       : pystr::rsplit(s, sep, maxsplit));
  }
  if (name == "splitlines") {
    KILN_ASSIGN_OR_RETURN(auto a, bind_args(name, args, P{{"keepends", Value(false)}}));
    return string_list(pystr::splitlines(s, a[0].truthy()));
  }
  if (name == "startswith" || name == "endswith") {
    KILN_ASSIGN_OR_RETURN(auto a, bind_args(name, args, P{{"prefix", none}}));
    KILN_ASSIGN_OR_RETURN(bool r, affix_match(s, a[0], name == "startswith"));
    return Value(r);
  }
  if (name == "upper") return Value(pystr::upper(s));
  if (name == "lower" || name == "casefold") return Value(pystr::lower(s));
  if (name == "title") return Value(pystr::title(s));
  if (name == "capitalize") return Value(pystr::capitalize(s));
  if (name == "swapcase") return Value(pystr::swapcase(s));
  if (name == "replace") {
    KILN_ASSIGN_OR_RETURN(
        auto a, bind_args(name, args, P{{"old", none}, {"new", none}, {"count", Value(-1)}}));
    if (!a[0].is_string() || !a[1].is_string())
      return Status::error("replace() arguments must be str");
    KILN_ASSIGN_OR_RETURN(int64_t count, int_arg(a[2], "count"));
    std::string r = pystr::replace(s, a[0].as_string(), a[1].as_string(), count);
    if (r.size() > in.max_size()) return Status::error("string longer than the output limit");
    return Value(std::move(r));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    KILN_ASSIGN_OR_RETURN(auto a, bind_args(name, args, P{{"sub", none}}));
    if (!a[0].is_string()) return Status::error("must be str, not " + a[0].type_name());
    if (name == "count") return Value(pystr::count(s, a[0].as_string()));
    const int64_t r = pystr::find(s, a[0].as_string(), name[0] == 'r');
    if (r < 0 && name.find("index") != std::string::npos)
      return Status::error("substring not found");
    return Value(r);
  }
  if (name == "join") {
    KILN_ASSIGN_OR_RETURN(auto a, bind_args(name, args, P{{"iterable", none}}));
    KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(a[0]));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        return Status::error("sequence item " + std::to_string(i) + ": expected str instance, " +
                             items[i].type_name() + " found");
      }
      if (i) out += s;
      out += items[i].as_string();
      if (out.size() > in.max_size()) return Status::error("string longer than the output limit");
    }
    return Value(std::move(out));
  }
  if (name == "format") {
    KILN_ASSIGN_OR_RETURN(std::string r, str_format(s, args));
    return Value(std::move(r));
  }
  if (name == "isdigit" || name == "isnumeric" || name == "isdecimal") {
    return Value(all_chars(s, pystr::is_digit));
  }
  if (name == "isalpha") return Value(all_chars(s, pystr::is_alpha));
  if (name == "isalnum") {
    return Value(all_chars(s, [](char32_t c) { return pystr::is_alpha(c) || pystr::is_digit(c); }));
  }
  if (name == "isspace") return Value(all_chars(s, pystr::is_space));
  if (name == "isupper" || name == "islower") {
    const std::u32string cps = pystr::decode(s);
    bool any_cased = false, ok = true;
    for (char32_t c : cps) {
      if (!pystr::is_cased(c)) continue;
      any_cased = true;
      const bool is_up = pystr::to_lower(c) != c;
      if (is_up != (name == "isupper")) ok = false;
    }
    return Value(any_cased && ok);
  }
  if (name == "istitle") return Value(!s.empty() && pystr::title(s) == s);
  if (name == "zfill") {
    KILN_ASSIGN_OR_RETURN(auto a, bind_args(name, args, P{{"width", none}}));
    KILN_ASSIGN_OR_RETURN(int64_t width, int_arg(a[0], "zfill"));
    const auto len = static_cast<int64_t>(pystr::length(s));
    if (width <= len) return Value(s);
    if (width > (int64_t{1} << 24)) return Status::error("padding width too large");
    const bool sign = !s.empty() && (s[0] == '-' || s[0] == '+');
    return Value((sign ? s.substr(0, 1) : "") + std::string(static_cast<size_t>(width - len), '0') +
                 (sign ? s.substr(1) : s));
  }
  if (name == "center" || name == "ljust" || name == "rjust") {
    KILN_ASSIGN_OR_RETURN(auto a,
                          bind_args(name, args, P{{"width", none}, {"fillchar", Value(" ")}}));
    KILN_ASSIGN_OR_RETURN(int64_t width, int_arg(a[0], name.c_str()));
    if (!a[1].is_string()) return Status::error("fillchar must be str");
    return pad(s, width, a[1].as_string(), name == "center" ? '^' : name == "ljust" ? '<' : '>');
  }
  if (name == "removeprefix" || name == "removesuffix") {
    KILN_ASSIGN_OR_RETURN(auto a, bind_args(name, args, P{{"affix", none}}));
    if (!a[0].is_string()) return Status::error(name + "() argument must be str");
    const std::string& x = a[0].as_string();
    if (name == "removeprefix") return Value(s.rfind(x, 0) == 0 ? s.substr(x.size()) : s);
    const bool ends = x.size() <= s.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
    return Value(ends ? s.substr(0, s.size() - x.size()) : s);
  }
  if (name == "partition" || name == "rpartition") {
    KILN_ASSIGN_OR_RETURN(auto a, bind_args(name, args, P{{"sep", none}}));
    if (!a[0].is_string() || a[0].as_string().empty()) return Status::error("bad separator");
    const std::string& sep = a[0].as_string();
    const size_t hit = name == "partition" ? s.find(sep) : s.rfind(sep);
    if (hit == std::string::npos) {
      return name == "partition" ? Value::list({Value(s), Value(""), Value("")}, true)
                                 : Value::list({Value(""), Value(""), Value(s)}, true);
    }
    return Value::list({Value(s.substr(0, hit)), Value(sep), Value(s.substr(hit + sep.size()))},
                       true);
  }
  if (name == "expandtabs") return Value(pystr::replace(s, "\t", "        ", -1));
  return Status::error("'str' object has no attribute '" + name + "'");
}

Result<Value> list_method(const Value& obj, const std::string& name, CallArgs& args) {
  using P = std::vector<std::pair<std::string, Value>>;
  const auto& items = obj.as_list().items;
  if (name == "copy") return Value::list(items, obj.as_list().is_tuple);
  KILN_ASSIGN_OR_RETURN(auto a, bind_args(name, args, P{{"value", Value(None{})}}));
  if (name == "count") {
    return Value(static_cast<int64_t>(std::count_if(
        items.begin(), items.end(), [&](const Value& x) { return values_equal(x, a[0]); })));
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (values_equal(items[i], a[0])) return Value(static_cast<int64_t>(i));
  }
  return Status::error(a[0].repr() + " is not in list");
}

Result<Value> dict_method(const Value& obj, const std::string& name, CallArgs& args) {
  using P = std::vector<std::pair<std::string, Value>>;
  const auto& d = obj.as_dict();
  if (name == "get") {
    KILN_ASSIGN_OR_RETURN(
        auto a, bind_args(name, args, P{{"key", Value(None{})}, {"default", Value(None{})}}));
    if (a[0].is_list() || a[0].is_dict())
      return Status::error("unhashable type: '" + a[0].type_name() + "'");
    const Value* v = d.find(a[0]);
    return v ? *v : a[1];
  }
  KILN_TRY(bind_args(name, args, P{}).status());
  if (name == "copy") {
    Value c = Value::dict();
    c.mutable_dict() = d;
    return c;
  }
  std::vector<Value> out;
  for (const auto& [k, v] : d.entries) {
    if (name == "keys") {
      out.push_back(k);
    } else if (name == "values") {
      out.push_back(v);
    } else {
      out.push_back(Value::list({k, v}, true));
    }
  }
  return Value::list(std::move(out));
}

}  // namespace

std::optional<Result<Value>> call_method(Interpreter& in, const Value& obj, const std::string& name,
                                         CallArgs& args) {
  if (obj.is_string() && one_of(kStrMethods, name))
    return str_method(in, obj.as_string(), name, args);
  if (obj.is_list()) {
    if (one_of(kListSafe, name)) return list_method(obj, name, args);
    if (one_of(kListUnsafe, name)) return Result<Value>(undefined_error(unsafe(obj, name)));
  }
  if (obj.is_mapping()) {
    if (one_of(kDictSafe, name)) return dict_method(obj, name, args);
    if (one_of(kDictUnsafe, name)) return Result<Value>(undefined_error(unsafe(obj, name)));
  }
  return std::nullopt;
}

}  // namespace kiln::jinja
