// Integer dot products of quantized weights with int8 quantized activations
// (device code), for the decode kernels of matvec_int.cuh and matvec_staged.cuh.
//
// Activations are staged per 32 elements as an XBlock: q[e] int8 with
// x[e] ~= d * q[e], d = amax / 127 and q = x * (127 / amax) rounded half to
// even (llama.cpp's q8_1 activation rounding and the CPU backend's Q8_0; the
// rounding error is at most d / 2 per element, ~0.4% of the result on random
// inputs, v31), plus s0 = d * sum q[0..15] and s1 = d * sum q[16..31] for the
// offset and min terms. Weight quants stay as bytes (0..63, or int8 for
// Q8_0); dp4a multiplies four activations with four weight bytes and
// accumulates in int32 (|sum| < 2^20 per 32 elements), so one instruction does
// what the F32 path does with eight or more. Until v30 the activations were
// int16 (d = amax / 32000) with dp2a: 100x smaller rounding error, but twice
// the dot instructions and shared-memory reads.
// Result of IDot<T>::sub(raw, s, x) = sum over sub-chunk s (elements 32s..32s+31
// of the unit, Dec<T> conventions) of w[e] * d * q[e], in float.
#pragma once

#include <cstdint>
#include <type_traits>

#include "backend/cuda/decode.cuh"

namespace kiln::cuda {

// One 32-element block of activations in shared memory (48 bytes, 16-aligned).
struct XBlock {
  uint4 q[2];  // int8 q[0..31]; byte b of 32-bit word m is q[4m + b]
  float d, s0, s1;
  float d16;  // d / 16: for sums over high nibbles left in place (16x), v20
};

// An XBlock read into registers.
struct XRegs {
  uint32_t w[8];
  float d, s0, s1, d16;
};

__device__ __forceinline__ XRegs load_xblock(const XBlock* b) {
  XRegs x;
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const uint4 v = b->q[i];
    x.w[4 * i] = v.x;
    x.w[4 * i + 1] = v.y;
    x.w[4 * i + 2] = v.z;
    x.w[4 * i + 3] = v.w;
  }
  const float4 m = *reinterpret_cast<const float4*>(&b->d);
  x.d = m.x;
  x.s0 = m.y;
  x.s1 = m.z;
  x.d16 = m.w;
  return x;
}

namespace idot {

// acc + sum over weight words k < N (4 bytes = elements 4k..4k+3, with xw[k]).
template <int N>
__device__ __forceinline__ int dot(const uint32_t* wv, const uint32_t* xw, int acc) {
#pragma unroll
  for (int k = 0; k < N; ++k) acc = __dp4a(static_cast<int>(wv[k]), static_cast<int>(xw[k]), acc);
  return acc;
}

// dot with the weight bytes unsigned (0..255): for high nibbles masked in
// place (w & 0xF0F0F0F0 = 16 x nibble), which saves the shift (v20). |sum|
// over 32 elements < 32 * 240 * 127 < 2^20.
template <int N>
__device__ __forceinline__ int dot_u8(const uint32_t* wv, const uint32_t* xw, int acc) {
#pragma unroll
  for (int k = 0; k < N; ++k)
    asm("dp4a.u32.s32 %0, %1, %2, %0;" : "+r"(acc) : "r"(wv[k]), "r"(xw[k]));
  return acc;
}

// Sums of the two 16-element halves of a 32-element sub-chunk whose 8 weight words are wv.
__device__ __forceinline__ void dot_halves(const uint32_t* wv, const XRegs& x, int& i0, int& i1) {
  i0 = dot<4>(wv, x.w, 0);
  i1 = dot<4>(wv + 4, x.w + 4, 0);
}

}  // namespace idot

template <GgmlType T>
struct IDot {
  static constexpr bool kEnabled = false;
};

// A unit's work shared by its sub-chunks and rows' x: IDot<T>::prep(raw)
// where the type has one (its sub then takes prep's result), else the Raw.
template <typename I, typename = void>
struct HasPrep : std::false_type {};
template <typename I>
struct HasPrep<I, std::void_t<decltype(&I::prep)>> : std::true_type {};
template <typename I, typename Raw>
__device__ __forceinline__ auto idot_prep(const Raw& r) {
  if constexpr (HasPrep<I>::value) {
    return I::prep(r);
  } else {
    return r;
  }
}

template <>
struct IDot<GgmlType::Q8_0> {
  static constexpr bool kEnabled = true;
  __device__ static float sub(const Dec<GgmlType::Q8_0>::Raw& r, int, const XRegs& x) {
    const uint32_t wv[8] = {r.v[0].x, r.v[0].y, r.v[0].z, r.v[0].w,
                            r.v[1].x, r.v[1].y, r.v[1].z, r.v[1].w};
    int i0, i1;
    idot::dot_halves(wv, x, i0, i1);
    return dec::h2f(r.d) * x.d * static_cast<float>(i0 + i1);
  }
};

