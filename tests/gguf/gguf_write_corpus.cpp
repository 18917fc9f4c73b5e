// gguf_write_corpus DIR: writes every malformed case as DIR/<name>.gguf and a
// valid sample as DIR/valid_sample.gguf (for the `kiln inspect` CLI test).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "malformed_cases.h"
#include "sample_file.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gguf_write_corpus DIR\n");
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
