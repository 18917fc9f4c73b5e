// Activation conversion for the GEMM route: F32/F16/BF16 -> F16 or BF16.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "backend/cuda/kernels.h"

namespace kiln::cuda {
namespace {

__device__ __forceinline__ float load_act(const void* src, int xtype, int64_t i) {
  if (xtype == 0) return static_cast<const float*>(src)[i];
  const uint16_t b = static_cast<const uint16_t*>(src)[i];
  if (xtype == 1) return __half2float(__ushort_as_half(b));
  return __uint_as_float(static_cast<uint32_t>(b) << 16);
}

__global__ void convert_x_kernel(const void* __restrict__ src, int xtype,
                                 uint16_t* __restrict__ dst, bool to_bf16, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = load_act(src, xtype, i);
    dst[i] = to_bf16 ? __bfloat16_as_ushort(__float2bfloat16_rn(v))
                     : __half_as_ushort(__float2half_rn(v));
  }
}

}  // namespace

cudaError_t launch_convert_x(const void* src, int xtype, void* dst, bool to_bf16, int64_t n,
                             cudaStream_t stream) {
  const int blocks = static_cast<int>(std::min<int64_t>((n + 255) / 256, 132 * 8));
  convert_x_kernel<<<blocks, 256, 0, stream>>>(src, xtype, static_cast<uint16_t*>(dst), to_bf16, n);
  return cudaGetLastError();
}

}  // namespace kiln::cuda
