#include "ref_data.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace kiln::quant::testing {

namespace {
std::string manifest_path() { return std::string(KILN_QUANT_REFS_DIR) + "/manifest.txt"; }

bool generate() {
  const std::string cmd = std::string("python3 ") + KILN_QUANT_REFS_SCRIPT + " " +
                          KILN_QUANT_REFS_DIR + " " + KILN_SHARED_DIR + "/golden";
  return std::system(cmd.c_str()) == 0;
}
}  // namespace

const std::vector<RefCase>& ref_cases() {
  static std::vector<RefCase> cases = [] {
    std::vector<RefCase> out;
    if (!std::filesystem::exists(manifest_path()) && !generate()) {
      ADD_FAILURE() << "gen_quant_refs.py failed (needs python3 with numpy and gguf)";
      return out;
    }
    std::ifstream in(manifest_path());
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      RefCase c;
      ls >> c.kind >> c.type >> c.n >> c.stem >> c.row;
      if (!c.kind.empty()) out.push_back(c);
    }
    return out;
  }();
  return cases;
}

std::string ref_path(const std::string& stem_and_ext) {
  return std::string(KILN_QUANT_REFS_DIR) + "/" + stem_and_ext;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  if (!in.good()) return {};
  std::vector<uint8_t> out(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
  return out;
}

std::vector<float> read_floats(const std::string& path) {
  const auto bytes = read_bytes(path);
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

GgmlType type_from_name(const std::string& name) {
  static const std::map<std::string, GgmlType> kTypes = {
      {"F32", GgmlType::F32},   {"F16", GgmlType::F16},       {"BF16", GgmlType::BF16},
      {"Q4_0", GgmlType::Q4_0}, {"Q4_1", GgmlType::Q4_1},     {"Q5_0", GgmlType::Q5_0},
      {"Q5_1", GgmlType::Q5_1}, {"Q8_0", GgmlType::Q8_0},     {"Q2_K", GgmlType::Q2_K},
      {"Q3_K", GgmlType::Q3_K}, {"Q4_K", GgmlType::Q4_K},     {"Q5_K", GgmlType::Q5_K},
      {"Q6_K", GgmlType::Q6_K}, {"IQ4_NL", GgmlType::IQ4_NL}, {"IQ4_XS", GgmlType::IQ4_XS},
  };
  auto it = kTypes.find(name);
  EXPECT_NE(it, kTypes.end()) << "unknown type " << name;
  return it == kTypes.end() ? GgmlType::F32 : it->second;
}

}  // namespace kiln::quant::testing
