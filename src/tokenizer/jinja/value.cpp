#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <cmath>

#include "tokenizer/jinja/pystr.h"

namespace kiln::jinja {

const Value* DictData::find(const Value& key) const {
  for (const auto& [k, v] : entries) {
    if (values_equal(k, key)) return &v;
  }
  return nullptr;
}

const Value* DictData::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k.is_string() && k.as_string() == key) return &v;
  }
  return nullptr;
}

void DictData::set(Value key, Value value) {
  depth = std::max(depth, value.depth() + 1);
  for (auto& [k, v] : entries) {
    if (values_equal(k, key)) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(std::move(key), std::move(value));
}

Value Value::list(std::vector<Value> items, bool is_tuple) {
  auto data = std::make_shared<ListData>();
  int depth = 0;
  for (const auto& v : items) depth = std::max(depth, v.depth());
  data->items = std::move(items);
  data->is_tuple = is_tuple;
  data->depth = depth + 1;
  return Value(std::move(data));
}

Value Value::dict(DictKind kind) {
  auto data = std::make_shared<DictData>();
  data->kind = kind;
  return Value(std::move(data));
}

Value Value::callable(std::string name, std::function<Result<Value>(Interpreter&, CallArgs&)> fn) {
  return Value(
      CallablePtr(std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)})));
}

double Value::to_double() const {
  if (is_int()) return static_cast<double>(as_int());
  if (is_bool()) return as_bool() ? 1.0 : 0.0;
  return as_float();
}

int Value::depth() const {
  if (is_list()) return as_list().depth;
  if (is_dict()) return as_dict().depth;
  return 0;
}

bool Value::truthy() const {
  return std::visit(
      [](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Undefined> || std::is_same_v<T, None>) {
          return false;
        } else if constexpr (std::is_same_v<T, bool>) {
          return x;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return x != 0;
        } else if constexpr (std::is_same_v<T, double>) {
          return x != 0.0;
        } else if constexpr (std::is_same_v<T, std::string>) {
          return !x.empty();
        } else if constexpr (std::is_same_v<T, ListPtr>) {
          return x->is_generator || !x->items.empty();
        } else if constexpr (std::is_same_v<T, DictPtr>) {
          return x->kind != DictKind::kDict || !x->entries.empty();
        } else {
          return true;
        }
      },
      v_);
}

std::string Value::type_name() const {
  if (is_undefined()) return "Undefined";
  if (is_none()) return "NoneType";
  if (is_bool()) return "bool";
  if (is_int()) return "int";
  if (is_float()) return "float";
  if (is_string()) return "str";
  if (is_list())
    return as_list().is_generator ? "generator" : as_list().is_tuple ? "tuple" : "list";
  if (is_dict()) {
    switch (as_dict().kind) {
      case DictKind::kDict:
        return "dict";
      case DictKind::kNamespace:
        return "Namespace";
      case DictKind::kLoop:
        return "LoopContext";
    }
  }
  return "function";
}

namespace {

void append_repr(std::string& out, const Value& v);

void append_dict_repr(std::string& out, const DictData& d) {
  out.push_back('{');
  bool first = true;
  for (const auto& [k, val] : d.entries) {
    if (!first) out += ", ";
    first = false;
    append_repr(out, k);
    out += ": ";
    append_repr(out, val);
  }
  out.push_back('}');
}

void append_repr(std::string& out, const Value& v) {
  if (v.is_string()) {
    out += pystr::string_repr(v.as_string());
  } else if (v.is_list() && v.as_list().is_generator) {
    out += "<generator object>";
  } else if (v.is_list()) {
    const auto& l = v.as_list();
    out.push_back(l.is_tuple ? '(' : '[');
    for (size_t i = 0; i < l.items.size(); ++i) {
      if (i) out += ", ";
      append_repr(out, l.items[i]);
    }
    if (l.is_tuple && l.items.size() == 1) out.push_back(',');
    out.push_back(l.is_tuple ? ')' : ']');
  } else if (v.is_dict()) {
    const auto& d = v.as_dict();
    if (d.kind == DictKind::kNamespace) {
      out += "<Namespace ";
      append_dict_repr(out, d);
      out += ">";
    } else if (d.kind == DictKind::kLoop) {
      out += "<LoopContext>";
    } else {
      append_dict_repr(out, d);
    }
  } else {
    out += v.str();
  }
}

}  // namespace

std::string Value::str() const {
  return std::visit(
      [this](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Undefined>) {
          return "";
        } else if constexpr (std::is_same_v<T, None>) {
          return "None";
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "True" : "False";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(x);
        } else if constexpr (std::is_same_v<T, double>) {
          return pystr::float_repr(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return x;
        } else if constexpr (std::is_same_v<T, CallablePtr>) {
          return "<function " + x->name + ">";
        } else {
          std::string out;
          append_repr(out, *this);
          return out;
        }
      },
      v_);
}

std::string Value::repr() const {
  std::string out;
  append_repr(out, *this);
  return out;
}

namespace {

Result<Value> from_json_at(const nlohmann::ordered_json& j, int depth) {
  if (depth > kMaxValueDepth) {
    return Status::error("JSON input nested deeper than " + std::to_string(kMaxValueDepth));
  }
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value(None{});
    case nlohmann::ordered_json::value_t::boolean:
      return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) {
        KILN_ASSIGN_OR_RETURN(Value v, from_json_at(e, depth + 1));
        items.push_back(std::move(v));
      }
      return Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value d = Value::dict();
      auto& data = d.mutable_dict();
      data.entries.reserve(j.size());
      for (const auto& [k, e] : j.items()) {
        KILN_ASSIGN_OR_RETURN(Value v, from_json_at(e, depth + 1));
        data.depth = std::max(data.depth, v.depth() + 1);
        data.entries.emplace_back(Value(k), std::move(v));
      }
      return d;
    }
    default:
      return Status::error("unsupported JSON value (binary or discarded)");
  }
}

