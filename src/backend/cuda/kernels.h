// Host-side declarations of the kernel launchers (defined in kernels_<type>.cu
// and convert.cu); includable from host C++ (no device code).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/choice.h"
#include "backend/cuda/layout.h"

namespace kiln::cuda {

// Plane base pointers of one packed matrix and its blocks per row.
struct Planes {
  const uint8_t* p[8];
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

// Activation element types (xtype) of the launchers: 0 F32, 1 F16, 2 BF16,
// and kXTypeQ8: activations already rounded to int8 by launch_quantize_x, per
// column K / 32 XBlocks of kXBlockBytes (idot.cuh), columns contiguous.
inline constexpr int kXTypeQ8 = 3;
inline constexpr int kXBlockBytes = 48;

// The output of a launcher: y as F32, F16 or BF16 (type 0/1/2, the xtype
// codes). The kernels sum in F32 and round once when they store (to nearest
// even), so an F16/BF16 y is the F32 y rounded, bit for bit.
struct YOut {
  void* p = nullptr;
  int type = 0;
};
inline constexpr bool valid_ytype(int t) { return t >= 0 && t <= 2; }

// y[c][r] = sum_k W[r][k] x[c][k] for c < nc (1..8); x: [nc][K] of xtype,
// y: [nc][rows] of y.type (cudaErrorInvalidValue for another type). kXTypeQ8 only for the quantized
// types (those whose decode rounds the activations to int8; cudaErrorInvalidValue for F16/BF16):
// the result is then bit for bit the one of the F32 x it was quantized from, and the kernels
// copy 1.5 bytes per element instead of loading and rounding x (perf.md v53).
template <GgmlType T>
cudaError_t launch_matvec(const Planes& w, int rows, int K, const void* x, int xtype, int nc,
                          YOut y, cudaStream_t stream);

// Kernel choice of launch_matvec at one column, for kernel_bench's sweep and
// the tests: 0 = automatic (the default); 1 = the register kernel with its
// automatic software-pipeline choice, 2 = pipeline on, 3 = off;
// 4 + i = kStagedConfigs[i] (the register kernel where that does not fit);
// kRegWideVariant (28) = the register kernel with two units per lane per
// batch (Q4_K/Q5_K, 1-2 columns, v73; the other types: as 1).
// At 2 columns the same numbers pick the staged configuration (v51); at
// 3..8: 1 = the register kernel, 2 = the tensor-core kernel where the type
// has one, any other = the automatic choice (the tensor-core kernel from
// mmq_min_cols_f32 columns, mmq_min_cols_q8x with Q8 x). The variants and
// the automatic choices: choice.h. Process-wide; not for concurrent use with launches on other
// threads.
void set_matvec_variant(int v);
int matvec_variant();

// Timing experiments only (kernel_bench --ablate; wrong results): parts of
// the staged and tensor-core kernels left out. Bits: 1 = the dot products, 2 = the activation
// fill, 4 = griddepcontrol.wait; 8 = the staged kernel's step times written
// into y instead of results (kernel_bench --timeline, matvec_staged.cuh).
void set_matvec_ablation(int bits);
int matvec_ablation();

// Layout of the step times of ablation bit 8, per block b in y as uint32
// [b * kStepWords, (b + 1) * kStepWords) (blocks with (b + 1) * kStepWords <=
// rows): [0] the block start's %globaltimer (ns, low bits); then SM clock
// cycles since the start: [kStepWait] past griddepcontrol.wait, [kStepX] x
// filled, [kStepIn + 2 j] stage j's data in and [kStepIn + 2 j + 1] stage j
// done (j < kStepStages), [kStepEnd] the end; [kStepNanos] ns from start to
// end; [kStepCount] the block's stage count.
inline constexpr int kStepWords = 16, kStepWait = 1, kStepX = 2, kStepIn = 3, kStepStages = 5;
inline constexpr int kStepEnd = kStepIn + 2 * kStepStages, kStepNanos = 14, kStepCount = 15;
static_assert(kStepCount < kStepWords && kStepNanos > kStepEnd);

// out: [rows][K] F16, W dequantized.
template <GgmlType T>
cudaError_t launch_dequant_f16(const Planes& w, int rows, int K, void* out, cudaStream_t stream);

// xq: [nc][K / 32] XBlocks (kXTypeQ8) of x: [nc][K] of xtype 0/1/2, rounded
// per 32 elements as the decode kernels round x themselves (d = amax / 127,
// ties to even; kref::q8_activations bit for bit). K a multiple of 32, xq
// 16-byte aligned. The producer of the activations would do this once for all
// the matrices that read them (Q/K/V, gate/up).
cudaError_t launch_quantize_x(const void* x, int xtype, int K, int nc, void* xq,
                              cudaStream_t stream);

// dst[i] = src[i] converted: F32/F16/BF16 (xtype 0/1/2) -> F16 (to_bf16 = false) or BF16.
cudaError_t launch_convert_x(const void* src, int xtype, void* dst, bool to_bf16, int64_t n,
                             cudaStream_t stream);

}  // namespace kiln::cuda
