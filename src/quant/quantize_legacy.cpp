// Reference quantizers of the 32-element block types, bit-exact with ggml's
// quantize_row_*_ref (quant-formats.md §7): float32 arithmetic, quants from the
// unrounded d, then d stored as half.
#include <cmath>
#include <limits>

#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quant_internal.h"

namespace kiln::quant::detail {

namespace {
// The element of largest magnitude (first one on ties), sign kept.
float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void min_max(const float* x, int n, float* mn, float* mx) {
  *mn = std::numeric_limits<float>::max();
  *mx = -std::numeric_limits<float>::max();
  for (int j = 0; j < n; ++j) {
    if (x[j] < *mn) *mn = x[j];
    if (x[j] > *mx) *mx = x[j];
  }
}

// ggml converts with a C cast to int8_t / uint8_t: truncation toward zero.
int trunc_to_int(float v) { return static_cast<int>(v); }

void pack_q5_high_bits(const uint8_t q[kQK], uint8_t qh[4]) {
  uint32_t h = 0;
  for (int j = 0; j < kQK; ++j) h |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  std::memcpy(qh, &h, 4);
}
}  // namespace

void quantize_row_q4_0(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    const float d = signed_absmax(src, kQK) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 blk;
    blk.d = f32_to_fp16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(15, trunc_to_int(src[j] * id + 8.5f));
      const int q1 = std::min(15, trunc_to_int(src[j + kQK / 2] * id + 8.5f));
      blk.qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
    store_block(dst, b, blk);
  }
}

void quantize_row_q4_1(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    float mn, mx;
    min_max(src, kQK, &mn, &mx);
    const float d = (mx - mn) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_1 blk;
    blk.d = f32_to_fp16(d);
    blk.m = f32_to_fp16(mn);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(15, trunc_to_int((src[j] - mn) * id + 0.5f));
      const int q1 = std::min(15, trunc_to_int((src[j + kQK / 2] - mn) * id + 0.5f));
      blk.qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
    store_block(dst, b, blk);
  }
}

void quantize_row_q5_0(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    const float d = signed_absmax(src, kQK) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_0 blk;
    blk.d = f32_to_fp16(d);
    uint8_t q[kQK];
    for (int j = 0; j < kQK; ++j) {
      q[j] = static_cast<uint8_t>(std::min(31, trunc_to_int(src[j] * id + 16.5f)));
    }
    for (int j = 0; j < kQK / 2; ++j) {
      blk.qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + kQK / 2] & 0x0F) << 4));
    }
    pack_q5_high_bits(q, blk.qh);
    store_block(dst, b, blk);
  }
}

void quantize_row_q5_1(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    float mn, mx;
    min_max(src, kQK, &mn, &mx);
    const float d = (mx - mn) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_1 blk;
    blk.d = f32_to_fp16(d);
    blk.m = f32_to_fp16(mn);
    uint8_t q[kQK];
    for (int j = 0; j < kQK; ++j) {
      q[j] = static_cast<uint8_t>(trunc_to_int((src[j] - mn) * id + 0.5f));  // no clamp (ggml)
    }
    for (int j = 0; j < kQK / 2; ++j) {
      blk.qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + kQK / 2] & 0x0F) << 4));
    }
    pack_q5_high_bits(q, blk.qh);
    store_block(dst, b, blk);
  }
}

void quantize_row_q8_0(const float* src, void* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 blk;
    blk.d = f32_to_fp16(d);
    for (int j = 0; j < kQK; ++j) blk.qs[j] = static_cast<int8_t>(std::round(src[j] * id));
    store_block(dst, b, blk);
  }
}

}  // namespace kiln::quant::detail
