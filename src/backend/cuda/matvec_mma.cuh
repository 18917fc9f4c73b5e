// One-column decode for F16/BF16 weights on the tensor cores (v9 of
// docs/perf.md): the staged structure of matvec_staged.cuh (weights copied
// into shared memory by cp.async, the first stages before
// griddepcontrol.wait), with the dot products done by mma.sync instead of one
// F32 FMA per weight (which made the F16 staged kernel of v8 lose: its math,
// not its copies, was the chain after the wait).
//
// mma.m16n8k16 (F32 accumulate): B = 8 weight rows x 16 k, straight from the
// staged rows with ldmatrix (no conversion: F16/BF16 is the tensor cores'
// input format); A = the activations split into parts, one per row of A:
// F16: x * s = hi + lo (two F16s, s a power of two that keeps |x * s| under
// 2^14), BF16: x = hi + mid + lo (three BF16s). The products of these parts
// with F16/BF16 weights are exact in F32, so one mma gives each part's dot
// product at F32 accuracy, and y = (sum of the parts) / s. Rows of A past the
// parts are zero.
//
// Work: a stage = RS rows (a multiple of 8) x all K, each row at a pitch of
// 2K + 16 bytes (the 16 bytes of padding put the 8 rows of an ldmatrix in
// distinct banks). Block b of G handles stages b, b + G, ... through a ring
// of nstg buffers. The 16 warps split K in 32-element steps (one ldmatrix.x4
// and two mma per 8 rows); each warp's partial sums go to shared memory and
// thread t < RS adds the 16 warps' partials of row t in warp order (fixed
// order: bit-reproducible).
//
// Shared memory: [x parts: kParts * K 16-bit][16 floats (block max)]
// [partials: 16 warps * RS floats][nstg stages * RS * (2K + 16) bytes].
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

__host__ __device__ constexpr int64_t pitch(int64_t k) { return 2 * k + 16; }

template <GgmlType T>
__host__ __device__ constexpr int64_t head_bytes(int64_t k, int rs) {
  return parts<T>() * k * 2 + 16 * 4 + kWarps * rs * 4;
}

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
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

// Copies rows [row0, row0 + nr) of w (row stride 2K bytes) into buf at pitch(K).
__device__ __forceinline__ void issue_rows(const uint8_t* w, int64_t row0, int nr, int k,
                                           uint8_t* buf) {
  const int per_row = k / 8;  // 16-byte pieces
  const int nt = static_cast<int>(blockDim.x);
  for (int r = 0; r < nr; ++r) {
    const uint8_t* src = w + (row0 + r) * (2 * static_cast<int64_t>(k));
    uint8_t* dst = buf + r * pitch(k);
    for (int i = static_cast<int>(threadIdx.x); i < per_row; i += nt)
      staged::cp_async16(dst + 16 * i, src + 16 * i);
  }
}

