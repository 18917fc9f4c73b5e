// Arithmetic with Python semantics, and the two string formatting mini-languages
// (printf-style `%` and str.format).
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/pystr.h"

namespace kiln::jinja {

namespace {

int64_t as_int64(const Value& v) { return v.is_int() ? v.as_int() : (v.as_bool() ? 1 : 0); }
bool is_integral(const Value& v) { return v.is_int() || v.is_bool(); }

Status unsupported(const std::string& op, const Value& a, const Value& b) {
  return Status::error("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" +
                       b.type_name() + "'");
}

Status overflow() { return Status::error("integer overflow (beyond 64 bits)"); }

Result<Value> repeat(Interpreter& in, const Value& seq, int64_t times) {
  if (times < 0) times = 0;
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty() && static_cast<uint64_t>(times) > in.max_size() / s.size()) {
      return Status::error("string longer than the output limit");
    }
    std::string out;
    for (int64_t i = 0; i < times; ++i) out += s;
    return Value(std::move(out));
  }
  const auto& items = seq.as_list().items;
  if (!items.empty() && static_cast<uint64_t>(times) > in.max_size() / items.size()) {
    return Status::error("list longer than the output limit");
  }
  KILN_TRY(in.tick(static_cast<uint64_t>(times) * items.size()));
  std::vector<Value> out;
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.as_list().is_tuple);
}

Result<Value> int_pow(int64_t base, int64_t exp) {
  int64_t result = 1;
  while (exp > 0) {
    if (exp & 1) {
      if (__builtin_mul_overflow(result, base, &result)) return overflow();
    }
    exp >>= 1;
    if (exp > 0 && __builtin_mul_overflow(base, base, &base)) return overflow();
  }
  return Value(result);
}

Result<Value> arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (is_integral(a) && is_integral(b)) {
    const int64_t x = as_int64(a), y = as_int64(b);
    int64_t r = 0;
    if (op == "+") return __builtin_add_overflow(x, y, &r) ? Result<Value>(overflow()) : Value(r);
    if (op == "-") return __builtin_sub_overflow(x, y, &r) ? Result<Value>(overflow()) : Value(r);
    if (op == "*") return __builtin_mul_overflow(x, y, &r) ? Result<Value>(overflow()) : Value(r);
    if (op == "//" || op == "%") {
      if (y == 0) return Status::error("integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) return overflow();
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        --q;
        m += y;
      }
      return op == "//" ? Value(q) : Value(m);
    }
    if (op == "**") {
      if (y >= 0) return int_pow(x, y);
      if (x == 0) return Status::error("0.0 cannot be raised to a negative power");
      return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
    }
  }
  const double x = a.to_double(), y = b.to_double();
  if (op == "+") return Value(x + y);
  if (op == "-") return Value(x - y);
  if (op == "*") return Value(x * y);
  if (op == "/") {
    if (y == 0) return Status::error("division by zero");
    return Value(x / y);
  }
  if (op == "//" || op == "%") {
    if (y == 0) return Status::error("float floor division or modulo by zero");
    // CPython's float_divmod.
    double mod = std::fmod(x, y);
    double div = (x - mod) / y;
    if (mod != 0) {
      if ((y < 0) != (mod < 0)) {
        mod += y;
        div -= 1.0;
      }
    } else {
      mod = std::copysign(0.0, y);
    }
    double floordiv = 0;
    if (div != 0) {
      floordiv = std::floor(div);
      if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
      floordiv = std::copysign(0.0, x / y);
    }
    return Value(op == "%" ? mod : floordiv);
  }
  if (op == "**") {
    if (x == 0 && y < 0) return Status::error("0.0 cannot be raised to a negative power");
    return Value(std::pow(x, y));
  }
  return Status::error("unknown operator " + op);
}

}  // namespace

Result<Value> binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) return undefined_error(a);
  if (b.is_undefined()) return undefined_error(b);
  if (a.is_number() && b.is_number()) return arithmetic(op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      if (a.as_string().size() + b.as_string().size() > in.max_size()) {
        return Status::error("string longer than the output limit");
      }
      // Markup.__add__ / __radd__: the plain operand is escaped, the result is Markup.
      if (a.is_safe() || b.is_safe()) {
        const auto markup = [](const Value& x) {
          return x.is_safe() ? x.as_string() : pystr::html_escape(x.as_string());
        };
        return Value::safe_string(markup(a) + markup(b));
      }
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
      std::vector<Value> items = a.as_list().items;
      items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
      if (items.size() > in.max_size()) return Status::error("list longer than the output limit");
      return Value::list(std::move(items), a.as_list().is_tuple);
    }
    if (a.is_string()) {
      return Status::error("can only concatenate str (not \"" + b.type_name() + "\") to str");
    }
    if (a.is_list()) {
      return Status::error("can only concatenate " + a.type_name() + " (not \"" + b.type_name() +
                           "\") to " + a.type_name());
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && is_integral(b)) return repeat(in, a, as_int64(b));
    if ((b.is_string() || b.is_list()) && is_integral(a)) return repeat(in, b, as_int64(a));
  }
  if (op == "%" && a.is_string()) {
    KILN_ASSIGN_OR_RETURN(std::string s, percent_format(a.as_string(), b));
    return Value(std::move(s));
  }
  return unsupported(op, a, b);
}

