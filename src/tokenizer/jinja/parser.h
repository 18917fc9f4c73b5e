// Parser: tokens -> syntax tree, following jinja2's grammar (jinja2/parser.py):
// operator precedence, tuples, filters and tests, call arguments, slices, and the
// statements if/elif/else, for/else, set (expression, block, namespace attribute),
// macro, call, filter, with, print, break/continue and generation.
//
// Like jinja2's compiler, an unknown filter or test is an error at parse time unless
// it sits inside an `if` or an inline `x if c else y` (then only using it is).
//
// Thread-safety: pure function.
#pragma once

#include <vector>

#include "core/status.h"
#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace kiln::jinja {

// Deepest nesting of expressions or statements accepted; deeper templates are an
// error (bounds the recursion of the parser and the interpreter).
inline constexpr int kMaxSyntaxDepth = 96;

Result<Body> parse_tokens(const std::vector<Token>& tokens);

}  // namespace kiln::jinja
