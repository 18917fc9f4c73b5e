// Multi-column decode kernel (3..8 activation columns; launch_matvec routes by
// kernels.h mmq_min_cols) on the integer tensor cores: y[c][r] = sum_k W[r][k]
// x[c][k], v44-v50 of docs/perf.md, every quantized type.
//
// Why: the register kernel (matvec_int.cuh) does a dp4a per 4 weights per
// column and re-reads the activations per row pair, so at 8 columns it ran
// at ~10 TFLOP/s, 9-20% of copy bandwidth. Here one mma.sync.m16n8k32
// multiplies a 16-row x 32-element weight tile by all 8 columns at once, and
// a weight is decoded once for all columns.
//
// Work: one 512-thread block per SM (persistent). The activations of all
// columns are quantized once per block into shared memory as XBlocks (the
// int8 rounding of matvec_int.cuh; column stride padded to 16 mod 128 bytes
// so that the 8 columns' B-fragment reads hit distinct banks). Rows are
// tiles of 16; a block takes groups of `rt` tiles, and its 16 warps split as
// rt tiles x S = 16 / rt contiguous K-slices (partial sums reduced through
// shared memory in a fixed order: results are reproducible). A warp walks its
// slice in quad steps of 4 units: lane (g, t) loads unit u + t of rows g and
// g + 8 (mmq_frag.cuh: quad_transpose turns those into A fragments), up to
// mmq_depth steps ahead, across group boundaries (v45, v48). Weights of the
// first steps are requested before griddepcontrol.wait (PDL).
#pragma once

#include "backend/cuda/matvec_int.cuh"
#include "backend/cuda/mmq_frag.cuh"

namespace kiln::cuda {

inline constexpr int kMmqWarps = 16;

// Column stride of the XBlocks in shared memory: nu units, padded to 16 mod 128 bytes.
template <GgmlType T>
constexpr int mmq_cstride(int K) {
  const int b = K / Dec<T>::kUnit * xunit_bytes<T>();
  return b + ((16 - b % 128) + 128) % 128;
}
template <GgmlType T>
constexpr size_t mmq_smem_bytes(int nc, int K) {
  return static_cast<size_t>(nc) * mmq_cstride<T>(K) + kMmqWarps * 32 * 4 * sizeof(float);
}

namespace mmq {

// c = A * B (+ 0), 16 x 8 int32: k32 (a0..a3, b0, b1).
template <bool SA>
__device__ __forceinline__ void mma_k32(int (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2,
                                        uint32_t a3, uint32_t b0, uint32_t b1) {
  if constexpr (SA) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%10,%10,%10,%10};"
        : "=r"(c[0]), "=r"(c[1]), "=r"(c[2]), "=r"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "r"(0));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%10,%10,%10,%10};"
        : "=r"(c[0]), "=r"(c[1]), "=r"(c[2]), "=r"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "r"(0));
  }
}
// k16 (a0, a1, b0), unsigned A.
__device__ __forceinline__ void mma_k16(int (&c)[4], uint32_t a0, uint32_t a1, uint32_t b0) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.s32.u8.s8.s32 {%0,%1,%2,%3}, {%4,%5}, {%6}, "
      "{%7,%7,%7,%7};"
      : "=r"(c[0]), "=r"(c[1]), "=r"(c[2]), "=r"(c[3])
      : "r"(a0), "r"(a1), "r"(b0), "r"(0));
}

}  // namespace mmq

