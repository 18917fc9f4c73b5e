// jinja2's built-in tests (jinja2/tests.py), the globals a chat template sees, and
// argument binding.
#include <ctime>
#include <unordered_map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/pystr.h"

namespace kiln::jinja {

Result<std::vector<Value>> bind_args(const std::string& fname, CallArgs& args,
                                     const std::vector<std::pair<std::string, Value>>& params) {
  if (args.positional.size() > params.size()) {
    return Status::error(fname + "() takes at most " + std::to_string(params.size()) +
                         " argument(s) (" + std::to_string(args.positional.size()) + " given)");
  }
  std::vector<Value> out(params.size());
  std::vector<bool> set(params.size(), false);
  for (size_t i = 0; i < args.positional.size(); ++i) {
    out[i] = args.positional[i];
    set[i] = true;
  }
  for (const auto& [k, v] : args.keyword) {
    size_t i = 0;
    while (i < params.size() && params[i].first != k) ++i;
    if (i == params.size()) {
      return Status::error(fname + "() got an unexpected keyword argument '" + k + "'");
    }
    if (set[i]) return Status::error(fname + "() got multiple values for argument '" + k + "'");
    out[i] = v;
    set[i] = true;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (!set[i]) out[i] = params[i].second;
  }
  return out;
}

namespace {

using TestFn = Result<bool> (*)(Interpreter&, const Value&, CallArgs&);

Result<Value> one_arg(const char* name, CallArgs& args) {
  if (args.positional.size() + args.keyword.size() != 1) {
    return Status::error(std::string("test '") + name + "' takes exactly one argument");
  }
  return args.positional.empty() ? args.keyword[0].second : args.positional[0];
}

Result<int> compare_arg(const char* name, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(Value other, one_arg(name, args));
  if (v.is_undefined()) return undefined_error(v);
  if (other.is_undefined()) return undefined_error(other);
  return compare_values(v, other);
}

Result<bool> t_defined(Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); }
Result<bool> t_undefined(Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); }
Result<bool> t_none(Interpreter&, const Value& v, CallArgs&) { return v.is_none(); }
Result<bool> t_boolean(Interpreter&, const Value& v, CallArgs&) { return v.is_bool(); }
Result<bool> t_false(Interpreter&, const Value& v, CallArgs&) {
  return v.is_bool() && !v.as_bool();
}
Result<bool> t_true(Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }
Result<bool> t_integer(Interpreter&, const Value& v, CallArgs&) { return v.is_int(); }
Result<bool> t_float(Interpreter&, const Value& v, CallArgs&) { return v.is_float(); }
Result<bool> t_number(Interpreter&, const Value& v, CallArgs&) { return v.is_number(); }
Result<bool> t_string(Interpreter&, const Value& v, CallArgs&) { return v.is_string(); }
Result<bool> t_mapping(Interpreter&, const Value& v, CallArgs&) { return v.is_mapping(); }
Result<bool> t_callable(Interpreter&, const Value& v, CallArgs&) { return v.is_callable(); }
Result<bool> t_escaped(Interpreter&, const Value&, CallArgs&) { return false; }
Result<bool> t_iterable(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() || v.is_list() || v.is_mapping() || v.is_undefined();
}
Result<bool> t_sequence(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() || (v.is_list() && !v.as_list().is_generator) || v.is_mapping() ||
         v.is_undefined();
}
Result<bool> t_lower(Interpreter& in, const Value& v, CallArgs&) {
  CallArgs none;
  KILN_ASSIGN_OR_RETURN(Value r, *call_method(in, Value(v.str()), "islower", none));
  return r.truthy();
}
Result<bool> t_upper(Interpreter& in, const Value& v, CallArgs&) {
  CallArgs none;
  KILN_ASSIGN_OR_RETURN(Value r, *call_method(in, Value(v.str()), "isupper", none));
  return r.truthy();
}

Result<bool> parity(Interpreter& in, const Value& v, int want) {
  KILN_ASSIGN_OR_RETURN(Value m, binary_op(in, "%", v, Value(2)));
  return values_equal(m, Value(want));
}
Result<bool> t_odd(Interpreter& in, const Value& v, CallArgs&) { return parity(in, v, 1); }
Result<bool> t_even(Interpreter& in, const Value& v, CallArgs&) { return parity(in, v, 0); }
Result<bool> t_divisibleby(Interpreter& in, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(Value n, one_arg("divisibleby", args));
  KILN_ASSIGN_OR_RETURN(Value m, binary_op(in, "%", v, n));
  return values_equal(m, Value(0));
}

