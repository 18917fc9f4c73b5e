// Definitions of the per-type launchers; each kernels_<type>.cu includes this
// and instantiates KILN_CUDA_INSTANTIATE(type) so that the types compile in
// parallel.
#pragma once

#include <cuda_fp16.h>

#include <algorithm>
#include <utility>

#include "backend/cuda/decode.cuh"
#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"
#include "backend/cuda/matvec.cuh"
#include "backend/cuda/matvec_int.cuh"
#include "backend/cuda/matvec_mma.cuh"
#include "backend/cuda/matvec_mmq.cuh"
#include "backend/cuda/matvec_staged.cuh"

namespace kiln::cuda {

inline constexpr int kMatvecRows = 2;  // rows per warp (R)

inline int sm_count() {
  static const int n = [] {
    int dev = 0, v = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) {
      return 0;
    }
    return v;
  }();
  return n;
}

// Software pipeline for grids of at most 2 blocks per SM (the 4096-row
// shapes: few resident warps, each with several batches), 1-2 columns.
// Only where the pipelined kernel still fits two 256-thread blocks per SM
// (<= 128 registers): Q6_K's takes 213 and would halve the resident warps.
// v8: "at most 2" (one wave of the pipelined kernel), not "fewer than 3":
// 5632 x 2048 (352 blocks) ran 3-5 points faster unpipelined in one wave
// than pipelined in two.
// One register lookup per kernel (Kernel is a template argument, so the static
// is per instantiation).
template <auto Kernel>
bool use_pipeline(int nc, int64_t blocks) {
  static const int regs = [] {
    cudaFuncAttributes a{};
    return cudaFuncGetAttributes(&a, Kernel) == cudaSuccess ? a.numRegs : 255;
  }();
  return nc <= 2 && regs <= 128 && blocks <= 2 * static_cast<int64_t>(sm_count());
}

// F32 kernel (F16/BF16 weights, and any type without an IDot).
template <GgmlType T, int NC, bool PIPE>
cudaError_t launch_matvec_f32_k(const Planes& w, int rows, int K, const void* x, int xtype, YOut y,
                                cudaStream_t stream) {
  constexpr int kMaxTile = kMatvecTileFloats / NC / 256 * 256;
  constexpr size_t kMaxSmem = matvec_smem_bytes<T>(NC, kMaxTile);
  auto* kernel = matvec_kernel<T, NC, kMatvecRows, PIPE>;
  // Raised once per instantiation (thread-safe static initialisation).
  static const cudaError_t attr = cudaFuncSetAttribute(
      kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kMaxSmem));
  if (attr != cudaSuccess) return attr;
  const int tile_k = K <= kMaxTile ? K : kMaxTile;
  const int rows_per_block = kMatvecWarps * kMatvecRows;
  return launch_pdl(kernel, (rows + rows_per_block - 1) / rows_per_block, kMatvecWarps * 32,
                    matvec_smem_bytes<T>(NC, tile_k), stream, w, rows, K, x, xtype, y.p, y.type,
                    tile_k);
}

// pipe: -1 = the measured choice (use_pipeline), 0 = off, 1 = on (NC <= 2).
template <GgmlType T, int NC>
cudaError_t launch_matvec_f32(const Planes& w, int rows, int K, const void* x, int xtype, YOut y,
                              cudaStream_t stream, int pipe = -1) {
  const int64_t blocks = (rows + kMatvecWarps * kMatvecRows - 1) / (kMatvecWarps * kMatvecRows);
  if constexpr (NC <= 2) {
    if (pipe == 1 ||
        (pipe < 0 && use_pipeline<matvec_kernel<T, NC, kMatvecRows, true>>(NC, blocks)))
      return launch_matvec_f32_k<T, NC, true>(w, rows, K, x, xtype, y, stream);
  }
  return launch_matvec_f32_k<T, NC, false>(w, rows, K, x, xtype, y, stream);
}

