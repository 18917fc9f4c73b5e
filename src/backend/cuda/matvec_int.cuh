// The decode (matrix-vector) kernel for quantized weights with integer dot
// products (idot.cuh): activations are quantized per 32 elements to int8 in
// shared memory, weights stay integers, dp4a does four multiply-adds per
// instruction (v4 of docs/perf.md with int16 and dp2a, v31 int8; the F32
// kernel of matvec.cuh spent ~3 instructions and 4.5 shared-memory bytes per
// weight per row pair).
//
// Grid: blocks of W warps loop over row groups of W * R rows (the launcher
// caps the grid at the resident block count when K fits one tile, so x is
// quantized once per block, v5); each warp owns R rows of a group and walks
// K with its 32 lanes, lane L taking units L, L + 32, ... (16-byte weight
// loads contiguous across the warp). Activations of a K tile: for column c,
// unit u of the tile, sub-chunk s: XBlock at xs + c * cstride + u * xunit_bytes
// + 48 s; units of more than 32 elements are padded by 16 bytes so that lanes
// reading consecutive units hit distinct banks. Programmatic dependent launch
// as in matvec.cuh: weights are requested before griddepcontrol.wait.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backend/cuda/async_copy.cuh"
#include "backend/cuda/idot.cuh"
#include "backend/cuda/matvec.cuh"

namespace kiln::cuda {

// Shared-memory activation budget per block (bytes of XBlocks).
inline constexpr int kMatvecIntSmemBytes = 96 * 1024;

template <GgmlType T>
constexpr int xunit_bytes() {
  constexpr int U = Dec<T>::kUnit;
  return U / 32 * static_cast<int>(sizeof(XBlock)) + (U > 32 ? 16 : 0);
}

// Shared bytes for nc columns of a tile of tile_k elements (a multiple of the unit).
template <GgmlType T>
constexpr size_t matvec_int_smem_bytes(int nc, int tile_k) {
  return static_cast<size_t>(nc) * (tile_k / Dec<T>::kUnit) * xunit_bytes<T>();
}

// Largest tile (multiple of 256 elements, at least 256) within the budget.
template <GgmlType T>
constexpr int matvec_int_max_tile(int nc) {
  const int per256 = static_cast<int>(matvec_int_smem_bytes<T>(1, 256));
  const int t = kMatvecIntSmemBytes / (nc * per256) * 256;
  return t < 256 ? 256 : t;
}

// Reads 4 activations at element e of column c (xtype 0 F32, 1 F16, 2 BF16).
__device__ __forceinline__ float4 load_x4(const void* xv, int xtype, int64_t src) {
  if (xtype == 0)
    return __ldg(reinterpret_cast<const float4*>(static_cast<const float*>(xv) + src));
  const uint2 b = __ldg(reinterpret_cast<const uint2*>(static_cast<const uint16_t*>(xv) + src));
  if (xtype == 1) {
    const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&b.x));
    const float2 bb = __half22float2(*reinterpret_cast<const __half2*>(&b.y));
    return make_float4(a.x, a.y, bb.x, bb.y);
  }
  return make_float4(__uint_as_float(b.x << 16), __uint_as_float(b.x & 0xFFFF0000u),
                     __uint_as_float(b.y << 16), __uint_as_float(b.y & 0xFFFF0000u));
}

// max |v.x|, |v.y|, |v.z|, |v.w|.
__device__ __forceinline__ float absmax4(const float4& v) {
  return fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w)));
}

// The float v * inv (|v * inv| <= 2^22) rounded to the nearest integer q
// (ties to even, as nearbyint), returned as the bits of the float
// 1.5 * 2^23 + q, whose low 22 bits are q + 2^22 (no quarter-rate float->int
// conversion): the low 8 bits are q in two's complement for |q| <= 127, and
// bits - kMagicBits = q. Product and sum rounded separately, so that q is
// the CPU reference's nearbyint(v * inv) bit for bit (kref::q8_activations).
inline constexpr uint32_t kMagicBits = 0x4B400000u;  // 1.5 * 2^23
__device__ __forceinline__ uint32_t round_bits(float v, float inv) {
  return __float_as_uint(__fadd_rn(__fmul_rn(v, inv), 12582912.0f));
}

// Quantizes the tile [k0, k0 + tk) of the nc columns of x into XBlocks. Every
// thread of the block calls it; 8 consecutive lanes own one 32-element block.
// Each thread issues kFillBatch loads before using any: the loads queue behind
// the weight loads already in flight, so a load-use loop would pay that wait
// once per iteration (v4 measured the fill dominating multi-column decode).
inline constexpr int kFillBatch = 8;

