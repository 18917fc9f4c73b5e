// The decode kernels' automatic choices (backend/cuda/choice.h), checked on
// the CPU so that CI runs them: each measured shape class maps to the kernel
// docs/perf.md measured best there.
#include <gtest/gtest.h>

#include <cstdint>

#include "backend/cuda/choice.h"
#include "core/ggml_type.h"

namespace kiln::cuda {
namespace {

// The automatic one-column choice maps the llama7b / tinyllama shapes to the
// variants measured best in docs/perf.md (v9, v17, v19, v31, v37, v42, v43, v52).
TEST(CudaMatvecAuto, MeasuredChoices) {
  constexpr int kReg = 1, kRegNoPipe = 3, kS16 = kFirstStagedVariant, kS8 = kFirstStagedVariant + 2;
  constexpr int kS8x2 = kFirstStagedVariant + 3;
  constexpr int kS32R2 = kFirstStagedVariant + 12, kS8Max = kFirstStagedVariant + 13;
  constexpr int kS8Pre1 = kFirstStagedVariant + 14;
  constexpr int kS16R2Pre1 = kFirstStagedVariant + 16, kS8x2NoPre = kFirstStagedVariant + 18;
  constexpr int kS8Pre1LG = kFirstStagedVariant + 20, kS8MaxPre1LG = kFirstStagedVariant + 22;
  static_assert(kStagedConfigs[0].rows_per_stage == 16 && kStagedConfigs[3].blocks_per_sm == 2);
  static_assert(kStagedConfigs[10].rows_per_warp == 2 && kStagedConfigs[11].blocks_per_sm == 2);
  static_assert(kStagedConfigs[12].rows_per_stage == 32 && kStagedConfigs[13].smem_kb == 227);
  static_assert(kStagedConfigs[14].pre_wait_stages == 1 && kStagedConfigs[15].smem_kb == 227);
  static_assert(kStagedConfigs[16].rows_per_warp == 2 && kStagedConfigs[16].pre_wait_stages == 1);
  static_assert(kStagedConfigs[18].blocks_per_sm == 2 && kStagedConfigs[18].pre_wait_stages == -1);
  const GgmlType q40 = GgmlType::Q4_0, q51 = GgmlType::Q5_1, q80 = GgmlType::Q8_0;
  EXPECT_EQ(auto_matvec_variant(q40, 4096, 4096), kS16);
  EXPECT_EQ(auto_matvec_variant(q80, 4096, 4096), kS32R2);
  for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q2_K})
    EXPECT_EQ(auto_matvec_variant(t, 4096, 4096), kS16);
  EXPECT_EQ(auto_matvec_variant(GgmlType::Q6_K, 4096, 11008), kS8Pre1LG);
  EXPECT_EQ(auto_matvec_variant(q40, 4096, 11008), kS8Pre1);
  EXPECT_EQ(auto_matvec_variant(q51, 4096, 11008), kS8Pre1);
  EXPECT_EQ(auto_matvec_variant(q80, 4096, 11008), kS8MaxPre1LG);
  EXPECT_EQ(auto_matvec_variant(GgmlType::Q3_K, 4096, 11008), kRegNoPipe);
  EXPECT_EQ(auto_matvec_variant(GgmlType::Q4_K, 4096, 11008), kS8Pre1LG);
  EXPECT_EQ(auto_matvec_variant(GgmlType::Q5_K, 4096, 11008), kS8x2NoPre);
  // v73: Q5_K from 11008 rows on the wide register kernel.
  EXPECT_EQ(auto_matvec_variant(GgmlType::Q5_K, 11008, 4096), kRegWideVariant);
  EXPECT_EQ(auto_matvec_variant(GgmlType::Q5_K, 32000, 4096), kRegWideVariant);
  EXPECT_EQ(auto_matvec_variant(GgmlType::Q2_K, 4096, 11008), kS32R2);
  EXPECT_EQ(auto_matvec_variant(q40, 11008, 4096), kS32R2);
  EXPECT_EQ(auto_matvec_variant(GgmlType::Q5_0, 11008, 4096), kS32R2);
  EXPECT_EQ(auto_matvec_variant(q51, 11008, 4096), kS32R2);
  EXPECT_EQ(auto_matvec_variant(q80, 11008, 4096), kS16R2Pre1);
  EXPECT_EQ(auto_matvec_variant(GgmlType::Q4_K, 11008, 4096), kS32R2);
  for (GgmlType t : {q40, q80, GgmlType::Q4_K}) {
    EXPECT_EQ(auto_matvec_variant(t, 32000, 4096), kReg);
    EXPECT_EQ(auto_matvec_variant(t, 5632, 2048), kReg);
    EXPECT_EQ(auto_matvec_variant(t, 256, 2048), kReg);
  }
  for (GgmlType t : {GgmlType::F16, GgmlType::BF16}) {  // the tensor-core kernel
    EXPECT_EQ(auto_matvec_variant(t, 4096, 4096), kS8x2);
    EXPECT_EQ(auto_matvec_variant(t, 2048, 2048), kS8x2);
    EXPECT_EQ(auto_matvec_variant(t, 11008, 4096), kS8Max);
    EXPECT_EQ(auto_matvec_variant(t, 4096, 11008), kS8Max);
    EXPECT_EQ(auto_matvec_variant(t, 32000, 4096), kS8Max);
  }
  EXPECT_EQ(auto_matvec_variant(q80, 2048, 2048), kS8);
  EXPECT_EQ(auto_matvec_variant(GgmlType::Q2_K, 2048, 5632), kFirstStagedVariant + 4);
  EXPECT_EQ(auto_matvec_variant(GgmlType::F16, 2048, 5632), kS8);
  EXPECT_EQ(auto_matvec_variant(q40, 2048, 2048), kReg);
  EXPECT_EQ(auto_matvec_variant(q40, 2048, 5632), kS32R2);
  EXPECT_EQ(auto_matvec_variant(q80, 2048, 5632), kS8Max);
  EXPECT_EQ(auto_matvec_variant(GgmlType::Q6_K, 2048, 5632), kS8);
}

