// The staged decode kernel (v8 of docs/perf.md): one activation column,
// quantized weights (IDot types; F16/BF16: matvec_mma.cuh), weights copied into shared
// memory by TMA bulk copies (one per plane and stage, v19) ahead of the math,
// several warps sharing each row (split K). Measured faster than the register kernels only on small
// grids (4096-row shapes, K >= 4096); auto_matvec_variant (kernels.h) picks it there.
//
// Why: the register kernel of matvec_int.cuh can only have as many weight
// bytes in flight as its registers hold, and its math needs the same
// registers; on the 4096-row shapes that left ~16 warps per SM, a long
// per-warp chain after griddepcontrol.wait, and no room for the next kernel's
// blocks to start streaming before this one ends. Here the bytes in flight
// live in shared memory (a ring of `nstg` stages, all issued before the
// first use: the first `pre` before griddepcontrol.wait, the others after
// x's loads, which would otherwise queue behind them, v17), and the math
// reads them from there.
//
// Work: a stage = RS consecutive rows x all K (one contiguous byte range per
// plane, since rows are contiguous in every plane of layout.h). Block b of a
// grid of G handles stages b, b + G, b + 2G, ... (stage j of the block in
// ring buffer j % nstg). Each plane range is copied from its start rounded
// down to 16 bytes to its end rounded up (inside the plane's 256-byte
// padding), so any shape works; the byte offset of the start is kept and
// added back when reading.
// Math on a stage: W warps = (RS / R) row sets x S = W * R / RS K-slices;
// warp w takes rows (w / S) * R + r, r < R, and units (w % S) * 32 + lane
// + 32 S i, with the activations of each unit (an XBlock, matvec_int.cuh)
// read once for its R rows. Partial sums: warp shuffle, then shared memory,
// then thread t < RS adds the S slices of row t in slice order (fixed order:
// the result does not depend on timing).
//
// Shared memory (dynamic): [x: staged_x_bytes<T>(K), which ends with two
// sets of W * 4 floats of partial sums] [nstg stages of staged_stage_bytes(T, RS, K)];
// static: one mbarrier per ring slot (stage j completes on slot j % nstg's in
// phase j / nstg).
#pragma once

#include "backend/cuda/matvec_int.cuh"

namespace kiln::cuda {

inline constexpr int kStagedWarps = 16;

// Rows per warp: 2 (the activation load shared by two rows) where the
// decoded unit is small enough to keep two in 64 registers.
template <GgmlType T>
constexpr int staged_rows_per_warp() {
  return sizeof(typename Dec<T>::Raw) <= 36 ? 2 : 1;
}
// The other instantiated choice: 4 rows (half the activation reads per
// weight) for the light types, 2 for the others.
template <GgmlType T>
constexpr int staged_alt_rows_per_warp() {
  return staged_rows_per_warp<T>() == 2 ? 4 : 2;
}

// Bytes of plane p of one stage of rs rows (room for the 16-byte rounding at both ends).
__host__ __device__ constexpr int64_t staged_plane_cap(GgmlType t, int p, int rs, int64_t k) {
  const TypeLayout l = type_layout(t);
  const int64_t row = k / l.block_elems * l.planes[p].stride;
  return (rs * row + 15) / 16 * 16 + 32;
}

__host__ __device__ constexpr int64_t staged_stage_bytes(GgmlType t, int rs, int64_t k) {
  const TypeLayout l = type_layout(t);
  int64_t b = 0;
  for (int p = 0; p < l.n_planes; ++p) b += staged_plane_cap(t, p, rs, k);
  return b;
}

// Activation bytes (XBlocks of nc columns) plus the partial sums (two sets,
// for even and odd stages).
template <GgmlType T>
constexpr int64_t staged_x_bytes(int64_t k, int nc = 1) {
  return nc * (k / Dec<T>::kUnit * xunit_bytes<T>()) + 2 * kStagedWarps * 4 * 4;
}

namespace staged {

using async_copy::smem_addr;

// mbarriers for bulk (TMA) copies: one arrival (the issuing thread) plus the
// transaction bytes of the copies it announces.
__device__ __forceinline__ void mbar_init(uint64_t* bar) {
  asm volatile("mbarrier.init.shared.b64 [%0], 1;" ::"r"(smem_addr(bar)) : "memory");
}
__device__ __forceinline__ void mbar_init_fence() {
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
}
// Orders this thread's earlier generic-proxy shared-memory accesses before
// later async-proxy (bulk copy) writes to the same memory.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
}
// Announces `bytes` of copies completing on bar (this thread's arrival).
__device__ __forceinline__ void mbar_expect(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared.b64 _, [%0], %1;" ::"r"(smem_addr(bar)), "r"(bytes)
               : "memory");
}
// Copies bytes (a multiple of 16; src and dst 16-aligned) global -> shared, completing on bar.
__device__ __forceinline__ void bulk_copy(void* dst, const void* src, uint32_t bytes,
                                          uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::
          "r"(smem_addr(dst)),
      "l"(src), "r"(bytes), "r"(smem_addr(bar))
      : "memory");
}
// Waits until the phase of bar with this parity has completed.
__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
  uint32_t done = 0;
  while (!done) {
    asm volatile(
        "{ .reg .pred P; mbarrier.try_wait.parity.shared.b64 P, [%1], %2; selp.u32 %0, 1, 0, P; "
        "}"
        : "=r"(done)
        : "r"(smem_addr(bar)), "r"(parity)
        : "memory");
  }
}

