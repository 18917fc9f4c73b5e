// Per-type weight decoding for the CUDA kernels (device code).
//
// A "unit" is the piece of one weight row that one lane loads at once:
// Dec<T>::kUnit consecutive elements (32, 64 or 128), fetched by Dec<T>::load
// with 16-byte loads from the planar layout (layout.h; no unit field is read
// at more than a 16-byte lane stride, v36-v38). decode(raw, s, ...)
// turns sub-chunk s (elements 32s..32s+31 of the unit) into integers-as-float
// q[32] and two groups of 16 with w[e] = q[e] * sc[e/16] + mn[e/16], exactly
// the reference dequantizer's value up to float rounding.
//
// Bytes become floats with the 2^23 trick (a byte b placed in the mantissa of
// 2^23 is the float 2^23 + b; one FADD removes 2^23 and the type's offset),
// so no int->float conversions (quarter rate on Hopper) are needed.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backend/cuda/kernels.h"

namespace kiln::cuda {

namespace dec {

__device__ __forceinline__ uint4 ld16(const uint8_t* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}
__device__ __forceinline__ uint2 ld8(const uint8_t* p) {
  uint2 v;
  asm volatile("ld.global.nc.L1::no_allocate.v2.u32 {%0,%1}, [%2];"
               : "=r"(v.x), "=r"(v.y)
               : "l"(p));
  return v;
}
__device__ __forceinline__ uint32_t ld4(const uint8_t* p) {
  return __ldg(reinterpret_cast<const uint32_t*>(p));
}
__device__ __forceinline__ uint32_t ld2(const uint8_t* p) {
  return __ldg(reinterpret_cast<const uint16_t*>(p));
}
// The same loads from a copy of the planes staged in shared memory (SH, the
// staged decode kernel of matvec_staged.cuh) or from global memory.
template <bool SH>
__device__ __forceinline__ uint4 ld16x(const uint8_t* p) {
  if constexpr (SH) {
    return *reinterpret_cast<const uint4*>(p);
  } else {
    return ld16(p);
  }
}
template <bool SH>
__device__ __forceinline__ uint2 ld8x(const uint8_t* p) {
  if constexpr (SH) {
    return *reinterpret_cast<const uint2*>(p);
  } else {
    return ld8(p);
  }
}
template <bool SH>
__device__ __forceinline__ uint32_t ld4x(const uint8_t* p) {
  if constexpr (SH) {
    return *reinterpret_cast<const uint32_t*>(p);
  } else {
    return ld4(p);
  }
}
template <bool SH>
__device__ __forceinline__ uint32_t ld2x(const uint8_t* p) {
  if constexpr (SH) {
    return *reinterpret_cast<const uint16_t*>(p);
  } else {
    return ld2(p);
  }
}
__device__ __forceinline__ float h2f(uint32_t bits) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(bits & 0xFFFF)));
}
// Byte k of w as the float 2^23 + byte.
__device__ __forceinline__ float magic(uint32_t w, int k) {
  return __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7650u | static_cast<uint32_t>(k)));
}
// Four bytes of w (each < 256) minus `off`, as floats.
__device__ __forceinline__ void bytes4(uint32_t w, float off, float* out) {
  const float bias = 8388608.0f + off;
#pragma unroll
  for (int k = 0; k < 4; ++k) out[k] = magic(w, k) - bias;
}
__device__ __forceinline__ uint32_t word(const uint4& v, int i) {
  return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}
__device__ __forceinline__ uint32_t byte_of(uint32_t w, int i) { return (w >> (8 * i)) & 0xFF; }
// Scale byte c (0..7) of half h of a Q6_K / Q2_K super-block's 16 scale bytes.
__device__ __forceinline__ uint32_t half_scale(const uint4& scales, int h, int c) {
  return byte_of(h ? word(scales, 2 + c / 4) : word(scales, c / 4), c % 4);
}
// The fifth bits of elements 4k..4k+3 (k = 0..7) on bit 4 of bytes 0..3, from
// a Q5_0/Q5_1 qh packed by q5_rotated_bits (layout.h): one rotation and the
// mask, whose OR into the nibbles folds into one LOP3 (v40; v23 spread 4 bits
// with an extract, a multiply and the mask).
__device__ __forceinline__ uint32_t q5_bits(uint32_t qh, int k) {
  return __funnelshift_r(qh, qh, k) & 0x10101010u;
}
// y[i] = v in y's type (ytype 0/1/2 = F32/F16/BF16, kernels.h YOut),
// rounded to nearest even for F16/BF16. The kernels take y and ytype as
// parameters of their own, y __restrict__ as the F32 y was (perf.md v70).
__device__ __forceinline__ void store_y(void* __restrict__ y, int ytype, int64_t i, float v) {
  if (ytype == 0) {
    static_cast<float*>(y)[i] = v;
  } else if (ytype == 1) {
    static_cast<__half*>(y)[i] = __float2half_rn(v);
  } else {
    static_cast<__nv_bfloat16*>(y)[i] = __float2bfloat16_rn(v);
  }
}

