// `kiln tokenize -m MODEL [--no-bos] [--special] [--json] [--] TEXT`: prints
// the ids of TEXT (taken literally: no escape processing) separated by single
// spaces on one line; --json prints [{"id":..,"piece":".."}, ...] instead.
// `kiln tokenize -m MODEL --chat MESSAGES.json` prints the prompt the model's
// chat template renders for the messages (a JSON array of {role, content},
// or an object {"messages": [...], "add_generation_prompt": bool, "tools": [...]}).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "gguf/gguf.h"
#include "tokenizer/jinja/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kiln::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string chat_file;
  bool no_bos = false;
  bool special = false;
  bool json = false;
};

int print_chat(const Tokenizer& tok, const TokenizeOptions& o) {
  auto source = read_text_file(o.chat_file);
  if (!source.is_ok()) return fail(source.status().message());
  nlohmann::json doc = nlohmann::json::parse(*source, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(o.chat_file + ": not valid JSON");
  nlohmann::json messages = doc, tools = nullptr;
  bool add_generation_prompt = true;
  if (doc.is_object()) {
    messages = doc.value("messages", nlohmann::json());
    tools = doc.value("tools", nlohmann::json());
    const auto it = doc.find("add_generation_prompt");
    if (it != doc.end() && !it->is_boolean()) {
      return fail(o.chat_file + ": add_generation_prompt must be a boolean");
    }
    if (it != doc.end()) add_generation_prompt = it->get<bool>();
  }
  if (!messages.is_array()) {
    return fail(o.chat_file + ": expected an array of messages or {\"messages\": [...]}");
  }
  if (tok.chat_template().empty()) {
    return fail(o.model + ": the model has no tokenizer.chat_template");
  }
  auto rendered = jinja::render_chat_template(tok.chat_template(), messages, add_generation_prompt,
                                              tok.bos_text(), tok.eos_text(), tools);
  if (!rendered.is_ok()) return fail(o.model + ": chat template: " + rendered.status().message());
  std::fwrite(rendered->data(), 1, rendered->size(), stdout);
  return 0;
}

int run_tokenize(const TokenizeOptions& o) {
  auto file = gguf::GgufFile::open(o.model);
  if (!file.is_ok()) return fail(file.status().message());
  auto tok = Tokenizer::from_gguf(*file);
  if (!tok.is_ok()) return fail(o.model + ": " + tok.status().message());
  if (!o.chat_file.empty()) return print_chat(*tok, o);
  const std::vector<int32_t> ids = tok->encode(o.text, !o.no_bos, o.special);
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (int32_t id : ids) out.push_back({{"id", id}, {"piece", tok->token_piece(id, true)}});
    // Pieces may be partial UTF-8 (byte tokens): shown as U+FFFD.
    const std::string text = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::printf("%s\n", text.c_str());
    return 0;
  }
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) line += ' ';
    line += std::to_string(ids[i]);
  }
  std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace

CLI::App* add_tokenize_command(CLI::App& app, Runner& run) {
  auto options = std::make_shared<TokenizeOptions>();
  CLI::App* sub = app.add_subcommand("tokenize", "print the token ids of a text, or a chat prompt");
  sub->add_option("-m,--model", options->model, "GGUF model file")->required();
  sub->add_flag("--no-bos", options->no_bos, "do not add BOS/EOS even if the model wants them");
  sub->add_flag("--special", options->special,
                "match control-token text such as <|im_start|> (default: plain text)");
  sub->add_flag("--json", options->json, "print [{\"id\":..,\"piece\":\"..\"}, ...]");
  auto* chat = sub->add_option("--chat", options->chat_file,
                               "render the messages in this JSON file with the chat template");
  auto* text = sub->add_option("text", options->text, "text to tokenize, taken literally");
  text->excludes(chat);
  chat->excludes(text);
  sub->callback([text, chat]() {
    if (text->count() == 0 && chat->count() == 0) {
      throw CLI::RequiredError("TEXT or --chat");
    }
  });
  run = [options]() { return run_tokenize(*options); };
  return sub;
}

}  // namespace kiln::cli