namespace idot {
// Q4_0/Q4_1 nibbles (plus Q5 high bits): wv[0..3] low nibbles (elements 0..15), wv[4..7] high.
__device__ __forceinline__ void nibbles(const uint4& v, uint32_t* wv) {
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const uint32_t wd = dec::word(v, i);
    wv[i] = wd & 0x0F0F0F0Fu;
    wv[4 + i] = (wd >> 4) & 0x0F0F0F0Fu;
  }
}
__device__ __forceinline__ void nibbles5(const uint4& v, uint32_t qh, uint32_t* wv) {
  nibbles(v, wv);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    wv[i] |= dec::q5_bits(qh, i);
    wv[4 + i] |= dec::q5_bits(qh, 4 + i);
  }
}
// 16 x (the Q4_0/Q4_1 integer sum of a 32-element block): low nibbles
// (elements 0..15) masked, high nibbles (16..31) masked in place (16x), so
// the caller scales by x.d16 instead of x.d (exact: a power of two).
__device__ __forceinline__ int nibble_sum16(const uint4& v, const XRegs& x) {
  uint32_t lo[4], hi[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const uint32_t wd = dec::word(v, i);
    lo[i] = wd & 0x0F0F0F0Fu;
    hi[i] = wd & 0xF0F0F0F0u;
  }
  return 16 * dot<4>(lo, x.w, 0) + dot_u8<4>(hi, x.w + 4, 0);
}
}  // namespace idot

template <>
struct IDot<GgmlType::Q4_0> {
  static constexpr bool kEnabled = true;
  __device__ static float sub(const Dec<GgmlType::Q4_0>::Raw& r, int, const XRegs& x) {
    const int i16 = idot::nibble_sum16(r.v, x);
    return dec::h2f(r.d) * fmaf(x.d16, static_cast<float>(i16), -8.f * (x.s0 + x.s1));
  }
};

template <>
struct IDot<GgmlType::Q4_1> {
  static constexpr bool kEnabled = true;
  __device__ static float sub(const Dec<GgmlType::Q4_1>::Raw& r, int, const XRegs& x) {
    const int i16 = idot::nibble_sum16(r.v, x);
    return fmaf(dec::h2f(r.dm) * x.d16, static_cast<float>(i16),
                dec::h2f(r.dm >> 16) * (x.s0 + x.s1));
  }
};

template <>
struct IDot<GgmlType::Q5_0> {
  static constexpr bool kEnabled = true;
  __device__ static float sub(const Dec<GgmlType::Q5_0>::Raw& r, int, const XRegs& x) {
    uint32_t wv[8];
    idot::nibbles5(r.v, r.qh, wv);
    int i0, i1;
    idot::dot_halves(wv, x, i0, i1);
    return dec::h2f(r.d) * fmaf(x.d, static_cast<float>(i0 + i1), -16.f * (x.s0 + x.s1));
  }
};

template <>
struct IDot<GgmlType::Q5_1> {
  static constexpr bool kEnabled = true;
  __device__ static float sub(const Dec<GgmlType::Q5_1>::Raw& r, int, const XRegs& x) {
    uint32_t wv[8];
    idot::nibbles5(r.v, r.qh, wv);
    int i0, i1;
    idot::dot_halves(wv, x, i0, i1);
    return fmaf(dec::h2f(r.dm) * x.d, static_cast<float>(i0 + i1),
                dec::h2f(r.dm >> 16) * (x.s0 + x.s1));
  }
};

