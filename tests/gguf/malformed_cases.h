// The malformed GGUF corpus: one case per validation rule of
// ../shared/docs/gguf-format.md §9 (and issue 2 item 5). Used by the unit
// tests (each case must fail to parse with `expect` in the message) and by
// gguf_write_corpus (writes them as files for the `kiln inspect` test).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::gguf::testing {

struct MalformedCase {
  std::string name;            // test name and file stem, [A-Za-z0-9_]
  std::vector<uint8_t> bytes;  // the whole file
  std::string expect;          // must appear in the error message
};

const std::vector<MalformedCase>& malformed_cases();

}  // namespace kiln::gguf::testing
