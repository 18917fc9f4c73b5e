// CPU matrix multiplication with quantized weights: the hot path of CPU
// inference. Y[t][r] = sum_c W[r][c] * X[t][c].
//
// W: `rows` rows of `cols` elements of `wtype`, each row quant::row_bytes(wtype, cols)
//    bytes, contiguous (a GGUF tensor with ne = [cols, rows]).
// X: [n_tokens][cols] float32, row-major.   Y: [n_tokens][rows] float32, row-major.
// Preconditions (KILN_CHECK): cols is a multiple of the block size of wtype;
// quant::can_dequantize(wtype). Work is split over rows on `pool`.
// Results equal the scalar reference up to float rounding; for a fixed wtype
// they do not depend on the number of threads.
//
// Numerics follow llama.cpp's CPU backend: the activations are first converted
// to the weight type's dot type (Q8_0, Q8_1, Q8_K, F16 or BF16; F32 for F32
// weights), then integer (or float) dot products per block are scaled and
// summed in float32.
#pragma once

#include <cstdint>

#include "core/ggml_type.h"
#include "core/thread_pool.h"

namespace kiln::cpu {

void matmul(GgmlType wtype, const void* w, int64_t rows, int64_t cols, const float* x,
            int64_t n_tokens, float* y, ThreadPool& pool);

// The scalar reference: dequantizes each row to F32 and accumulates in F32/F64.
void matmul_reference(GgmlType wtype, const void* w, int64_t rows, int64_t cols, const float* x,
                      int64_t n_tokens, float* y);

// Instruction-set paths of matmul. kBest picks the fastest this CPU supports
// (detected once at run time); the others force a path for tests and benchmarks.
enum class CpuIsa { kBest, kScalar, kAvx2, kAvx512 };

bool cpu_isa_supported(CpuIsa isa);
CpuIsa cpu_best_isa();
const char* cpu_isa_name(CpuIsa isa);  // "scalar", "avx2", "avx512-vnni"

// matmul on a given path (precondition: cpu_isa_supported(isa)). Types without
// a kernel on that path use the scalar kernel.
void matmul_isa(CpuIsa isa, GgmlType wtype, const void* w, int64_t rows, int64_t cols,
                const float* x, int64_t n_tokens, float* y, ThreadPool& pool);

}  // namespace kiln::cpu