// Q4_K: sub-chunk s of unit j = low (s = 0) or high nibbles of the unit's 32
// bytes. prep decodes the unit's two scales and mins once (v73; before, each
// sub-chunk decoded its own from the 16 bytes of the super-block's scales).
template <>
struct IDot<GgmlType::Q4_K> {
  static constexpr bool kEnabled = true;
  struct Unit {
    uint4 v[2];
    float dsc[2];  // d * scale of sub-chunk s
    float dmn[2];  // -dmin * min
  };
  // The unit of quants v, j-th of its super-block with scales meta (also Q5_K's).
  __device__ static Unit unit(const uint4 (&v)[2], const uint4& meta, int j) {
    Unit p;
    p.v[0] = v[0];
    p.v[1] = v[1];
    dec::scales_k4_unit(meta, j, p.dsc, p.dmn);
    return p;
  }
  __device__ static Unit prep(const Dec<GgmlType::Q4_K>::Raw& r) { return unit(r.v, r.meta, r.j); }
  __device__ static float sub(const Unit& p, int s, const XRegs& x) {
    // s == 1: the high nibbles masked in place (16x), scaled by x.d16 (v20).
    uint32_t wv[8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
      wv[i] = dec::word(p.v[i / 4], i % 4) & (s == 0 ? 0x0F0F0F0Fu : 0xF0F0F0F0u);
    const int i = s == 0 ? idot::dot<8>(wv, x.w, 0) : idot::dot_u8<8>(wv, x.w, 0);
    const float t = static_cast<float>(i) * (s == 0 ? x.d : x.d16);
    return fmaf(p.dsc[s], t, p.dmn[s] * (x.s0 + x.s1));
  }
};

// Q5_K: as Q4_K, with the fifth bits (prep as Q4_K's, v73).
template <>
struct IDot<GgmlType::Q5_K> {
  static constexpr bool kEnabled = true;
  using Q4K = IDot<GgmlType::Q4_K>;
  struct Unit : Q4K::Unit {
    uint2 h;  // the fifth bits
  };
  __device__ static Unit prep(const Dec<GgmlType::Q5_K>::Raw& r) {
    Unit p;
    static_cast<Q4K::Unit&>(p) = Q4K::unit(r.v, r.meta, r.j);
    p.h = r.h;
    return p;
  }
  __device__ static float sub(const Unit& p, int s, const XRegs& x) {
    // The unit's fifth bits, pre-rotated per sub-chunk (v41): one rotation by
    // the word index (a constant) and the mask.
    uint32_t wv[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const uint32_t wd = dec::word(p.v[i / 4], i % 4);
      const uint32_t nib = s == 0 ? (wd & 0x0F0F0F0Fu) : ((wd >> 4) & 0x0F0F0F0Fu);
      wv[i] = nib | dec::q5_bits(s == 0 ? p.h.x : p.h.y, i);
    }
    int i0, i1;
    idot::dot_halves(wv, x, i0, i1);
    return fmaf(p.dsc[s], static_cast<float>(i0 + i1) * x.d, p.dmn[s] * (x.s0 + x.s1));
  }
};

// Q6_K: values 0..63 (offset 32 applied through s0/s1), one scale per 16 elements.
template <>
struct IDot<GgmlType::Q6_K> {
  static constexpr bool kEnabled = true;
  __device__ static float sub(const Dec<GgmlType::Q6_K>::Raw& r, int s, const XRegs& x) {
    uint32_t wv[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const uint32_t lw = dec::word(r.ql[2 * (s & 1) + i / 4], i % 4);
      const uint32_t hw = dec::word(r.qh[i / 4], i % 4);
      const uint32_t lo = s < 2 ? (lw & 0x0F0F0F0Fu) : ((lw >> 4) & 0x0F0F0F0Fu);
      // Bits 2s, 2s + 1 of each byte of qh onto bits 4, 5: one shift (s is
      // a constant after unrolling) and the mask-or (v23).
      const uint32_t h = s == 0 ? hw << 4 : s == 1 ? hw << 2 : s == 2 ? hw : hw >> 2;
      wv[i] = lo | (h & 0x30303030u);
    }
    int i0, i1;
    idot::dot_halves(wv, x, i0, i1);
    const float d = dec::h2f(r.d);
    float sc[2];
#pragma unroll
    for (int g = 0; g < 2; ++g) {
      const int c = 2 * s + g;  // scale index within the half
      sc[g] = d * static_cast<float>(static_cast<int8_t>(dec::half_scale(r.scales, r.h, c)));
    }
    return sc[0] * fmaf(x.d, static_cast<float>(i0), -32.f * x.s0) +
           sc[1] * fmaf(x.d, static_cast<float>(i1), -32.f * x.s1);
  }
};

template <>
struct IDot<GgmlType::Q2_K> {
  static constexpr bool kEnabled = true;
  __device__ static float sub(const Dec<GgmlType::Q2_K>::Raw& r, int s, const XRegs& x) {
    uint32_t wv[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) wv[i] = (dec::word(r.v[i / 4], i % 4) >> (2 * s)) & 0x03030303u;
    int i0, i1;
    idot::dot_halves(wv, x, i0, i1);
    const float d = dec::h2f(r.dd), dmin = dec::h2f(r.dd >> 16);
    float acc = 0.f;
#pragma unroll
    for (int g = 0; g < 2; ++g) {
      const int c = 2 * s + g;
      const uint32_t b = dec::half_scale(r.scales, r.h, c);
      const float sc = d * static_cast<float>(b & 0xF), mn = -dmin * static_cast<float>(b >> 4);
      acc = fmaf(sc * x.d, static_cast<float>(g == 0 ? i0 : i1), acc);
      acc = fmaf(mn, g == 0 ? x.s0 : x.s1, acc);
    }
    return acc;
  }
};

template <>
struct IDot<GgmlType::Q3_K> {
  static constexpr bool kEnabled = true;
  __device__ static float sub(const Dec<GgmlType::Q3_K>::Raw& r, int s, const XRegs& x) {
    using D = Dec<GgmlType::Q3_K>;
    uint32_t wv[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) wv[i] = D::codes(r, s, i);
    int i0, i1;
    idot::dot_halves(wv, x, i0, i1);
    float acc = 0.f;
#pragma unroll
    for (int g = 0; g < 2; ++g) {
      acc =
          fmaf(D::scale(r, 2 * s + g),
               fmaf(x.d, static_cast<float>(g == 0 ? i0 : i1), -4.f * (g == 0 ? x.s0 : x.s1)), acc);
    }
    return acc;
  }
};

}  // namespace kiln::cuda