Result<Value> negate(const Value& a, bool negative) {
  if (a.is_undefined()) return undefined_error(a);
  if (is_integral(a)) {
    const int64_t x = as_int64(a);
    if (!negative) return Value(x);
    if (x == INT64_MIN) return overflow();
    return Value(-x);
  }
  if (a.is_float()) return Value(negative ? -a.as_float() : a.as_float());
  return Status::error(std::string("bad operand type for unary ") + (negative ? "-" : "+") + ": '" +
                       a.type_name() + "'");
}

// ---- formatting -----------------------------------------------------------------------

namespace {

struct Spec {
  char fill = ' ';
  char align = '\0';  // < > ^ =
  char sign = '-';
  bool alt = false;
  bool zero = false;
  int64_t width = -1;
  bool comma = false;
  int64_t precision = -1;
  char type = '\0';
};

std::string apply_width(std::string body, const Spec& spec, char default_align) {
  const auto len = static_cast<int64_t>(pystr::length(body));
  if (spec.width <= len) return body;
  const auto pad = static_cast<size_t>(spec.width - len);
  const char align = spec.align ? spec.align : default_align;
  if (align == '<') return body + std::string(pad, spec.fill);
  if (align == '^')
    return std::string(pad / 2, spec.fill) + body + std::string(pad - pad / 2, spec.fill);
  if (align == '=' && !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) {
    return body.substr(0, 1) + std::string(pad, spec.fill) + body.substr(1);
  }
  return std::string(pad, spec.fill) + body;
}

std::string group_thousands(const std::string& digits) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[i]);
    if ((n - i - 1) % 3 == 0 && i + 1 < n) out.push_back(',');
  }
  return out;
}

Result<std::string> format_number(const Value& v, const Spec& spec) {
  const char t = spec.type;
  std::string body;
  const bool negative = v.to_double() < 0 || (v.is_float() && std::signbit(v.as_float()));
  if (is_integral(v) &&
      (t == '\0' || t == 'd' || t == 'x' || t == 'X' || t == 'o' || t == 'b' || t == 'c')) {
    const int64_t x = as_int64(v);
    const uint64_t mag = x < 0 ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
    if (t == 'c') {
      std::string s;
      pystr::append_utf8(s, static_cast<char32_t>(x));
      return s;
    }
    if (t == 'x' || t == 'X' || t == 'o' || t == 'b') {
      const int base = t == 'o' ? 8 : t == 'b' ? 2 : 16;
      const char* digits = t == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
      std::string s;
      uint64_t m = mag;
      do {
        s.insert(s.begin(), digits[m % base]);
        m /= base;
      } while (m);
      if (spec.alt) s = std::string("0") + (t == 'o' ? 'o' : t == 'b' ? 'b' : t) + s;
      body = s;
    } else {
      body = std::to_string(mag);
      if (spec.comma) body = group_thousands(body);
    }
  } else {
    const double d = std::fabs(v.to_double());
    const int64_t prec = spec.precision < 0 ? 6 : spec.precision;
    char buf[512];
    if (t == '\0' && spec.precision < 0) {
      body = pystr::float_repr(d);
    } else if (t == '%') {
      std::snprintf(buf, sizeof(buf), "%.*f%%", static_cast<int>(std::min<int64_t>(prec, 100)),
                    d * 100);
      body = buf;
    } else {
      const char ct = (t == '\0' || t == 'n') ? 'g' : t;
      if (std::string_view("eEfFgG").find(ct) == std::string_view::npos) {
        return Status::error(std::string("Unknown format code '") + t + "' for object of type '" +
                             v.type_name() + "'");
      }
      const char fmt[] = {'%', '.', '*', ct, '\0'};
      std::snprintf(buf, sizeof(buf), fmt, static_cast<int>(std::min<int64_t>(prec, 100)), d);
      body = buf;
    }
    if (spec.comma) {
      const size_t dot = body.find_first_of(".eE%");
      body =
          group_thousands(body.substr(0, dot)) + (dot == std::string::npos ? "" : body.substr(dot));
    }
  }
  const std::string sign = negative ? "-" : spec.sign == '+' ? "+" : spec.sign == ' ' ? " " : "";
  Spec s = spec;
  if (spec.zero && !spec.align) {
    s.fill = '0';
    s.align = '=';
  }
  return apply_width(sign + body, s, '>');
}

