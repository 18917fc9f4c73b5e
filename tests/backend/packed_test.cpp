// Packed matmul (backend/cpu/packed.h): every packed type against the scalar
// matmul path on odd shapes and token counts, activation conversion against
// matmul_act.cpp bit for bit, and independence from thread count and batching.
#include "backend/cpu/packed.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "backend/cpu/matmul.h"
#include "backend/cpu/matmul_kernels.h"
#include "backend/cpu/packed_kernels.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "test_data.h"

namespace kiln::cpu {
namespace {

using test::make_problem;
using test::name;
using test::Problem;

bool is_k(GgmlType t) { return t == GgmlType::Q4_K || t == GgmlType::Q5_K || t == GgmlType::Q6_K; }

const GgmlType kPackedTypes[] = {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4_1,
                                 GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::F16};

std::vector<float> run_packed(const Problem& p, int threads) {
  ThreadPool pool(threads);
  auto pm = PackedMatrix::pack(p.type, p.w.data(), p.rows, p.cols, pool);
  EXPECT_TRUE(pm != nullptr);
  std::vector<float> y(p.n_tokens * p.rows, std::nanf(""));
  if (pm) matmul_packed(*pm, p.x.data(), p.n_tokens, y.data(), pool);
  return y;
}

std::vector<float> run_scalar(const Problem& p) {
  ThreadPool pool(1);
  std::vector<float> y(p.n_tokens * p.rows, std::nanf(""));
  matmul_isa(CpuIsa::kScalar, p.type, p.w.data(), p.rows, p.cols, p.x.data(), p.n_tokens, y.data(),
             pool);
  return y;
}

double rms(const std::vector<float>& v) {
  double s = 0;
  for (float f : v) s += double(f) * f;
  return std::sqrt(s / v.size());
}

class Packed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_isa_supported(CpuIsa::kAvx512)) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  }
};

TEST_F(Packed, SupportedTypes) {
  for (GgmlType t : kPackedTypes) EXPECT_TRUE(PackedMatrix::supported(t, 512)) << name(t);
  EXPECT_FALSE(PackedMatrix::supported(GgmlType::Q4_K, 576));  // not a multiple of 256
  EXPECT_FALSE(PackedMatrix::supported(GgmlType::Q2_K, 512));
  EXPECT_FALSE(PackedMatrix::supported(GgmlType::F32, 512));
}

// Same integer sums as the scalar kernel; K-quants use its float expression too.
TEST_F(Packed, MatchesScalarPathOnOddShapes) {
  struct Shape {
    int64_t rows, cols, tokens;
  };
  for (GgmlType type : kPackedTypes) {
    for (Shape s : {Shape{37, 512, 1}, Shape{16, 256, 13}, Shape{70, 768, 5}, Shape{3, 256, 9},
                    Shape{129, 512, 17}}) {
      SCOPED_TRACE(name(type) + " " + std::to_string(s.rows) + "x" + std::to_string(s.cols) + " t" +
                   std::to_string(s.tokens));
      const Problem p = make_problem(type, s.rows, s.cols, s.tokens, 7);
      const auto want = run_scalar(p);
      const auto got = run_packed(p, 2);
      const double scale = rms(want);
      for (size_t i = 0; i < got.size(); ++i) {
        if (is_k(type)) {
          ASSERT_EQ(quant::f32_to_bits(got[i]), quant::f32_to_bits(want[i])) << i;
        } else {
          ASSERT_NEAR(got[i], want[i], 1e-5 * scale) << i;
        }
      }
    }
  }
}

TEST_F(Packed, LegacyRowLengthsNotMultipleOf256) {
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4_1,
                        GgmlType::Q5_1, GgmlType::F16, GgmlType::BF16}) {
    SCOPED_TRACE(name(type));
    const Problem p = make_problem(type, 40, 576, 10, 3);
    const auto want = run_scalar(p);
    const auto got = run_packed(p, 1);
    const double scale = rms(want);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5 * scale) << i;
  }
}

