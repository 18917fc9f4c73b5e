// AVX-512 + VNNI kernels of the packed matmul (layouts: packed_kernels.h).
// Compiled with -mavx512f/bw/vl/vnni (isa.cmake); entered only after run-time
// detection (PackedMatrix::supported).
//
// Every kernel computes a tile of NP panels (16 rows each) x NT tokens with
// one 512-bit accumulator per (panel, token): lane r = row r. The k loop
// broadcasts 4 activation bytes (or 1 float) per token and multiplies them
// with one group vector of the panel, so the weights are unpacked once per
// tile and reused NT times, and the block scales of 16 rows are one vector.
// Prompt tiles use up to 8 tokens; single-token calls stream the 2 panels of
// a group at once (one sequential read; two accumulator chains per panel hide
// the vpdpbusd latency where needed).
#if defined(__x86_64__)
// GCC 12 flags the _mm512_undefined_*() operands inside many AVX-512 intrinsics
// as maybe-uninitialized (a false positive; the lanes are fully overwritten).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "backend/cpu/matmul_kernels.h"
#include "backend/cpu/packed.h"
#include "backend/cpu/packed_kernels.h"
#include "core/check.h"
#include "quant/fp16.h"

namespace kiln::cpu {

namespace {

constexpr int kR = kPanelRows;

inline __m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }
inline __m512i bcast32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
inline float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}
inline __m512 halves16(const uint8_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Rows of panel p that exist (the last panel may be partial).
inline __mmask16 row_mask(int64_t rows, int64_t p) {
  const int64_t n = std::min<int64_t>(kR, rows - p * kR);
  return static_cast<__mmask16>((1u << n) - 1);
}

template <int NP, int NT>
inline void store_tile(const __m512 (&acc)[NP][NT], float* y, int64_t ldy, int64_t p0,
                       int64_t rows) {
  for (int p = 0; p < NP; ++p) {
    const __mmask16 m = row_mask(rows, p0 + p);
    for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(y + t * ldy + (p0 + p) * kR, m, acc[p][t]);
  }
}

// ---- legacy blocks x Q8_0 / Q8_1: Q4_0, Q5_0, Q8_0, Q4_1, Q5_1 ----
//
// Codes are unsigned (0..15, 0..31, q + 128); the symmetric types subtract
// their offset through the activation block-sum corrections, the affine ones
// (Q4_1, Q5_1) add m * s (s = the Q8_1 block sum times d, half-rounded) in a
// second accumulator, added at the end as matmul()'s sumf + summs.

template <GgmlType kT>
constexpr bool kFive = kT == GgmlType::Q5_0 || kT == GgmlType::Q5_1;
template <GgmlType kT>
constexpr bool kAffine = kT == GgmlType::Q4_1 || kT == GgmlType::Q5_1;
template <GgmlType kT>
constexpr size_t kCodeBytes = kT == GgmlType::Q8_0 ? 512 : 256;
template <GgmlType kT>
constexpr size_t kHiBytes = kFive<kT> ? 64 : 0;
template <GgmlType kT>
constexpr int64_t kCorrIndex = kT == GgmlType::Q4_0   ? 0
                               : kT == GgmlType::Q5_0 ? 1
                                                      : 2;

template <GgmlType kT, int NP, int NT>
void legacy_tile(const PackedMatrix& w, int64_t p0, const uint8_t* a, size_t as, float* y,
                 int64_t ldy) {
  const int64_t cols = w.cols(), nb = cols / 32;
  // Block b of panel p0 + p at first + p * ps + b * bs: codes, (Q5_0) 5th bits, d.
  const size_t ps = w.block_bytes(), bs = w.block_stride();
  const uint8_t* first = w.block(p0, 0);
  const uint8_t* ad = a + cols;  // d f32 [nb]
  // corr i32 [3][nb]: this type's block-sum correction
  const uint8_t* ac = a + cols + nb * 4 + kCorrIndex<kT> * nb * 4;
  const uint8_t* asum = a + cols + nb * 16;  // s f32 [nb] (Q8_1's s)
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  [[maybe_unused]] const __m512i c16 = _mm512_set1_epi8(16);
  // Integer block sum start: the symmetric types' offset correction, or 0.
  auto dot_init = [&](int64_t t, int64_t b) {
    return kAffine<kT> ? _mm512_setzero_si512() : bcast32(ac + t * as + b * 4);
  };
  __m512 acc[NP][NT];
  [[maybe_unused]] __m512 accm[NP][NT];  // affine: sum of m * s
  for (int p = 0; p < NP; ++p)
    for (int t = 0; t < NT; ++t) acc[p][t] = accm[p][t] = _mm512_setzero_ps();
  // Panel-outer inside a block: the tile reads its (group-interleaved) blocks
  // in address order, which the hardware prefetchers follow best.
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* xb = a + b * 32;
    // Q5_0, single token: k-group-outer across the panels (measured from
    // DRAM: 20.7 GB/s vs 9.7 panel-outer; the other types stream faster
    // panel-outer, e.g. Q4_0 33 vs 25 GB/s).
    if constexpr (kFive<kT> && NT == 1 && NP > 1) {
      __m512i d1[NP], d2[NP];
      __m512i hvs[NP];
      for (int p = 0; p < NP; ++p) {
        d1[p] = dot_init(0, b);
        d2[p] = _mm512_setzero_si512();
        hvs[p] = load512(first + p * ps + b * bs);
      }
      for (int g = 0; g < 4; ++g) {
        for (int p = 0; p < NP; ++p) {
          const __m512i v = load512(first + p * ps + b * bs + kHiBytes<kT> + g * 64);
          __m512i lo = _mm512_and_si512(v, m4);
          __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
          lo = _mm512_ternarylogic_epi32(lo, _mm512_slli_epi16(hvs[p], 4 - g), c16, 0xF8);
          hi = _mm512_ternarylogic_epi32(hi, _mm512_srli_epi16(hvs[p], g), c16, 0xF8);
          d1[p] = _mm512_dpbusd_epi32(d1[p], lo, bcast32(xb + 4 * g));
          d2[p] = _mm512_dpbusd_epi32(d2[p], hi, bcast32(xb + 16 + 4 * g));
        }
      }
      for (int p = 0; p < NP; ++p) {
        const uint8_t* scales = first + p * ps + b * bs + kCodeBytes<kT> + kHiBytes<kT>;
        const __m512 sc = _mm512_mul_ps(halves16(scales), _mm512_set1_ps(load_f32(ad + b * 4)));
        acc[p][0] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(d1[p], d2[p])), sc, acc[p][0]);
        if constexpr (kAffine<kT>)
          accm[p][0] = _mm512_fmadd_ps(halves16(scales + 32),
                                       _mm512_set1_ps(load_f32(asum + b * 4)), accm[p][0]);
      }
      continue;
    }
    for (int p = 0; p < NP; ++p) {
      const uint8_t* blk = first + p * ps + b * bs;
      __m512i dot[NT];
      for (int t = 0; t < NT; ++t) dot[t] = dot_init(t, b);
      [[maybe_unused]] __m512i dot2 = _mm512_setzero_si512();
      if constexpr (kT == GgmlType::Q8_0) {
#pragma GCC unroll 8
        for (int g = 0; g < 8; ++g) {
          const __m512i u = load512(blk + g * 64);
          for (int t = 0; t < NT; ++t)
            dot[t] = _mm512_dpbusd_epi32(dot[t], u, bcast32(xb + t * as + 4 * g));
        }
      } else {
        // Q5_0/Q5_1: the 5th bits come first in the block (see packed_kernels.h).
        [[maybe_unused]] __m512i hv;
        if constexpr (kFive<kT>) hv = load512(blk);
        const uint8_t* nib = blk + kHiBytes<kT>;
#pragma GCC unroll 4
        for (int g = 0; g < 4; ++g) {
          const __m512i v = load512(nib + g * 64);
          __m512i lo = _mm512_and_si512(v, m4);
          __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
          if constexpr (kFive<kT>) {
            // 5th bits of k-groups g and g + 4 are bits g and g + 4 of each
            // byte of hv: move them to bit 4 (16-bit shifts by <= 4 keep every
            // byte's bit 4 within that byte) and or them in.
            lo = _mm512_ternarylogic_epi32(lo, _mm512_slli_epi16(hv, 4 - g), c16, 0xF8);
            hi = _mm512_ternarylogic_epi32(hi, _mm512_srli_epi16(hv, g), c16, 0xF8);
          }
          if constexpr (NT == 1) {  // two chains (integer sums: same result)
            dot[0] = _mm512_dpbusd_epi32(dot[0], lo, bcast32(xb + 4 * g));
            dot2 = _mm512_dpbusd_epi32(dot2, hi, bcast32(xb + 16 + 4 * g));
          } else {
            for (int t = 0; t < NT; ++t) {
              dot[t] = _mm512_dpbusd_epi32(dot[t], lo, bcast32(xb + t * as + 4 * g));
              dot[t] = _mm512_dpbusd_epi32(dot[t], hi, bcast32(xb + t * as + 16 + 4 * g));
            }
          }
        }
        if constexpr (NT == 1) dot[0] = _mm512_add_epi32(dot[0], dot2);
      }
      const __m512 dw = halves16(blk + kCodeBytes<kT> + kHiBytes<kT>);
      for (int t = 0; t < NT; ++t) {
        const __m512 sc = _mm512_mul_ps(dw, _mm512_set1_ps(load_f32(ad + t * as + b * 4)));
        acc[p][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[t]), sc, acc[p][t]);
      }
      if constexpr (kAffine<kT>) {
        const __m512 mw = halves16(blk + kCodeBytes<kT> + kHiBytes<kT> + 32);
        for (int t = 0; t < NT; ++t) {
          accm[p][t] =
              _mm512_fmadd_ps(mw, _mm512_set1_ps(load_f32(asum + t * as + b * 4)), accm[p][t]);
        }
      }
    }
  }
  if constexpr (kAffine<kT>) {
    for (int p = 0; p < NP; ++p)
      for (int t = 0; t < NT; ++t) acc[p][t] = _mm512_add_ps(acc[p][t], accm[p][t]);
  }
  store_tile<NP, NT>(acc, y, ldy, p0, w.rows());
}