// Integer kernel, R rows per warp, W warps per block. When K fits one tile,
// the grid is capped at the resident block count (persistent blocks stage x
// once and loop over row groups).
template <GgmlType T, int NC, int R, int W, bool PIPE, int UX = 1>
cudaError_t launch_matvec_int_k(const Planes& w, int rows, int K, const void* x, int xtype, YOut y,
                                cudaStream_t stream) {
  constexpr int kMaxTile = matvec_int_max_tile<T>(NC);
  constexpr size_t kMaxSmem = matvec_int_smem_bytes<T>(NC, kMaxTile);
  auto* kernel = matvec_int_kernel<T, NC, R, W, PIPE, UX>;
  static const cudaError_t attr = cudaFuncSetAttribute(
      kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kMaxSmem));
  if (attr != cudaSuccess) return attr;
  const int tile_k = K <= kMaxTile ? K : kMaxTile;
  const size_t smem = matvec_int_smem_bytes<T>(NC, tile_k);
  int blocks = (rows + W * R - 1) / (W * R);
  if (tile_k >= K) {
    int per_sm = 0;
    const cudaError_t e =
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, W * 32, smem);
    if (e != cudaSuccess) return e;
    if (per_sm > 0 && sm_count() > 0) blocks = std::min(blocks, per_sm * sm_count());
  }
  return launch_pdl(kernel, blocks, W * 32, smem, stream, w, rows, K, x, xtype, y.p, y.type,
                    tile_k);
}

template <GgmlType T, int NC, int R, int W, int UX = 1>
cudaError_t launch_matvec_int(const Planes& w, int rows, int K, const void* x, int xtype, YOut y,
                              cudaStream_t stream, int pipe = -1) {
  if constexpr (NC <= 2) {
    if (pipe == 1 || (pipe < 0 && use_pipeline<matvec_int_kernel<T, NC, R, W, true, UX>>(
                                      NC, (rows + W * R - 1) / (W * R))))
      return launch_matvec_int_k<T, NC, R, W, true, UX>(w, rows, K, x, xtype, y, stream);
  }
  return launch_matvec_int_k<T, NC, R, W, false, UX>(w, rows, K, x, xtype, y, stream);
}

// The register kernel at one or two columns with twice the units per lane per
// batch (kRegWideVariant), for the types whose unit holds 48 bytes or more in
// registers (matvec_unroll 1); false: not instantiated for T.
template <GgmlType T>
constexpr bool has_reg_wide() {
  return IDot<T>::kEnabled && unit64_kquant(T);
}

// Staged kernel (matvec_staged.cuh), one column. Returns cudaErrorNotSupported
// (nothing launched) where the configuration does not fit this shape: the
// caller then uses the register kernel.
template <GgmlType T, int R, bool LG = false, int NC = 1>
cudaError_t launch_matvec_staged_r(const Planes& w, int rows, int K, const void* x, int xtype,
                                   YOut y, cudaStream_t stream, const StagedConfig& c) {
  constexpr int W = kStagedWarps;
  if (c.rows_per_stage < R || c.rows_per_stage % R != 0 || (W * R) % c.rows_per_stage != 0)
    return cudaErrorNotSupported;
  const int sms = sm_count();
  if (sms <= 0) return cudaErrorNotSupported;
  const int64_t n_stages = (rows + c.rows_per_stage - 1) / c.rows_per_stage;
  const int64_t grid = std::min<int64_t>(n_stages, static_cast<int64_t>(c.blocks_per_sm) * sms);
  const int64_t per_block = (n_stages + grid - 1) / grid;
  const int64_t xb = staged_x_bytes<T>(K, NC), sb = staged_stage_bytes(T, c.rows_per_stage, K);
  // 227 KB per block, less the kernel's static shared memory (its mbarriers).
  constexpr int kMaxSmem = 227 * 1024 - 64;
  const int64_t budget = std::min<int64_t>(static_cast<int64_t>(c.smem_kb) * 1024, kMaxSmem);
  const int64_t nstg = std::min<int64_t>({4, per_block, (budget - xb) / sb});
  if (nstg < 1) return cudaErrorNotSupported;
  const int64_t smem = xb + nstg * sb;
  if (smem > kMaxSmem) return cudaErrorNotSupported;
  auto* kernel = matvec_staged_kernel<T, R, LG, NC>;
  static const cudaError_t attr =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kMaxSmem);
  if (attr != cudaSuccess) return attr;
  const int pre = c.pre_wait_stages < 0                               ? 0
                  : c.pre_wait_stages > 0 && c.pre_wait_stages < nstg ? c.pre_wait_stages
                                                                      : static_cast<int>(nstg);
  return launch_pdl(kernel, static_cast<unsigned>(grid), W * 32, static_cast<size_t>(smem), stream,
                    w, rows, K, x, xtype, y.p, y.type, c.rows_per_stage, static_cast<int>(nstg),
                    pre, matvec_ablation());
}