// Quantizes v = elements [4 i, 4 i + 4) of the tile (column i / n4 for NC > 1)
// into its XBlock; i >= total: inactive (whole 8-lane groups are active or
// not). Every lane of the warp calls it (shuffles).
template <GgmlType T, int NC>
__device__ __forceinline__ void quantize_x4(const float4& v, int i, int total, int n4, uint8_t* xs,
                                            int cstride) {
  constexpr int U = Dec<T>::kUnit;
  const bool active = i < total;
  const int c = NC == 1 || !active ? 0 : i / n4;
  const int e = !active ? 0 : NC == 1 ? 4 * i : (i % n4) * 4;
  float amax = absmax4(v);
#pragma unroll
  for (int off = 1; off < 8; off *= 2) amax = fmaxf(amax, __shfl_xor_sync(0xFFFFFFFFu, amax, off));
  // IEEE divisions (not __fdividef): q and d as kref::q8_activations computes them.
  const float inv = amax > 0.f ? 127.f / amax : 0.f;
  const uint32_t b0 = round_bits(v.x, inv), b1 = round_bits(v.y, inv);
  const uint32_t b2 = round_bits(v.z, inv), b3 = round_bits(v.w, inv);
  // Sum of the 4 q, then over the 4 lanes of this half (16 elements), in integers.
  int sum = static_cast<int>((b0 + b1) + (b2 + b3) - 4 * kMagicBits);
  sum += __shfl_xor_sync(0xFFFFFFFFu, sum, 1);
  sum += __shfl_xor_sync(0xFFFFFFFFu, sum, 2);
  if (active) {
    const int eu = e % U, blk = eu / 32, ei = eu % 32;
    auto* xb = reinterpret_cast<XBlock*>(xs + c * cstride + (e / U) * xunit_bytes<T>() +
                                         blk * static_cast<int>(sizeof(XBlock)));
    // The low bytes of b0..b3 (q of elements ei..ei + 3) into one word.
    *reinterpret_cast<uint32_t*>(reinterpret_cast<uint8_t*>(xb->q) + ei) =
        __byte_perm(__byte_perm(b0, b1, 0x0040), __byte_perm(b2, b3, 0x0040), 0x5410);
    const float d = amax / 127.f;
    if (ei == 0) {
      xb->d = d;
      xb->s0 = d * static_cast<float>(sum);
      xb->d16 = d * 0.0625f;
    } else if (ei == 16) {
      xb->s1 = d * static_cast<float>(sum);
    }
  }
}

// One batch of fill_xblocks' loads: v[j] = the 4 elements of index
// base + j * blockDim.x + threadIdx.x (zeros past total).
template <int NC>
__device__ __forceinline__ void load_x_batch(const void* xv, int xtype, int K, int k0, int n4,
                                             int total, int base, float4 (&v)[kFillBatch]) {
  const int nt = static_cast<int>(blockDim.x);
#pragma unroll
  for (int j = 0; j < kFillBatch; ++j) {
    const int i = base + j * nt + static_cast<int>(threadIdx.x);
    v[j] = make_float4(0.f, 0.f, 0.f, 0.f);
    if (i < total) {
      const int64_t src =
          NC == 1 ? k0 + 4 * i : static_cast<int64_t>(i / n4) * K + k0 + (i % n4) * 4;
      v[j] = load_x4(xv, xtype, src);
    }
  }
}

// Quantizes a batch that load_x_batch read.
template <GgmlType T, int NC>
__device__ __forceinline__ void quantize_x_batch(const float4 (&v)[kFillBatch], int n4, int total,
                                                 int base, uint8_t* xs, int cstride) {
  const int nt = static_cast<int>(blockDim.x);
#pragma unroll
  for (int j = 0; j < kFillBatch; ++j) {
    if (base + j * nt >= total) break;  // uniform across the block
    quantize_x4<T, NC>(v[j], base + j * nt + static_cast<int>(threadIdx.x), total, n4, xs, cstride);
  }
}

// Activations quantized by their producer (xtype kXTypeQ8, kernels.h): the
// XBlocks of elements [k0, k0 + 32 nb) of the NC columns, as `total()` pieces
// of 16 bytes (three per XBlock) copied from x into the shared-memory layout
// of type T (units of more than 32 elements padded, xunit_bytes).
template <GgmlType T, int NC>
struct XPieces {
  static_assert(sizeof(XBlock) == kXBlockBytes && sizeof(XBlock) == 3 * sizeof(uint4));
  int nb, K, k0;
  uint8_t* xs;
  int cstride;

