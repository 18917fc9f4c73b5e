// Conformance with llama.cpp's tokenizer test vectors: for each vocabulary in
// ../shared/vocab with a .gguf and .inp/.out files, every case must give
// exactly the ids the Hugging Face reference produced (no BOS, special text
// not parsed), and decode(encode(s)) must give back s.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace kiln {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// .inp: each case followed by "\n__ggml_vocab_test__\n".
std::vector<std::string> read_inputs(const std::string& path) {
  const std::string all = read_file(path);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  size_t pos = 0;
  while (true) {
    const size_t next = all.find(sep, pos);
    if (next == std::string::npos) break;
    cases.push_back(all.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return cases;
}

// .out: one line per case, ids each preceded by a space.
std::vector<std::vector<int32_t>> read_outputs(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::vector<int32_t>> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<int32_t> ids;
    int32_t id = 0;
    while (ls >> id) ids.push_back(id);
    out.push_back(std::move(ids));
  }
  return out;
}

void check_vocab(const std::string& name) {
  const std::string base = std::string(KILN_SHARED_DIR) + "/vocab/ggml-vocab-" + name + ".gguf";
  auto file = gguf::GgufFile::open(base);
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  auto tok = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tok.is_ok()) << tok.status().message();
  const auto inputs = read_inputs(base + ".inp");
  const auto outputs = read_outputs(base + ".out");
  ASSERT_EQ(inputs.size(), outputs.size()) << name;
  ASSERT_GT(inputs.size(), 30u);
  int passed = 0, round_trips = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int32_t> ids = tok->encode(inputs[i], false, false);
    if (ids == outputs[i]) {
      ++passed;
    } else {
      ADD_FAILURE() << name << " case " << i << " '" << inputs[i] << "': got "
                    << testing::PrintToString(ids) << ", expected "
                    << testing::PrintToString(outputs[i]);
    }
    const std::string back = tok->decode(ids);
    if (back == inputs[i]) {
      ++round_trips;
    } else {
      ADD_FAILURE() << name << " case " << i << " does not round-trip: '" << inputs[i] << "' -> '"
                    << back << "'";
    }
  }
  std::printf("%s: %d/%zu cases exact, %d round-trip\n", name.c_str(), passed, inputs.size(),
              round_trips);
}

#define KILN_VOCAB_TEST(test_name, vocab) \
  TEST(VocabConformance, test_name) { check_vocab(vocab); }

KILN_VOCAB_TEST(llama_spm, "llama-spm")
KILN_VOCAB_TEST(phi_3, "phi-3")
KILN_VOCAB_TEST(gpt_2, "gpt-2")
KILN_VOCAB_TEST(mpt, "mpt")
KILN_VOCAB_TEST(starcoder, "starcoder")
KILN_VOCAB_TEST(refact, "refact")
KILN_VOCAB_TEST(falcon, "falcon")
KILN_VOCAB_TEST(deepseek_llm, "deepseek-llm")
KILN_VOCAB_TEST(deepseek_coder, "deepseek-coder")

}  // namespace
}  // namespace kiln