// Sums every acc[r][c] over the warp; lane 0 writes y[c * rows + row0 + r]
// for the rows that exist (row0 + r < rows). y: [NC][rows].
template <int R, int NC>
__device__ __forceinline__ void warp_sum_store(float (&acc)[R][NC], int lane, int row0, int rows,
                                               void* __restrict__ y, int ytype) {
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int c = 0; c < NC; ++c) {
      float v = acc[r][c];
#pragma unroll
      for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xFFFFFFFFu, v, off);
      if (lane == 0 && row0 + r < rows)
        store_y(y, ytype, static_cast<int64_t>(c) * rows + row0 + r, v);
    }
  }
}

// Q4_K / Q5_K 6-bit scale and min of sub-block idx (0..7) as d * scale and
// -dmin * min; meta = d, dmin, scales[12].
__device__ __forceinline__ void scale_min_k4(int idx, const uint4& meta, float* sc, float* mn) {
  // The 6-bit scales (mins) of sub-blocks idx & 4 .. (idx & 4) + 3, one per
  // byte, unpacked four at a time (v21; per-byte shifts and int -> float
  // conversions before): sub-blocks 0..3 are the low 6 bits of scales[0..3]
  // (mins: [4..7]); 4..7 are the low (high) nibbles of scales[8..11] plus the
  // top 2 bits of scales[0..3] ([4..7]) as bits 4..5. Shared by the two
  // sub-chunks of a unit (the same idx & 4): the compiler keeps one copy.
  const bool hi = idx >= 4;
  const uint32_t sc4 =
      hi ? (meta.w & 0x0F0F0F0Fu) | ((meta.y >> 2) & 0x30303030u) : meta.y & 0x3F3F3F3Fu;
  const uint32_t mn4 =
      hi ? ((meta.w >> 4) & 0x0F0F0F0Fu) | ((meta.z >> 2) & 0x30303030u) : meta.z & 0x3F3F3F3Fu;
  const int k = idx & 3;
  *sc = h2f(meta.x) * (magic(sc4, k) - 8388608.0f);
  *mn = -h2f(meta.x >> 16) * (magic(mn4, k) - 8388608.0f);
}

// Q4_K / Q5_K: d * scale (dsc) and -dmin * min (dmn) of the two sub-blocks
// 2 j and 2 j + 1 of unit j (meta as scale_min_k4), without branching on j
// (v73): the 6-bit values are, for j < 2, the low 6 bits of scales[2j..2j+1]
// (mins: [2j+4..2j+5]); for j >= 2, the low (high) nibbles of
// scales[2j+4..2j+5] plus the top 2 bits of scales[2j-4..2j-3] ([2j..2j+1])
// as bits 4..5. d * scale is exact in float (11 x 6 bits).
__device__ __forceinline__ void scales_k4_unit(const uint4& meta, int j, float* dsc, float* dmn) {
  const uint32_t hi = 0u - static_cast<uint32_t>(j >> 1);  // all ones for j >= 2
  const uint32_t low_bits = 0x0F0F0F0Fu | (~hi & 0x30303030u);
  const uint32_t top_bits = hi & 0x30303030u;
  const uint32_t sc4 = ((hi ? meta.w : meta.y) & low_bits) | ((meta.y >> 2) & top_bits);
  const uint32_t mn4 = ((hi ? meta.w >> 4 : meta.z) & low_bits) | ((meta.z >> 2) & top_bits);
  const uint32_t sel = 0x4440u | static_cast<uint32_t>(2 * (j & 1));  // byte k, zero-extended
  const float d = h2f(meta.x), dmin = h2f(meta.x >> 16);
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    dsc[s] = d * static_cast<float>(__byte_perm(sc4, 0u, sel + s));
    dmn[s] = -dmin * static_cast<float>(__byte_perm(mn4, 0u, sel + s));
  }
}

}  // namespace dec

