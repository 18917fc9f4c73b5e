// Test helper for reference_test.py: tokenizes many strings with one loaded
// vocabulary, so the comparison costs one process per model, not per string.
//
//   tokenize_batch MODEL.gguf < requests.jsonl > results.jsonl
//
// The first output line describes the vocabulary:
//   {"model": "gpt2", "pre": "smollm", "n_vocab": N, "bos": id, "eos": id,
//    "add_bos": bool, "add_eos": bool, "add_space_prefix": bool}
// Then, for each input line {"text": "...", "add_bos": bool, "parse_special": bool},
// one line {"ids": [...], "decoded": "..."} where ids = Tokenizer::encode(text,
// add_bos, parse_special) and decoded = Tokenizer::decode(ids) (as a JSON
// string; invalid UTF-8 would be replaced by U+FFFD). Exit status 1 on a load
// error or malformed input line.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tokenize_batch MODEL.gguf < requests.jsonl\n");
    return 2;
  }
  auto file = kiln::gguf::GgufFile::open(argv[1]);
  if (!file.is_ok()) {
    std::fprintf(stderr, "tokenize_batch: %s\n", file.status().message().c_str());
    return 1;
  }
  auto loaded = kiln::Tokenizer::from_gguf(*file);
  if (!loaded.is_ok()) {
    std::fprintf(stderr, "tokenize_batch: %s\n", loaded.status().message().c_str());
    return 1;
  }
  const kiln::Tokenizer& tok = *loaded;
  const nlohmann::json info = {
      {"model", tok.model_name()}, {"pre", tok.pre_name()},
      {"n_vocab", tok.n_vocab()},  {"bos", tok.bos()},
      {"eos", tok.eos()},          {"add_bos", tok.add_bos()},
      {"add_eos", tok.add_eos()},  {"add_space_prefix", tok.add_space_prefix()},
  };
  std::cout << info.dump() << '\n';
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    nlohmann::json request;
    try {
      request = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      std::fprintf(stderr, "tokenize_batch: bad request line: %s\n", e.what());
      return 1;
    }
    const std::string text = request.value("text", std::string());
    const std::vector<int32_t> ids =
        tok.encode(text, request.value("add_bos", false), request.value("parse_special", false));
    const nlohmann::json result = {{"ids", ids}, {"decoded", tok.decode(ids)}};
    std::cout << result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
  return 0;
}
