// jinja2's built-in filters (jinja2/filters.py) with Hugging Face's tojson.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/pystr.h"

namespace kiln::jinja {

namespace {

using Params = std::vector<std::pair<std::string, Value>>;
using FilterFn = Result<Value> (*)(Interpreter&, const Value&, CallArgs&);

const Value kNone{None{}};

Value str_list(const std::vector<Value>& items) { return Value::list(items); }
Value generator(const std::vector<Value>& items) {
  Value v = Value::list(items);
  std::get<ListPtr>(v.storage())->is_generator = true;
  return v;
}

// ---- attribute getters (jinja2's make_attrgetter / make_multi_attrgetter) -------------

// "a.b.0" -> lookups; "a,b" -> several keys.
Result<Value> get_path(const Value& item, const Value& attribute, const Value& dflt) {
  if (attribute.is_int()) return get_item(item, attribute);
  if (!attribute.is_string()) return Status::error("attribute must be a string or integer");
  Value v = item;
  for (const auto& part : pystr::split(attribute.as_string(), std::string("."), -1)) {
    const bool numeric = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    KILN_ASSIGN_OR_RETURN(
        v, get_item(v, numeric ? Value(static_cast<int64_t>(std::stoll(part.substr(0, 18))))
                               : Value(part)));
    if (v.is_undefined() && !dflt.is_none()) return dflt;
  }
  return v;
}

Value ignore_case(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(pystr::lower(v.as_string()));
  return v;
}

Result<Value> sort_key(const Value& item, const Value& attribute, bool case_sensitive) {
  if (attribute.is_none()) return ignore_case(item, case_sensitive);
  if (attribute.is_string() && attribute.as_string().find(',') != std::string::npos) {
    std::vector<Value> parts;
    for (const auto& a : pystr::split(attribute.as_string(), std::string(","), -1)) {
      KILN_ASSIGN_OR_RETURN(Value v, get_path(item, Value(a), kNone));
      parts.push_back(ignore_case(v, case_sensitive));
    }
    return Value::list(std::move(parts));
  }
  KILN_ASSIGN_OR_RETURN(Value v, get_path(item, attribute, kNone));
  return ignore_case(v, case_sensitive);
}

// Stable sort by precomputed keys with Python's `<`; incomparable keys are an error.
Result<std::vector<Value>> sorted_by(std::vector<Value> items, std::vector<Value> keys,
                                     bool reverse) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Status error;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (!error.is_ok()) return false;
    auto c = reverse ? compare_values(keys[b], keys[a]) : compare_values(keys[a], keys[b]);
    if (!c.is_ok()) {
      error = c.status();
      return false;
    }
    return c.value() < 0;
  });
  KILN_TRY(error);
  std::vector<Value> out;
  for (size_t i : order) out.push_back(std::move(items[i]));
  return out;
}

// ---- string filters -------------------------------------------------------------------

Result<Value> f_upper(Interpreter&, const Value& v, CallArgs&) {
  return Value(pystr::upper(v.str()));
}
Result<Value> f_lower(Interpreter&, const Value& v, CallArgs&) {
  return Value(pystr::lower(v.str()));
}
Result<Value> f_capitalize(Interpreter&, const Value& v, CallArgs&) {
  return Value(pystr::capitalize(v.str()));
}

Result<Value> f_title(Interpreter&, const Value& v, CallArgs&) {
  // jinja2 splits on runs of [-\s({[<] and capitalizes each piece.
  const std::u32string cps = pystr::decode(v.str());
  std::u32string out;
  bool word_start = true;
  for (char32_t c : cps) {
    const bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || pystr::is_space(c);
    if (sep) {
      out.push_back(c);
      word_start = true;
    } else {
      out.push_back(word_start ? pystr::to_upper(c) : pystr::to_lower(c));
      word_start = false;
    }
  }
  return Value(pystr::encode(out));
}

Result<Value> f_trim(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a, bind_args("trim", args, Params{{"chars", kNone}}));
  std::optional<std::string> chars;
  if (a[0].is_string()) chars = a[0].as_string();
  return Value(pystr::strip(v.str(), chars, true, true));
}

