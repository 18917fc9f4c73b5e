// kernel_bench's command line: the shapes and types it runs, its options,
// and parse() (exits 0 after --help, 1 with a message naming the flag on a
// bad argument; bench/kernels/cli_check.sh checks both without a GPU).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/cuda/matmul.h"
#include "core/ggml_type.h"

namespace kiln::bench {

// A weight shape: W is rows x k (k = the reduction dimension).
struct Shape {
  const char* model;
  int64_t rows, k;
};

struct Options {
  bool quick = false;
  std::string json_path = "kernel_bench.json";
  std::vector<GgmlType> types;  // --types (default every type the kernels take)
  std::vector<Shape> shapes;
  std::vector<int64_t> cols = {1, 2, 4, 8, 16, 64, 512};
  std::vector<int> variants = {0};
  bool floor = false;       // --floor: dependent-read ceilings at 1 column
  std::vector<int> ablate;  // --ablate: timing-only runs with parts left out
  bool timeline = false;    // --timeline: per-block step times of the staged kernel
  // --x f32,q8: the decode route's activations as given (F32) and/or
  // quantized beforehand (ActType::Q8, quantized types only).
  std::vector<bool> xq8 = {false};
  cuda::ActType ytype = cuda::ActType::F32;  // --y: the output type
};

Options parse(int argc, char** argv);

// A type's GGUF name (q4_K).
std::string tname(GgmlType t);
// An output type's name on the command line and in the JSON: f32, f16 or bf16.
const char* yname(cuda::ActType t);

}  // namespace kiln::bench