// ---- K-quants x Q8_K: Q4_K, Q5_K, Q6_K ----
//
// Per super-block the integer sum isum = sum_s sc_s * dot_s (and Q4_K's
// msum = sum_s mn_s * sum32_s) is exact; the float update is the scalar
// kernel's expression, so results are bit-identical to it.

// Q5: Q5_K, whose 5th bits (hv, packed_kernels.h) are or-ed into the codes.
template <bool Q5, int NP, int NT>
void q4_k_tile(const PackedMatrix& w, int64_t p0, const uint8_t* a, size_t as, float* y,
               int64_t ldy) {
  const int64_t cols = w.cols(), ns = cols / 256;
  // Super-block s of panel p0 + p at first + p * ps + s * bs: nibbles, sc, mn, d, dmin.
  const size_t ps = w.block_bytes(), bs = w.block_stride();
  const uint8_t* first = w.block(p0, 0);
  const uint8_t* ad = a + cols;            // d f32 [ns]
  const uint8_t* a32 = a + cols + ns * 4;  // s32 pairs [ns][4]
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  [[maybe_unused]] const __m512i c16 = _mm512_set1_epi8(16);
  __m512 acc[NP][NT];
  for (int p = 0; p < NP; ++p)
    for (int t = 0; t < NT; ++t) acc[p][t] = _mm512_setzero_ps();
  for (int64_t s = 0; s < ns; ++s) {
    __m512i isum[NP][NT];
    for (int p = 0; p < NP; ++p)
      for (int t = 0; t < NT; ++t) isum[p][t] = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      __m512i dlo[NP][NT], dhi[NP][NT];
      for (int p = 0; p < NP; ++p)
        for (int t = 0; t < NT; ++t) dlo[p][t] = dhi[p][t] = _mm512_setzero_si512();
      const uint8_t* xb = a + s * 256 + c * 64;
      [[maybe_unused]] __m512i hvlo[NP], hvhi[NP];
      if constexpr (Q5) {
        for (int p = 0; p < NP; ++p) {
          hvlo[p] = load512(first + p * ps + s * bs + 2368 + c * 128);
          hvhi[p] = load512(first + p * ps + s * bs + 2368 + c * 128 + 64);
        }
      }
#pragma GCC unroll 8
      for (int g = 0; g < 8; ++g) {
        for (int p = 0; p < NP; ++p) {
          const __m512i v = load512(first + p * ps + s * bs + (c * 8 + g) * 64);
          __m512i lo = _mm512_and_si512(v, m4);
          __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
          if constexpr (Q5) {
            // Bit g of each hv byte to bit 4 (16-bit shifts by <= 4 stay in the byte).
            const auto to4 = [g](__m512i h) {
              return g <= 4 ? _mm512_slli_epi16(h, static_cast<unsigned>(4 - g))
                            : _mm512_srli_epi16(h, static_cast<unsigned>(g - 4));
            };
            lo = _mm512_ternarylogic_epi32(lo, to4(hvlo[p]), c16, 0xF8);
            hi = _mm512_ternarylogic_epi32(hi, to4(hvhi[p]), c16, 0xF8);
          }
          for (int t = 0; t < NT; ++t) {
            dlo[p][t] = _mm512_dpbusd_epi32(dlo[p][t], lo, bcast32(xb + t * as + 4 * g));
            dhi[p][t] = _mm512_dpbusd_epi32(dhi[p][t], hi, bcast32(xb + t * as + 32 + 4 * g));
          }
        }
      }
      for (int p = 0; p < NP; ++p) {
        const uint8_t* sc = first + p * ps + s * bs + 2048 + 2 * c * 16;
        const __m512i slo =
            _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
        const __m512i shi =
            _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 16)));
        for (int t = 0; t < NT; ++t) {
          isum[p][t] = _mm512_add_epi32(isum[p][t], _mm512_mullo_epi32(dlo[p][t], slo));
          isum[p][t] = _mm512_add_epi32(isum[p][t], _mm512_mullo_epi32(dhi[p][t], shi));
        }
      }
    }
    for (int p = 0; p < NP; ++p) {
      const uint8_t* blk = first + p * ps + s * bs;
      const __m512 d = halves16(blk + 2304);
      const __m512 dmin = halves16(blk + 2336);
      __m512i msum[NT];
      for (int t = 0; t < NT; ++t) msum[t] = _mm512_setzero_si512();
      for (int q = 0; q < 4; ++q) {
        const __m512i mn = _mm512_cvtepu8_epi16(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2176 + q * 32)));
        for (int t = 0; t < NT; ++t)
          msum[t] = _mm512_dpwssd_epi32(msum[t], mn, bcast32(a32 + t * as + s * 16 + q * 4));
      }
      for (int t = 0; t < NT; ++t) {
        const __m512 xd = _mm512_set1_ps(load_f32(ad + t * as + s * 4));
        const __m512 t1 = _mm512_mul_ps(_mm512_mul_ps(xd, d), _mm512_cvtepi32_ps(isum[p][t]));
        const __m512 t2 = _mm512_mul_ps(_mm512_mul_ps(xd, dmin), _mm512_cvtepi32_ps(msum[t]));
        acc[p][t] = _mm512_add_ps(acc[p][t], _mm512_sub_ps(t1, t2));
      }
    }
  }
  store_tile<NP, NT>(acc, y, ldy, p0, w.rows());
}

