// One-column decode for F16/BF16 weights on the tensor cores (v9-v11 of
// docs/perf.md; the automatic choice for every F16/BF16 shape, 84-93% of copy
// bandwidth on the llama7b shapes): weights copied into shared memory by
// cp.async, the first chunks before griddepcontrol.wait, with the dot
// products done by mma.sync instead of one F32 FMA per weight (which made the
// F16 staged kernel of v8 lose), and every warp streaming on its own (v10:
// the block-synchronous ring of v9 kept too few bytes in flight).
//
// mma.m16n8k16 (F32 accumulate): B = 8 weight rows x 16 k, straight from the
// staged rows with ldmatrix (no conversion: F16/BF16 is the tensor cores'
// input format); A = the activations split into parts, one per row of A:
// F16: x * s = hi + lo (two F16s, s a power of two per warp's K-slice that
// keeps |x * s| under 2^14), BF16: x = hi + mid + lo (three BF16s). The
// products of these parts with F16/BF16 weights are exact in F32, so one mma
// gives each part's dot product at F32 accuracy, and the slice's partial sum
// is (sum of the parts) / s. Rows of A past the parts are zero. Each warp
// splits its own slice of x after griddepcontrol.wait (v11: no block barrier
// before the math).
//
// Work (v10): 8-row tiles. Block b of G owns tiles [b T, (b + 1) T) and
// warp w of its 16 owns K-slice w (K / 256 chunks of 256 elements split
// evenly) of every one of them: each warp streams its own sequence of chunks
// (8 rows x 256 k, 4 KB) through its own ring of nb slots in shared memory,
// cp.async issued by its lanes and waited on per warp (cp.async.wait_group +
// __syncwarp), so no block barrier stalls the stream; the first nb chunks are
// issued before griddepcontrol.wait. Per tile the warp leaves 8 partial sums
// in shared memory; one barrier at the end, then thread r < 8 T adds the 16
// slices of its row in warp order (fixed order: bit-reproducible).
//
// Shared memory: [x parts: kParts * K 16-bit]
// [partials: T * 16 * 8 floats][16 warps * nb slots * 8 * 528 bytes]
// (528 = 512 bytes of a row's chunk + 16 of padding: the 8 rows of an
// ldmatrix in distinct banks).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backend/cuda/matvec_int.cuh"
#include "backend/cuda/matvec_staged.cuh"

namespace kiln::cuda {

namespace mma16 {

inline constexpr int kWarps = 16;

template <GgmlType T>
constexpr int parts() {
  return T == GgmlType::BF16 ? 3 : 2;
}

inline constexpr int kChunk = 256;                       // elements of K per chunk
inline constexpr int kPitch = kChunk * 2 + 16;           // bytes per row of a chunk slot
inline constexpr int kSlotBytes = 8 * kPitch;            // one chunk: 8 rows
inline constexpr int kLevelBytes = kWarps * kSlotBytes;  // one slot per warp

// Bytes before the rings: x parts, partial sums of t tiles.
template <GgmlType T>
__host__ __device__ constexpr int64_t head_bytes(int64_t k, int64_t t) {
  return parts<T>() * k * 2 + t * kWarps * 8 * 4;
}

// Four 8x8 16-bit matrices; lane l gives the row address of matrix l / 8, row l % 8.
__device__ __forceinline__ void ldmatrix_x4(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2,
                                            uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}

// c += A (16x16, rows 8..15 zero: a1 = a3 = 0) * B (16x8).
template <GgmlType T>
__device__ __forceinline__ void mma(float (&c)[4], uint32_t a0, uint32_t a2, uint32_t b0,
                                    uint32_t b1) {
  if constexpr (T == GgmlType::BF16) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(0u), "r"(a2), "r"(0u), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(0u), "r"(a2), "r"(0u), "r"(b0), "r"(b1));
  }
}

// One warp copies chunk kc (elements [256 kc, 256 kc + 256)) of the 8 rows from
// row0 (rows past `rows` skipped) into its slot: lane l takes 16 bytes l of each row.
__device__ __forceinline__ void issue_chunk(const uint8_t* w, int64_t row0, int rows, int k, int kc,
                                            uint8_t* slot, int lane) {
#pragma unroll
  for (int r = 0; r < 8; ++r) {
    if (row0 + r < rows)
      async_copy::cp_async16(slot + r * kPitch + 16 * lane,
                             w + (row0 + r) * (2 * static_cast<int64_t>(k)) + kc * 512 + 16 * lane);
  }
}

