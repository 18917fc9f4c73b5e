// Random test data shared by the CPU backend tests: normal vectors, and matmul
// problems (`rows` weight rows of `cols` values N(0, 0.02) quantized to `type`,
// n_tokens activation rows N(0, 1) with an 8x outlier every 97 columns, as
// real activations have).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/ggml_type.h"
#include "quant/quant.h"

namespace kiln::cpu::test {

// n values N(0, scale^2) from a fixed seed.
inline std::vector<float> randn(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

inline std::string name(GgmlType t) {
  return std::string(ggml_type_name(static_cast<uint32_t>(t)));
}

struct Problem {
  GgmlType type;
  int64_t rows, cols, n_tokens;
  std::vector<uint8_t> w;  // [rows][row_bytes(type, cols)]
  std::vector<float> x;    // [n_tokens][cols]
};

inline Problem make_problem(GgmlType type, int64_t rows, int64_t cols, int64_t n_tokens,
                            unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Problem p{type, rows, cols, n_tokens, {}, {}};
  std::vector<float> wf(static_cast<size_t>(cols));
  const size_t rb = quant::row_bytes(type, cols);
  p.w.resize(rb * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : wf) v = 0.02f * normal(rng);
    quant::quantize_row(type, wf.data(), p.w.data() + r * rb, cols);
  }
  p.x.resize(static_cast<size_t>(n_tokens * cols));
  for (auto& v : p.x) v = normal(rng);
  for (int64_t c = 0; c < cols; c += 97) p.x[c] *= 8.0f;
  return p;
}

}  // namespace kiln::cpu::test
