// CPU matmul driver: activation conversion, ISA dispatch, row split.
#include "backend/cpu/matmul.h"

#include <algorithm>
#include <vector>

#include "backend/cpu/matmul_kernels.h"
#include "core/check.h"
#include "quant/quant.h"

namespace kiln::cpu {

namespace {
// Rows per parallel_for unit: enough work per unit to hide scheduling, and a
// fixed split point so no result depends on the thread count.
constexpr size_t kRowGrain = 16;
// Rows whose weights stay hot in cache while every token streams past them.
constexpr int64_t kRowTile = 16;

DotFn pick_dot(CpuIsa isa, GgmlType wtype) {
  DotFn fn = nullptr;
  if (isa == CpuIsa::kAvx512) fn = avx512_dot(wtype);
  if (fn == nullptr && (isa == CpuIsa::kAvx512 || isa == CpuIsa::kAvx2)) fn = avx2_dot(wtype);
  return fn != nullptr ? fn : scalar_dot(wtype);
}

RowsDotFn pick_rows_dot(CpuIsa isa, GgmlType wtype) {
  if (isa == CpuIsa::kAvx512) return avx512_rows_dot(wtype);
  if (isa == CpuIsa::kAvx2) return avx2_rows_dot(wtype);
  return nullptr;
}

void check_shapes(GgmlType wtype, int64_t rows, int64_t cols, int64_t n_tokens) {
  KILN_CHECK_MSG(quant::can_dequantize(wtype), "matmul: weight type not supported");
  const auto traits = ggml_type_traits(static_cast<uint32_t>(wtype));
  KILN_CHECK(rows >= 0 && n_tokens >= 0 && cols > 0 && cols % traits->block_size == 0);
}
}  // namespace

bool cpu_isa_supported(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kBest:
    case CpuIsa::kScalar:
      return true;
#if defined(__x86_64__)
    case CpuIsa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
    case CpuIsa::kAvx512:
      return cpu_isa_supported(CpuIsa::kAvx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512vnni");
#else
    case CpuIsa::kAvx2:
    case CpuIsa::kAvx512:
      return false;
#endif
  }
  return false;
}

CpuIsa cpu_best_isa() {
  static const CpuIsa best = [] {
    if (cpu_isa_supported(CpuIsa::kAvx512)) return CpuIsa::kAvx512;
    if (cpu_isa_supported(CpuIsa::kAvx2)) return CpuIsa::kAvx2;
    return CpuIsa::kScalar;
  }();
  return best;
}

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kBest:
      return cpu_isa_name(cpu_best_isa());
    case CpuIsa::kScalar:
      return "scalar";
    case CpuIsa::kAvx2:
      return "avx2";
    case CpuIsa::kAvx512:
      return "avx512-vnni";
  }
  return "?";
}

void matmul_isa(CpuIsa isa, GgmlType wtype, const void* w, int64_t rows, int64_t cols,
                const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  check_shapes(wtype, rows, cols, n_tokens);
  if (isa == CpuIsa::kBest) isa = cpu_best_isa();
  KILN_CHECK_MSG(cpu_isa_supported(isa), "matmul_isa: ISA not supported by this CPU");
  if (rows == 0 || n_tokens == 0) return;
  const DotFn dot = pick_dot(isa, wtype);
  const GgmlType act = activation_type(wtype);
  const size_t act_bytes = act_row_bytes(act, cols);
  // Reused across calls (the engine thread calls matmul): no steady-state allocation.
  thread_local std::vector<uint8_t> xq;
  if (xq.size() < act_bytes * n_tokens) xq.resize(act_bytes * n_tokens);
  uint8_t* xq_base = xq.data();
  pool.parallel_for(static_cast<size_t>(n_tokens), [&](size_t b, size_t e, int) {
    for (size_t t = b; t < e; ++t) {
      quantize_activations(act, x + t * cols, xq_base + t * act_bytes, cols);
    }
  });
  const size_t w_row = quant::row_bytes(wtype, cols);
  const auto* wb = static_cast<const uint8_t*>(w);
  const RowsDotFn rows_dot = pick_rows_dot(isa, wtype);
  pool.parallel_for(
      static_cast<size_t>(rows),
      [&](size_t r0, size_t r1, int) {
        const void* xs[kMaxDotTokens];
        float out[kMaxDotTokens * kMaxDotRows];
        for (size_t rt = r0; rt < r1; rt += kRowTile) {
          const size_t rt_end = std::min(r1, rt + kRowTile);
          for (int64_t t0 = 0; t0 < n_tokens; t0 += kMaxDotTokens) {
            const int nt = static_cast<int>(std::min<int64_t>(kMaxDotTokens, n_tokens - t0));
            for (int i = 0; i < nt; ++i) xs[i] = xq_base + (t0 + i) * act_bytes;
            if (rows_dot != nullptr) {
              for (size_t r = rt; r < rt_end; r += kMaxDotRows) {
                const int nr = static_cast<int>(std::min<size_t>(kMaxDotRows, rt_end - r));
                rows_dot(cols, wb + r * w_row, w_row, nr, xs, nt, out);
                for (int i = 0; i < nt; ++i) {
                  for (int j = 0; j < nr; ++j)
                    y[(t0 + i) * rows + r + j] = out[i * kMaxDotRows + j];
                }
              }
              continue;
            }
            for (size_t r = rt; r < rt_end; ++r) {
              dot(cols, wb + r * w_row, xs, nt, out);
              for (int i = 0; i < nt; ++i) y[(t0 + i) * rows + r] = out[i];
            }
          }
        }
      },
      kRowGrain);
}

void matmul(GgmlType wtype, const void* w, int64_t rows, int64_t cols, const float* x,
            int64_t n_tokens, float* y, ThreadPool& pool) {
  matmul_isa(CpuIsa::kBest, wtype, w, rows, cols, x, n_tokens, y, pool);
}

void matmul_reference(GgmlType wtype, const void* w, int64_t rows, int64_t cols, const float* x,
                      int64_t n_tokens, float* y) {
  check_shapes(wtype, rows, cols, n_tokens);
  const size_t w_row = quant::row_bytes(wtype, cols);
  std::vector<float> wf(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    quant::dequantize_row(wtype, static_cast<const uint8_t*>(w) + r * w_row, wf.data(), cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float* xt = x + t * cols;
      double acc = 0;
      for (int64_t c = 0; c < cols; ++c) acc += static_cast<double>(wf[c]) * xt[c];
      y[t * rows + r] = static_cast<float>(acc);
    }
  }
}

}  // namespace kiln::cpu
