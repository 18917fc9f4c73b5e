#include "tokenizer/jinja/interpreter.h"

#include <algorithm>

#include "tokenizer/jinja/builtins.h"

namespace kiln::jinja {

namespace {

Status at_line(const Status& s, int line) {
  if (s.is_ok() || s.message().rfind("template line ", 0) == 0) return s;
  return Status::error("template line " + std::to_string(line) + ": " + s.message());
}

}  // namespace

Interpreter::Scope::Scope(Interpreter& interp, Scope* parent_scope)
    : in(interp), parent(parent_scope), id(interp.next_scope_id_++) {
  in.live_scopes_[id] = this;
}

Interpreter::Scope::~Scope() { in.live_scopes_.erase(id); }

Interpreter::Interpreter(const RenderOptions& options)
    : options_(options), globals_(make_globals()) {}

Result<std::string> Interpreter::render(const Body& body, const Value& context) {
  context_ = context;
  Scope root(*this, nullptr);
  root_ = &root;
  std::string out;
  out_ = &out;
  steps_ = 0;
  call_depth_ = 0;
  auto flow = exec_body(body, root);
  root_ = nullptr;
  out_ = nullptr;
  if (!flow.is_ok()) return flow.status();
  return out;
}

Status Interpreter::tick(uint64_t n) {
  steps_ += n;
  if (steps_ > options_.limits.max_steps) {
    return Status::error("template exceeded its step budget (" +
                         std::to_string(options_.limits.max_steps) + " steps): unbounded loop?");
  }
  return Status::ok();
}

Status Interpreter::write(std::string_view text) {
  if (out_->size() + text.size() > max_size()) {
    return Status::error("template output exceeds " + std::to_string(max_size()) + " bytes");
  }
  out_->append(text);
  return Status::ok();
}

// ---- statements -----------------------------------------------------------------------

Result<Interpreter::Flow> Interpreter::exec_body(const Body& body, Scope& scope) {
  for (const auto& s : body) {
    KILN_TRY(at_line(tick(), s->line));
    auto flow = exec(*s, scope);
    if (!flow.is_ok()) return at_line(flow.status(), s->line);
    if (flow.value() != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Result<Interpreter::Flow> Interpreter::exec(const Stmt& s, Scope& scope) {
  switch (s.kind) {
    case StmtKind::kText:
      KILN_TRY(write(s.text));
      break;
    case StmtKind::kOutput: {
      KILN_ASSIGN_OR_RETURN(Value v, eval(*s.expr, scope));
      KILN_TRY(write(v.is_string() ? v.as_string() : v.str()));
      break;
    }
    case StmtKind::kIf:
      for (const auto& [test, body] : s.branches) {
        KILN_ASSIGN_OR_RETURN(Value t, eval(*test, scope));
        if (t.truthy()) return exec_body(body, scope);
      }
      return exec_body(s.else_body, scope);
    case StmtKind::kFor:
      return exec_for(s, scope);
    case StmtKind::kSet:
      KILN_TRY(exec_set(s, scope));
      break;
    case StmtKind::kSetBlock: {
      KILN_ASSIGN_OR_RETURN(std::string text, render_block(s.body, scope));
      KILN_ASSIGN_OR_RETURN(Value v, apply_filter_chain(s.filters, Value(std::move(text)), scope));
      KILN_TRY(assign(*s.target, std::move(v), scope));
      break;
    }
    case StmtKind::kMacro:
      scope.vars[s.macro->name] = make_macro(*s.macro, &scope);
      break;
    case StmtKind::kCallBlock: {
      const Expr& call = *s.expr;
      KILN_ASSIGN_OR_RETURN(Value callee, eval(*call.items[0], scope));
      KILN_ASSIGN_OR_RETURN(CallArgs args, eval_args(call.args, scope));
      args.keyword.emplace_back("caller", make_macro(*s.macro, &scope));
      KILN_ASSIGN_OR_RETURN(Value v, this->call(callee, args));
      KILN_TRY(write(v.str()));
      break;
    }
    case StmtKind::kFilterBlock: {
      KILN_ASSIGN_OR_RETURN(std::string text, render_block(s.body, scope));
      KILN_ASSIGN_OR_RETURN(Value v, apply_filter_chain(s.filters, Value(std::move(text)), scope));
      KILN_TRY(write(v.str()));
      break;
    }
    case StmtKind::kWith: {
      Scope inner(*this, &scope);
      for (const auto& [target, value] : s.assigns) {
        KILN_ASSIGN_OR_RETURN(Value v, eval(*value, scope));
        KILN_TRY(assign(*target, std::move(v), inner));
      }
      return exec_body(s.body, inner);
    }
    case StmtKind::kBreak:
      return Flow::kBreak;
    case StmtKind::kContinue:
      return Flow::kContinue;
    case StmtKind::kScope: {
      Scope inner(*this, &scope);
      KILN_TRY(exec_body(s.body, inner).status());
      break;
    }
  }
  return Flow::kNormal;
}

Result<std::string> Interpreter::render_block(const Body& body, Scope& parent) {
  std::string buffer;
  std::string* saved = out_;
  out_ = &buffer;
  Scope inner(*this, &parent);
  auto flow = exec_body(body, inner);
  out_ = saved;
  if (!flow.is_ok()) return flow.status();
  return buffer;
}

Result<Value> Interpreter::apply_filter_chain(const std::vector<ExprPtr>& filters, Value subject,
                                              Scope& scope) {
  for (const auto& f : filters) {
    KILN_ASSIGN_OR_RETURN(subject, eval_filter(*f, std::move(subject), scope));
  }
  return subject;
}

Result<Interpreter::Flow> Interpreter::exec_for(const Stmt& s, Scope& scope) {
  KILN_ASSIGN_OR_RETURN(Value iterable, eval(*s.expr, scope));
  KILN_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(iterable));
  if (s.loop_filter) {
    std::vector<Value> kept;
    for (auto& item : items) {
      KILN_TRY(tick());
      Scope test_scope(*this, &scope);
      KILN_TRY(assign(*s.target, item, test_scope));
      KILN_ASSIGN_OR_RETURN(Value keep, eval(*s.loop_filter, test_scope));
      if (keep.truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    Scope else_scope(*this, &scope);
    return exec_body(s.else_body, else_scope);
  }
  const auto n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    KILN_TRY(tick());
    Scope it(*this, &scope);
    KILN_TRY(assign(*s.target, items[static_cast<size_t>(i)], it));
    Value loop = Value::dict(DictKind::kLoop);
    DictData& d = loop.mutable_dict();
    d.set("index", Value(i + 1));
    d.set("index0", Value(i));
    d.set("revindex", Value(n - i));
    d.set("revindex0", Value(n - i - 1));
    d.set("first", Value(i == 0));
    d.set("last", Value(i == n - 1));
    d.set("length", Value(n));
    d.set("depth", Value(1));
    d.set("depth0", Value(0));
    d.set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)]
                            : Value::undefined("there is no previous item"));
    d.set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)]
                                : Value::undefined("there is no next item"));
    d.set("cycle", Value::callable("cycle", [i](Interpreter&, CallArgs& a) -> Result<Value> {
            if (a.positional.empty()) return Status::error("no items for cycling given");
            return a.positional[static_cast<size_t>(i) % a.positional.size()];
          }));
    it.vars["loop"] = std::move(loop);
    KILN_ASSIGN_OR_RETURN(Flow flow, exec_body(s.body, it));
    if (flow == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

Status Interpreter::exec_set(const Stmt& s, Scope& scope) {
  KILN_ASSIGN_OR_RETURN(Value v, eval(*s.expr, scope));
  return assign(*s.target, std::move(v), scope);
}

namespace {

// Whether `v` holds the namespace `ns` (a cycle if stored into it).
bool holds(const Value& v, const DictData* ns, int depth) {
  if (depth > kMaxValueDepth) return true;
  if (v.is_dict()) {
    if (&v.as_dict() == ns) return true;
    for (const auto& [k, x] : v.as_dict().entries) {
      if (holds(x, ns, depth + 1)) return true;
    }
  } else if (v.is_list()) {
    for (const auto& x : v.as_list().items) {
      if (holds(x, ns, depth + 1)) return true;
    }
  }
  return false;
}

}  // namespace

Status Interpreter::assign(const Expr& target, Value value, Scope& scope) {
  if (target.kind == ExprKind::kName) {
    scope.vars[target.name] = std::move(value);
    return Status::ok();
  }
  if (target.kind == ExprKind::kTuple) {
    KILN_ASSIGN_OR_RETURN(std::vector<Value> parts, iterate(value));
    if (parts.size() != target.items.size()) {
      return Status::error(
          parts.size() > target.items.size()
              ? "too many values to unpack (expected " + std::to_string(target.items.size()) + ")"
              : "not enough values to unpack (expected " + std::to_string(target.items.size()) +
                    ", got " + std::to_string(parts.size()) + ")");
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      KILN_TRY(assign(*target.items[i], std::move(parts[i]), scope));
    }
    return Status::ok();
  }
  // Namespace attribute: {% set ns.attr = value %}
  KILN_ASSIGN_OR_RETURN(Value ns, lookup(target.items[0]->name, scope));
  if (!ns.is_namespace()) return Status::error("cannot assign attribute on non-namespace object");
  if (!target.name.empty() && target.name[0] == '_') {
    return Status::error(
        "Chat templates cannot store underscore-prefixed attributes on a "
        "namespace, but got '" +
        target.name + "'");
  }
  if (holds(value, &ns.as_dict(), 0)) {
    return Status::error("cannot store a namespace inside itself (or nested too deeply)");
  }
  if (value.depth() + 1 > kMaxValueDepth) return Status::error("value nested too deeply");
  ns.mutable_dict().set(Value(target.name), std::move(value));
  return Status::ok();
}

// ---- macros ---------------------------------------------------------------------------

Value Interpreter::make_macro(const MacroDef& m, Scope* parent) {
  // A macro sees the scope it was defined in while that scope exists (jinja2 closes
  // over it); afterwards, the template's top level.
  const uint64_t parent_id = parent->id;
  return Value::callable(m.name, [&m, parent_id](Interpreter& in, CallArgs& a) -> Result<Value> {
    auto it = in.live_scopes_.find(parent_id);
    Scope* scope = it != in.live_scopes_.end() ? it->second : in.root_;
    if (!scope) return Status::error("macro '" + m.name + "' called outside its template");
    return in.call_macro(m, a, scope);
  });
}

Result<Value> Interpreter::call_macro(const MacroDef& m, CallArgs& args, Scope* parent) {
  if (call_depth_ >= options_.limits.max_call_depth) {
    return Status::error("macro calls nested deeper than " +
                         std::to_string(options_.limits.max_call_depth) + " (recursion?)");
  }
  Scope ms(*this, parent);
  const size_t n = m.params.size();
  auto& pos = args.positional;
  auto take_keyword = [&args](const std::string& name) -> std::optional<Value> {
    for (auto it = args.keyword.begin(); it != args.keyword.end(); ++it) {
      if (it->first == name) {
        Value v = std::move(it->second);
        args.keyword.erase(it);
        return v;
      }
    }
    return std::nullopt;
  };
  ++call_depth_;
  struct DepthRestore {
    int& d;
    ~DepthRestore() { --d; }
  } restore{call_depth_};
  for (size_t i = 0; i < n; ++i) {
    if (i < pos.size()) {
      ms.vars[m.params[i]] = pos[i];
      continue;
    }
    if (auto kw = take_keyword(m.params[i])) {
      ms.vars[m.params[i]] = std::move(*kw);
    } else if (m.defaults[i]) {
      KILN_ASSIGN_OR_RETURN(Value d, eval(*m.defaults[i], ms));
      ms.vars[m.params[i]] = std::move(d);
    } else {
      ms.vars[m.params[i]] = Value::undefined("parameter '" + m.params[i] + "' was not provided");
    }
  }
  if (m.uses_caller) {
    auto c = take_keyword("caller");
    ms.vars["caller"] = c ? std::move(*c) : Value::undefined("No caller defined");
  }
  if (m.uses_kwargs) {
    Value kw = Value::dict();
    for (auto& [k, v] : args.keyword) kw.mutable_dict().set(Value(k), std::move(v));
    ms.vars["kwargs"] = std::move(kw);
  } else if (!args.keyword.empty()) {
    return Status::error("macro '" + m.name + "' takes no keyword argument '" +
                         args.keyword.front().first + "'");
  }
  if (m.uses_varargs) {
    std::vector<Value> extra;
    for (size_t i = n; i < pos.size(); ++i) extra.push_back(pos[i]);
    ms.vars["varargs"] = Value::list(std::move(extra), true);
  } else if (pos.size() > n) {
    return Status::error("macro '" + m.name + "' takes not more than " + std::to_string(n) +
                         " argument(s)");
  }
  std::string buffer;
  std::string* saved = out_;
  out_ = &buffer;
  auto flow = exec_body(m.body, ms);
  out_ = saved;
  if (!flow.is_ok()) return flow.status();
  return Value(std::move(buffer));
}

Result<Value> Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.is_callable()) return callee.as_callable().fn(*this, args);
  if (callee.is_undefined()) return undefined_error(callee);
  return Status::error("'" + callee.type_name() + "' object is not callable");
}

