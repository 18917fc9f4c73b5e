#include "tokenizer/jinja/parser.h"

#include <algorithm>

#include "tokenizer/jinja/builtins.h"

namespace kiln::jinja {

namespace {

ExprPtr make_expr(ExprKind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

ExprPtr make_unary(ExprKind kind, int line, ExprPtr a) {
  auto e = make_expr(kind, line);
  e->items.push_back(std::move(a));
  return e;
}

ExprPtr make_binary(ExprKind kind, int line, ExprPtr a, ExprPtr b, std::string op = {}) {
  auto e = make_expr(kind, line);
  e->name = std::move(op);
  e->items.push_back(std::move(a));
  e->items.push_back(std::move(b));
  return e;
}

StmtPtr make_stmt(StmtKind kind, int line) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->line = line;
  return s;
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  Result<Body> parse_template() {
    KILN_ASSIGN_OR_RETURN(Body body, subparse({}));
    if (cur().type != TokenType::kEof) return fail(cur().line, "unexpected " + describe(cur()));
    return body;
  }

 private:
  // ---- token stream -------------------------------------------------------------------
  const Token& cur() const { return t_[p_]; }
  const Token& look() const { return t_[std::min(p_ + 1, t_.size() - 1)]; }
  void next() {
    if (p_ + 1 < t_.size()) ++p_;
  }
  bool is_op(std::string_view op) const {
    return cur().type == TokenType::kOperator && cur().value == op;
  }
  bool is_name(std::string_view n) const {
    return cur().type == TokenType::kName && cur().value == n;
  }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::kData:
        return "template data";
      case TokenType::kVarBegin:
        return "begin of print statement";
      case TokenType::kVarEnd:
        return "end of print statement";
      case TokenType::kBlockBegin:
        return "begin of statement block";
      case TokenType::kBlockEnd:
        return "end of statement block";
      case TokenType::kName:
        return "'" + t.value + "'";
      case TokenType::kString:
        return "string";
      case TokenType::kInteger:
        return "integer";
      case TokenType::kFloat:
        return "float";
      case TokenType::kOperator:
        return "'" + t.value + "'";
      case TokenType::kEof:
        return "end of template";
    }
    return "token";
  }

  Status fail(int line, const std::string& msg) const {
    return Status::error("template line " + std::to_string(line) + ": " + msg);
  }

  Status expect_op(std::string_view op) {
    if (!skip_op(op)) {
      return fail(cur().line, "expected '" + std::string(op) + "', got " + describe(cur()));
    }
    return Status::ok();
  }
  Status expect_name(std::string_view n) {
    if (!skip_name(n)) {
      return fail(cur().line, "expected '" + std::string(n) + "', got " + describe(cur()));
    }
    return Status::ok();
  }
  Result<std::string> expect_identifier() {
    if (cur().type != TokenType::kName) {
      return fail(cur().line, "expected a name, got " + describe(cur()));
    }
    std::string v = cur().value;
    next();
    return v;
  }
  Status expect_type(TokenType type) {
    if (cur().type != type) {
      Token want;
      want.type = type;
      return fail(cur().line, "expected " + describe(want) + ", got " + describe(cur()));
    }
    next();
    return Status::ok();
  }

  struct DepthGuard {
    int& depth;
    explicit DepthGuard(int& d) : depth(d) { ++depth; }
    ~DepthGuard() { --depth; }
  };
  Status check_depth() const {
    if (depth_ > kMaxSyntaxDepth) {
      return fail(cur().line,
                  "template nested too deeply (limit " + std::to_string(kMaxSyntaxDepth) + ")");
    }
    return Status::ok();
  }

  // ---- statements ---------------------------------------------------------------------
  // Parses until a block whose first name is in end_tokens (left current) or EOF.
  Result<Body> subparse(const std::vector<std::string>& end_tokens) {
    DepthGuard guard(depth_);
    KILN_TRY(check_depth());
    Body body;
    while (cur().type != TokenType::kEof) {
      const Token& t = cur();
      if (t.type == TokenType::kData) {
        auto s = make_stmt(StmtKind::kText, t.line);
        s->text = t.value;
        body.push_back(std::move(s));
        next();
      } else if (t.type == TokenType::kVarBegin) {
        const int line = t.line;
        next();
        KILN_ASSIGN_OR_RETURN(ExprPtr e, parse_tuple(true, {}, false));
        KILN_TRY(expect_type(TokenType::kVarEnd));
        auto s = make_stmt(StmtKind::kOutput, line);
        s->expr = std::move(e);
        body.push_back(std::move(s));
      } else if (t.type == TokenType::kBlockBegin) {
        next();
        if (cur().type == TokenType::kName &&
            std::find(end_tokens.begin(), end_tokens.end(), cur().value) != end_tokens.end()) {
          return body;
        }
        KILN_ASSIGN_OR_RETURN(StmtPtr s, parse_statement());
        if (s) body.push_back(std::move(s));
        KILN_TRY(expect_type(TokenType::kBlockEnd));
      } else {
        return fail(t.line, "unexpected " + describe(t));
      }
    }
    return body;
  }

