// The F32 decode (matrix-vector) kernel template: F16/BF16 weights (the
// quantized types use matvec_int.cuh), instantiated in kernels_<type>.cu.
//
// Grid: one block of kWarps warps per kWarps * R rows; each warp owns R rows
// and walks K with its 32 lanes, lane L taking units L, L + 32, ... so that
// the warp's 16-byte weight loads are contiguous. Every weight byte is read
// once; the R rows share each activation load. Activations are staged in
// shared memory, K-tiled (tile_k elements of each of the NC columns), padded
// by 4 floats per unit so that lanes reading consecutive units hit distinct
// banks. For types with a min term, tile-local sums of 16 activations are
// staged too (sum_e (q_e s + m) x_e = s sum q_e x_e + m sum x_e).
// The first weight loads of a tile are issued before the activation fill, so
// the fill's latency hides under them; with PIPE, each batch's loads are
// issued before the previous batch's math (software pipeline). Launched with
// programmatic dependent launch: the weight prefetch of this kernel overlaps
// the tail of the previous kernel; griddepcontrol.wait precedes reading x.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backend/cuda/decode.cuh"

namespace kiln::cuda {

inline constexpr int kMatvecWarps = 8;
inline constexpr int kMatvecMaxCols = 8;
// Shared-memory activation budget per block, in floats of unpadded tile.
inline constexpr int kMatvecTileFloats = 12288;

template <typename D>
constexpr int matvec_unroll() {
  constexpr int bytes = static_cast<int>(sizeof(typename D::Raw));
  return bytes >= 48 ? 1 : bytes >= 24 ? 2 : 4;
}

// tile_k: multiple of 256 (or >= K). Shared bytes for a given tile.
template <GgmlType T>
constexpr size_t matvec_smem_bytes(int nc, int tile_k) {
  using D = Dec<T>;
  const size_t per_col = static_cast<size_t>(tile_k) / D::kUnit * (D::kUnit + 4) +
                         (D::kMin ? static_cast<size_t>(tile_k) / 16 : 0);
  return per_col * nc * sizeof(float);
}

// Byte offset of row `row` in plane p of w.
template <GgmlType T>
__device__ __forceinline__ int64_t plane_row_offset(const Planes& w, int p, int64_t row) {
  return row * (w.nblocks * type_layout(T).planes[p].stride);
}

// Row `row` of the planes w as planes of their own (their row 0), so that a
// loop over the row's units computes unit offsets only (v28 in the staged
// kernel, v73 in the register kernels: no row * nblocks per load).
template <GgmlType T>
__device__ __forceinline__ Planes row_planes(const Planes& w, int64_t row) {
  constexpr TypeLayout l = type_layout(T);
  Planes rp = w;
#pragma unroll
  for (int p = 0; p < l.n_planes; ++p) rp.p[p] = w.p[p] + plane_row_offset<T>(w, p, row);
  return rp;
}

// Loads units lane + 32 i (i < UNR, unit < nu) of rows rr, counted from unit u0.
template <typename D, int UNR, int R>
__device__ __forceinline__ void load_batch(const Planes& w, const int64_t (&rr)[R], int64_t u0,
                                           int lane, int nu, typename D::Raw (&raw)[UNR][R]) {
#pragma unroll
  for (int i = 0; i < UNR; ++i) {
    const int u = lane + 32 * i;
#pragma unroll
    for (int r = 0; r < R; ++r)
      if (u < nu) raw[i][r] = D::load(w, rr[r], u0 + u);
  }
}
// The same with the rows as planes of their own (row_planes): no row *
// nblocks per load, for more registers (v73: faster in the register kernel's
// wide form, slower where the registers cost the pipeline or occupancy).
template <typename D, int UNR, int R>
__device__ __forceinline__ void load_batch(const Planes (&rp)[R], int u0, int lane, int nu,
                                           typename D::Raw (&raw)[UNR][R]) {
#pragma unroll
  for (int i = 0; i < UNR; ++i) {
    const int u = lane + 32 * i;
#pragma unroll
    for (int r = 0; r < R; ++r)
      if (u < nu) raw[i][r] = D::load(rp[r], 0, u0 + u);
  }
}

// PIPE: software pipeline (the next batch's loads are issued before this
// batch's math); the launcher enables it for small grids only (v7).
template <GgmlType T, int NC, int R, bool PIPE>
__global__ void __launch_bounds__(kMatvecWarps * 32)
    matvec_kernel(Planes w, int rows, int K, const void* __restrict__ xv, int xtype,
                  void* __restrict__ y, int ytype, int tile_k) {
  using D = Dec<T>;
  constexpr int U = D::kUnit, PU = U + 4, UNR = matvec_unroll<D>();
  extern __shared__ float4 smem4[];
  float* xs = reinterpret_cast<float*>(smem4);
  const int xstride = tile_k / U * PU;  // floats per column in xs
  float* xsum = xs + NC * xstride;      // [NC][tile_k / 16]
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int row0 = (blockIdx.x * kMatvecWarps + warp) * R;
  // Let the next kernel in the stream start its weight prefetch early (PDL).
  asm volatile("griddepcontrol.launch_dependents;");
  int64_t rr[R];
#pragma unroll
  for (int r = 0; r < R; ++r) rr[r] = min(row0 + r, rows - 1);

  float acc[R][NC];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int c = 0; c < NC; ++c) acc[r][c] = 0.f;

