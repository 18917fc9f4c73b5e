// AVX-512 versions of the hot non-matmul ops (ops.h dispatches to them when
// cpu_isa_supported(CpuIsa::kAvx512)); compiled with -mavx512f/bw/vl + F16C
// (isa.cmake). At 135M parameters these are a sizeable share of a forward
// pass next to the packed matmuls.
//
// Numerics: the same formulas as ops.cpp with float summation order changed
// (16 lanes) and exp from a polynomial (error ~1 ulp, as ggml's vectorized
// expf); double accumulations stay double.
#if defined(__x86_64__)
// GCC 12 flags the _mm512_undefined_*() operands inside AVX-512 intrinsics as
// maybe-uninitialized (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/ops_simd.h"

namespace kiln::cpu {

namespace {

// exp(x) = 2^k exp(r), k = round(x log2 e), r = x - k ln2 (Cody-Waite split),
// |r| <= ln2/2, exp(r) by its degree-7 Taylor polynomial (relative error
// < 2e-8 before rounding). Inputs are clamped to [-104, 88.7]: exp underflows
// to 0 / stays finite like expf.
inline __m512 exp512(__m512 x) {
  x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.72f)), _mm512_set1_ps(-104.0f));
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, k);
}

inline __m512 silu512(__m512 a) {
  const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), a));
  return _mm512_div_ps(a, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

inline float exp1(float x) { return _mm512_cvtss_f32(exp512(_mm512_set1_ps(x))); }

// x = exp(x - max) / sum, sum in double (ggml). x: [n].
void softmax_inplace(float* x, int64_t n) {
  int64_t i = 0;
  __m512 m = _mm512_set1_ps(-INFINITY);
  for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
  float max = _mm512_reduce_max_ps(m);
  for (; i < n; ++i) max = std::max(max, x[i]);
  const __m512 vmax = _mm512_set1_ps(max);
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  for (i = 0; i + 16 <= n; i += 16) {
    const __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmax));
    _mm512_storeu_ps(x + i, e);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    s1 = _mm512_add_pd(
        s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
  }
  double sum = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
  for (; i < n; ++i) {
    x[i] = exp1(x[i] - max);
    sum += static_cast<double>(x[i]);
  }
  const float inv = sum > 0.0 ? static_cast<float>(1.0 / sum) : 0.0f;
  const __m512 vinv = _mm512_set1_ps(inv);
  for (i = 0; i + 16 <= n; i += 16)
    _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), vinv));
  for (; i < n; ++i) x[i] *= inv;
}

}  // namespace

void avx512_rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512 sq = _mm512_mul_ps(v, v);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(sq)));
    s1 = _mm512_add_pd(
        s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sq), 1))));
  }
  double sum = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
  for (; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float s = 1.0f / std::sqrt(mean + eps);
  const __m512 vs = _mm512_set1_ps(s);
  for (i = 0; i + 16 <= n; i += 16) {
    __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), vs);
    if (w != nullptr) v = _mm512_mul_ps(v, _mm512_loadu_ps(w + i));
    _mm512_storeu_ps(y + i, v);
  }
  for (; i < n; ++i) y[i] = w != nullptr ? (x[i] * s) * w[i] : x[i] * s;
}

void avx512_swiglu(const float* gate, const float* up, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 g = _mm512_loadu_ps(gate + i);
    _mm512_storeu_ps(out + i, _mm512_mul_ps(silu512(g), _mm512_loadu_ps(up + i)));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(silu512(g), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

void avx512_f32_to_f16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

void avx512_f16_to_f32(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(y + i,
                     _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
  }
  for (; i < n; ++i) y[i] = _cvtsh_ss(x[i]);
}

bool avx512_attention(const float* q, const float* k, const float* v, int64_t key_begin,
                      int64_t key_end, const AttentionParams& p, float* out, float* scores) {
  constexpr int kMaxChunks = 16;  // head_dim <= 256
  const int64_t hd = p.head_dim;
  if (hd % 16 != 0 || hd / 16 > kMaxChunks) return false;
  const int nc = static_cast<int>(hd / 16);
  const int64_t kv_dim = p.kv_stride > 0 ? p.kv_stride : p.n_head_kv * hd;
  const int64_t group = p.n_head / p.n_head_kv;
  const int64_t n_keys = key_end - key_begin;
  for (int64_t h = 0; h < p.n_head; ++h) {
    const int64_t g = h / group;
    __m512 qv[kMaxChunks];
    for (int c = 0; c < nc; ++c) qv[c] = _mm512_loadu_ps(q + h * hd + 16 * c);
    const float* kg = k + key_begin * kv_dim + g * hd;
    for (int64_t j = 0; j < n_keys; ++j) {
      const float* kj = kg + j * kv_dim;
      __m512 acc0 = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kj));
      __m512 acc1 = _mm512_setzero_ps();
      for (int c = 1; c < nc; ++c) {
        if (c % 2) {
          acc1 = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(kj + 16 * c), acc1);
        } else {
          acc0 = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(kj + 16 * c), acc0);
        }
      }
      float s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) * p.scale;
      if (p.softcap > 0.0f) s = p.softcap * std::tanh(s / p.softcap);
      scores[j] = s;
    }
    softmax_inplace(scores, n_keys);
    __m512 ov[kMaxChunks];
    for (int c = 0; c < nc; ++c) ov[c] = _mm512_setzero_ps();
    const float* vg = v + key_begin * kv_dim + g * hd;
    for (int64_t j = 0; j < n_keys; ++j) {
      const __m512 sj = _mm512_set1_ps(scores[j]);
      for (int c = 0; c < nc; ++c)
        ov[c] = _mm512_fmadd_ps(sj, _mm512_loadu_ps(vg + j * kv_dim + 16 * c), ov[c]);
    }
    for (int c = 0; c < nc; ++c) _mm512_storeu_ps(out + h * hd + 16 * c, ov[c]);
  }
  return true;
}

}  // namespace kiln::cpu
#endif
