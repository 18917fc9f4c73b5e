// The lower-level renderer API: parse a Jinja template once, render it many times with
// any JSON context. render_chat_template (chat_template.h) builds on it.
//
// Supported: the Jinja2 subset real chat templates use (docs/chat-templates.md lists it),
// with jinja2's lexing and whitespace rules, Python value semantics and the default
// Undefined, inside Hugging Face's ImmutableSandboxedEnvironment rules (lists and
// dicts cannot be mutated; namespaces can).
//
// Thread-safety: a parsed Template is immutable; render() may run concurrently from
// several threads (each call has its own interpreter state).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/lexer.h"

namespace kiln::jinja {

struct TemplateOptions {
  // Hugging Face's settings: trim_blocks and lstrip_blocks on, trailing newline dropped.
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

class Template {
 public:
  // Parses `source` (UTF-8). Syntax errors, unknown tags and, outside `if` blocks,
  // unknown filters and tests are errors naming the line.
  static Result<Template> parse(std::string_view source, const TemplateOptions& options = {});

  // Renders with `context` (a JSON object; its keys become template variables, in
  // order). Runtime errors (raise_exception, type errors, use of undefined values,
  // limits) come back as a Status naming the line.
  Result<std::string> render(const nlohmann::ordered_json& context,
                             const RenderOptions& options = {}) const;
  // Same with a context already converted to a dict Value.
  Result<std::string> render_value(const Value& context, const RenderOptions& options = {}) const;

 private:
  explicit Template(std::shared_ptr<const Body> body) : body_(std::move(body)) {}
  std::shared_ptr<const Body> body_;
};

}  // namespace kiln::jinja