Result<Value> f_replace(Interpreter& in, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(
      auto a, bind_args("replace", args, Params{{"old", kNone}, {"new", kNone}, {"count", kNone}}));
  const int64_t count = a[2].is_int() ? a[2].as_int() : -1;
  std::string r = pystr::replace(v.str(), a[0].str(), a[1].str(), count);
  if (r.size() > in.max_size()) return Status::error("string longer than the output limit");
  return Value(std::move(r));
}

Result<Value> f_string(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() ? v : Value(v.str());
}

// Escaping a Markup string leaves it as it is (markupsafe.escape).
Result<Value> f_escape(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_safe()) return v;
  return Value::safe_string(pystr::html_escape(v.str()));
}

Result<Value> f_indent(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(
      auto a,
      bind_args("indent", args,
                Params{{"width", Value(4)}, {"first", Value(false)}, {"blank", Value(false)}}));
  std::string indention;
  if (a[0].is_string()) {
    indention = a[0].as_string();
  } else if (a[0].is_int() && a[0].as_int() >= 0 && a[0].as_int() < 4096) {
    indention = std::string(static_cast<size_t>(a[0].as_int()), ' ');
  } else {
    return Status::error("indent width must be a string or a small non-negative integer");
  }
  const std::vector<std::string> lines = pystr::splitlines(v.str() + "\n", false);
  std::string rv;
  if (a[2].truthy()) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + indention : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      rv += "\n" + (lines[i].empty() ? "" : indention + lines[i]);
    }
  }
  if (a[1].truthy()) rv = indention + rv;
  return Value(std::move(rv));
}

Result<Value> f_center(Interpreter& in, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a, bind_args("center", args, Params{{"width", Value(80)}}));
  CallArgs margs;
  margs.positional.push_back(a[0]);
  return *call_method(in, Value(v.str()), "center", margs);
}

Result<Value> f_truncate(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a, bind_args("truncate", args,
                                          Params{{"length", Value(255)},
                                                 {"killwords", Value(false)},
                                                 {"end", Value("...")},
                                                 {"leeway", Value(5)}}));
  const std::u32string s = pystr::decode(v.str());
  const std::u32string end = pystr::decode(a[2].str());
  if (!a[0].is_int() || !a[3].is_int()) return Status::error("truncate length must be an integer");
  const int64_t length = a[0].as_int(), leeway = a[3].as_int();
  if (length < static_cast<int64_t>(end.size()))
    return Status::error("expected length >= len(end)");
  if (static_cast<int64_t>(s.size()) <= length + leeway) return Value(v.str());
  std::u32string head = s.substr(0, static_cast<size_t>(length) - end.size());
  if (!a[1].truthy()) {
    const size_t sp = head.rfind(U' ');
    if (sp != std::u32string::npos) head = head.substr(0, sp);
  }
  return Value(pystr::encode(head + end));
}

Result<Value> f_wordcount(Interpreter&, const Value& v, CallArgs&) {
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : pystr::decode(v.str())) {
    const bool w = pystr::is_alpha(c) || pystr::is_digit(c) || c == '_';
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value(n);
}

Result<Value> f_format(Interpreter&, const Value& v, CallArgs& args) {
  if (!args.positional.empty() && !args.keyword.empty()) {
    return Status::error("can't handle positional and keyword arguments at the same time");
  }
  Value fargs;
  if (!args.keyword.empty()) {
    fargs = Value::dict();
    for (auto& [k, x] : args.keyword) fargs.mutable_dict().set(Value(k), x);
  } else {
    fargs = Value::list(args.positional, true);
  }
  KILN_ASSIGN_OR_RETURN(std::string s, percent_format(v.str(), fargs));
  return Value(std::move(s));
}