// One warp splits x[k0, k1) (xtype; k1 - k0 a multiple of 128) into the
// parts, stored at xp + p * K + k; returns 1 / s (F16: a power of two s per
// warp, bringing the slice's max |x| under 2^14; BF16: 1). Only this warp
// reads the slice back, so no block barrier is needed (v11).
template <GgmlType T>
__device__ __forceinline__ float fill_slice(const void* xv, int xtype, int K, int k0, int k1,
                                            uint16_t* xp, int lane) {
  constexpr int kPer = 6;  // float4s in flight per lane (a slice of up to 768 elements)
  float scale = 1.f, inv = 1.f;
  for (int base = k0; base < k1; base += kPer * 128) {
    float4 v[kPer];
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int e = base + 4 * (lane + 32 * j);
      v[j] = e < k1 ? load_x4(xv, xtype, e) : make_float4(0.f, 0.f, 0.f, 0.f);
    }
    if constexpr (T == GgmlType::F16) {
      if (base == k0) {
        float m = 0.f;
#pragma unroll
        for (int j = 0; j < kPer; ++j) m = fmaxf(m, absmax4(v[j]));
        for (int e = base + kPer * 128 + 4 * lane; e < k1; e += 128) {
          m = fmaxf(m, absmax4(load_x4(xv, xtype, e)));
        }
#pragma unroll
        for (int off = 16; off > 0; off /= 2) m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, off));
        int ex = 0;
        if (m > 0.f && m < 3.0e38f) frexpf(m, &ex);  // m = f * 2^ex, 0.5 <= f < 1
        ex = min(max(14 - ex, -100), 100);
        scale = ldexpf(1.f, ex);
        inv = ldexpf(1.f, -ex);
      }
    }
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int e = base + 4 * (lane + 32 * j);
      if (e >= k1) break;
      const float f[4] = {v[j].x * scale, v[j].y * scale, v[j].z * scale, v[j].w * scale};
      uint16_t h[parts<T>()][4];
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        if constexpr (T == GgmlType::BF16) {
          const __nv_bfloat16 a = __float2bfloat16_rn(f[q]);
          const float r1 = f[q] - __bfloat162float(a);
          const __nv_bfloat16 b = __float2bfloat16_rn(r1);
          const __nv_bfloat16 c = __float2bfloat16_rn(r1 - __bfloat162float(b));
          h[0][q] = __bfloat16_as_ushort(a);
          h[1][q] = __bfloat16_as_ushort(b);
          h[2][q] = __bfloat16_as_ushort(c);
        } else {
          const __half a = __float2half_rn(f[q]);
          h[0][q] = __half_as_ushort(a);
          h[1][q] = __half_as_ushort(__float2half_rn(f[q] - __half2float(a)));
        }
      }
#pragma unroll
      for (int p = 0; p < parts<T>(); ++p) {
        *reinterpret_cast<uint2*>(xp + p * K + e) =
            make_uint2(h[p][0] | (static_cast<uint32_t>(h[p][1]) << 16),
                       h[p][2] | (static_cast<uint32_t>(h[p][3]) << 16));
      }
    }
  }
  __syncwarp();
  return inv;
}

}  // namespace mma16

