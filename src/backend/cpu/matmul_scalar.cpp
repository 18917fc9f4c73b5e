// Scalar dot kernels: the portable fallback and the oracle of the SIMD paths
// (the same integer sums per block; only float summation order differs).
#include <cstring>

#include "backend/cpu/matmul_kernels.h"
#include "quant/blocks.h"
#include "quant/fp16.h"

namespace kiln::cpu {

using namespace kiln::quant;

namespace {
template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
float half_at(const uint8_t* p) { return fp16_to_f32(load<uint16_t>(p)); }

constexpr int8_t kIq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                               1,    13,   25,  38,  53,  69,  89,  113};

float dot_f32(int64_t n, const uint8_t* w, const uint8_t* x) {
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += load<float>(w + 4 * i) * load<float>(x + 4 * i);
  return s;
}

template <float (*kConv)(uint16_t)>
float dot_16bit(int64_t n, const uint8_t* w, const uint8_t* x) {
  float s = 0;
  for (int64_t i = 0; i < n; ++i) {
    s += kConv(load<uint16_t>(w + 2 * i)) * kConv(load<uint16_t>(x + 2 * i));
  }
  return s;
}

// Signed weight quants of one 32-element legacy block into q[32]; *m gets the
// block's additive min (0 for symmetric types).
template <GgmlType kType>
void legacy_quants(const uint8_t* b, int* q, float* d, float* m) {
  *d = half_at(b);
  *m = 0;
  if constexpr (kType == GgmlType::Q8_0) {
    for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>(b[2 + j]);
  } else if constexpr (kType == GgmlType::Q4_0 || kType == GgmlType::IQ4_NL) {
    for (int j = 0; j < 16; ++j) {
      const int lo = b[2 + j] & 0xF, hi = b[2 + j] >> 4;
      q[j] = kType == GgmlType::Q4_0 ? lo - 8 : kIq4nl[lo];
      q[j + 16] = kType == GgmlType::Q4_0 ? hi - 8 : kIq4nl[hi];
    }
  } else if constexpr (kType == GgmlType::Q4_1) {
    *m = half_at(b + 2);
    for (int j = 0; j < 16; ++j) {
      q[j] = b[4 + j] & 0xF;
      q[j + 16] = b[4 + j] >> 4;
    }
  } else {  // Q5_0, Q5_1
    const bool affine = kType == GgmlType::Q5_1;
    if (affine) *m = half_at(b + 2);
    const uint8_t* p = b + (affine ? 4 : 2);
    const uint32_t h = load<uint32_t>(p);
    const uint8_t* qs = p + 4;
    for (int j = 0; j < 16; ++j) {
      q[j] = ((qs[j] & 0xF) | (((h >> j) & 1) << 4)) - (affine ? 0 : 16);
      q[j + 16] = ((qs[j] >> 4) | (((h >> (j + 16)) & 1) << 4)) - (affine ? 0 : 16);
    }
  }
}

// Legacy weights x Q8_0 / Q8_1 activations:
// sum over blocks of dw*dx*sum(q*qx) (+ m * s for the affine types).
template <GgmlType kType, int kBlockBytes>
float dot_legacy(int64_t n, const uint8_t* w, const uint8_t* x) {
  constexpr bool kAffine = kType == GgmlType::Q4_1 || kType == GgmlType::Q5_1;
  constexpr int kActBytes = kAffine ? 36 : 34;
  float sumf = 0, summs = 0;
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* wb = w + b * kBlockBytes;
    const uint8_t* xb = x + b * kActBytes;
    int q[32];
    float dw, mw;
    legacy_quants<kType>(wb, q, &dw, &mw);
    const int8_t* qx = reinterpret_cast<const int8_t*>(xb + (kAffine ? 4 : 2));
    int sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += q[j] * qx[j];
    sumf += static_cast<float>(sumi) * (dw * half_at(xb));
    if constexpr (kAffine) summs += mw * half_at(xb + 2);
  }
  return sumf + summs;
}

