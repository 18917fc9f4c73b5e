// Real files: every .gguf in ../shared/vocab, ../shared/golden (recursively)
// and models/ parses. Golden models are checked against
// ../shared/golden/manifest.json (size, version, alignment, every tensor's
// name/type/shape, type counts, scalar metadata); the two real models against
// their published architectures (SmolLM2-135M, Gemma 3 270M model cards).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "gguf/gguf.h"

namespace kiln::gguf {
namespace {

namespace fs = std::filesystem;
const std::string kShared = KILN_SHARED_DIR;
const std::string kModels = KILN_MODELS_DIR;

std::vector<std::string> gguf_files(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".gguf") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

TEST(GgufValid, EverySharedFileParses) {
  auto vocab = gguf_files(kShared + "/vocab");
  auto golden = gguf_files(kShared + "/golden");
  EXPECT_GE(vocab.size(), 12u);
  EXPECT_GE(golden.size(), 16u);
  for (const auto* list : {&vocab, &golden}) {
    for (const auto& path : *list) {
      auto file = GgufFile::open(path);
      ASSERT_TRUE(file.is_ok()) << file.status().message();
      EXPECT_TRUE(file->get_string("general.architecture").is_ok()) << path;
      for (const auto& t : file->tensors()) {
        EXPECT_EQ(file->tensor_data(t).size(), t.n_bytes) << path << " " << t.name;
      }
    }
  }
}

// Vocab files: tokenizer arrays of equal length, no tensors.
TEST(GgufValid, VocabFilesHaveConsistentTokenizerArrays) {
  for (const auto& path : gguf_files(kShared + "/vocab")) {
    auto file = GgufFile::open(path);
    ASSERT_TRUE(file.is_ok()) << file.status().message();
    auto tokens = file->get_string_array("tokenizer.ggml.tokens");
    ASSERT_TRUE(tokens.is_ok()) << path << ": " << tokens.status().message();
    EXPECT_GT(tokens->size(), 1000u) << path;
    if (file->has("tokenizer.ggml.token_type")) {
      EXPECT_EQ(file->get_i32_array("tokenizer.ggml.token_type")->size(), tokens->size()) << path;
    }
    if (file->has("tokenizer.ggml.scores")) {
      EXPECT_EQ(file->get_f32_array("tokenizer.ggml.scores")->size(), tokens->size()) << path;
    }
    EXPECT_TRUE(file->tensors().empty()) << path;
  }
}

void check_metadata(const GgufFile& file, const std::string& key, const nlohmann::json& want) {
  const Value* v = file.find(key);
  ASSERT_NE(v, nullptr) << key;
  if (want.is_string()) {
    std::string s = want.get<std::string>();
    if (s.rfind("<array of ", 0) == 0) {
      size_t n = std::stoul(s.substr(10));
      ASSERT_TRUE(std::holds_alternative<ArrayValue>(v->v)) << key;
      EXPECT_EQ(std::get<ArrayValue>(v->v).items.size(), n) << key;
    } else {
      EXPECT_EQ(file.get_string(key).value(), s) << key;
    }
  } else if (want.is_number_float()) {
    EXPECT_FLOAT_EQ(file.get_f32(key).value(), want.get<float>()) << key;
  } else if (want.is_number_integer()) {
    EXPECT_EQ(file.get_u32(key).value(), want.get<uint32_t>()) << key;
  } else if (want.is_boolean()) {
    EXPECT_EQ(file.get_bool(key).value(), want.get<bool>()) << key;
  }
}

TEST(GgufValid, GoldenModelsMatchTheManifest) {
  std::ifstream in(kShared + "/golden/manifest.json");
  ASSERT_TRUE(in);
  nlohmann::json manifest = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& [name, m] : manifest["models"].items()) {
    std::string path = kShared + "/golden/" + m["file"].get<std::string>();
    if (!fs::exists(path)) continue;
    SCOPED_TRACE(name);
    auto file = GgufFile::open(path);
    ASSERT_TRUE(file.is_ok()) << file.status().message();
    EXPECT_EQ(file->file_size(), m["size_bytes"].get<uint64_t>());
    EXPECT_EQ(file->version(), m["gguf_version"].get<uint32_t>());
    EXPECT_EQ(file->alignment(), m["alignment"].get<uint32_t>());
    for (const auto& [key, want] : m["metadata"].items()) check_metadata(*file, key, want);
    const auto& tensors = m["tensors"];
    ASSERT_EQ(file->tensors().size(), tensors.size());
    std::map<std::string, size_t> counts;
    for (const auto& t : tensors) {
      const TensorInfo* info = file->find_tensor(t["name"].get<std::string>());
      ASSERT_NE(info, nullptr) << t["name"];
      std::string type = upper(ggml_type_name(static_cast<uint32_t>(info->type)));
      EXPECT_EQ(type, upper(t["type"].get<std::string>())) << info->name;
      auto ne = t["ne"].get<std::vector<int64_t>>();
      for (int d = 0; d < kMaxDims; ++d) {
        EXPECT_EQ(info->ne[d], d < static_cast<int>(ne.size()) ? ne[d] : 1) << info->name;
      }
      counts[type]++;
    }
    for (const auto& [type, n] : m["tensor_type_counts"].items()) {
      EXPECT_EQ(counts[upper(type)], n.get<size_t>()) << type;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 16);
}

// Spot checks from ../shared/golden/README.md's tables, independent of the manifest.
TEST(GgufValid, GoldenReadmeSpotChecks) {
  auto q4 = GgufFile::open(kShared + "/golden/stories260K/stories260K-Q4_0.gguf");
  ASSERT_TRUE(q4.is_ok()) << q4.status().message();
  std::map<GgmlType, int> counts;
  for (const auto& t : q4->tensors()) counts[t.type]++;
  EXPECT_EQ(counts[GgmlType::Q8_0], 1);
  EXPECT_EQ(counts[GgmlType::F32], 11);
  EXPECT_EQ(counts[GgmlType::Q4_0], 31);
  EXPECT_EQ(counts[GgmlType::F16], 5);
  EXPECT_EQ(q4->find_tensor("output.weight")->type, GgmlType::Q8_0);
  EXPECT_EQ(q4->find_tensor("blk.4.ffn_down.weight")->ne, (std::array<int64_t, 4>{172, 64, 1, 1}));
  EXPECT_EQ(q4->get_u32("general.file_type").value(), 2u);
  EXPECT_EQ(q4->get_u32("llama.block_count").value(), 5u);

  auto q6 = GgufFile::open(kShared + "/golden/random-llama/random-llama-Q6_K.gguf");
  ASSERT_TRUE(q6.is_ok()) << q6.status().message();
  EXPECT_EQ(q6->tensors().size(), 21u);
  EXPECT_EQ(q6->get_u32("general.file_type").value(), 18u);
  EXPECT_EQ(q6->find_tensor("blk.1.attn_k.weight")->ne, (std::array<int64_t, 4>{256, 128, 1, 1}));
  EXPECT_EQ(q6->find_tensor("blk.1.attn_k.weight")->type, GgmlType::Q6_K);
  // Q6_K: 256 elements per 210-byte block.
  EXPECT_EQ(q6->find_tensor("token_embd.weight")->n_bytes, 256u * 512 / 256 * 210);

  // F32 file: the output norm weights are finite floats.
  auto f32 = GgufFile::open(kShared + "/golden/stories260K/stories260K-f32.gguf");
  ASSERT_TRUE(f32.is_ok());
  auto norm = f32->tensor_data(*f32->find_tensor("output_norm.weight"));
  ASSERT_EQ(norm.size(), 64u * 4);
  for (size_t i = 0; i < 64; ++i) {
    float x;
    std::memcpy(&x, norm.data() + 4 * i, 4);
    EXPECT_TRUE(std::isfinite(x));
  }
}

// SmolLM2-135M (HF config): 30 layers, hidden 576, 9 heads / 3 KV heads,
// vocab 49152, tied embeddings -> 30 * 9 + 2 tensors.
TEST(GgufValid, SmolLM2Model) {
  std::string path = kModels + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(path)) GTEST_SKIP() << "run scripts/fetch-models.sh";
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  EXPECT_EQ(file->get_string("general.architecture").value(), "llama");
  EXPECT_EQ(file->get_u32("llama.block_count").value(), 30u);
  EXPECT_EQ(file->get_u32("llama.embedding_length").value(), 576u);
  EXPECT_EQ(file->get_u32("llama.attention.head_count").value(), 9u);
  EXPECT_EQ(file->get_u32("llama.attention.head_count_kv").value(), 3u);
  EXPECT_EQ(file->get_string_array("tokenizer.ggml.tokens")->size(), 49152u);
  EXPECT_EQ(file->tensors().size(), 30u * 9 + 2);
  EXPECT_EQ(file->find_tensor("token_embd.weight")->ne, (std::array<int64_t, 4>{576, 49152, 1, 1}));
  EXPECT_EQ(file->find_tensor("blk.0.attn_k.weight")->ne, (std::array<int64_t, 4>{576, 192, 1, 1}));
}

// Gemma 3 270M (HF config): 18 layers, hidden 640, vocab 262144, 13 tensors a
// layer (q/k norms and post-attention/post-FFN norms) + token_embd + output_norm.
TEST(GgufValid, Gemma3Model) {
  std::string path = kModels + "/gemma-3-270m-q4_k_m.gguf";
  if (!fs::exists(path)) GTEST_SKIP() << "run scripts/fetch-models.sh";
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  EXPECT_EQ(file->get_string("general.architecture").value(), "gemma3");
  EXPECT_EQ(file->get_u32("gemma3.block_count").value(), 18u);
  EXPECT_EQ(file->get_u32("gemma3.embedding_length").value(), 640u);
  EXPECT_EQ(file->get_string_array("tokenizer.ggml.tokens")->size(), 262144u);
  EXPECT_EQ(file->tensors().size(), 18u * 13 + 2);
  EXPECT_EQ(file->find_tensor("token_embd.weight")->ne,
            (std::array<int64_t, 4>{640, 262144, 1, 1}));
}

}  // namespace
}  // namespace kiln::gguf
