// Dequantizers of the 256-element super-block types (quant-formats.md §5, §6).
// Products are formed in ggml's order ((d*scale)*q - dmin*min) in float32.
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quant_internal.h"

namespace kiln::quant::detail {

void dequantize_row_q2_k(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const auto blk = load_block<BlockQ2_K>(src, b);
    const float d = fp16_to_f32(blk.d), dmin = fp16_to_f32(blk.dmin);
    int is = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = blk.qs + 32 * half;
      for (int plane = 0; plane < 4; ++plane) {
        for (int k = 0; k < 2; ++k, ++is) {  // two 16-element sub-blocks per plane
          const uint8_t sc = blk.scales[is];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 16 * k; l < 16 * k + 16; ++l) {
            *dst++ = dl * static_cast<float>((q[l] >> (2 * plane)) & 3) - ml;
          }
        }
      }
    }
  }
}

namespace {
// The sixteen 6-bit Q3_K scales, unpacked and re-centred to -32..31.
void q3_k_scales(const uint8_t s[12], int out[16]) {
  for (int j = 0; j < 16; ++j) {
    const int low4 = j < 8 ? (s[j] & 15) : (s[j - 8] >> 4);
    const int high2 = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = (low4 | (high2 << 4)) - 32;
  }
}
}  // namespace

void dequantize_row_q3_k(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const auto blk = load_block<BlockQ3_K>(src, b);
    const float d = fp16_to_f32(blk.d);
    int sc[16];
    q3_k_scales(blk.scales, sc);
    int is = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = blk.qs + 32 * half;
      for (int plane = 0; plane < 4; ++plane) {
        const uint8_t hbit = static_cast<uint8_t>(1u << (4 * half + plane));
        for (int k = 0; k < 2; ++k, ++is) {
          const float dl = d * static_cast<float>(sc[is]);
          for (int l = 16 * k; l < 16 * k + 16; ++l) {
            const int v = ((q[l] >> (2 * plane)) & 3) - ((blk.hmask[l] & hbit) ? 0 : 4);
            *dst++ = dl * static_cast<float>(v);
          }
        }
      }
    }
  }
}

void dequantize_row_q4_k(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const auto blk = load_block<BlockQ4_K>(src, b);
    const float d = fp16_to_f32(blk.d), dmin = fp16_to_f32(blk.dmin);
    for (int j = 0; j < kQK_K / 64; ++j) {
      const uint8_t* q = blk.qs + 32 * j;
      for (int nib = 0; nib < 2; ++nib) {  // even sub-block: low nibble, odd: high
        uint8_t sc, mn;
        get_scale_min_k4(2 * j + nib, blk.scales, &sc, &mn);
        const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(mn);
        for (int l = 0; l < 32; ++l) {
          *dst++ = d1 * static_cast<float>((q[l] >> (4 * nib)) & 0xF) - m1;
        }
      }
    }
  }
}

void dequantize_row_q5_k(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const auto blk = load_block<BlockQ5_K>(src, b);
    const float d = fp16_to_f32(blk.d), dmin = fp16_to_f32(blk.dmin);
    for (int j = 0; j < kQK_K / 64; ++j) {
      const uint8_t* q = blk.qs + 32 * j;
      for (int nib = 0; nib < 2; ++nib) {
        const int sb = 2 * j + nib;
        uint8_t sc, mn;
        get_scale_min_k4(sb, blk.scales, &sc, &mn);
        const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(mn);
        for (int l = 0; l < 32; ++l) {
          const int v = ((q[l] >> (4 * nib)) & 0xF) | (((blk.qh[l] >> sb) & 1) << 4);
          *dst++ = d1 * static_cast<float>(v) - m1;
        }
      }
    }
  }
}

void dequantize_row_q6_k(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, dst += kQK_K) {
    const auto blk = load_block<BlockQ6_K>(src, b);
    const float d = fp16_to_f32(blk.d);
    for (int i = 0; i < kQK_K; ++i) {
      const int half = i / 128, plane = (i % 128) / 32, l = i % 32;
      const uint8_t lowbyte = blk.ql[64 * half + l + ((plane & 1) ? 32 : 0)];
      const int low4 = plane < 2 ? (lowbyte & 15) : (lowbyte >> 4);
      const int high2 = (blk.qh[32 * half + l] >> (2 * plane)) & 3;
      const int q = (low4 | (high2 << 4)) - 32;
      dst[i] = d * static_cast<float>(blk.scales[i / 16]) * static_cast<float>(q);
    }
  }
}

void dequantize_row_iq4_xs(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const auto blk = load_block<BlockIQ4_XS>(src, b);
    const float d = fp16_to_f32(blk.d);
    for (int ib = 0; ib < kQK_K / 32; ++ib, dst += 32) {
      const int ls =
          ((blk.scales_l[ib / 2] >> (4 * (ib % 2))) & 15) | (((blk.scales_h >> (2 * ib)) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      const uint8_t* qs = blk.qs + 16 * ib;
      for (int j = 0; j < 16; ++j) {
        dst[j] = dl * static_cast<float>(kIq4nlValues[qs[j] & 0xF]);
        dst[j + 16] = dl * static_cast<float>(kIq4nlValues[qs[j] >> 4]);
      }
    }
  }
}

}  // namespace kiln::quant::detail