template <int NP, int NT>
void q6_k_tile(const PackedMatrix& w, int64_t p0, const uint8_t* a, size_t as, float* y,
               int64_t ldy) {
  const int64_t cols = w.cols(), ns = cols / 256;
  // Super-block s of panel p0 + p at first + p * ps + s * bs: codes, sc, d.
  const size_t ps = w.block_bytes(), bs = w.block_stride();
  const uint8_t* first = w.block(p0, 0);
  const uint8_t* ad = a + cols;                    // d f32 [ns]
  const uint8_t* aneg = a + cols + ns * (4 + 16);  // -32 * sum16 i32 [ns][16]
  __m512 acc[NP][NT];
  for (int p = 0; p < NP; ++p)
    for (int t = 0; t < NT; ++t) acc[p][t] = _mm512_setzero_ps();
  for (int64_t s = 0; s < ns; ++s) {
    __m512i isum[NP][NT];
    for (int p = 0; p < NP; ++p)
      for (int t = 0; t < NT; ++t) isum[p][t] = _mm512_setzero_si512();
    for (int j = 0; j < 16; ++j) {
      __m512i dot[NP][NT];
      for (int t = 0; t < NT; ++t) {
        const __m512i c = bcast32(aneg + t * as + s * 64 + j * 4);
        for (int p = 0; p < NP; ++p) dot[p][t] = c;
      }
      const uint8_t* xb = a + s * 256 + j * 16;
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) {
        for (int p = 0; p < NP; ++p) {
          const __m512i u = load512(first + p * ps + s * bs + (j * 4 + g) * 64);
          for (int t = 0; t < NT; ++t)
            dot[p][t] = _mm512_dpbusd_epi32(dot[p][t], u, bcast32(xb + t * as + 4 * g));
        }
      }
      for (int p = 0; p < NP; ++p) {
        const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(
            reinterpret_cast<const __m128i*>(first + p * ps + s * bs + 4096 + j * 16)));
        for (int t = 0; t < NT; ++t)
          isum[p][t] = _mm512_add_epi32(isum[p][t], _mm512_mullo_epi32(dot[p][t], sc));
      }
    }
    for (int p = 0; p < NP; ++p) {
      const __m512 d = halves16(first + p * ps + s * bs + 4352);
      for (int t = 0; t < NT; ++t) {
        const __m512 xd = _mm512_set1_ps(load_f32(ad + t * as + s * 4));
        // The scalar kernel's a.d * d * isum - a.d * dmin * msum with dmin = msum = 0.
        const __m512 t1 = _mm512_mul_ps(_mm512_mul_ps(xd, d), _mm512_cvtepi32_ps(isum[p][t]));
        acc[p][t] = _mm512_add_ps(acc[p][t], _mm512_sub_ps(t1, _mm512_setzero_ps()));
      }
    }
  }
  store_tile<NP, NT>(acc, y, ldy, p0, w.rows());
}