// Multi-column tensor-core kernel: where it takes over from the register
// kernel (v47 measurements) and how its 16 warps split (rows x K-slices).
TEST(CudaMmqChoice, MinColumnsByRows) {
  EXPECT_EQ(mmq_min_cols(2048), 3);
  EXPECT_EQ(mmq_min_cols(4096), 3);
  EXPECT_EQ(mmq_min_cols(11008), 4);
  EXPECT_EQ(mmq_min_cols(32000), 6);
  // v59: at K < 4096 by type (tinyllama): never for the 16-element sub-block
  // types up to 8192 rows, early for the K-quants at 32000 rows.
  EXPECT_GT(mmq_min_cols_f32(GgmlType::Q6_K, 5632, 2048), 8);
  EXPECT_EQ(mmq_min_cols_f32(GgmlType::Q4_0, 5632, 2048), 4);
  EXPECT_EQ(mmq_min_cols_f32(GgmlType::Q4_K, 5632, 2048), 5);
  EXPECT_EQ(mmq_min_cols_f32(GgmlType::Q8_0, 2048, 2048), 3);
  EXPECT_EQ(mmq_min_cols_f32(GgmlType::Q4_K, 256, 2048), 4);
  EXPECT_EQ(mmq_min_cols_f32(GgmlType::Q6_K, 2048, 2048), 7);
  EXPECT_EQ(mmq_min_cols_f32(GgmlType::Q2_K, 32000, 2048), 3);
  EXPECT_EQ(mmq_min_cols_f32(GgmlType::Q4_0, 32000, 2048), mmq_min_cols(32000));
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q6_K, GgmlType::Q8_0})  // K >= 4096: by rows only
    EXPECT_EQ(mmq_min_cols_f32(t, 11008, 4096), mmq_min_cols(11008));
  for (int64_t rows : {1, 100, 4096, 8192, 8193, 20000, 1 << 20}) {
    EXPECT_GE(mmq_min_cols(rows), 3);  // 2 columns: the register kernel everywhere
    EXPECT_LE(mmq_min_cols(rows), 8);
  }
}

TEST(CudaMmqChoice, RowTilesPerGroup) {
  EXPECT_EQ(mmq_row_tiles(4096, 132), 2);    // 128 groups: one round on 132 SMs
  EXPECT_EQ(mmq_row_tiles(11008, 132), 2);   // 344 groups: 3 rounds at 87%
  EXPECT_EQ(mmq_row_tiles(32000, 132), 16);  // 125 groups, each warp the whole K
  EXPECT_EQ(mmq_row_tiles(77, 132), 1);      // fewer tiles than SMs: one tile per block
  for (int64_t rows = 1; rows <= 40000; rows += 97) {
    const int rt = mmq_row_tiles(rows, 132);
    EXPECT_TRUE(rt == 1 || rt == 2 || rt == 4 || rt == 8 || rt == 16) << rows;
    const int64_t tiles = (rows + 15) / 16;
    // Never more tiles per group than there are tiles per SM (rounded up to a power of two).
    EXPECT_LE(rt, 2 * ((tiles + 131) / 132)) << rows;
  }
}