TEST_F(Packed, IndependentOfThreadsAndBatching) {
  for (GgmlType type : kPackedTypes) {
    SCOPED_TRACE(name(type));
    const Problem p = make_problem(type, 150, 512, 11, 5);
    const auto one = run_packed(p, 1);
    for (int threads : {2, 3}) {
      const auto many = run_packed(p, threads);
      ASSERT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)), 0) << threads;
    }
    for (int64_t t = 0; t < p.n_tokens; ++t) {
      Problem single = p;
      single.n_tokens = 1;
      single.x.assign(p.x.begin() + t * p.cols, p.x.begin() + (t + 1) * p.cols);
      const auto y = run_packed(single, 2);
      ASSERT_EQ(std::memcmp(y.data(), one.data() + t * p.rows, p.rows * sizeof(float)), 0) << t;
    }
  }
}

// Several matrices on one conversion of X give the same bits as one at a time.
TEST_F(Packed, MultiMatchesSingleCalls) {
  const std::vector<std::vector<GgmlType>> groups = {
      {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q5_0},
      {GgmlType::Q4_1, GgmlType::Q5_1},
      {GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K},
      {GgmlType::F16, GgmlType::F16},
      {GgmlType::BF16, GgmlType::BF16}};
  for (const auto& types : groups) {
    for (int64_t tokens : {1, 9}) {
      SCOPED_TRACE(name(types[0]) + " group, " + std::to_string(tokens) + " tokens");
      ThreadPool pool(2);
      std::vector<Problem> ps;
      std::vector<std::unique_ptr<PackedMatrix>> pms;
      for (size_t i = 0; i < types.size(); ++i) {
        ps.push_back(make_problem(types[i], 20 + 13 * static_cast<int64_t>(i), 512, tokens, 9));
        ps.back().x = ps[0].x;  // the same activations
        pms.push_back(PackedMatrix::pack(types[i], ps[i].w.data(), ps[i].rows, 512, pool));
        ASSERT_TRUE(pms.back() && PackedMatrix::shares_activations(*pms.back(), *pms[0]));
      }
      std::vector<std::vector<float>> ys(types.size());
      std::vector<const PackedMatrix*> ws;
      std::vector<float*> yp;
      for (size_t i = 0; i < types.size(); ++i) {
        ys[i].assign(tokens * ps[i].rows, std::nanf(""));
        ws.push_back(pms[i].get());
        yp.push_back(ys[i].data());
      }
      matmul_packed_multi(ws, ps[0].x.data(), tokens, yp, pool);
      for (size_t i = 0; i < types.size(); ++i) {
        const auto single = run_packed(ps[i], 1);
        ASSERT_EQ(std::memcmp(single.data(), ys[i].data(), single.size() * sizeof(float)), 0) << i;
      }
    }
  }
  ThreadPool pool(1);
  const Problem a = make_problem(GgmlType::Q4_0, 16, 512, 1, 1);
  const Problem b = make_problem(GgmlType::Q4_K, 16, 512, 1, 1);
  auto pa = PackedMatrix::pack(a.type, a.w.data(), 16, 512, pool);
  auto pb = PackedMatrix::pack(b.type, b.w.data(), 16, 512, pool);
  EXPECT_FALSE(PackedMatrix::shares_activations(*pa, *pb));  // Q8_0 vs Q8_K activations
}

