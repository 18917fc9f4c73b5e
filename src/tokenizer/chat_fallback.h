// Chat templates for models whose GGUF has no `tokenizer.chat_template`.
//
// Chosen from the vocabulary, as llama.cpp does when a template is missing:
// a vocabulary with `<start_of_turn>` / `<end_of_turn>` gets Gemma's turn
// format (a system prompt is folded into the first user turn, as Gemma's own
// template does); one with `<|im_start|>` / `<|im_end|>` gets ChatML. Anything
// else has no fallback: callers report that the model has no template.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace kiln {

struct FallbackTemplate {
  std::string name;               // "gemma", "chatml", "qa"; "" = none
  std::string source;             // Jinja source, "" = none
  std::vector<std::string> stop;  // stop strings the format needs ("qa": the next question)
};

FallbackTemplate fallback_chat_template(const Tokenizer& tokenizer);

// A built-in format by name: "gemma", "chatml", or "qa" (plain "Q: ...\nA:"
// turns, for base models that were never trained on a chat format). Unknown
// names give a FallbackTemplate with an empty name.
FallbackTemplate builtin_chat_template(const std::string& name);

}  // namespace kiln