  __device__ int total() const { return NC * nb * 3; }
  // Piece i: its index in x (uint4 units) and its shared-memory address.
  __device__ __forceinline__ int64_t src(int i) const {
    const int c = NC == 1 ? 0 : i / (3 * nb), r = i - c * 3 * nb;
    return (static_cast<int64_t>(c) * (K / 32) + k0 / 32) * 3 + r;
  }
  __device__ __forceinline__ uint4* dst(int i) const {
    constexpr int BPU = Dec<T>::kUnit / 32;  // XBlocks per unit
    const int c = NC == 1 ? 0 : i / (3 * nb), r = i - c * 3 * nb, b = r / 3;
    return reinterpret_cast<uint4*>(xs + c * cstride + (b / BPU) * xunit_bytes<T>() +
                                    (b % BPU) * kXBlockBytes + (r - 3 * b) * 16);
  }
};

// Issues the cp.async copies of every piece (16 bytes each, straight into
// shared memory: no registers held, nothing to wait for until the data is
// needed) as one committed group; the caller waits for it
// (async_copy::wait_pending(0)) and synchronizes before reading xs.
template <GgmlType T, int NC>
__device__ __forceinline__ void issue_xpieces(const void* xv, const XPieces<T, NC>& p) {
  const int n = p.total();
  for (int i = static_cast<int>(threadIdx.x); i < n; i += static_cast<int>(blockDim.x))
    async_copy::cp_async16(p.dst(i), static_cast<const uint4*>(xv) + p.src(i));
  async_copy::commit();
}

// The same copies through registers: the pieces base + j * blockDim.x +
// threadIdx.x (j < B) loaded all before any is stored, for callers that do
// other work between the two (the staged kernel issues its stage copies).
template <int B, GgmlType T, int NC>
__device__ __forceinline__ void load_xpieces(const void* xv, const XPieces<T, NC>& p, int base,
                                             uint4 (&v)[B]) {
  const int nt = static_cast<int>(blockDim.x);
#pragma unroll
  for (int j = 0; j < B; ++j) {
    const int i = base + j * nt + static_cast<int>(threadIdx.x);
    if (i < p.total()) v[j] = __ldg(static_cast<const uint4*>(xv) + p.src(i));
  }
}
template <int B, GgmlType T, int NC>
__device__ __forceinline__ void store_xpieces(const XPieces<T, NC>& p, int base,
                                              const uint4 (&v)[B]) {
  const int nt = static_cast<int>(blockDim.x);
#pragma unroll
  for (int j = 0; j < B; ++j) {
    const int i = base + j * nt + static_cast<int>(threadIdx.x);
    if (i < p.total()) *p.dst(i) = v[j];
  }
}
// Every piece from `base` on, B per thread at a time.
template <int B, GgmlType T, int NC>
__device__ __forceinline__ void copy_xpieces(const void* xv, const XPieces<T, NC>& p, int base) {
  for (; base < p.total(); base += B * static_cast<int>(blockDim.x)) {
    uint4 v[B];
    load_xpieces(xv, p, base, v);
    store_xpieces(p, base, v);
  }
}

// The XBlocks of elements [k0, k0 + tk) of the NC columns of x (xtype 0/1/2:
// quantized here; kXTypeQ8: copied, with cp.async or, REGS, through
// registers) into xs. Every thread of the block calls it; the caller
// synchronizes before reading xs. v53 measured the copies: cp.async as fast
// or faster in the tensor-core kernel and for the 32-element types in the
// register kernel; registers faster (10-25%) for the K-quants there and in
// the staged kernel (not understood: the same pieces, only the shared-memory
// destinations of units of more than 32 elements have 16-byte gaps).
// NC: the column count (one column: no index divisions).
template <GgmlType T, int NC, bool REGS = false>
__device__ __forceinline__ void fill_xblocks(const void* xv, int xtype, int K, int k0, int tk,
                                             uint8_t* xs, int cstride) {
  if (REGS && xtype == kXTypeQ8) {
    copy_xpieces<1>(xv, XPieces<T, NC>{tk / 32, K, k0, xs, cstride}, 0);
    return;
  }
  if (xtype == kXTypeQ8) {
    issue_xpieces(xv, XPieces<T, NC>{tk / 32, K, k0, xs, cstride});
    async_copy::wait_pending(0);
    return;
  }
  const int n4 = tk / 4, total = NC * n4, nt = static_cast<int>(blockDim.x);
  for (int base = 0; base < total; base += kFillBatch * nt) {
    float4 v[kFillBatch];
    load_x_batch<NC>(xv, xtype, K, k0, n4, total, base, v);
    quantize_x_batch<T, NC>(v, n4, total, base, xs, cstride);
  }
}

