// Internal to the CPU matmul: activation formats and per-ISA dot kernels.
//
// Like ggml, a weight type is multiplied with activations converted to its
// "vec_dot type" (golden README, quirks): F32 -> F32, F16 -> F16, BF16 -> BF16,
// Q4_0/Q5_0/Q8_0/IQ4_NL -> Q8_0, Q4_1/Q5_1 -> Q8_1, K-quants/IQ4_XS -> Q8_K.
// Activation conversion is scalar and identical for every ISA, so the ISA
// paths differ from each other only in float summation order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/ggml_type.h"

namespace kiln::cpu {

// The activation type a weight type is multiplied with.
GgmlType activation_type(GgmlType wtype);

// Converts one activation row of n floats to act_type (F32/F16/BF16/Q8_0/
// Q8_1/Q8_K): Q8_0/Q8_1 as ggml's x86 quantize_row_q8_0/1 (d = amax/127,
// round half to even), Q8_K as quantize_row_q8_K_ref. dst: act_row_bytes.
// Q8_0/Q8_1 rows are the ggml blocks followed by one Q8Extras per block (the
// SIMD kernels read d as float and fold the block sum into integer dots).
struct Q8Extras {
  float d;      // the block's d, as float (= the stored half)
  int32_t sum;  // sum of the block's quants
};

void quantize_activations(GgmlType act_type, const float* x, void* dst, int64_t n);
size_t act_row_bytes(GgmlType act_type, int64_t n);

// Max tokens one dot call handles: the weight row is unpacked once for all.
inline constexpr int kMaxDotTokens = 4;

// out[t] = dot(weight row w, activation row x[t]) for t < nt (1..kMaxDotTokens),
// n elements. Each out[t] is computed exactly as with nt == 1, so results do
// not depend on how tokens are grouped.
using DotFn = void (*)(int64_t n, const void* w, const void* const* x, int nt, float* out);

// Multi-row kernels: out[t * kMaxDotRows + r] = dot(row r, x[t]) for r < nr
// (1..kMaxDotRows; rows w + r * w_stride), t < nt. One SIMD lane per row, so
// the float scaling of a block is shared by 8 outputs; each output is still
// computed independently of nr and nt.
inline constexpr int kMaxDotRows = 8;
using RowsDotFn = void (*)(int64_t n, const void* w, size_t w_stride, int nr, const void* const* x,
                           int nt, float* out);

// The kernels of one ISA: nullptr where it has none for the type.
DotFn scalar_dot(GgmlType wtype);           // every type can_dequantize accepts
DotFn avx2_dot(GgmlType wtype);             // needs AVX2 + FMA + F16C
DotFn avx512_dot(GgmlType wtype);           // needs AVX-512 F/BW/VL + VNNI (256-bit kernels)
RowsDotFn avx2_rows_dot(GgmlType wtype);    // legacy block types only
RowsDotFn avx512_rows_dot(GgmlType wtype);  // legacy block types only

}  // namespace kiln::cpu
