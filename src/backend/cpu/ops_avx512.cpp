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

// out: [head_dim] = sum_j p[j] * v[j * v_stride + .], NC >= ceil(head_dim / 16)
// 16-float chunks (the last one masked).
template <int NC>
__attribute__((noinline)) void weighted_sum(const float* p, int64_t n, const float* v,
                                            int64_t v_stride, int64_t head_dim, float* out) {
  __m512 o[NC];
  for (int c = 0; c < NC; ++c) o[c] = _mm512_setzero_ps();
  const int64_t left = head_dim - 16 * (NC - 1);  // 1..16 elements in the last chunk
  const __mmask16 last = left >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
  // Two keys per step into separate accumulators: 2 * NC FMA chains in flight.
  __m512 o2[NC];
  for (int c = 0; c < NC; ++c) o2[c] = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 2 <= n; j += 2) {
    const __m512 p0 = _mm512_set1_ps(p[j]), p1 = _mm512_set1_ps(p[j + 1]);
    const float* v0 = v + j * v_stride;
    const float* v1 = v0 + v_stride;
#pragma GCC unroll 16
    for (int c = 0; c < NC - 1; ++c) {
      o[c] = _mm512_fmadd_ps(p0, _mm512_loadu_ps(v0 + 16 * c), o[c]);
      o2[c] = _mm512_fmadd_ps(p1, _mm512_loadu_ps(v1 + 16 * c), o2[c]);
    }
    o[NC - 1] = _mm512_fmadd_ps(p0, _mm512_maskz_loadu_ps(last, v0 + 16 * (NC - 1)), o[NC - 1]);
    o2[NC - 1] = _mm512_fmadd_ps(p1, _mm512_maskz_loadu_ps(last, v1 + 16 * (NC - 1)), o2[NC - 1]);
  }
  if (j < n) {
    const __m512 p0 = _mm512_set1_ps(p[j]);
    const float* v0 = v + j * v_stride;
#pragma GCC unroll 16
    for (int c = 0; c < NC - 1; ++c) o[c] = _mm512_fmadd_ps(p0, _mm512_loadu_ps(v0 + 16 * c), o[c]);
    o[NC - 1] = _mm512_fmadd_ps(p0, _mm512_maskz_loadu_ps(last, v0 + 16 * (NC - 1)), o[NC - 1]);
  }
  for (int c = 0; c < NC; ++c) o[c] = _mm512_add_ps(o[c], o2[c]);
  for (int c = 0; c < NC - 1; ++c) _mm512_storeu_ps(out + 16 * c, o[c]);
  _mm512_mask_storeu_ps(out + 16 * (NC - 1), last, o[NC - 1]);
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

bool avx512_attention_kt(const float* q, const float* kt, int64_t ld, const float* v,
                         int64_t v_stride, int64_t key_begin, int64_t key_end, int64_t head_dim,
                         float scale, float softcap, float* out, float* scores) {
  const int nc = static_cast<int>((head_dim + 15) / 16);
  if (nc > 8) return false;  // head_dim <= 128 (the scalar path takes the rest)
  const int64_t n = key_end - key_begin;
  // Scores, 16 keys per vector; eight partial sums over d keep eight FMA chains in flight.
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m =
        n - j >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (n - j)) - 1);
    const float* col = kt + key_begin + j;
    __m512 a[8];
    for (int i = 0; i < 8; ++i) a[i] = _mm512_setzero_ps();
    int64_t d = 0;
    for (; d + 8 <= head_dim; d += 8) {
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        a[i] = _mm512_fmadd_ps(_mm512_set1_ps(q[d + i]),
                               _mm512_maskz_loadu_ps(m, col + (d + i) * ld), a[i]);
      }
    }
    for (; d < head_dim; ++d) {
      a[0] = _mm512_fmadd_ps(_mm512_set1_ps(q[d]), _mm512_maskz_loadu_ps(m, col + d * ld), a[0]);
    }
    const __m512 s =
        _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])),
                      _mm512_add_ps(_mm512_add_ps(a[4], a[5]), _mm512_add_ps(a[6], a[7])));
    _mm512_mask_storeu_ps(scores + j, m, _mm512_mul_ps(s, _mm512_set1_ps(scale)));
  }
  if (softcap > 0.0f) {
    for (int64_t j = 0; j < n; ++j) scores[j] = softcap * std::tanh(scores[j] / softcap);
  }
  softmax_inplace(scores, n);
  const float* vb = v + key_begin * v_stride;
  switch (nc) {  // register-resident accumulators need a compile-time count
    case 1:
      weighted_sum<1>(scores, n, vb, v_stride, head_dim, out);
      break;
    case 2:
      weighted_sum<2>(scores, n, vb, v_stride, head_dim, out);
      break;
    case 3:
      weighted_sum<3>(scores, n, vb, v_stride, head_dim, out);
      break;
    case 4:
      weighted_sum<4>(scores, n, vb, v_stride, head_dim, out);
      break;
    case 5:
      weighted_sum<5>(scores, n, vb, v_stride, head_dim, out);
      break;
    case 6:
      weighted_sum<6>(scores, n, vb, v_stride, head_dim, out);
      break;
    case 7:
      weighted_sum<7>(scores, n, vb, v_stride, head_dim, out);
      break;
    case 8:
      weighted_sum<8>(scores, n, vb, v_stride, head_dim, out);
      break;
    default:
      return false;
  }
  return true;
}

}  // namespace kiln::cpu
#endif