  for (int k0 = 0; k0 < K; k0 += tile_k) {
    const int tk = min(tile_k, K - k0);
    const int nu = tk / U;
    const int64_t ubase = k0 / U;
    typename D::Raw raw[UNR][R], next[UNR][R];
    load_batch<D, UNR, R>(w, rr, ubase, lane, nu, raw);
    // Weights never depend on the previous kernel: under programmatic
    // dependent launch they are requested before waiting for it; x is not.
    if (k0 == 0) asm volatile("griddepcontrol.wait;" ::: "memory");
    __syncthreads();  // previous tile's readers are done with xs
    // Loads issued in batches of 8 per thread before any use (see matvec_int.cuh).
    const int n4 = tk / 4, nt = static_cast<int>(blockDim.x);
    for (int base = 0; base < NC * n4; base += 8 * nt) {
      float4 v[8];
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int i = base + j * nt + static_cast<int>(threadIdx.x);
        if (i < NC * n4) {
          const int64_t src = static_cast<int64_t>(i / n4) * K + k0 + (i % n4) * 4;
          if (xtype == 0) {
            v[j] = __ldg(reinterpret_cast<const float4*>(static_cast<const float*>(xv) + src));
          } else {
            const uint2 b =
                __ldg(reinterpret_cast<const uint2*>(static_cast<const uint16_t*>(xv) + src));
            if (xtype == 1) {
              const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&b.x));
              const float2 bb = __half22float2(*reinterpret_cast<const __half2*>(&b.y));
              v[j] = make_float4(a.x, a.y, bb.x, bb.y);
            } else {
              v[j] = make_float4(__uint_as_float(b.x << 16), __uint_as_float(b.x & 0xFFFF0000u),
                                 __uint_as_float(b.y << 16), __uint_as_float(b.y & 0xFFFF0000u));
            }
          }
        }
      }
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int i = base + j * nt + static_cast<int>(threadIdx.x);
        if (i < NC * n4) {
          const int c = i / n4, e = (i % n4) * 4;
          *reinterpret_cast<float4*>(xs + c * xstride + e + 4 * (e / U)) = v[j];
        }
      }
    }
    if constexpr (D::kMin) {
      __syncthreads();
      const int n16 = tk / 16;
      for (int i = threadIdx.x; i < NC * n16; i += blockDim.x) {
        const int c = i / n16, e = (i % n16) * 16;
        const float* p = xs + c * xstride + e + 4 * (e / U);
        float s = 0.f;
#pragma unroll
        for (int k = 0; k < 16; ++k) s += p[k];
        xsum[c * (tile_k / 16) + e / 16] = s;
      }
    }
    __syncthreads();

    for (int ub = 0; ub < nu; ub += 32 * UNR) {
      // v2/v5 measured the pipeline faster on 4096-row shapes (few resident
      // warps, several batches each) and slower on large ones (registers,
      // fewer resident warps), hence PIPE per launch (docs/perf.md).
      constexpr bool kPipeline = PIPE;
      const bool more = kPipeline && ub + 32 * UNR < nu;
      if (more) load_batch<D, UNR, R>(w, rr, ubase + ub + 32 * UNR, lane, nu - ub - 32 * UNR, next);
      if (!kPipeline && ub > 0) load_batch<D, UNR, R>(w, rr, ubase + ub, lane, nu - ub, raw);
#pragma unroll
      for (int i = 0; i < UNR; ++i) {
        const int u = ub + lane + 32 * i;
        if (u >= nu) continue;
#pragma unroll
        for (int s = 0; s < D::kSubs; ++s) {
          float q[R][32], sc[R][2], mn[R][2];
#pragma unroll
          for (int r = 0; r < R; ++r) D::decode(raw[i][r], s, q[r], sc[r], mn[r]);
#pragma unroll
          for (int c = 0; c < NC; ++c) {
            const float* xp = xs + c * xstride + u * PU + 32 * s;
#pragma unroll
            for (int g = 0; g < 2; ++g) {
              float dot[R];
#pragma unroll
              for (int r = 0; r < R; ++r) dot[r] = 0.f;
#pragma unroll
              for (int k = 0; k < 16; k += 4) {
                const float4 x4 = *reinterpret_cast<const float4*>(xp + 16 * g + k);
#pragma unroll
                for (int r = 0; r < R; ++r) {
                  const float* qq = q[r] + 16 * g + k;
                  dot[r] = fmaf(qq[0], x4.x, dot[r]);
                  dot[r] = fmaf(qq[1], x4.y, dot[r]);
                  dot[r] = fmaf(qq[2], x4.z, dot[r]);
                  dot[r] = fmaf(qq[3], x4.w, dot[r]);
                }
              }
              float xsg = 0.f;
              if constexpr (D::kMin) xsg = xsum[c * (tile_k / 16) + (u * U + 32 * s) / 16 + g];
#pragma unroll
              for (int r = 0; r < R; ++r) {
                if constexpr (D::kScaled) {
                  acc[r][c] = fmaf(sc[r][g], dot[r], acc[r][c]);
                } else {
                  acc[r][c] += dot[r];
                }
                if constexpr (D::kMin) acc[r][c] = fmaf(mn[r][g], xsg, acc[r][c]);
              }
            }
          }
        }
      }
      if (more) {
#pragma unroll
        for (int i = 0; i < UNR; ++i)
#pragma unroll
          for (int r = 0; r < R; ++r) raw[i][r] = next[i][r];
      }
    }
  }

  dec::warp_sum_store(acc, lane, row0, rows, y, ytype);
}

}  // namespace kiln::cuda
