// Streaming-read ceilings for kernel_bench: kernels that read a buffer once
// and do (almost) nothing else, so that "% of read ceiling" separates the
// decode kernels' own losses from what any kernel moving those bytes pays.
//
// launch_read: 16-byte loads, 4 per thread in flight, a plain launch (what a
// kernel with no dependency on its predecessor pays for launch, ramp, tail).
// launch_read_dependent: the least a *dependent* decode kernel can do under
// programmatic dependent launch: one block per SM copies its slice of the
// bytes into shared memory with cp.async or TMA bulk copies (as the staged
// decode kernel does since v19), the first `nbuf` chunks before
// griddepcontrol.wait, then waits for the previous kernel in the stream and
// XORs the chunks from shared memory; x after the wait into shared memory (two
// launches' blocks of a 9.4 MB matrix per SM) or registers (three: v71s).
// launch_dependent_empty: the same launch with no bytes (the dependency chain alone).
#include "backend/cuda/launch.cuh"
#include "backend/cuda/matvec_staged.cuh"
#include "read_ceiling.h"

namespace kiln::bench {
namespace {

using cuda::async_copy::cp_async16;
using cuda::dec::ld16;

// 16 bytes at p (ld.global.nc, L1 no-allocate: the decode kernels' weight load).
__device__ __forceinline__ uint4 ld16v(const uint4* p) {
  return ld16(reinterpret_cast<const uint8_t*>(p));
}

__global__ void __launch_bounds__(256)
    read_kernel(const uint4* __restrict__ p, int64_t n16, uint32_t* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  uint32_t acc = 0;
  for (; i + 3 * stride < n16; i += 4 * stride) {
    const uint4 a = ld16v(p + i), b = ld16v(p + i + stride);
    const uint4 c = ld16v(p + i + 2 * stride), d = ld16v(p + i + 3 * stride);
    acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^
           d.w;
  }
  for (; i < n16; i += stride) {
    const uint4 a = ld16v(p + i);
    acc ^= a.x ^ a.y ^ a.z ^ a.w;
  }
  if (acc == 0x9E3779B9u) out[blockIdx.x] = acc;  // keeps the loads; almost never stores
}

constexpr int kDepThreads = 512;

// Block b reads 16-byte pieces [b * per, min((b + 1) * per, n16)) in chunks of
// chunk16 pieces through a ring of NBUF shared-memory buffers, copied by
// cp.async (every thread, 16 bytes each) or, TMA, by one bulk copy per chunk
// (cp.async.bulk, completion on an mbarrier per buffer). After the wait, with
// x != nullptr, the block first loads 4096 floats of x into shared memory
// (what a decode kernel does with its activations). XS false: x kept in
// registers instead (no 16 KB of static shared memory, at most 3 x 512
// threads' registers), so that a third launch's block fits beside two
// 69 KB slices on one SM.
template <int NBUF, bool TMA, bool XS>
__global__ void __launch_bounds__(kDepThreads, XS ? 1 : 3)
    read_dependent_kernel(const uint4* __restrict__ p, int64_t n16, int chunk16, int wait,
                          const float4* __restrict__ x, uint32_t* __restrict__ out) {
  extern __shared__ uint4 ring[];
  __shared__ uint64_t bar[NBUF];
  __shared__ float4 xs[XS ? 1024 : 1];
  float4 xa = make_float4(0.f, 0.f, 0.f, 0.f), xb = xa;
  asm volatile("griddepcontrol.launch_dependents;");
  const int64_t per = (n16 + gridDim.x - 1) / gridDim.x;
  const int64_t b0 = static_cast<int64_t>(blockIdx.x) * per;
  const int64_t mine = max(int64_t{0}, min(per, n16 - b0));
  const int nchunks = static_cast<int>((mine + chunk16 - 1) / chunk16);
  const int tid = static_cast<int>(threadIdx.x);
  if constexpr (TMA) {
    if (tid == 0) {
      for (int i = 0; i < NBUF; ++i) cuda::staged::mbar_init(&bar[i]);
      cuda::staged::mbar_init_fence();
    }
    __syncthreads();
  }
  auto issue = [&](int j) {
    const int64_t c0 = b0 + static_cast<int64_t>(j) * chunk16;
    const int n = static_cast<int>(min(static_cast<int64_t>(chunk16), b0 + mine - c0));
    uint4* dst = ring + (j % NBUF) * chunk16;
    if constexpr (TMA) {
      if (tid == 0) {
        cuda::staged::fence_proxy_async();
        cuda::staged::mbar_expect(&bar[j % NBUF], static_cast<uint32_t>(n * 16));
        cuda::staged::bulk_copy(dst, p + c0, static_cast<uint32_t>(n * 16), &bar[j % NBUF]);
      }
    } else {
      for (int i = tid; i < n; i += kDepThreads) cp_async16(dst + i, p + c0 + i);
    }
  };
  for (int j = 0; j < NBUF; ++j) {
    if (j < nchunks) issue(j);
    if constexpr (!TMA) cuda::async_copy::commit();
  }
  if (wait) asm volatile("griddepcontrol.wait;" ::: "memory");
  if (x != nullptr) {
    xa = x[tid];
    xb = x[tid + kDepThreads];
    if constexpr (XS) {
      xs[tid] = xa;
      xs[tid + kDepThreads] = xb;
    }
  }
  uint32_t acc = 0;
  for (int j = 0; j < nchunks; ++j) {
    if constexpr (TMA) {
      cuda::staged::mbar_wait(&bar[j % NBUF], static_cast<uint32_t>(j / NBUF) & 1u);
    } else {
      cuda::async_copy::wait_pending(NBUF - 1);
    }
    __syncthreads();
    const int64_t c0 = b0 + static_cast<int64_t>(j) * chunk16;
    const int n = static_cast<int>(min(static_cast<int64_t>(chunk16), b0 + mine - c0));
    const uint4* src = ring + (j % NBUF) * chunk16;
    for (int i = tid; i < n; i += kDepThreads) {
      const uint4 v = src[i];
      acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (x != nullptr) {
      if constexpr (XS) {
        acc ^= __float_as_uint(xs[(tid + j) % 1024].x);
      } else {
        acc ^= __float_as_uint(j % 2 ? xa.x : xb.y);
      }
    }
    __syncthreads();
    if (j + NBUF < nchunks) issue(j + NBUF);
    if constexpr (!TMA) cuda::async_copy::commit();
  }
  if constexpr (!TMA) cuda::async_copy::wait_pending(0);
  if (acc == 0x9E3779B9u) out[blockIdx.x] = acc;
}

template <int NBUF, bool TMA, bool XS>
cudaError_t launch_dep(const void* p, size_t bytes, int chunk_bytes, bool wait, const float* x,
                       bool pdl, uint32_t* out, int blocks, cudaStream_t stream) {
  auto* kernel = read_dependent_kernel<NBUF, TMA, XS>;
  const size_t smem = static_cast<size_t>(NBUF) * chunk_bytes;
  static const cudaError_t attr =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 200 * 1024);
  if (attr != cudaSuccess) return attr;
  const auto* src = static_cast<const uint4*>(p);
  const auto n16 = static_cast<int64_t>(bytes / 16);
  const auto* x4 = reinterpret_cast<const float4*>(x);
  if (!pdl) {
    kernel<<<blocks, kDepThreads, smem, stream>>>(src, n16, chunk_bytes / 16, wait ? 1 : 0, x4,
                                                  out);
    return cudaGetLastError();
  }
  return kiln::cuda::launch_pdl(kernel, static_cast<unsigned>(blocks), kDepThreads, smem, stream,
                                src, n16, chunk_bytes / 16, wait ? 1 : 0, x4, out);
}

template <bool TMA, bool XS>
cudaError_t launch_dep_n(const void* p, size_t bytes, const DependentRead& d, uint32_t* out,
                         int blocks, cudaStream_t stream) {
  const int c = d.chunk_bytes;
  switch (d.nbuf) {
    case 1:
      return launch_dep<1, TMA, XS>(p, bytes, c, d.wait, d.x, d.pdl, out, blocks, stream);
    case 2:
      return launch_dep<2, TMA, XS>(p, bytes, c, d.wait, d.x, d.pdl, out, blocks, stream);
    case 4:
      return launch_dep<4, TMA, XS>(p, bytes, c, d.wait, d.x, d.pdl, out, blocks, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace

cudaError_t launch_read(const void* p, size_t bytes, uint32_t* out, int blocks,
                        cudaStream_t stream) {
  read_kernel<<<blocks, 256, 0, stream>>>(static_cast<const uint4*>(p),
                                          static_cast<int64_t>(bytes / 16), out);
  return cudaGetLastError();
}

cudaError_t launch_read_dependent(const void* p, size_t bytes, const DependentRead& d,
                                  uint32_t* out, int blocks, cudaStream_t stream) {
  if (d.chunk_bytes % 16 != 0 || d.chunk_bytes <= 0 ||
      static_cast<int64_t>(d.nbuf) * d.chunk_bytes > 200 * 1024)
    return cudaErrorInvalidValue;
  if (!d.x_smem)
    return d.tma ? launch_dep_n<true, false>(p, bytes, d, out, blocks, stream)
                 : launch_dep_n<false, false>(p, bytes, d, out, blocks, stream);
  return d.tma ? launch_dep_n<true, true>(p, bytes, d, out, blocks, stream)
               : launch_dep_n<false, true>(p, bytes, d, out, blocks, stream);
}

cudaError_t launch_dependent_empty(uint32_t* out, int blocks, cudaStream_t stream) {
  return launch_read_dependent(out, 0, DependentRead{}, out, blocks, stream);
}

}  // namespace kiln::bench