Result<std::string> format_value(const Value& v, const Spec& spec) {
  if (v.is_number() && !(v.is_bool() && spec.type == '\0')) return format_number(v, spec);
  if (spec.type != '\0' && spec.type != 's') {
    return Status::error(std::string("Unknown format code '") + spec.type +
                         "' for object of type '" + v.type_name() + "'");
  }
  std::string s = v.str();
  if (spec.precision >= 0) {
    const std::u32string cps = pystr::decode(s);
    if (static_cast<int64_t>(cps.size()) > spec.precision) {
      s = pystr::encode(std::u32string_view(cps).substr(0, static_cast<size_t>(spec.precision)));
    }
  }
  return apply_width(s, spec, '<');
}

Result<Spec> parse_format_spec(std::string_view f) {
  Spec s;
  size_t i = 0;
  if (f.size() >= 2 && std::string_view("<>^=").find(f[1]) != std::string_view::npos) {
    s.fill = f[0];
    s.align = f[1];
    i = 2;
  } else if (!f.empty() && std::string_view("<>^=").find(f[0]) != std::string_view::npos) {
    s.align = f[0];
    i = 1;
  }
  if (i < f.size() && (f[i] == '+' || f[i] == '-' || f[i] == ' ')) s.sign = f[i++];
  if (i < f.size() && f[i] == '#') {
    s.alt = true;
    ++i;
  }
  if (i < f.size() && f[i] == '0') {
    s.zero = true;
    ++i;
  }
  auto number = [&](int64_t& out) {
    if (i >= f.size() || f[i] < '0' || f[i] > '9') return;
    out = 0;
    while (i < f.size() && f[i] >= '0' && f[i] <= '9' && out < (int64_t{1} << 24)) {
      out = out * 10 + (f[i++] - '0');
    }
  };
  number(s.width);
  if (i < f.size() && (f[i] == ',' || f[i] == '_')) {
    s.comma = true;
    ++i;
  }
  if (i < f.size() && f[i] == '.') {
    ++i;
    number(s.precision);
    if (s.precision < 0) return Status::error("Format specifier missing precision");
  }
  if (i < f.size()) s.type = f[i++];
  if (i != f.size()) return Status::error("Invalid format specifier '" + std::string(f) + "'");
  return s;
}

}  // namespace

Result<std::string> percent_format(const std::string& fmt, const Value& args) {
  std::vector<Value> positional;
  const bool mapping = args.is_mapping();
  if (args.is_list() && args.as_list().is_tuple) {
    positional = args.as_list().items;
  } else if (!mapping) {
    positional.push_back(args);
  }
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= fmt.size()) return Status::error("incomplete format");
    if (fmt[i] == '%') {
      out.push_back('%');
      continue;
    }
    const Value* arg = nullptr;
    if (fmt[i] == '(') {
      const size_t close = fmt.find(')', i);
      if (close == std::string::npos || !mapping) return Status::error("format requires a mapping");
      arg = args.as_dict().find(std::string_view(fmt).substr(i + 1, close - i - 1));
      if (!arg) return Status::error("KeyError: " + fmt.substr(i + 1, close - i - 1));
      i = close + 1;
    }
    Spec spec;
    spec.align = '>';
    for (; i < fmt.size() && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos;
         ++i) {
      if (fmt[i] == '-') spec.align = '<';
      if (fmt[i] == '+' || fmt[i] == ' ') spec.sign = fmt[i];
      if (fmt[i] == '#') spec.alt = true;
      if (fmt[i] == '0') spec.zero = true;
    }
    while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9' && spec.width < (1 << 24)) {
      spec.width = (spec.width < 0 ? 0 : spec.width * 10) + (fmt[i++] - '0');
    }
    if (i < fmt.size() && fmt[i] == '.') {
      spec.precision = 0;
      while (++i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9' && spec.precision < 1000) {
        spec.precision = spec.precision * 10 + (fmt[i] - '0');
      }
    }
    if (i >= fmt.size()) return Status::error("incomplete format");
    const char conv = fmt[i];
    if (!arg) {
      if (next >= positional.size()) return Status::error("not enough arguments for format string");
      arg = &positional[next++];
    }
    if (spec.zero && spec.align == '>') {
      spec.fill = '0';
      spec.align = '=';
    }
    if (conv == 's' || conv == 'r' || conv == 'a') {
      Spec ss = spec;
      ss.fill = ' ';
      ss.align = spec.align == '<' ? '<' : '>';
      std::string s = conv == 's' ? arg->str() : arg->repr();
      if (spec.precision >= 0 && static_cast<int64_t>(pystr::length(s)) > spec.precision) {
        s = pystr::encode(pystr::decode(s).substr(0, static_cast<size_t>(spec.precision)));
      }
      out += apply_width(s, ss, '>');
      continue;
    }
    if (!arg->is_number()) {
      return Status::error(std::string("%") + conv + " format: a real number is required, not " +
                           arg->type_name());
    }
    Spec ns = spec;
    if (conv == 'd' || conv == 'i' || conv == 'u') {
      ns.type = 'd';
      KILN_ASSIGN_OR_RETURN(
          std::string s,
          format_number(Value(static_cast<int64_t>(std::trunc(arg->to_double()))), ns));
      out += s;
      continue;
    }
    ns.type = conv;
    if (std::string_view("xXo").find(conv) != std::string_view::npos) {
      KILN_ASSIGN_OR_RETURN(std::string s,
                            format_number(Value(static_cast<int64_t>(arg->to_double())), ns));
      out += s;
      continue;
    }
    if (std::string_view("eEfFgG").find(conv) == std::string_view::npos) {
      return Status::error(std::string("unsupported format character '") + conv + "'");
    }
    KILN_ASSIGN_OR_RETURN(std::string s, format_number(Value(arg->to_double()), ns));
    out += s;
  }
  if (!mapping && next < positional.size()) {
    return Status::error("not all arguments converted during string formatting");
  }
  return out;
}

