// Built-in chat formats, for models whose GGUF has no `tokenizer.chat_template`
// and for `kiln run --chat --chat-template NAME`.
//
// A GGUF converted from an instruct checkpoint carries its template, so a model
// without one is almost always a base (pretrained) model, which knows no turn
// format: callers then use kNoTemplateFormat, "qa" (plain "Q: ...\nA:" turns
// that base models continue sensibly, with a stop at the next "Q:"). "gemma"
// and "chatml" are those families' turn formats, for instruct files that lost
// their template.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <vector>

namespace kiln {

struct BuiltinChatFormat {
  std::string name;               // "gemma", "chatml", "qa"; "" = none
  std::string source;             // Jinja source, "" = none
  std::vector<std::string> stop;  // stop strings the format needs ("qa": the next question)
};

inline constexpr const char* kNoTemplateFormat = "qa";

BuiltinChatFormat builtin_chat_template(const std::string& name);

}  // namespace kiln
