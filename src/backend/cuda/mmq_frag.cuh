// Weight fragments of the multi-column decode kernel (matvec_mmq.cuh) for the
// integer tensor-core MMA mma.sync.m16n8k32 (k16 for types with a scale per 16
// elements), device code.
//
// PTX fragment layout (g = lane / 4, t = lane % 4): A (16 rows x 32 k, row
// major) a0 = row g, k 4t..4t+3; a1 = row g + 8, same k; a2 = row g, k
// 16+4t..16+4t+3; a3 = row g + 8, same k. B (32 k x 8 columns) b0 = column g,
// k 4t..4t+3; b1 = column g, k 16+4t... C (16 x 8, s32) c0, c1 = row g,
// columns 2t, 2t + 1; c2, c3 = row g + 8. So for one 32-element sub-chunk of
// a unit, lane t needs weight words t (elements 4t..4t+3) and 4 + t
// (16+4t..) of its rows, in the element order of Dec<T>/IDot<T>.
//
// Loading: the four lanes t of a quad load units u + t (t = 0..3) of their row
// with Dec<T>::load (16-byte loads, 64 contiguous bytes per row and plane),
// then quad_transpose swaps the words, so that word j of each per-element
// field is the lane's word t of unit u + j: exactly the A-fragment words of
// step j. Per-unit scalars (scales, fifth bits) come from lane j by a shuffle.
//
// Mmq<T>::frag(r, sc, j, s, t) gives, for sub-chunk s of step j, the words lo
// (word t, elements 4t..) and hi (word 4 + t) as unsigned bytes (signed for
// Q8_0, kSignedA) and the weight w[e] = k[h] * code[e] + m[h] * 1 per
// 16-element half h, folded with the activations as
//   sum_e w[e] x[e] = sum_h k[h] * (x.d * I_h) + m[h] * S_h,
// I_h the integer sum of half h (one k32 MMA gives I_0 + I_1 when kHalves is
// false, then k[0] = k[1] and m[0] = m[1] are used once), S_h = x.s0 / x.s1.
#pragma once

#include <cstdint>

#include "backend/cuda/decode.cuh"