template <GgmlType T>
struct Dec;

template <>
struct Dec<GgmlType::F16> {
  static constexpr int kUnit = 32, kSubs = 1;
  static constexpr bool kScaled = false, kMin = false;
  struct Raw {
    uint4 v[4];
  };
  template <bool SH = false>
  __device__ static Raw load(const Planes& w, int64_t row, int64_t u) {
    const uint8_t* p = w.p[0] + (row * w.nblocks + u) * 64;
    return {{dec::ld16x<SH>(p), dec::ld16x<SH>(p + 16), dec::ld16x<SH>(p + 32),
             dec::ld16x<SH>(p + 48)}};
  }
  __device__ static void decode(const Raw& r, int, float* q, float*, float*) {
#pragma unroll
    for (int i = 0; i < 16; ++i) {
      const uint32_t wd = dec::word(r.v[i / 4], i % 4);
      const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&wd));
      q[2 * i] = f.x;
      q[2 * i + 1] = f.y;
    }
  }
};

template <>
struct Dec<GgmlType::BF16> : Dec<GgmlType::F16> {
  __device__ static void decode(const Raw& r, int, float* q, float*, float*) {
#pragma unroll
    for (int i = 0; i < 16; ++i) {
      const uint32_t wd = dec::word(r.v[i / 4], i % 4);
      q[2 * i] = __uint_as_float(wd << 16);
      q[2 * i + 1] = __uint_as_float(wd & 0xFFFF0000u);
    }
  }
};

// Q8_0: the block's 32 quants as two 16-byte halves at planes 0 and 1 (v36).
template <>
struct Dec<GgmlType::Q8_0> {
  static constexpr int kUnit = 32, kSubs = 1;
  static constexpr bool kScaled = true, kMin = false;
  struct Raw {
    uint4 v[2];
    uint32_t d;
  };
  template <bool SH = false>
  __device__ static Raw load(const Planes& w, int64_t row, int64_t u) {
    const int64_t b = row * w.nblocks + u;
    return {{dec::ld16x<SH>(w.p[0] + b * 16), dec::ld16x<SH>(w.p[1] + b * 16)},
            dec::ld2x<SH>(w.p[2] + b * 2)};
  }
  __device__ static void decode(const Raw& r, int, float* q, float* sc, float*) {
#pragma unroll
    for (int i = 0; i < 8; ++i)
      dec::bytes4(dec::word(r.v[i / 4], i % 4) ^ 0x80808080u, 128.f, q + 4 * i);
    sc[0] = sc[1] = dec::h2f(r.d);
  }
};

// Q4_0 / Q4_1: byte j holds element j (low nibble) and j + 16 (high nibble).
template <>
struct Dec<GgmlType::Q4_0> {
  static constexpr int kUnit = 32, kSubs = 1;
  static constexpr bool kScaled = true, kMin = false;
  struct Raw {
    uint4 v;
    uint32_t d;
  };
  template <bool SH = false>
  __device__ static Raw load(const Planes& w, int64_t row, int64_t u) {
    const int64_t b = row * w.nblocks + u;
    return {dec::ld16x<SH>(w.p[0] + b * 16), dec::ld2x<SH>(w.p[1] + b * 2)};
  }
  __device__ static void nibbles(const uint4& v, float off, float* q) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint32_t wd = dec::word(v, i);
      dec::bytes4(wd & 0x0F0F0F0Fu, off, q + 4 * i);
      dec::bytes4((wd >> 4) & 0x0F0F0F0Fu, off, q + 16 + 4 * i);
    }
  }
  __device__ static void decode(const Raw& r, int, float* q, float* sc, float*) {
    nibbles(r.v, 8.f, q);
    sc[0] = sc[1] = dec::h2f(r.d);
  }
};

template <>
struct Dec<GgmlType::Q4_1> {
  static constexpr int kUnit = 32, kSubs = 1;
  static constexpr bool kScaled = true, kMin = true;
  struct Raw {
    uint4 v;
    uint32_t dm;
  };
  template <bool SH = false>
  __device__ static Raw load(const Planes& w, int64_t row, int64_t u) {
    const int64_t b = row * w.nblocks + u;
    return {dec::ld16x<SH>(w.p[0] + b * 16), dec::ld4x<SH>(w.p[1] + b * 4)};
  }
  __device__ static void decode(const Raw& r, int, float* q, float* sc, float* mn) {
    Dec<GgmlType::Q4_0>::nibbles(r.v, 0.f, q);
    sc[0] = sc[1] = dec::h2f(r.dm);
    mn[0] = mn[1] = dec::h2f(r.dm >> 16);
  }
};

