// quantize_model: converts a GGUF model to a file type (`kiln quantize`), as
// llama-quantize does without an importance matrix:
//  - every tensor's type from quantize_policy.h (mixes, --pure, fallbacks);
//  - tensors written in llama.cpp's order, all metadata kept in its order,
//    then general.quantization_version = 2 and general.file_type = the ftype
//    moved to the end (so `--pure` outputs are byte-identical to
//    llama-quantize's, see tests/tools);
//  - F32/F16/BF16 inputs are converted row by row (F32 -> type) with the
//    reference quantizers, rows split over a ThreadPool; already quantized
//    inputs only with allow_requantize (dequantized to F32 first);
//  - the file is streamed (one tensor in memory at a time) to OUT.tmp and
//    renamed to OUT on success; on any error OUT is untouched and OUT.tmp
//    removed (a killed process can leave OUT.tmp, never a partial OUT).
//
// Errors (Status, each naming the path or tensor): unreadable or malformed
// input, split files, output path problems (missing directory, a directory,
// the input itself), quantized input without allow_requantize, input types
// kiln cannot dequantize, NaN/Inf in a tensor that is converted, write errors.
// Everything that can be checked is checked before the output is created.
//
// Thread-safety: one call uses its own pool of n_threads; calls are independent.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/ggml_type.h"
#include "core/status.h"
#include "tools/quantize_policy.h"

namespace kiln::tools {

struct QuantizeOptions {
  std::string input;
  std::string output;  // ignored by dry_run
  FileType ftype = FileType::kQ8_0;
  bool pure = false;
  bool allow_requantize = false;
  bool leave_output = false;  // copy output.weight unchanged
  std::optional<GgmlType> output_type;
  std::optional<GgmlType> token_embd_type;
  bool dry_run = false;  // plan and sizes only, nothing written
  int n_threads = 1;     // >= 1
};

struct TensorReport {
  std::string name;
  std::array<int64_t, 4> ne{1, 1, 1, 1};
  int n_dims = 1;
  GgmlType from = GgmlType::F32;
  TensorChoice choice;  // choice.type: the output type
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

struct QuantizeReport {
  std::vector<TensorReport> tensors;  // in output (llama) order
  uint64_t n_elements = 0;            // over all tensors
  uint64_t bytes_in = 0;              // tensor data
  uint64_t bytes_out = 0;
  uint64_t file_bytes_in = 0;
  uint64_t file_bytes_out = 0;  // 0 for dry_run
  double seconds = 0;
};

// Called on the calling thread after each tensor is written (or planned, for
// dry_run): index in [0, count).
using QuantizeProgress = std::function<void(size_t index, size_t count, const TensorReport&)>;

Result<QuantizeReport> quantize_model(const QuantizeOptions& options,
                                      const QuantizeProgress& progress = {});

}  // namespace kiln::tools
