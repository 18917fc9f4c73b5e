// Scalar CPU ops; the arithmetic follows ggml's CPU code (see ops.h).
#include "backend/cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/matmul.h"
#include "backend/cpu/ops_simd.h"
#include "quant/fp16.h"

namespace kiln::cpu {
namespace {

// Dot product with 8 independent float accumulators: lets the compiler keep
// several FMA chains in flight without -ffast-math reassociation.
float dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// y += s * x
void axpy(float s, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += s * x[i];
}

}  // namespace

bool ops_use_avx512() {
#if defined(__x86_64__)
  static const bool use = cpu_isa_supported(CpuIsa::kAvx512);
  return use;
#else
  return false;
#endif
}

#if !defined(__x86_64__)
// Never called (ops_use_avx512() is false); keeps the dispatch below portable.
void avx512_rms_norm(const float*, const float*, float*, int64_t, float) {}
void avx512_swiglu(const float*, const float*, float*, int64_t) {}
void avx512_f32_to_f16(const float*, uint16_t*, int64_t) {}
void avx512_f16_to_f32(const uint16_t*, float*, int64_t) {}
bool avx512_attention_kt(const float*, int64_t, const float*, int64_t, const float*, int64_t,
                         int64_t, int64_t, int64_t, float, float, float*, float*) {
  return false;
}
#endif

void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) {
  if (ops_use_avx512()) return avx512_f32_to_f16(x, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] = quant::f32_to_fp16(x[i]);
}

void f16_to_f32_row(const uint16_t* x, float* y, int64_t n) {
  if (ops_use_avx512()) return avx512_f16_to_f32(x, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] = quant::fp16_to_f32(x[i]);
}

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  if (ops_use_avx512()) return avx512_rms_norm(x, w, y, n, eps);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float s = 1.0f / std::sqrt(mean + eps);
  if (w == nullptr) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * s) * w[i];
  }
}

void rope_table(int64_t pos, const RopeParams& p, float* cs) {
  // cos/sin per pair, as ggml_rope_cache_init: theta starts at (float)pos and is
  // multiplied by theta_scale once per pair (bit-compatible with ggml).
  const int64_t n_pairs = p.n_rot / 2;
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  float theta = static_cast<float>(pos);
  for (int64_t k = 0; k < n_pairs; ++k) {
    const float ff = p.freq_factors != nullptr ? p.freq_factors[k] : 1.0f;
    const float t = p.freq_scale * (theta / ff);
    cs[2 * k] = std::cos(t) * p.attn_factor;
    cs[2 * k + 1] = std::sin(t) * p.attn_factor;
    theta *= theta_scale;
  }
}

void rope_apply(float* x, int64_t n_heads, int64_t head_dim, const float* cs, const RopeParams& p) {
  const int64_t n_pairs = p.n_rot / 2;
  const int64_t stride = p.mode == RopeMode::kNeox ? n_pairs : 1;
  const int64_t step = p.mode == RopeMode::kNeox ? 1 : 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t k = 0; k < n_pairs; ++k) {
      float* a = v + k * step;
      const float x0 = a[0];
      const float x1 = a[stride];
      a[0] = x0 * cs[2 * k] - x1 * cs[2 * k + 1];
      a[stride] = x0 * cs[2 * k + 1] + x1 * cs[2 * k];
    }
  }
}

void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t pos, const RopeParams& p) {
  constexpr int64_t kMaxRot = 1024;
  float cs[kMaxRot];
  RopeParams q = p;
  q.n_rot = std::min<int64_t>(p.n_rot, kMaxRot);
  rope_table(pos, q, cs);
  rope_apply(x, n_heads, head_dim, cs, q);
}

void softmax(float* x, int64_t n) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) max = std::max(max, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = x[i] == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(x[i] - max);
    x[i] = e;
    sum += static_cast<double>(e);
  }
  const float inv = sum > 0.0 ? static_cast<float>(1.0 / sum) : 0.0f;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

float silu(float a) { return a / (1.0f + std::exp(-a)); }

float gelu_tanh(float a) {
  constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
  constexpr float kCoef = 0.044715f;
  return 0.5f * a * (1.0f + std::tanh(kSqrt2OverPi * a * (1.0f + kCoef * a * a)));
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  if (ops_use_avx512()) return avx512_swiglu(gate, up, out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}

void geglu_tanh(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gelu_tanh(gate[i]) * up[i];
}

void add(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

void scale(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void attention(const float* q, const float* k, const float* v, int64_t key_begin, int64_t key_end,
               const AttentionParams& p, float* out, float* scores) {
  const int64_t kv_dim = p.kv_stride > 0 ? p.kv_stride : p.n_head_kv * p.head_dim;
  const int64_t group = p.n_head / p.n_head_kv;
  const int64_t n_keys = key_end - key_begin;
  for (int64_t h = 0; h < p.n_head; ++h) {
    const int64_t g = h / group;
    const float* qh = q + h * p.head_dim;
    for (int64_t j = 0; j < n_keys; ++j) {
      float s = dot(qh, k + (key_begin + j) * kv_dim + g * p.head_dim, p.head_dim) * p.scale;
      if (p.softcap > 0.0f) s = p.softcap * std::tanh(s / p.softcap);
      scores[j] = s;
    }
    softmax(scores, n_keys);
    float* oh = out + h * p.head_dim;
    std::fill(oh, oh + p.head_dim, 0.0f);
    for (int64_t j = 0; j < n_keys; ++j) {
      axpy(scores[j], v + (key_begin + j) * kv_dim + g * p.head_dim, oh, p.head_dim);
    }
  }
}

void transpose_keys(const float* k, int64_t kv_stride, int64_t n_keys, int64_t head_dim, float* kt,
                    int64_t ld) {
  // Blocks of 16 keys: each key row is read once, each kt row written in runs of 16.
  for (int64_t j0 = 0; j0 < n_keys; j0 += 16) {
    const int64_t j1 = std::min(n_keys, j0 + 16);
    for (int64_t j = j0; j < j1; ++j) {
      const float* kj = k + j * kv_stride;
      for (int64_t d = 0; d < head_dim; ++d) kt[d * ld + j] = kj[d];
    }
  }
}

void attention_kt(const float* q, int64_t n_q, const float* kt, int64_t ld, const float* v,
                  int64_t v_stride, int64_t key_begin, int64_t key_end, int64_t head_dim,
                  float scale, float softcap, float* out, float* scores) {
  if (ops_use_avx512() && avx512_attention_kt(q, n_q, kt, ld, v, v_stride, key_begin, key_end,
                                              head_dim, scale, softcap, out, scores)) {
    return;
  }
  const int64_t n_keys = key_end - key_begin;
  for (int64_t h = 0; h < n_q; ++h) {
    const float* qh = q + h * head_dim;
    for (int64_t j = 0; j < n_keys; ++j) scores[j] = 0.0f;
    for (int64_t d = 0; d < head_dim; ++d) {
      const float* row = kt + d * ld + key_begin;
      for (int64_t j = 0; j < n_keys; ++j) scores[j] += qh[d] * row[j];
    }
    for (int64_t j = 0; j < n_keys; ++j) {
      float s = scores[j] * scale;
      if (softcap > 0.0f) s = softcap * std::tanh(s / softcap);
      scores[j] = s;
    }
    softmax(scores, n_keys);
    float* oh = out + h * head_dim;
    std::fill(oh, oh + head_dim, 0.0f);
    for (int64_t j = 0; j < n_keys; ++j) {
      axpy(scores[j], v + (key_begin + j) * v_stride, oh, head_dim);
    }
  }
}

}  // namespace kiln::cpu
