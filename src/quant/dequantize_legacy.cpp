// Dequantizers of the 32-element block types (quant-formats.md §4, §6).
// Arithmetic is float32 in ggml's order so results are bit-exact with it.
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/quant_internal.h"

namespace kiln::quant::detail {

void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const auto blk = load_block<BlockQ4_0>(src, b);
    const float d = fp16_to_f32(blk.d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>((blk.qs[j] & 0x0F) - 8) * d;
      dst[j + kQK / 2] = static_cast<float>((blk.qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const auto blk = load_block<BlockQ4_1>(src, b);
    const float d = fp16_to_f32(blk.d), m = fp16_to_f32(blk.m);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>(blk.qs[j] & 0x0F) * d + m;
      dst[j + kQK / 2] = static_cast<float>(blk.qs[j] >> 4) * d + m;
    }
  }
}

namespace {
uint32_t load_qh(const uint8_t qh[4]) {
  uint32_t h;
  std::memcpy(&h, qh, 4);  // little-endian host (x86-64, CUDA)
  return h;
}
}  // namespace

void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const auto blk = load_block<BlockQ5_0>(src, b);
    const float d = fp16_to_f32(blk.d);
    const uint32_t h = load_qh(blk.qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int x0 = static_cast<int>((blk.qs[j] & 0x0F) | (((h >> j) & 1) << 4)) - 16;
      const int x1 = static_cast<int>((blk.qs[j] >> 4) | (((h >> (j + 16)) & 1) << 4)) - 16;
      dst[j] = static_cast<float>(x0) * d;
      dst[j + kQK / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const auto blk = load_block<BlockQ5_1>(src, b);
    const float d = fp16_to_f32(blk.d), m = fp16_to_f32(blk.m);
    const uint32_t h = load_qh(blk.qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const uint32_t x0 = (blk.qs[j] & 0x0F) | (((h >> j) & 1) << 4);
      const uint32_t x1 = (blk.qs[j] >> 4) | (((h >> (j + 16)) & 1) << 4);
      dst[j] = static_cast<float>(x0) * d + m;
      dst[j + kQK / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const auto blk = load_block<BlockQ8_0>(src, b);
    const float d = fp16_to_f32(blk.d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(blk.qs[j]) * d;
  }
}

void dequantize_row_iq4_nl(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const auto blk = load_block<BlockIQ4_NL>(src, b);
    const float d = fp16_to_f32(blk.d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = d * static_cast<float>(kIq4nlValues[blk.qs[j] & 0x0F]);
      dst[j + kQK / 2] = d * static_cast<float>(kIq4nlValues[blk.qs[j] >> 4]);
    }
  }
}

}  // namespace kiln::quant::detail
