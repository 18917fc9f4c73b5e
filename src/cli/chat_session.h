// `kiln run --chat`: an interactive conversation in the terminal.
//
// Each line read from stdin is a user turn (a line ending in '\' continues on
// the next line). The conversation is rendered with the model's chat template
// (or --chat-template FILE|NAME; a model without one, most likely a base
// model, gets plain "Q: ... A:" turns: tokenizer/chat_formats.h), tokenized
// with special tokens parsed, and run by the Generator, which reuses the cached prefix of the
// previous turn so only the new tokens are processed. The answer streams to stdout.
//
// Commands: /reset forgets the conversation (keeps the system prompt),
// /exit or end of input quits. Ctrl+C stops the current answer; Ctrl+C at
// the prompt, or twice during an answer, exits cleanly (exit code 0).
// When the conversation outgrows the context, the oldest turns are dropped.
#pragma once

#include <string>

#include "cli/cli_common.h"
#include "engine/generator.h"
#include "engine/sampler.h"

namespace kiln::cli {

struct ChatOptions {
  std::string system;         // system prompt, "" = none
  std::string chat_template;  // a built-in format name or a Jinja file; "" = the model's
  GenerateOptions generate;   // n_predict, stop strings, ...
};

// Returns the process exit code (0, or 1 after printing an error).
int run_chat(LoadedModel& loaded, Generator& generator, Sampler& sampler,
             const ChatOptions& options);

}  // namespace kiln::cli