  // `%}` then a body up to one of end_tokens; leaves the end name current.
  Result<Body> parse_statements(const std::vector<std::string>& end_tokens, bool drop_needle) {
    skip_op(":");
    KILN_TRY(expect_type(TokenType::kBlockEnd));
    KILN_ASSIGN_OR_RETURN(Body body, subparse(end_tokens));
    if (cur().type == TokenType::kEof) {
      std::string want;
      for (const auto& e : end_tokens) want += (want.empty() ? "'" : " or '") + e + "'";
      return fail(cur().line, "unexpected end of template; Jinja was looking for " + want +
                                  (tag_stack_.empty() ? ""
                                                      : "; the innermost block that "
                                                        "needs to be closed is '" +
                                                            tag_stack_.back() + "'"));
    }
    if (drop_needle) next();
    return body;
  }

  Result<StmtPtr> parse_statement() {
    if (cur().type != TokenType::kName) return fail(cur().line, "tag name expected");
    const std::string tag = cur().value;
    tag_stack_.push_back(tag);
    Result<StmtPtr> r = dispatch_statement(tag);
    tag_stack_.pop_back();
    return r;
  }

  Result<StmtPtr> dispatch_statement(const std::string& tag) {
    if (tag == "if") return parse_if();
    if (tag == "for") return parse_for();
    if (tag == "set") return parse_set();
    if (tag == "macro") return parse_macro();
    if (tag == "call") return parse_call_block();
    if (tag == "filter") return parse_filter_block();
    if (tag == "with") return parse_with();
    if (tag == "print") return parse_print();
    if (tag == "generation") return parse_scope("endgeneration");
    if (tag == "break" || tag == "continue") {
      const int line = cur().line;
      next();
      return make_stmt(tag == "break" ? StmtKind::kBreak : StmtKind::kContinue, line);
    }
    return fail(cur().line, "Encountered unknown tag '" + tag + "'");
  }

  Result<StmtPtr> parse_if() {
    auto s = make_stmt(StmtKind::kIf, cur().line);
    next();
    while (true) {
      KILN_ASSIGN_OR_RETURN(ExprPtr test, parse_tuple(false, {}, false));
      KILN_ASSIGN_OR_RETURN(Body body, parse_statements({"elif", "else", "endif"}, false));
      s->branches.emplace_back(std::move(test), std::move(body));
      const std::string end = cur().value;
      next();
      if (end == "elif") continue;
      if (end == "else") {
        KILN_ASSIGN_OR_RETURN(s->else_body, parse_statements({"endif"}, true));
      }
      break;
    }
    return s;
  }

  Result<StmtPtr> parse_for() {
    auto s = make_stmt(StmtKind::kFor, cur().line);
    next();
    KILN_ASSIGN_OR_RETURN(s->target, parse_assign_target(false, "in"));
    KILN_TRY(expect_name("in"));
    KILN_ASSIGN_OR_RETURN(s->expr, parse_tuple(false, "recursive", false));
    if (skip_name("if")) {
      KILN_ASSIGN_OR_RETURN(s->loop_filter, parse_expression(true));
    }
    if (is_name("recursive")) return fail(cur().line, "recursive loops are not supported");
    KILN_ASSIGN_OR_RETURN(s->body, parse_statements({"endfor", "else"}, false));
    const std::string end = cur().value;
    next();
    if (end == "else") {
      KILN_ASSIGN_OR_RETURN(s->else_body, parse_statements({"endfor"}, true));
    }
    return s;
  }

  Result<StmtPtr> parse_set() {
    const int line = cur().line;
    next();
    KILN_ASSIGN_OR_RETURN(ExprPtr target, parse_assign_target(true, ""));
    if (skip_op("=")) {
      auto s = make_stmt(StmtKind::kSet, line);
      s->target = std::move(target);
      KILN_ASSIGN_OR_RETURN(s->expr, parse_tuple(true, {}, false));
      return s;
    }
    auto s = make_stmt(StmtKind::kSetBlock, line);
    s->target = std::move(target);
    KILN_TRY(parse_filter_chain(s->filters, false));
    KILN_ASSIGN_OR_RETURN(s->body, parse_statements({"endset"}, true));
    return s;
  }

