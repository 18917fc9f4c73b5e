// CUDA matrix multiplication with quantized weights: Y = W X.
//
// W: [rows x cols] of a ggml type (cols is K, the reduction dimension),
//    uploaded in the planar layout of layout.h (pack_weights() on the host).
// X: [ncols][cols] activations, row-major (one activation vector per row,
//    i.e. per token).   Y: [ncols][rows] row-major, F32, F16 or BF16 (ytype;
//    sums in F32, rounded once to F16/BF16 when stored).
// All device pointers 16-byte aligned.
//
// Two routes:
//  * matvec(): the decode kernel, for few columns. Bandwidth-bound: every
//    weight byte is read once per 8 columns with 16-byte loads. F16/BF16:
//    F32 math (results equal an F32 matmul up to float rounding). Quantized
//    types: activations are rounded per 32 elements to int8 (scale
//    amax / 127, ties to even: llama.cpp's q8_1 rounding and the CPU
//    backend's Q8_0 activations; ~0.4% relative error of a random-input
//    result) and dotted with the integer weights by dp4a (exact int32 sums),
//    then scaled in F32. Two columns share the one-column staged kernel's
//    weight reads where it is chosen. From 3-8 columns (by type and shape, choice.h
//    mmq_min_cols_f32/_q8x) the quantized types use integer tensor cores (matvec_mmq.cuh) with the
//    same int8 activations and the same result up to float summation order.
//  * matmul_gemm(): dequantize W to F16 into a scratch buffer, convert X to
//    F16 (BF16 for BF16 weights), and run a cuBLAS tensor-core GEMM with F32
//    accumulation and output. F16/BF16 weights are used in place.
//  MatmulContext::matmul() picks the route by the column count (measured
//  crossover, docs/perf.md).
//
// Thread-safety: a MatmulContext is used by one thread (the engine thread).
// Functions return a Status naming the failing call; kernels are enqueued on
// `stream` and are asynchronous.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>

#include "backend/cuda/layout.h"
#include "core/ggml_type.h"
#include "core/status.h"

namespace kiln::cuda {

// A device weight matrix in the planar layout. Borrowed (not owned).
struct WeightView {
  GgmlType type = GgmlType::F32;
  int64_t rows = 0;
  int64_t cols = 0;            // K, a multiple of type_layout(type).block_elems
  const void* data = nullptr;  // packed_bytes(type, rows, cols) bytes on the device
};

// Activation element type of X. Q8: activations already rounded to int8 per
// 32 elements by quantize_activations() (48 bytes per 32 elements); only the
// decode route of the quantized types takes them, with the same result as
// the F32 activations they came from. A producer that quantizes once saves
// every matrix that reads X (Q/K/V, gate/up) the loading and rounding of X
// (docs/perf.md v53).
enum class ActType { F32, F16, BF16, Q8 };

// Bytes of one column of k activations of type t (Q8: k a multiple of 32).
constexpr int64_t activation_bytes(ActType t, int64_t k) {
  return t == ActType::F32 ? 4 * k : t == ActType::Q8 ? k / 32 * 48 : 2 * k;
}

// Host: repacks GGUF bytes (rows x gguf row bytes) into the planar layout.
// dst: packed_bytes(type, rows, cols) bytes. Errors on an unsupported type or
// cols not a multiple of the block size.
Status pack_weights(GgmlType type, const void* src, int64_t rows, int64_t cols, void* dst);

// Checks the shape/type contract shared by all entry points.
Status validate(const WeightView& w, int64_t ncols);
// Checks an output: not Q8, not null.
Status validate_output(const void* y, ActType ytype);

// Decode route: any ncols >= 1 (in chunks of 8 columns; each chunk reads W once).
// y: ncols columns of ytype (F32, F16 or BF16; the F16/BF16 y is the F32 y
// rounded to nearest even, bit for bit).
Status matvec(const WeightView& w, const void* x, ActType xtype, int64_t ncols, void* y,
              ActType ytype, cudaStream_t stream);
inline Status matvec(const WeightView& w, const void* x, ActType xtype, int64_t ncols, float* y,
                     cudaStream_t stream) {
  return matvec(w, x, xtype, ncols, y, ActType::F32, stream);
}

// xq: ncols columns of k activations (F32/F16/BF16) as Q8 (activation_bytes
// per column); k a multiple of 32.
Status quantize_activations(const void* x, ActType xtype, int64_t k, int64_t ncols, void* xq,
                            cudaStream_t stream);

// Writes W dequantized to F16, [rows][cols] row-major (all types but BF16).
Status dequantize_f16(const WeightView& w, void* out_f16, cudaStream_t stream);

class MatmulContext {
 public:
  // Creates the cuBLAS handle and reserves scratch for matrices up to
  // max_rows x max_cols and up to max_ncols activation columns, and
  // y_scratch_floats (at least one column of max_rows) for the GEMM's F32
  // output of an F16/BF16 y (output_chunk).
  static Result<std::unique_ptr<MatmulContext>> create(int64_t max_rows, int64_t max_cols,
                                                       int64_t max_ncols,
                                                       int64_t y_scratch_floats = int64_t{8} << 20);
  ~MatmulContext();
  MatmulContext(const MatmulContext&) = delete;
  MatmulContext& operator=(const MatmulContext&) = delete;

  // GEMM route (tensor cores through cuBLAS). X of F32/F16/BF16 (not Q8); y
  // of ytype (F32, F16 or BF16). An F16/BF16 y: cuBLAS writes F32 into the
  // context's scratch, output_chunk(rows) columns at a time, which is then
  // rounded to nearest even into y (as the decode route rounds).
  Status matmul_gemm(const WeightView& w, const void* x, ActType xtype, int64_t ncols, void* y,
                     ActType ytype, cudaStream_t stream);
  Status matmul_gemm(const WeightView& w, const void* x, ActType xtype, int64_t ncols, float* y,
                     cudaStream_t stream) {
    return matmul_gemm(w, x, xtype, ncols, y, ActType::F32, stream);
  }
  // Route chosen by ncols: matvec up to decode_max_cols(w.type), else GEMM;
  // Q8 activations always take matvec (any ncols).
  Status matmul(const WeightView& w, const void* x, ActType xtype, int64_t ncols, void* y,
                ActType ytype, cudaStream_t stream);
  Status matmul(const WeightView& w, const void* x, ActType xtype, int64_t ncols, float* y,
                cudaStream_t stream) {
    return matmul(w, x, xtype, ncols, y, ActType::F32, stream);
  }
  // Columns per cuBLAS call when the GEMM's y of `rows` goes through the F32
  // scratch: as many as it holds, a multiple of 64 from 128 on.
  int64_t output_chunk(int64_t rows) const;
  static int64_t decode_max_cols(GgmlType type);

 private:
  MatmulContext() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::cuda
