// Block structs of every quantized type, byte-exact with ggml-common.h
// (../shared/docs/quant-formats.md §2). Shared by the CPU and CUDA backends:
// plain structs, no constructors, usable from host and device code.
// `half` fields are raw IEEE binary16 bits (uint16_t); convert with fp16.h.
#pragma once

#include <cstdint>

namespace kiln::quant {

inline constexpr int kQK = 32;     // elements per legacy block
inline constexpr int kQK_K = 256;  // elements per K-quant super-block
inline constexpr int kKScaleSize = 12;

using half_bits = uint16_t;

struct BlockQ4_0 {
  half_bits d;
  uint8_t qs[kQK / 2];
};
struct BlockQ4_1 {
  half_bits d;
  half_bits m;
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
  half_bits d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  half_bits d;
  half_bits m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
  half_bits d;
  int8_t qs[kQK];
};
struct BlockQ8_1 {
  half_bits d;
  half_bits s;
  int8_t qs[kQK];
};  // s = d * sum(qs)

struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  half_bits d;
  half_bits dmin;
};
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  half_bits d;
};
struct BlockQ4_K {
  half_bits d;
  half_bits dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  half_bits d;
  half_bits dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  half_bits d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
struct BlockIQ4_NL {
  half_bits d;
  uint8_t qs[kQK / 2];
};
struct BlockIQ4_XS {
  half_bits d;
  uint16_t scales_h;
  uint8_t scales_l[kQK_K / 64];
  uint8_t qs[kQK_K / 2];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockIQ4_NL) == 18);
static_assert(sizeof(BlockIQ4_XS) == 136);

}  // namespace kiln::quant