  Result<StmtPtr> parse_macro() {
    auto s = make_stmt(StmtKind::kMacro, cur().line);
    next();
    s->macro = std::make_shared<MacroDef>();
    s->macro->line = s->line;
    KILN_ASSIGN_OR_RETURN(s->macro->name, expect_identifier());
    KILN_TRY(parse_signature(*s->macro));
    KILN_ASSIGN_OR_RETURN(s->macro->body, parse_statements({"endmacro"}, true));
    return s;
  }

  Status parse_signature(MacroDef& m) {
    KILN_TRY(expect_op("("));
    while (!is_op(")")) {
      if (!m.params.empty()) KILN_TRY(expect_op(","));
      KILN_ASSIGN_OR_RETURN(std::string name, expect_identifier());
      ExprPtr def;
      if (skip_op("=")) {
        KILN_ASSIGN_OR_RETURN(def, parse_expression(true));
      } else if (std::any_of(m.defaults.begin(), m.defaults.end(),
                             [](const ExprPtr& d) { return d != nullptr; })) {
        return fail(cur().line, "non-default argument follows default argument");
      }
      m.params.push_back(std::move(name));
      m.defaults.push_back(std::move(def));
    }
    return expect_op(")");
  }

  Result<StmtPtr> parse_call_block() {
    auto s = make_stmt(StmtKind::kCallBlock, cur().line);
    next();
    s->macro = std::make_shared<MacroDef>();
    s->macro->name = "caller";
    s->macro->line = s->line;
    if (is_op("(")) KILN_TRY(parse_signature(*s->macro));
    KILN_ASSIGN_OR_RETURN(s->expr, parse_expression(true));
    if (s->expr->kind != ExprKind::kCall) return fail(s->line, "expected call");
    KILN_ASSIGN_OR_RETURN(s->macro->body, parse_statements({"endcall"}, true));
    return s;
  }

  Result<StmtPtr> parse_filter_block() {
    auto s = make_stmt(StmtKind::kFilterBlock, cur().line);
    next();
    KILN_TRY(parse_filter_chain(s->filters, true));
    KILN_ASSIGN_OR_RETURN(s->body, parse_statements({"endfilter"}, true));
    return s;
  }

  Result<StmtPtr> parse_with() {
    auto s = make_stmt(StmtKind::kWith, cur().line);
    next();
    while (cur().type != TokenType::kBlockEnd) {
      if (!s->assigns.empty()) KILN_TRY(expect_op(","));
      KILN_ASSIGN_OR_RETURN(ExprPtr target, parse_assign_target(false, ""));
      KILN_TRY(expect_op("="));
      KILN_ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
      s->assigns.emplace_back(std::move(target), std::move(value));
    }
    KILN_ASSIGN_OR_RETURN(s->body, parse_statements({"endwith"}, true));
    return s;
  }

  Result<StmtPtr> parse_print() {
    auto s = make_stmt(StmtKind::kOutput, cur().line);
    next();
    auto tuple = make_expr(ExprKind::kTuple, s->line);
    while (cur().type != TokenType::kBlockEnd) {
      if (!tuple->items.empty()) KILN_TRY(expect_op(","));
      KILN_ASSIGN_OR_RETURN(ExprPtr e, parse_expression(true));
      tuple->items.push_back(std::move(e));
    }
    // {% print a, b %} writes each expression in turn.
    auto concat = make_expr(ExprKind::kConcat, s->line);
    concat->items = std::move(tuple->items);
    s->expr = std::move(concat);
    return s;
  }

  Result<StmtPtr> parse_scope(const std::string& end) {
    auto s = make_stmt(StmtKind::kScope, cur().line);
    next();
    KILN_ASSIGN_OR_RETURN(s->body, parse_statements({end}, true));
    return s;
  }

  // `| name(args) | name ...` (or, inline, starting at the name).
  Status parse_filter_chain(std::vector<ExprPtr>& out, bool start_inline) {
    while (is_op("|") || start_inline) {
      if (!start_inline) next();
      start_inline = false;
      KILN_ASSIGN_OR_RETURN(ExprPtr f, parse_filter(nullptr));
      out.push_back(std::move(f));
    }
    return Status::ok();
  }