// F16/BF16 one-column kernel on the tensor cores (matvec_mma.cuh): grid
// capped at blocks_per_sm per SM, ring slots per warp from the smem_kb budget
// (rows_per_stage and rows_per_warp do not apply); cudaErrorNotSupported
// where K is not a multiple of 256 or one ring level does not fit.
template <GgmlType T>
cudaError_t launch_matvec_mma(const Planes& w, int rows, int K, const void* x, int xtype, YOut y,
                              cudaStream_t stream, const StagedConfig& c) {
  if (K % mma16::kChunk != 0) return cudaErrorNotSupported;
  const int sms = sm_count();
  if (sms <= 0) return cudaErrorNotSupported;
  const int64_t ntiles = (rows + 7) / 8;
  const int64_t grid0 = std::min<int64_t>(ntiles, static_cast<int64_t>(c.blocks_per_sm) * sms);
  const int64_t tiles = (ntiles + grid0 - 1) / grid0, grid = (ntiles + tiles - 1) / tiles;
  const int64_t head = mma16::head_bytes<T>(K, tiles);
  const int64_t nb =
      std::min<int64_t>(8, (static_cast<int64_t>(c.smem_kb) * 1024 - head) / mma16::kLevelBytes);
  constexpr int kMaxSmem = 227 * 1024;
  if (nb < 1 || head + nb * mma16::kLevelBytes > kMaxSmem) return cudaErrorNotSupported;
  auto* kernel = matvec_mma_kernel<T>;
  static const cudaError_t attr =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kMaxSmem);
  if (attr != cudaSuccess) return attr;
  return launch_pdl(kernel, static_cast<unsigned>(grid), mma16::kWarps * 32,
                    static_cast<size_t>(head + nb * mma16::kLevelBytes), stream, w.p[0], rows, K, x,
                    xtype, y.p, y.type, static_cast<int>(tiles), static_cast<int>(nb),
                    matvec_ablation());
}

template <GgmlType T>
cudaError_t launch_matvec_staged(const Planes& w, int rows, int K, const void* x, int xtype, YOut y,
                                 cudaStream_t stream, const StagedConfig& c) {
  if constexpr (T == GgmlType::F16 || T == GgmlType::BF16) {
    return launch_matvec_mma<T>(w, rows, K, x, xtype, y, stream, c);
  } else {
    constexpr int R0 = staged_rows_per_warp<T>(), R1 = staged_alt_rows_per_warp<T>();
    if (c.lane_rows == 4)
      return launch_matvec_staged_r<T, 4, true>(w, rows, K, x, xtype, y, stream, c);
    if (c.rows_per_warp == 0 || c.rows_per_warp == R0)
      return launch_matvec_staged_r<T, R0>(w, rows, K, x, xtype, y, stream, c);
    if (c.rows_per_warp == R1)
      return launch_matvec_staged_r<T, R1>(w, rows, K, x, xtype, y, stream, c);
    return cudaErrorNotSupported;
  }
}

// The staged kernel for two columns (v51), quantized types: the one-column
// configuration c with the type's default rows per warp (lane groups and 4
// rows per warp do not fit the kernel's partial sums at two columns); rows per
// stage a multiple of them. cudaErrorNotSupported where that does not fit.
template <GgmlType T>
cudaError_t launch_matvec_staged2(const Planes& w, int rows, int K, const void* x, int xtype,
                                  YOut y, cudaStream_t stream, StagedConfig c) {
  constexpr int R0 = staged_rows_per_warp<T>(), R1 = staged_alt_rows_per_warp<T>();
  c.lane_rows = 0;
  if constexpr (R1 == 2) {
    if (c.rows_per_warp == R1)
      return launch_matvec_staged_r<T, R1, false, 2>(w, rows, K, x, xtype, y, stream, c);
  }
  return launch_matvec_staged_r<T, R0, false, 2>(w, rows, K, x, xtype, y, stream, c);
}