// One quad step's math: sub-chunks of unit u0 + j (j = 0..3, those < nu) of
// rows g (ra) and g + 8 (rb), every column, into acc (c0..c3 of the C fragment).
template <GgmlType T, int NC>
__device__ __forceinline__ void mmq_step(const typename Dec<T>::Raw& ra,
                                         const typename Dec<T>::Raw& rb, int u0, int nu,
                                         const uint8_t* xs, int cstride, float (&acc)[4]) {
  using M = Mmq<T>;
  using D = Dec<T>;
  constexpr int UB = xunit_bytes<T>();
  const int lane = static_cast<int>(threadIdx.x) % 32, g = lane / 4, t = lane % 4;
  // B fragment: column g (zero past NC); scales: columns 2t, 2t + 1 (clamped).
  const bool bcol = g < NC;
  const uint8_t* xb = xs + min(g, NC - 1) * cstride;
  const uint8_t* xc0 = xs + min(2 * t, NC - 1) * cstride;
  const uint8_t* xc1 = xs + min(2 * t + 1, NC - 1) * cstride;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    if (u0 + j >= nu) break;  // uniform across the warp
    const typename M::Sc sa = M::scalars(ra, j), sb = M::scalars(rb, j);
#pragma unroll
    for (int s = 0; s < D::kSubs; ++s) {
      const int off = (u0 + j) * UB + s * static_cast<int>(sizeof(XBlock));
      const mmq::Frag fa = M::frag(ra, sa, j, s, t), fb = M::frag(rb, sb, j, s, t);
      const uint32_t b0 = bcol ? *reinterpret_cast<const uint32_t*>(xb + off + 4 * t) : 0u;
      const uint32_t b1 = bcol ? *reinterpret_cast<const uint32_t*>(xb + off + 16 + 4 * t) : 0u;
      const float4 x0 = *reinterpret_cast<const float4*>(xc0 + off + 32);  // d, s0, s1, d16
      const float4 x1 = *reinterpret_cast<const float4*>(xc1 + off + 32);
      if constexpr (M::kHalves) {
        int c[2][4];
        mmq::mma_k16(c[0], fa.lo, fb.lo, b0);
        mmq::mma_k16(c[1], fa.hi, fb.hi, b1);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const float s0 = h == 0 ? x0.y : x0.z, s1 = h == 0 ? x1.y : x1.z;
          acc[0] = fmaf(fa.k[h], x0.x * static_cast<float>(c[h][0]), fmaf(fa.m[h], s0, acc[0]));
          acc[1] = fmaf(fa.k[h], x1.x * static_cast<float>(c[h][1]), fmaf(fa.m[h], s1, acc[1]));
          acc[2] = fmaf(fb.k[h], x0.x * static_cast<float>(c[h][2]), fmaf(fb.m[h], s0, acc[2]));
          acc[3] = fmaf(fb.k[h], x1.x * static_cast<float>(c[h][3]), fmaf(fb.m[h], s1, acc[3]));
        }
      } else {
        int c[4];
        mmq::mma_k32<M::kSignedA>(c, fa.lo, fb.lo, fa.hi, fb.hi, b0, b1);
        const float s0 = x0.y + x0.z, s1 = x1.y + x1.z;
        acc[0] = fmaf(fa.k[0], x0.x * static_cast<float>(c[0]), fmaf(fa.m[0], s0, acc[0]));
        acc[1] = fmaf(fa.k[0], x1.x * static_cast<float>(c[1]), fmaf(fa.m[0], s1, acc[1]));
        acc[2] = fmaf(fb.k[0], x0.x * static_cast<float>(c[2]), fmaf(fb.m[0], s0, acc[2]));
        acc[3] = fmaf(fb.k[0], x1.x * static_cast<float>(c[3]), fmaf(fb.m[0], s1, acc[3]));
      }
    }
  }
}

// Quad steps of raw units in flight per warp: as many as fit in ~64 registers
// (two rows per step), at least 1.
template <GgmlType T>
constexpr int mmq_depth() {
  constexpr int regs = 2 * static_cast<int>(sizeof(typename Dec<T>::Raw)) / 4;
  return regs * 4 <= 64 ? 4 : regs * 3 <= 64 ? 3 : regs * 2 <= 64 ? 2 : 1;
}

