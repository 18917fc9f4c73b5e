// Device layout of a weight matrix for the CUDA matmul kernels ("planar"):
// each field of the GGUF block struct (quants, high bits, scales, d) is
// moved into its own array ("plane") so that every per-lane load is aligned
// and as wide as the field allows (16 bytes for quants). The byte count is the
// GGUF byte count, except Q3_K whose 14-byte scales+d field is padded to 16.
//
// Plane p of a [rows x cols] matrix is [rows][nblocks][stride_p] bytes,
// nblocks = cols / block_elems, planes one after another, each 256-aligned.
// A field read as 32-byte units (Q8_0's quants, Q4_K/Q5_K's 32-byte quant
// chunks) is split into two planes of 16-byte halves (v36), so that the lanes
// of a warp, which take consecutive units, load 16 bytes at a 16-byte stride:
// at a 32-byte stride two lanes of each quarter warp hit the same shared-memory
// banks (the staged kernel) and each load uses half of every 32-byte sector.
// Q6_K's 64-byte ql and 32-byte qh per unit likewise become 4 + 2 planes (v37),
// Q2_K's and Q3_K's 32-byte qs per unit two planes (v38).
// F16 and BF16 are one plane holding the GGUF bytes unchanged (32-element
// "blocks" of 64 bytes), so a dense GEMM can read them in place.
//
// Host and device code (constexpr tables; gather_plane, the packing of one
// block, is host code; no CUDA headers). tests/backend/cuda_layout_test.cpp
// checks the tables and the packing on the CPU (CI).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/ggml_type.h"

namespace kiln::cuda {

struct PlaneSpec {
  uint16_t src_offset;  // byte offset of the field inside the GGUF block
  uint16_t size;        // bytes copied per block
  uint16_t stride;      // bytes per block in the plane (>= size, 2/4/16-aligned)
  // The size bytes are gathered as pieces of `chunk` bytes taken every
  // `chunk_step` bytes from src_offset (0: one piece).
  uint16_t chunk, chunk_step;
  // 1: the 32-bit field is Q5_0/Q5_1's qh, stored with its bits permuted
  // (q5_rotated_bits, v40); 2: Q5_K's 32-byte qh, stored per 64-element unit
  // (q5k_unit_bits, v41); 0: bytes copied as they are.
  uint16_t transform;