// ---- F16 x F16, BF16 x BF16 (activations rounded to the weight's type,
// products summed in f32) ----

// 16 BF16 values as floats (the bits shifted into the high half).
inline __m512 bf16x16(const uint8_t* p) {
  const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

template <bool BF, int NP, int NT>
void f16_tile(const PackedMatrix& w, int64_t p0, const uint8_t* a, size_t as, float* y,
              int64_t ldy) {
  // Block k (32 columns) of panel p0 + p at first + p * ps + k * bs: [32][16] halves (BF16).
  const size_t ps = w.block_bytes(), bs = w.block_stride();
  const uint8_t* first = w.block(p0, 0);
  __m512 acc[NP][NT];
  for (int p = 0; p < NP; ++p)
    for (int t = 0; t < NT; ++t) acc[p][t] = _mm512_setzero_ps();
  for (int64_t k = 0; k < w.n_blocks(); ++k) {
    const uint8_t* xk = a + k * 128;
    for (int p = 0; p < NP; ++p) {  // address order (see legacy_tile)
      const uint8_t* blk = first + p * ps + k * bs;
#pragma GCC unroll 4
      for (int c = 0; c < 32; ++c) {
        const __m512 wv = BF ? bf16x16(blk + c * 32) : halves16(blk + c * 32);
        for (int t = 0; t < NT; ++t) {
          acc[p][t] = _mm512_fmadd_ps(wv, _mm512_set1_ps(load_f32(xk + t * as + c * 4)), acc[p][t]);
        }
      }
    }
  }
  store_tile<NP, NT>(acc, y, ldy, p0, w.rows());
}

// ---- dispatch ----

using TileFn = void (*)(const PackedMatrix&, int64_t, const uint8_t*, size_t, float*, int64_t);

// TileFn of K<NP, 1..MaxNt>, indexed by nt - 1.
template <template <int, int> class K, int NP, int... I>
constexpr std::array<TileFn, sizeof...(I)> tile_table(std::integer_sequence<int, I...>) {
  return {K<NP, I + 1>::run...};
}

// The tile kernel of weight type kT.
template <GgmlType kT>
struct TileOf {
  template <int NP, int NT>
  struct At {
    static void run(const PackedMatrix& w, int64_t p0, const uint8_t* a, size_t as, float* y,
                    int64_t ldy) {
      if constexpr (kT == GgmlType::Q4_K || kT == GgmlType::Q5_K) {
        q4_k_tile<kT == GgmlType::Q5_K, NP, NT>(w, p0, a, as, y, ldy);
      } else if constexpr (kT == GgmlType::Q6_K) {
        q6_k_tile<NP, NT>(w, p0, a, as, y, ldy);
      } else if constexpr (kT == GgmlType::F16 || kT == GgmlType::BF16) {
        f16_tile<kT == GgmlType::BF16, NP, NT>(w, p0, a, as, y, ldy);
      } else {
        legacy_tile<kT, NP, NT>(w, p0, a, as, y, ldy);
      }
    }
  };
};

// Prompt tiles of NP panels x up to MaxNt tokens; the panels left over at the
// end of the range (fewer than NP) run one at a time. Single tokens: a
// group's panels at once.
template <template <int, int> class K, int NP, int MaxNt>
void run_tiles(const PackedMatrix& w, int64_t p0, int64_t p1, const uint8_t* a, size_t as,
               int64_t n_tokens, float* y, int64_t ldy) {
  if (n_tokens == 1) {
    static_assert(kPanelGroup == 2);
    static constexpr std::array<TileFn, 2> kSingle = {K<1, 1>::run, K<2, 1>::run};
    // Tiles never cross a group: its panels are interleaved block by block.
    for (int64_t p = p0; p < p1;) {
      const int64_t np = std::min<int64_t>(kPanelGroup - p % kPanelGroup, p1 - p);
      kSingle[static_cast<size_t>(np - 1)](w, p, a, as, y, ldy);
      p += np;
    }
    return;
  }
  static constexpr auto kWide = tile_table<K, NP>(std::make_integer_sequence<int, MaxNt>{});
  static constexpr auto kOne = tile_table<K, 1>(std::make_integer_sequence<int, MaxNt>{});
  // Panel-outer: the panels (~10-50 KB each) stay in L1/L2 while all tokens
  // stream past them.
  for (int64_t p = p0; p < p1;) {
    const bool wide = p + NP <= p1 && p % kPanelGroup + NP <= kPanelGroup;  // within a group
    const auto& table = wide ? kWide : kOne;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += MaxNt) {
      const auto nt = static_cast<size_t>(std::min<int64_t>(MaxNt, n_tokens - t0));
      table[nt - 1](w, p, a + t0 * as, as, y + t0 * ldy, ldy);
    }
    p += wide ? NP : 1;
  }
}

