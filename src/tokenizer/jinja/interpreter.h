// Interpreter: walks a parsed template and writes its output, with jinja2's scoping:
// `for` bodies (each iteration), macros, `with`, block `set` and `filter` blocks get
// their own scope; `if` does not; a macro sees the template's top-level scope and the
// render context. Loops expose `loop` (index, index0, revindex, revindex0, first, last,
// length, previtem, nextitem, depth, cycle).
//
// Limits keep any template bounded: output size, macro call depth and a step budget
// (statements executed + loop iterations + filter work); exceeding one is an error.
//
// Thread-safety: one Interpreter renders once, on one thread.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <unordered_map>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace kiln::jinja {

struct RenderLimits {
  size_t max_output_bytes = size_t{16} << 20;  // also caps any string or list built
  int max_call_depth = 64;                     // nested macro calls
  uint64_t max_steps = 20'000'000;
};

struct RenderOptions {
  RenderLimits limits;
  // The clock `strftime_now` reads; nullopt = the current local time. Tests fix it.
  std::optional<std::time_t> now;
};

class Interpreter {
 public:
  explicit Interpreter(const RenderOptions& options);

  // Renders `body` with `context` as the template's variables (a dict value).
  Result<std::string> render(const Body& body, const Value& context);

  // Calls anything callable (macros, globals, bound methods).
  Result<Value> call(const Value& callee, CallArgs& args);
  // Counts `n` units of work against the step budget.
  Status tick(uint64_t n = 1);
  const RenderOptions& options() const { return options_; }
  size_t max_size() const { return options_.limits.max_output_bytes; }

 private:
  // A variable scope. Scopes live on the C++ stack and register themselves by a serial
  // id, so closures over one (macros, `caller`) can tell whether it still exists.
  struct Scope {
    Scope(Interpreter& in, Scope* parent);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

    Interpreter& in;
    Scope* parent;
    uint64_t id;
    std::unordered_map<std::string, Value> vars;
  };
  enum class Flow { kNormal, kBreak, kContinue };

  Result<Flow> exec_body(const Body& body, Scope& scope);
  Result<Flow> exec(const Stmt& s, Scope& scope);
  Result<Flow> exec_for(const Stmt& s, Scope& scope);
  Status exec_set(const Stmt& s, Scope& scope);
  Status assign(const Expr& target, Value value, Scope& scope);
  Result<std::string> render_block(const Body& body, Scope& parent);
  Result<Value> apply_filter_chain(const std::vector<ExprPtr>& filters, Value subject,
                                   Scope& scope);
  Result<Value> call_macro(const MacroDef& m, CallArgs& args, Scope* parent);
  Value make_macro(const MacroDef& m, Scope* parent);
  Status write(std::string_view text);

  Result<Value> eval(const Expr& e, Scope& scope);
  Result<Value> eval_inner(const Expr& e, Scope& scope);
  Result<Value> lookup(const std::string& name, Scope& scope);
  Result<CallArgs> eval_args(const CallArgExprs& a, Scope& scope);
  Result<Value> eval_call(const Expr& e, Scope& scope);
  Result<Value> eval_getitem(const Expr& e, Scope& scope);
  Result<Value> eval_compare(const Expr& e, Scope& scope);
  Result<Value> eval_filter(const Expr& e, Value subject, Scope& scope);

  RenderOptions options_;
  Value context_;
  Value globals_;  // builtins: range, namespace, dict, raise_exception, strftime_now, ...
  Scope* root_ = nullptr;
  std::unordered_map<uint64_t, Scope*> live_scopes_;
  uint64_t next_scope_id_ = 0;
  std::string* out_ = nullptr;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
};

}  // namespace kiln::jinja
