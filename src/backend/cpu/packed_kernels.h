// Internal to the packed matmul (packed.h): panel and activation layouts, and
// the AVX-512 kernels (packed_avx512.cpp) that read them.
//
// Panel layouts. A panel is 16 rows (zero-padded), cut into blocks along the
// row: 32 columns (legacy, F16) or a 256-column super-block (K-quants). The
// blocks of the panels of a group are interleaved (PackedMatrix::block), so
// a panel-block is self-contained. A "k-group" is 4 consecutive columns; a
// 64-byte group vector holds, in int32 lane r, the 4 codes of row r for that
// k-group (so vpdpbusd with the 4 activation bytes broadcast adds row r's
// partial dot to lane r). One panel-block, byte offsets:
//
//   Q4_0 (288)  0 nib [4][16 rows][4 B]   byte j of (g, r) = row r's qs[4g + j]:
//                                          low nibble column 4g+j, high 16+4g+j
//             256 d [16] half
//   Q5_0 (352)  0 hi [16][4] u8           bit g of byte (r, j): 5th bit of column 4g+j, row r
//              64 nib as Q4_0
//             320 d [16] half
//   Q8_0 (544)  0 u8 [8][16][4]           q + 128 of column 4g+j
//             512 d [16] half
//   Q4_1 (320)  as Q4_0, then 288 m [16] half
//   Q5_1 (384)  as Q5_0, then 352 m [16] half
//   Q4_K (2368) 0 nib [4][8][16][4]       (chunk c, group g): row r's qs[32c + 4g + j]:
//                                          low nibble column 64c+4g+j, high 64c+32+4g+j
//            2048 sc [8][16] u8           6-bit scale of sub-block s (32 columns)
//            2176 mn [4][16][2] u8        6-bit mins of sub-blocks 2p, 2p+1
//            2304 d [16] half, 2336 dmin [16] half
//   Q5_K (2880) as Q4_K, then
//            2368 hv [4][2][16][4] u8     (chunk c, lo/hi h, row r, byte j): bit g = 5th
//                                          bit of column 64c+32h+4g+j
//   Q6_K (4416) 0 u8 [64][16][4]          code (0..63) of column 4g+j
//            4096 sc [16][16] i8          scale of sub-block s (16 columns)
//            4352 d [16] half, then 32 bytes of padding
//   F16 (1024)  0 h [32][16] half         column c of the 16 rows
//   BF16 (1024) as F16, in bf16
//
// Activation rows (one per token, act_stride bytes apart, 64-byte aligned):
//   Q8_0 family: qs i8 [cols] | d f32 [nb] (the half-rounded d, as float) |
//                corr i32 [3][nb] = -offset * sum(qs of the block) for the
//                weight codes' biases offset = 8 (Q4_0), 16 (Q5_0), 128 (Q8_0) |
//                s f32 [nb] = Q8_1's s (half(d * sum), for Q4_1/Q5_1's m * s),
//                so one conversion serves all five legacy weight types
//   Q8_K family: qs i8 [cols] | d f32 [ns] | s32 i32 [ns][4] = two i16: sums of
//                the 32-column sub-blocks 2p (low half) and 2p+1 |
//                neg i32 [ns][16] = -32 * sum of each 16-column group
//   F16 / BF16:  f32 [cols], each value rounded to half / bf16
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/ggml_type.h"

namespace kiln::cpu {

class PackedMatrix;

// Bytes of one panel-block, or 0 when the type has no packed layout.
size_t packed_block_bytes(GgmlType type);
// Columns of one block: 32, or 256 for the K-quants.
int64_t packed_block_cols(GgmlType type);
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