// x (xtype, K elements) split into the parts, each stored as K 16-bit values
// (part p at xp + p * K); returns 1 / s (F16) or 1 (BF16). Every thread calls it.
template <GgmlType T>
__device__ __forceinline__ float fill_parts(const void* xv, int xtype, int k, uint16_t* xp,
                                            float* bmax) {
  const int n4 = k / 4, nt = static_cast<int>(blockDim.x), tid = static_cast<int>(threadIdx.x);
  constexpr int kPer = 4;  // float4s held per thread per pass (K <= 4 * 4 * 512 in one pass)
  float scale = 1.f, inv = 1.f;
  for (int base = 0; base < n4; base += kPer * nt) {
    float4 v[kPer];
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int i = base + j * nt + tid;
      v[j] = i < n4 ? load_x4(xv, xtype, 4 * static_cast<int64_t>(i)) : make_float4(0, 0, 0, 0);
    }
    if constexpr (T == GgmlType::F16) {
      // One scale for the whole vector: a power of two that brings max |x| under 2^14.
      if (base == 0) {
        float m = 0.f;
#pragma unroll
        for (int j = 0; j < kPer; ++j)
          m = fmaxf(
              m, fmaxf(fmaxf(fabsf(v[j].x), fabsf(v[j].y)), fmaxf(fabsf(v[j].z), fabsf(v[j].w))));
        for (int i = kPer * nt + tid; i < n4; i += nt) {
          const float4 a = load_x4(xv, xtype, 4 * static_cast<int64_t>(i));
          m = fmaxf(m, fmaxf(fmaxf(fabsf(a.x), fabsf(a.y)), fmaxf(fabsf(a.z), fabsf(a.w))));
        }
#pragma unroll
        for (int off = 16; off > 0; off /= 2) m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, off));
        if (tid % 32 == 0) bmax[tid / 32] = m;
        __syncthreads();
        m = 0.f;
        for (int w = 0; w < nt / 32; ++w) m = fmaxf(m, bmax[w]);
        int e = 0;
        if (m > 0.f && m < 3.0e38f) frexpf(m, &e);  // m = f * 2^e, 0.5 <= f < 1
        e = min(max(14 - e, -100), 100);
        scale = ldexpf(1.f, e);
        inv = ldexpf(1.f, -e);
      }
    }
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int i = base + j * nt + tid;
      if (i >= n4) break;
      const float f[4] = {v[j].x * scale, v[j].y * scale, v[j].z * scale, v[j].w * scale};
      uint16_t h[parts<T>()][4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        if constexpr (T == GgmlType::BF16) {
          const __nv_bfloat16 a = __float2bfloat16_rn(f[e]);
          const float r1 = f[e] - __bfloat162float(a);
          const __nv_bfloat16 b = __float2bfloat16_rn(r1);
          const __nv_bfloat16 c = __float2bfloat16_rn(r1 - __bfloat162float(b));
          h[0][e] = __bfloat16_as_ushort(a);
          h[1][e] = __bfloat16_as_ushort(b);
          h[2][e] = __bfloat16_as_ushort(c);
        } else {
          const __half a = __float2half_rn(f[e]);
          h[0][e] = __half_as_ushort(a);
          h[1][e] = __half_as_ushort(__float2half_rn(f[e] - __half2float(a)));
        }
      }
#pragma unroll
      for (int p = 0; p < parts<T>(); ++p) {
        *reinterpret_cast<uint2*>(xp + p * k + 4 * i) =
            make_uint2(h[p][0] | (static_cast<uint32_t>(h[p][1]) << 16),
                       h[p][2] | (static_cast<uint32_t>(h[p][3]) << 16));
      }
    }
  }
  return inv;
}

}  // namespace mma16

