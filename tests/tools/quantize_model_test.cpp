// quantize_model (the library behind `kiln quantize`): outputs load with
// Model::load and reproduce llama.cpp's golden logits, thread count and dry
// run do not change anything, requantization needs its flag, and every error
// leaves OUT untouched (no partial file, no OUT.tmp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "../model/golden_cases.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "quant/quant.h"
#include "tools/model_quantizer.h"

namespace kiln::tools {
namespace {

namespace fs = std::filesystem;

const std::string kGolden = std::string(KILN_SHARED_DIR) + "/golden/random-llama/";
const std::string kF32 = kGolden + "random-llama-F32.gguf";

class QuantizeModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ =
        (fs::temp_directory_path() / ("kiln_quantize_test_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::string path(const std::string& name) { return dir_ + "/" + name; }
  static inline std::string dir_;
};

QuantizeOptions options(const std::string& in, const std::string& out, FileType ftype,
                        bool pure = true) {
  QuantizeOptions o;
  o.input = in;
  o.output = out;
  o.ftype = ftype;
  o.pure = pure;
  o.n_threads = 2;
  return o;
}

std::vector<uint8_t> read_file(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void expect_same_tensors(const std::string& got_path, const std::string& want_path) {
  auto got = gguf::GgufFile::open(got_path);
  auto want = gguf::GgufFile::open(want_path);
  ASSERT_TRUE(got.is_ok() && want.is_ok());
  ASSERT_EQ(got->tensors().size(), want->tensors().size());
  for (const auto& w : want->tensors()) {
    const gguf::TensorInfo* g = got->find_tensor(w.name);
    ASSERT_NE(g, nullptr) << w.name;
    EXPECT_EQ(g->type, w.type) << w.name;
    const auto a = got->tensor_data(*g);
    const auto b = want->tensor_data(w);
    EXPECT_TRUE(a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin())) << w.name;
  }
}

// Golden Q4_K / Q8_0 (llama-quantize --pure): same bytes, and the model
// reproduces llama.cpp's f32ref logits within the README's tolerance.
TEST_F(QuantizeModel, PureOutputsLoadAndMatchGoldenLogits) {
  for (const auto& [type, ftype] :
       {std::pair{"Q4_K", FileType::kQ4_K_M}, std::pair{"Q8_0", FileType::kQ8_0}}) {
    SCOPED_TRACE(type);
    const std::string out = path(std::string("pure-") + type + ".gguf");
    auto report = quantize_model(options(kF32, out, ftype));
    ASSERT_TRUE(report.is_ok()) << report.status().message();
    expect_same_tensors(out, kGolden + "random-llama-" + type + ".gguf");
    const auto& c =
        test::golden_case("random-llama/random-llama-" + std::string(type) + "/r1_once/f32ref");
    auto model = Model::load(out, test::golden_options(c));
    ASSERT_TRUE(model.is_ok()) << model.status().message();
    const auto got = test::teacher_forced_logits(**model, c.prompt_ids, c.greedy_ids);
    const auto want = test::read_step_logits(c);
    ASSERT_EQ(got.size(), want.size());
    float max_diff = 0;
    for (size_t i = 0; i < got.size(); ++i)
      max_diff = std::max(max_diff, std::abs(got[i] - want[i]));
    EXPECT_LE(max_diff, test::golden_tolerance(c));
  }
}

TEST_F(QuantizeModel, ThreadCountAndDryRunChangeNothing) {
  QuantizeOptions o = options(kF32, path("t1.gguf"), FileType::kQ3_K_M);
  o.n_threads = 1;
  auto one = quantize_model(o);
  ASSERT_TRUE(one.is_ok()) << one.status().message();
  o.output = path("t3.gguf");
  o.n_threads = 3;
  ASSERT_TRUE(quantize_model(o).is_ok());
  EXPECT_EQ(read_file(path("t1.gguf")), read_file(path("t3.gguf")));
  o.output = path("dry.gguf");
  o.dry_run = true;
  auto dry = quantize_model(o);
  ASSERT_TRUE(dry.is_ok());
  EXPECT_FALSE(fs::exists(path("dry.gguf")));
  EXPECT_EQ(dry->bytes_out, one->bytes_out);
  ASSERT_EQ(dry->tensors.size(), one->tensors.size());
  EXPECT_EQ(one->file_bytes_out, fs::file_size(path("t1.gguf")));
}

// Already-quantized input: the same type is copied; another type needs
// allow_requantize, and is then quantize(dequantize(x)).
TEST_F(QuantizeModel, RequantizeNeedsTheFlag) {
  const std::string q8 = kGolden + "random-llama-Q8_0.gguf";
  ASSERT_TRUE(quantize_model(options(q8, path("copy.gguf"), FileType::kQ8_0)).is_ok());
  expect_same_tensors(path("copy.gguf"), q8);
  const std::string out = path("requant.gguf");
  auto refused = quantize_model(options(q8, out, FileType::kQ4_0));
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("--allow-requantize"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
  QuantizeOptions o = options(q8, out, FileType::kQ4_0);
  o.allow_requantize = true;
  ASSERT_TRUE(quantize_model(o).is_ok());
  auto in = gguf::GgufFile::open(q8);
  auto got = gguf::GgufFile::open(out);
  ASSERT_TRUE(in.is_ok() && got.is_ok());
  const gguf::TensorInfo* t = in->find_tensor("blk.1.ffn_down.weight");
  const gguf::TensorInfo* g = got->find_tensor("blk.1.ffn_down.weight");
  ASSERT_TRUE(t != nullptr && g != nullptr);
  ASSERT_EQ(g->type, GgmlType::Q4_0);
  const int64_t n = t->ne[0];
  std::vector<float> row(static_cast<size_t>(n));
  std::vector<uint8_t> want(quant::row_bytes(GgmlType::Q4_0, n));
  const auto src = in->tensor_data(*t);
  const auto dst = got->tensor_data(*g);
  for (int64_t r = 0; r < t->ne[1]; ++r) {
    quant::dequantize_row(GgmlType::Q8_0, src.data() + r * quant::row_bytes(GgmlType::Q8_0, n),
                          row.data(), n);
    quant::quantize_row(GgmlType::Q4_0, row.data(), want.data(), n);
    ASSERT_TRUE(std::equal(want.begin(), want.end(), dst.data() + r * want.size())) << r;
  }
}

// make-model.py's smol135m shape (576 wide: K-quants fall back) with 2
// layers: the mixes load, run on both matmul paths, and their logits follow
// the F16 model's (cosine measured 0.99985 Q8_0, 0.9898 Q4_K_M, 0.968 Q4_0,
// 0.965 Q2_K, which falls back to Q4_0 on 576-wide rows).
double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, a2 = 0, b2 = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    a2 += double(a[i]) * a[i];
    b2 += double(b[i]) * b[i];
  }
  return dot / std::sqrt(a2 * b2);
}

TEST_F(QuantizeModel, MixesOfF16ModelLoadAndRun) {
  const std::string f16 = path("smol-f16.gguf");
  const std::string cmd = "python3 " + std::string(KILN_SOURCE_DIR) +
                          "/scripts/make-model.py smol135m --layers 2 --type f16 --out " + f16;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::vector<int32_t> prompt = {1, 450, 4996, 17354, 1701};
  const std::vector<int32_t> forced = {29871, 13};
  auto logits_of = [&](const std::string& p, MatmulMode mode) {
    auto model = Model::load(p, {.n_threads = 2, .matmul = mode});
    EXPECT_TRUE(model.is_ok()) << model.status().message();
    return model.is_ok() ? test::teacher_forced_logits(**model, prompt, forced)
                         : std::vector<float>();
  };
  const auto want = logits_of(f16, MatmulMode::kReference);
  for (const auto& [name, ftype, bound] :
       {std::tuple{"Q8_0", FileType::kQ8_0, 0.999}, std::tuple{"Q4_K_M", FileType::kQ4_K_M, 0.98},
        std::tuple{"Q4_0", FileType::kQ4_0, 0.95}, std::tuple{"Q2_K", FileType::kQ2_K, 0.95}}) {
    SCOPED_TRACE(name);
    const std::string out = path(std::string("smol-") + name + ".gguf");
    auto report = quantize_model(options(f16, out, ftype, /*pure=*/false));
    ASSERT_TRUE(report.is_ok()) << report.status().message();
    for (MatmulMode mode : {MatmulMode::kReference, MatmulMode::kFast}) {
      const auto got = logits_of(out, mode);
      ASSERT_EQ(got.size(), want.size());
      ASSERT_TRUE(std::all_of(got.begin(), got.end(), [](float x) { return std::isfinite(x); }));
      const double c = cosine(got, want);
      std::printf("%s (%s matmul) vs F16 logits: cosine %.6f\n", name,
                  mode == MatmulMode::kReference ? "reference" : "fast", c);
      EXPECT_GT(c, bound);
    }
  }
}

// A 2-D F32 weight holding a NaN: the conversion fails naming the tensor
// and row; an existing OUT keeps its bytes and no OUT.tmp is left.
TEST_F(QuantizeModel, FailedConversionLeavesOutputUntouched) {
  gguf::GgufWriter w;
  w.set_string("general.architecture", "llama");
  std::vector<float> data(64 * 4, 0.5f);
  data[64 * 2 + 7] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<int64_t> ne = {64, 4};
  ASSERT_TRUE(
      w.add_tensor("blk.0.attn_q.weight", GgmlType::F32, ne,
                   std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size() * 4))
          .is_ok());
  const std::string in = path("nan.gguf");
  ASSERT_TRUE(w.write_file(in).is_ok());
  const std::string out = path("nan-out.gguf");
  { std::ofstream(out) << "old"; }
  auto r = quantize_model(options(in, out, FileType::kQ8_0));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("blk.0.attn_q.weight': row 2"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(read_file(out), std::vector<uint8_t>({'o', 'l', 'd'}));
  EXPECT_FALSE(fs::exists(out + ".tmp"));
}

TEST_F(QuantizeModel, InputAndOutputPathErrors) {
  const std::string bad = path("malformed.gguf");
  const char header[] = {'G', 'G', 'U', 'F', 3, 0, 0, 0, 'b', 'a', 'd'};  // cut short
  std::ofstream(bad, std::ios::binary).write(header, sizeof(header));
  struct Case {
    std::string in, out, message;
  };
  const std::vector<Case> cases = {
      {path("missing.gguf"), path("o1.gguf"), "missing.gguf"},
      {bad, path("o2.gguf"), "malformed.gguf"},
      {kF32, path("no/such/dir/o3.gguf"), "does not exist"},
      {kF32, dir_, "is a directory"},
      {kF32, kF32, "is the input file"},
      {kF32, "", "no output path"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in + " -> " + c.out);
    auto r = quantize_model(options(c.in, c.out, FileType::kQ4_0));
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().message();
  }
  EXPECT_FALSE(fs::exists(path("o1.gguf")));
  EXPECT_FALSE(fs::exists(path("o2.gguf")));
}

}  // namespace
}  // namespace kiln::tools