// ---- activation conversion ----

inline int32_t hsum_epi32(__m512i v) { return _mm512_reduce_add_epi32(v); }

// ggml's x86 quantize_row_q8_0: d = amax / 127 (stored as half), quants
// round(x * 127 / amax) to nearest even. Bit-identical to matmul_act.cpp.
// Writes the block-sum corrections of the three symmetric legacy weight types
// and Q8_1's s = half(d * sum) (d before rounding, as quantize_row_q8_1) for
// the affine ones.
void quantize_q8_0_rows(const float* x, int64_t cols, uint8_t* dst) {
  const int64_t nb = cols / 32;
  auto* qs = reinterpret_cast<int8_t*>(dst);
  uint8_t* dd = dst + cols;
  uint8_t* corr = dd + nb * 4;
  uint8_t* ss = corr + 3 * nb * 4;
  for (int64_t b = 0; b < nb; ++b) {
    const __m512 v0 = _mm512_loadu_ps(x + b * 32), v1 = _mm512_loadu_ps(x + b * 32 + 16);
    const __m512 a = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1));
    const float amax = _mm512_reduce_max_ps(a);
    const float d = amax / 127.f;
    const float id = amax != 0.0f ? 127.f / amax : 0.0f;
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(id)));
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(id)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + b * 32), _mm512_cvtepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + b * 32 + 16), _mm512_cvtepi32_epi8(q1));
    const int32_t sum = hsum_epi32(_mm512_add_epi32(q0, q1));
    const float dh = _cvtsh_ss(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
    std::memcpy(dd + b * 4, &dh, 4);
    const int32_t c[3] = {-8 * sum, -16 * sum, -128 * sum};
    for (int i = 0; i < 3; ++i) std::memcpy(corr + (i * nb + b) * 4, &c[i], 4);
    const float sh = _cvtsh_ss(_cvtss_sh(d * static_cast<float>(sum), _MM_FROUND_TO_NEAREST_INT));
    std::memcpy(ss + b * 4, &sh, 4);
  }
}