// The packed activation rows hold exactly matmul_act.cpp's quants and scales.
TEST_F(Packed, ActivationConversionMatchesReference) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n = 512;
  std::vector<float> x(n);
  for (auto& v : x) v = normal(rng);
  x[3] = 0.0f;
  std::fill(x.begin() + 256, x.begin() + 288, 0.0f);  // an all-zero block
  x[100] = -9.0f;                                     // the largest magnitude is negative
  for (GgmlType type : kPackedTypes) {
    SCOPED_TRACE(name(type));
    const GgmlType act = activation_type(type);
    std::vector<uint8_t> ref(act_row_bytes(act, n));
    quantize_activations(act, x.data(), ref.data(), n);
    std::vector<uint8_t> got(packed_act_stride(type, n));
    avx512_packed_quantize(type, x.data(), n, got.data());
    if (act == GgmlType::Q8_0) {
      for (int64_t b = 0; b < n / 32; ++b) {
        ASSERT_EQ(std::memcmp(got.data() + b * 32, ref.data() + b * 34 + 2, 32), 0) << b;
        Q8Extras e;
        std::memcpy(&e, ref.data() + (n / 32) * 34 + b * sizeof(e), sizeof(e));
        float d;
        std::memcpy(&d, got.data() + n + b * 4, 4);
        EXPECT_EQ(quant::f32_to_bits(d), quant::f32_to_bits(e.d)) << b;
        const int offsets[3] = {8, 16, 128};  // Q4_0, Q5_0, Q8_0 code biases
        for (int i = 0; i < 3; ++i) {
          int32_t corr;
          std::memcpy(&corr, got.data() + n + (n / 32) * 4 * (1 + i) + b * 4, 4);
          EXPECT_EQ(corr, -offsets[i] * e.sum) << b;
        }
      }
    } else if (act == GgmlType::Q8_1) {
      // Reference blocks: d half, s half, qs [32] (36 bytes).
      for (int64_t b = 0; b < n / 32; ++b) {
        const uint8_t* blk = ref.data() + b * 36;
        ASSERT_EQ(std::memcmp(got.data() + b * 32, blk + 4, 32), 0) << b;
        uint16_t dh, sh;
        std::memcpy(&dh, blk, 2);
        std::memcpy(&sh, blk + 2, 2);
        float d, sv;
        std::memcpy(&d, got.data() + n + b * 4, 4);
        std::memcpy(&sv, got.data() + n + (n / 32) * 16 + b * 4, 4);
        EXPECT_EQ(quant::f32_to_bits(d), quant::f32_to_bits(quant::fp16_to_f32(dh))) << b;
        EXPECT_EQ(quant::f32_to_bits(sv), quant::f32_to_bits(quant::fp16_to_f32(sh))) << b;
      }
    } else if (act == GgmlType::Q8_K) {
      for (int64_t s = 0; s < n / 256; ++s) {
        quant::BlockQ8_K blk;
        std::memcpy(&blk, ref.data() + s * sizeof(blk), sizeof(blk));
        ASSERT_EQ(std::memcmp(got.data() + s * 256, blk.qs, 256), 0) << s;
        float d;
        std::memcpy(&d, got.data() + n + s * 4, 4);
        EXPECT_EQ(quant::f32_to_bits(d), quant::f32_to_bits(blk.d)) << s;
        const uint8_t* neg = got.data() + n + (n / 256) * 20;
        for (int g = 0; g < 16; ++g) {
          int32_t v;
          std::memcpy(&v, neg + s * 64 + g * 4, 4);
          EXPECT_EQ(v, -32 * blk.bsums[g]) << g;
        }
      }
    } else if (act == GgmlType::BF16) {  // values rounded to bf16
      for (int64_t i = 0; i < n; ++i) {
        float v;
        std::memcpy(&v, got.data() + 4 * i, 4);
        ASSERT_EQ(v, quant::bf16_to_f32(quant::f32_to_bf16(x[i]))) << i;
      }
    } else {  // F16: values rounded to half
      for (int64_t i = 0; i < n; ++i) {
        float v;
        std::memcpy(&v, got.data() + 4 * i, 4);
        ASSERT_EQ(v, quant::fp16_to_f32(quant::f32_to_fp16(x[i]))) << i;
      }
    }
  }
}

}  // namespace
}  // namespace kiln::cpu