// y[r] = sum_k W[r][k] x[k], one column, W F16/BF16 (plane 0 of layout.h).
// rs: rows per stage (multiple of 8, <= 32); nstg: ring depth 1..4; ablate:
// set_matvec_ablation (timing experiments only).
template <GgmlType T>
__global__ void __launch_bounds__(mma16::kWarps * 32, 2)
    matvec_mma_kernel(const uint8_t* __restrict__ w, int rows, int K, const void* __restrict__ xv,
                      int xtype, float* __restrict__ y, int rs, int nstg, int ablate) {
  using namespace mma16;
  extern __shared__ uint4 smem_mma[];
  uint8_t* base = reinterpret_cast<uint8_t*>(smem_mma);
  uint16_t* xp = reinterpret_cast<uint16_t*>(base);
  float* bmax = reinterpret_cast<float*>(base + parts<T>() * static_cast<int64_t>(K) * 2);
  float* red = bmax + 16;  // [kWarps][rs]
  uint8_t* ring = base + head_bytes<T>(K, rs);
  const int64_t stage_bytes = rs * pitch(K);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int n_stages = (rows + rs - 1) / rs;
  const int G = static_cast<int>(gridDim.x);
  const int cnt = (n_stages - static_cast<int>(blockIdx.x) + G - 1) / G;
  asm volatile("griddepcontrol.launch_dependents;");

  for (int j = 0; j < nstg; ++j) {
    if (j < cnt) {
      const int64_t row0 = static_cast<int64_t>(blockIdx.x + j * G) * rs;
      mma16::issue_rows(w, row0, static_cast<int>(min(static_cast<int64_t>(rs), rows - row0)), K,
                        ring + j * stage_bytes);
    }
    staged::commit();
  }
  if (!(ablate & 4)) asm volatile("griddepcontrol.wait;" ::: "memory");
  const float inv = ablate & 2 ? 1.f : fill_parts<T>(xv, xtype, K, xp, bmax);

  // This warp's K range, in 32-element steps.
  const int steps = K / 32;
  const int s0 = warp * steps / kWarps, s1 = (warp + 1) * steps / kWarps;
  const int g = lane / 4, t = lane % 4;
  // A fragment source: row g of A is part g (zero past the parts).
  const bool has_part = g < parts<T>();
  const uint16_t* xrow = xp + (has_part ? g : 0) * K + 2 * t;
  // ldmatrix row address offsets: matrix lane / 8 (k + 8 * (lane / 8)), row lane % 8.
  const uint32_t lm_off = static_cast<uint32_t>((lane % 8) * pitch(K) + 16 * (lane / 8));

  int slot = 0;
  for (int j = 0; j < cnt; ++j) {
    const int64_t row0 = static_cast<int64_t>(blockIdx.x + j * G) * rs;
    const int nr = static_cast<int>(min(static_cast<int64_t>(rs), rows - row0));
    const uint8_t* buf = ring + slot * stage_bytes;
    staged::wait_pending(nstg - 1);
    __syncthreads();  // stage j (and, for j == 0, x) visible to every warp

    const int tiles = (nr + 7) / 8;
    float c[4][4];
#pragma unroll
    for (int tt = 0; tt < 4; ++tt)
#pragma unroll
      for (int e = 0; e < 4; ++e) c[tt][e] = 0.f;
    const uint32_t sbase = smem_addr(buf) + lm_off;
    for (int s = s0; s < s1 && !(ablate & 1); ++s) {
      const int k0 = 32 * s;
      uint32_t a[4] = {0u, 0u, 0u, 0u};
      if (has_part) {
        a[0] = *reinterpret_cast<const uint32_t*>(xrow + k0);
        a[1] = *reinterpret_cast<const uint32_t*>(xrow + k0 + 8);
        a[2] = *reinterpret_cast<const uint32_t*>(xrow + k0 + 16);
        a[3] = *reinterpret_cast<const uint32_t*>(xrow + k0 + 24);
      }
#pragma unroll
      for (int tt = 0; tt < 4; ++tt) {
        if (tt < tiles) {
          uint32_t b0, b1, b2, b3;
          ldmatrix_x4(sbase + static_cast<uint32_t>(tt * 8 * pitch(K) + 2 * k0), b0, b1, b2, b3);
          mma<T>(c[tt], a[0], a[1], b0, b1);
          mma<T>(c[tt], a[2], a[3], b2, b3);
        }
      }
    }
    // c[tt][0..1]: part g, rows tt * 8 + 2t, 2t + 1: sum the parts (lanes 0..3).
#pragma unroll
    for (int tt = 0; tt < 4; ++tt) {
      if (tt < tiles) {
        float v0 = c[tt][0], v1 = c[tt][1];
#pragma unroll
        for (int p = 1; p < parts<T>(); ++p) {
          v0 += __shfl_down_sync(0xFFFFFFFFu, c[tt][0], 4 * p);
          v1 += __shfl_down_sync(0xFFFFFFFFu, c[tt][1], 4 * p);
        }
        if (lane < 4) {
          red[warp * rs + tt * 8 + 2 * t] = v0;
          red[warp * rs + tt * 8 + 2 * t + 1] = v1;
        }
      }
    }
    __syncthreads();  // partials in red; ring buffer `slot` free
    if (static_cast<int>(threadIdx.x) < nr) {
      float v = 0.f;
      for (int ww = 0; ww < kWarps; ++ww) v += red[ww * rs + threadIdx.x];
      y[row0 + threadIdx.x] = v * inv;
    }
    if (j + nstg < cnt) {
      const int64_t nrow0 = static_cast<int64_t>(blockIdx.x + (j + nstg) * G) * rs;
      mma16::issue_rows(w, nrow0, static_cast<int>(min(static_cast<int64_t>(rs), rows - nrow0)), K,
                        ring + slot * stage_bytes);
    }
    staged::commit();
    slot = slot + 1 == nstg ? 0 : slot + 1;
  }
  staged::wait_pending(0);
}

}  // namespace kiln::cuda