// rt: row tiles per group (1, 2, 4, 8 or 16); cstride: mmq_cstride<T>(K).
// A warp's work is the flat sequence of its (group, quad step) items, so that
// its loads run DEPTH items ahead across group boundaries too.
template <GgmlType T, int NC>
__global__ void __launch_bounds__(kMmqWarps * 32, 1)
    matvec_mmq_kernel(Planes w, int rows, int K, const void* __restrict__ xv, int xtype,
                      void* __restrict__ y, int ytype, int rt, int cstride) {
  using D = Dec<T>;
  using M = Mmq<T>;
  static_assert(M::kEnabled);
  constexpr int U = D::kUnit, W = kMmqWarps, DEPTH = mmq_depth<T>();
  extern __shared__ uint4 smem_mmq[];
  uint8_t* xs = reinterpret_cast<uint8_t*>(smem_mmq);
  float4* red = reinterpret_cast<float4*>(xs + NC * cstride);  // [W][32]
  const int lane = static_cast<int>(threadIdx.x) % 32, warp = static_cast<int>(threadIdx.x) / 32;
  const int g = lane / 4, t = lane % 4;
  const int S = W / rt, tr = warp / S, sl = warp % S;
  const int nu = K / U, nq = (nu + 3) / 4;
  const int q0 = sl * nq / S, nqs = (sl + 1) * nq / S - q0;  // this warp's quad steps per group
  const int tiles = (rows + 15) / 16, groups = (tiles + rt - 1) / rt;
  const int b = static_cast<int>(blockIdx.x), G = static_cast<int>(gridDim.x);
  const int my_groups = b < groups ? (groups - 1 - b) / G + 1 : 0;
  asm volatile("griddepcontrol.launch_dependents;");

  const auto tile_of = [&](int grp_i) { return (b + grp_i * G) * rt + tr; };
  // Loads item (grp_i, qi): unit 4 (q0 + qi) + t of rows g and g + 8 of the tile.
  const auto load = [&](int grp_i, int qi, typename D::Raw& ra, typename D::Raw& rb) {
    const int tile = tile_of(grp_i), u = min(4 * (q0 + qi) + t, nu - 1);
    ra = D::load(w, min(tile * 16 + g, rows - 1), u);
    rb = D::load(w, min(tile * 16 + g + 8, rows - 1), u);
  };
  // Sums the S slices' partials of this warp's tile of group grp_i (in slice
  // order) and writes them. Every warp calls it once per group (two barriers).
  const auto flush = [&](int grp_i, const float(&acc)[4]) {
    red[warp * 32 + lane] = make_float4(acc[0], acc[1], acc[2], acc[3]);
    __syncthreads();
    const int tile = tile_of(grp_i);
    if (sl == 0 && tile < tiles) {
      float4 v = red[warp * 32 + lane];
      for (int k = 1; k < S; ++k) {
        const float4 p = red[(warp + k) * 32 + lane];
        v.x += p.x;
        v.y += p.y;
        v.z += p.z;
        v.w += p.w;
      }
      const float o[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int r = tile * 16 + g + (i >= 2 ? 8 : 0), c = 2 * t + (i & 1);
        if (r < rows && c < NC) dec::store_y(y, ytype, static_cast<int64_t>(c) * rows + r, o[i]);
      }
    }
    __syncthreads();  // red is reused by the next group
  };

  // A warp's items are (group, step) with the steps of a group padded to a
  // multiple of DEPTH (padding items load and compute nothing), so that item
  // k always sits in ring slot k % DEPTH, a constant of the unrolled loop
  // (v48: no register moves), and the one barrier site (flush) is outside it.
  // Loads run DEPTH items ahead, across group boundaries too.
  const int nqp = (nqs + DEPTH - 1) / DEPTH * DEPTH;
  int lg = 0, lq = 0;  // the next item to load
  const auto load_next = [&](typename D::Raw& ra, typename D::Raw& rb) {
    if (lg < my_groups && lq < nqs) load(lg, lq, ra, rb);
    if (++lq == nqp) {
      lq = 0;
      ++lg;
    }
  };
  typename D::Raw ra[DEPTH], rb[DEPTH];
#pragma unroll
  for (int i = 0; i < DEPTH; ++i) load_next(ra[i], rb[i]);
  // Weights never depend on the previous kernel; x does.
  asm volatile("griddepcontrol.wait;" ::: "memory");
  if (my_groups == 0) return;  // uniform across the block
  fill_xblocks<T, NC>(xv, xtype, K, 0, K, xs, cstride);
  __syncthreads();

  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  for (int gi = 0; gi < my_groups; ++gi) {
    for (int qb = 0; qb < nqp; qb += DEPTH) {
#pragma unroll
      for (int i = 0; i < DEPTH; ++i) {
        if (qb + i < nqs) {  // uniform across the warp
          M::transpose(ra[i]);
          M::transpose(rb[i]);
          mmq_step<T, NC>(ra[i], rb[i], 4 * (q0 + qb + i), nu, xs, cstride, acc);
        }
        load_next(ra[i], rb[i]);
      }
    }
    flush(gi, acc);
#pragma unroll
    for (int k = 0; k < 4; ++k) acc[k] = 0.f;
  }
}

}  // namespace kiln::cuda
