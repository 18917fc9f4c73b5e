// Streaming-read ceiling for kernel_bench: a kernel that reads a buffer once
// with 16-byte loads (4 per thread in flight) the way the decode kernels do,
// so that "% of read ceiling" separates the kernels' own losses from the
// fixed cost of a launch that moves only a few megabytes.
#include "read_ceiling.h"

namespace kiln::bench {
namespace {

__device__ __forceinline__ uint4 ld16(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

__global__ void __launch_bounds__(256)
    read_kernel(const uint4* __restrict__ p, int64_t n16, uint32_t* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  uint32_t acc = 0;
  for (; i + 3 * stride < n16; i += 4 * stride) {
    const uint4 a = ld16(p + i), b = ld16(p + i + stride);
    const uint4 c = ld16(p + i + 2 * stride), d = ld16(p + i + 3 * stride);
    acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^
           d.w;
  }
  for (; i < n16; i += stride) {
    const uint4 a = ld16(p + i);
    acc ^= a.x ^ a.y ^ a.z ^ a.w;
  }
  if (acc == 0x9E3779B9u) out[blockIdx.x] = acc;  // keeps the loads; almost never stores
}

}  // namespace

cudaError_t launch_read(const void* p, size_t bytes, uint32_t* out, int blocks,
                        cudaStream_t stream) {
  read_kernel<<<blocks, 256, 0, stream>>>(static_cast<const uint4*>(p),
                                          static_cast<int64_t>(bytes / 16), out);
  return cudaGetLastError();
}

}  // namespace kiln::bench