// quantize_row_q8_K_ref: the scale comes from the first element of largest
// magnitude (with its sign), d = 1 / (-127 / max), quants min(127, round).
void quantize_q8_k_rows(const float* x, int64_t cols, uint8_t* dst) {
  const int64_t ns = cols / 256;
  auto* qs = reinterpret_cast<int8_t*>(dst);
  uint8_t* dd = dst + cols;
  uint8_t* s32 = dd + ns * 4;
  uint8_t* neg = s32 + ns * 16;
  for (int64_t s = 0; s < ns; ++s) {
    const float* xs = x + s * 256;
    __m512 m = _mm512_setzero_ps();
    for (int i = 0; i < 16; ++i) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(xs + 16 * i)));
    const float amax = _mm512_reduce_max_ps(m);
    int32_t sum16[16] = {};
    float d = 0.0f;
    if (amax == 0.0f) {
      std::memset(qs + s * 256, 0, 256);
    } else {
      float max = 0.0f;
      for (int i = 0; i < 16; ++i) {
        const __m512 v = _mm512_loadu_ps(xs + 16 * i);
        const __mmask16 eq = _mm512_cmp_ps_mask(_mm512_abs_ps(v), _mm512_set1_ps(amax), _CMP_EQ_OQ);
        if (eq != 0) {
          max = xs[16 * i + __builtin_ctz(eq)];
          break;
        }
      }
      const float iscale = -127.f / max;
      for (int i = 0; i < 16; ++i) {
        const __m512 v = _mm512_loadu_ps(xs + 16 * i);
        __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_set1_ps(iscale), v));
        q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + s * 256 + 16 * i),
                         _mm512_cvtepi32_epi8(q));
        sum16[i] = hsum_epi32(q);
      }
      d = 1 / iscale;
    }
    std::memcpy(dd + s * 4, &d, 4);
    for (int p = 0; p < 4; ++p) {
      const int32_t lo = sum16[4 * p] + sum16[4 * p + 1], hi = sum16[4 * p + 2] + sum16[4 * p + 3];
      const uint32_t pair =
          (static_cast<uint32_t>(lo) & 0xFFFF) | (static_cast<uint32_t>(hi) << 16);
      std::memcpy(s32 + s * 16 + p * 4, &pair, 4);
    }
    for (int g = 0; g < 16; ++g) {
      const int32_t v = -32 * sum16[g];
      std::memcpy(neg + s * 64 + g * 4, &v, 4);
    }
  }
}

