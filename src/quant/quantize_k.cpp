// Reference K-quant quantizers without an importance matrix, following
// ggml's quantize_row_q*_K_ref (quant-formats.md §8): search sub-block
// scales, quantize the scales themselves, then re-quantize every element with
// the stored (reconstructed) scales.
#include <algorithm>
#include <cmath>

#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quant_internal.h"
#include "quant/quantize_k_search.h"

namespace kiln::quant::detail {

namespace {
int clamp_int(int v, int lo, int hi) { return std::max(lo, std::min(hi, v)); }

// Packs 2-bit values L[0..255] four per byte (Q2_K / Q3_K low bits).
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                           (L[j + l + 96] << 6));
    }
  }
}

// Stores the 6-bit (scale, min) pairs of Q4_K / Q5_K: inverse of get_scale_min_k4.
void pack_scales_k4(const uint8_t ls[8], const uint8_t lm[8], uint8_t s[12]) {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] = ls[j];
      s[j + 4] = lm[j];
    } else {
      s[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      s[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      s[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// Q4_K and Q5_K share everything but nmax and the search parameters.
// L: 256 levels in 0..nmax; fills d, dmin and scales of the block.
void quantize_superblock_k4(const float* x, int nmax, float rmin, int nstep, uint8_t L[kQK_K],
                            half_bits* d_out, half_bits* dmin_out, uint8_t scales_out[12]) {
  float mins[8], scales[8], weights[32];
  uint8_t laux[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xb = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xb[l] * xb[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xb[l]);
    scales[j] = make_qkx2_quants(32, nmax, xb, weights, L + 32 * j, &mins[j], laux, rmin, 0.1f,
                                 nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
  }
  std::fill(scales_out, scales_out + 12, 0);
  pack_scales_k4(ls, lm, scales_out);
  *d_out = f32_to_fp16(max_scale / 63.f);
  *dmin_out = f32_to_fp16(max_min / 63.f);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, scales_out, &sc, &m);
    const float d = fp16_to_f32(*d_out) * static_cast<float>(sc);
    if (d == 0.0f) continue;
    const float dm = fp16_to_f32(*dmin_out) * static_cast<float>(m);
    for (int ii = 0; ii < 32; ++ii) {
      L[32 * j + ii] =
          static_cast<uint8_t>(clamp_int(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax));
    }
  }
}
}  // namespace

void quantize_row_q2_k(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    uint8_t L[kQK_K], laux[16];
    float weights[16], mins[16], scales[16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(src[16 * j + l]);
      scales[j] = make_qkx2_quants(16, 3, src + 16 * j, weights, L + 16 * j, &mins[j], laux, -0.5f,
                                   0.1f, 15, true);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    BlockQ2_K blk{};
    if (max_scale > 0) {
      const float iscale = 15.f / max_scale;
      for (int j = 0; j < 16; ++j)
        blk.scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
      blk.d = f32_to_fp16(max_scale / 15.f);
    } else {
      blk.d = f32_to_fp16(0.f);
    }
    if (max_min > 0) {
      const float iscale = 15.f / max_min;
      for (int j = 0; j < 16; ++j) {
        blk.scales[j] |= static_cast<uint8_t>(nearest_int(iscale * mins[j]) << 4);
      }
      blk.dmin = f32_to_fp16(max_min / 15.f);
    } else {
      blk.dmin = f32_to_fp16(0.f);
    }
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_f32(blk.d) * static_cast<float>(blk.scales[j] & 0xF);
      if (d == 0.0f) continue;
      const float dm = fp16_to_f32(blk.dmin) * static_cast<float>(blk.scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        L[16 * j + ii] =
            static_cast<uint8_t>(clamp_int(nearest_int((src[16 * j + ii] + dm) / d), 0, 3));
      }
    }
    pack_2bit(L, blk.qs);
    store_block(dst, b, blk);
  }
}

void quantize_row_q3_k(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    int8_t L[kQK_K];
    float scales[16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = make_q3_quants(16, 4, src + 16 * j, L + 16 * j);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    BlockQ3_K blk{};
    if (max_scale != 0.0f) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < 16; ++j) {
        const int8_t q = static_cast<int8_t>(nearest_int(iscale * scales[j]));
        const int l = clamp_int(q, -32, 31) + 32;
        if (j < 8) {
          blk.scales[j] = static_cast<uint8_t>(l & 0xF);
        } else {
          blk.scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        }
        blk.scales[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
      }
      blk.d = f32_to_fp16(1 / iscale);
    } else {
      blk.d = f32_to_fp16(0.f);
    }
    for (int j = 0; j < 16; ++j) {
      const int low4 = j < 8 ? (blk.scales[j] & 0xF) : (blk.scales[j - 8] >> 4);
      const int sc = (low4 | (((blk.scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
      const float d = fp16_to_f32(blk.d) * static_cast<float>(sc);
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        L[16 * j + ii] =
            static_cast<int8_t>(clamp_int(nearest_int(src[16 * j + ii] / d), -4, 3) + 4);
      }
    }
    uint8_t low[kQK_K];
    for (int j = 0; j < kQK_K; ++j) {  // high bit of element j: hmask[j % 32], bit j / 32
      int l = L[j];
      if (l > 3) {
        blk.hmask[j % 32] |= static_cast<uint8_t>(1u << (j / 32));
        l -= 4;
      }
      low[j] = static_cast<uint8_t>(l);
    }
    pack_2bit(low, blk.qs);
    store_block(dst, b, blk);
  }
}

void quantize_row_q4_k(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    uint8_t L[kQK_K];
    BlockQ4_K blk{};
    quantize_superblock_k4(src, 15, -1.f, 20, L, &blk.d, &blk.dmin, blk.scales);
    for (int j = 0; j < kQK_K / 64; ++j) {
      for (int l = 0; l < 32; ++l) {
        blk.qs[32 * j + l] = static_cast<uint8_t>(L[64 * j + l] | (L[64 * j + l + 32] << 4));
      }
    }
    store_block(dst, b, blk);
  }
}

void quantize_row_q5_k(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    uint8_t L[kQK_K];
    BlockQ5_K blk{};
    quantize_superblock_k4(src, 31, -0.5f, 15, L, &blk.d, &blk.dmin, blk.scales);
    for (int j = 0; j < kQK_K / 64; ++j) {
      for (int l = 0; l < 32; ++l) {
        const int l1 = L[64 * j + l], l2 = L[64 * j + l + 32];
        blk.qh[l] |= static_cast<uint8_t>(((l1 >> 4) << (2 * j)) | ((l2 >> 4) << (2 * j + 1)));
        blk.qs[32 * j + l] = static_cast<uint8_t>((l1 & 0xF) | ((l2 & 0xF) << 4));
      }
    }
    store_block(dst, b, blk);
  }
}

void quantize_row_q6_k(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    int8_t L[kQK_K];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      scales[ib] = make_qx_quants(16, 32, src + 16 * ib, L + 16 * ib);
      const float abs_scale = std::fabs(scales[ib]);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scales[ib];
      }
    }
    BlockQ6_K blk{};
    if (max_abs_scale < 1e-15f) {  // all zero: the zero block
      blk.d = f32_to_fp16(0.f);
      store_block(dst, b, blk);
      continue;
    }
    const float iscale = -128.f / max_scale;
    blk.d = f32_to_fp16(1 / iscale);
    for (int ib = 0; ib < 16; ++ib) {
      blk.scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    }
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_f32(blk.d) * static_cast<float>(blk.scales[j]);
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        L[16 * j + ii] =
            static_cast<int8_t>(clamp_int(nearest_int(src[16 * j + ii] / d), -32, 31) + 32);
      }
    }
    for (int j = 0; j < kQK_K; j += 128) {
      uint8_t* ql = blk.ql + j / 2;
      uint8_t* qh = blk.qh + j / 4;
      for (int l = 0; l < 32; ++l) {
        const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) |
                                     ((q4 >> 4) << 6));
      }
    }
    store_block(dst, b, blk);
  }
}

}  // namespace kiln::quant::detail