  // Targets of for / set / with: a name, a namespace attribute (set only), or a tuple
  // of them.
  Result<ExprPtr> parse_assign_target(bool with_namespace, std::string_view end_name) {
    const int line = cur().line;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) KILN_TRY(expect_op(","));
      if (cur().type == TokenType::kBlockEnd || is_op(")") ||
          (!end_name.empty() && is_name(end_name))) {
        break;
      }
      KILN_ASSIGN_OR_RETURN(std::string name, expect_identifier());
      if (name == "true" || name == "false" || name == "none" || name == "True" ||
          name == "False" || name == "None") {
        return fail(line, "can't assign to 'const'");
      }
      auto n = make_expr(ExprKind::kName, line);
      n->name = name;
      if (with_namespace && is_op(".")) {
        next();
        KILN_ASSIGN_OR_RETURN(std::string attr, expect_identifier());
        auto ref = make_unary(ExprKind::kGetAttr, line, std::move(n));
        ref->name = attr;
        n = std::move(ref);
      }
      items.push_back(std::move(n));
      if (!is_op(",")) break;
      is_tuple = true;
    }
    if (items.empty()) return fail(line, "expected an assignment target");
    if (!is_tuple) return std::move(items[0]);
    for (const auto& i : items) {
      if (i->kind != ExprKind::kName) return fail(line, "can't assign to 'tuple'");
    }
    auto t = make_expr(ExprKind::kTuple, line);
    t->items = std::move(items);
    return t;
  }

  // ---- expressions --------------------------------------------------------------------
  Result<ExprPtr> parse_tuple(bool with_condexpr, std::string_view end_name, bool explicit_parens) {
    const int line = cur().line;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) KILN_TRY(expect_op(","));
      if (cur().type == TokenType::kVarEnd || cur().type == TokenType::kBlockEnd || is_op(")") ||
          (!end_name.empty() && is_name(end_name))) {
        break;
      }
      KILN_ASSIGN_OR_RETURN(ExprPtr e, parse_expression(with_condexpr));
      items.push_back(std::move(e));
      if (!is_op(",")) break;
      is_tuple = true;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) {
        return fail(cur().line, "Expected an expression, got " + describe(cur()));
      }
    }
    auto t = make_expr(ExprKind::kTuple, line);
    t->items = std::move(items);
    return t;
  }

  Result<ExprPtr> parse_expression(bool with_condexpr) {
    DepthGuard guard(depth_);
    KILN_TRY(check_depth());
    if (!with_condexpr) return parse_or();
    const int line = cur().line;
    KILN_ASSIGN_OR_RETURN(ExprPtr expr1, parse_or());
    while (skip_name("if")) {
      KILN_ASSIGN_OR_RETURN(ExprPtr expr2, parse_or());
      ExprPtr expr3;
      if (skip_name("else")) {
        KILN_ASSIGN_OR_RETURN(expr3, parse_expression(true));
      }
      auto c = make_expr(ExprKind::kCondExpr, line);
      c->items.push_back(std::move(expr2));
      c->items.push_back(std::move(expr1));
      c->items.push_back(std::move(expr3));
      expr1 = std::move(c);
    }
    return expr1;
  }

  Result<ExprPtr> parse_or() {
    KILN_ASSIGN_OR_RETURN(ExprPtr left, parse_and());
    while (is_name("or")) {
      const int line = cur().line;
      next();
      KILN_ASSIGN_OR_RETURN(ExprPtr right, parse_and());
      left = make_binary(ExprKind::kOr, line, std::move(left), std::move(right));
    }
    return left;
  }

  Result<ExprPtr> parse_and() {
    KILN_ASSIGN_OR_RETURN(ExprPtr left, parse_not());
    while (is_name("and")) {
      const int line = cur().line;
      next();
      KILN_ASSIGN_OR_RETURN(ExprPtr right, parse_not());
      left = make_binary(ExprKind::kAnd, line, std::move(left), std::move(right));
    }
    return left;
  }

  Result<ExprPtr> parse_not() {
    if (is_name("not")) {
      const int line = cur().line;
      next();
      DepthGuard guard(depth_);
      KILN_TRY(check_depth());
      KILN_ASSIGN_OR_RETURN(ExprPtr e, parse_not());
      return make_unary(ExprKind::kNot, line, std::move(e));
    }
    return parse_compare();
  }

  Result<ExprPtr> parse_compare() {
    const int line = cur().line;
    KILN_ASSIGN_OR_RETURN(ExprPtr expr, parse_math1());
    std::vector<std::string> ops;
    std::vector<ExprPtr> operands;
    while (true) {
      std::string op;
      if (cur().type == TokenType::kOperator &&
          (cur().value == "==" || cur().value == "!=" || cur().value == "<" ||
           cur().value == "<=" || cur().value == ">" || cur().value == ">=")) {
        op = cur().value;
        next();
      } else if (skip_name("in")) {
        op = "in";
      } else if (is_name("not") && look().type == TokenType::kName && look().value == "in") {
        next();
        next();
        op = "notin";
      } else {
        break;
      }
      KILN_ASSIGN_OR_RETURN(ExprPtr rhs, parse_math1());
      ops.push_back(op);
      operands.push_back(std::move(rhs));
    }
    if (ops.empty()) return expr;
    auto c = make_expr(ExprKind::kCompare, line);
    c->items.push_back(std::move(expr));
    for (auto& o : operands) c->items.push_back(std::move(o));
    c->ops = std::move(ops);
    return c;
  }

  Result<ExprPtr> parse_math1() {
    KILN_ASSIGN_OR_RETURN(ExprPtr left, parse_concat());
    while (is_op("+") || is_op("-")) {
      const std::string op = cur().value;
      const int line = cur().line;
      next();
      KILN_ASSIGN_OR_RETURN(ExprPtr right, parse_concat());
      left = make_binary(ExprKind::kBinary, line, std::move(left), std::move(right), op);
    }
    return left;
  }

  Result<ExprPtr> parse_concat() {
    const int line = cur().line;
    KILN_ASSIGN_OR_RETURN(ExprPtr first, parse_math2());
    if (!is_op("~")) return first;
    auto c = make_expr(ExprKind::kConcat, line);
    c->items.push_back(std::move(first));
    while (skip_op("~")) {
      KILN_ASSIGN_OR_RETURN(ExprPtr e, parse_math2());
      c->items.push_back(std::move(e));
    }
    return c;
  }

  Result<ExprPtr> parse_math2() {
    KILN_ASSIGN_OR_RETURN(ExprPtr left, parse_pow());
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const std::string op = cur().value;
      const int line = cur().line;
      next();
      KILN_ASSIGN_OR_RETURN(ExprPtr right, parse_pow());
      left = make_binary(ExprKind::kBinary, line, std::move(left), std::move(right), op);
    }
    return left;
  }

  Result<ExprPtr> parse_pow() {
    KILN_ASSIGN_OR_RETURN(ExprPtr left, parse_unary(true));
    while (is_op("**")) {
      const int line = cur().line;
      next();
      KILN_ASSIGN_OR_RETURN(ExprPtr right, parse_unary(true));
      left = make_binary(ExprKind::kBinary, line, std::move(left), std::move(right), "**");
    }
    return left;
  }

  Result<ExprPtr> parse_unary(bool with_filter) {
    DepthGuard guard(depth_);
    KILN_TRY(check_depth());
    const int line = cur().line;
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      const bool neg = is_op("-");
      next();
      KILN_ASSIGN_OR_RETURN(ExprPtr e, parse_unary(false));
      node = make_unary(neg ? ExprKind::kNeg : ExprKind::kPos, line, std::move(e));
    } else {
      KILN_ASSIGN_OR_RETURN(node, parse_primary());
    }
    KILN_ASSIGN_OR_RETURN(node, parse_postfix(std::move(node)));
    if (with_filter) {
      KILN_ASSIGN_OR_RETURN(node, parse_filter_expr(std::move(node)));
    }
    return node;
  }

  Result<ExprPtr> parse_primary() {
    const Token& t = cur();
    const int line = t.line;
    if (t.type == TokenType::kName) {
      const std::string v = t.value;
      next();
      if (v == "true" || v == "True" || v == "false" || v == "False") {
        auto e = make_expr(ExprKind::kLiteral, line);
        e->literal = Value(v == "true" || v == "True");
        return e;
      }
      if (v == "none" || v == "None") {
        auto e = make_expr(ExprKind::kLiteral, line);
        e->literal = Value(None{});
        return e;
      }
      auto e = make_expr(ExprKind::kName, line);
      e->name = v;
      return e;
    }
    if (t.type == TokenType::kString) {
      std::string s;
      while (cur().type == TokenType::kString) {
        s += cur().value;
        next();
      }
      auto e = make_expr(ExprKind::kLiteral, line);
      e->literal = Value(std::move(s));
      return e;
    }
    if (t.type == TokenType::kInteger || t.type == TokenType::kFloat) {
      auto e = make_expr(ExprKind::kLiteral, line);
      e->literal = t.type == TokenType::kInteger ? Value(t.int_value) : Value(t.float_value);
      next();
      return e;
    }
    if (is_op("(")) {
      next();
      KILN_ASSIGN_OR_RETURN(ExprPtr e, parse_tuple(true, {}, true));
      KILN_TRY(expect_op(")"));
      return e;
    }
    if (is_op("[")) return parse_list();
    if (is_op("{")) return parse_dict();
    return fail(line, "unexpected " + describe(t));
  }

  Result<ExprPtr> parse_list() {
    auto e = make_expr(ExprKind::kList, cur().line);
    next();
    while (!is_op("]")) {
      if (!e->items.empty()) KILN_TRY(expect_op(","));
      if (is_op("]")) break;
      KILN_ASSIGN_OR_RETURN(ExprPtr item, parse_expression(true));
      e->items.push_back(std::move(item));
    }
    KILN_TRY(expect_op("]"));
    return e;
  }

  Result<ExprPtr> parse_dict() {
    auto e = make_expr(ExprKind::kDict, cur().line);
    next();
    while (!is_op("}")) {
      if (!e->items.empty()) KILN_TRY(expect_op(","));
      if (is_op("}")) break;
      KILN_ASSIGN_OR_RETURN(ExprPtr key, parse_expression(true));
      KILN_TRY(expect_op(":"));
      KILN_ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
      e->items.push_back(std::move(key));
      e->items.push_back(std::move(value));
    }
    KILN_TRY(expect_op("}"));
    return e;
  }

  Result<ExprPtr> parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) {
        KILN_ASSIGN_OR_RETURN(node, parse_subscript(std::move(node)));
      } else if (is_op("(")) {
        KILN_ASSIGN_OR_RETURN(node, parse_call(std::move(node)));
      } else {
        return node;
      }
    }
  }

  Result<ExprPtr> parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        next();
        KILN_ASSIGN_OR_RETURN(node, parse_filter(std::move(node)));
      } else if (is_name("is")) {
        KILN_ASSIGN_OR_RETURN(node, parse_test(std::move(node)));
      } else if (is_op("(")) {
        KILN_ASSIGN_OR_RETURN(node, parse_call(std::move(node)));
      } else {
        return node;
      }
    }
  }

  Result<ExprPtr> parse_subscript(ExprPtr node) {
    const int line = cur().line;
    if (skip_op(".")) {
      if (cur().type == TokenType::kName) {
        auto e = make_unary(ExprKind::kGetAttr, line, std::move(node));
        e->name = cur().value;
        next();
        return e;
      }
      if (cur().type != TokenType::kInteger) return fail(cur().line, "expected name or number");
      auto idx = make_expr(ExprKind::kLiteral, line);
      idx->literal = Value(cur().int_value);
      next();
      return make_binary(ExprKind::kGetItem, line, std::move(node), std::move(idx));
    }
    next();  // [
    std::vector<ExprPtr> args;
    while (!is_op("]")) {
      if (!args.empty()) KILN_TRY(expect_op(","));
      KILN_ASSIGN_OR_RETURN(ExprPtr a, parse_subscribed());
      args.push_back(std::move(a));
    }
    KILN_TRY(expect_op("]"));
    if (args.empty()) return fail(line, "expected subscript expression");
    ExprPtr index;
    if (args.size() == 1) {
      index = std::move(args[0]);
    } else {
      index = make_expr(ExprKind::kTuple, line);
      index->items = std::move(args);
    }
    return make_binary(ExprKind::kGetItem, line, std::move(node), std::move(index));
  }

  Result<ExprPtr> parse_subscribed() {
    const int line = cur().line;
    auto slice = make_expr(ExprKind::kSlice, line);
    if (skip_op(":")) {
      slice->items.push_back(nullptr);
    } else {
      KILN_ASSIGN_OR_RETURN(ExprPtr e, parse_expression(true));
      if (!is_op(":")) return e;
      next();
      slice->items.push_back(std::move(e));
    }
    if (is_op(":") || is_op("]") || is_op(",")) {
      slice->items.push_back(nullptr);
    } else {
      KILN_ASSIGN_OR_RETURN(ExprPtr stop, parse_expression(true));
      slice->items.push_back(std::move(stop));
    }
    if (skip_op(":")) {
      if (is_op("]") || is_op(",")) {
        slice->items.push_back(nullptr);
      } else {
        KILN_ASSIGN_OR_RETURN(ExprPtr step, parse_expression(true));
        slice->items.push_back(std::move(step));
      }
    } else {
      slice->items.push_back(nullptr);
    }
    return slice;
  }

  Status parse_call_args(CallArgExprs& args) {
    const int line = cur().line;
    KILN_TRY(expect_op("("));
    bool require_comma = false;
    while (!is_op(")")) {
      if (require_comma) {
        KILN_TRY(expect_op(","));
        if (is_op(")")) break;
      }
      if (is_op("*")) {
        if (args.star_args || args.star_kwargs) return fail(line, "invalid syntax for call");
        next();
        KILN_ASSIGN_OR_RETURN(args.star_args, parse_expression(true));
      } else if (is_op("**")) {
        if (args.star_kwargs) return fail(line, "invalid syntax for call");
        next();
        KILN_ASSIGN_OR_RETURN(args.star_kwargs, parse_expression(true));
      } else if (cur().type == TokenType::kName && look().type == TokenType::kOperator &&
                 look().value == "=") {
        if (args.star_kwargs) return fail(line, "invalid syntax for call");
        std::string key = cur().value;
        next();
        next();
        KILN_ASSIGN_OR_RETURN(ExprPtr v, parse_expression(true));
        args.keyword.emplace_back(std::move(key), std::move(v));
      } else {
        if (args.star_args || args.star_kwargs || !args.keyword.empty()) {
          return fail(line, "invalid syntax for function call expression");
        }
        KILN_ASSIGN_OR_RETURN(ExprPtr v, parse_expression(true));
        args.positional.push_back(std::move(v));
      }
      require_comma = true;
    }
    return expect_op(")");
  }

  Result<ExprPtr> parse_call(ExprPtr node) {
    auto e = make_unary(ExprKind::kCall, cur().line, std::move(node));
    KILN_TRY(parse_call_args(e->args));
    return e;
  }

  Result<std::string> parse_dotted_name() {
    KILN_ASSIGN_OR_RETURN(std::string name, expect_identifier());
    while (skip_op(".")) {
      KILN_ASSIGN_OR_RETURN(std::string part, expect_identifier());
      name += "." + part;
    }
    return name;
  }

  // After `|`: name(args).
  Result<ExprPtr> parse_filter(ExprPtr subject) {
    auto e = make_unary(ExprKind::kFilter, cur().line, std::move(subject));
    KILN_ASSIGN_OR_RETURN(e->name, parse_dotted_name());
    if (is_op("(")) KILN_TRY(parse_call_args(e->args));
    return e;
  }

  Result<ExprPtr> parse_test(ExprPtr subject) {
    const int line = cur().line;
    next();  // is
    const bool negated = skip_name("not");
    auto e = make_unary(ExprKind::kTest, line, std::move(subject));
    KILN_ASSIGN_OR_RETURN(e->name, parse_dotted_name());
    const Token& t = cur();
    if (is_op("(")) {
      KILN_TRY(parse_call_args(e->args));
    } else if ((t.type == TokenType::kName || t.type == TokenType::kString ||
                t.type == TokenType::kInteger || t.type == TokenType::kFloat || is_op("[") ||
                is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) return fail(line, "You cannot chain multiple tests with is");
      KILN_ASSIGN_OR_RETURN(ExprPtr arg, parse_primary());
      KILN_ASSIGN_OR_RETURN(arg, parse_postfix(std::move(arg)));
      e->args.positional.push_back(std::move(arg));
    }
    if (negated) return make_unary(ExprKind::kNot, line, std::move(e));
    return e;
  }

  const std::vector<Token>& t_;
  size_t p_ = 0;
  int depth_ = 0;
  std::vector<std::string> tag_stack_;
};