// ---- expressions ----------------------------------------------------------------------

Result<Value> Interpreter::eval(const Expr& e, Scope& scope) {
  auto r = eval_inner(e, scope);
  if (!r.is_ok()) return at_line(r.status(), e.line);
  return r;
}

Result<Value> Interpreter::lookup(const std::string& name, Scope& scope) {
  for (Scope* s = &scope; s; s = s->parent) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return it->second;
  }
  if (const Value* v = context_.as_dict().find(std::string_view(name))) return *v;
  if (const Value* v = globals_.as_dict().find(std::string_view(name))) return *v;
  return Value::undefined("'" + name + "' is undefined");
}

namespace {

Status check_container(const Value& v, size_t max_items) {
  if (v.depth() > kMaxValueDepth) {
    return Status::error("value nested deeper than " + std::to_string(kMaxValueDepth));
  }
  if (v.is_list() && v.as_list().items.size() > max_items) {
    return Status::error("list longer than " + std::to_string(max_items) + " items");
  }
  return Status::ok();
}

}  // namespace

Result<Value> Interpreter::eval_inner(const Expr& e, Scope& scope) {
  switch (e.kind) {
    case ExprKind::kLiteral:
      return e.literal;
    case ExprKind::kName:
      return lookup(e.name, scope);
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      items.reserve(e.items.size());
      for (const auto& i : e.items) {
        KILN_ASSIGN_OR_RETURN(Value v, eval(*i, scope));
        items.push_back(std::move(v));
      }
      Value list = Value::list(std::move(items), e.kind == ExprKind::kTuple);
      KILN_TRY(check_container(list, max_size()));
      return list;
    }
    case ExprKind::kDict: {
      Value d = Value::dict();
      for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
        KILN_ASSIGN_OR_RETURN(Value k, eval(*e.items[i], scope));
        KILN_ASSIGN_OR_RETURN(Value v, eval(*e.items[i + 1], scope));
        if (k.is_list() || k.is_dict()) {
          return Status::error("unhashable type: '" + k.type_name() + "'");
        }
        d.mutable_dict().set(std::move(k), std::move(v));
      }
      KILN_TRY(check_container(d, max_size()));
      return d;
    }
    case ExprKind::kGetAttr: {
      KILN_ASSIGN_OR_RETURN(Value obj, eval(*e.items[0], scope));
      return get_attr(obj, e.name);
    }
    case ExprKind::kGetItem:
      return eval_getitem(e, scope);
    case ExprKind::kSlice:
      return Status::error("slice outside of a subscript");
    case ExprKind::kCall:
      return eval_call(e, scope);
    case ExprKind::kFilter: {
      KILN_ASSIGN_OR_RETURN(Value subject, eval(*e.items[0], scope));
      return eval_filter(e, std::move(subject), scope);
    }
    case ExprKind::kTest: {
      KILN_ASSIGN_OR_RETURN(Value subject, eval(*e.items[0], scope));
      KILN_ASSIGN_OR_RETURN(CallArgs args, eval_args(e.args, scope));
      if (!is_known_test(e.name)) return Status::error("No test named '" + e.name + "'");
      KILN_ASSIGN_OR_RETURN(bool r, apply_test(*this, e.name, subject, args));
      return Value(r);
    }
    case ExprKind::kNeg:
    case ExprKind::kPos: {
      KILN_ASSIGN_OR_RETURN(Value v, eval(*e.items[0], scope));
      return negate(v, e.kind == ExprKind::kNeg);
    }
    case ExprKind::kNot: {
      KILN_ASSIGN_OR_RETURN(Value v, eval(*e.items[0], scope));
      return Value(!v.truthy());
    }
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      KILN_ASSIGN_OR_RETURN(Value a, eval(*e.items[0], scope));
      if (a.truthy() == (e.kind == ExprKind::kOr)) return a;
      return eval(*e.items[1], scope);
    }
    case ExprKind::kBinary: {
      KILN_ASSIGN_OR_RETURN(Value a, eval(*e.items[0], scope));
      KILN_ASSIGN_OR_RETURN(Value b, eval(*e.items[1], scope));
      return binary_op(*this, e.name, a, b);
    }
    case ExprKind::kConcat: {
      std::string s;
      for (const auto& i : e.items) {
        KILN_ASSIGN_OR_RETURN(Value v, eval(*i, scope));
        s += v.is_string() ? v.as_string() : v.str();
        if (s.size() > max_size()) return Status::error("string longer than the output limit");
      }
      return Value(std::move(s));
    }
    case ExprKind::kCompare:
      return eval_compare(e, scope);
    case ExprKind::kCondExpr: {
      KILN_ASSIGN_OR_RETURN(Value t, eval(*e.items[0], scope));
      if (t.truthy()) return eval(*e.items[1], scope);
      if (e.items[2]) return eval(*e.items[2], scope);
      return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                              " evaluated to false and no else section was defined.");
    }
  }
  return Status::error("unknown expression");
}

