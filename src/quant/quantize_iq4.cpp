// IQ4_NL / IQ4_XS quantizers without an importance matrix, as llama-quantize
// runs them (ggml's quantize_iq4_nl / quantize_iq4_xs, ntry = 7; quant-formats.md §8).
#include <cmath>

#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quant_internal.h"
#include "quant/quantize_k_search.h"

namespace kiln::quant::detail {

namespace {
constexpr int kNtry = 7;

// Index of the level nearest to x (ties go up), ggml's best_index_int8.
int best_index(float x) {
  const int8_t* val = kIq4nlValues;
  if (x <= val[0]) return 0;
  if (x >= val[15]) return 15;
  int ml = 0, mu = 15;
  while (mu - ml > 1) {
    const int mav = (ml + mu) / 2;
    if (x < val[mav]) {
      mu = mav;
    } else {
      ml = mav;
    }
  }
  return x - val[mu - 1] < val[mu] - x ? mu - 1 : mu;
}

// Best scale of one 32-element block (weights x^2); 0 for an all-zero block.
float block_scale(const float* xb) {
  float amax = 0, max = 0;
  for (int j = 0; j < 32; ++j) {
    const float ax = std::fabs(xb[j]);
    if (ax > amax) {
      amax = ax;
      max = xb[j];
    }
  }
  if (amax < 1e-15f) return 0.0f;
  const float v0 = static_cast<float>(kIq4nlValues[0]);
  // Weighted fit of x ~ d * level for levels chosen with inverse scale id.
  auto fit = [&](float id, float* sumqx, float* sumq2) {
    *sumqx = *sumq2 = 0;
    for (int j = 0; j < 32; ++j) {
      const float q = static_cast<float>(kIq4nlValues[best_index(id * xb[j])]);
      const float w = xb[j] * xb[j];
      *sumqx += w * q * xb[j];
      *sumq2 += w * q * q;
    }
  };
  float sumqx, sumq2;
  fit(1 / (-max / v0), &sumqx, &sumq2);
  float d = sumqx / sumq2;
  float best = d * sumqx;
  for (int itry = -kNtry; itry <= kNtry; ++itry) {
    fit((static_cast<float>(itry) + v0) / max, &sumqx, &sumq2);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// Levels of 32 elements with inverse scale id, packed in Q4_0 nibble order.
void pack_levels(const float* xb, float id, uint8_t qs[16]) {
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>(best_index(id * xb[j]) | (best_index(id * xb[j + 16]) << 4));
  }
}
}  // namespace

void quantize_row_iq4_nl(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    BlockIQ4_NL blk{};
    const float d = block_scale(src);
    blk.d = f32_to_fp16(d);
    pack_levels(src, d != 0.0f ? 1 / d : 0.0f, blk.qs);
    store_block(dst, b, blk);
  }
}

void quantize_row_iq4_xs(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    float scales[8];
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < 8; ++ib) {
      scales[ib] = block_scale(src + 32 * ib);
      if (std::fabs(scales[ib]) > amax_scale) {
        amax_scale = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    BlockIQ4_XS blk{};
    const float d = -max_scale / 32;
    blk.d = f32_to_fp16(d);
    const float id = d != 0.0f ? 1 / d : 0.0f;
    for (int ib = 0; ib < 8; ++ib) {
      int l = nearest_int(id * scales[ib]);
      l = l < -32 ? -32 : (l > 31 ? 31 : l);
      const float dl = d * static_cast<float>(l);
      pack_levels(src + 32 * ib, dl != 0.0f ? 1 / dl : 0.0f, blk.qs + 16 * ib);
      l += 32;
      blk.scales_l[ib / 2] |= static_cast<uint8_t>((l & 0xF) << (4 * (ib % 2)));
      blk.scales_h |= static_cast<uint16_t>((l >> 4) << (2 * ib));
    }
    store_block(dst, b, blk);
  }
}

}  // namespace kiln::quant::detail
