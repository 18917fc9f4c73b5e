// The decode kernels' configurations and the automatic choices among them
// (measured in docs/perf.md): host-only constexpr code without CUDA headers,
// so that the CPU tests (tests/backend/cuda_choice_test.cpp) check them in CI.
// kernels.h includes it; the launchers (kernels_impl.cuh) apply it.
#pragma once

#include <cstdint>

#include "backend/cuda/layout.h"
#include "core/ggml_type.h"

namespace kiln::cuda {

// Decode kernel configuration for one column (v8-v11, docs/perf.md). Quantized
// types: the staged kernel (matvec_staged.cuh) with rows_per_stage rows per
// stage, the grid capped at blocks_per_sm blocks per SM, at most smem_kb KB of
// shared memory per block, rows_per_warp rows per warp (0: the type's
// default, else 1, 2 or 4 where instantiated). F16/BF16: the tensor-core
// kernel (matvec_mma.cuh) with blocks_per_sm and smem_kb (its ring depth);
// rows_per_stage, rows_per_warp and pre_wait_stages do not apply to it. rows_per_stage 0 = the
// register kernels (matvec_int.cuh for quantized types, matvec.cuh for F16/BF16).
// pre_wait_stages: ring buffers of the staged kernel filled before
// griddepcontrol.wait (0 = all, -1 = none; the others after x's loads are issued, v17).
struct StagedConfig {
  int rows_per_stage = 0;
  int blocks_per_sm = 1;
  int smem_kb = 0;
  int rows_per_warp = 0;
  int pre_wait_stages = 0;
  // 4: four rows per warp as groups of 8 lanes, one row per lane (v43;
  // rows_per_warp does not apply); 0: rows in registers.
  int lane_rows = 0;
};
inline constexpr StagedConfig kStagedConfigs[] = {
    {16, 1, 200, 0},
    {16, 1, 110, 0},
    {8, 1, 200, 0},
    {8, 2, 110, 0},
    {16, 2, 110, 0},
    {16, 1, 200, 4},
    {16, 2, 110, 4},
    {32, 1, 200, 4},
    {8, 2, 110, 4},
    {8, 1, 200, 4},
    {16, 1, 200, 2},
    {16, 2, 110, 2},
    {32, 1, 200, 2},
    {8, 1, 227, 0},
    // v17: one or no ring buffer copied before the wait (variants 18-22)
    {8, 1, 200, 0, 1},
    {8, 1, 227, 0, 1},
    {16, 1, 200, 2, 1},
    {8, 1, 200, 0, -1},
    {8, 2, 110, 0, -1},
    // v43: four rows per warp as lane groups (variants 23-27 = 4, 18, 16, 19, 22 so)
    {16, 1, 200, 0, 0, 4},
    {8, 1, 200, 0, 1, 4},
    {32, 1, 200, 0, 0, 4},
    {8, 1, 227, 0, 1, 4},
    {8, 2, 110, 0, -1, 4}};
inline constexpr int kNumStagedConfigs =
    static_cast<int>(sizeof(kStagedConfigs) / sizeof(kStagedConfigs[0]));

// Variant numbers of the one-column kernel choice (kernels.h
// set_matvec_variant): 0 = automatic, 1-3 = the register kernels, 4 + i =
// kStagedConfigs[i], then kRegWideVariant: the register kernel with twice
// the units per lane per batch for the types whose unit holds 48 bytes or
// more in registers (Q4_K, Q5_K; v73: more weight bytes in flight per warp;
// the other types: as variant 1).
inline constexpr int kFirstStagedVariant = 4;
inline constexpr int kRegWideVariant = kFirstStagedVariant + kNumStagedConfigs;
inline constexpr int kNumMatvecVariants = kRegWideVariant + 1;

// Columns from which launch_matvec uses the multi-column tensor-core kernel
// (matvec_mmq.cuh) for the types it supports; below, the register kernel.
// Measured (v46, docs/perf.md): at 2 columns the register kernel is as fast
// or faster everywhere (2 columns run on the staged kernel where the
// one-column choice is staged, v51); up to 8192 rows the tensor-core kernel wins from 3
// columns, at 11008 rows from 4, at 32000 rows at 8 (5-7 not measured there).
constexpr int mmq_min_cols(int64_t rows) { return rows <= 8192 ? 3 : rows <= 16384 ? 4 : 6; }

// Type classes of the multi-column routing: Q4_K/Q5_K (64-element units, the
// register kernel's heaviest) and Q2_K/Q3_K/Q6_K (16-element sub-blocks: two
// k16 MMAs per sub-chunk in the tensor-core kernel).
constexpr bool unit64_kquant(GgmlType t) { return t == GgmlType::Q4_K || t == GgmlType::Q5_K; }
constexpr bool sub16_kquant(GgmlType t) {
  return t == GgmlType::Q2_K || t == GgmlType::Q3_K || t == GgmlType::Q6_K;
}

// mmq_min_cols refined by type at K < 4096 (v59, the tinyllama shapes with
// F32 x, s8 calls 12-13, every type at 3-8 columns, the register kernel
// against the tensor-core kernel forced). 5632 x 2048: the register kernel
// always for Q2_K/Q3_K/Q6_K (1.1-2x faster: Q2_K 3 columns 8.9 against 18.4
// us), to 4 columns for Q4_K/Q5_K, to 3 for the others. 2048 x 2048 and 256 x
// 2048: the tensor-core kernel from 3 columns for the 32-element types (2048 x
// 2048 Q8_0 3 columns 5.41 against 7.01), from 4 for Q4_K/Q5_K, from 7 for
// Q2_K/Q3_K/Q6_K (2048 x 2048 Q6_K 3 columns 5.69 against 8.56). 32000 x 2048:
// from 3 columns for Q2_K/Q3_K/Q6_K and 4 for Q4_K/Q5_K (Q6_K 4 columns 27.7
// against 39.1). K >= 4096, and 8193-16384 rows at K < 4096: mmq_min_cols.
constexpr int mmq_min_cols_f32(GgmlType t, int64_t rows, int64_t k) {
  const bool kq = unit64_kquant(t), sub16 = sub16_kquant(t);
  if (k < 4096 && rows <= 4096) return sub16 ? 7 : kq ? 4 : 3;
  if (k < 4096 && rows <= 8192) return sub16 ? 9 : kq ? 5 : 4;
  if (k < 4096 && rows > 16384 && (sub16 || kq)) return sub16 ? 3 : 4;
  return mmq_min_cols(rows);
}

// Groups of rt row tiles (of 16 rows) of the multi-column tensor-core kernel.
constexpr int64_t mmq_groups(int64_t rows, int rt) { return ((rows + 15) / 16 + rt - 1) / rt; }

// Row tiles (of 16 rows) per block group of the multi-column tensor-core
// kernel (matvec_mmq.cuh), whose 16 warps split as rt tiles x 16 / rt
// K-slices, one block per SM: the rt of 1..16 that keeps the most of the
// `sms` blocks busy over all rounds of groups; on a tie the larger rt (fewer
// groups per block, longer slices).
constexpr int mmq_row_tiles(int64_t rows, int sms) {
  const int64_t tiles = (rows + 15) / 16;
  int best = 1;
  double best_eff = -1;
  for (int rt = 1; rt <= 16; rt *= 2) {
    const int64_t groups = mmq_groups(rows, rt);
    const int64_t blocks = groups < sms ? groups : sms;
    const int64_t rounds = (groups + blocks - 1) / blocks;
    // Useful tile-slots over the slots the busy SMs hold, times the share of SMs busy.
    const double eff = static_cast<double>(tiles) / static_cast<double>(rounds * blocks * rt) *
                       static_cast<double>(blocks) / sms;
    if (eff >= best_eff - 1e-9) {
      best = rt;
      best_eff = eff;
    }
  }
  return best;
}

// The automatic choice at one column (variant 0): the variant measured best
// in docs/perf.md (v9-v11, v17, v19, v23, v31, v37, v42) for the shape class of rows x k, as a
// variant number (within ~2 points of the best on every llama7b and tinyllama shape). F16/BF16: the
// tensor-core kernel (matvec_mma.cuh), two blocks per SM up to 8192 x 4096, else one block with 200
// KB below 4096 rows and 227 KB from 4096. 4096-row class (4096 <= rows <= 8192, K >= 4096): the
// staged kernel; K = 4096 with 16 rows per stage (Q8_0: 32 and 2 rows per warp); K > 4096 with 8
// rows per stage and one stage before the wait, up to 200 KB (Q8_0 227 KB; Q8_0, Q4_K and Q6_K with
// four rows per warp as lane groups, v43; Q5_K two blocks per SM of 110 KB, none before the wait;
// Q3_K: the register kernel without its software pipeline).
// 2048-row class (rows < 4096, K >= 2048, >= 4M weights): K > 4096 staged (8 rows for
// Q8_0/Q3_K/Q6_K, 16 and two blocks per SM for Q2_K, else 32); K <= 4096 staged at 8 rows for Q8_0.
// More rows, K >= 4096: up to 16384 rows Q8_0 with 16 rows per stage, 2 per warp and one stage
// before the wait, Q4_0/Q4_1/Q5_0 at 32 rows per stage (v31; Q5_1 and Q4_K too, v52); Q5_K at 32
// rows per stage. Everything
// else (the other types at 11008 rows and more, small K): the register kernels.
constexpr int auto_matvec_variant(GgmlType t, int64_t rows, int64_t k) {
  constexpr int kReg = 1, kRegNoPipe = 3, kS16 = kFirstStagedVariant + 0;
  constexpr int kS8 = kFirstStagedVariant + 2, kS8x2 = kFirstStagedVariant + 3;
  constexpr int kS16x2 = kFirstStagedVariant + 4;
  constexpr int kS32R2 = kFirstStagedVariant + 12, kS8Max = kFirstStagedVariant + 13;
  constexpr int kS8Pre1 = kFirstStagedVariant + 14;
  constexpr int kS16R2Pre1 = kFirstStagedVariant + 16, kS8x2NoPre = kFirstStagedVariant + 18;
  // The lane-group forms (v43) of kS8Pre1 and kS8MaxPre1.
  constexpr int kS8Pre1LG = kFirstStagedVariant + 20, kS8MaxPre1LG = kFirstStagedVariant + 22;
  const TypeLayout l = type_layout(t);
  const int64_t row_bytes = l.block_elems == 0 ? 0 : k / l.block_elems * l.block_bytes;
  // n stages of 8 rows and the activations (<= 2.75 bytes per element) in kb KB.
  const auto fits = [&](int64_t n, int64_t kb) {
    return n * 8 * row_bytes + k * 11 / 4 + 512 <= kb * 1024;
  };
  if (l.block_elems == 0) return kReg;
  if (t == GgmlType::F16 || t == GgmlType::BF16)  // the tensor-core kernel (K % 256 == 0)
    return rows <= 8192 && k <= 4096 ? kS8x2 : rows < 4096 ? kS8 : kS8Max;
  if (rows < 4096 && k >= 2048 && rows * k >= (int64_t{4} << 20)) {  // 2048 x 2048, 2048 x 5632
    if (k <= 4096) return t == GgmlType::Q8_0 ? kS8 : kReg;
    if (t == GgmlType::Q8_0) return fits(2, 227) ? kS8Max : kReg;
    if (t == GgmlType::Q2_K) return kS16x2;
    if (t == GgmlType::Q3_K || t == GgmlType::Q6_K) return fits(2, 200) ? kS8 : kReg;
    return kS32R2;
  }
  if (rows >= 4096 && rows <= 8192 && k >= 4096) {
    if (k > 4096) {  // 4096 x 11008
      if (t == GgmlType::Q2_K) return kS32R2;
      if (t == GgmlType::Q3_K) return kRegNoPipe;
      if (t == GgmlType::Q8_0) return fits(2, 227) ? kS8MaxPre1LG : kReg;                  // v43
      if (t == GgmlType::Q5_K && fits(1, 110)) return kS8x2NoPre;                          // v42
      if ((t == GgmlType::Q4_K || t == GgmlType::Q6_K) && fits(2, 200)) return kS8Pre1LG;  // v43
      if (fits(2, 200)) return kS8Pre1;  // the 4/5-bit types
      return fits(1, 110) ? kS8x2 : kReg;
    }
    // 4096 x 4096 (v31: Q4_K/Q5_K one row per warp, Q6_K and Q2_K staged too)
    return t == GgmlType::Q8_0 ? kS32R2 : kS16;
  }
  if (rows > 8192 && k >= 4096) {  // 11008 x 4096, 32000 x 4096
    if (rows <= 16384) {
      if (t == GgmlType::Q8_0) return kS16R2Pre1;
      // v31: 32-element types with int8 activations; Q5_1 and Q4_K since v52
      if (t == GgmlType::Q4_0 || t == GgmlType::Q4_1 || t == GgmlType::Q5_0 ||
          t == GgmlType::Q5_1 || t == GgmlType::Q4_K)
        return kS32R2;
    }
    // v73: Q5_K on the wide register kernel (11008 x 4096 10.5 against 11.2 us).
    if (t == GgmlType::Q5_K) return kRegWideVariant;
  }
  return kReg;
}

// The automatic choice at one column when x arrives quantized (kXTypeQ8,
// v53, docs/perf.md): without each block rounding x, the register kernel
// (variant 1) wins at 11008 rows for Q4_0, Q4_K and Q8_0 (85.7 / 75.9 /
// 97.9% against 77.6 / 69.0 / 90.3), for Q8_0 at 4096 x 4096 (81.5 against
// 73.4) and for Q4_0 at 4096 x 11008 (78.8 against 72.6), and Q5_K at 4096 x
// 11008 takes the lane-group 8-row stages (69.0 against 63.2) (s7 call 10,
// every variant; confirmed A/B in call 11). The other cells: as for F32 x.
//
// v56 (s8 call 5, every variant at 4096 x 11008 and, against the new
// choices, at 4096 x 4096 and 11008 x 4096): Q2_K the register kernel at
// 4096 x 4096 (3.13 against 3.58 us) and without its software pipeline at
// 4096 x 11008 (6.74 against 7.92); Q4_1 32-row stages at 4096 x 11008
// (8.32 against 8.83); Q4_1 and Q5_0 the register kernel at 11008 rows
// (7.81 against 8.32, 9.68 against 10.04); Q5_0 the register kernel at 4096 x
// 11008 (9.97 against 10.30). Confirmed A/B in s8 call 6 (within 2%).
//
// v64 (s9 call 10, the choice against the register kernel, alternated three
// times): Q6_K the register kernel at 4096 x 11008 (10.68 against 11.01 us)
// and 8192 x 11008 (18.91 against 20.58); Q8_0 at 4096 x 11008 (12.31
// against 12.77), while at 8192 x 11008 its staged choice stays (24.24 against
// 24.96).
//
// v73 (s14 calls 3-4): Q4_K and Q5_K at 4096 x 11008 on the wide register
// kernel (kRegWideVariant; Q4_K 8.9 us, as the lane-group stages; Q5_K 10.65
// against 10.75), Q5_K from 11008 rows on it through the F32 choice.
constexpr int auto_matvec_variant_q8x(GgmlType t, int64_t rows, int64_t k) {
  constexpr int kReg = 1, kRegNoPipe = 3, kS32R2 = kFirstStagedVariant + 12;
  const int f32 = auto_matvec_variant(t, rows, k);
  if (rows < 4096 || k < 4096) return f32;
  if (rows <= 8192 && k == 4096) return t == GgmlType::Q8_0 || t == GgmlType::Q2_K ? kReg : f32;
  if (rows <= 8192) {
    if (unit64_kquant(t)) return kRegWideVariant;  // v73
    if (t == GgmlType::Q4_0 || t == GgmlType::Q5_0 || t == GgmlType::Q6_K) return kReg;
    if (t == GgmlType::Q8_0 && rows <= 4096) return kReg;
    if (t == GgmlType::Q2_K) return kRegNoPipe;
    return t == GgmlType::Q4_1 && f32 != kReg ? kS32R2 : f32;
  }
  if (rows <= 16384 && (t == GgmlType::Q4_0 || t == GgmlType::Q4_K || t == GgmlType::Q8_0 ||
                        t == GgmlType::Q4_1 || t == GgmlType::Q5_0))
    return kReg;
  return f32;
}

// Two columns with x quantized beforehand (v55, s8 call 1, every quantized
// type on the llama7b shapes): without each block rounding x, the register
// kernel (variant 1) is as fast or faster than the staged kernel except for
// the K-quants Q4_K/Q5_K and Q5_0/Q5_1 at 4096 x 4096 (4.7-5.0 against 4.9-5.3
// us), Q4_K at 4096 x 11008 (12.9 against 13.4) and Q5_K at 32000 rows (28.0
// against 30.6); there the one-column choice. Other shapes: the one-column choice.
constexpr int auto_matvec_variant_q8x2(GgmlType t, int64_t rows, int64_t k) {
  constexpr int kReg = 1;
  const int one = auto_matvec_variant_q8x(t, rows, k);
  if (rows < 4096 || k < 4096) return one;
  // v73 (s14 call 4): the wide register kernel for Q4_K, and for Q5_K but at
  // 4096 x 4096 (Q4_K 4096 x 11008 11.0 against 13.1 us, 11008 x 4096 8.7
  // against 9.9; Q5_K 11008 x 4096 10.6 against 11.8).
  if (t == GgmlType::Q4_K || (t == GgmlType::Q5_K && (rows > 8192 || k > 4096)))
    return kRegWideVariant;
  if (rows <= 8192 && k == 4096)
    return unit64_kquant(t) || t == GgmlType::Q5_0 || t == GgmlType::Q5_1 ? one : kReg;
  if (rows <= 8192) return t == GgmlType::Q4_K ? one : kReg;
  return rows > 16384 && t == GgmlType::Q5_K ? one : kReg;
}

// Columns from which the tensor-core kernel takes x quantized beforehand
// (v55, s8 call 1; 9 = never up to 8): the register kernel, no longer
// rounding x per block, holds out longer than with F32 x (mmq_min_cols_f32).
// Q8_0 only at K > 4096 and 8 columns; Q4_K/Q5_K (64-element units, the
// register kernel's heaviest) from 3 at K > 4096, 5 at 4096 x 4096, else 4;
// the other types from 6 at K > 4096, else 7 (s8 calls 1 and 3, 2-8
// columns: the tensor-core kernel's time is nearly flat in the columns,
// the register kernel's grows by 7-15% per column).
// K < 4096 (the tinyllama shapes, s8 call 10, 2-8 columns, every type): up
// to 8192 rows the register kernel up to 7 columns, and always for the types
// with 16-element sub-blocks (Q2_K, Q3_K, Q6_K: the tensor-core kernel 1.4-3x
// slower there); at 32000 x 2048 the tensor-core kernel from 3 (Q3_K, Q6_K),
// 4 (Q2_K, Q4_K, Q5_K), 6 (Q4_0, Q4_1), 7 (Q5_0, Q5_1) or 8 (Q8_0) columns.
// Unmeasured classes (fewer than 4096 rows at K >= 4096, 8193-16384 rows at
// K < 4096): as with F32 x.
constexpr int mmq_min_cols_q8x(GgmlType t, int64_t rows, int64_t k) {
  const bool kq = unit64_kquant(t);
  if (k < 4096 && rows <= 8192) return sub16_kquant(t) ? 9 : 8;
  if (k < 4096 && rows > 16384) {
    if (t == GgmlType::Q3_K || t == GgmlType::Q6_K) return 3;
    if (kq || t == GgmlType::Q2_K) return 4;
    if (t == GgmlType::Q4_0 || t == GgmlType::Q4_1) return 6;
    return t == GgmlType::Q8_0 ? 8 : 7;
  }
  if (rows < 4096 || k < 4096) return mmq_min_cols_f32(t, rows, k);
  if (t == GgmlType::Q8_0) return k > 4096 ? 8 : 9;
  if (kq) return k > 4096 ? 3 : rows <= 8192 ? 5 : 4;
  return k > 4096 ? 6 : 7;
}

}  // namespace kiln::cuda