// Copies stage rows [row0, row0 + nr) into buf: one bulk (TMA) copy per
// plane, issued by thread 0 and completing on bar (v19: measured 0-10 points
// faster than cp.async by every thread, whose ~12 instructions per 16 bytes
// competed with the dot products for issue slots). Every thread may call it;
// only thread 0 acts. The caller has ordered earlier shared-memory reads of
// buf before this (a barrier); the proxy fence orders them against the bulk
// copy's writes.
template <GgmlType T>
__device__ __forceinline__ void issue_stage(const Planes& w, int64_t row0, int nr, int rs,
                                            int64_t k, uint8_t* buf, uint64_t* bar) {
  if (threadIdx.x != 0) return;
  constexpr TypeLayout l = type_layout(T);
  int64_t a16[8], n[8], total = 0;
#pragma unroll
  for (int p = 0; p < l.n_planes; ++p) {
    const int64_t start = plane_row_offset<T>(w, p, row0);
    const int64_t end = plane_row_offset<T>(w, p, row0 + nr);
    a16[p] = start / 16 * 16;
    n[p] = (end + 15) / 16 * 16 - a16[p];
    total += n[p];
  }
  fence_proxy_async();
  mbar_expect(bar, static_cast<uint32_t>(total));
  int64_t off = 0;
#pragma unroll
  for (int p = 0; p < l.n_planes; ++p) {
    bulk_copy(buf + off, w.p[p] + a16[p], static_cast<uint32_t>(n[p]), bar);
    off += staged_plane_cap(T, p, rs, k);
  }
}

// The planes of a stage that issue_stage copied into buf (rows from row0):
// row r of the stage is row r of the returned Planes.
template <GgmlType T>
__device__ __forceinline__ Planes stage_planes(const Planes& w, int64_t row0, int rs, int64_t k,
                                               uint8_t* buf) {
  constexpr TypeLayout l = type_layout(T);
  Planes sp;
  int64_t off = 0;
#pragma unroll
  for (int p = 0; p < l.n_planes; ++p) {
    const int64_t start = plane_row_offset<T>(w, p, row0);
    sp.p[p] = buf + off + (start - start / 16 * 16);
    off += staged_plane_cap(T, p, rs, k);
  }
  sp.nblocks = w.nblocks;
  return sp;
}

// Timing experiments (ablation bit 8, kernel_bench --timeline): thread 0 of
// each block records when it reaches each step into its kStepWords uint32 at
// out, laid out as kernels.h says (the kernel then writes no results).
struct StepClock {
  bool on;
  uint32_t* out;
  long long c0 = 0;
  uint64_t g0 = 0;
  __device__ StepClock(bool enabled, uint32_t* o) : on(enabled), out(o) {
    if (!on) return;
    c0 = clock64();
    g0 = globaltimer();
    out[0] = static_cast<uint32_t>(g0);
  }
  __device__ static uint64_t globaltimer() {
    uint64_t t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
  }
  __device__ void mark(int i) const {
    if (on) out[i] = static_cast<uint32_t>(clock64() - c0);
  }
  // Stage j's data in (done = false) or its math done.
  __device__ void stage(int j, bool done) const {
    if (j < kStepStages) mark(kStepIn + 2 * j + (done ? 1 : 0));
  }
  __device__ void finish(int stages) const {
    if (!on) return;
    mark(kStepEnd);
    out[kStepNanos] = static_cast<uint32_t>(globaltimer() - g0);
    out[kStepCount] = static_cast<uint32_t>(stages);
  }
};