  // Bytes per piece and source bytes between pieces (one piece: size, 0).
  constexpr int piece() const { return chunk ? chunk : size; }
  constexpr int piece_step() const { return chunk ? chunk_step : 0; }
};

// Q5_0/Q5_1's qh (bit e = fifth bit of element e) with bit e moved to bit
// (8 (e % 4) + 4 + e / 4) mod 32: the fifth bits of the 4 elements 4k..4k+3
// (word k of the decoded nibbles) then sit at bits 4 + k, 12 + k, 20 + k,
// 28 + k, so one rotation right by k puts them on bit 4 of each byte (v40).
constexpr uint32_t q5_rotated_bits(uint32_t qh) {
  uint32_t out = 0;
  for (int e = 0; e < 32; ++e) {
    if ((qh >> e) & 1u) out |= 1u << ((8 * (e % 4) + 4 + e / 4) % 32);
  }
  return out;
}

// Q5_K's qh (32 bytes: bit t of byte l = fifth bit of element l of
// sub-block t) as 8 bytes per 64-element unit j (sub-blocks 2j, 2j + 1), the
// same 32 bytes in all (v41): word s of unit j = q5_rotated_bits of the 32
// fifth bits of sub-block 2j + s. A unit then reads 8 bytes instead of the
// whole 32, and decodes them as Q5_0 does. out: 8 uint32, unit j at 2 j.
constexpr void q5k_unit_bits(const uint8_t* qh, uint32_t* out) {
  for (int t = 0; t < 8; ++t) {
    uint32_t bits = 0;
    for (int l = 0; l < 32; ++l) bits |= static_cast<uint32_t>((qh[l] >> t) & 1u) << l;
    out[t] = q5_rotated_bits(bits);
  }
}

// A PlaneSpec (all fields named, so tables need no brace elision).
constexpr PlaneSpec plane(uint16_t src_offset, uint16_t size, uint16_t stride, uint16_t chunk = 0,
                          uint16_t chunk_step = 0, uint16_t transform = 0) {
  return {src_offset, size, stride, chunk, chunk_step, transform};
}

struct TypeLayout {
  int block_elems = 0;  // 0: type not supported by the CUDA matmul
  int block_bytes = 0;  // GGUF bytes per block
  int n_planes = 0;
  PlaneSpec planes[8] = {};
};

constexpr TypeLayout type_layout(GgmlType t) {
  switch (t) {
    case GgmlType::F16:
    case GgmlType::BF16:
      return {32, 64, 1, {plane(0, 64, 64)}};
    case GgmlType::Q4_0:
      return {32, 18, 2, {plane(2, 16, 16), plane(0, 2, 2)}};
    case GgmlType::Q4_1:
      return {32, 20, 2, {plane(4, 16, 16), plane(0, 4, 4)}};
    case GgmlType::Q5_0:
      return {32, 22, 3, {plane(6, 16, 16), plane(2, 4, 4, 0, 0, 1), plane(0, 2, 2)}};
    case GgmlType::Q5_1:
      return {32, 24, 3, {plane(8, 16, 16), plane(4, 4, 4, 0, 0, 1), plane(0, 4, 4)}};
    // qs[0..15], qs[16..31], d
    case GgmlType::Q8_0:
      return {32, 34, 3, {plane(2, 16, 16), plane(18, 16, 16), plane(0, 2, 2)}};
    // qs halves of each unit's 32 bytes (v38), scales, d+dmin
    case GgmlType::Q2_K:
      return {256,
              84,
              4,
              {plane(16, 32, 32, 16, 32), plane(32, 32, 32, 16, 32), plane(0, 16, 16),
               plane(80, 4, 4)}};
    // hmask, qs halves (v38), scales+d (14 bytes padded to 16)
    case GgmlType::Q3_K:
      return {256,
              110,
              4,
              {plane(0, 32, 32), plane(32, 32, 32, 16, 32), plane(48, 32, 32, 16, 32),
               plane(96, 14, 16)}};
    // first and second 16 bytes of each 32-byte qs chunk, d+dmin+scales
    case GgmlType::Q4_K:
      return {
          256, 144, 3, {plane(16, 64, 64, 16, 32), plane(32, 64, 64, 16, 32), plane(0, 16, 16)}};
    // qs halves as Q4_K, qh per unit (v41), d+dmin+scales
    case GgmlType::Q5_K:
      return {256,
              176,
              4,
              {plane(48, 64, 64, 16, 32), plane(64, 64, 64, 16, 32), plane(16, 32, 32, 0, 0, 2),
               plane(0, 16, 16)}};
    // ql as four planes of 16-byte quarters of each unit's 64 bytes, qh as two of
    // halves of its 32 (v37), scales, d
    case GgmlType::Q6_K:
      return {256,
              210,
              8,
              {plane(0, 32, 32, 16, 64), plane(16, 32, 32, 16, 64), plane(32, 32, 32, 16, 64),
               plane(48, 32, 32, 16, 64), plane(128, 32, 32, 16, 32), plane(144, 32, 32, 16, 32),
               plane(192, 16, 16), plane(208, 2, 2)}};
    default:
      return {};
  }
}

constexpr bool matmul_supports(GgmlType t) { return type_layout(t).block_elems != 0; }

// Plane ps's bytes of one GGUF block (block: the block's GGUF bytes; out:
// ps.stride bytes, of which the first ps.size are written): the pieces
// gathered, then the transform. pack_weights (matmul.h) runs it per block and plane.
inline void gather_plane(const PlaneSpec& ps, const uint8_t* block, uint8_t* out) {
  const int chunk = ps.piece(), step = ps.piece_step();
  for (int c = 0; c < ps.size / chunk; ++c) {
    std::memcpy(out + c * chunk, block + ps.src_offset + c * step, static_cast<size_t>(chunk));
  }
  if (ps.transform == 1) {  // Q5 qh, little-endian (GGUF and the GPU)
    uint32_t qh;
    std::memcpy(&qh, out, 4);
    qh = q5_rotated_bits(qh);
    std::memcpy(out, &qh, 4);
  } else if (ps.transform == 2) {  // Q5_K qh per unit
    uint32_t units[8];
    q5k_unit_bits(out, units);
    std::memcpy(out, units, sizeof units);
  }
}

constexpr size_t align256(size_t n) { return (n + 255) / 256 * 256; }

// Byte offset of plane p inside the packed buffer of a [rows x cols] matrix.
constexpr size_t plane_offset(GgmlType t, int64_t rows, int64_t cols, int p) {
  const TypeLayout l = type_layout(t);
  size_t off = 0;
  for (int i = 0; i < p; ++i) {
    off += align256(static_cast<size_t>(rows) * static_cast<size_t>(cols / l.block_elems) *
                    l.planes[i].stride);
  }
  return off;
}

// Total bytes of the packed buffer (0 for an unsupported type).
constexpr size_t packed_bytes(GgmlType t, int64_t rows, int64_t cols) {
  const TypeLayout l = type_layout(t);
  return l.block_elems == 0 ? 0 : plane_offset(t, rows, cols, l.n_planes);
}

// GGUF bytes of the matrix (what a kernel must read at least once).
constexpr size_t gguf_bytes(GgmlType t, int64_t rows, int64_t cols) {
  const TypeLayout l = type_layout(t);
  return l.block_elems == 0 ? 0
                            : static_cast<size_t>(rows) *
                                  static_cast<size_t>(cols / l.block_elems) * l.block_bytes;
}

}  // namespace kiln::cuda
