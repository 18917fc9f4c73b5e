// general.architecture -> loader. The only place that lists the architectures.
#include <array>

#include "model/arch/arch.h"

namespace kiln {
namespace {

constexpr std::array<ArchEntry, 5> kArchs = {{
    {"llama", load_llama},
    {"qwen2", load_qwen2},
    {"qwen3", load_qwen3},
    {"gemma3", load_gemma3},
    {"phi3", load_phi3},
}};

}  // namespace

const ArchEntry* find_arch(std::string_view name) {
  for (const ArchEntry& e : kArchs) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string supported_arch_names() {
  std::string s;
  for (const ArchEntry& e : kArchs) s += (s.empty() ? "" : ", ") + std::string(e.name);
  return s;
}

}  // namespace kiln