// ---- K-quants x Q8_K: per super-block integer sums, then float scaling ----

int dot16(const int* q, const int8_t* qx) {
  int s = 0;
  for (int l = 0; l < 16; ++l) s += q[l] * qx[l];
  return s;
}

// Weight codes of one super-block in element order (unsigned, before offsets),
// 16 per-16-element scales and mins (mins only for Q2_K/Q4_K/Q5_K), the code
// offset subtracted for every element (Q3_K 4, Q6_K 32), d and dmin.
struct KBlock {
  int q[256];
  int sc[16];
  int mn[16];
  int offset = 0;
  float d = 0, dmin = 0;
};

void unpack_scales_k4(const uint8_t* s, KBlock* k) {
  for (int j = 0; j < 8; ++j) {
    int sc, mn;
    if (j < 4) {
      sc = s[j] & 63;
      mn = s[j + 4] & 63;
    } else {
      sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
      mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
    k->sc[2 * j] = k->sc[2 * j + 1] = sc;
    k->mn[2 * j] = k->mn[2 * j + 1] = mn;
  }
}

template <GgmlType kType>
void unpack_k(const uint8_t* b, KBlock* k) {
  for (int i = 0; i < 16; ++i) k->mn[i] = 0;
  if constexpr (kType == GgmlType::Q2_K) {
    const auto blk = load<BlockQ2_K>(b);
    for (int i = 0; i < 256; ++i) {
      k->q[i] = (blk.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
    }
    for (int g = 0; g < 16; ++g) {
      k->sc[g] = blk.scales[g] & 0xF;
      k->mn[g] = blk.scales[g] >> 4;
    }
    k->d = half_at(b + 80);
    k->dmin = half_at(b + 82);
  } else if constexpr (kType == GgmlType::Q3_K) {
    const auto blk = load<BlockQ3_K>(b);
    for (int i = 0; i < 256; ++i) {
      const int low = (blk.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
      k->q[i] = low | (((blk.hmask[i % 32] >> (i / 32)) & 1) << 2);
    }
    const uint8_t* s = blk.scales;
    for (int j = 0; j < 16; ++j) {
      const int low4 = j < 8 ? (s[j] & 15) : (s[j - 8] >> 4);
      k->sc[j] = (low4 | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
    }
    k->offset = 4;
    k->d = half_at(b + 108);
  } else if constexpr (kType == GgmlType::Q4_K || kType == GgmlType::Q5_K) {
    const uint8_t* qs = b + (kType == GgmlType::Q4_K ? 16 : 48);
    for (int i = 0; i < 256; ++i) {
      k->q[i] = (qs[32 * (i / 64) + i % 32] >> (4 * ((i / 32) % 2))) & 0xF;
      if constexpr (kType == GgmlType::Q5_K) k->q[i] |= ((b[16 + i % 32] >> (i / 32)) & 1) << 4;
    }
    unpack_scales_k4(b + 4, k);
    k->d = half_at(b);
    k->dmin = half_at(b + 2);
  } else if constexpr (kType == GgmlType::Q6_K) {
    const auto blk = load<BlockQ6_K>(b);
    for (int i = 0; i < 256; ++i) {
      const int half = i / 128, plane = (i % 128) / 32, l = i % 32;
      const uint8_t lowbyte = blk.ql[64 * half + l + ((plane & 1) ? 32 : 0)];
      const int low4 = plane < 2 ? (lowbyte & 15) : (lowbyte >> 4);
      k->q[i] = low4 | (((blk.qh[32 * half + l] >> (2 * plane)) & 3) << 4);
    }
    for (int g = 0; g < 16; ++g) k->sc[g] = blk.scales[g];
    k->offset = 32;
    k->d = half_at(b + 208);
  } else {  // IQ4_XS: codes are the signed levels themselves
    const auto blk = load<BlockIQ4_XS>(b);
    for (int ib = 0; ib < 8; ++ib) {
      for (int j = 0; j < 16; ++j) {
        k->q[32 * ib + j] = kIq4nl[blk.qs[16 * ib + j] & 0xF];
        k->q[32 * ib + j + 16] = kIq4nl[blk.qs[16 * ib + j] >> 4];
      }
      const int ls =
          ((blk.scales_l[ib / 2] >> (4 * (ib % 2))) & 15) | (((blk.scales_h >> (2 * ib)) & 3) << 4);
      k->sc[2 * ib] = k->sc[2 * ib + 1] = ls - 32;
    }
    k->d = half_at(b);
  }
}

// sum over super-blocks of dx*(d*sum_g sc_g*(dot_g - offset*bsum_g) - dmin*sum_g mn_g*bsum_g)
template <GgmlType kType, int kBlockBytes>
float dot_k(int64_t n, const uint8_t* w, const uint8_t* x) {
  float sumf = 0;
  KBlock k;
  for (int64_t b = 0; b < n / 256; ++b) {
    unpack_k<kType>(w + b * kBlockBytes, &k);
    BlockQ8_K a;
    std::memcpy(&a, x + b * sizeof(BlockQ8_K), sizeof(a));
    int isum = 0, msum = 0;
    for (int g = 0; g < 16; ++g) {
      isum += k.sc[g] * (dot16(k.q + 16 * g, a.qs + 16 * g) - k.offset * a.bsums[g]);
      msum += k.mn[g] * a.bsums[g];
    }
    sumf += a.d * k.d * static_cast<float>(isum) - a.d * k.dmin * static_cast<float>(msum);
  }
  return sumf;
}

template <float (*kDot)(int64_t, const uint8_t*, const uint8_t*)>
void dot_tokens(int64_t n, const void* w, const void* const* x, int nt, float* out) {
  for (int t = 0; t < nt; ++t) {
    out[t] = kDot(n, static_cast<const uint8_t*>(w), static_cast<const uint8_t*>(x[t]));
  }
}
}  // namespace

DotFn scalar_dot(GgmlType wtype) {
  switch (wtype) {
    case GgmlType::F32:
      return dot_tokens<dot_f32>;
    case GgmlType::F16:
      return dot_tokens<dot_16bit<fp16_to_f32>>;
    case GgmlType::BF16:
      return dot_tokens<dot_16bit<bf16_to_f32>>;
    case GgmlType::Q4_0:
      return dot_tokens<dot_legacy<GgmlType::Q4_0, 18>>;
    case GgmlType::Q4_1:
      return dot_tokens<dot_legacy<GgmlType::Q4_1, 20>>;
    case GgmlType::Q5_0:
      return dot_tokens<dot_legacy<GgmlType::Q5_0, 22>>;
    case GgmlType::Q5_1:
      return dot_tokens<dot_legacy<GgmlType::Q5_1, 24>>;
    case GgmlType::Q8_0:
      return dot_tokens<dot_legacy<GgmlType::Q8_0, 34>>;
    case GgmlType::IQ4_NL:
      return dot_tokens<dot_legacy<GgmlType::IQ4_NL, 18>>;
    case GgmlType::Q2_K:
      return dot_tokens<dot_k<GgmlType::Q2_K, 84>>;
    case GgmlType::Q3_K:
      return dot_tokens<dot_k<GgmlType::Q3_K, 110>>;
    case GgmlType::Q4_K:
      return dot_tokens<dot_k<GgmlType::Q4_K, 144>>;
    case GgmlType::Q5_K:
      return dot_tokens<dot_k<GgmlType::Q5_K, 176>>;
    case GgmlType::Q6_K:
      return dot_tokens<dot_k<GgmlType::Q6_K, 210>>;
    case GgmlType::IQ4_XS:
      return dot_tokens<dot_k<GgmlType::IQ4_XS, 136>>;
    default:
      return nullptr;
  }
}

}  // namespace kiln::cpu