// Multi-column tensor-core kernel (matvec_mmq.cuh), 3..8 columns. Returns
// cudaErrorNotSupported (nothing launched) when the activations of every
// column do not fit in shared memory (K > ~17K at 8 columns).
template <GgmlType T, int NC>
cudaError_t launch_matvec_mmq(const Planes& w, int rows, int K, const void* x, int xtype, YOut y,
                              cudaStream_t stream) {
  constexpr int kMaxSmem = 227 * 1024 - 64;
  auto* kernel = matvec_mmq_kernel<T, NC>;
  const size_t smem = mmq_smem_bytes<T>(NC, K);
  if (smem > static_cast<size_t>(kMaxSmem) || sm_count() == 0) return cudaErrorNotSupported;
  static const cudaError_t attr =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kMaxSmem);
  if (attr != cudaSuccess) return attr;
  const int rt = mmq_row_tiles(rows, sm_count());
  const int groups = static_cast<int>(mmq_groups(rows, rt));
  return launch_pdl(kernel, std::min(groups, sm_count()), kMmqWarps * 32, smem, stream, w, rows, K,
                    x, xtype, y.p, y.type, rt, mmq_cstride<T>(K));
}

// NC columns: the variant override (kernels.h), else the automatic choice.
template <GgmlType T, int NC>
cudaError_t launch_matvec_nc(const Planes& w, int rows, int K, const void* x, int xtype, YOut y,
                             cudaStream_t stream) {
  constexpr bool kStaged = IDot<T>::kEnabled || T == GgmlType::F16 || T == GgmlType::BF16;
  int pipe = -1;
  [[maybe_unused]] bool wide = false;  // kRegWideVariant
  // One column, and two for the quantized types (v51): the staged kernel in
  // the configuration the variant names.
  if constexpr ((NC == 1 && kStaged) || (NC == 2 && IDot<T>::kEnabled)) {
    int v = matvec_variant();
    if (v == 0 && xtype == kXTypeQ8)
      v = NC == 1 ? auto_matvec_variant_q8x(T, rows, K) : auto_matvec_variant_q8x2(T, rows, K);
    else if (v == 0)
      v = auto_matvec_variant(T, rows, K);
    StagedConfig c{};
    if (v >= kFirstStagedVariant && v < kRegWideVariant) {
      c = kStagedConfigs[v - kFirstStagedVariant];
    } else if (NC == 1 && (v == 2 || v == 3)) {
      pipe = v == 2 ? 1 : 0;
    } else if (v == kRegWideVariant) {
      wide = true;
    }
    if (c.rows_per_stage > 0) {
      cudaError_t e;
      if constexpr (NC == 1) {
        e = launch_matvec_staged<T>(w, rows, K, x, xtype, y, stream, c);
      } else {
        e = launch_matvec_staged2<T>(w, rows, K, x, xtype, y, stream, c);
      }
      if (e != cudaErrorNotSupported) return e;
    }
  }
  if constexpr (NC >= 3 && Mmq<T>::kEnabled) {
    // Variant 1 keeps the register kernel, 2 takes this one (for comparison and tests).
    const int min_cols =
        xtype == kXTypeQ8 ? mmq_min_cols_q8x(T, rows, K) : mmq_min_cols_f32(T, rows, K);
    const int v = matvec_variant();
    if (v == 2 || (v != 1 && NC >= min_cols)) {
      const cudaError_t e = launch_matvec_mmq<T, NC>(w, rows, K, x, xtype, y, stream);
      if (e != cudaErrorNotSupported) return e;
    }
  }
  if constexpr (IDot<T>::kEnabled) {
    if constexpr (NC <= 2 && has_reg_wide<T>()) {
      if (wide)
        return launch_matvec_int<T, NC, kMatvecRows, kMatvecWarps, 2>(w, rows, K, x, xtype, y,
                                                                      stream);
    }
    return launch_matvec_int<T, NC, kMatvecRows, kMatvecWarps>(w, rows, K, x, xtype, y, stream,
                                                               pipe);
  } else {
    return launch_matvec_f32<T, NC>(w, rows, K, x, xtype, y, stream, pipe);
  }
}

