// Dequantization: bit-exact with gguf-py on random blocks and on the golden
// random-llama tensors, the worked examples of quant-formats.md, and the
// quantized random-llama weights close to the unquantized ones.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "ref_data.h"

namespace kiln::quant {
namespace {

using testing::ref_cases;
using testing::ref_path;

// Index of the first element whose bits differ, or -1.
int64_t first_bit_mismatch(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (f32_to_bits(a[i]) != f32_to_bits(b[i])) return static_cast<int64_t>(i);
  }
  return -1;
}

std::vector<float> dequantize(GgmlType type, const std::vector<uint8_t>& bytes, int64_t n) {
  EXPECT_EQ(bytes.size(), row_bytes(type, n));
  std::vector<float> out(n);
  dequantize_row(type, bytes.data(), out.data(), n);
  return out;
}

TEST(Dequantize, RandomBlocksBitExactWithGgufPy) {
  int checked = 0;
  for (const auto& c : ref_cases()) {
    if (c.kind != "dequant") continue;
    SCOPED_TRACE(c.type);
    const GgmlType type = testing::type_from_name(c.type);
    ASSERT_TRUE(can_dequantize(type));
    const auto got = dequantize(type, testing::read_bytes(ref_path(c.stem + ".blocks")), c.n);
    const auto want = testing::read_floats(ref_path(c.stem + ".deq"));
    const int64_t bad = first_bit_mismatch(got, want);
    EXPECT_EQ(bad, -1) << "element " << bad << ": got " << got[bad] << ", gguf-py " << want[bad];
    ++checked;
  }
  EXPECT_EQ(checked, 14);
}

TEST(Dequantize, GoldenTensorsBitExactWithGgufPy) {
  int checked = 0;
  for (const auto& c : ref_cases()) {
    if (c.kind != "golden") continue;
    SCOPED_TRACE(c.stem);
    const GgmlType type = testing::type_from_name(c.type);
    const auto bytes = testing::read_bytes(ref_path(c.stem + ".bytes"));
    const int64_t rows = c.n / c.row;
    ASSERT_EQ(bytes.size(), row_bytes(type, c.row) * rows);
    std::vector<float> got(c.n);
    for (int64_t r = 0; r < rows; ++r) {  // row by row, as the engine reads them
      dequantize_row(type, bytes.data() + r * row_bytes(type, c.row), got.data() + r * c.row,
                     c.row);
    }
    const auto want = testing::read_floats(ref_path(c.stem + ".deq"));
    EXPECT_EQ(first_bit_mismatch(got, want), -1);
    ++checked;
  }
  EXPECT_EQ(checked, 12 * 16);
}

// Relative RMS error of the stored weights against the unquantized ones:
// the expected size of each format's rounding (N(0, 0.02) weights).
double max_relative_rmse(GgmlType type) {
  switch (type) {
    case GgmlType::F16:
      return 1e-3;
    case GgmlType::BF16:
      return 5e-3;
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
    case GgmlType::Q3_K:
      return 0.2;
    case GgmlType::Q2_K:
      return 0.4;
    default:
      return 0.0;
  }
}

TEST(Dequantize, GoldenTensorsCloseToF32Weights) {
  for (const auto& c : ref_cases()) {
    if (c.kind != "golden") continue;
    SCOPED_TRACE(c.stem);
    const GgmlType type = testing::type_from_name(c.type);
    const auto got = dequantize(type, testing::read_bytes(ref_path(c.stem + ".bytes")), c.n);
    const std::string name = c.stem.substr(c.stem.rfind('/') + 1);
    const auto f32 = testing::read_floats(ref_path("golden/F32/" + name + ".f32"));
    ASSERT_EQ(f32.size(), got.size());
    double err2 = 0, ref2 = 0;
    for (size_t i = 0; i < f32.size(); ++i) {
      err2 += (double(got[i]) - f32[i]) * (double(got[i]) - f32[i]);
      ref2 += double(f32[i]) * f32[i];
    }
    const double rel = std::sqrt(err2 / ref2);
    EXPECT_LT(rel, max_relative_rmse(type));
    EXPECT_GT(rel, 0.0);  // quantized data must not be a copy
  }
}

// ---- Worked examples of quant-formats.md §4-§6 (values computed by ggml) ----

template <typename Block>
std::vector<float> deq_block(GgmlType type, const Block& b) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  std::vector<float> out(traits->block_size);
  dequantize_row(type, &b, out.data(), traits->block_size);
  return out;
}

