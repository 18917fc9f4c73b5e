// Quantization: bit-exact with gguf-py (simple types).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "quant/quant.h"
#include "ref_data.h"

namespace kiln::quant {
namespace {

using testing::ref_cases;
using testing::ref_path;

TEST(Quantize, SimpleTypesBitExactWithGgufPy) {
  int checked = 0;
  for (const auto& c : ref_cases()) {
    if (c.kind != "quantize") continue;
    SCOPED_TRACE(c.type);
    const GgmlType type = testing::type_from_name(c.type);
    ASSERT_TRUE(can_quantize(type));
    const auto src = testing::read_floats(ref_path(c.stem + ".src"));
    const auto want = testing::read_bytes(ref_path(c.stem + ".q"));
    ASSERT_EQ(static_cast<int64_t>(src.size()), c.n);
    std::vector<uint8_t> got(row_bytes(type, c.n));
    quantize_row(type, src.data(), got.data(), c.n);
    ASSERT_EQ(got.size(), want.size());
    size_t bad = 0;
    while (bad < got.size() && got[bad] == want[bad]) ++bad;
    EXPECT_EQ(bad, got.size()) << "first differing byte " << bad;
    ++checked;
  }
  EXPECT_EQ(checked, 7);
}

// The random-llama variants were made by llama-quantize --pure from
// random-llama-F32 (no imatrix): our reference quantizers must reproduce
// its bytes exactly, K-quants included.
TEST(Quantize, GoldenTensorsBitExactWithLlamaQuantize) {
  int checked = 0;
  for (const auto& c : ref_cases()) {
    if (c.kind != "golden") continue;
    SCOPED_TRACE(c.stem);
    const GgmlType type = testing::type_from_name(c.type);
    ASSERT_TRUE(can_quantize(type));
    const std::string name = c.stem.substr(c.stem.rfind('/') + 1);
    const auto src = testing::read_floats(ref_path("golden/F32/" + name + ".f32"));
    const auto want = testing::read_bytes(ref_path(c.stem + ".bytes"));
    ASSERT_EQ(static_cast<int64_t>(src.size()), c.n);
    const size_t rb = row_bytes(type, c.row);
    std::vector<uint8_t> got(rb * (c.n / c.row));
    for (int64_t r = 0; r < c.n / c.row; ++r) {
      quantize_row(type, src.data() + r * c.row, got.data() + r * rb, c.row);
    }
    ASSERT_EQ(got.size(), want.size());
    size_t bad = 0;
    while (bad < got.size() && got[bad] == want[bad]) ++bad;
    EXPECT_EQ(bad, got.size())
        << "first differing byte " << bad << " (block "
        << bad / (rb / (c.row / ggml_type_traits(static_cast<uint32_t>(type))->block_size)) << ")";
    ++checked;
  }
  EXPECT_EQ(checked, 12 * 16);
}

// Relative RMS round-trip error bound on Gaussian rows (theory: a uniform
// quantizer of step s has RMS error s/sqrt(12); the bounds leave ~25% margin
// over the errors ggml's quantizers reach on such data).
double round_trip_bound(GgmlType type) {
  switch (type) {
    case GgmlType::F16:
      return 4e-4;
    case GgmlType::BF16:
      return 3e-3;
    case GgmlType::Q8_0:
      return 0.01;
    case GgmlType::Q6_K:
      return 0.025;
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q5_K:
      return 0.05;
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q4_K:
      return 0.11;
    case GgmlType::IQ4_NL:
    case GgmlType::IQ4_XS:
      return 0.1;
    case GgmlType::Q3_K:
      return 0.2;
    case GgmlType::Q2_K:
      return 0.4;
    default:
      return 0.0;
  }
}

double relative_rmse(const std::vector<float>& a, const std::vector<float>& b) {
  double err2 = 0, ref2 = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    err2 += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    ref2 += double(a[i]) * a[i];
  }
  return std::sqrt(err2 / ref2);
}

TEST(Quantize, RoundTripErrorWithinTypeBound) {
  const int64_t n = 256 * 64;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = 0.02f * normal(rng);
  for (GgmlType type :
       {GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
        GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
        GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS}) {
    SCOPED_TRACE(ggml_type_name(static_cast<uint32_t>(type)));
    ASSERT_TRUE(can_quantize(type));
    std::vector<uint8_t> q(row_bytes(type, n));
    quantize_row(type, x.data(), q.data(), n);
    std::vector<float> y(n);
    dequantize_row(type, q.data(), y.data(), n);
    const double rel = relative_rmse(x, y);
    EXPECT_LT(rel, round_trip_bound(type));
    EXPECT_GT(rel, 0.0);
  }
}

// Zero rows, constant rows and single spikes stay finite and exact where the
// format can represent them.
TEST(Quantize, DegenerateRows) {
  const int64_t n = 256;
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                        GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
                        GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS}) {
    SCOPED_TRACE(ggml_type_name(static_cast<uint32_t>(type)));
    std::vector<uint8_t> q(row_bytes(type, n));
    std::vector<float> y(n);
    std::vector<float> zero(n, 0.0f);
    quantize_row(type, zero.data(), q.data(), n);
    dequantize_row(type, q.data(), y.data(), n);
    for (float v : y) ASSERT_EQ(v, 0.0f);
    std::vector<float> spike(n, 0.0f);
    spike[37] = -3.0f;
    quantize_row(type, spike.data(), q.data(), n);
    dequantize_row(type, q.data(), y.data(), n);
    EXPECT_NEAR(y[37], -3.0f, 0.02f);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(std::isfinite(y[i]));
      if (i != 37) {
        ASSERT_NEAR(y[i], 0.0f, 0.2f) << i;
      }
    }
  }
}

// IQ4_NL's non-uniform levels fit Gaussian data better than Q4_0's uniform ones.
TEST(Quantize, IQ4BeatsQ4_0OnGaussianData) {
  const int64_t n = 256 * 32;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = normal(rng);
  auto err = [&](GgmlType type) {
    std::vector<uint8_t> q(row_bytes(type, n));
    std::vector<float> y(n);
    quantize_row(type, x.data(), q.data(), n);
    dequantize_row(type, q.data(), y.data(), n);
    return relative_rmse(x, y);
  };
  EXPECT_LT(err(GgmlType::IQ4_NL), err(GgmlType::Q4_0));
  EXPECT_LT(err(GgmlType::IQ4_XS), err(GgmlType::Q4_0));
}

}  // namespace
}  // namespace kiln::quant