// ---- checks after parsing (what jinja2's compiler rejects) ------------------------------

struct Checker {
  Status check_args(const CallArgExprs& a, bool soft) {
    for (const auto& e : a.positional) KILN_TRY(expr(e.get(), soft));
    for (const auto& [k, e] : a.keyword) KILN_TRY(expr(e.get(), soft));
    KILN_TRY(expr(a.star_args.get(), soft));
    return expr(a.star_kwargs.get(), soft);
  }

  Status expr(const Expr* e, bool soft) {
    if (!e) return Status::ok();
    if (e->kind == ExprKind::kCondExpr) soft = true;
    if (e->kind == ExprKind::kFilter && !soft && !is_known_filter(e->name)) {
      return Status::error("template line " + std::to_string(e->line) + ": No filter named '" +
                           e->name + "'");
    }
    if (e->kind == ExprKind::kTest && !soft && !is_known_test(e->name)) {
      return Status::error("template line " + std::to_string(e->line) + ": No test named '" +
                           e->name + "'");
    }
    for (const auto& c : e->items) KILN_TRY(expr(c.get(), soft));
    return check_args(e->args, soft);
  }

  Status body(const Body& b, bool soft) {
    for (const auto& s : b) KILN_TRY(stmt(*s, soft));
    return Status::ok();
  }