void round_f16_rows(const float* x, int64_t cols, uint8_t* dst) {
  auto* out = reinterpret_cast<float*>(dst);
  int64_t i = 0;
  for (; i + 16 <= cols; i += 16) {
    const __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(h));
  }
  for (; i < cols; ++i) out[i] = _cvtsh_ss(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}

// Values rounded to BF16 exactly as quant::f32_to_bf16 (matmul_act.cpp), as floats.
void round_bf16_rows(const float* x, int64_t cols, uint8_t* dst) {
  auto* out = reinterpret_cast<float*>(dst);
  for (int64_t i = 0; i < cols; ++i) {
    out[i] = quant::bf16_to_f32(quant::f32_to_bf16(x[i]));
  }
}

}  // namespace

void avx512_packed_quantize(GgmlType type, const float* x, int64_t cols, uint8_t* dst) {
  KILN_CHECK_MSG(packed_block_bytes(type) > 0,
                 "avx512_packed_quantize: type without a packed layout");
  switch (activation_type(type)) {  // one conversion per family (packed_kernels.h)
    case GgmlType::Q8_0:
    case GgmlType::Q8_1:
      return quantize_q8_0_rows(x, cols, dst);
    case GgmlType::Q8_K:
      return quantize_q8_k_rows(x, cols, dst);
    case GgmlType::F16:
      return round_f16_rows(x, cols, dst);
    default:  // BF16
      return round_bf16_rows(x, cols, dst);
  }
}

