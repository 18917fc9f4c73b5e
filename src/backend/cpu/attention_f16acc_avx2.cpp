// AVX2 + FMA + F16C versions of the fa16 row kernels (compiled with those
// flags, entered only after run-time detection). Bit-identical to the scalar
// ones: F16 rounding is _mm256_cvtps_ph with round-to-nearest-even.
#include "backend/cpu/attention_f16acc.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace kiln::cpu::fa16 {
namespace {

inline __m256 r16(__m256 x) {
  return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

float dot_avx2(const float* q, const float* k, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 8) {
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), r16(_mm256_loadu_ps(k + i)), acc);
  }
  // ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  const __m128 pair = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1)));
}

void scale_avx2(float* acc, int64_t n, float s) {
  const __m256 vs = _mm256_set1_ps(s);
  for (int64_t i = 0; i < n; i += 8) {
    _mm256_storeu_ps(acc + i, r16(_mm256_mul_ps(_mm256_loadu_ps(acc + i), vs)));
  }
}

void mad_avx2(float* acc, const float* v, int64_t n, float s) {
  const __m256 vs = _mm256_set1_ps(s);
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 x = r16(_mm256_loadu_ps(v + i));
    _mm256_storeu_ps(acc + i, r16(_mm256_fmadd_ps(x, vs, _mm256_loadu_ps(acc + i))));
  }
}

}  // namespace

const RowKernels& avx2_kernels() {
  static const RowKernels kernels{dot_avx2, scale_avx2, mad_avx2};
  return kernels;
}

}  // namespace kiln::cpu::fa16
#else
namespace kiln::cpu::fa16 {
const RowKernels& avx2_kernels() { return scalar_kernels(); }
}  // namespace kiln::cpu::fa16
#endif