template <GgmlType T>
cudaError_t launch_matvec(const Planes& w, int rows, int K, const void* x, int xtype, int nc,
                          YOut y, cudaStream_t stream) {
  if (xtype < 0 || xtype > kXTypeQ8 || (xtype == kXTypeQ8 && !IDot<T>::kEnabled) ||
      !valid_ytype(y.type) || y.p == nullptr)
    return cudaErrorInvalidValue;
  switch (nc) {
    case 1:
      return launch_matvec_nc<T, 1>(w, rows, K, x, xtype, y, stream);
    case 2:
      return launch_matvec_nc<T, 2>(w, rows, K, x, xtype, y, stream);
    case 3:
      return launch_matvec_nc<T, 3>(w, rows, K, x, xtype, y, stream);
    case 4:
      return launch_matvec_nc<T, 4>(w, rows, K, x, xtype, y, stream);
    case 5:
      return launch_matvec_nc<T, 5>(w, rows, K, x, xtype, y, stream);
    case 6:
      return launch_matvec_nc<T, 6>(w, rows, K, x, xtype, y, stream);
    case 7:
      return launch_matvec_nc<T, 7>(w, rows, K, x, xtype, y, stream);
    case 8:
      return launch_matvec_nc<T, 8>(w, rows, K, x, xtype, y, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

// One thread per unit; a block's 128 units are contiguous in the output
// ([rows][K] row-major), so the decoded halves are staged in shared memory
// (padded 16 bytes per unit against bank conflicts) and written out with
// coalesced 16-byte stores.
inline constexpr int kDequantThreads = 128;

template <GgmlType T>
__global__ void __launch_bounds__(kDequantThreads)
    dequant_f16_kernel(Planes w, int rows, int K, __half* __restrict__ out) {
  using D = Dec<T>;
  constexpr int V = D::kUnit / 8;  // uint4 per unit
  __shared__ uint4 stage[kDequantThreads * (V + 1)];
  const int64_t upr = K / D::kUnit, total = upr * rows;
  uint4* out4 = reinterpret_cast<uint4*>(out);
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kDequantThreads; base < total;
       base += static_cast<int64_t>(gridDim.x) * kDequantThreads) {
    const int64_t idx = base + threadIdx.x;
    if (idx < total) {
      const int64_t row = idx / upr, u = idx % upr;
      const typename D::Raw raw = D::load(w, row, u);
#pragma unroll
      for (int s = 0; s < D::kSubs; ++s) {
        float q[32], sc[2] = {1.f, 1.f}, mn[2] = {0.f, 0.f};
        D::decode(raw, s, q, sc, mn);
        uint32_t pw[16];
#pragma unroll
        for (int e = 0; e < 32; e += 2) {
          const int g = e / 16;
          const float a = D::kScaled ? fmaf(q[e], sc[g], mn[g]) : q[e];
          const float b = D::kScaled ? fmaf(q[e + 1], sc[g], mn[g]) : q[e + 1];
          const __half2 h = __floats2half2_rn(a, b);
          pw[e / 2] = *reinterpret_cast<const uint32_t*>(&h);
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          stage[threadIdx.x * (V + 1) + 4 * s + i] =
              make_uint4(pw[4 * i], pw[4 * i + 1], pw[4 * i + 2], pw[4 * i + 3]);
        }
      }
    }
    __syncthreads();
    const int64_t n4 = (total - base < kDequantThreads ? total - base : kDequantThreads) * V;
    for (int i = threadIdx.x; i < n4; i += kDequantThreads) {
      out4[base * V + i] = stage[(i / V) * (V + 1) + i % V];
    }
    __syncthreads();
  }
}

template <GgmlType T>
cudaError_t launch_dequant_f16(const Planes& w, int rows, int K, void* out, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(rows) * (K / Dec<T>::kUnit);
  const int blocks = static_cast<int>(
      std::min<int64_t>((total + kDequantThreads - 1) / kDequantThreads, 132 * 16));
  dequant_f16_kernel<T>
      <<<blocks, kDequantThreads, 0, stream>>>(w, rows, K, static_cast<__half*>(out));
  return cudaGetLastError();
}

}  // namespace kiln::cuda

#define KILN_CUDA_INSTANTIATE(T)                                                                  \
  template cudaError_t kiln::cuda::launch_matvec<kiln::GgmlType::T>(                              \
      const Planes&, int, int, const void*, int, int, YOut, cudaStream_t);                        \
  template cudaError_t kiln::cuda::launch_dequant_f16<kiln::GgmlType::T>(const Planes&, int, int, \
                                                                         void*, cudaStream_t);