// Q5_0 / Q5_1: bit j of qh is the 5th bit of element j.
template <>
struct Dec<GgmlType::Q5_0> {
  static constexpr int kUnit = 32, kSubs = 1;
  static constexpr bool kScaled = true, kMin = false;
  struct Raw {
    uint4 v;
    uint32_t qh, d;
  };
  template <bool SH = false>
  __device__ static Raw load(const Planes& w, int64_t row, int64_t u) {
    const int64_t b = row * w.nblocks + u;
    return {dec::ld16x<SH>(w.p[0] + b * 16), dec::ld4x<SH>(w.p[1] + b * 4),
            dec::ld2x<SH>(w.p[2] + b * 2)};
  }
  __device__ static void nibbles5(const uint4& v, uint32_t qh, float off, float* q) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint32_t wd = dec::word(v, i);
      const uint32_t lo = (wd & 0x0F0F0F0Fu) | dec::q5_bits(qh, i);
      const uint32_t hi = ((wd >> 4) & 0x0F0F0F0Fu) | dec::q5_bits(qh, 4 + i);
      dec::bytes4(lo, off, q + 4 * i);
      dec::bytes4(hi, off, q + 16 + 4 * i);
    }
  }
  __device__ static void decode(const Raw& r, int, float* q, float* sc, float*) {
    nibbles5(r.v, r.qh, 16.f, q);
    sc[0] = sc[1] = dec::h2f(r.d);
  }
};

template <>
struct Dec<GgmlType::Q5_1> {
  static constexpr int kUnit = 32, kSubs = 1;
  static constexpr bool kScaled = true, kMin = true;
  struct Raw {
    uint4 v;
    uint32_t qh, dm;
  };
  template <bool SH = false>
  __device__ static Raw load(const Planes& w, int64_t row, int64_t u) {
    const int64_t b = row * w.nblocks + u;
    return {dec::ld16x<SH>(w.p[0] + b * 16), dec::ld4x<SH>(w.p[1] + b * 4),
            dec::ld4x<SH>(w.p[2] + b * 4)};
  }
  __device__ static void decode(const Raw& r, int, float* q, float* sc, float* mn) {
    Dec<GgmlType::Q5_0>::nibbles5(r.v, r.qh, 0.f, q);
    sc[0] = sc[1] = dec::h2f(r.dm);
    mn[0] = mn[1] = dec::h2f(r.dm >> 16);
  }
};

// Q4_K: unit = 64 elements = 32 qs bytes of group j (u % 4) of super-block u / 4,
// their halves at unit index u of planes 0 and 1 (layout.h, v36);
// sub-chunk 0 = low nibbles (sub-block 2j), 1 = high nibbles (2j + 1).
template <>
struct Dec<GgmlType::Q4_K> {
  static constexpr int kUnit = 64, kSubs = 2;
  static constexpr bool kScaled = true, kMin = true;
  struct Raw {
    uint4 v[2];
    uint4 meta;
    int j;
  };
  template <bool SH = false>
  __device__ static Raw load(const Planes& w, int64_t row, int64_t u) {
    // u >= 0: shifts, not signed division.
    const int64_t sb = row * w.nblocks + (u >> 2), ui = row * w.nblocks * 4 + u;
    return {{dec::ld16x<SH>(w.p[0] + ui * 16), dec::ld16x<SH>(w.p[1] + ui * 16)},
            dec::ld16x<SH>(w.p[2] + sb * 16),
            static_cast<int>(u & 3)};
  }
  __device__ static void decode(const Raw& r, int s, float* q, float* sc, float* mn) {
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const uint32_t wd = dec::word(r.v[i / 4], i % 4);
      dec::bytes4(s == 0 ? (wd & 0x0F0F0F0Fu) : ((wd >> 4) & 0x0F0F0F0Fu), 0.f, q + 4 * i);
    }
    dec::scale_min_k4(2 * r.j + s, r.meta, &sc[0], &mn[0]);
    sc[1] = sc[0];
    mn[1] = mn[0];
  }
};