  Status stmt(const Stmt& s, bool soft) {
    switch (s.kind) {
      case StmtKind::kIf:
        for (const auto& [test, b] : s.branches) {
          KILN_TRY(expr(test.get(), true));
          KILN_TRY(body(b, true));
        }
        return body(s.else_body, true);
      case StmtKind::kFor:
        KILN_TRY(expr(s.expr.get(), soft));
        KILN_TRY(expr(s.loop_filter.get(), false));
        KILN_TRY(body(s.body, false));
        return body(s.else_body, false);
      case StmtKind::kMacro:
      case StmtKind::kCallBlock:
        for (const auto& d : s.macro->defaults) KILN_TRY(expr(d.get(), false));
        KILN_TRY(expr(s.expr.get(), soft));
        return body(s.macro->body, false);
      case StmtKind::kSetBlock:
      case StmtKind::kFilterBlock:
        for (const auto& f : s.filters) KILN_TRY(expr(f.get(), false));
        return body(s.body, false);
      case StmtKind::kWith:
        for (const auto& [t, v] : s.assigns) KILN_TRY(expr(v.get(), soft));
        return body(s.body, false);
      case StmtKind::kScope:
        return body(s.body, false);
      default:
        KILN_TRY(expr(s.expr.get(), soft));
        return expr(s.target.get(), soft);
    }
  }
};

