// CPU side of the CUDA kernel checks (used by kernel_bench and cuda_kernel_test):
// random weights in GGUF layout, the reference (quant::dequantize_row + F32
// weights, float64 accumulation) and the relative error.
//
// Random weights are random bytes for every quant field (so every bit pattern
// of quants, high bits and packed scales is exercised) with the fp16 scale
// fields replaced by finite values of a realistic magnitude.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "backend/cuda/layout.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace kiln::kref {

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }  // [0,1)
  float symmetric() { return 2.f * uniform() - 1.f; }                                  // [-1,1)
};

// Runs f(begin, end) over [0, n) on all hardware threads.
template <typename F>
void parallel_for(int64_t n, F&& f) {
  const int64_t nt =
      std::max<int64_t>(1, std::min<int64_t>(n, std::thread::hardware_concurrency()));
  std::vector<std::thread> ts;
  for (int64_t t = 0; t < nt; ++t) {
    ts.emplace_back([&, t] { f(n * t / nt, n * (t + 1) / nt); });
  }
  for (auto& th : ts) th.join();
}

// Byte offsets of the fp16 scale fields of a block, and whether they are "min" fields.
inline std::vector<std::pair<int, bool>> scale_fields(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q8_0:
      return {{0, false}};
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
      return {{0, false}, {2, true}};
    case GgmlType::Q2_K:
      return {{80, false}, {82, true}};
    case GgmlType::Q3_K:
      return {{108, false}};
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
      return {{0, false}, {2, true}};
    case GgmlType::Q6_K:
      return {{208, false}};
    default:
      return {};
  }
}

// GGUF bytes of a random [rows x cols] matrix of type t.
inline std::vector<uint8_t> random_weights(GgmlType t, int64_t rows, int64_t cols, uint64_t seed) {
  const cuda::TypeLayout l = cuda::type_layout(t);
  const int64_t nblocks = rows * (cols / l.block_elems);
  std::vector<uint8_t> out(static_cast<size_t>(nblocks) * l.block_bytes);
  const auto fields = scale_fields(t);
  const bool k_quant = l.block_elems == 256;
  parallel_for(nblocks, [&](int64_t b0, int64_t b1) {
    Rng rng(seed ^ (static_cast<uint64_t>(b0) << 20));
    for (int64_t b = b0; b < b1; ++b) {
      uint8_t* blk = out.data() + b * l.block_bytes;
      if (t == GgmlType::F16 || t == GgmlType::BF16) {
        for (int e = 0; e < 32; ++e) {
          const float v = rng.symmetric();
          const uint16_t h = t == GgmlType::F16 ? quant::f32_to_fp16(v) : quant::f32_to_bf16(v);
          std::memcpy(blk + 2 * e, &h, 2);
        }
        continue;
      }
      for (int i = 0; i < l.block_bytes; i += 8) {
        const uint64_t r = rng.next();
        std::memcpy(blk + i, &r, std::min(8, l.block_bytes - i));
      }
      for (const auto& [off, is_min] : fields) {
        // K-quant d multiplies 6-bit scales: keep products of order 0.01-1.
        float v = (0.5f + rng.uniform()) * (k_quant ? 0.002f : 0.02f);
        if (is_min && !k_quant) v *= rng.symmetric() * 8.f;
        const uint16_t h = quant::f32_to_fp16(v);
        std::memcpy(blk + off, &h, 2);
      }
    }
  });
  return out;
}

// W as float32, [rows][cols].
inline std::vector<float> dequantize_matrix(GgmlType t, const std::vector<uint8_t>& w, int64_t rows,
                                            int64_t cols) {
  std::vector<float> out(static_cast<size_t>(rows * cols));
  const size_t rb = quant::row_bytes(t, cols);
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      quant::dequantize_row(t, w.data() + r * rb, out.data() + r * cols, cols);
    }
  });
  return out;
}

inline std::vector<float> random_activations(int64_t n, uint64_t seed) {
  std::vector<float> x(static_cast<size_t>(n));
  Rng rng(seed);
  for (auto& v : x) v = rng.symmetric() * 2.f;
  return x;
}

