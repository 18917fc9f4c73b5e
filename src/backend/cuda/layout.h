// Device layout of a weight matrix for the CUDA matmul kernels ("planar"):
// each field of the GGUF block struct (quants, high bits, scales, d) is
// moved into its own array ("plane") so that every per-lane load is aligned
// and as wide as the field allows (16 bytes for quants). The byte count is the
// GGUF byte count, except Q3_K whose 14-byte scales+d field is padded to 16.
//
// Plane p of a [rows x cols] matrix is [rows][nblocks][stride_p] bytes,
// nblocks = cols / block_elems, planes one after another, each 256-aligned.
// F16 and BF16 are one plane holding the GGUF bytes unchanged (32-element
// "blocks" of 64 bytes), so a dense GEMM can read them in place.
//
// Host and device code (constexpr tables, no CUDA headers).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/ggml_type.h"

namespace kiln::cuda {

struct PlaneSpec {
  uint16_t src_offset;  // byte offset of the field inside the GGUF block
  uint16_t size;        // bytes copied per block
  uint16_t stride;      // bytes per block in the plane (>= size, 2/4/16-aligned)
};

struct TypeLayout {
  int block_elems = 0;  // 0: type not supported by the CUDA matmul
  int block_bytes = 0;  // GGUF bytes per block
  int n_planes = 0;
  PlaneSpec planes[4] = {};
};

constexpr TypeLayout type_layout(GgmlType t) {
  switch (t) {
    case GgmlType::F16:
    case GgmlType::BF16:
      return {32, 64, 1, {{0, 64, 64}}};
    case GgmlType::Q4_0:
      return {32, 18, 2, {{2, 16, 16}, {0, 2, 2}}};
    case GgmlType::Q4_1:
      return {32, 20, 2, {{4, 16, 16}, {0, 4, 4}}};
    case GgmlType::Q5_0:
      return {32, 22, 3, {{6, 16, 16}, {2, 4, 4}, {0, 2, 2}}};
    case GgmlType::Q5_1:
      return {32, 24, 3, {{8, 16, 16}, {4, 4, 4}, {0, 4, 4}}};
    case GgmlType::Q8_0:
      return {32, 34, 2, {{2, 32, 32}, {0, 2, 2}}};
    // qs, scales, d+dmin
    case GgmlType::Q2_K:
      return {256, 84, 3, {{16, 64, 64}, {0, 16, 16}, {80, 4, 4}}};
    // hmask, qs, scales+d (14 bytes padded to 16)
    case GgmlType::Q3_K:
      return {256, 110, 3, {{0, 32, 32}, {32, 64, 64}, {96, 14, 16}}};
    // qs, d+dmin+scales
    case GgmlType::Q4_K:
      return {256, 144, 2, {{16, 128, 128}, {0, 16, 16}}};
    // qs, qh, d+dmin+scales
    case GgmlType::Q5_K:
      return {256, 176, 3, {{48, 128, 128}, {16, 32, 32}, {0, 16, 16}}};
    // ql, qh, scales, d
    case GgmlType::Q6_K:
      return {256, 210, 4, {{0, 128, 128}, {128, 64, 64}, {192, 16, 16}, {208, 2, 2}}};
    default:
      return {};
  }
}

constexpr bool matmul_supports(GgmlType t) { return type_layout(t).block_elems != 0; }

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
