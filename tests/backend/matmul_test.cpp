// CPU matmul: every weight type against the dequantize-and-accumulate
// reference, against exact math on the converted activations, every ISA path
// against the scalar one, and independence from thread count and token grouping.
#include "backend/cpu/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backend/cpu/matmul_kernels.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "test_data.h"

namespace kiln::cpu {
namespace {

using test::make_problem;
using test::name;
using test::Problem;

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,    GgmlType::BF16,  GgmlType::Q4_0,
                           GgmlType::Q4_1, GgmlType::Q5_0,   GgmlType::Q5_1,  GgmlType::Q8_0,
                           GgmlType::Q2_K, GgmlType::Q3_K,   GgmlType::Q4_K,  GgmlType::Q5_K,
                           GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS};

std::vector<float> run(const Problem& p, CpuIsa isa, int threads) {
  ThreadPool pool(threads);
  std::vector<float> y(p.n_tokens * p.rows, std::nanf(""));
  matmul_isa(isa, p.type, p.w.data(), p.rows, p.cols, p.x.data(), p.n_tokens, y.data(), pool);
  return y;
}

double rms(const std::vector<float>& v) {
  double s = 0;
  for (float f : v) s += double(f) * f;
  return std::sqrt(s / v.size());
}

// Tolerance of matmul vs the F32 reference, relative to rms(y): the error of
// converting activations to the weight's dot type (F16 11 bits, BF16 8 bits,
// 8-bit block quantization), with margin.
double activation_tolerance(GgmlType type) {
  switch (activation_type(type)) {
    case GgmlType::F32:
      return 1e-5;
    case GgmlType::F16:
      return 2e-3;
    case GgmlType::BF16:
      return 2e-2;
    case GgmlType::Q8_K:  // one scale per 256 values: outliers cost more
      return 0.15;
    default:
      return 6e-2;
  }
}

std::vector<CpuIsa> supported_isas() {
  std::vector<CpuIsa> out;
  for (CpuIsa isa : {CpuIsa::kScalar, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (cpu_isa_supported(isa)) out.push_back(isa);
  }
  return out;
}

TEST(Matmul, EveryTypeCloseToReference) {
  for (GgmlType type : kTypes) {
    SCOPED_TRACE(name(type));
    const Problem p = make_problem(type, 37, 512, 5, 1);
    std::vector<float> ref(p.n_tokens * p.rows);
    matmul_reference(type, p.w.data(), p.rows, p.cols, p.x.data(), p.n_tokens, ref.data());
    const auto y = run(p, CpuIsa::kBest, 2);
    const double scale = rms(ref);
    double max_err = 0;
    for (size_t i = 0; i < y.size(); ++i)
      max_err = std::max(max_err, double(std::fabs(y[i] - ref[i])));
    EXPECT_LT(max_err / scale, activation_tolerance(type)) << "rms(y) " << scale;
  }
}

// Dequantizes one converted activation row (the exact values the kernels use).
std::vector<float> dequantized_activations(GgmlType act, const float* x, int64_t n) {
  std::vector<uint8_t> q(act_row_bytes(act, n));
  quantize_activations(act, x, q.data(), n);
  std::vector<float> out(n);
  if (act == GgmlType::Q8_1 || act == GgmlType::Q8_K) {
    const int bs = act == GgmlType::Q8_1 ? 32 : 256;
    const int bytes = act == GgmlType::Q8_1 ? 36 : 292;
    for (int64_t b = 0; b < n / bs; ++b) {
      const uint8_t* blk = q.data() + b * bytes;
      float d;
      if (act == GgmlType::Q8_1) {
        uint16_t h;
        std::memcpy(&h, blk, 2);
        d = quant::fp16_to_f32(h);
      } else {
        std::memcpy(&d, blk, 4);
      }
      const auto* qs = reinterpret_cast<const int8_t*>(blk + 4);
      for (int j = 0; j < bs; ++j) out[b * bs + j] = d * qs[j];
    }
  } else {
    quant::dequantize_row(act, q.data(), out.data(), n);
  }
  return out;
}

// Q4_1/Q5_1 x Q8_1: ggml adds m * s per block, with s = half(d * sum(q)) the
// rounded block sum of the activations; the correction from sum(m * a) to that.
double q8_1_min_correction(GgmlType type, const uint8_t* w_row, const float* x, int64_t n) {
  std::vector<uint8_t> q(act_row_bytes(GgmlType::Q8_1, n));
  quantize_activations(GgmlType::Q8_1, x, q.data(), n);
  const auto a = dequantized_activations(GgmlType::Q8_1, x, n);
  const int wbytes = type == GgmlType::Q4_1 ? 20 : 24;
  double corr = 0;
  for (int64_t b = 0; b < n / 32; ++b) {
    uint16_t m, s;
    std::memcpy(&m, w_row + b * wbytes + 2, 2);
    std::memcpy(&s, q.data() + b * 36 + 2, 2);
    double sum_a = 0;
    for (int j = 0; j < 32; ++j) sum_a += a[b * 32 + j];
    corr += double(quant::fp16_to_f32(m)) * (double(quant::fp16_to_f32(s)) - sum_a);
  }
  return corr;
}

// Every path computes exactly sum(w * a) over the dequantized weights w and
// converted activations a, up to float32 summation error.
TEST(Matmul, EveryIsaExactOnConvertedActivations) {
  for (GgmlType type : kTypes) {
    const Problem p = make_problem(type, 19, 768, 3, 2);
    const GgmlType act = activation_type(type);
    std::vector<float> wf(p.cols);
    const size_t rb = quant::row_bytes(type, p.cols);
    for (CpuIsa isa : supported_isas()) {
      SCOPED_TRACE(name(type) + " " + cpu_isa_name(isa));
      const auto y = run(p, isa, 1);
      for (int64_t t = 0; t < p.n_tokens; ++t) {
        const auto a = dequantized_activations(act, p.x.data() + t * p.cols, p.cols);
        for (int64_t r = 0; r < p.rows; ++r) {
          quant::dequantize_row(type, p.w.data() + r * rb, wf.data(), p.cols);
          double exact = 0, mag = 0;
          for (int64_t c = 0; c < p.cols; ++c) {
            exact += double(wf[c]) * a[c];
            mag += std::fabs(double(wf[c]) * a[c]);
          }
          if (act == GgmlType::Q8_1) {
            exact +=
                q8_1_min_correction(type, p.w.data() + r * rb, p.x.data() + t * p.cols, p.cols);
          }
          ASSERT_NEAR(y[t * p.rows + r], exact, 2e-6 * mag) << "token " << t << " row " << r;
        }
      }
    }
  }
}

bool is_k_type(GgmlType t) { return activation_type(t) == GgmlType::Q8_K; }

TEST(Matmul, IsaPathsAgreeWithScalar) {
  for (GgmlType type : kTypes) {
    const Problem p = make_problem(type, 33, 1024, 6, 3);
    const auto scalar = run(p, CpuIsa::kScalar, 1);
    const double scale = rms(scalar);
    for (CpuIsa isa : supported_isas()) {
      SCOPED_TRACE(name(type) + " " + cpu_isa_name(isa));
      const auto y = run(p, isa, 1);
      for (size_t i = 0; i < y.size(); ++i) {
        if (is_k_type(type)) {  // same integer sums, same float formula
          ASSERT_EQ(quant::f32_to_bits(y[i]), quant::f32_to_bits(scalar[i])) << i;
        } else {
          ASSERT_NEAR(y[i], scalar[i], 1e-5 * scale) << i;
        }
      }
    }
  }
}

TEST(Matmul, ResultsIndependentOfThreadsAndTokenGrouping) {
  for (GgmlType type : kTypes) {
    const Problem p = make_problem(type, 70, 256, 7, 4);
    for (CpuIsa isa : supported_isas()) {
      SCOPED_TRACE(name(type) + " " + cpu_isa_name(isa));
      const auto one = run(p, isa, 1);
      for (int threads : {2, 3}) {
        const auto many = run(p, isa, threads);
        ASSERT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)), 0);
      }
      // Each token alone gives the same bits as inside a batch of 7.
      for (int64_t t = 0; t < p.n_tokens; ++t) {
        Problem single = p;
        single.n_tokens = 1;
        single.x.assign(p.x.begin() + t * p.cols, p.x.begin() + (t + 1) * p.cols);
        const auto y = run(single, isa, 2);
        ASSERT_EQ(std::memcmp(y.data(), one.data() + t * p.rows, p.rows * sizeof(float)), 0);
      }
    }
  }
}

TEST(Matmul, ActivationQ8_0FollowsGgml) {
  // d = amax/127 stored as half; quants round half to even.
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;  // d = 1
  x[1] = 2.5f;    // -> 2 (half to even)
  x[2] = -3.5f;   // -> -4
  x[3] = 0.49f;
  std::vector<uint8_t> q(act_row_bytes(GgmlType::Q8_0, 32));
  quantize_activations(GgmlType::Q8_0, x.data(), q.data(), 32);
  uint16_t d;
  std::memcpy(&d, q.data(), 2);
  EXPECT_EQ(quant::fp16_to_f32(d), 1.0f);
  EXPECT_EQ(static_cast<int8_t>(q[2]), 127);
  EXPECT_EQ(static_cast<int8_t>(q[3]), 2);
  EXPECT_EQ(static_cast<int8_t>(q[4]), -4);
  EXPECT_EQ(static_cast<int8_t>(q[5]), 0);
}

TEST(Matmul, BestIsaIsSupported) {
  EXPECT_TRUE(cpu_isa_supported(cpu_best_isa()));
  EXPECT_NE(cpu_best_isa(), CpuIsa::kBest);
}

}  // namespace
}  // namespace kiln::cpu
