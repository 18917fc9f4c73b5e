// CPU ops (backend/cpu/ops.h) against double-precision references: the
// transposed-key attention, RMSNorm, SwiGLU (SIMD paths on AVX-512 CPUs), half
// row conversion and the split RoPE.
#include "backend/cpu/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "quant/fp16.h"
#include "test_data.h"

namespace kiln::cpu {
namespace {

using test::randn;

// softmax(scale * q.k_j) weighted sum of v_j in double.
std::vector<double> attention_ref(const float* q, const float* k, const float* v, int64_t stride,
                                  int64_t begin, int64_t end, int64_t hd, float scale,
                                  float softcap) {
  std::vector<double> s;
  double max = -1e300;
  for (int64_t j = begin; j < end; ++j) {
    double d = 0;
    for (int64_t i = 0; i < hd; ++i) d += double(q[i]) * k[j * stride + i];
    d *= scale;
    if (softcap > 0) d = softcap * std::tanh(d / softcap);
    s.push_back(d);
    max = std::max(max, d);
  }
  double sum = 0;
  for (double& x : s) sum += (x = std::exp(x - max));
  std::vector<double> out(hd, 0.0);
  for (int64_t j = begin; j < end; ++j) {
    for (int64_t i = 0; i < hd; ++i) out[i] += s[j - begin] / sum * v[j * stride + i];
  }
  return out;
}

TEST(Ops, AttentionWithTransposedKeysMatchesReference) {
  for (int64_t hd : {8, 64, 96, 128, 200}) {
    for (int64_t n_q : {1, 3, 6}) {  // 6: more heads than one SIMD group takes
      for (int64_t n_keys : {1, 15, 16, 17, 70}) {
        for (float softcap : {0.0f, 30.0f}) {
          SCOPED_TRACE("hd " + std::to_string(hd) + " heads " + std::to_string(n_q) + " keys " +
                       std::to_string(n_keys));
          const int64_t stride = hd * 3 + 5;  // rows of a wider KV cache, head at offset 0
          const auto q = randn(n_q * hd, 1), k = randn(n_keys * stride, 2);
          const auto v = randn(n_keys * stride, 3);
          const int64_t ld = (n_keys + 15) / 16 * 16 + 16;
          std::vector<float> kt(hd * ld, NAN);
          transpose_keys(k.data(), stride, n_keys, hd, kt.data(), ld);
          for (int64_t begin : {int64_t{0}, n_keys / 2}) {
            std::vector<float> out(n_q * hd, NAN), scores(n_q * n_keys);
            const float scale = 1.0f / std::sqrt(float(hd));
            attention_kt(q.data(), n_q, kt.data(), ld, v.data(), stride, begin, n_keys, hd, scale,
                         softcap, out.data(), scores.data());
            for (int64_t h = 0; h < n_q; ++h) {
              const auto want = attention_ref(q.data() + h * hd, k.data(), v.data(), stride, begin,
                                              n_keys, hd, scale, softcap);
              for (int64_t i = 0; i < hd; ++i) ASSERT_NEAR(out[h * hd + i], want[i], 2e-5) << i;
            }
          }
        }
      }
    }
  }
}

TEST(Ops, RmsNormAndSwigluMatchReference) {
  for (int64_t n : {1, 16, 37, 576}) {
    const auto x = randn(n, 4), w = randn(n, 5), up = randn(n, 6);
    std::vector<float> y(n), g(n);
    rms_norm(x.data(), w.data(), y.data(), n, 1e-5f);
    double ss = 0;
    for (float f : x) ss += double(f) * f;
    const double s = 1.0 / std::sqrt(ss / n + 1e-5);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(y[i], x[i] * s * w[i], 1e-5 * std::fabs(x[i] * s * w[i]) + 1e-7);
    swiglu(x.data(), up.data(), g.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double want = x[i] / (1.0 + std::exp(-double(x[i]))) * up[i];
      ASSERT_NEAR(g[i], want, 1e-6 * std::fabs(want) + 1e-7) << i;
    }
  }
  // Extreme gates: silu stays finite and tends to 0 / the identity.
  const std::vector<float> ext = {-200.0f, -90.0f, 0.0f, 90.0f, 200.0f};
  const std::vector<float> one(ext.size(), 1.0f);
  std::vector<float> out(ext.size());
  swiglu(ext.data(), one.data(), out.data(), static_cast<int64_t>(ext.size()));
  EXPECT_NEAR(out[0], 0.0f, 1e-30f);
  EXPECT_NEAR(out[1], 0.0f, 1e-30f);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[3], 90.0f);
  EXPECT_EQ(out[4], 200.0f);
}

TEST(Ops, HalfRowsRoundToNearestEven) {
  auto x = randn(67, 7, 100.0f);
  x[3] = 65519.0f;  // rounds to the largest half
  x[4] = 1e-7f;     // a subnormal half
  x[5] = 70000.0f;  // overflows to inf
  std::vector<uint16_t> h(x.size());
  f32_to_f16_row(x.data(), h.data(), static_cast<int64_t>(x.size()));
  std::vector<float> back(x.size());
  f16_to_f32_row(h.data(), back.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(h[i], quant::f32_to_fp16(x[i])) << i;
    ASSERT_EQ(quant::f32_to_bits(back[i]), quant::f32_to_bits(quant::fp16_to_f32(h[i]))) << i;
  }
}

TEST(Ops, RopeTableThenApplyEqualsRope) {
  const RopeParams p{.mode = RopeMode::kNeox, .n_rot = 48, .freq_base = 500000.f};
  auto a = randn(4 * 64, 8);
  auto b = a;
  rope(a.data(), 4, 64, 1234, p);
  std::vector<float> cs(p.n_rot);
  rope_table(1234, p, cs.data());
  rope_apply(b.data(), 4, 64, cs.data(), p);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << i;
}

}  // namespace
}  // namespace kiln::cpu