Result<bool> t_eq(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(Value other, one_arg("eq", args));
  return values_equal(v, other);
}
Result<bool> t_ne(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(Value other, one_arg("ne", args));
  return !values_equal(v, other);
}
Result<bool> t_lt(Interpreter&, const Value& v, CallArgs& a) {
  KILN_ASSIGN_OR_RETURN(int c, compare_arg("lt", v, a));
  return c < 0;
}
Result<bool> t_le(Interpreter&, const Value& v, CallArgs& a) {
  KILN_ASSIGN_OR_RETURN(int c, compare_arg("le", v, a));
  return c <= 0;
}
Result<bool> t_gt(Interpreter&, const Value& v, CallArgs& a) {
  KILN_ASSIGN_OR_RETURN(int c, compare_arg("gt", v, a));
  return c > 0;
}
Result<bool> t_ge(Interpreter&, const Value& v, CallArgs& a) {
  KILN_ASSIGN_OR_RETURN(int c, compare_arg("ge", v, a));
  return c >= 0;
}
Result<bool> t_in(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(Value seq, one_arg("in", args));
  return contains(seq, v);
}
Result<bool> t_sameas(Interpreter&, const Value& v, CallArgs& args) {
  KILN_ASSIGN_OR_RETURN(Value other, one_arg("sameas", args));
  if (v.storage().index() != other.storage().index()) return false;
  if (v.is_none() || v.is_undefined()) return true;
  if (v.is_bool()) return v.as_bool() == other.as_bool();
  if (v.is_list()) return v.list_ptr() == other.list_ptr();
  if (v.is_dict()) return v.dict_ptr() == other.dict_ptr();
  return values_equal(v, other);
}
Result<bool> t_filter(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() && is_known_filter(v.as_string());
}
Result<bool> t_test(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() && is_known_test(v.as_string());
}

const std::unordered_map<std::string, TestFn>& test_table() {
  static const std::unordered_map<std::string, TestFn> table{{"odd", t_odd},
                                                             {"even", t_even},
                                                             {"divisibleby", t_divisibleby},
                                                             {"defined", t_defined},
                                                             {"undefined", t_undefined},
                                                             {"filter", t_filter},
                                                             {"test", t_test},
                                                             {"none", t_none},
                                                             {"boolean", t_boolean},
                                                             {"false", t_false},
                                                             {"true", t_true},
                                                             {"integer", t_integer},
                                                             {"float", t_float},
                                                             {"lower", t_lower},
                                                             {"upper", t_upper},
                                                             {"string", t_string},
                                                             {"mapping", t_mapping},
                                                             {"number", t_number},
                                                             {"sequence", t_sequence},
                                                             {"iterable", t_iterable},
                                                             {"callable", t_callable},
                                                             {"sameas", t_sameas},
                                                             {"escaped", t_escaped},
                                                             {"in", t_in},
                                                             {"==", t_eq},
                                                             {"eq", t_eq},
                                                             {"equalto", t_eq},
                                                             {"!=", t_ne},
                                                             {"ne", t_ne},
                                                             {">", t_gt},
                                                             {"gt", t_gt},
                                                             {"greaterthan", t_gt},
                                                             {">=", t_ge},
                                                             {"ge", t_ge},
                                                             {"<", t_lt},
                                                             {"lt", t_lt},
                                                             {"lessthan", t_lt},
                                                             {"<=", t_le},
                                                             {"le", t_le}};
  return table;
}

// ---- globals --------------------------------------------------------------------------

constexpr int64_t kMaxRange = 100000;  // jinja2's sandbox limit

