// Lexer: template source -> tokens, reproducing jinja2's lexer (jinja2/lexer.py)
// including its whitespace rules: `{%-`/`-%}` strip all whitespace on that side,
// `{%+` disables lstrip_blocks, `+%}` disables trim_blocks, trim_blocks removes the
// first newline after a block or comment tag, lstrip_blocks removes spaces and tabs
// before a block or comment tag that starts a line. Comments are dropped and raw
// blocks become plain data.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::jinja {

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

enum class TokenType {
  kData,        // text outside tags (value)
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,        // identifier (value)
  kString,      // string literal, escapes decoded (value)
  kInteger,     // int_value
  kFloat,       // float_value
  kOperator,    // value: "+", "//", "(", ...
  kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string value;
  int64_t int_value = 0;
  double float_value = 0.0;
  int line = 1;
};

// Splits `source` into tokens. Errors (unterminated tag, comment, string or raw block,
// unbalanced brackets, unexpected characters) name the line.
Result<std::vector<Token>> tokenize(std::string_view source, const LexOptions& options);

// jinja2's newline handling before lexing: \r\n and \r become \n, and one trailing
// newline is dropped unless keep_trailing_newline.
std::string normalize_newlines(std::string_view source, bool keep_trailing_newline);

}  // namespace kiln::jinja