// Q5_K: as Q4_K plus bit (2j + s) of qh[l] as the 5th bit of element l, from
// the unit's 8 bytes of plane 2 (h.x: sub-chunk 0, h.y: 1; layout.h q5k_unit_bits, v41).
template <>
struct Dec<GgmlType::Q5_K> {
  static constexpr int kUnit = 64, kSubs = 2;
  static constexpr bool kScaled = true, kMin = true;
  struct Raw {
    uint4 v[2];
    uint2 h;
    uint4 meta;
    int j;
  };
  template <bool SH = false>
  __device__ static Raw load(const Planes& w, int64_t row, int64_t u) {
    const int64_t sb = row * w.nblocks + (u >> 2), ui = row * w.nblocks * 4 + u;
    return {{dec::ld16x<SH>(w.p[0] + ui * 16), dec::ld16x<SH>(w.p[1] + ui * 16)},
            dec::ld8x<SH>(w.p[2] + ui * 8),
            dec::ld16x<SH>(w.p[3] + sb * 16),
            static_cast<int>(u & 3)};
  }
  __device__ static void decode(const Raw& r, int s, float* q, float* sc, float* mn) {
    const int sb = 2 * r.j + s;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const uint32_t wd = dec::word(r.v[i / 4], i % 4);
      const uint32_t nib = s == 0 ? (wd & 0x0F0F0F0Fu) : ((wd >> 4) & 0x0F0F0F0Fu);
      dec::bytes4(nib | dec::q5_bits(s == 0 ? r.h.x : r.h.y, i), 0.f, q + 4 * i);
    }
    dec::scale_min_k4(sb, r.meta, &sc[0], &mn[0]);
    sc[1] = sc[0];
    mn[1] = mn[0];
  }
};

// Q6_K: unit = half h (u % 2) of super-block u / 2: ql[64h..64h+63], qh[32h..32h+31].
// Element 32s + l: low 4 bits from ql[l + 32(s&1)] (low nibble for s < 2),
// high 2 bits (qh[l] >> 2s) & 3, minus 32; scale scales[8h + 2s + l/16].
template <>
struct Dec<GgmlType::Q6_K> {
  static constexpr int kUnit = 128, kSubs = 4;
  static constexpr bool kScaled = true, kMin = false;
  struct Raw {
    uint4 ql[4];
    uint4 qh[2];
    uint4 scales;
    uint32_t d;
    int h;
  };
  template <bool SH = false>
  __device__ static Raw load(const Planes& w, int64_t row, int64_t u) {
    // Unit ui's 16-byte pieces of ql (planes 0-3) and qh (4-5) (layout.h, v37).
    const int64_t sb = row * w.nblocks + u / 2, ui = row * w.nblocks * 2 + u;
    const int h = static_cast<int>(u % 2);
    return {{dec::ld16x<SH>(w.p[0] + ui * 16), dec::ld16x<SH>(w.p[1] + ui * 16),
             dec::ld16x<SH>(w.p[2] + ui * 16), dec::ld16x<SH>(w.p[3] + ui * 16)},
            {dec::ld16x<SH>(w.p[4] + ui * 16), dec::ld16x<SH>(w.p[5] + ui * 16)},
            dec::ld16x<SH>(w.p[6] + sb * 16),
            dec::ld2x<SH>(w.p[7] + sb * 2),
            h};
  }
  __device__ static void decode(const Raw& r, int s, float* q, float* sc, float*) {
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const uint32_t lw = dec::word(r.ql[2 * (s & 1) + i / 4], i % 4);
      const uint32_t hw = dec::word(r.qh[i / 4], i % 4);
      const uint32_t lo = s < 2 ? (lw & 0x0F0F0F0Fu) : ((lw >> 4) & 0x0F0F0F0Fu);
      dec::bytes4(lo | (((hw >> (2 * s)) & 0x03030303u) << 4), 32.f, q + 4 * i);
    }
    const float d = dec::h2f(r.d);
#pragma unroll
    for (int g = 0; g < 2; ++g) {
      const int c = 2 * s + g;  // scale index within the half
      sc[g] = d * static_cast<float>(static_cast<int8_t>(dec::half_scale(r.scales, r.h, c)));
    }
  }
};