Result<CallArgs> Interpreter::eval_args(const CallArgExprs& a, Scope& scope) {
  CallArgs out;
  for (const auto& p : a.positional) {
    KILN_ASSIGN_OR_RETURN(Value v, eval(*p, scope));
    out.positional.push_back(std::move(v));
  }
  if (a.star_args) {
    KILN_ASSIGN_OR_RETURN(Value v, eval(*a.star_args, scope));
    KILN_ASSIGN_OR_RETURN(std::vector<Value> extra, iterate(v));
    for (auto& x : extra) out.positional.push_back(std::move(x));
  }
  for (const auto& [k, p] : a.keyword) {
    KILN_ASSIGN_OR_RETURN(Value v, eval(*p, scope));
    out.keyword.emplace_back(k, std::move(v));
  }
  if (a.star_kwargs) {
    KILN_ASSIGN_OR_RETURN(Value v, eval(*a.star_kwargs, scope));
    if (!v.is_mapping()) return Status::error("argument after ** must be a mapping");
    for (const auto& [k, x] : v.as_dict().entries) {
      if (!k.is_string()) return Status::error("keywords must be strings");
      out.keyword.emplace_back(k.as_string(), x);
    }
  }
  return out;
}

Result<Value> Interpreter::eval_call(const Expr& e, Scope& scope) {
  const Expr& callee = *e.items[0];
  if (callee.kind == ExprKind::kGetAttr) {
    KILN_ASSIGN_OR_RETURN(Value obj, eval(*callee.items[0], scope));
    if (obj.is_undefined()) return undefined_error(obj);
    KILN_ASSIGN_OR_RETURN(CallArgs args, eval_args(e.args, scope));
    if (auto r = call_method(*this, obj, callee.name, args)) return std::move(*r);
    KILN_ASSIGN_OR_RETURN(Value fn, get_attr(obj, callee.name));
    return call(fn, args);
  }
  KILN_ASSIGN_OR_RETURN(Value fn, eval(callee, scope));
  KILN_ASSIGN_OR_RETURN(CallArgs args, eval_args(e.args, scope));
  return call(fn, args);
}

