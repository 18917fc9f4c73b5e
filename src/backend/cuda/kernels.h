// Host-side declarations of the kernel launchers (defined in kernels_<type>.cu
// and convert.cu); includable from host C++ (no device code).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/layout.h"

namespace kiln::cuda {

// Plane base pointers of one packed matrix and its blocks per row.
struct Planes {
  const uint8_t* p[4];
  int64_t nblocks;  // blocks per row
};

inline Planes make_planes(GgmlType t, const void* data, int64_t rows, int64_t cols) {
  Planes pl{};
  const TypeLayout l = type_layout(t);
  for (int i = 0; i < l.n_planes; ++i) {
    pl.p[i] = static_cast<const uint8_t*>(data) + plane_offset(t, rows, cols, i);
  }
  pl.nblocks = cols / l.block_elems;
  return pl;
}

// y[c][r] = sum_k W[r][k] x[c][k] for c < nc (1..8); x: [nc][K] of xtype
// (0 F32, 1 F16, 2 BF16), y: [nc][rows] F32.
template <GgmlType T>
cudaError_t launch_matvec(const Planes& w, int rows, int K, const void* x, int xtype, int nc,
                          float* y, cudaStream_t stream);

// Decode kernel configuration for one column (v8, docs/perf.md): the staged
// kernel (matvec_staged.cuh) with rows_per_stage rows per stage, the grid
// capped at blocks_per_sm blocks per SM, at most smem_kb KB of shared memory
// per block, rows_per_warp rows per warp (0: the type's default, else 1, 2
// or 4 where instantiated); rows_per_stage 0 = the register kernels
// (matvec_int.cuh for quantized types, matvec.cuh for F16/BF16).
struct StagedConfig {
  int rows_per_stage = 0;
  int blocks_per_sm = 1;
  int smem_kb = 0;
  int rows_per_warp = 0;
};
inline constexpr StagedConfig kStagedConfigs[] = {
    {16, 1, 200, 0}, {16, 1, 110, 0}, {8, 1, 200, 0},  {8, 2, 110, 0}, {16, 2, 110, 0},
    {16, 1, 200, 4}, {16, 2, 110, 4}, {32, 1, 200, 4}, {8, 2, 110, 4}, {8, 1, 200, 4},
    {16, 1, 200, 2}, {16, 2, 110, 2}, {32, 1, 200, 2}};
inline constexpr int kNumStagedConfigs =
    static_cast<int>(sizeof(kStagedConfigs) / sizeof(kStagedConfigs[0]));

// Kernel choice of launch_matvec at one column, for kernel_bench's sweep and
// the tests: 0 = automatic (the default); 1 = the register kernel with its
// automatic software-pipeline choice, 2 = pipeline on, 3 = off;
// 4 + i = kStagedConfigs[i] (the register kernel where that does not fit).
// Process-wide; not for concurrent use with launches on other threads.
inline constexpr int kFirstStagedVariant = 4;
inline constexpr int kNumMatvecVariants = kFirstStagedVariant + kNumStagedConfigs;
void set_matvec_variant(int v);
int matvec_variant();

// out: [rows][K] F16, W dequantized.
template <GgmlType T>
cudaError_t launch_dequant_f16(const Planes& w, int rows, int K, void* out, cudaStream_t stream);

// dst[i] = src[i] converted: F32/F16/BF16 (xtype 0/1/2) -> F16 (to_bf16 = false) or BF16.
cudaError_t launch_convert_x(const void* src, int xtype, void* dst, bool to_bf16, int64_t n,
                             cudaStream_t stream);

}  // namespace kiln::cuda
