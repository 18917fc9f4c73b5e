// The CUDA kernels' planar weight layout (backend/cuda/layout.h), checked on
// the CPU so that CI runs it: every GGUF byte of a block lands in exactly one
// plane, the pieces are gathered from where the table says, and the two bit
// permutations (Q5_0/Q5_1 qh, v40; Q5_K qh per unit, v41) put each fifth bit
// where the kernels' rotation reads it (decode.cuh q5_bits; std::rotr here).
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/cuda/layout.h"
#include "core/ggml_type.h"

namespace kiln::cuda {
namespace {

std::vector<GgmlType> supported_types() {
  std::vector<GgmlType> out;
  for (uint32_t id = 0; id < kGgmlTypeCount; ++id) {
    const auto t = static_cast<GgmlType>(id);
    if (matmul_supports(t)) out.push_back(t);
  }
  return out;
}

TEST(CudaLayout, PlanesCoverEveryByteOnce) {
  const auto types = supported_types();
  ASSERT_EQ(types.size(), 12u);  // F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K
  for (GgmlType t : types) {
    SCOPED_TRACE(ggml_type_name(static_cast<uint32_t>(t)));
    const TypeLayout l = type_layout(t);
    const auto traits = ggml_type_traits(static_cast<uint32_t>(t));
    ASSERT_TRUE(traits.has_value());
    // GGUF bytes per element (F16/BF16 use 32-element "blocks" of 64 bytes).
    EXPECT_EQ(static_cast<uint64_t>(l.block_bytes) * traits->block_size,
              static_cast<uint64_t>(traits->type_size) * l.block_elems);
    std::vector<int> count(static_cast<size_t>(l.block_bytes), 0);
    ASSERT_GE(l.n_planes, 1);
    ASSERT_LE(l.n_planes, 8);
    for (int p = 0; p < l.n_planes; ++p) {
      const PlaneSpec ps = l.planes[p];
      const int chunk = ps.piece(), step = ps.piece_step();
      ASSERT_GT(chunk, 0);
      ASSERT_EQ(ps.size % chunk, 0) << "plane " << p;
      EXPECT_GE(ps.stride, ps.size) << "plane " << p;
      // 16-byte loads of 16-byte-or-larger fields need 16-byte strides.
      EXPECT_TRUE(ps.size < 16 || ps.stride % 16 == 0) << "plane " << p;
      for (int c = 0; c < ps.size / chunk; ++c) {
        for (int i = 0; i < chunk; ++i) {
          const int off = ps.src_offset + c * step + i;
          ASSERT_LT(off, l.block_bytes) << "plane " << p;
          ++count[static_cast<size_t>(off)];
        }
      }
    }
    for (int b = 0; b < l.block_bytes; ++b) EXPECT_EQ(count[static_cast<size_t>(b)], 1) << b;
  }
}

TEST(CudaLayout, GatherPlaneTakesThePieces) {
  std::mt19937 rng(3);
  for (GgmlType t : supported_types()) {
    SCOPED_TRACE(ggml_type_name(static_cast<uint32_t>(t)));
    const TypeLayout l = type_layout(t);
    std::vector<uint8_t> block(static_cast<size_t>(l.block_bytes));
    for (auto& v : block) v = static_cast<uint8_t>(rng());
    for (int p = 0; p < l.n_planes; ++p) {
      const PlaneSpec ps = l.planes[p];
      if (ps.transform != 0) continue;  // the bit permutations: below
      std::vector<uint8_t> out(ps.stride, 0xAB);
      gather_plane(ps, block.data(), out.data());
      const int chunk = ps.piece(), step = ps.piece_step();
      for (int c = 0; c < ps.size / chunk; ++c)
        for (int i = 0; i < chunk; ++i)
          ASSERT_EQ(out[c * chunk + i], block[ps.src_offset + c * step + i]) << "plane " << p;
    }
  }
}

// Q5_0/Q5_1 (v40): the packed qh rotated right by k holds the fifth bits of
// elements 4k..4k+3 on bit 4 of bytes 0..3.
TEST(CudaLayout, Q5BitsRotateIntoPlace) {
  std::mt19937 rng(5);
  for (GgmlType t : {GgmlType::Q5_0, GgmlType::Q5_1}) {
    const TypeLayout l = type_layout(t);
    const PlaneSpec qh_plane = l.planes[1];
    ASSERT_EQ(qh_plane.transform, 1);
    for (int n = 0; n < 1000; ++n) {
      std::vector<uint8_t> block(static_cast<size_t>(l.block_bytes));
      for (auto& v : block) v = static_cast<uint8_t>(rng());
      uint32_t qh, packed;
      std::memcpy(&qh, block.data() + qh_plane.src_offset, 4);
      uint8_t out[4];
      gather_plane(qh_plane, block.data(), out);
      std::memcpy(&packed, out, 4);
      for (int k = 0; k < 8; ++k) {
        const uint32_t rot = std::rotr(packed, k);
        for (int b = 0; b < 4; ++b)
          ASSERT_EQ((rot >> (8 * b + 4)) & 1u, (qh >> (4 * k + b)) & 1u) << "k " << k << " b " << b;
      }
    }
  }
}

// Q5_K (v41): word 2j + s of the packed qh, rotated right by i, holds the
// fifth bits of elements 4i..4i+3 of sub-block 2j + s (bit 2j + s of qh[4i + b]).
TEST(CudaLayout, Q5KUnitBits) {
  std::mt19937 rng(6);
  const TypeLayout l = type_layout(GgmlType::Q5_K);
  const PlaneSpec qh_plane = l.planes[2];
  ASSERT_EQ(qh_plane.transform, 2);
  for (int n = 0; n < 200; ++n) {
    std::vector<uint8_t> block(static_cast<size_t>(l.block_bytes));
    for (auto& v : block) v = static_cast<uint8_t>(rng());
    const uint8_t* qh = block.data() + qh_plane.src_offset;
    uint32_t units[8];
    gather_plane(qh_plane, block.data(), reinterpret_cast<uint8_t*>(units));
    for (int t = 0; t < 8; ++t) {
      for (int i = 0; i < 8; ++i) {
        const uint32_t rot = std::rotr(units[t], i);
        for (int b = 0; b < 4; ++b)
          ASSERT_EQ((rot >> (8 * b + 4)) & 1u, (qh[4 * i + b] >> t) & 1u) << t << " " << i;
      }
    }
  }
}

}  // namespace
}  // namespace kiln::cuda