TEST(DequantizeExamples, Q4_0) {
  BlockQ4_0 b{};
  b.d = 0x3800;  // 0.5
  b.qs[0] = 0x1F;
  b.qs[1] = 0x80;
  const auto y = deq_block(GgmlType::Q4_0, b);
  EXPECT_EQ(y[0], 3.5f);
  EXPECT_EQ(y[16], -3.5f);
  EXPECT_EQ(y[1], -4.0f);
  EXPECT_EQ(y[17], 0.0f);
  EXPECT_EQ(y[2], -4.0f);
}

TEST(DequantizeExamples, Q4_1) {
  BlockQ4_1 b{};
  b.d = f32_to_fp16(0.25f);
  b.m = f32_to_fp16(-1.0f);
  b.qs[0] = 0xA3;
  const auto y = deq_block(GgmlType::Q4_1, b);
  EXPECT_EQ(y[0], -0.25f);
  EXPECT_EQ(y[16], 1.5f);
}

TEST(DequantizeExamples, Q5_0) {
  BlockQ5_0 b{};
  b.d = f32_to_fp16(1.0f);
  const uint32_t h = 0x00010021;
  std::memcpy(b.qh, &h, 4);
  b.qs[0] = 0x21;
  const auto y = deq_block(GgmlType::Q5_0, b);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[16], 2.0f);
  EXPECT_EQ(y[5], 0.0f);
  EXPECT_EQ(y[1], -16.0f);
}

TEST(DequantizeExamples, Q5_1) {
  BlockQ5_1 b{};
  b.d = f32_to_fp16(0.5f);
  b.m = f32_to_fp16(2.0f);
  const uint32_t h = 1u << 17;
  std::memcpy(b.qh, &h, 4);
  b.qs[1] = 0xF0;
  const auto y = deq_block(GgmlType::Q5_1, b);
  EXPECT_EQ(y[1], 2.0f);
  EXPECT_EQ(y[17], 17.5f);
}

TEST(DequantizeExamples, Q8_0) {
  BlockQ8_0 b{};
  b.d = f32_to_fp16(0.125f);
  b.qs[0] = -100;
  b.qs[31] = 127;
  const auto y = deq_block(GgmlType::Q8_0, b);
  EXPECT_EQ(y[0], -12.5f);
  EXPECT_EQ(y[31], 15.875f);
}

TEST(DequantizeExamples, Q2_K) {
  BlockQ2_K b{};
  b.d = f32_to_fp16(0.5f);
  b.dmin = f32_to_fp16(0.25f);
  b.scales[0] = 0x21;
  b.scales[2] = 0x13;
  b.qs[0] = 0xE4;
  const auto y = deq_block(GgmlType::Q2_K, b);
  EXPECT_EQ(y[0], -0.5f);
  EXPECT_EQ(y[32], 1.25f);
  EXPECT_EQ(y[64], 0.0f);
  EXPECT_EQ(y[96], 0.0f);
}

TEST(DequantizeExamples, Q3_K) {
  BlockQ3_K b{};
  b.d = f32_to_fp16(1.0f);
  b.scales[0] = 0x21;
  b.scales[8] = 0x02;
  b.qs[0] = 0x0B;
  b.hmask[0] = 0x01;
  const auto y = deq_block(GgmlType::Q3_K, b);
  EXPECT_EQ(y[0], 3.0f);
  EXPECT_EQ(y[32], 64.0f);
  EXPECT_EQ(y[1], -4.0f);
}