Result<Value> f_tojson(Interpreter& in, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a, bind_args("tojson", args,
                                          Params{{"ensure_ascii", Value(false)},
                                                 {"indent", kNone},
                                                 {"separators", kNone},
                                                 {"sort_keys", Value(false)}}));
  const bool has_indent = !a[1].is_none();
  int indent = 0;
  if (has_indent) {
    if (!a[1].is_int() || a[1].as_int() < 0 || a[1].as_int() > 64) {
      return Status::error("tojson indent must be an integer from 0 to 64");
    }
    indent = static_cast<int>(a[1].as_int());
  }
  std::string item_sep = has_indent ? "," : ", ", key_sep = ": ";
  if (!a[2].is_none()) {
    if (!a[2].is_list() || a[2].as_list().items.size() != 2 ||
        !a[2].as_list().items[0].is_string() || !a[2].as_list().items[1].is_string()) {
      return Status::error("tojson separators must be a pair of strings");
    }
    item_sep = a[2].as_list().items[0].as_string();
    key_sep = a[2].as_list().items[1].as_string();
  }
  KILN_ASSIGN_OR_RETURN(std::string s, v.to_json(indent, has_indent, item_sep, key_sep,
                                                 a[3].truthy(), a[0].truthy()));
  if (s.size() > in.max_size()) return Status::error("tojson output longer than the output limit");
  return Value(std::move(s));
}

// ---- number filters -------------------------------------------------------------------

// Python int(str, base): optional whitespace and sign, digits with single underscores.
std::optional<int64_t> parse_int(const std::string& text, int base) {
  const std::string s = pystr::strip(text, std::nullopt, true, true);
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i >= s.size()) return std::nullopt;
  int64_t v = 0;
  bool prev_digit = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_' && prev_digit && i + 1 < s.size()) {
      prev_digit = false;
      continue;
    }
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'z' ? c - 'a' + 10
            : c >= 'A' && c <= 'Z' ? c - 'A' + 10
                                   : 99;
    if (d >= base) return std::nullopt;
    if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
      return std::nullopt;
    prev_digit = true;
  }
  if (!prev_digit) return std::nullopt;
  return neg ? -v : v;
}

// Python float(str).
std::optional<double> parse_float(const std::string& text) {
  std::string s = pystr::lower(pystr::strip(text, std::nullopt, true, true));
  std::string body = s;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body = body.substr(1);
  if (body == "inf" || body == "infinity" || body == "nan") {
    const double x = body == "nan" ? NAN : INFINITY;
    return s[0] == '-' ? -x : x;
  }
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (i == 0 || i + 1 >= s.size() || !isdigit(static_cast<unsigned char>(s[i - 1])) ||
          !isdigit(static_cast<unsigned char>(s[i + 1]))) {
        return std::nullopt;
      }
      continue;
    }
    if (!isdigit(static_cast<unsigned char>(s[i])) &&
        std::string_view("+-.e").find(s[i]) == std::string_view::npos) {
      return std::nullopt;
    }
    clean.push_back(s[i]);
  }
  if (clean.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  return d;
}

Result<Value> f_int(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a,
                        bind_args("int", args, Params{{"default", Value(0)}, {"base", Value(10)}}));
  if (v.is_int() || v.is_bool()) return Value(v.is_int() ? v.as_int() : int64_t{v.as_bool()});
  if (v.is_float()) {
    const double d = v.as_float();
    if (std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(static_cast<int64_t>(d));
    return a[0];
  }
  if (v.is_string()) {
    const int base = a[1].is_int() ? static_cast<int>(a[1].as_int()) : 10;
    if (base >= 2 && base <= 36) {
      if (auto i = parse_int(v.as_string(), base)) return Value(*i);
    }
    if (auto d = parse_float(v.as_string()); d && std::isfinite(*d) && std::fabs(*d) < 9.2e18) {
      return Value(static_cast<int64_t>(*d));
    }
  }
  return a[0];
}

Result<Value> f_float(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a, bind_args("float", args, Params{{"default", Value(0.0)}}));
  if (v.is_number()) return Value(v.to_double());
  if (v.is_string()) {
    if (auto d = parse_float(v.as_string())) return Value(*d);
  }
  return a[0];
}

