// Weights repacked for the CPU's fast matmul kernels: row panels.
//
// matmul() reads GGUF rows as stored, so each output is one long dot product
// whose partial sums must be reduced across SIMD lanes, and every 32-element
// block pays its own float scaling. A PackedMatrix stores 16 rows interleaved
// (a "panel"): one 512-bit register holds 4 consecutive codes of each of the
// 16 rows, so one vpdpbusd / FMA computes partial sums of 16 different rows,
// one lane per row, with no horizontal reduction; the block scales of the 16
// rows load as one vector and are applied once per block for all 16 rows.
// Several tokens share each unpacked weight register (register blocking over
// tokens), which is what makes prompt processing fast.
//
// Numerics are those of matmul(): activations converted to the weight's dot
// type exactly as llama.cpp does (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1,
// Q8_K for Q4_K/Q5_K/Q6_K, F16 for F16, BF16 for BF16), integer block sums
// exact, float scaling in llama.cpp's order (K-quants: bit-identical to the
// scalar kernel; legacy, F16 and BF16: the same values summed in a different
// float order). Each output depends only on its row and token: results are
// identical for any thread count and batch split.
//
// Supported: Q4_0, Q5_0, Q8_0, Q4_1, Q5_1, Q4_K, Q5_K, Q6_K, F16, BF16 on CPUs with AVX-512
// F/BW/VL + VNNI (cpu_isa_supported(CpuIsa::kAvx512)). pack() returns nullptr otherwise
// and callers keep using matmul().
//
// Memory: about the size of the original tensor (Q6_K ~1.3x: codes stored as
// bytes), in shared 64 MiB chunks on transparent huge pages (freed with their
// last matrix); the original mapping is no longer read after packing.
// Thread-safety: a PackedMatrix is immutable after pack(); matmul_packed may be
// called concurrently on the same matrix with different pools and outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/ggml_type.h"
#include "core/thread_pool.h"

namespace kiln::cpu {

inline constexpr int kPanelRows = 16;  // rows per panel = int32/float lanes of a 512-bit register
// Panels stored interleaved block by block in groups of 2, so that the
// single-token kernel, which walks a group's panels together, reads one
// sequential stream (short separate streams per panel lose ~30% of the
// bandwidth to the hardware prefetchers: measured 24 vs 17 GB/s on one core).
// Work is split by whole groups; 2 rather than 4 panels keeps the 2-thread
// split of the small matrices even (576 rows = 18 groups, not 9).
inline constexpr int kPanelGroup = 2;

class PackedMatrix {
 public:
  // Packs W ([rows][cols] of wtype, rows contiguous, as for matmul) into panels;
  // nullptr when there is no packed kernel for wtype (or cols) on this CPU.
  // Work is split over `pool`. The last panel is padded with zero rows.
  static std::unique_ptr<PackedMatrix> pack(GgmlType wtype, const void* w, int64_t rows,
                                            int64_t cols, ThreadPool& pool);
  // True when pack() would succeed for this type and row length on this CPU.
  static bool supported(GgmlType wtype, int64_t cols);
  // True when a and b read the same converted activations (same cols and dot
  // type: Q4_0/Q5_0/Q8_0, Q4_1/Q5_1, Q4_K/Q5_K/Q6_K, F16, BF16), so matmul_packed_multi can run
  // them together.
  static bool shares_activations(const PackedMatrix& a, const PackedMatrix& b);

  ~PackedMatrix();
  PackedMatrix(const PackedMatrix&) = delete;
  PackedMatrix& operator=(const PackedMatrix&) = delete;

  GgmlType type() const { return type_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t n_panels() const { return (rows_ + kPanelRows - 1) / kPanelRows; }
  int64_t n_groups() const { return (n_panels() + kPanelGroup - 1) / kPanelGroup; }
  // Blocks along a row: 32 columns (legacy, F16) or 256 (K-quants); the
  // layout of one panel's block is in packed_kernels.h.
  int64_t n_blocks() const { return n_blocks_; }
  size_t block_bytes() const { return block_bytes_; }
  // Panel p's block k: panels of one group are block_bytes() apart (panel
  // stride), a panel's consecutive blocks kPanelGroup * block_bytes() apart.
  const uint8_t* block(int64_t p, int64_t k) const {
    return data_ + (p / kPanelGroup) * group_bytes_ +
           (k * kPanelGroup + p % kPanelGroup) * block_bytes_;
  }
  size_t block_stride() const { return kPanelGroup * block_bytes_; }

 private:
  PackedMatrix(GgmlType type, int64_t rows, int64_t cols);

  GgmlType type_;
  int64_t rows_, cols_;
  int64_t n_blocks_;
  size_t block_bytes_;
  size_t group_bytes_ = 0;
  uint8_t* data_;  // whole groups, 64-byte aligned, owned (in chunk_)
  void* chunk_;    // the arena chunk holding data_ (packed.cpp)
};

// Y[t][r] = sum_c W[r][c] * X[t][c], as matmul(): X [n_tokens][cols] float32,
// Y [n_tokens][rows] float32. Work split over `pool` by panels.
void matmul_packed(const PackedMatrix& w, const float* x, int64_t n_tokens, float* y,
                   ThreadPool& pool);

// Several matrices applied to the same X (q/k/v, gate/up): Y_i = W_i X, with the
// activations converted once and one parallel_for over all their panels (fewer
// synchronizations per token). Precondition: every ws[i] shares_activations
// with ws[0]; ys.size() == ws.size(); ys[i]: [n_tokens][ws[i]->rows()].
void matmul_packed_multi(std::span<const PackedMatrix* const> ws, const float* x, int64_t n_tokens,
                         std::span<float* const> ys, ThreadPool& pool);

}  // namespace kiln::cpu
