#include "backend/cpu/attention_f16acc.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"
#include "core/check.h"
#include "quant/fp16.h"

namespace kiln::cpu {
namespace fa16 {
namespace {

float r16(float x) { return quant::fp16_to_f32(quant::f32_to_fp16(x)); }

float dot_scalar(const float* q, const float* k, int64_t n) {
  float lane[8] = {};
  for (int64_t i = 0; i < n; ++i) lane[i % 8] += q[i] * r16(k[i]);
  return ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

void scale_scalar(float* acc, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) acc[i] = r16(acc[i] * s);
}

void mad_scalar(float* acc, const float* v, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) acc[i] = r16(std::fma(r16(v[i]), s, acc[i]));
}

}  // namespace

const RowKernels& scalar_kernels() {
  static const RowKernels kernels{dot_scalar, scale_scalar, mad_scalar};
  return kernels;
}

}  // namespace fa16

void attention_f16acc(const float* q, const float* k, const float* v, int64_t key_begin,
                      int64_t key_end, const AttentionParams& p, float* out) {
  KILN_CHECK(p.head_dim <= kMaxAttentionHeadDim && key_begin < key_end);
  static const bool kAvx2 = cpu_isa_supported(CpuIsa::kAvx2);
  const fa16::RowKernels& f =
      kAvx2 && p.head_dim % 8 == 0 ? fa16::avx2_kernels() : fa16::scalar_kernels();
  const int64_t hd = p.head_dim;
  const int64_t kv_dim = p.kv_stride > 0 ? p.kv_stride : p.n_head_kv * hd;
  const int64_t group = p.n_head / p.n_head_kv;
  // ggml folds the softcap into the scale: s = cap * tanh(q.k * (scale / cap)).
  const float scale = p.softcap > 0.0f ? p.scale / p.softcap : p.scale;
  float q16[kMaxAttentionHeadDim];
  for (int64_t h = 0; h < p.n_head; ++h) {
    const int64_t g = h / group;
    for (int64_t i = 0; i < hd; ++i) q16[i] = fa16::r16(q[h * hd + i]);
    float* acc = out + h * hd;  // the F16 accumulator, kept as F16-exact floats
    std::fill(acc, acc + hd, 0.0f);
    float sum = 0.0f, max = -INFINITY;
    for (int64_t j = key_begin; j < key_end; ++j) {
      float s = f.dot_f16(q16, k + j * kv_dim + g * hd, hd) * scale;
      if (p.softcap > 0.0f) s = p.softcap * std::tanh(s);
      float ms = 1.0f, vs = 1.0f;
      if (s > max) {
        ms = std::exp(max - s);
        max = s;
        f.scale_r16(acc, hd, ms);
      } else {
        vs = std::exp(s - max);
      }
      f.mad_r16(acc, v + j * kv_dim + g * hd, hd, vs);
      sum = sum * ms + vs;
    }
    const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
    for (int64_t i = 0; i < hd; ++i) acc[i] *= inv;
  }
}

}  // namespace kiln::cpu