Result<Value> f_round(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(
      auto a,
      bind_args("round", args, Params{{"precision", Value(0)}, {"method", Value("common")}}));
  if (!v.is_number())
    return Status::error("type " + v.type_name() + " doesn't define __round__ method");
  if (!a[0].is_int()) return Status::error("round precision must be an integer");
  const int64_t prec = std::clamp<int64_t>(a[0].as_int(), -308, 308);
  const std::string method = a[1].str();
  if (method != "common" && method != "ceil" && method != "floor") {
    return Status::error("method must be common, ceil or floor");
  }
  if (method == "common" && !v.is_float()) return v.is_bool() ? Value(int64_t{v.as_bool()}) : v;
  const double x = v.to_double();
  if (method != "common") {
    const double p = std::pow(10.0, static_cast<double>(prec));
    return Value((method == "ceil" ? std::ceil(x * p) : std::floor(x * p)) / p);
  }
  if (!std::isfinite(x)) return Value(x);
  if (prec < 0) {
    const double p = std::pow(10.0, static_cast<double>(-prec));
    return Value(std::nearbyint(x / p) * p);
  }
  // printf rounds the exact binary value half-to-even, as CPython's round() does.
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(std::min<int64_t>(prec, 300)), x);
  return Value(std::strtod(buf, nullptr));
}

Result<Value> f_abs(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  if (v.is_int() || v.is_bool()) {
    const int64_t i = v.is_int() ? v.as_int() : v.as_bool();
    if (i == INT64_MIN) return Status::error("integer overflow (beyond 64 bits)");
    return Value(i < 0 ? -i : i);
  }
  return Status::error("bad operand type for abs(): '" + v.type_name() + "'");
}

// ---- sequence filters -----------------------------------------------------------------

Result<Value> f_length(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_string()) return Value(static_cast<int64_t>(pystr::length(v.as_string())));
  if (v.is_list() && !v.as_list().is_generator) {
    return Value(static_cast<int64_t>(v.as_list().items.size()));
  }
  if (v.is_mapping()) return Value(static_cast<int64_t>(v.as_dict().entries.size()));
  if (v.is_undefined()) return Value(0);
  return Status::error("object of type '" + v.type_name() + "' has no len()");
}

Result<Value> f_list(Interpreter&, const Value& v, CallArgs&) {
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  return str_list(items);
}

Result<Value> f_first(Interpreter&, const Value& v, CallArgs&) {
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Result<Value> f_last(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return undefined_error(v);
  if (v.is_list() && v.as_list().is_generator)
    return Status::error("'generator' object is not reversible");
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Result<Value> f_reverse(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_string()) {
    std::u32string cps = pystr::decode(v.as_string());
    std::reverse(cps.begin(), cps.end());
    return Value(pystr::encode(cps));
  }
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  std::reverse(items.begin(), items.end());
  return str_list(items);
}

Result<Value> f_join(Interpreter& in, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a,
                        bind_args("join", args, Params{{"d", Value("")}, {"attribute", kNone}}));
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  const std::string sep = a[0].str();
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    Value item = items[i];
    if (!a[1].is_none()) {
      KILN_ASSIGN_OR_RETURN(item, get_path(item, a[1], kNone));
    }
    if (i) out += sep;
    out += item.str();
    if (out.size() > in.max_size()) return Status::error("string longer than the output limit");
  }
  return Value(std::move(out));
}

Result<Value> f_default(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(
      auto a,
      bind_args("default", args, Params{{"default_value", Value("")}, {"boolean", Value(false)}}));
  if (v.is_undefined() || (a[1].truthy() && !v.truthy())) return a[0];
  return v;
}