BlockQ4_K q4_k_example() {
  BlockQ4_K b{};
  b.d = f32_to_fp16(1.0f);
  b.dmin = f32_to_fp16(0.5f);
  const uint8_t s[12] = {0x0a, 0x45, 0, 0, 0x03, 0x87, 0, 0, 0x21, 0, 0, 0};
  std::memcpy(b.scales, s, 12);
  b.qs[0] = 0x7C;
  return b;
}

TEST(DequantizeExamples, Q4_K) {
  const auto y = deq_block(GgmlType::Q4_K, q4_k_example());
  EXPECT_EQ(y[0], 118.5f);
  EXPECT_EQ(y[32], 31.5f);
  EXPECT_EQ(y[128], -1.0f);
}

TEST(DequantizeExamples, Q5_K) {
  const BlockQ4_K k4 = q4_k_example();
  BlockQ5_K b{};
  b.d = k4.d;
  b.dmin = k4.dmin;
  std::memcpy(b.scales, k4.scales, 12);
  b.qs[0] = 0x7C;
  b.qh[0] = 0x03;
  const auto y = deq_block(GgmlType::Q5_K, b);
  EXPECT_EQ(y[0], 278.5f);
  EXPECT_EQ(y[32], 111.5f);
}

TEST(DequantizeExamples, Q6_K) {
  BlockQ6_K b{};
  b.d = f32_to_fp16(0.5f);
  b.scales[0] = 2;
  b.scales[2] = -1;
  b.scales[4] = 4;
  b.scales[6] = 1;
  b.ql[0] = 0x5A;
  b.ql[32] = 0x03;
  b.qh[0] = 0x09;
  const auto y = deq_block(GgmlType::Q6_K, b);
  EXPECT_EQ(y[0], -6.0f);
  EXPECT_EQ(y[32], -1.5f);
  EXPECT_EQ(y[64], -54.0f);
  EXPECT_EQ(y[96], -16.0f);
}

TEST(DequantizeExamples, IQ4_NL) {
  BlockIQ4_NL b{};
  b.d = f32_to_fp16(0.5f);
  b.qs[0] = 0xF0;
  const auto y = deq_block(GgmlType::IQ4_NL, b);
  EXPECT_EQ(y[0], -63.5f);
  EXPECT_EQ(y[16], 56.5f);
}

TEST(DequantizeExamples, IQ4_XS) {
  BlockIQ4_XS b{};
  b.d = f32_to_fp16(0.25f);
  b.scales_h = 0x0002;
  b.scales_l[0] = 0x51;
  b.qs[0] = 0x8F;
  const auto y = deq_block(GgmlType::IQ4_XS, b);
  EXPECT_EQ(y[0], 28.25f);
  EXPECT_EQ(y[16], 0.25f);
  EXPECT_EQ(y[32], 857.25f);
}

TEST(DequantizeExamples, FloatTypes) {
  const uint16_t h[2] = {0x3C00, 0x0001};  // 1.0, smallest subnormal 2^-24
  float y[2];
  dequantize_row(GgmlType::F16, h, y, 2);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], std::ldexp(1.0f, -24));
  const uint16_t bf[2] = {0x3F80, 0xC040};  // 1.0, -3.0
  dequantize_row(GgmlType::BF16, bf, y, 2);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -3.0f);
}

TEST(QuantTypes, RowBytesAndSupport) {
  EXPECT_EQ(row_bytes(GgmlType::F32, 3), 12u);
  EXPECT_EQ(row_bytes(GgmlType::Q4_0, 64), 36u);
  EXPECT_EQ(row_bytes(GgmlType::Q4_K, 512), 288u);
  EXPECT_EQ(row_bytes(GgmlType::IQ4_XS, 256), 136u);
  for (auto t : {GgmlType::IQ2_XXS, GgmlType::TQ1_0, GgmlType::MXFP4, GgmlType::I32}) {
    EXPECT_FALSE(can_dequantize(t));
  }
  EXPECT_TRUE(can_dequantize(GgmlType::Q3_K));
}

}  // namespace
}  // namespace kiln::quant