// Fills the block's XBlocks of x (NC columns at xs, cstride bytes apart)
// after griddepcontrol.wait. issue_rest() (the ring buffers' copies not
// issued before the wait) runs once x's first loads are in flight, so that
// those queue behind only the copies issued before the wait (v17). Ablation
// bit 2 leaves the fill out (issue_rest still runs).
template <GgmlType T, int NC, typename IssueRest>
__device__ __forceinline__ void fill_x(const void* __restrict__ xv, int xtype, int K, uint8_t* xs,
                                       int cstride, int ablate, IssueRest issue_rest) {
  constexpr int U = Dec<T>::kUnit, UB = xunit_bytes<T>();
  if (xtype == kXTypeQ8) {
    // Quantized by the producer: copied through registers, the first batch
    // loaded before the stage copies are issued (v53: cp.async copies of x
    // measured 1-15 points slower here, beside the stage copies).
    const XPieces<T, NC> xp{K / 32, K, 0, xs, cstride};
    constexpr int B = 4;
    uint4 pv[B];
    if (!(ablate & 2)) load_xpieces(xv, xp, 0, pv);
    issue_rest();
    if (!(ablate & 2)) {
      store_xpieces(xp, 0, pv);
      copy_xpieces<B>(xv, xp, B * static_cast<int>(blockDim.x));
    }
  } else if constexpr (NC == 1) {
    const int n4 = K / 4, first = min(n4, kFillBatch * static_cast<int>(blockDim.x));
    float4 xv0[kFillBatch];
    if (!(ablate & 2)) load_x_batch<1>(xv, xtype, K, 0, n4, first, 0, xv0);
    issue_rest();
    if (!(ablate & 2)) {
      quantize_x_batch<T, 1>(xv0, n4, first, 0, xs, cstride);
      if (first < n4)
        fill_xblocks<T, 1>(xv, xtype, K, 4 * first, K - 4 * first, xs + 4 * first / U * UB,
                           cstride);
    }
  } else {
    issue_rest();
    if (!(ablate & 2)) fill_xblocks<T, NC>(xv, xtype, K, 0, K, xs, cstride);
  }
}

}  // namespace staged