struct JsonWriter {
  int indent;
  bool has_indent;
  const std::string& item_sep;
  const std::string& key_sep;
  bool sort_keys;
  bool ensure_ascii;
  std::string out;

  void newline(int level) {
    out.push_back('\n');
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(level), ' ');
  }

  Result<std::string> key_string(const Value& k) {
    if (k.is_string()) return k.as_string();
    if (k.is_bool()) return std::string(k.as_bool() ? "true" : "false");
    if (k.is_none()) return std::string("null");
    if (k.is_int() || k.is_float()) return k.str();
    return Status::error("keys must be str, int, float, bool or None, not " + k.type_name());
  }

  Status write(const Value& v, int level) {
    if (v.is_none()) {
      out += "null";
    } else if (v.is_bool()) {
      out += v.as_bool() ? "true" : "false";
    } else if (v.is_int()) {
      out += std::to_string(v.as_int());
    } else if (v.is_float()) {
      const double d = v.as_float();
      out += std::isnan(d)   ? "NaN"
             : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity")
                             : pystr::float_repr(d);
    } else if (v.is_string()) {
      out += pystr::json_quote(v.as_string(), ensure_ascii);
    } else if (v.is_list() && !v.as_list().is_generator) {
      return write_list(v.as_list(), level);
    } else if (v.is_mapping()) {
      return write_dict(v.as_dict(), level);
    } else {
      return Status::error("Object of type " + v.type_name() + " is not JSON serializable");
    }
    return Status::ok();
  }

  Status write_list(const ListData& l, int level) {
    if (l.items.empty()) {
      out += "[]";
      return Status::ok();
    }
    out.push_back('[');
    for (size_t i = 0; i < l.items.size(); ++i) {
      if (i) out += item_sep;
      if (has_indent) newline(level + 1);
      KILN_TRY(write(l.items[i], level + 1));
    }
    if (has_indent) newline(level);
    out.push_back(']');
    return Status::ok();
  }

  Status write_dict(const DictData& d, int level) {
    if (d.entries.empty()) {
      out += "{}";
      return Status::ok();
    }
    std::vector<std::pair<std::string, const Value*>> items;
    for (const auto& [k, v] : d.entries) {
      KILN_ASSIGN_OR_RETURN(std::string key, key_string(k));
      items.emplace_back(std::move(key), &v);
    }
    if (sort_keys) {
      std::stable_sort(items.begin(), items.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    out.push_back('{');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += item_sep;
      if (has_indent) newline(level + 1);
      out += pystr::json_quote(items[i].first, ensure_ascii);
      out += key_sep;
      KILN_TRY(write(*items[i].second, level + 1));
    }
    if (has_indent) newline(level);
    out.push_back('}');
    return Status::ok();
  }
};

}  // namespace

Result<Value> Value::from_json(const nlohmann::ordered_json& j) { return from_json_at(j, 1); }

Result<std::string> Value::to_json(int indent, bool has_indent, const std::string& item_sep,
                                   const std::string& key_sep, bool sort_keys,
                                   bool ensure_ascii) const {
  JsonWriter w{indent, has_indent, item_sep, key_sep, sort_keys, ensure_ascii, {}};
  KILN_TRY(w.write(*this, 0));
  return std::move(w.out);
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    if (!a.is_float() && !b.is_float()) {
      return (a.is_int() ? a.as_int() : a.as_bool()) == (b.is_int() ? b.as_int() : b.as_bool());
    }
    return a.to_double() == b.to_double();
  }
  if (a.storage().index() != b.storage().index()) return false;
  if (a.is_undefined() || a.is_none()) return true;
  if (a.is_string()) return a.as_string() == b.as_string();
  if (a.is_list()) {
    const auto &la = a.as_list(), &lb = b.as_list();
    if (la.is_tuple != lb.is_tuple || la.items.size() != lb.items.size()) return false;
    for (size_t i = 0; i < la.items.size(); ++i) {
      if (!values_equal(la.items[i], lb.items[i])) return false;
    }
    return true;
  }
  if (a.is_dict()) {
    const auto &da = a.as_dict(), &db = b.as_dict();
    if (da.kind != DictKind::kDict || db.kind != DictKind::kDict) return &da == &db;
    if (da.entries.size() != db.entries.size()) return false;
    for (const auto& [k, v] : da.entries) {
      const Value* other = db.find(k);
      if (!other || !values_equal(v, *other)) return false;
    }
    return true;
  }
  if (a.is_callable()) return &a.as_callable() == &b.as_callable();
  return false;
}

Result<int> compare_values(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
    const double x = a.to_double(), y = b.to_double();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
    const auto &la = a.as_list().items, &lb = b.as_list().items;
    for (size_t i = 0; i < la.size() && i < lb.size(); ++i) {
      if (values_equal(la[i], lb[i])) continue;
      return compare_values(la[i], lb[i]);
    }
    return la.size() < lb.size() ? -1 : (la.size() > lb.size() ? 1 : 0);
  }
  return Status::error("'<' not supported between instances of '" + a.type_name() + "' and '" +
                       b.type_name() + "'");
}

}  // namespace kiln::jinja
