// Chat-template rendering: the entry point the tokenizer, CLI and server call.
//
// Renders a model's `tokenizer.chat_template` (a Jinja2 template) the way Hugging Face
// transformers' apply_chat_template does (transformers 5.x, chat_template_utils.py):
// ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, loop controls
// (break/continue) and `{% generation %}`; the tojson filter is json.dumps with
// ensure_ascii=False; the globals raise_exception(msg), strftime_now(fmt), dict() and
// namespace() (no underscore-prefixed attributes). The context holds `messages`,
// `tools` (None when absent), `documents` (None), `add_generation_prompt`,
// `bos_token`, `eos_token`, plus any extra variables. Like transformers, a message's
// reasoning (`reasoning_content`, `thinking` or `reasoning`) is made visible under both
// `thinking` and `reasoning_content`.
//
// Thread-safety: pure functions; no shared state.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "tokenizer/jinja/template.h"

namespace kiln::jinja {

// Parses and renders `template_source` once. `messages` is a JSON array of message
// objects; `tools` is null when the request has no tools. Note nlohmann::json keeps
// object keys sorted, so `tojson` of a tool schema lists keys alphabetically; callers
// that need the client's key order use the ordered_json overload below.
// Errors (syntax, runtime, raise_exception, limits) come back as a Status naming the
// template line.
Result<std::string> render_chat_template(const std::string& template_source,
                                         const nlohmann::json& messages, bool add_generation_prompt,
                                         const std::string& bos_token, const std::string& eos_token,
                                         const nlohmann::json& tools);

struct ChatInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  bool add_generation_prompt = false;
  std::string bos_token;
  std::string eos_token;
  nlohmann::ordered_json tools;  // null = no tools
  // More template variables (e.g. {"enable_thinking": false}); must be an object or null.
  nlohmann::ordered_json extra_context;
};

// Builds the transformers context from `inputs` (validating that messages are
// objects) and renders `tmpl`.
Result<std::string> render_chat(const Template& tmpl, const ChatInputs& inputs,
                                const RenderOptions& options = {});
Result<std::string> render_chat_template(const std::string& template_source,
                                         const ChatInputs& inputs,
                                         const RenderOptions& options = {});

}  // namespace kiln::jinja
