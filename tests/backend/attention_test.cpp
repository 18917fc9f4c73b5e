// attention_f16acc (ggml's F16-accumulating flash attention, ops.h): the
// AVX2 row kernels are bit-identical to the scalar ones, the result stays
// within F16 rounding of exact F32 attention, and the F16 steps really happen
// (a case where F16 accumulation must differ from F32 does differ).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backend/cpu/attention_f16acc.h"
#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"
#include "quant/fp16.h"
#include "test_data.h"

namespace kiln::cpu {
namespace {

using test::randn;

TEST(AttentionF16Acc, Avx2KernelsBitIdenticalToScalar) {
  if (!cpu_isa_supported(CpuIsa::kAvx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  const fa16::RowKernels& s = fa16::scalar_kernels();
  const fa16::RowKernels& a = fa16::avx2_kernels();
  for (int64_t n : {8, 64, 128, 256}) {
    auto q = randn(static_cast<size_t>(n), 1), k = randn(static_cast<size_t>(n), 2, 3.f);
    for (float& x : q) x = quant::fp16_to_f32(quant::f32_to_fp16(x));
    EXPECT_EQ(s.dot_f16(q.data(), k.data(), n), a.dot_f16(q.data(), k.data(), n)) << n;
    auto acc_s = randn(static_cast<size_t>(n), 3), v = randn(static_cast<size_t>(n), 4);
    for (float& x : acc_s) x = quant::fp16_to_f32(quant::f32_to_fp16(x));
    auto acc_a = acc_s;
    for (float f : {0.37f, 1.0f, 0.0012f}) {
      s.mad_r16(acc_s.data(), v.data(), n, f);
      a.mad_r16(acc_a.data(), v.data(), n, f);
      s.scale_r16(acc_s.data(), n, f * 0.9f);
      a.scale_r16(acc_a.data(), n, f * 0.9f);
    }
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(acc_s[i], acc_a[i]) << n << " " << i;
  }
}

struct Case {
  int64_t head_dim, n_head, n_head_kv, n_keys;
  float softcap;
};

TEST(AttentionF16Acc, CloseToExactAttention) {
  for (const Case& c : {Case{64, 4, 2, 37, 0.f}, Case{8, 8, 4, 61, 0.f}, Case{256, 2, 1, 300, 50.f},
                        Case{12, 3, 3, 5, 0.f}}) {
    const int64_t kv_dim = c.n_head_kv * c.head_dim;
    auto q = randn(static_cast<size_t>(c.n_head * c.head_dim), 5);
    auto k = randn(static_cast<size_t>(c.n_keys * kv_dim), 6);
    auto v = randn(static_cast<size_t>(c.n_keys * kv_dim), 7);
    AttentionParams p{.n_head = c.n_head,
                      .n_head_kv = c.n_head_kv,
                      .head_dim = c.head_dim,
                      .scale = 1.f / std::sqrt(static_cast<float>(c.head_dim)),
                      .softcap = c.softcap};
    std::vector<float> want(q.size()), got(q.size()), scores(static_cast<size_t>(c.n_keys));
    for (int64_t begin : {int64_t{0}, c.n_keys / 2}) {
      attention(q.data(), k.data(), v.data(), begin, c.n_keys, p, want.data(), scores.data());
      attention_f16acc(q.data(), k.data(), v.data(), begin, c.n_keys, p, got.data());
      for (size_t i = 0; i < q.size(); ++i) {
        // F16 has 11 significant bits; a few roundings per key stay far below 1e-2.
        ASSERT_NEAR(got[i], want[i], 1e-2f * (1.f + std::fabs(want[i]))) << c.head_dim << " " << i;
      }
    }
  }
}

TEST(AttentionF16Acc, AccumulatesInF16) {
  // Two keys with equal scores: exact attention averages v = 1 and v = 2^-12;
  // the F16 accumulator cannot hold 1 + 2^-12 (its spacing at 1 is 2^-10),
  // so the sum rounds back to 1 and the result is 0.5 instead of 0.5 + 2^-13.
  const int64_t hd = 8;
  std::vector<float> q(hd, 0.f), k(2 * hd, 0.f), v(2 * hd), out(hd);
  for (int64_t i = 0; i < hd; ++i) {
    v[i] = 1.f;
    v[hd + i] = std::ldexp(1.f, -12);
  }
  AttentionParams p{.n_head = 1, .n_head_kv = 1, .head_dim = hd, .scale = 1.f};
  attention_f16acc(q.data(), k.data(), v.data(), 0, 2, p, out.data());
  for (float x : out) EXPECT_EQ(x, 0.5f);
  std::vector<float> exact(hd), scores(2);
  attention(q.data(), k.data(), v.data(), 0, 2, p, exact.data(), scores.data());
  EXPECT_NE(exact[0], 0.5f);
}

}  // namespace
}  // namespace kiln::cpu