void avx512_packed_gemm(const PackedMatrix& w, int64_t p0, int64_t p1, const uint8_t* act,
                        size_t act_stride, int64_t n_tokens, float* y, int64_t ldy) {
  auto run = [&]<GgmlType kT>() {
    run_tiles<TileOf<kT>::template At, 1, 8>(w, p0, p1, act, act_stride, n_tokens, y, ldy);
  };
  switch (w.type()) {
    case GgmlType::Q4_0:
      return run.operator()<GgmlType::Q4_0>();
    case GgmlType::Q5_0:
      return run.operator()<GgmlType::Q5_0>();
    case GgmlType::Q8_0:
      return run.operator()<GgmlType::Q8_0>();
    case GgmlType::Q4_1:
      return run.operator()<GgmlType::Q4_1>();
    case GgmlType::Q5_1:
      return run.operator()<GgmlType::Q5_1>();
    case GgmlType::Q4_K:
      return run.operator()<GgmlType::Q4_K>();
    case GgmlType::Q5_K:
      return run.operator()<GgmlType::Q5_K>();
    case GgmlType::Q6_K:
      return run.operator()<GgmlType::Q6_K>();
    case GgmlType::F16:
      return run.operator()<GgmlType::F16>();
    case GgmlType::BF16:
      return run.operator()<GgmlType::BF16>();
    default:
      KILN_CHECK_MSG(false, "avx512_packed_gemm: type without a packed layout");
  }
}

}  // namespace kiln::cpu
#else  // !__x86_64__
#include "backend/cpu/packed_kernels.h"
#include "core/check.h"
namespace kiln::cpu {
void avx512_packed_quantize(GgmlType, const float*, int64_t, uint8_t*) {
  KILN_CHECK_MSG(false, "packed matmul needs x86-64");
}
void avx512_packed_gemm(const PackedMatrix&, int64_t, int64_t, const uint8_t*, size_t, int64_t,
                        float*, int64_t) {
  KILN_CHECK_MSG(false, "packed matmul needs x86-64");
}
}  // namespace kiln::cpu
#endif
