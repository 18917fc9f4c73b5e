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
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

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

// x = exp(x - max) / sum, sum in double (ggml). x: [n]. Tails masked.
void softmax_inplace(float* x, int64_t n) {
  auto tail = [&](int64_t i) {
    return n - i >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
  };
  __m512 m = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n; i += 16) {
    m = _mm512_max_ps(m, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail(i), x + i));
  }
  const __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(m));
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail(i);
    // Masked-off lanes become exp(-inf) = 0 and add nothing to the sum.
    const __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), k, x + i);
    const __m512 e = _mm512_maskz_mov_ps(k, exp512(_mm512_sub_ps(v, vmax)));
    _mm512_mask_storeu_ps(x + i, k, e);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    s1 = _mm512_add_pd(
        s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
  }
  const double sum = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
  const __m512 vinv = _mm512_set1_ps(sum > 0.0 ? static_cast<float>(1.0 / sum) : 0.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail(i);
    _mm512_mask_storeu_ps(x + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), vinv));
  }
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

namespace {

// Attention of G query heads sharing one KV head, head_dim = 16 * NC:
// q, out: [G][head_dim]; scores: [G][n]. Each key row (scores) and value row
// (P.V) loaded once serves all G heads, which halves the loads per FMA.
template <int G, int NC>
void group_attention(const float* q, const float* kt, int64_t ld, const float* v, int64_t v_stride,
                     int64_t key_begin, int64_t n, float scale, float softcap, float* out,
                     float* scores) {
  constexpr int64_t kHd = 16 * NC;
  // Partial sums over d per head: enough independent FMA chains (>= 6) for any G.
  constexpr int kP = G >= 3 ? 2 : G == 2 ? 4 : 8;
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m =
        n - j >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (n - j)) - 1);
    const float* col = kt + key_begin + j;
    __m512 a[G][kP];
    for (int h = 0; h < G; ++h)
      for (int i = 0; i < kP; ++i) a[h][i] = _mm512_setzero_ps();
    for (int64_t d = 0; d < kHd; d += kP) {
#pragma GCC unroll 8
      for (int i = 0; i < kP; ++i) {
        const __m512 kv = _mm512_maskz_loadu_ps(m, col + (d + i) * ld);
        for (int h = 0; h < G; ++h) {
          a[h][i] = _mm512_fmadd_ps(_mm512_set1_ps(q[h * kHd + d + i]), kv, a[h][i]);
        }
      }
    }
    for (int h = 0; h < G; ++h) {
      __m512 s = a[h][0];
      for (int i = 1; i < kP; ++i) s = _mm512_add_ps(s, a[h][i]);
      _mm512_mask_storeu_ps(scores + h * n + j, m, _mm512_mul_ps(s, _mm512_set1_ps(scale)));
    }
  }
  for (int h = 0; h < G; ++h) {
    float* sh = scores + h * n;
    if (softcap > 0.0f) {
      for (int64_t j = 0; j < n; ++j) sh[j] = softcap * std::tanh(sh[j] / softcap);
    }
    softmax_inplace(sh, n);
  }
  // P.V: G * NC accumulators; two keys per step when that is under 8 chains.
  constexpr int kU = G * NC >= 8 ? 1 : 2;
  __m512 o[kU][G][NC];
  for (int u = 0; u < kU; ++u)
    for (int h = 0; h < G; ++h)
      for (int c = 0; c < NC; ++c) o[u][h][c] = _mm512_setzero_ps();
  const float* vb = v + key_begin * v_stride;
  int64_t j = 0;
  for (; j + kU <= n; j += kU) {
    for (int u = 0; u < kU; ++u) {
      const float* vj = vb + (j + u) * v_stride;
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) {
        const __m512 vc = _mm512_loadu_ps(vj + 16 * c);
        for (int h = 0; h < G; ++h) {
          o[u][h][c] = _mm512_fmadd_ps(_mm512_set1_ps(scores[h * n + j + u]), vc, o[u][h][c]);
        }
      }
    }
  }
  for (; j < n; ++j) {
    const float* vj = vb + j * v_stride;
    for (int c = 0; c < NC; ++c) {
      const __m512 vc = _mm512_loadu_ps(vj + 16 * c);
      for (int h = 0; h < G; ++h) {
        o[0][h][c] = _mm512_fmadd_ps(_mm512_set1_ps(scores[h * n + j]), vc, o[0][h][c]);
      }
    }
  }
  for (int h = 0; h < G; ++h) {
    for (int c = 0; c < NC; ++c) {
      __m512 r = o[0][h][c];
      for (int u = 1; u < kU; ++u) r = _mm512_add_ps(r, o[u][h][c]);
      _mm512_storeu_ps(out + h * kHd + 16 * c, r);
    }
  }
}

using GroupFn = void (*)(const float*, const float*, int64_t, const float*, int64_t, int64_t,
                         int64_t, float, float, float*, float*);

template <int G, int... C>
constexpr std::array<GroupFn, sizeof...(C)> group_row(std::integer_sequence<int, C...>) {
  return {group_attention<G, C + 1>...};
}

}  // namespace

bool avx512_attention_kt(const float* q, int64_t n_q, const float* kt, int64_t ld, const float* v,
                         int64_t v_stride, int64_t key_begin, int64_t key_end, int64_t head_dim,
                         float scale, float softcap, float* out, float* scores) {
  // [G - 1][NC - 1] for up to 4 heads at once and head_dim 16..128.
  static constexpr std::array<std::array<GroupFn, 8>, 4> kFns = {
      group_row<1>(std::make_integer_sequence<int, 8>{}),
      group_row<2>(std::make_integer_sequence<int, 8>{}),
      group_row<3>(std::make_integer_sequence<int, 8>{}),
      group_row<4>(std::make_integer_sequence<int, 8>{})};
  if (head_dim % 16 != 0 || head_dim > 128) return false;
  const int64_t n = key_end - key_begin;
  for (int64_t h = 0; h < n_q; h += 4) {
    const int64_t g = std::min<int64_t>(4, n_q - h);
    kFns[static_cast<size_t>(g - 1)][static_cast<size_t>(head_dim / 16 - 1)](
        q + h * head_dim, kt, ld, v, v_stride, key_begin, n, scale, softcap, out + h * head_dim,
        scores);
  }
  return true;
}

}  // namespace kiln::cpu
#endif
