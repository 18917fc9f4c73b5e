// What templates can call: jinja2's built-in filters and tests (plus Hugging Face's
// tojson), Python's str/list/dict methods as the immutable sandbox allows them,
// attribute and item lookup, operators, and the globals (range, namespace, dict,
// raise_exception, strftime_now, cycler, joiner).
//
// Every function reports misuse (wrong types, bad arguments) as a Status whose message
// reads like the Python exception jinja2 would raise.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/jinja/value.h"

namespace kiln::jinja {

class Interpreter;

bool is_known_filter(std::string_view name);
bool is_known_test(std::string_view name);
Result<Value> apply_filter(Interpreter& in, const std::string& name, const Value& subject,
                           CallArgs& args);
Result<bool> apply_test(Interpreter& in, const std::string& name, const Value& subject,
                        CallArgs& args);

// `obj.name` (jinja2's getattr: attribute first, then item). Methods come back bound.
// Errors only when obj is Undefined.
Result<Value> get_attr(const Value& obj, const std::string& name);
// `obj[key]` (item first, then attribute). Errors only when obj is Undefined.
Result<Value> get_item(const Value& obj, const Value& key);
// `obj[start:stop:step]` with Python semantics; each bound may be None.
Result<Value> get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
// Calls method `name` of a str, list, dict or loop value; nullopt if there is none.
std::optional<Result<Value>> call_method(Interpreter& in, const Value& obj, const std::string& name,
                                         CallArgs& args);

// Arithmetic: + - * / // % ** (Python semantics, `%` on a str formats).
Result<Value> binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b);
Result<Value> negate(const Value& a, bool negative);
// Python `item in container`.
Result<bool> contains(const Value& container, const Value& item);
// The items a `for` loop or a filter iterates: list/tuple items, dict keys, string
// characters; Undefined is empty; anything else is an error.
Result<std::vector<Value>> iterate(const Value& v);

// str % args and str.format(*args, **kwargs).
Result<std::string> percent_format(const std::string& fmt, const Value& args);
Result<std::string> str_format(const std::string& fmt, const CallArgs& args);

// Globals every render sees (a dict value).
Value make_globals();

// Binds call arguments to named parameters with defaults (Python signature rules):
// positional first, then keywords; unknown keywords and extra positionals are errors.
Result<std::vector<Value>> bind_args(const std::string& fname, CallArgs& args,
                                     const std::vector<std::pair<std::string, Value>>& params);

// Raises the error a use of Undefined raises.
Status undefined_error(const Value& v);

}  // namespace kiln::jinja
