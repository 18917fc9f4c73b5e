// Load-time validation: a file with a missing tensor, a wrong shape, a bad or
// missing hyperparameter or an unsupported architecture gives an error that
// names it. The files are the llama model of make_arch_models.py rewritten
// with one defect by GgufWriter.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "gguf/writer.h"
#include "golden_cases.h"
#include "model/model.h"

namespace kiln::test {
namespace {

struct Defect {
  std::string name;
  std::function<void(gguf::GgufWriter&)> edit_kv;  // after copying the metadata
  std::string drop_tensor;                         // left out
  std::string reshape_tensor;                      // replaced by F32 zeros [ne0, ne1 / 2]
  std::string want;                                // substring of the error
};

Status write_with_defect(const std::string& src, const std::string& dst, const Defect& d) {
  KILN_ASSIGN_OR_RETURN(gguf::GgufFile in, gguf::GgufFile::open(src));
  gguf::GgufWriter w;
  for (const gguf::KeyValue& kv : in.metadata()) w.set(kv.key, kv.value);
  if (d.edit_kv) d.edit_kv(w);
  std::vector<std::vector<uint8_t>> zeros;
  for (const gguf::TensorInfo& t : in.tensors()) {
    if (t.name == d.drop_tensor) continue;
    std::span<const int64_t> ne(t.ne.data(), static_cast<size_t>(t.n_dims));
    if (t.name == d.reshape_tensor) {
      const std::vector<int64_t> half{t.ne[0], t.ne[1] / 2};
      zeros.emplace_back(static_cast<size_t>(half[0] * half[1] * 4), 0);
      KILN_TRY(w.add_tensor(t.name, GgmlType::F32, half, zeros.back()));
      continue;
    }
    KILN_TRY(w.add_tensor_view(t.name, t.type, ne, in.tensor_data(t)));
  }
  return w.write_file(dst);
}

class LoadErrors : public ::testing::TestWithParam<Defect> {};

TEST_P(LoadErrors, NamesTheProblem) {
  const std::string dir = arch_models_dir();
  if (dir.empty()) GTEST_SKIP() << "make_arch_models.py failed";
  const Defect& d = GetParam();
  const std::string path = dir + "/defect_" + d.name + ".gguf";
  const Status written = write_with_defect(dir + "/llama.gguf", path, d);
  ASSERT_TRUE(written.is_ok()) << written.message();
  auto m = Model::load(path);
  ASSERT_FALSE(m.is_ok()) << d.name;
  const std::string& msg = m.status().message();
  EXPECT_NE(msg.find(d.want), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << "error should name the file: " << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Llama, LoadErrors,
    ::testing::Values(
        Defect{.name = "missing_tensor",
               .drop_tensor = "blk.1.ffn_down.weight",
               .want = "tensor 'blk.1.ffn_down.weight' is missing"},
        Defect{.name = "missing_norm",
               .drop_tensor = "output_norm.weight",
               .want = "tensor 'output_norm.weight' is missing"},
        Defect{.name = "wrong_shape",
               .reshape_tensor = "blk.0.attn_k.weight",
               .want = "tensor 'blk.0.attn_k.weight' has shape [64, 16], expected [64, 32]"},
        Defect{
            .name = "bad_head_count_kv",
            .edit_kv = [](gguf::GgufWriter& w) { w.set_u32("llama.attention.head_count_kv", 3); },
            .want = "not a multiple of head_count_kv 3"},
        Defect{.name = "missing_embedding_length",
               .edit_kv = [](gguf::GgufWriter& w) { w.remove("llama.embedding_length"); },
               .want = "key 'llama.embedding_length' is missing"},
        Defect{.name = "wrong_key_type",
               .edit_kv = [](gguf::GgufWriter& w) { w.set_i32("llama.block_count", 2); },
               .want = "llama.block_count"},
        Defect{.name = "zero_layers",
               .edit_kv = [](gguf::GgufWriter& w) { w.set_u32("llama.block_count", 0); },
               .want = "llama.block_count = 0 is out of range"},
        Defect{.name = "bad_eps",
               .edit_kv =
                   [](gguf::GgufWriter& w) {
                     w.set_f32("llama.attention.layer_norm_rms_epsilon", -1.0f);
                   },
               .want = "layer_norm_rms_epsilon"},
        Defect{.name = "odd_rope_dims",
               .edit_kv = [](gguf::GgufWriter& w) { w.set_u32("llama.rope.dimension_count", 15); },
               .want = "rope.dimension_count = 15"},
        Defect{
            .name = "yarn",
            .edit_kv = [](gguf::GgufWriter& w) { w.set_string("llama.rope.scaling.type", "yarn"); },
            .want = "'yarn' is not supported"},
        Defect{.name = "moe",
               .edit_kv = [](gguf::GgufWriter& w) { w.set_u32("llama.expert_count", 8); },
               .want = "mixture-of-experts"},
        Defect{.name = "unknown_arch",
               .edit_kv =
                   [](gguf::GgufWriter& w) {
                     w.set_string("general.architecture", "mamba");
                     w.set_u32("mamba.context_length", 64);
                     w.set_u32("mamba.embedding_length", 64);
                     w.set_u32("mamba.block_count", 2);
                     w.set_u32("mamba.feed_forward_length", 96);
                     w.set_u32("mamba.attention.head_count", 4);
                     w.set_f32("mamba.attention.layer_norm_rms_epsilon", 1e-5f);
                   },
               .want = "architecture 'mamba' is not supported"}),
    [](const auto& info) { return info.param.name; });

TEST(LoadErrorsMisc, MissingFileAndBadOptions) {
  auto m = Model::load("/nonexistent/model.gguf");
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("/nonexistent/model.gguf"), std::string::npos);
  const std::string dir = arch_models_dir();
  if (dir.empty()) GTEST_SKIP();
  auto bad_threads = Model::load(dir + "/llama.gguf", {.n_threads = 0});
  ASSERT_FALSE(bad_threads.is_ok());
  EXPECT_NE(bad_threads.status().message().find("n_threads"), std::string::npos);
  auto bad_kv = Model::load(dir + "/llama.gguf", {.kv_type = GgmlType::Q4_0});
  ASSERT_FALSE(bad_kv.is_ok());
  auto ok = Model::load(dir + "/llama.gguf");
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  EXPECT_FALSE((*ok)->make_kv_cache(0, 16).is_ok());
}

}  // namespace
}  // namespace kiln::test
