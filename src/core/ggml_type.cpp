#include "core/ggml_type.h"

#include <array>

namespace kiln {

namespace {
constexpr GgmlTypeTraits kRemoved{"", 0, 0};
constexpr std::array<GgmlTypeTraits, kGgmlTypeCount> kTraits = {{
    {"f32", 1, 4},
    {"f16", 1, 2},
    {"q4_0", 32, 18},
    {"q4_1", 32, 20},
    kRemoved,
    kRemoved,
    {"q5_0", 32, 22},
    {"q5_1", 32, 24},
    {"q8_0", 32, 34},
    {"q8_1", 32, 36},
    {"q2_K", 256, 84},
    {"q3_K", 256, 110},
    {"q4_K", 256, 144},
    {"q5_K", 256, 176},
    {"q6_K", 256, 210},
    {"q8_K", 256, 292},
    {"iq2_xxs", 256, 66},
    {"iq2_xs", 256, 74},
    {"iq3_xxs", 256, 98},
    {"iq1_s", 256, 50},
    {"iq4_nl", 32, 18},
    {"iq3_s", 256, 110},
    {"iq2_s", 256, 82},
    {"iq4_xs", 256, 136},
    {"i8", 1, 1},
    {"i16", 1, 2},
    {"i32", 1, 4},
    {"i64", 1, 8},
    {"f64", 1, 8},
    {"iq1_m", 256, 56},
    {"bf16", 1, 2},
    kRemoved,
    kRemoved,
    kRemoved,
    {"tq1_0", 256, 54},
    {"tq2_0", 256, 66},
    kRemoved,
    kRemoved,
    kRemoved,
    {"mxfp4", 32, 17},
    {"nvfp4", 64, 36},
    {"q1_0", 128, 18},
    {"q2_0", 64, 18},
}};
}  // namespace

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t id) {
  if (id >= kGgmlTypeCount || kTraits[id].block_size == 0) return std::nullopt;
  return kTraits[id];
}

bool ggml_type_removed(uint32_t id) { return id < kGgmlTypeCount && kTraits[id].block_size == 0; }

std::string_view ggml_type_name(uint32_t id) {
  if (auto t = ggml_type_traits(id)) return t->name;
  return ggml_type_removed(id) ? "(removed type id)" : "(unknown type id)";
}

}  // namespace kiln