// With activations quantized beforehand (v53, s7 call 10): the register
// kernel at 11008 rows for Q4_0/Q4_K/Q8_0, at 4096 x 4096 for Q8_0 and at
// 4096 x 11008 for Q4_0; the wide register kernel for Q4_K/Q5_K at 4096 x
// 11008 (v73); every other cell and the small shapes as for F32 activations.
TEST(CudaMatvecAuto, MeasuredChoicesQ8Activations) {
  constexpr int kReg = 1;
  const GgmlType q40 = GgmlType::Q4_0, q4k = GgmlType::Q4_K, q80 = GgmlType::Q8_0;
  EXPECT_EQ(auto_matvec_variant_q8x(q80, 4096, 4096), kReg);
  EXPECT_EQ(auto_matvec_variant_q8x(q40, 4096, 4096), auto_matvec_variant(q40, 4096, 4096));
  EXPECT_EQ(auto_matvec_variant_q8x(q4k, 4096, 4096), auto_matvec_variant(q4k, 4096, 4096));
  EXPECT_EQ(auto_matvec_variant_q8x(q40, 4096, 11008), kReg);
  // v73: Q4_K and Q5_K on the register kernel with two units per lane per batch.
  EXPECT_EQ(auto_matvec_variant_q8x(q4k, 4096, 11008), kRegWideVariant);
  EXPECT_EQ(auto_matvec_variant_q8x(GgmlType::Q5_K, 4096, 11008), kRegWideVariant);
  EXPECT_EQ(auto_matvec_variant_q8x(GgmlType::Q5_K, 11008, 4096), kRegWideVariant);
  // v64: Q6_K on the register kernel at K = 11008 up to 8192 rows, Q8_0 at 4096 x 11008 only.
  EXPECT_EQ(auto_matvec_variant_q8x(q80, 4096, 11008), kReg);
  EXPECT_EQ(auto_matvec_variant_q8x(q80, 8192, 11008), auto_matvec_variant(q80, 8192, 11008));
  EXPECT_NE(auto_matvec_variant(q80, 8192, 11008), kReg);
  EXPECT_EQ(auto_matvec_variant_q8x(GgmlType::Q6_K, 4096, 11008), kReg);
  EXPECT_EQ(auto_matvec_variant_q8x(GgmlType::Q6_K, 8192, 11008), kReg);
  EXPECT_NE(auto_matvec_variant(GgmlType::Q6_K, 4096, 11008), kReg);
  for (GgmlType t : {q40, q4k, q80, GgmlType::Q4_1, GgmlType::Q5_0})
    EXPECT_EQ(auto_matvec_variant_q8x(t, 11008, 4096), kReg);
  // v56: Q2_K on the register kernel (no software pipeline at K = 11008), Q4_1
  // with 32-row stages at 4096 x 11008.
  EXPECT_EQ(auto_matvec_variant_q8x(GgmlType::Q2_K, 4096, 4096), kReg);
  EXPECT_EQ(auto_matvec_variant_q8x(GgmlType::Q2_K, 4096, 11008), 3);
  EXPECT_EQ(auto_matvec_variant_q8x(GgmlType::Q4_1, 4096, 11008), kFirstStagedVariant + 12);
  EXPECT_EQ(auto_matvec_variant_q8x(GgmlType::Q5_0, 4096, 11008), kReg);
  static_assert(kStagedConfigs[12].rows_per_stage == 32 && kStagedConfigs[12].rows_per_warp == 2);
  for (GgmlType t :
       {GgmlType::Q5_1, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q2_K, GgmlType::Q3_K}) {
    EXPECT_EQ(auto_matvec_variant_q8x(t, 11008, 4096), auto_matvec_variant(t, 11008, 4096));
    EXPECT_EQ(auto_matvec_variant_q8x(t, 32000, 4096), auto_matvec_variant(t, 32000, 4096));
  }
  EXPECT_EQ(auto_matvec_variant_q8x(q40, 2048, 5632), auto_matvec_variant(q40, 2048, 5632));
  EXPECT_EQ(auto_matvec_variant_q8x(q80, 256, 2048), auto_matvec_variant(q80, 256, 2048));
}