// Row group g = rows [g * W * R, (g + 1) * W * R). Blocks loop over row groups
// g = blockIdx.x, blockIdx.x + gridDim.x, ... (a persistent grid when the
// launcher caps gridDim.x); when K fits one tile the activations are staged
// once per block, not once per row group.
// PIPE: software pipeline across batches (as in matvec.cuh), for small grids.
// UX: units per lane per batch, times matvec_unroll (kRegWideVariant: 2).
template <GgmlType T, int NC, int R, int W, bool PIPE, int UX = 1>
__global__ void __launch_bounds__(W * 32)
    matvec_int_kernel(Planes w, int rows, int K, const void* __restrict__ xv, int xtype,
                      void* __restrict__ y, int ytype, int tile_k) {
  using D = Dec<T>;
  using I = IDot<T>;
  constexpr int U = D::kUnit, UB = xunit_bytes<T>(), UNR = matvec_unroll<D>() * UX;
  extern __shared__ uint4 smem_int[];
  uint8_t* xs = reinterpret_cast<uint8_t*>(smem_int);
  const int cstride = tile_k / U * UB;  // bytes per column in xs
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int n_groups = (rows + W * R - 1) / (W * R);
  const bool single_tile = tile_k >= K;
  asm volatile("griddepcontrol.launch_dependents;");
  bool staged = false;  // xs holds the (single) tile

  for (int g = blockIdx.x; g < n_groups; g += gridDim.x) {
    const int row0 = (g * W + warp) * R;
    // The wide form at one column: the rows as planes (load_batch; at two
    // columns the registers would cost a block per SM, v73).
    constexpr bool kRowPlanes = UX > 1 && NC == 1;
    int64_t rr[R];
    Planes rp[kRowPlanes ? R : 1];
#pragma unroll
    for (int r = 0; r < R; ++r) {
      rr[r] = min(row0 + r, rows - 1);
      if constexpr (kRowPlanes) rp[r] = row_planes<T>(w, rr[r]);
    }
    const auto load = [&](int64_t u0, int n, typename D::Raw(&dst)[UNR][R]) {
      if constexpr (kRowPlanes) {
        load_batch<D, UNR, R>(rp, static_cast<int>(u0), lane, n, dst);  // 32-bit unit offsets
      } else {
        load_batch<D, UNR, R>(w, rr, u0, lane, n, dst);
      }
    };
    float acc[R][NC];
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int c = 0; c < NC; ++c) acc[r][c] = 0.f;

    for (int k0 = 0; k0 < K; k0 += tile_k) {
      const int tk = min(tile_k, K - k0);
      const int nu = tk / U;
      const int64_t ubase = k0 / U;
      typename D::Raw raw[UNR][R];
      load(ubase, nu, raw);
      if (!staged) {
        // Weights never depend on the previous kernel: under programmatic
        // dependent launch they are requested before waiting for it; x is not.
        if (g == static_cast<int>(blockIdx.x) && k0 == 0) {
          asm volatile("griddepcontrol.wait;" ::: "memory");
        }
        __syncthreads();  // previous tile's readers are done with xs
        fill_xblocks<T, NC, (D::kUnit > 32)>(xv, xtype, K, k0, tk, xs, cstride);
        __syncthreads();
        staged = single_tile;
      }

      for (int ub = 0; ub < nu; ub += 32 * UNR) {
        typename D::Raw next[UNR][R];
        const bool more = PIPE && ub + 32 * UNR < nu;
        if (more) load(ubase + ub + 32 * UNR, nu - ub - 32 * UNR, next);
        if (!PIPE && ub > 0) load(ubase + ub, nu - ub, raw);
#pragma unroll
        for (int i = 0; i < UNR; ++i) {
          const int u = ub + lane + 32 * i;
          if (u >= nu) continue;
          decltype(idot_prep<I>(raw[i][0])) p[R];
#pragma unroll
          for (int r = 0; r < R; ++r) p[r] = idot_prep<I>(raw[i][r]);
#pragma unroll
          for (int s = 0; s < D::kSubs; ++s) {
#pragma unroll
            for (int c = 0; c < NC; ++c) {
              const XRegs x =
                  load_xblock(reinterpret_cast<const XBlock*>(xs + c * cstride + u * UB) + s);
#pragma unroll
              for (int r = 0; r < R; ++r) acc[r][c] += I::sub(p[r], s, x);
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
}

}  // namespace kiln::cuda
