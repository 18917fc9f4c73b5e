// The syntax tree the parser builds and the interpreter walks. Mirrors jinja2's nodes
// (jinja2/nodes.py) for the supported subset. Nodes are immutable after parsing and
// owned by their parent; the root is owned by a Template.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace kiln::jinja {

struct Expr;
struct Stmt;
struct MacroDef;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct CallArgExprs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
  ExprPtr star_args;    // *args
  ExprPtr star_kwargs;  // **kwargs
};

enum class ExprKind {
  kLiteral,   // literal
  kName,      // name
  kList,      // items
  kTuple,     // items
  kDict,      // items: key0, value0, key1, value1, ...
  kGetAttr,   // items[0].name
  kGetItem,   // items[0][items[1]]
  kSlice,     // items: start, stop, step (each may be null); only as a GetItem index
  kCall,      // items[0](args)
  kFilter,    // items[0] | name(args); items[0] is null inside filter blocks
  kTest,      // items[0] is name(args)
  kNeg,       // -items[0]
  kPos,       // +items[0]
  kNot,       // not items[0]
  kAnd,       // items[0] and items[1]
  kOr,        // items[0] or items[1]
  kBinary,    // items[0] op items[1]; op in + - * / // % **
  kConcat,    // items joined with ~
  kCompare,   // items[0] ops[0] items[1] ops[1] items[2] ...
  kCondExpr,  // items[1] if items[0] else items[2] (items[2] may be null)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  Value literal;                 // kLiteral
  std::string name;              // kName, kGetAttr, kFilter, kTest; kBinary operator
  std::vector<ExprPtr> items;    // operands, see ExprKind
  std::vector<std::string> ops;  // kCompare: "==", "!=", "<", "<=", ">", ">=", "in", "notin"
  CallArgExprs args;             // kCall, kFilter, kTest
};

enum class StmtKind {
  kText,         // text
  kOutput,       // {{ expr }}
  kIf,           // branches, else_body
  kFor,          // target in expr [if loop_filter] body [else else_body]
  kSet,          // target = expr
  kSetBlock,     // {% set target | filters %} body {% endset %}
  kMacro,        // macro
  kCallBlock,    // {% call(macro->params) expr %} macro->body {% endcall %}
  kFilterBlock,  // {% filter filters %} body {% endfilter %}
  kWith,         // assigns, body
  kBreak,
  kContinue,
  kScope,  // body in its own scope ({% generation %})
};

struct MacroDef {
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // aligned with params; null when none
  Body body;
  bool uses_caller = false;   // body mentions `caller`
  bool uses_varargs = false;  // body mentions `varargs`
  bool uses_kwargs = false;   // body mentions `kwargs`
  int line = 0;
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr target;       // kName, kTuple of names, or kGetAttr (namespace attribute)
  ExprPtr loop_filter;  // kFor
  std::vector<std::pair<ExprPtr, Body>> branches;  // kIf: if / elif tests and bodies
  Body body;
  Body else_body;
  std::vector<ExprPtr> filters;     // kSetBlock, kFilterBlock: kFilter nodes, applied in order
  std::shared_ptr<MacroDef> macro;  // kMacro; kCallBlock's caller
  std::vector<std::pair<ExprPtr, ExprPtr>> assigns;  // kWith
};

}  // namespace kiln::jinja