Result<Value> f_items(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return generator({});
  if (!v.is_mapping()) return Status::error("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, x] : v.as_dict().entries) out.push_back(Value::list({k, x}, true));
  return generator(out);
}

Result<Value> f_dictsort(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a, bind_args("dictsort", args,
                                          Params{{"case_sensitive", Value(false)},
                                                 {"by", Value("key")},
                                                 {"reverse", Value(false)}}));
  if (!v.is_mapping()) return Status::error("dictsort: expected a mapping, got " + v.type_name());
  const std::string by = a[1].str();
  if (by != "key" && by != "value")
    return Status::error("You can only sort by either \"key\" or \"value\"");
  std::vector<Value> items, keys;
  for (const auto& [k, x] : v.as_dict().entries) {
    items.push_back(Value::list({k, x}, true));
    keys.push_back(ignore_case(by == "key" ? k : x, a[0].truthy()));
  }
  KILN_ASSIGN_OR_RETURN(auto sorted, sorted_by(std::move(items), std::move(keys), a[2].truthy()));
  return str_list(sorted);
}

Result<Value> f_sort(Interpreter& in, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a, bind_args("sort", args,
                                          Params{{"reverse", Value(false)},
                                                 {"case_sensitive", Value(false)},
                                                 {"attribute", kNone}}));
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  KILN_TRY(in.tick(items.size()));
  std::vector<Value> keys;
  for (const auto& item : items) {
    KILN_ASSIGN_OR_RETURN(Value k, sort_key(item, a[2], a[1].truthy()));
    keys.push_back(std::move(k));
  }
  KILN_ASSIGN_OR_RETURN(auto sorted, sorted_by(std::move(items), std::move(keys), a[0].truthy()));
  return str_list(sorted);
}

Result<Value> f_unique(Interpreter& in, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(
      auto a,
      bind_args("unique", args, Params{{"case_sensitive", Value(false)}, {"attribute", kNone}}));
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  KILN_TRY(in.tick(items.size() * items.size() / 16 + 1));
  std::vector<Value> out, seen;
  for (const auto& item : items) {
    KILN_ASSIGN_OR_RETURN(Value k, sort_key(item, a[1], a[0].truthy()));
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return values_equal(s, k); }))
      continue;
    seen.push_back(k);
    out.push_back(item);
  }
  return generator(out);
}

Result<Value> min_max(const Value& v, CallArgs& args, bool want_max) {
  KILN_ASSIGN_OR_RETURN(auto a,
                        bind_args(want_max ? "max" : "min", args,
                                  Params{{"case_sensitive", Value(false)}, {"attribute", kNone}}));
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  KILN_ASSIGN_OR_RETURN(Value best_key, sort_key(items[0], a[1], a[0].truthy()));
  for (size_t i = 1; i < items.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(Value k, sort_key(items[i], a[1], a[0].truthy()));
    KILN_ASSIGN_OR_RETURN(int c, compare_values(k, best_key));
    if (want_max ? c > 0 : c < 0) {
      best = i;
      best_key = k;
    }
  }
  return items[best];
}
Result<Value> f_min(Interpreter&, const Value& v, CallArgs& args) {
  return min_max(v, args, false);
}
Result<Value> f_max(Interpreter&, const Value& v, CallArgs& args) { return min_max(v, args, true); }

Result<Value> f_sum(Interpreter& in, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a,
                        bind_args("sum", args, Params{{"attribute", kNone}, {"start", Value(0)}}));
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  Value total = a[1];
  for (const auto& item : items) {
    Value x = item;
    if (!a[0].is_none()) {
      KILN_ASSIGN_OR_RETURN(x, get_path(item, a[0], kNone));
    }
    KILN_ASSIGN_OR_RETURN(total, binary_op(in, "+", total, x));
  }
  return total;
}

Result<Value> f_batch(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(
      auto a, bind_args("batch", args, Params{{"linecount", kNone}, {"fill_with", kNone}}));
  if (!a[0].is_int() || a[0].as_int() <= 0)
    return Status::error("batch size must be a positive integer");
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  const auto n = static_cast<size_t>(a[0].as_int());
  std::vector<Value> out;
  for (size_t i = 0; i < items.size(); i += n) {
    std::vector<Value> chunk(
        items.begin() + static_cast<std::ptrdiff_t>(i),
        items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + n)));
    if (chunk.size() < n && !a[1].is_none()) chunk.resize(n, a[1]);
    out.push_back(Value::list(std::move(chunk)));
  }
  return generator(out);
}

