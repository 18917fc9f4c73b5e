// Tokenizers of real GGUF files:
// - stories260K (../shared/golden): prompt ids and the raw bytes of the greedy
//   text, both produced by llama.cpp (golden/README.md), must match exactly;
// - SmolLM2 (BPE) and Gemma 3 (SPM) in models/: round trips and streaming
//   decode (chunks are valid UTF-8 and add up to the whole decode).
// Id-level comparison of the real models with Hugging Face is in
// reference_test.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace kiln {
namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

Tokenizer load(const std::string& path) {
  auto file = gguf::GgufFile::open(path);
  EXPECT_TRUE(file.is_ok()) << file.status().message();
  auto tok = Tokenizer::from_gguf(*file);
  EXPECT_TRUE(tok.is_ok()) << tok.status().message();
  return std::move(tok).value();
}

TEST(Golden, Stories260KPromptIdsAndGreedyText) {
  const std::string dir = std::string(KILN_SHARED_DIR) + "/golden/";
  std::ifstream in(dir + "manifest.json");
  ASSERT_TRUE(in.good());
  const nlohmann::json manifest = nlohmann::json::parse(in);
  std::map<std::string, Tokenizer> tokenizers;
  int checked = 0;
  for (const auto& c : manifest["cases"]) {
    const std::string model_file = dir + c["model_file"].get<std::string>();
    if (!std::filesystem::exists(model_file)) continue;
    auto it = tokenizers.find(model_file);
    if (it == tokenizers.end()) it = tokenizers.emplace(model_file, load(model_file)).first;
    const Tokenizer& tok = it->second;
    const std::string prompt = from_hex(c["prompt_utf8_hex"].get<std::string>());
    const auto expected = c["prompt_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(prompt, true, false), expected) << c["id"];
    // greedy_ids may be stored as a JSON string holding the list.
    nlohmann::json greedy = c["greedy_ids"];
    if (greedy.is_string()) greedy = nlohmann::json::parse(greedy.get<std::string>());
    StreamDecoder raw(tok, /*raw=*/true);
    std::string text;
    for (int32_t id : greedy.get<std::vector<int32_t>>()) text += raw.push(id);
    EXPECT_EQ(text, from_hex(c["greedy_text_utf8_hex"].get<std::string>())) << c["id"];
    ++checked;
  }
  EXPECT_GE(checked, 100);
}

bool valid_utf8(const std::string& s) {
  for (size_t pos = 0; pos < s.size();) {
    const int len = unicode::valid_sequence_len(s, pos);
    if (len <= 0) return false;
    pos += len;
  }
  return true;
}

const char* const kTexts[] = {
    "Hello world",
    " leading and trailing spaces  ",
    "emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD and flags "
    "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",
    "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C",  // 你好，世界
    "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xD8\xA7\xD9\x84\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A\xD8\xA9",
    "int main() {\n\treturn 0;\n}\n",
    "12345 678.9 -42",
    "\xF0\x90\x8D\x88 gothic \xE1\x9A\xA0 runic",
};

void check_round_trip_and_stream(const Tokenizer& tok) {
  for (const char* text : kTexts) {
    const std::vector<int32_t> ids = tok.encode(text, false, false);
    EXPECT_EQ(tok.decode(ids), text);
    StreamDecoder stream(tok);
    std::string joined;
    for (int32_t id : ids) {
      const std::string chunk = stream.push(id);
      EXPECT_TRUE(valid_utf8(chunk)) << text;
      joined += chunk;
    }
    joined += stream.flush();
    // Streaming does not strip the SPM prefix space.
    DetokenizeOptions keep;
    keep.strip_leading_space = false;
    EXPECT_EQ(joined, tok.detokenize(ids, keep)) << text;
  }
}

TEST(RealModel, SmolLM2) {
  const std::string path = std::string(KILN_MODELS_DIR) + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing " << path;
  Tokenizer tok = load(path);
  EXPECT_EQ(tok.model_name(), "gpt2");
  EXPECT_EQ(tok.pre_name(), "smollm");
  EXPECT_FALSE(tok.add_bos());
  EXPECT_FALSE(tok.chat_template().empty());
  const int32_t im_end = tok.find_token("<|im_end|>");
  ASSERT_GE(im_end, 0);
  EXPECT_TRUE(tok.is_eog(im_end));
  EXPECT_TRUE(tok.is_eog(tok.eos()));
  check_round_trip_and_stream(tok);
}

TEST(RealModel, Gemma3) {
  const std::string path = std::string(KILN_MODELS_DIR) + "/gemma-3-270m-q4_k_m.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing " << path;
  Tokenizer tok = load(path);
  EXPECT_EQ(tok.model_name(), "llama");
  EXPECT_TRUE(tok.add_bos());
  EXPECT_FALSE(tok.add_space_prefix());
  EXPECT_EQ(tok.bos_text(), "<bos>");
  const int32_t eot = tok.find_token("<end_of_turn>");
  ASSERT_GE(eot, 0);
  EXPECT_TRUE(tok.is_eog(eot));
  // Control text is plain text unless parse_special.
  EXPECT_EQ(tok.encode("<start_of_turn>", false, true),
            std::vector<int32_t>{tok.find_token("<start_of_turn>")});
  EXPECT_GT(tok.encode("<start_of_turn>", false, false).size(), 1u);
  check_round_trip_and_stream(tok);
}

}  // namespace
}  // namespace kiln
