// Reference data for the quant tests, written by gen_quant_refs.py (gguf-py).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ggml_type.h"

namespace kiln::quant::testing {

struct RefCase {
  std::string kind;  // "dequant", "quantize" or "golden"
  std::string type;  // ggml type name as gguf-py spells it, e.g. "Q4_K"
  int64_t n = 0;     // elements
  std::string stem;  // path without extension, relative to the data folder
  int64_t row = 0;   // golden only: elements per row (ne[0])
};

// The data folder; generated on first use when missing. Fails the calling
// test (ADD_FAILURE) and returns an empty list when the script fails.
const std::vector<RefCase>& ref_cases();
std::string ref_path(const std::string& stem_and_ext);

std::vector<uint8_t> read_bytes(const std::string& path);
std::vector<float> read_floats(const std::string& path);

GgmlType type_from_name(const std::string& name);  // "Q4_K" -> GgmlType::Q4_K

}  // namespace kiln::quant::testing