// y[r] = sum_k W[r][k] x[k], one column, W F16/BF16 (plane 0 of layout.h),
// K a multiple of 256. tiles: T (8-row tiles per block); nb: ring slots per
// warp, 1..8; ablate: set_matvec_ablation (timing experiments only).
template <GgmlType T>
__global__ void __launch_bounds__(mma16::kWarps * 32, 2)
    matvec_mma_kernel(const uint8_t* __restrict__ w, int rows, int K, const void* __restrict__ xv,
                      int xtype, void* __restrict__ y, int ytype, int tiles, int nb, int ablate) {
  using namespace mma16;
  extern __shared__ uint4 smem_mma[];
  uint8_t* base = reinterpret_cast<uint8_t*>(smem_mma);
  uint16_t* xp = reinterpret_cast<uint16_t*>(base);
  float* red = reinterpret_cast<float*>(base + parts<T>() * static_cast<int64_t>(K) * 2);
  // red: [tiles][kWarps][8]
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  uint8_t* ring = base + head_bytes<T>(K, tiles) + static_cast<int64_t>(warp) * nb * kSlotBytes;
  const int64_t row_base = static_cast<int64_t>(blockIdx.x) * tiles * 8;
  const int my_tiles = static_cast<int>(
      max(int64_t{0}, min(static_cast<int64_t>(tiles), (rows - row_base + 7) / 8)));
  // This warp's K-slice: chunks [c0, c1) of every tile.
  const int nch = K / kChunk, c0 = warp * nch / kWarps, c1 = (warp + 1) * nch / kWarps;
  const int per_tile = c1 - c0, total = my_tiles * per_tile;
  asm volatile("griddepcontrol.launch_dependents;");

  // Chunk i of this warp: tile i / per_tile, K chunk c0 + i % per_tile.
  int it = 0, ik = 0;  // (tile, chunk) of the next chunk to issue
  for (int j = 0; j < nb; ++j) {
    if (j < total) {
      issue_chunk(w, row_base + 8 * it, rows, K, c0 + ik, ring + j * kSlotBytes, lane);
      if (++ik == per_tile) ik = 0, ++it;
    }
    async_copy::commit();
  }
  if (!(ablate & 4)) asm volatile("griddepcontrol.wait;" ::: "memory");
  const float inv = ablate & 2 || per_tile == 0
                        ? 1.f
                        : fill_slice<T>(xv, xtype, K, c0 * kChunk, c1 * kChunk, xp, lane);

  const int g = lane / 4, t = lane % 4;
  const bool has_part = g < parts<T>();  // row g of A is part g (zero past the parts)
  const uint16_t* xrow = xp + (has_part ? g : 0) * K + 2 * t;
  const uint32_t lm_off = static_cast<uint32_t>((lane % 8) * kPitch + 16 * (lane / 8));
  const uint32_t ring_addr = async_copy::smem_addr(ring) + lm_off;
  float c[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
  int slot = 0, ct = 0, ck = 0;  // (tile, chunk) being computed
  for (int i = 0; i < total; ++i) {
    async_copy::wait_pending(nb - 1);
    __syncwarp();  // every lane's copies of chunk i visible to the warp
    if (!(ablate & 1)) {
      const uint32_t sa = ring_addr + slot * kSlotBytes;
      const int kb = (c0 + ck) * kChunk;
#pragma unroll
      for (int s = 0; s < kChunk / 32; ++s) {
        uint32_t a[4] = {0u, 0u, 0u, 0u};
        if (has_part) {
#pragma unroll
          for (int q = 0; q < 4; ++q)
            a[q] = *reinterpret_cast<const uint32_t*>(xrow + kb + 32 * s + 8 * q);
        }
        uint32_t b0, b1, b2, b3;
        ldmatrix_x4(sa + 64 * s, b0, b1, b2, b3);
        mma<T>(c[s % 2], a[0], a[1], b0, b1);
        mma<T>(c[s % 2], a[2], a[3], b2, b3);
      }
    }
    __syncwarp();  // the slot is read; refill it
    if (i + nb < total) {
      issue_chunk(w, row_base + 8 * it, rows, K, c0 + ik, ring + slot * kSlotBytes, lane);
      if (++ik == per_tile) ik = 0, ++it;
    }
    async_copy::commit();
    slot = slot + 1 == nb ? 0 : slot + 1;
    if (++ck == per_tile) {
      // Tile ct done: c[.][0..1] = part g of rows 2t, 2t + 1; lanes 0..3 sum the parts.
      float v0 = c[0][0] + c[1][0], v1 = c[0][1] + c[1][1];
      float s0 = v0, s1 = v1;
#pragma unroll
      for (int p = 1; p < parts<T>(); ++p) {
        s0 += __shfl_down_sync(0xFFFFFFFFu, v0, 4 * p);
        s1 += __shfl_down_sync(0xFFFFFFFFu, v1, 4 * p);
      }
      if (lane < 4) {
        red[(ct * kWarps + warp) * 8 + 2 * t] = s0 * inv;
        red[(ct * kWarps + warp) * 8 + 2 * t + 1] = s1 * inv;
      }
#pragma unroll
      for (int e = 0; e < 4; ++e) c[0][e] = c[1][e] = 0.f;
      ck = 0;
      ++ct;
    }
  }
  async_copy::wait_pending(0);
  if (per_tile == 0 && lane < 4) {  // K < 16 chunks: this warp has no slice
    for (int tt = 0; tt < my_tiles; ++tt)
      for (int e = 0; e < 2; ++e) red[(tt * kWarps + warp) * 8 + 2 * t + e] = 0.f;
  }
  __syncthreads();  // every warp's partial sums in red
  for (int r = static_cast<int>(threadIdx.x); r < my_tiles * 8; r += static_cast<int>(blockDim.x)) {
    if (row_base + r >= rows) break;
    const int tt = r / 8, e = r % 8;
    float v = 0.f;
    for (int ww = 0; ww < kWarps; ++ww) v += red[(tt * kWarps + ww) * 8 + e];
    dec::store_y(y, ytype, row_base + r, v);
  }
}

}  // namespace kiln::cuda
