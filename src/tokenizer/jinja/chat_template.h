// Chat-template rendering: the entry point the tokenizer and server call.
//
// Renders a model's `tokenizer.chat_template` (a Jinja2 template) the way Hugging Face
// transformers' apply_chat_template does: trim_blocks and lstrip_blocks on, the context
// holds `messages`, `add_generation_prompt`, `bos_token`, `eos_token` and, when given,
// `tools`; `raise_exception(msg)` and `strftime_now(fmt)` are available as globals.
//
// Thread-safety: pure functions; no shared state.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace kiln::jinja {

// Parses and renders `template_source` once. `messages` is a JSON array of message
// objects; `tools` is null when the request has no tools (then `tools` is undefined in
// the template, as in transformers). Errors (syntax, runtime, raise_exception, limits)
// come back as a Status naming the template line.
Result<std::string> render_chat_template(const std::string& template_source,
                                         const nlohmann::json& messages, bool add_generation_prompt,
                                         const std::string& bos_token, const std::string& eos_token,
                                         const nlohmann::json& tools);

}  // namespace kiln::jinja
