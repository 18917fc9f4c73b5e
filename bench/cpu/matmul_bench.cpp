// CPU matmul throughput on the smol135m shapes (n_embd 576, FFN 1536, 9 heads /
// 3 KV heads of 64, vocab 32000): GB/s of weights read and GFLOP/s, per
// weight type, 1 and 128 tokens, 1 and 2 threads, per ISA path.
//
//   bench_cpu_matmul [--benchmark_filter=q4_0] [--benchmark_format=json]
// Names: <type>/<shape>/t<tokens>/th<threads>/<path>; path `packed` is the
// panel kernels of packed.h, `best` matmul() on the best ISA.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "backend/cpu/matmul.h"
#include "backend/cpu/packed.h"
#include "quant/quant.h"

namespace kiln::cpu {
namespace {

struct Shape {
  const char* name;
  int64_t rows, cols;  // W: [rows][cols]
};
// One llama layer of smol135m plus the output head.
constexpr Shape kShapes[] = {{"attn_q", 576, 576},
                             {"attn_k", 192, 576},
                             {"attn_v", 192, 576},
                             {"attn_out", 576, 576},
                             {"ffn_gate", 1536, 576},
                             {"ffn_up", 1536, 576},
                             {"ffn_down", 576, 1536},
                             {"output", 32000, 576},
                             // Larger than the L3: single-token matmuls read it from DRAM,
                             // as a whole model does (summarize.py ignores it).
                             {"dram", 393216, 576}};

void bm_matmul(benchmark::State& state, GgmlType type, Shape shape, int64_t tokens, int threads,
               CpuIsa isa, bool packed_path) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const size_t rb = quant::row_bytes(type, shape.cols);
  std::vector<uint8_t> w(rb * shape.rows);
  std::vector<float> row(shape.cols);
  for (int64_t r = 0; r < shape.rows; ++r) {
    for (auto& v : row) v = 0.02f * normal(rng);
    quant::quantize_row(type, row.data(), w.data() + r * rb, shape.cols);
  }
  std::vector<float> x(tokens * shape.cols), y(tokens * shape.rows);
  for (auto& v : x) v = normal(rng);
  ThreadPool pool(threads);
  // isa == kBest with `packed`: the panel kernels of packed.h (packed once, outside the loop).
  const auto packed =
      packed_path ? PackedMatrix::pack(type, w.data(), shape.rows, shape.cols, pool) : nullptr;
  for (auto _ : state) {
    if (packed) {
      matmul_packed(*packed, x.data(), tokens, y.data(), pool);
    } else {
      matmul_isa(isa, type, w.data(), shape.rows, shape.cols, x.data(), tokens, y.data(), pool);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(iters * w.size() / 1e9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(
      iters * 2.0 * shape.rows * shape.cols * tokens / 1e9, benchmark::Counter::kIsRate);
  state.counters["weight_MB"] = w.size() / 1e6;
}

void register_all() {
  const GgmlType types[] = {GgmlType::F32,  GgmlType::F16,    GgmlType::BF16,  GgmlType::Q4_0,
                            GgmlType::Q4_1, GgmlType::Q5_0,   GgmlType::Q5_1,  GgmlType::Q8_0,
                            GgmlType::Q2_K, GgmlType::Q3_K,   GgmlType::Q4_K,  GgmlType::Q5_K,
                            GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS};
  for (int path = 0; path < 4; ++path) {
    const bool packed_path = path == 0;
    const CpuIsa isa = path <= 1 ? CpuIsa::kBest : path == 2 ? CpuIsa::kAvx2 : CpuIsa::kScalar;
    if (!cpu_isa_supported(isa)) continue;
    const std::string isa_name = packed_path            ? "packed"
                                 : isa == CpuIsa::kBest ? "best"
                                                        : cpu_isa_name(isa);
    for (GgmlType type : types) {
      for (const Shape& shape : kShapes) {
        // K-quants need rows of 256: smol135m's 576-wide rows cannot be K-quants
        // (llama-quantize falls back to Q5_0/Q8_0 there, quant-formats.md §8).
        const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
        if (shape.cols % traits->block_size != 0) continue;
        if (packed_path && !PackedMatrix::supported(type, shape.cols)) continue;
        for (int64_t tokens : {1, 128}) {
          for (int threads : {1, 2}) {
            const std::string name = std::string(ggml_type_name(static_cast<uint32_t>(type))) +
                                     "/" + shape.name + "/t" + std::to_string(tokens) + "/th" +
                                     std::to_string(threads) + "/" + isa_name;
            benchmark::RegisterBenchmark(name.c_str(), bm_matmul, type, shape, tokens, threads, isa,
                                         packed_path)
                ->Unit(benchmark::kMicrosecond)
                ->UseRealTime();
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace kiln::cpu

int main(int argc, char** argv) {
  kiln::cpu::register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
