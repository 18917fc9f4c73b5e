// Scalar reference quantize / dequantize per type (the test oracle; bit-exact
// with ggml's reference code, ../shared/docs/quant-formats.md §3-§8).
//
// Rows: n elements, n a multiple of the type's block size (precondition,
// checked with KILN_CHECK: callers validate shapes at load time).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/ggml_type.h"

namespace kiln::quant {

// Types this build can turn into F32 (F32, F16, BF16, legacy, K-quants, IQ4_*).
bool can_dequantize(GgmlType type);
// Types `kiln quantize` can produce from F32.
bool can_quantize(GgmlType type);

// Bytes of one row of n elements.
size_t row_bytes(GgmlType type, int64_t n);

// src: row_bytes(type, n) bytes; dst: n floats.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);
// src: n floats; dst: row_bytes(type, n) bytes. Reference quantizer, no imatrix.
void quantize_row(GgmlType type, const float* src, void* dst, int64_t n);

}  // namespace kiln::quant