// y[r] = sum_k W[r][k] x[k] for one column (contract of launch_matvec).
// nstg: ring depth 1..4, the first pre (0..nstg) of them copied before
// griddepcontrol.wait; rs: rows per stage, a multiple of R with
// W * R / rs a power of two <= W.
// LG (lane groups, v43): the warp's R rows are held by R groups
// of 32 / R lanes, one row per lane, instead of R rows in every lane's
// registers: the lanes of a group take consecutive units of their row, and
// the R lanes that take the same unit of different rows read the same
// XBlock (a shared-memory broadcast), so the x reads per weight drop by R
// without R rows of registers.
// NC: activation columns (1, or 2 with R <= 2 and no lane groups, v51): the
// weights are decoded once for both; x of column c at xs + c * nu * UB.
template <GgmlType T, int R, bool LG = false, int NC = 1>
__global__ void __launch_bounds__(kStagedWarps * 32, 2)
    matvec_staged_kernel(Planes w, int rows, int K, const void* __restrict__ xv, int xtype,
                         void* __restrict__ y, int ytype, int rs, int nstg, int pre, int ablate) {
  using D = Dec<T>;
  using I = IDot<T>;
  static_assert(I::kEnabled, "F16/BF16: matvec_mma_kernel");
  constexpr int U = D::kUnit, UB = xunit_bytes<T>(), W = kStagedWarps;
  extern __shared__ uint4 smem_staged[];
  uint8_t* xs = reinterpret_cast<uint8_t*>(smem_staged);
  const int nu = K / U;
  static_assert(NC == 1 || (NC == 2 && !LG && R <= 2), "red holds W x 4 partial sums");
  const int cstride = nu * UB;  // bytes per column of x
  uint8_t* ring = xs + staged_x_bytes<T>(K, NC);
  float* red0 = reinterpret_cast<float*>(ring) - 2 * W * 4;  // [2][W][4]: the end of the x region
  const int64_t stage_bytes = staged_stage_bytes(T, rs, K);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  // Rows per lane (registers) and lanes per row; lrow: this lane's row among
  // the warp's R (lane groups), lq: its position in the row's lanes.
  constexpr int RL = LG ? 1 : R, LPR = LG ? 32 / R : 32;
  static_assert(!LG || (R > 1 && 32 % R == 0));
  const int lrow = LG ? lane / LPR : 0, lq = lane % LPR;
  const int S = W * R / rs;  // K-slices per row set
  const int rset = warp / S, slice = warp % S;
  const int n_stages = (rows + rs - 1) / rs;
  const int G = static_cast<int>(gridDim.x);
  const int cnt = (n_stages - static_cast<int>(blockIdx.x) + G - 1) / G;  // this block's stages
  asm volatile("griddepcontrol.launch_dependents;");
  staged::StepClock clk((ablate & 8) && threadIdx.x == 0 && (blockIdx.x + 1) * kStepWords <= rows,
                        static_cast<uint32_t*>(y) + blockIdx.x * kStepWords);

  // Prologue: the first `pre` ring buffers' copies before waiting for the
  // previous kernel (weights never depend on it); then x's first loads, so
  // that they queue behind only those copies (v17), then the other buffers'
  // copies, then x's quantization. One mbarrier per ring slot; stage j of the
  // block completes on bars[j % nstg] in phase j / nstg.
  __shared__ uint64_t bars[4];
  if (threadIdx.x == 0) {
    for (int i = 0; i < nstg; ++i) staged::mbar_init(&bars[i]);
    staged::mbar_init_fence();
  }
  __syncthreads();
  // Copies stage j (of this block) into ring slot `slot`.
  const auto issue_to = [&](int j, int slot) {
    if (j < cnt) {
      const int64_t row0 = static_cast<int64_t>(blockIdx.x + j * G) * rs;
      const int nr = static_cast<int>(min(static_cast<int64_t>(rs), rows - row0));
      staged::issue_stage<T>(w, row0, nr, rs, K, ring + slot * stage_bytes, &bars[slot]);
    }
  };
  for (int j = 0; j < pre; ++j) issue_to(j, j);
  if (!(ablate & 4)) asm volatile("griddepcontrol.wait;" ::: "memory");
  clk.mark(kStepWait);
  staged::fill_x<T, NC>(xv, xtype, K, xs, cstride, ablate, [&] {
    for (int j = pre; j < nstg; ++j) issue_to(j, j);
  });
  clk.mark(kStepX);

  int slot = 0;  // j % nstg
  for (int j = 0; j < cnt; ++j) {
    const int64_t row0 = static_cast<int64_t>(blockIdx.x + j * G) * rs;
    const int nr = static_cast<int>(min(static_cast<int64_t>(rs), rows - row0));
    uint8_t* buf = ring + slot * stage_bytes;
    const Planes sp = staged::stage_planes<T>(w, row0, rs, K, buf);
    staged::mbar_wait(&bars[slot], static_cast<uint32_t>(j / nstg) & 1u);
    // x visible to every warp (stage 0). Later stages need no barrier here
    // (v29): their partial sums go to the other set of red, and ring slots
    // are refilled only after the barrier that ends a stage.
    if (j == 0) __syncthreads();
    float* red = red0 + (j & 1) * W * 4;  // [W][R]
    clk.stage(j, false);

    float acc[RL][NC];
#pragma unroll
    for (int r = 0; r < RL; ++r)
#pragma unroll
      for (int c = 0; c < NC; ++c) acc[r][c] = 0.f;
    // This lane's rows as planes of their own (row 0 each): the loop's
    // addresses are then unit offsets only (v28: no row * nblocks per unit).
    Planes rp[RL];
#pragma unroll
    for (int r = 0; r < RL; ++r) rp[r] = row_planes<T>(sp, min(rset * R + (LG ? lrow : r), nr - 1));
#pragma unroll 2
    for (int u = slice * LPR + lq; u < nu && !(ablate & 1); u += LPR * S) {
      decltype(idot_prep<I>(D::template load<true>(rp[0], 0, u))) p[RL];
#pragma unroll
      for (int r = 0; r < RL; ++r) p[r] = idot_prep<I>(D::template load<true>(rp[r], 0, u));
#pragma unroll
      for (int s = 0; s < D::kSubs; ++s) {
#pragma unroll
        for (int c = 0; c < NC; ++c) {
          const XRegs x =
              load_xblock(reinterpret_cast<const XBlock*>(xs + c * cstride + u * UB) + s);
#pragma unroll
          for (int r = 0; r < RL; ++r) acc[r][c] += I::sub(p[r], s, x);
        }
      }
    }
    // Sums over the lanes of each row (all 32, or the LPR of a group).
#pragma unroll
    for (int r = 0; r < RL; ++r) {
#pragma unroll
      for (int c = 0; c < NC; ++c) {
        float v = acc[r][c];
        if (ablate & 1) v = static_cast<float>(buf[threadIdx.x * 4 + r * NC + c]);
#pragma unroll
        for (int off = LPR / 2; off > 0; off /= 2) v += __shfl_xor_sync(0xFFFFFFFFu, v, off);
        if (lq == 0) red[(warp * R + (LG ? lrow : r)) * NC + c] = v;
      }
    }
    __syncthreads();  // partials in red; buffer j % nstg free
    clk.stage(j, true);
    if (static_cast<int>(threadIdx.x) < nr && !(ablate & 8)) {
      const int t = static_cast<int>(threadIdx.x), rsi = t / R, r = t % R;
#pragma unroll
      for (int c = 0; c < NC; ++c) {
        float v = 0.f;
        for (int sl = 0; sl < S; ++sl) v += red[((rsi * S + sl) * R + r) * NC + c];
        dec::store_y(y, ytype, static_cast<int64_t>(c) * rows + row0 + t, v);
      }
    }
    issue_to(j + nstg, slot);
    slot = slot + 1 == nstg ? 0 : slot + 1;
  }
  // No copy outlives the block: every issued stage was waited for.
  clk.finish(cnt);
}

}  // namespace kiln::cuda
