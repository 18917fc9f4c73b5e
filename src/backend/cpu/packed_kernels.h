// Internal to the packed matmul (packed.h): panel and activation layouts, and
// the AVX-512 kernels (packed_avx512.cpp) that read them.
//
// Panel layouts (16 rows, zero-padded; nb = cols / 32, ns = cols / 256). A
// "k-group" is 4 consecutive columns; a 64-byte group vector holds, in int32
// lane r, the 4 codes of row r for that k-group (so vpdpbusd with the 4
// activation bytes broadcast adds row r's partial dot to lane r). Regions are
// stored one after the other, each over all blocks of the panel:
//
//   Q4_0  nib [nb][4][16 rows][4 B]    byte j of (g, r) = row r's qs[4g + j]:
//                                        low nibble column 4g+j, high 16+4g+j
//         d   [nb][16] half
//   Q5_0  nib as Q4_0
//         hi  [nb][8] u64              bit 4r+j of mask g: 5th bit of column 4g+j, row r
//         d   [nb][16] half
//   Q8_0  u8  [nb][8][16][4]           q + 128 of column 4g+j (g = 0..7)
//         d   [nb][16] half
//   Q4_K  nib [ns][4][8][16][4]        (chunk c, group g): row r's qs[32c + 4g + j]:
//                                        low nibble column 64c+4g+j, high 64c+32+4g+j
//         sc  [ns][8][16] u8           6-bit scale of sub-block s (32 columns)
//         mn  [ns][4][16][2] u8        6-bit mins of sub-blocks 2p, 2p+1
//         d   [ns][16] half, dmin [ns][16] half
//   Q6_K  u8  [ns][64][16][4]          code (0..63) of column 4g+j (g = 0..63)
//         sc  [ns][16][16] i8          scale of sub-block s (16 columns)
//         d   [ns][16] half
//   F16   h   [cols][16] half          column c of the 16 rows
//
// Activation rows (one per token, act_stride bytes apart, 64-byte aligned):
//   Q8_0 family: qs i8 [cols] | d f32 [nb] (the half-rounded d, as float) |
//                corr i32 [3][nb] = -offset * sum(qs of the block) for the
//                weight codes' biases offset = 8 (Q4_0), 16 (Q5_0), 128 (Q8_0),
//                so one conversion serves all three weight types
//   Q8_K family: qs i8 [cols] | d f32 [ns] | s32 i32 [ns][4] = two i16: sums of
//                the 32-column sub-blocks 2p (low half) and 2p+1 |
//                neg i32 [ns][16] = -32 * sum of each 16-column group
//   F16:         f32 [cols], each value rounded to half
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/ggml_type.h"

namespace kiln::cpu {

class PackedMatrix;

// Bytes of one panel, or 0 when the type has no packed layout.
size_t packed_panel_bytes(GgmlType type, int64_t cols);
// Bytes of one activation row for packed `type` (a multiple of 64).
size_t packed_act_stride(GgmlType type, int64_t cols);

// AVX-512 + VNNI kernels (packed_avx512.cpp; only call when
// cpu_isa_supported(CpuIsa::kAvx512)).
//
// Converts one activation row x [cols] to the layout above for weight `type`
// (any type of the same family gives the same bytes).
void avx512_packed_quantize(GgmlType type, const float* x, int64_t cols, uint8_t* dst);
// y[t * ldy + r] for rows r of panels [p0, p1) (rows past w.rows() are not
// written) and tokens t < n_tokens, activations at act + t * act_stride.
void avx512_packed_gemm(const PackedMatrix& w, int64_t p0, int64_t p1, const uint8_t* act,
                        size_t act_stride, int64_t n_tokens, float* y, int64_t ldy);

}  // namespace kiln::cpu
