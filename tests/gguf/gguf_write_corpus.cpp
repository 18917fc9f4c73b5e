// gguf_write_corpus DIR: writes every malformed case as DIR/<name>.gguf and a
// valid sample as DIR/valid_sample.gguf (for the `kiln inspect` CLI test).
// gguf_write_corpus --seeds DIR: writes the small valid fuzz seeds (fuzz/seeds).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "malformed_cases.h"
#include "sample_file.h"

namespace {

using kiln::GgmlType;
using kiln::gguf::GgufWriter;
using kiln::gguf::testing::pattern_bytes;

int write(const GgufWriter& w, const std::filesystem::path& path) {
  kiln::Status s = w.write_file(path.string());
  if (!s) std::fprintf(stderr, "%s\n", s.message().c_str());
  return s ? 0 : 1;
}

// Small valid files covering the reader's paths: every value type, a vocab-only
// file, a custom alignment with quantized tensors, and a 4-d tensor.
int write_seeds(const std::filesystem::path& dir) {
  int rc = write(kiln::gguf::testing::sample_writer(), dir / "sample.gguf");
  GgufWriter vocab;
  vocab.set_string("general.architecture", "llama");
  vocab.set_string("tokenizer.ggml.model", "gpt2");
  vocab.set_string_array("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "b", "ab"});
  vocab.set_i32_array("tokenizer.ggml.token_type", {3, 3, 1, 1, 1});
  vocab.set_string_array("tokenizer.ggml.merges", {"a b"});
  vocab.set_bool("tokenizer.ggml.add_bos_token", false);
  rc |= write(vocab, dir / "vocab_only.gguf");
  GgufWriter quant;
  quant.set_string("general.architecture", "llama");
  quant.set_alignment(64);
  std::vector<int64_t> q8{32, 2}, q4k{256}, f16{4, 1, 2, 3};
  rc |= quant.add_tensor("q8", GgmlType::Q8_0, q8, pattern_bytes(68, 4)).is_ok() ? 0 : 1;
  rc |= quant.add_tensor("q4k", GgmlType::Q4_K, q4k, pattern_bytes(144, 5)).is_ok() ? 0 : 1;
  rc |= quant.add_tensor("f16", GgmlType::F16, f16, pattern_bytes(48, 6)).is_ok() ? 0 : 1;
  rc |= write(quant, dir / "align64_quant.gguf");
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--seeds") {
    std::filesystem::create_directories(argv[2]);
    return write_seeds(argv[2]);
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: gguf_write_corpus [--seeds] DIR\n");
    return 2;
  }
  std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  for (const auto& c : kiln::gguf::testing::malformed_cases()) {
    std::ofstream out(dir / (c.name + ".gguf"), std::ios::binary);
    out.write(reinterpret_cast<const char*>(c.bytes.data()),
              static_cast<std::streamsize>(c.bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", c.name.c_str());
      return 1;
    }
  }
  kiln::Status s =
      kiln::gguf::testing::sample_writer().write_file((dir / "valid_sample.gguf").string());
  if (!s) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  return 0;
}
