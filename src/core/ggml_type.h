// ggml tensor type ids as stored in GGUF tensor infos, with their block
// geometry (../shared/docs/gguf-format.md §4). Shared by gguf, quant, backends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kiln {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
  Q2_0 = 42,
};

inline constexpr uint32_t kGgmlTypeCount = 43;  // ids >= this are unknown

struct GgmlTypeTraits {
  std::string_view name;  // ggml_type_name, e.g. "q4_K"
  uint32_t block_size;    // elements per block
  uint32_t type_size;     // bytes per block
};

// Traits of a known, non-removed type id; nullopt for removed or unknown ids.
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t id);

// True for ids 4, 5, 31, 32, 33, 36, 37, 38 (removed from ggml).
bool ggml_type_removed(uint32_t id);

// Name of any id for messages: the ggml name, "(removed id N)" or "(unknown id N)".
std::string_view ggml_type_name(uint32_t id);

}  // namespace kiln