namespace kiln::cuda {

namespace mmq {

inline constexpr unsigned kFull = 0xFFFFFFFFu;

// 4x4 transpose of words across the quad: lane t's word j becomes lane j's
// word t (two butterfly stages of two shuffles each).
__device__ __forceinline__ void quad_transpose(uint4& v) {
  const int t = static_cast<int>(threadIdx.x) & 3;
  const bool b1 = (t & 2) != 0, b0 = (t & 1) != 0;
  uint32_t s0 = b1 ? v.x : v.z, s1 = b1 ? v.y : v.w;
  uint32_t r0 = __shfl_xor_sync(kFull, s0, 2), r1 = __shfl_xor_sync(kFull, s1, 2);
  if (b1) {
    v.x = r0;
    v.y = r1;
  } else {
    v.z = r0;
    v.w = r1;
  }
  s0 = b0 ? v.x : v.y;
  s1 = b0 ? v.z : v.w;
  r0 = __shfl_xor_sync(kFull, s0, 1);
  r1 = __shfl_xor_sync(kFull, s1, 1);
  if (b0) {
    v.x = r0;
    v.z = r1;
  } else {
    v.y = r0;
    v.w = r1;
  }
}

// Both 16-byte fields of a pair (a unit's two quant halves).
__device__ __forceinline__ void quad_transpose(uint4 (&v)[2]) {
  quad_transpose(v[0]);
  quad_transpose(v[1]);
}

// The value of v in lane j of this lane's quad.
__device__ __forceinline__ uint32_t from_lane(uint32_t v, int j) {
  return __shfl_sync(kFull, v, (static_cast<int>(threadIdx.x) & 28) | j);
}

__device__ __forceinline__ uint4 from_lane(const uint4& v, int j) {
  return make_uint4(from_lane(v.x, j), from_lane(v.y, j), from_lane(v.z, j), from_lane(v.w, j));
}

__device__ __forceinline__ uint32_t lo4(uint32_t w) { return w & 0x0F0F0F0Fu; }
__device__ __forceinline__ uint32_t hi4(uint32_t w) { return (w >> 4) & 0x0F0F0F0Fu; }

// One sub-chunk's A words of a row and its scale terms.
struct Frag {
  uint32_t lo, hi;
  float k[2], m[2];
};

// Q4_K / Q5_K: words lo, hi with the 6-bit scale and min of sub-block sb.
__device__ __forceinline__ Frag k4_frag(uint32_t lo, uint32_t hi, int sb, const uint4& meta) {
  Frag f{lo, hi};
  dec::scale_min_k4(sb, meta, &f.k[0], &f.m[0]);
  f.k[1] = f.k[0];
  f.m[1] = f.m[0];
  return f;
}

// Nibbles of w: the low (s = 0) or high ones.
__device__ __forceinline__ uint32_t nib(uint32_t w, int s) { return s == 0 ? lo4(w) : hi4(w); }

}  // namespace mmq

template <GgmlType T>
struct Mmq {
  static constexpr bool kEnabled = false;
};

template <>
struct Mmq<GgmlType::Q8_0> {
  using D = Dec<GgmlType::Q8_0>;
  static constexpr bool kEnabled = true, kSignedA = true, kHalves = false;
  struct Sc {
    float d;
  };
  __device__ static void transpose(D::Raw& r) { mmq::quad_transpose(r.v); }
  __device__ static Sc scalars(const D::Raw& r, int j) {
    return {dec::h2f(mmq::from_lane(r.d, j))};
  }
  __device__ static mmq::Frag frag(const D::Raw& r, const Sc& c, int j, int, int) {
    return {dec::word(r.v[0], j), dec::word(r.v[1], j), {c.d, c.d}, {0.f, 0.f}};
  }
};

template <>
struct Mmq<GgmlType::Q4_0> {
  using D = Dec<GgmlType::Q4_0>;
  static constexpr bool kEnabled = true, kSignedA = false, kHalves = false;
  struct Sc {
    float d;
  };
  __device__ static void transpose(D::Raw& r) { mmq::quad_transpose(r.v); }
  __device__ static Sc scalars(const D::Raw& r, int j) {
    return {dec::h2f(mmq::from_lane(r.d, j))};
  }
  __device__ static mmq::Frag frag(const D::Raw& r, const Sc& c, int j, int, int) {
    const uint32_t w = dec::word(r.v, j);
    return {mmq::lo4(w), mmq::hi4(w), {c.d, c.d}, {-8.f * c.d, -8.f * c.d}};
  }
};

template <>
struct Mmq<GgmlType::Q4_1> {
  using D = Dec<GgmlType::Q4_1>;
  static constexpr bool kEnabled = true, kSignedA = false, kHalves = false;
  struct Sc {
    float d, m;
  };
  __device__ static void transpose(D::Raw& r) { mmq::quad_transpose(r.v); }
  __device__ static Sc scalars(const D::Raw& r, int j) {
    const uint32_t dm = mmq::from_lane(r.dm, j);
    return {dec::h2f(dm), dec::h2f(dm >> 16)};
  }
  __device__ static mmq::Frag frag(const D::Raw& r, const Sc& c, int j, int, int) {
    const uint32_t w = dec::word(r.v, j);
    return {mmq::lo4(w), mmq::hi4(w), {c.d, c.d}, {c.m, c.m}};
  }
};

// Q5_0 / Q5_1: the fifth bits from the unit's pre-rotated qh (dec::q5_bits).
template <>
struct Mmq<GgmlType::Q5_0> {
  using D = Dec<GgmlType::Q5_0>;
  static constexpr bool kEnabled = true, kSignedA = false, kHalves = false;
  struct Sc {
    uint32_t qh;
    float d;
  };
  __device__ static void transpose(D::Raw& r) { mmq::quad_transpose(r.v); }
  __device__ static Sc scalars(const D::Raw& r, int j) {
    return {mmq::from_lane(r.qh, j), dec::h2f(mmq::from_lane(r.d, j))};
  }
  __device__ static mmq::Frag frag(const D::Raw& r, const Sc& c, int j, int, int t) {
    const uint32_t w = dec::word(r.v, j);
    return {mmq::lo4(w) | dec::q5_bits(c.qh, t),
            mmq::hi4(w) | dec::q5_bits(c.qh, 4 + t),
            {c.d, c.d},
            {-16.f * c.d, -16.f * c.d}};
  }
};

template <>
struct Mmq<GgmlType::Q5_1> {
  using D = Dec<GgmlType::Q5_1>;
  static constexpr bool kEnabled = true, kSignedA = false, kHalves = false;
  struct Sc {
    uint32_t qh;
    float d, m;
  };
  __device__ static void transpose(D::Raw& r) { mmq::quad_transpose(r.v); }
  __device__ static Sc scalars(const D::Raw& r, int j) {
    const uint32_t dm = mmq::from_lane(r.dm, j);
    return {mmq::from_lane(r.qh, j), dec::h2f(dm), dec::h2f(dm >> 16)};
  }
  __device__ static mmq::Frag frag(const D::Raw& r, const Sc& c, int j, int, int t) {
    const uint32_t w = dec::word(r.v, j);
    return {mmq::lo4(w) | dec::q5_bits(c.qh, t),
            mmq::hi4(w) | dec::q5_bits(c.qh, 4 + t),
            {c.d, c.d},
            {c.m, c.m}};
  }
};

// Q4_K / Q5_K: four 64-element units per super-block, so the quad's units
// u..u+3 (u a multiple of 4) share meta and unit j is sub-blocks 2j, 2j + 1.
template <>
struct Mmq<GgmlType::Q4_K> {
  using D = Dec<GgmlType::Q4_K>;
  static constexpr bool kEnabled = true, kSignedA = false, kHalves = false;
  struct Sc {};
  __device__ static void transpose(D::Raw& r) { mmq::quad_transpose(r.v); }
  __device__ static Sc scalars(const D::Raw&, int) { return {}; }
  __device__ static mmq::Frag frag(const D::Raw& r, const Sc&, int j, int s, int) {
    return mmq::k4_frag(mmq::nib(dec::word(r.v[0], j), s), mmq::nib(dec::word(r.v[1], j), s),
                        2 * j + s, r.meta);
  }
};

template <>
struct Mmq<GgmlType::Q5_K> {
  using D = Dec<GgmlType::Q5_K>;
  static constexpr bool kEnabled = true, kSignedA = false, kHalves = false;
  struct Sc {
    uint32_t h0, h1;  // the unit's fifth bits per sub-chunk (v41)
  };
  __device__ static void transpose(D::Raw& r) { mmq::quad_transpose(r.v); }
  __device__ static Sc scalars(const D::Raw& r, int j) {
    return {mmq::from_lane(r.h.x, j), mmq::from_lane(r.h.y, j)};
  }
  __device__ static mmq::Frag frag(const D::Raw& r, const Sc& c, int j, int s, int t) {
    const uint32_t h = s == 0 ? c.h0 : c.h1;
    return mmq::k4_frag(mmq::nib(dec::word(r.v[0], j), s) | dec::q5_bits(h, t),
                        mmq::nib(dec::word(r.v[1], j), s) | dec::q5_bits(h, 4 + t), 2 * j + s,
                        r.meta);
  }
};

// Q6_K: two 128-element units per super-block (unit j of the quad is half
// j % 2); codes 0..63 with offset 32, a signed 8-bit scale per 16 elements.
template <>
struct Mmq<GgmlType::Q6_K> {
  using D = Dec<GgmlType::Q6_K>;
  static constexpr bool kEnabled = true, kSignedA = false, kHalves = true;
  struct Sc {
    uint4 scales;
    float d;
  };
  __device__ static void transpose(D::Raw& r) {
#pragma unroll
    for (int i = 0; i < 4; ++i) mmq::quad_transpose(r.ql[i]);
    mmq::quad_transpose(r.qh);
  }
  __device__ static Sc scalars(const D::Raw& r, int j) {
    return {mmq::from_lane(r.scales, j), dec::h2f(mmq::from_lane(r.d, j))};
  }
  __device__ static mmq::Frag frag(const D::Raw& r, const Sc& c, int j, int s, int) {
    mmq::Frag f;
    uint32_t q[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const uint32_t lw = dec::word(r.ql[2 * (s & 1) + i], j);
      const uint32_t hw = dec::word(r.qh[i], j);
      q[i] = (s < 2 ? mmq::lo4(lw) : mmq::hi4(lw)) | (((hw >> (2 * s)) & 0x03030303u) << 4);
    }
    f.lo = q[0];
    f.hi = q[1];
    const int h = j & 1;
#pragma unroll
    for (int g = 0; g < 2; ++g) {
      const int ci = 2 * s + g;
      f.k[g] = c.d * static_cast<float>(static_cast<int8_t>(dec::half_scale(c.scales, h, ci)));
      f.m[g] = -32.f * f.k[g];
    }
    return f;
  }
};

// Q2_K / Q3_K: two 128-element units per super-block (unit j of the quad is
// half j % 2), 2-bit codes (Q3_K: plus the hmask bit), a 4-bit (Q3_K: 6-bit)
// scale per 16 elements.
template <>
struct Mmq<GgmlType::Q2_K> {
  using D = Dec<GgmlType::Q2_K>;
  static constexpr bool kEnabled = true, kSignedA = false, kHalves = true;
  struct Sc {
    uint4 scales;
    uint32_t dd;
  };
  __device__ static void transpose(D::Raw& r) { mmq::quad_transpose(r.v); }
  __device__ static Sc scalars(const D::Raw& r, int j) {
    return {mmq::from_lane(r.scales, j), mmq::from_lane(r.dd, j)};
  }
  __device__ static mmq::Frag frag(const D::Raw& r, const Sc& c, int j, int s, int) {
    mmq::Frag f;
    f.lo = (dec::word(r.v[0], j) >> (2 * s)) & 0x03030303u;
    f.hi = (dec::word(r.v[1], j) >> (2 * s)) & 0x03030303u;
    const float d = dec::h2f(c.dd), dmin = dec::h2f(c.dd >> 16);
    const int h = j & 1;
#pragma unroll
    for (int g = 0; g < 2; ++g) {
      const int ci = 2 * s + g;
      const uint32_t b = dec::half_scale(c.scales, h, ci);
      f.k[g] = d * static_cast<float>(b & 0xF);
      f.m[g] = -dmin * static_cast<float>(b >> 4);
    }
    return f;
  }
};

template <>
struct Mmq<GgmlType::Q3_K> {
  using D = Dec<GgmlType::Q3_K>;
  static constexpr bool kEnabled = true, kSignedA = false, kHalves = true;
  struct Sc {
    uint4 sd;  // scales[12], d
  };
  __device__ static void transpose(D::Raw& r) {
    mmq::quad_transpose(r.v);
    mmq::quad_transpose(r.hm);
  }
  __device__ static Sc scalars(const D::Raw& r, int j) { return {mmq::from_lane(r.sd, j)}; }
  // The codes of word j of field k (0: elements 4t.., 1: 16+4t..): D::codes's bits.
  __device__ static uint32_t codes(const D::Raw& r, int k, int j, int s) {
    const int h = j & 1;
    const uint32_t lo = (dec::word(r.v[k], j) >> (2 * s)) & 0x03030303u;
    return lo | (((dec::word(r.hm[k], j) >> (4 * h + s)) & 0x01010101u) << 2);
  }
  __device__ static mmq::Frag frag(const D::Raw& r, const Sc& c, int j, int s, int) {
    mmq::Frag f;
    f.lo = codes(r, 0, j, s);
    f.hi = codes(r, 1, j, s);
    D::Raw sr{};  // D::scale reads sd and h only
    sr.sd = c.sd;
    sr.h = j & 1;
#pragma unroll
    for (int g = 0; g < 2; ++g) {
      f.k[g] = D::scale(sr, 2 * s + g);
      f.m[g] = -4.f * f.k[g];
    }
    return f;
  }
};

}  // namespace kiln::cuda
