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

// out: [rows][K] F16, W dequantized.
template <GgmlType T>
cudaError_t launch_dequant_f16(const Planes& w, int rows, int K, void* out, cudaStream_t stream);

// dst[i] = src[i] converted: F32/F16/BF16 (xtype 0/1/2) -> F16 (to_bf16 = false) or BF16.
cudaError_t launch_convert_x(const void* src, int xtype, void* dst, bool to_bf16, int64_t n,
                             cudaStream_t stream);

}  // namespace kiln::cuda