Result<std::string> str_format(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out.push_back('}');
        ++i;
        continue;
      }
      return Status::error("Single '}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    const size_t close = fmt.find('}', i);
    if (close == std::string::npos) return Status::error("Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    std::string spec_text;
    if (const size_t colon = field.find(':'); colon != std::string::npos) {
      spec_text = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    char conversion = '\0';
    if (const size_t bang = field.find('!'); bang != std::string::npos) {
      conversion = bang + 1 < field.size() ? field[bang + 1] : '\0';
      field = field.substr(0, bang);
    }
    const size_t dot = field.find_first_of(".[");
    const std::string head = field.substr(0, dot);
    Value v;
    if (head.empty()) {
      if (auto_index >= args.positional.size()) {
        return Status::error("Replacement index " + std::to_string(auto_index) +
                             " out of range for positional args tuple");
      }
      v = args.positional[auto_index++];
    } else if (head.find_first_not_of("0123456789") == std::string::npos) {
      const size_t idx = std::stoul(head.substr(0, 9));
      if (idx >= args.positional.size()) {
        return Status::error("Replacement index " + head +
                             " out of range for positional args tuple");
      }
      v = args.positional[idx];
    } else {
      bool found = false;
      for (const auto& [k, x] : args.keyword) {
        if (k == head) {
          v = x;
          found = true;
        }
      }
      if (!found) return Status::error("KeyError: '" + head + "'");
    }
    if (dot != std::string::npos) {
      // {0.attr} / {0[key]}
      std::string rest = field.substr(dot);
      while (!rest.empty()) {
        if (rest[0] == '.') {
          const size_t e = rest.find_first_of(".[", 1);
          KILN_ASSIGN_OR_RETURN(v, get_attr(v, rest.substr(1, e == std::string::npos ? e : e - 1)));
          rest = e == std::string::npos ? "" : rest.substr(e);
        } else {
          const size_t e = rest.find(']');
          if (e == std::string::npos) return Status::error("Missing ']' in format string");
          const std::string key = rest.substr(1, e - 1);
          const bool numeric =
              !key.empty() && key.find_first_not_of("0123456789") == std::string::npos;
          KILN_ASSIGN_OR_RETURN(
              v, get_item(v, numeric ? Value(static_cast<int64_t>(std::stoll(key.substr(0, 18))))
                                     : Value(key)));
          rest = rest.substr(e + 1);
        }
      }
    }
    if (conversion == 'r' || conversion == 'a') v = Value(v.repr());
    if (conversion == 's') v = Value(v.str());
    KILN_ASSIGN_OR_RETURN(Spec spec, parse_format_spec(spec_text));
    KILN_ASSIGN_OR_RETURN(std::string s, format_value(v, spec));
    out += s;
  }
  return out;
}

}  // namespace kiln::jinja