// Q2_K: unit = half h of super-block: qs[32h..32h+31]; element 32s + l is
// (qs[l] >> 2s) & 3; scales[8h + 2s + l/16]: low 4 bits scale, high 4 bits min.
template <>
struct Dec<GgmlType::Q2_K> {
  static constexpr int kUnit = 128, kSubs = 4;
  static constexpr bool kScaled = true, kMin = true;
  struct Raw {
    uint4 v[2];
    uint4 scales;
    uint32_t dd;
    int h;
  };
  template <bool SH = false>
  __device__ static Raw load(const Planes& w, int64_t row, int64_t u) {
    // Unit ui's qs halves at planes 0 and 1 (layout.h, v38).
    const int64_t sb = row * w.nblocks + u / 2, ui = row * w.nblocks * 2 + u;
    const int h = static_cast<int>(u % 2);
    return {{dec::ld16x<SH>(w.p[0] + ui * 16), dec::ld16x<SH>(w.p[1] + ui * 16)},
            dec::ld16x<SH>(w.p[2] + sb * 16),
            dec::ld4x<SH>(w.p[3] + sb * 4),
            h};
  }
  __device__ static void decode(const Raw& r, int s, float* q, float* sc, float* mn) {
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      dec::bytes4((dec::word(r.v[i / 4], i % 4) >> (2 * s)) & 0x03030303u, 0.f, q + 4 * i);
    }
    const float d = dec::h2f(r.dd), dmin = dec::h2f(r.dd >> 16);
#pragma unroll
    for (int g = 0; g < 2; ++g) {
      const int c = 2 * s + g;
      const uint32_t b = dec::half_scale(r.scales, r.h, c);
      sc[g] = d * static_cast<float>(b & 0xF);
      mn[g] = -dmin * static_cast<float>(b >> 4);
    }
  }
};

// Q3_K: unit = half h: qs[32h..32h+31], hmask[0..31]; element 32s + l is
// ((qs[l] >> 2s) & 3) - (hmask[l] bit (4h + s) ? 0 : 4); 6-bit scale j = 8h + 2s + l/16.
template <>
struct Dec<GgmlType::Q3_K> {
  static constexpr int kUnit = 128, kSubs = 4;
  static constexpr bool kScaled = true, kMin = false;
  struct Raw {
    uint4 v[2];
    uint4 hm[2];
    uint4 sd;  // scales[12], d
    int h;
  };
  template <bool SH = false>
  __device__ static Raw load(const Planes& w, int64_t row, int64_t u) {
    // Unit ui's qs halves at planes 1 and 2 (layout.h, v38).
    const int64_t sb = row * w.nblocks + u / 2, ui = row * w.nblocks * 2 + u;
    const int h = static_cast<int>(u % 2);
    const uint8_t* hm = w.p[0] + sb * 32;
    return {{dec::ld16x<SH>(w.p[1] + ui * 16), dec::ld16x<SH>(w.p[2] + ui * 16)},
            {dec::ld16x<SH>(hm), dec::ld16x<SH>(hm + 16)},
            dec::ld16x<SH>(w.p[3] + sb * 16),
            h};
  }
  // The 4 bytes of 3-bit codes (2 low bits + the hmask bit) of word i of sub-chunk s.
  __device__ static uint32_t codes(const Raw& r, int s, int i) {
    const uint32_t lo = (dec::word(r.v[i / 4], i % 4) >> (2 * s)) & 0x03030303u;
    const uint32_t hb = ((dec::word(r.hm[i / 4], i % 4) >> (4 * r.h + s)) & 0x01010101u) << 2;
    return lo | hb;
  }
  // d times the 6-bit scale (minus 32) of sub-block c (0..7) of this half; j = 8h + c.
  __device__ static float scale(const Raw& r, int c) {
    const uint32_t b = dec::byte_of(dec::word(r.sd, c / 4), c % 4);
    const uint32_t low4 = r.h ? (b >> 4) : (b & 15);
    const uint32_t high2 = (dec::byte_of(r.sd.z, c % 4) >> (2 * (2 * r.h + c / 4))) & 3;
    return dec::h2f(r.sd.w) * static_cast<float>(static_cast<int>(low4 | (high2 << 4)) - 32);
  }
  __device__ static void decode(const Raw& r, int s, float* q, float* sc, float*) {
#pragma unroll
    for (int i = 0; i < 8; ++i) dec::bytes4(codes(r, s, i), 4.f, q + 4 * i);
#pragma unroll
    for (int g = 0; g < 2; ++g) sc[g] = scale(r, 2 * s + g);
  }
};

}  // namespace kiln::cuda
