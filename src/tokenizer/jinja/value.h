// The value type templates compute with: Python's object model reduced to what
// chat templates see (None, bool, int, float, str, list/tuple, dict, namespace,
// callables) plus Jinja's Undefined.
//
// Lists and dicts are shared by reference (as in Python); the renderer never mutates
// them except namespaces (`{% set ns.x = ... %}`), which mirrors Hugging Face's
// ImmutableSandboxedEnvironment. Strings are UTF-8; operations that Python defines
// on code points (len, indexing, slicing) decode as needed.
//
// Thread-safety: values are not synchronized; one render uses them from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"

namespace kiln::jinja {

class Value;
class Interpreter;

// Deepest nesting of lists/dicts a value may have (input JSON and values built by a
// template); deeper values are an error, so printing and freeing never recurse far.
inline constexpr int kMaxValueDepth = 256;

// Jinja's Undefined: prints as "", is falsy, iterates as empty; most other uses are an
// error whose message is `hint` (e.g. "'x' is undefined").
struct Undefined {
  std::string hint;
};
struct None {};

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;  // Python tuple: prints with ( ), compares only with tuples
  // A lazy iterator in jinja2 (what map/select/... return): always truthy, no len(),
  // no indexing, not JSON serializable; `|list` makes it a list.
  bool is_generator = false;
  int depth = 1;  // 1 + deepest element container
};

enum class DictKind { kDict, kNamespace, kLoop };

// An insertion-ordered mapping (Python dict semantics). Lookups are linear: template
// dicts are small (messages, tool schemas).
struct DictData {
  std::vector<std::pair<Value, Value>> entries;
  DictKind kind = DictKind::kDict;
  int depth = 1;

  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(Value key, Value value);  // replaces in place or appends
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// Anything a template can call: macros, globals (range, namespace, ...), bound
// methods. The interpreter is passed so macros can render.
struct Callable {
  std::string name;
  std::function<Result<Value>(Interpreter&, CallArgs&)> fn;
};

using ListPtr = std::shared_ptr<ListData>;
using DictPtr = std::shared_ptr<DictData>;
using CallablePtr = std::shared_ptr<const Callable>;

class Value {
 public:
  using Storage = std::variant<Undefined, None, bool, int64_t, double, std::string, ListPtr,
                               DictPtr, CallablePtr>;

  Value() : v_(Undefined{}) {}
  Value(None) : v_(None{}) {}                    // NOLINT(implicit)
  Value(Undefined u) : v_(std::move(u)) {}       // NOLINT(implicit)
  Value(bool b) : v_(b) {}                       // NOLINT(implicit)
  Value(int64_t i) : v_(i) {}                    // NOLINT(implicit)
  Value(int i) : v_(static_cast<int64_t>(i)) {}  // NOLINT(implicit)
  Value(double d) : v_(d) {}                     // NOLINT(implicit)
  Value(std::string s) : v_(std::move(s)) {}     // NOLINT(implicit)
  Value(const char* s) : v_(std::string(s)) {}   // NOLINT(implicit)
  Value(ListPtr l) : v_(std::move(l)) {}         // NOLINT(implicit)
  Value(DictPtr d) : v_(std::move(d)) {}         // NOLINT(implicit)
  Value(CallablePtr c) : v_(std::move(c)) {}     // NOLINT(implicit)

  static Value undefined(std::string hint) { return Value(Undefined{std::move(hint)}); }
  // A markupsafe.Markup string (the `safe` and `escape` filters make them):
  // `+` with a plain string HTML-escapes the plain side and stays Markup.
  static Value safe_string(std::string s) {
    Value v(std::move(s));
    v.safe_ = true;
    return v;
  }
  static Value list(std::vector<Value> items, bool is_tuple = false);
  static Value dict(DictKind kind = DictKind::kDict);
  static Value callable(std::string name, std::function<Result<Value>(Interpreter&, CallArgs&)> fn);

  bool is_undefined() const { return std::holds_alternative<Undefined>(v_); }
  bool is_none() const { return std::holds_alternative<None>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  bool is_float() const { return std::holds_alternative<double>(v_); }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_safe() const { return safe_ && is_string(); }  // a Markup string
  bool is_list() const { return std::holds_alternative<ListPtr>(v_); }
  bool is_dict() const { return std::holds_alternative<DictPtr>(v_); }
  bool is_mapping() const { return is_dict() && as_dict().kind == DictKind::kDict; }
  bool is_namespace() const { return is_dict() && as_dict().kind == DictKind::kNamespace; }
  bool is_callable() const { return std::holds_alternative<CallablePtr>(v_); }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  // int, float or bool as double (precondition: is_number()).
  double to_double() const;
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const ListData& as_list() const { return *std::get<ListPtr>(v_); }
  const DictData& as_dict() const { return *std::get<DictPtr>(v_); }
  DictData& mutable_dict() const { return *std::get<DictPtr>(v_); }
  const ListPtr& list_ptr() const { return std::get<ListPtr>(v_); }
  const DictPtr& dict_ptr() const { return std::get<DictPtr>(v_); }
  const Callable& as_callable() const { return *std::get<CallablePtr>(v_); }
  const std::string& undefined_hint() const { return std::get<Undefined>(v_).hint; }

  int depth() const;    // 0 for scalars
  bool truthy() const;  // Python bool()
  // Python type name for error messages: "str", "int", "list", "dict", ...
  std::string type_name() const;

  // Python str(): what `{{ x }}` prints ("None", "True", "1.0", "['a', 1]"). Undefined
  // prints as "".
  std::string str() const;
  // Python repr(): quotes strings.
  std::string repr() const;

  // From JSON (objects keep their key order). Errors past kMaxValueDepth.
  static Result<Value> from_json(const nlohmann::ordered_json& j);
  // json.dumps(x, ensure_ascii=False, indent, separators, sort_keys) as Hugging Face's
  // tojson filter does. Undefined, callables and namespaces are errors.
  Result<std::string> to_json(int indent, bool has_indent, const std::string& item_sep,
                              const std::string& key_sep, bool sort_keys, bool ensure_ascii) const;

  const Storage& storage() const { return v_; }

 private:
  Storage v_;
  bool safe_ = false;  // strings only: Markup
};

// Python ==: 1 == 1.0 == True, lists/dicts deep, Undefined == Undefined.
bool values_equal(const Value& a, const Value& b);
// Python <: numbers, strings (code point order), lists/tuples lexicographic; other
// combinations are a TypeError. Returns -1/0/1.
Result<int> compare_values(const Value& a, const Value& b);

}  // namespace kiln::jinja