Result<Value> f_attr(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a, bind_args("attr", args, Params{{"name", kNone}}));
  return get_attr(v, a[0].str());
}

Result<Value> f_safe(Interpreter&, const Value& v, CallArgs&) {
  return Value::safe_string(v.is_string() ? v.as_string() : v.str());
}
Result<Value> f_pprint(Interpreter&, const Value& v, CallArgs&) { return Value(v.repr()); }

// ---- higher-order filters -------------------------------------------------------------

CallArgs rest_args(CallArgs& args, size_t skip) {
  CallArgs out;
  for (size_t i = skip; i < args.positional.size(); ++i)
    out.positional.push_back(args.positional[i]);
  out.keyword = args.keyword;
  return out;
}

Result<Value> f_map(Interpreter& in, const Value& v, CallArgs& args) {
  if (!v.truthy()) return generator({});  // jinja2: `if value:` before iterating
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  KILN_TRY(in.tick(items.size()));
  std::vector<Value> out;
  if (args.positional.empty()) {
    Value attribute, dflt(None{});
    for (auto& [k, x] : args.keyword) {
      if (k == "attribute") {
        attribute = x;
      } else if (k == "default") {
        dflt = x;
      } else {
        return Status::error("Unexpected keyword argument '" + k + "'");
      }
    }
    if (attribute.is_undefined())
      return Status::error("map requires a filter or attribute argument");
    for (const auto& item : items) {
      KILN_ASSIGN_OR_RETURN(Value x, get_path(item, attribute, dflt));
      out.push_back(std::move(x));
    }
    return generator(out);
  }
  const std::string name = args.positional[0].str();
  if (!is_known_filter(name)) return Status::error("No filter named '" + name + "'");
  for (const auto& item : items) {
    CallArgs fargs = rest_args(args, 1);
    KILN_ASSIGN_OR_RETURN(Value x, apply_filter(in, name, item, fargs));
    out.push_back(std::move(x));
  }
  return generator(out);
}

// select / reject / selectattr / rejectattr.
Result<Value> select_impl(Interpreter& in, const Value& v, CallArgs& args, bool by_attr,
                          bool keep) {
  if (!v.truthy()) return generator({});  // jinja2: `if value:` before iterating
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  KILN_TRY(in.tick(items.size()));
  size_t next = 0;
  Value attribute;
  if (by_attr) {
    if (args.positional.empty()) return Status::error("selectattr/rejectattr need an attribute");
    attribute = args.positional[next++];
  }
  std::string test;
  if (next < args.positional.size()) test = args.positional[next++].str();
  if (!test.empty() && !is_known_test(test)) return Status::error("No test named '" + test + "'");
  std::vector<Value> out;
  for (const auto& item : items) {
    Value subject = item;
    if (by_attr) {
      KILN_ASSIGN_OR_RETURN(subject, get_path(item, attribute, kNone));
    }
    bool r = false;
    if (test.empty()) {
      r = subject.truthy();
    } else {
      CallArgs targs = rest_args(args, next);
      KILN_ASSIGN_OR_RETURN(r, apply_test(in, test, subject, targs));
    }
    if (r == keep) out.push_back(item);
  }
  return generator(out);
}
Result<Value> f_select(Interpreter& in, const Value& v, CallArgs& a) {
  return select_impl(in, v, a, false, true);
}
Result<Value> f_reject(Interpreter& in, const Value& v, CallArgs& a) {
  return select_impl(in, v, a, false, false);
}
Result<Value> f_selectattr(Interpreter& in, const Value& v, CallArgs& a) {
  return select_impl(in, v, a, true, true);
}
Result<Value> f_rejectattr(Interpreter& in, const Value& v, CallArgs& a) {
  return select_impl(in, v, a, true, false);
}