// y[c][i] = sum_k W[rows_checked[i]][k] x[c][k] in float64, returned as
// [ncols][rows_checked.size()].
inline std::vector<double> reference(const std::vector<float>& w, int64_t cols,
                                     const std::vector<float>& x, int64_t ncols,
                                     const std::vector<int64_t>& rows_checked) {
  const int64_t nr = static_cast<int64_t>(rows_checked.size());
  std::vector<double> y(static_cast<size_t>(ncols * nr));
  parallel_for(nr, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* wr = w.data() + rows_checked[i] * cols;
      for (int64_t c = 0; c < ncols; ++c) {
        const float* xc = x.data() + c * cols;
        double s = 0;
        for (int64_t k = 0; k < cols; ++k) s += static_cast<double>(wr[k]) * xc[k];
        y[c * nr + i] = s;
      }
    }
  });
  return y;
}

// Every row for few columns, else an even sample of about 384 rows plus the last.
inline std::vector<int64_t> rows_to_check(int64_t rows, int64_t ncols) {
  std::vector<int64_t> r;
  const int64_t step = ncols <= 8 ? 1 : std::max<int64_t>(1, rows / 384);
  for (int64_t i = 0; i < rows; i += step) r.push_back(i);
  if (r.back() != rows - 1) r.push_back(rows - 1);
  return r;
}

struct Check {
  double rel_err = 0;      // ||y - ref|| / ||ref|| over the checked rows
  bool all_finite = true;  // every output element (checked or not) finite
};

// y: [ncols][rows] from the device.
inline Check compare(const std::vector<float>& y, int64_t rows, int64_t ncols,
                     const std::vector<double>& ref, const std::vector<int64_t>& rows_checked) {
  Check c;
  for (float v : y) c.all_finite = c.all_finite && std::isfinite(v);
  const int64_t nr = static_cast<int64_t>(rows_checked.size());
  double num = 0, den = 0;
  for (int64_t col = 0; col < ncols; ++col) {
    for (int64_t i = 0; i < nr; ++i) {
      const double d = y[col * rows + rows_checked[i]] - ref[col * nr + i];
      num += d * d;
      den += ref[col * nr + i] * ref[col * nr + i];
    }
  }
  c.rel_err = den > 0 ? std::sqrt(num / den) : std::numeric_limits<double>::infinity();
  if (!std::isfinite(c.rel_err)) c.all_finite = false;
  return c;
}

// Whether the route rounds the activations to int8 before its integer math:
// the decode route of every quantized type (idot.cuh, v31).
inline bool int8_activations(GgmlType t, bool gemm) {
  return !gemm && t != GgmlType::F32 && t != GgmlType::F16 && t != GgmlType::BF16;
}

// x as the int8 decode route sees it: per 32 elements d = amax / 127,
// q = nearbyint(x * (127 / amax)) (float products, ties to even) and x' = d * q,
// bit for bit the quantization of matvec_int.cuh's quantize_x4. n % 32 == 0.
inline std::vector<float> q8_activations(const std::vector<float>& x) {
  std::vector<float> out(x.size());
  for (size_t b = 0; b + 32 <= x.size(); b += 32) {
    float amax = 0.f;
    for (size_t e = b; e < b + 32; ++e) amax = std::max(amax, std::fabs(x[e]));
    const float inv = amax > 0.f ? 127.f / amax : 0.f, d = amax / 127.f;
    for (size_t e = b; e < b + 32; ++e) out[e] = d * std::nearbyint(x[e] * inv);
  }
  return out;
}

// Tolerances against the reference computed from the activations the route
// rounds to (q8_activations for int8_activations routes). The decode route is
// exact integer dot products and F32 scale math on the exact dequantized
// weights; the GEMM route rounds weights (quantized types) and activations to
// F16, or activations to BF16 for BF16 weights.
inline double tolerance(GgmlType t, bool gemm) {
  if (!gemm) return 1e-4;
  return t == GgmlType::BF16 ? 1.5e-2 : 3e-3;
}

// Tolerance against the reference from the activations as given: the same
// as tolerance() except where the route rounds them to int8, which costs
// ~0.4% on these random inputs (d / 2 per element at most).
inline double input_tolerance(GgmlType t, bool gemm) {
  return int8_activations(t, gemm) ? 2e-2 : tolerance(t, gemm);
}

}  // namespace kiln::kref