Result<Value> g_range(Interpreter& in, CallArgs& args) {
  if (!args.keyword.empty()) return Status::error("range() takes no keyword arguments");
  const auto& p = args.positional;
  if (p.empty() || p.size() > 3) return Status::error("range expected 1 to 3 arguments");
  for (const auto& v : p) {
    if (!v.is_int() && !v.is_bool()) {
      return Status::error("'" + v.type_name() + "' object cannot be interpreted as an integer");
    }
  }
  auto num = [](const Value& v) { return v.is_int() ? v.as_int() : int64_t{v.as_bool()}; };
  const int64_t start = p.size() == 1 ? 0 : num(p[0]);
  const int64_t stop = p.size() == 1 ? num(p[0]) : num(p[1]);
  const int64_t step = p.size() == 3 ? num(p[2]) : 1;
  if (step == 0) return Status::error("range() arg 3 must not be zero");
  const double count =
      std::max(0.0, std::ceil((static_cast<double>(stop) - static_cast<double>(start)) /
                              static_cast<double>(step)));
  if (count > kMaxRange) {
    return Status::error(
        "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  }
  KILN_TRY(in.tick(static_cast<uint64_t>(count)));
  std::vector<Value> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.emplace_back(i);
  return Value::list(std::move(out));
}

// namespace(...) and dict(...): a mapping argument and/or keywords.
Result<Value> build_mapping(CallArgs& args, DictKind kind, const char* name) {
  if (args.positional.size() > 1) {
    return Status::error(std::string(name) + "() expected at most 1 positional argument");
  }
  Value d = Value::dict(kind);
  auto add = [&](const Value& k, const Value& v) -> Status {
    if (kind == DictKind::kNamespace && k.is_string() && !k.as_string().empty() &&
        k.as_string()[0] == '_') {
      return Status::error(
          "Chat templates cannot store underscore-prefixed attributes on a "
          "namespace, but got '" +
          k.as_string() + "'");
    }
    d.mutable_dict().set(k, v);
    return Status::ok();
  };
  if (!args.positional.empty()) {
    const Value& src = args.positional[0];
    if (src.is_mapping()) {
      for (const auto& [k, v] : src.as_dict().entries) KILN_TRY(add(k, v));
    } else {
      KILN_ASSIGN_OR_RETURN(std::vector<Value> pairs, iterate(src));
      for (const auto& p : pairs) {
        KILN_ASSIGN_OR_RETURN(std::vector<Value> kv, iterate(p));
        if (kv.size() != 2)
          return Status::error(std::string(name) + "() sequence elements must be pairs");
        KILN_TRY(add(kv[0], kv[1]));
      }
    }
  }
  for (const auto& [k, v] : args.keyword) KILN_TRY(add(Value(k), v));
  return d;
}

Result<Value> g_raise_exception(Interpreter&, CallArgs& args) {
  const std::string msg = args.positional.empty() ? std::string() : args.positional[0].str();
  return Status::error("raise_exception: " + msg);
}

Result<Value> g_strftime_now(Interpreter& in, CallArgs& args) {
  if (args.positional.size() != 1 || !args.positional[0].is_string()) {
    return Status::error("strftime_now() takes one format string");
  }
  const std::time_t now = in.options().now ? *in.options().now : std::time(nullptr);
  std::tm tm{};
  if (!localtime_r(&now, &tm)) return Status::error("strftime_now: bad time");
  const std::string& fmt = args.positional[0].as_string();
  if (fmt.empty()) return Value("");
  std::string buf(fmt.size() * 8 + 64, '\0');
  const size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
  if (n == 0) return Status::error("strftime_now: format produced no output or is too long");
  buf.resize(n);
  return Value(std::move(buf));
}

}  // namespace

bool is_known_test(std::string_view name) { return test_table().count(std::string(name)) != 0; }

Result<bool> apply_test(Interpreter& in, const std::string& name, const Value& subject,
                        CallArgs& args) {
  const auto& table = test_table();
  auto it = table.find(name);
  if (it == table.end()) return Status::error("No test named '" + name + "'");
  return it->second(in, subject, args);
}

Value make_globals() {
  Value g = Value::dict();
  DictData& d = g.mutable_dict();
  d.set(Value("range"), Value::callable("range", g_range));
  d.set(Value("namespace"), Value::callable("namespace", [](Interpreter&, CallArgs& a) {
          return build_mapping(a, DictKind::kNamespace, "namespace");
        }));
  d.set(Value("dict"), Value::callable("dict", [](Interpreter&, CallArgs& a) {
          return build_mapping(a, DictKind::kDict, "dict");
        }));
  d.set(Value("raise_exception"), Value::callable("raise_exception", g_raise_exception));
  d.set(Value("strftime_now"), Value::callable("strftime_now", g_strftime_now));
  d.set(Value("joiner"), Value::callable("joiner", [](Interpreter&, CallArgs& a) -> Result<Value> {
          KILN_ASSIGN_OR_RETURN(auto p, bind_args("joiner", a, {{"sep", Value(", ")}}));
          auto used = std::make_shared<bool>(false);
          const std::string sep = p[0].str();
          return Value::callable("joiner", [used, sep](Interpreter&, CallArgs&) -> Result<Value> {
            if (!*used) {
              *used = true;
              return Value("");
            }
            return Value(sep);
          });
        }));
  return g;
}

}  // namespace kiln::jinja
