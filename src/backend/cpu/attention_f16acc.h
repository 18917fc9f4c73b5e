// Internal to attention_f16acc (ops.h): the per-row steps of ggml's CPU
// flash attention with an F16 V accumulator, in a scalar and an AVX2+F16C
// version that give bit-identical results. `r16(x)` below means x rounded to
// the nearest F16 value (ties to even) and back to float.
//
// Summation order of dot_f16 (both versions): 8 lanes, lane j sums elements
// j, j + 8, j + 16, ... in order; then ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
// Products of two F16 values are exact in F32, so fused and unfused
// multiply-adds agree.
#pragma once

#include <cstdint>

namespace kiln::cpu::fa16 {

struct RowKernels {
  // sum_i q[i] * r16(k[i]); q already F16-exact. n: any (the AVX2 version
  // requires n % 8 == 0).
  float (*dot_f16)(const float* q, const float* k, int64_t n);
  // acc[i] = r16(acc[i] * s)
  void (*scale_r16)(float* acc, int64_t n, float s);
  // acc[i] = r16(fma(r16(v[i]), s, acc[i]))
  void (*mad_r16)(float* acc, const float* v, int64_t n, float s);
};

const RowKernels& scalar_kernels();
const RowKernels& avx2_kernels();  // precondition: the CPU has AVX2, FMA and F16C

}  // namespace kiln::cpu::fa16