Result<Value> Interpreter::eval_getitem(const Expr& e, Scope& scope) {
  KILN_ASSIGN_OR_RETURN(Value obj, eval(*e.items[0], scope));
  const Expr& index = *e.items[1];
  if (index.kind == ExprKind::kSlice) {
    Value bounds[3] = {Value(None{}), Value(None{}), Value(None{})};
    for (size_t i = 0; i < 3; ++i) {
      if (index.items[i]) {
        KILN_ASSIGN_OR_RETURN(bounds[i], eval(*index.items[i], scope));
      }
    }
    return get_slice(obj, bounds[0], bounds[1], bounds[2]);
  }
  KILN_ASSIGN_OR_RETURN(Value key, eval(index, scope));
  return get_item(obj, key);
}

Result<Value> Interpreter::eval_compare(const Expr& e, Scope& scope) {
  KILN_ASSIGN_OR_RETURN(Value left, eval(*e.items[0], scope));
  for (size_t i = 0; i < e.ops.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(Value right, eval(*e.items[i + 1], scope));
    const std::string& op = e.ops[i];
    bool r = false;
    if (op == "==" || op == "!=") {
      r = values_equal(left, right) == (op == "==");
    } else if (op == "in" || op == "notin") {
      KILN_ASSIGN_OR_RETURN(bool c, contains(right, left));
      r = c == (op == "in");
    } else {
      if (left.is_undefined()) return undefined_error(left);
      if (right.is_undefined()) return undefined_error(right);
      KILN_ASSIGN_OR_RETURN(int c, compare_values(left, right));
      r = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
    }
    if (!r) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Result<Value> Interpreter::eval_filter(const Expr& e, Value subject, Scope& scope) {
  KILN_ASSIGN_OR_RETURN(CallArgs args, eval_args(e.args, scope));
  if (!is_known_filter(e.name)) return Status::error("No filter named '" + e.name + "'");
  KILN_TRY(tick());
  return apply_filter(*this, e.name, subject, args);
}

}  // namespace kiln::jinja