// Whether `name` is referenced anywhere under the node (for a macro's caller, varargs
// and kwargs, which jinja2 detects the same way).
bool mentions(const Expr* e, const std::string& name) {
  if (!e) return false;
  if (e->kind == ExprKind::kName && e->name == name) return true;
  for (const auto& c : e->items) {
    if (mentions(c.get(), name)) return true;
  }
  const auto& a = e->args;
  for (const auto& p : a.positional) {
    if (mentions(p.get(), name)) return true;
  }
  for (const auto& [k, v] : a.keyword) {
    if (mentions(v.get(), name)) return true;
  }
  return mentions(a.star_args.get(), name) || mentions(a.star_kwargs.get(), name);
}

bool mentions(const Body& b, const std::string& name);

bool mentions(const Stmt& s, const std::string& name) {
  if (mentions(s.expr.get(), name) || mentions(s.target.get(), name) ||
      mentions(s.loop_filter.get(), name) || mentions(s.body, name) ||
      mentions(s.else_body, name)) {
    return true;
  }
  for (const auto& [t, b] : s.branches) {
    if (mentions(t.get(), name) || mentions(b, name)) return true;
  }
  for (const auto& f : s.filters) {
    if (mentions(f.get(), name)) return true;
  }
  for (const auto& [t, v] : s.assigns) {
    if (mentions(v.get(), name)) return true;
  }
  // A nested call block's body is another macro: its `caller` is its own.
  if (s.kind == StmtKind::kCallBlock || s.kind == StmtKind::kMacro) {
    for (const auto& d : s.macro->defaults) {
      if (mentions(d.get(), name)) return true;
    }
    if (name != "caller" && mentions(s.macro->body, name)) return true;
  }
  return false;
}

bool mentions(const Body& b, const std::string& name) {
  for (const auto& s : b) {
    if (mentions(*s, name)) return true;
  }
  return false;
}

void mark_macros(const Body& b) {
  for (const auto& s : b) {
    if (s->macro) {
      MacroDef& m = *s->macro;
      m.uses_caller = mentions(m.body, "caller");
      m.uses_varargs = mentions(m.body, "varargs");
      m.uses_kwargs = mentions(m.body, "kwargs");
      mark_macros(m.body);
    }
    mark_macros(s->body);
    mark_macros(s->else_body);
    for (const auto& [t, body] : s->branches) mark_macros(body);
  }
}

}  // namespace

Result<Body> parse_tokens(const std::vector<Token>& tokens) {
  KILN_ASSIGN_OR_RETURN(Body body, Parser(tokens).parse_template());
  Checker checker;
  KILN_TRY(checker.body(body, false));
  mark_macros(body);
  return body;
}

}  // namespace kiln::jinja