Result<Value> f_groupby(Interpreter& in, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(auto a, bind_args("groupby", args,
                                          Params{{"attribute", kNone},
                                                 {"default", kNone},
                                                 {"case_sensitive", Value(false)}}));
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(v));
  KILN_TRY(in.tick(items.size()));
  std::vector<Value> keys;
  for (const auto& item : items) {
    KILN_ASSIGN_OR_RETURN(Value k, get_path(item, a[0], a[1]));
    keys.push_back(ignore_case(k, a[2].truthy()));
  }
  std::vector<Value> sort_keys = keys;
  KILN_ASSIGN_OR_RETURN(auto sorted_items, sorted_by(items, sort_keys, false));
  KILN_ASSIGN_OR_RETURN(auto sorted_keys, sorted_by(keys, keys, false));
  std::vector<Value> groups;
  for (size_t i = 0; i < sorted_items.size();) {
    size_t j = i;
    std::vector<Value> members;
    while (j < sorted_items.size() && values_equal(sorted_keys[j], sorted_keys[i])) {
      members.push_back(sorted_items[j++]);
    }
    groups.push_back(Value::list({sorted_keys[i], Value::list(std::move(members))}, true));
    i = j;
  }
  return str_list(groups);
}

Result<Value> f_unsupported(Interpreter&, const Value&, CallArgs&) {
  return Status::error("this filter is not supported by kiln's chat-template renderer");
}

const std::unordered_map<std::string, FilterFn>& filter_table() {
  static const std::unordered_map<std::string, FilterFn> table{{"abs", f_abs},
                                                               {"attr", f_attr},
                                                               {"batch", f_batch},
                                                               {"capitalize", f_capitalize},
                                                               {"center", f_center},
                                                               {"count", f_length},
                                                               {"d", f_default},
                                                               {"default", f_default},
                                                               {"dictsort", f_dictsort},
                                                               {"e", f_escape},
                                                               {"escape", f_escape},
                                                               {"filesizeformat", f_unsupported},
                                                               {"first", f_first},
                                                               {"float", f_float},
                                                               {"forceescape", f_escape},
                                                               {"format", f_format},
                                                               {"groupby", f_groupby},
                                                               {"indent", f_indent},
                                                               {"int", f_int},
                                                               {"items", f_items},
                                                               {"join", f_join},
                                                               {"last", f_last},
                                                               {"length", f_length},
                                                               {"list", f_list},
                                                               {"lower", f_lower},
                                                               {"map", f_map},
                                                               {"max", f_max},
                                                               {"min", f_min},
                                                               {"pprint", f_pprint},
                                                               {"random", f_unsupported},
                                                               {"reject", f_reject},
                                                               {"rejectattr", f_rejectattr},
                                                               {"replace", f_replace},
                                                               {"reverse", f_reverse},
                                                               {"round", f_round},
                                                               {"safe", f_safe},
                                                               {"select", f_select},
                                                               {"selectattr", f_selectattr},
                                                               {"slice", f_unsupported},
                                                               {"sort", f_sort},
                                                               {"string", f_string},
                                                               {"striptags", f_unsupported},
                                                               {"sum", f_sum},
                                                               {"title", f_title},
                                                               {"tojson", f_tojson},
                                                               {"trim", f_trim},
                                                               {"truncate", f_truncate},
                                                               {"unique", f_unique},
                                                               {"upper", f_upper},
                                                               {"urlencode", f_unsupported},
                                                               {"urlize", f_unsupported},
                                                               {"wordcount", f_wordcount},
                                                               {"wordwrap", f_unsupported},
                                                               {"xmlattr", f_unsupported}};
  return table;
}

}  // namespace

bool is_known_filter(std::string_view name) { return filter_table().count(std::string(name)) != 0; }

Result<Value> apply_filter(Interpreter& in, const std::string& name, const Value& subject,
                           CallArgs& args) {
  const auto& table = filter_table();
  auto it = table.find(name);
  if (it == table.end()) return Status::error("No filter named '" + name + "'");
  auto r = it->second(in, subject, args);
  if (!r.is_ok() && r.status().message().rfind("template line", 0) != 0) {
    return Status::error("filter '" + name + "': " + r.status().message());
  }
  return r;
}

}  // namespace kiln::jinja