// Two columns and the tensor-core crossover with activations quantized
// beforehand (v55, s8 call 1): the register kernel at 2 columns but for the
// K-quants and Q5_0/Q5_1 at 4096 x 4096, Q4_K at 4096 x 11008 and Q5_K at
// 32000 rows; the tensor-core kernel later than with F32 x, never for Q8_0
// at K = 4096.
TEST(CudaMatvecAuto, MeasuredMultiColumnQ8Activations) {
  constexpr int kReg = 1;
  const GgmlType q40 = GgmlType::Q4_0, q4k = GgmlType::Q4_K, q5k = GgmlType::Q5_K;
  const GgmlType q80 = GgmlType::Q8_0, q6k = GgmlType::Q6_K;
  for (GgmlType t : {q5k, GgmlType::Q5_0, GgmlType::Q5_1}) {
    EXPECT_EQ(auto_matvec_variant_q8x2(t, 4096, 4096), auto_matvec_variant_q8x(t, 4096, 4096));
    EXPECT_GE(auto_matvec_variant_q8x2(t, 4096, 4096), kFirstStagedVariant);
  }
  for (GgmlType t : {q40, q6k, GgmlType::Q2_K, GgmlType::Q3_K})
    EXPECT_EQ(auto_matvec_variant_q8x2(t, 4096, 4096), kReg);
  EXPECT_EQ(auto_matvec_variant_q8x2(q4k, 4096, 11008), auto_matvec_variant_q8x(q4k, 4096, 11008));
  // v73: Q4_K on the wide register kernel from 4096 x 4096 on, Q5_K but at 4096 x 4096.
  for (int64_t rows : {4096, 11008, 32000}) {
    EXPECT_EQ(auto_matvec_variant_q8x2(q4k, rows, 4096), kRegWideVariant) << rows;
    if (rows > 4096) {
      EXPECT_EQ(auto_matvec_variant_q8x2(q5k, rows, 4096), kRegWideVariant) << rows;
    }
  }
  EXPECT_EQ(auto_matvec_variant_q8x2(q4k, 4096, 11008), kRegWideVariant);
  EXPECT_EQ(auto_matvec_variant_q8x2(q5k, 4096, 11008), kRegWideVariant);
  for (GgmlType t : {q6k, q80, GgmlType::Q5_1})
    EXPECT_EQ(auto_matvec_variant_q8x2(t, 4096, 11008), kReg);
  EXPECT_EQ(auto_matvec_variant_q8x2(GgmlType::Q5_1, 11008, 4096), kReg);
  EXPECT_EQ(auto_matvec_variant_q8x2(q5k, 32000, 4096), auto_matvec_variant_q8x(q5k, 32000, 4096));
  EXPECT_EQ(auto_matvec_variant_q8x2(q40, 2048, 5632), auto_matvec_variant_q8x(q40, 2048, 5632));

  EXPECT_GT(mmq_min_cols_q8x(q80, 4096, 4096), 8);
  EXPECT_EQ(mmq_min_cols_q8x(q80, 4096, 11008), 8);
  EXPECT_EQ(mmq_min_cols_q8x(q4k, 4096, 11008), 3);
  EXPECT_EQ(mmq_min_cols_q8x(q5k, 4096, 4096), 5);
  EXPECT_EQ(mmq_min_cols_q8x(q4k, 11008, 4096), 4);
  EXPECT_EQ(mmq_min_cols_q8x(q40, 4096, 4096), 7);
  EXPECT_EQ(mmq_min_cols_q8x(q6k, 4096, 11008), 6);
  // tinyllama (K = 2048): the register kernel to 7 columns, never the
  // tensor-core kernel for Q6_K; at 32000 rows the K-quants switch early.
  EXPECT_EQ(mmq_min_cols_q8x(q40, 2048, 2048), 8);
  EXPECT_GT(mmq_min_cols_q8x(q6k, 5632, 2048), 8);
  EXPECT_EQ(mmq_min_cols_q8x(q6k, 32000, 2048), 3);
  EXPECT_EQ(mmq_min_cols_q8x(q4k, 32000, 2048), 4);
  EXPECT_EQ(mmq_min_cols_q8x(q80, 32000, 2048), 8);
  EXPECT_EQ(mmq_min_cols_q8x(q40, 2048, 5632), mmq_min_cols_f32(q40, 2048, 5632));  // as F32 x
  EXPECT_EQ(mmq_min_cols_q8x(q40, 2048, 5632), 3);
  for (int64_t rows : {4096, 11008, 32000})  // the 32-element types later than with F32 x
    for (GgmlType t : {q40, q80, q6k})
      EXPECT_GT(mmq_min_cols_q8x(t, rows, 4096), mmq_min_cols(rows));
}

}  // namespace
}  // namespace kiln::cuda
