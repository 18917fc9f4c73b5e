// kernel_bench: correctness and speed of the CUDA matmul kernels (y = W x)
// against the device's measured ceilings. Runs on the device machine.
//
// W is rows x K (K = cols, the reduction dimension); x is [ncols][K] F32.
// For every shape, type and column count: the decode route (matvec, up to
// 64 columns) and the GEMM route (dequantize + cuBLAS, from 16 columns) are
// checked against the CPU reference (quant::dequantize_row + float64 dot),
// then timed: CUDA-graph of many launches rotating over enough weight copies
// that L2 (50 MB) cannot serve them, median over replays.
// Ceilings: device-to-device cudaMemcpy (bytes read + written), cuBLAS
// dense BF16 GEMM on the same shape, and at 1 column a plain streaming-read
// kernel over the same weight bytes in the same graph of launches (what any
// kernel that reads those bytes once pays for launch, ramp and tail).
// A second of copies first brings the clocks up.
//
// Usage: kernel_bench [--quick] [--json FILE] [--types q4_0,q4_K,...]
//                     [--shapes llama7b|tinyllama|all|RxK,...] [--cols 1,2,4,...]
//                     [--variants 0,1,2,...] [--floor] [--ablate 1,2,...]
// --variants: at 1-8 columns, check and time each decode kernel choice of
// kiln::cuda::set_matvec_variant (kernels.h; default 0 = automatic only; at 2
// columns the one-column numbers, at 3-8 columns 1 = the register kernel, 2
// the tensor-core kernel and any other the automatic choice).
// --floor: at 1 column, also time the dependent-read floors of the weight
// bytes (read_ceiling.h): what a kernel that only copies them (and x) under
// programmatic dependent launch takes, and what one SM can pull (the same
// copies on a quarter to all of the SMs). --ablate 1,2,4: at 1 column, time the
// staged kernels with their dot products (1), x fill (2) or wait (4) left
// out (results wrong; timing only, docs/perf.md v9). --timeline: at 1
// column, the staged kernel's per-block step times (matvec_staged.cuh,
// ablation bit 8) in a launch in the middle of a timed graph (two launches
// after it): median and max over blocks, in microseconds from the earliest
// return from griddepcontrol.wait; then the launch after it on the same
// clock ("first wait at": the dependency's cost after the first launch's
// last "end"). --x f32,q8: the decode route with the
// activations as given (F32, default) and/or quantized to int8 XBlocks
// beforehand (ActType::Q8: what a producer that quantizes once hands the
// quantized types; the quantization is timed on its own line, "quantize x").
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "backend/cuda/kernels.h"
#include "backend/cuda/matmul.h"
#include "bench_options.h"
#include "quant/fp16.h"
#include "read_ceiling.h"
#include "ref.h"

namespace {

using kiln::GgmlType;
using kiln::bench::Options;
using kiln::bench::parse;
using kiln::bench::Shape;
using kiln::bench::tname;
using kiln::bench::yname;
using nlohmann::json;

#define CK(x)                                                                                 \
  do {                                                                                        \
    cudaError_t e_ = (x);                                                                     \
    if (e_ != cudaSuccess) {                                                                  \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(2);                                                                           \
    }                                                                                         \
  } while (0)

void check_status(const kiln::Status& s) {
  if (!s.is_ok()) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    std::exit(2);
  }
}

// Relative rounding of an output of type t (half an ulp; 0 for F32).
double output_rounding(kiln::cuda::ActType t) {
  return t == kiln::cuda::ActType::F16 ? 0x1p-11 : t == kiln::cuda::ActType::BF16 ? 0x1p-8 : 0;
}

// n outputs of type t at yd, as floats.
std::vector<float> read_output(const void* yd, int64_t n, kiln::cuda::ActType t) {
  std::vector<float> y(static_cast<size_t>(n));
  if (t == kiln::cuda::ActType::F32) {
    CK(cudaMemcpy(y.data(), yd, y.size() * 4, cudaMemcpyDeviceToHost));
    return y;
  }
  std::vector<uint16_t> h(y.size());
  CK(cudaMemcpy(h.data(), yd, h.size() * 2, cudaMemcpyDeviceToHost));
  for (size_t i = 0; i < h.size(); ++i)
    y[i] = t == kiln::cuda::ActType::F16 ? kiln::quant::fp16_to_f32(h[i])
                                         : kiln::quant::bf16_to_f32(h[i]);
  return y;
}

// Median per-op seconds: a graph of `launches` calls of op(i), replayed.
double time_op(const std::function<void(int)>& op, int launches, cudaStream_t s, int reps = 15) {
  cudaGraph_t g;
  cudaGraphExec_t ge;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < launches; ++i) op(i);
  CK(cudaStreamEndCapture(s, &g));
  CK(cudaGraphInstantiate(&ge, g, 0));
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  std::vector<double> ts;
  for (int r = 0; r < reps + 2; ++r) {
    CK(cudaEventRecord(e0, s));
    CK(cudaGraphLaunch(ge, s));
    CK(cudaEventRecord(e1, s));
    CK(cudaEventSynchronize(e1));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    if (r >= 2) ts.push_back(ms * 1e-3 / launches);
  }
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  CK(cudaGraphExecDestroy(ge));
  CK(cudaGraphDestroy(g));
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

// Launches so that one replay runs for about 300 us (at least n_copies).
int launches_for(const std::function<void(int)>& op, int n_copies, cudaStream_t s) {
  const double t = time_op(op, n_copies, s, 3);
  return std::clamp(static_cast<int>(300e-6 / t), n_copies, 400);
}

int copies_for(size_t bytes) {
  return static_cast<int>(std::max<size_t>(2, (200u << 20) / std::max<size_t>(bytes, 1) + 1));
}

// Device-to-device cudaMemcpy, bytes read + written per second: the best of a
// graph of copies and plain back-to-back copies timed with events, 256 MiB and 1 GiB.
double measure_copy_bw(cudaStream_t s) {
  double best = 0;
  for (size_t n : {size_t{256} << 20, size_t{1} << 30}) {
    void *a, *b;
    CK(cudaMalloc(&a, n));
    CK(cudaMalloc(&b, n));
    CK(cudaMemset(a, 1, n));
    auto copy = [&](int) { CK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, s)); };
    best = std::max(best, 2.0 * n / time_op(copy, 4, s, 9) / 1e9);
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    std::vector<double> ts;
    for (int r = 0; r < 11; ++r) {
      CK(cudaEventRecord(e0, s));
      for (int i = 0; i < 4; ++i) copy(i);
      CK(cudaEventRecord(e1, s));
      CK(cudaEventSynchronize(e1));
      float ms = 0;
      CK(cudaEventElapsedTime(&ms, e0, e1));
      ts.push_back(ms * 1e-3 / 4);
    }
    std::sort(ts.begin(), ts.end());
    best = std::max(best, 2.0 * n / ts[ts.size() / 2] / 1e9);
    CK(cudaEventDestroy(e0));
    CK(cudaEventDestroy(e1));
    CK(cudaFree(a));
    CK(cudaFree(b));
  }
  return best;
}

struct Dense {
  double seconds;
  double tflops;
};

// cuBLAS dense BF16 GEMM (BF16 in, F32 out, F32 accumulate) on [rows x k] * [k x ncols].
Dense cublas_bf16(cublasHandle_t h, const Shape& sh, int64_t ncols, cudaStream_t s) {
  const size_t wbytes = static_cast<size_t>(sh.rows * sh.k) * 2;
  const int nc = copies_for(wbytes);
  std::vector<void*> w(nc);
  void *x, *y;
  for (auto& p : w) {
    CK(cudaMalloc(&p, wbytes));
    CK(cudaMemset(p, 0x3C, wbytes));  // bf16 0x3C3C ~ 0.0115: nonzero data
  }
  CK(cudaMalloc(&x, static_cast<size_t>(ncols * sh.k) * 2));
  CK(cudaMemset(x, 0x3D, static_cast<size_t>(ncols * sh.k) * 2));
  CK(cudaMalloc(&y, static_cast<size_t>(ncols * sh.rows) * 4));
  cublasSetStream(h, s);
  const float alpha = 1.f, beta = 0.f;
  auto op = [&](int i) {
    cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(sh.rows), static_cast<int>(ncols),
                 static_cast<int>(sh.k), &alpha, w[i % nc], CUDA_R_16BF, static_cast<int>(sh.k), x,
                 CUDA_R_16BF, static_cast<int>(sh.k), &beta, y, CUDA_R_32F,
                 static_cast<int>(sh.rows), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  op(0);
  CK(cudaStreamSynchronize(s));
  const double t = time_op(op, launches_for(op, nc, s), s);
  for (auto* p : w) CK(cudaFree(p));
  CK(cudaFree(x));
  CK(cudaFree(y));
  return {t, 2.0 * sh.rows * sh.k * ncols / t / 1e12};
}

// Dependent-read floors for one weight size (see read_ceiling.h), printed.
void print_floor(size_t bytes, const std::vector<void*>& wd, int nc, uint32_t* out, int sms,
                 const float* x4096, cudaStream_t s) {
  auto t_us = [&](const std::function<void(int)>& op) {
    return 1e6 * time_op(op, launches_for(op, nc, s), s);
  };
  const double empty = t_us([&](int) { CK(kiln::bench::launch_dependent_empty(out, sms, s)); });
  std::printf("  floor: empty dependent launch %.2f us\n", empty);
  const size_t slice = (bytes / 16 + sms - 1) / sms * 16;
  std::vector<kiln::bench::DependentRead> cfgs;
  for (bool tma : {false, true}) {
    if (slice <= (100u << 10)) cfgs.push_back({static_cast<int>(slice), 1, true, tma, nullptr});
    cfgs.push_back({48 << 10, 2, true, tma, nullptr});
    cfgs.push_back({96 << 10, 2, true, tma, nullptr});
  }
  const size_t n_base = cfgs.size();
  for (size_t i = 0; i < n_base; ++i) {
    auto c = cfgs[i];
    c.x = x4096;
    cfgs.push_back(c);
    c.x = nullptr;
    c.wait = false;
    cfgs.push_back(c);
  }
  // x in registers (no 16 KB shared copy): three launches' blocks fit one SM.
  for (bool tma : {false, true}) {
    if (slice <= (72u << 10))
      cfgs.push_back({static_cast<int>(slice), 1, true, tma, x4096, true, false});
    cfgs.push_back({48 << 10, 1, true, tma, x4096, true, false});
    cfgs.push_back({32 << 10, 2, true, tma, x4096, true, false});
  }
  for (const auto& c : cfgs) {
    const double us = t_us(
        [&](int i) { CK(kiln::bench::launch_read_dependent(wd[i % nc], bytes, c, out, sms, s)); });
    std::printf("  floor: dependent read %3d KB x %d %-7s %-7s %-6s %.2f us = %.0f GB/s\n",
                c.chunk_bytes >> 10, c.nbuf, c.wait ? "wait" : "no-wait",
                c.tma ? "tma" : "cp.async", c.x ? (c.x_smem ? "+x" : "+x-reg") : "", us,
                bytes / us / 1e3);
  }
  // What one SM can pull: the same copies (TMA, two 96 KB buffers, one block
  // per SM, plain launches so that one launch runs at a time) on a quarter,
  // half, three quarters and all of the SMs.
  for (int part = 1; part <= 4; ++part) {
    const int blocks = sms * part / 4;
    for (const auto& [kb, nbuf, tma] : {std::tuple{96, 2, true}, {48, 4, true}, {96, 2, false}}) {
      const kiln::bench::DependentRead c{kb << 10, nbuf, false, tma, nullptr, false};
      const double us = t_us([&](int i) {
        CK(kiln::bench::launch_read_dependent(wd[i % nc], bytes, c, out, blocks, s));
      });
      std::printf(
          "  floor: plain %-8s %d KB x %d on %3d SMs %.2f us = %.0f GB/s, %.1f GB/s per SM\n",
          tma ? "tma" : "cp.async", kb, nbuf, blocks, us, bytes / us / 1e3,
          bytes / us / 1e3 / blocks);
    }
  }
}

// A step time never written: y is filled with 0xFF bytes before the launch.
constexpr uint32_t kUnset = 0xFFFFFFFFu;

// The blocks of y that hold step times (ablation bit 8; layout: kernels.h,
// kStepWords per block), each with its SM clock in GHz; empty where the
// kernel wrote no step times.
struct StepBlocks {
  std::vector<std::array<uint32_t, kiln::cuda::kStepWords>> blocks;
  std::vector<double> ghz;
};
StepBlocks step_blocks(const std::vector<uint32_t>& y) {
  using namespace kiln::cuda;
  StepBlocks sb;
  for (size_t b = 0; (b + 1) * kStepWords <= y.size(); ++b) {
    std::array<uint32_t, kStepWords> e;
    std::memcpy(e.data(), &y[b * kStepWords], sizeof e);
    if (e[kStepCount] == kUnset || e[kStepCount] == 0 || e[kStepNanos] == 0) break;
    // A kernel without step times (the register kernels) wrote results
    // here: steps out of order or a clock outside 0.5-3 GHz.
    const double clock_ghz = static_cast<double>(e[kStepEnd]) / e[kStepNanos];
    if (e[kStepWait] > e[kStepX] || e[kStepX] > e[kStepEnd] || clock_ghz < 0.5 || clock_ghz > 3)
      break;
    sb.blocks.push_back(e);
    sb.ghz.push_back(clock_ghz);
  }
  return sb;
}

// A launch's first return from griddepcontrol.wait: its blocks' lowest
// %globaltimer start (low bits) and the wait return in ns from it.
struct TimelineOrigin {
  uint32_t g_min;
  double t0_ns;
};

// Prints the staged kernel's step times read back from y: per step, the
// median and max over blocks, in us from the earliest return from
// griddepcontrol.wait, or, given origin, from that earlier launch's. Returns
// this launch's own origin (none without step times).
std::optional<TimelineOrigin> print_timeline(const std::vector<uint32_t>& y,
                                             const std::optional<TimelineOrigin>& origin = {}) {
  using namespace kiln::cuda;
  auto [blocks, ghz] = step_blocks(y);
  if (blocks.empty()) {
    std::printf(" timeline: none (not the staged kernel, or too few rows)\n");
    return std::nullopt;
  }
  uint32_t g_min = blocks[0][0], g_max = blocks[0][0];
  for (const auto& e : blocks) {
    g_min = std::min(g_min, e[0]);
    g_max = std::max(g_max, e[0]);
  }
  std::sort(ghz.begin(), ghz.end());
  const double f = ghz[ghz.size() / 2] * 1e3;  // cycles per us
  std::printf(
      " timeline: %zu blocks, %.2f GHz, starts spread %.2f us; from the first wait return, "
      "median/max us:",
      blocks.size(), f / 1e3, (g_max - g_min) / 1e3);
  // Times from the earliest return from the wait (the previous kernel's end)
  // on the %globaltimer clock: block start (its [0]) plus the step's cycles.
  const auto ns = [&](const std::array<uint32_t, kStepWords>& e, int i) {
    return static_cast<double>(e[0] - g_min) + e[i] / f * 1e3;
  };
  double t0 = 1e30;
  for (const auto& e : blocks) t0 = std::min(t0, ns(e, kStepWait));
  const TimelineOrigin own{g_min, t0};
  if (origin) {
    // This launch's clock base relative to the origin's (wraps: signed difference).
    const double shift = static_cast<double>(static_cast<int32_t>(g_min - origin->g_min));
    std::printf(" [first wait at %.2f us]", (t0 + shift - origin->t0_ns) / 1e3);
    t0 = origin->t0_ns - shift;
  }
  // Block starts (negative: before the first wait return, i.e. while the
  // previous kernel still ran), median/earliest.
  std::vector<double> starts;
  for (const auto& e : blocks) starts.push_back((static_cast<double>(e[0] - g_min) - t0) / 1e3);
  std::sort(starts.begin(), starts.end());
  std::printf(" start %.2f/%.2f", starts[starts.size() / 2], starts.front());
  for (int i = kStepWait; i <= kStepEnd; ++i) {
    const bool per_stage = i >= kStepIn && i < kStepEnd;
    std::vector<double> v;
    for (const auto& e : blocks)
      if ((!per_stage || static_cast<uint32_t>((i - kStepIn) / 2) < e[kStepCount]) &&
          e[i] != kUnset)
        v.push_back((ns(e, i) - t0) / 1e3);
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    const std::string name =
        i == kStepWait  ? "wait"
        : i == kStepX   ? "x"
        : i == kStepEnd ? "end"
                        : ((i - kStepIn) % 2 ? "done" : "in") + std::to_string((i - kStepIn) / 2);
    std::printf(" %s %.2f/%.2f", name.c_str(), v[v.size() / 2], v.back());
  }
  std::printf("\n");
  return own;
}

// --timeline: for ablation 0 and each of `ablate`, a graph of launches as
// timed, of which two consecutive ones are recorded, the first with two
// successors (steady state: the next kernels' copies compete with it), the
// second on the first's clock (the gap from the first's last block end to
// the second's first wait return is the dependency's cost); launch(i, out)
// runs launch i into out.
void print_timelines(const std::function<void(int, float*)>& launch, int nc, int64_t rows,
                     float* yd, const std::vector<int>& ablate, cudaStream_t s) {
  std::vector<int> tl_bits = {0};
  tl_bits.insert(tl_bits.end(), ablate.begin(), ablate.end());
  float *ys, *y2;  // the other launches' results; the second recorded launch's steps
  CK(cudaMalloc(&ys, static_cast<size_t>(rows) * 4));
  CK(cudaMalloc(&y2, static_cast<size_t>(rows) * 4));
  const auto plain = [&](int i) { launch(i, ys); };
  for (int bits : tl_bits) {
    const int n = launches_for(plain, nc, s), target = n - 3;
    auto op = [&](int i) {
      const bool rec = i == target || i == target + 1;
      kiln::cuda::set_matvec_ablation(rec ? bits | 8 : bits);
      launch(i, i == target ? yd : i == target + 1 ? y2 : ys);
    };
    CK(cudaMemsetAsync(yd, 0xFF, static_cast<size_t>(rows) * 4, s));
    CK(cudaMemsetAsync(y2, 0xFF, static_cast<size_t>(rows) * 4, s));
    const double us = 1e6 * time_op(op, n, s);
    kiln::cuda::set_matvec_ablation(0);
    std::vector<uint32_t> tl(static_cast<size_t>(rows)), tl2(tl.size());
    CK(cudaMemcpy(tl.data(), yd, tl.size() * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(tl2.data(), y2, tl2.size() * 4, cudaMemcpyDeviceToHost));
    std::printf("  ablate %d (%.2f us)", bits, us);
    const auto origin = print_timeline(tl);
    std::printf("  ablate %d next launch", bits);
    print_timeline(tl2, origin);
  }
  CK(cudaFree(ys));
  CK(cudaFree(y2));
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  cudaDeviceProp prop{};
  CK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  {
    // Warm-up: about a second of copies so that clocks are up before timing.
    void *a, *b;
    const size_t n = size_t{512} << 20;
    CK(cudaMalloc(&a, n));
    CK(cudaMalloc(&b, n));
    CK(cudaMemset(a, 1, n));
    for (int i = 0; i < 4000; ++i) CK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, s));
    CK(cudaStreamSynchronize(s));
    CK(cudaFree(a));
    CK(cudaFree(b));
  }
  const double copy_bw = measure_copy_bw(s);
  std::printf("device: %s, %d SMs, L2 %d MB; D2D copy %.0f GB/s (read+write)\n", prop.name,
              prop.multiProcessorCount, prop.l2CacheSize >> 20, copy_bw);

  int64_t max_rows = 0, max_k = 0, max_cols = 0;
  for (const auto& sh : opt.shapes) {
    max_rows = std::max(max_rows, sh.rows);
    max_k = std::max(max_k, sh.k);
  }
  for (int64_t c : opt.cols) max_cols = std::max(max_cols, c);
  auto ctx_r = kiln::cuda::MatmulContext::create(max_rows, max_k, max_cols);
  check_status(ctx_r.status());
  auto& ctx = *ctx_r.value();
  cublasHandle_t hb;
  cublasCreate(&hb);

  uint32_t* read_out = nullptr;
  const int read_blocks = prop.multiProcessorCount * 8;
  CK(cudaMalloc(&read_out, static_cast<size_t>(read_blocks) * 4));

  json out;
  out["device"] = prop.name;
  out["copy_bw_gbs"] = copy_bw;
  json rows_json = json::array();
  int failures = 0;
  std::vector<std::string> table;
  char buf[512];

  for (const auto& sh : opt.shapes) {
    std::vector<std::pair<int64_t, Dense>> dense;
    for (int64_t c : opt.cols) {
      if (c >= 16) dense.push_back({c, cublas_bf16(hb, sh, c, s)});
    }
    for (GgmlType t : opt.types) {
      const uint64_t seed =
          static_cast<uint64_t>(sh.rows * 131 + sh.k) * 977 + static_cast<uint64_t>(t);
      const auto host = kiln::kref::random_weights(t, sh.rows, sh.k, seed);
      const auto wf = kiln::kref::dequantize_matrix(t, host, sh.rows, sh.k);
      const size_t pbytes = kiln::cuda::packed_bytes(t, sh.rows, sh.k);
      const size_t gbytes = kiln::cuda::gguf_bytes(t, sh.rows, sh.k);
      std::vector<uint8_t> packed(pbytes);
      check_status(kiln::cuda::pack_weights(t, host.data(), sh.rows, sh.k, packed.data()));
      const int nc = copies_for(pbytes);
      std::vector<void*> wd(nc);
      for (int i = 0; i < nc; ++i) {
        CK(cudaMalloc(&wd[i], pbytes));
        if (i == 0) {
          CK(cudaMemcpy(wd[0], packed.data(), pbytes, cudaMemcpyHostToDevice));
        } else {
          CK(cudaMemcpy(wd[i], wd[0], pbytes, cudaMemcpyDeviceToDevice));
        }
      }
      for (int64_t ncols : opt.cols) {
        const auto x =
            kiln::kref::random_activations(ncols * sh.k, seed + static_cast<uint64_t>(ncols));
        float *xd, *yd;
        CK(cudaMalloc(&xd, x.size() * 4));
        CK(cudaMalloc(&yd, static_cast<size_t>(ncols * sh.rows) * 4));
        CK(cudaMemcpy(xd, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
        // The Q8 form of x (--x q8), quantized once outside the timed launches.
        void* xq = nullptr;
        const bool want_q8 = std::find(opt.xq8.begin(), opt.xq8.end(), true) != opt.xq8.end();
        if (want_q8 && ncols <= 8 && kiln::kref::int8_activations(t, false)) {
          const auto q8 = kiln::cuda::ActType::Q8;
          CK(cudaMalloc(&xq, static_cast<size_t>(ncols * kiln::cuda::activation_bytes(q8, sh.k))));
          auto quant = [&](int) {
            check_status(
                kiln::cuda::quantize_activations(xd, kiln::cuda::ActType::F32, sh.k, ncols, xq, s));
          };
          quant(0);
          const double qs = time_op(quant, launches_for(quant, nc, s), s);
          std::printf("  quantize x (%lld x %lld F32 -> Q8): %.2f us\n",
                      static_cast<long long>(ncols), static_cast<long long>(sh.k), qs * 1e6);
        }
        const auto rows_checked = kiln::kref::rows_to_check(sh.rows, ncols);
        const auto ref = kiln::kref::reference(wf, sh.k, x, ncols, rows_checked);
        const auto ref8 = kiln::kref::int8_activations(t, false)
                              ? kiln::kref::reference(wf, sh.k, kiln::kref::q8_activations(x),
                                                      ncols, rows_checked)
                              : std::vector<double>{};
        double read_us = 0;
        for (int route = 0; route < 2; ++route) {
          const bool gemm = route == 1;
          if ((!gemm && ncols > 64) || (gemm && ncols < 16)) continue;
          const std::vector<int> variants =
              !gemm && ncols <= 8 ? opt.variants : std::vector<int>{0};
          for (const bool use_q8 : opt.xq8)
            for (int variant : variants) {
              if (use_q8 && (gemm || xq == nullptr)) continue;
              const void* xin = use_q8 ? xq : xd;
              const auto xtype = use_q8 ? kiln::cuda::ActType::Q8 : kiln::cuda::ActType::F32;
              kiln::cuda::set_matvec_variant(variant);
              auto run = [&](int i) {
                const kiln::cuda::WeightView wv{t, sh.rows, sh.k, wd[i % nc]};
                check_status(gemm ? ctx.matmul_gemm(wv, xin, xtype, ncols, yd, opt.ytype, s)
                                  : kiln::cuda::matvec(wv, xin, xtype, ncols, yd, opt.ytype, s));
              };
              CK(cudaMemsetAsync(yd, 0xFF, static_cast<size_t>(ncols * sh.rows) * 4, s));  // NaN
              run(0);
              CK(cudaStreamSynchronize(s));
              CK(cudaGetLastError());
              const std::vector<float> y = read_output(yd, ncols * sh.rows, opt.ytype);
              const auto chk = kiln::kref::compare(y, sh.rows, ncols, ref, rows_checked);
              // An F16/BF16 y adds its rounding (half an ulp, relative) to every error bound.
              const double yround = output_rounding(opt.ytype);
              const double tol = kiln::kref::input_tolerance(t, gemm) + yround;
              // Int8 activations: the integer math checked tightly on the same int8 x (ref8).
              const bool q8 = kiln::kref::int8_activations(t, gemm);
              const double err8 =
                  q8 ? kiln::kref::compare(y, sh.rows, ncols, ref8, rows_checked).rel_err : 0;
              // Run-to-run reproducibility: a second run must give the same bits.
              CK(cudaMemsetAsync(yd, 0xFF, y.size() * 4, s));
              run(0);
              CK(cudaStreamSynchronize(s));
              const std::vector<float> y2 = read_output(yd, ncols * sh.rows, opt.ytype);
              const bool repro = std::memcmp(y.data(), y2.data(), y.size() * 4) == 0;
              const bool pass = chk.all_finite && chk.rel_err <= tol && repro &&
                                err8 <= kiln::kref::tolerance(t, gemm) + yround;
              failures += pass ? 0 : 1;
              const double sec = time_op(run, launches_for(run, nc, s), s);
              if (!gemm && ncols == 1 && read_us == 0) {
                auto rd = [&](int i) {
                  CK(kiln::bench::launch_read(wd[i % nc], pbytes, read_out, read_blocks, s));
                };
                read_us = 1e6 * time_op(rd, launches_for(rd, nc, s), s);
                if (opt.floor)
                  print_floor(pbytes, wd, nc, read_out, prop.multiProcessorCount, xd, s);
              }
              for (int bits : opt.ablate) {
                kiln::cuda::set_matvec_ablation(bits);
                const double us = 1e6 * time_op(run, launches_for(run, nc, s), s);
                kiln::cuda::set_matvec_ablation(0);
                std::printf("  ablate %d (1 no dots, 2 no x fill, 4 no wait): %.2f us (%.1f%%)\n",
                            bits, us, 100 * gbytes / (us * 1e-6) / 1e9 / copy_bw);
              }
              if (opt.timeline && !gemm && ncols == 1) {
                print_timelines(
                    [&](int i, float* out) {
                      const kiln::cuda::WeightView wv{t, sh.rows, sh.k, wd[i % nc]};
                      check_status(kiln::cuda::matvec(wv, xin, xtype, 1, out, s));
                    },
                    nc, sh.rows, yd, opt.ablate, s);
              }
              const double gbs = gbytes / sec / 1e9;
              const double tflops = 2.0 * sh.rows * sh.k * ncols / sec / 1e12;
              double dense_tf = 0;
              for (const auto& [c, d] : dense)
                if (c == ncols) dense_tf = d.tflops;
              json r = {{"model", sh.model},
                        {"rows", sh.rows},
                        {"k", sh.k},
                        {"type", tname(t)},
                        {"ncols", ncols},
                        {"route", gemm ? "gemm" : "decode"},
                        {"variant", variant},
                        {"x", use_q8 ? "q8" : "f32"},
                        {"y", yname(opt.ytype)},
                        {"us", sec * 1e6},
                        {"weight_gbs", gbs},
                        {"pct_copy_bw", 100 * gbs / copy_bw},
                        {"tflops", tflops},
                        {"cublas_bf16_tflops", dense_tf},
                        {"read_ceiling_us", read_us},
                        {"rel_err", chk.rel_err},
                        {"rel_err_int8_x", q8 ? json(err8) : json(nullptr)},
                        {"tol", tol},
                        {"pass", pass},
                        {"reproducible", repro},
                        {"weight_bytes", gbytes},
                        {"weight_copies", nc}};
              rows_json.push_back(r);
              std::snprintf(
                  buf, sizeof buf,
                  "%-9s %6lldx%-6lld %-5s %4lld %-6s %9.2f us %7.0f GB/s %5.1f%% %7.1f TF/s "
                  "(bf16 %6.1f) err %.1e %s read %.2f us v%d",
                  sh.model, static_cast<long long>(sh.rows), static_cast<long long>(sh.k),
                  tname(t).c_str(), static_cast<long long>(ncols), gemm ? "gemm" : "decode",
                  sec * 1e6, gbs, 100 * gbs / copy_bw, tflops, dense_tf, chk.rel_err,
                  pass ? "ok" : "FAIL", read_us, variant);
              if (q8) {  // the error against the reference on the same int8 activations
                const size_t used = std::strlen(buf);
                std::snprintf(buf + used, sizeof buf - used, " err8 %.1e", err8);
              }
              if (use_q8) std::strncat(buf, " x=q8", sizeof buf - std::strlen(buf) - 1);
              if (opt.ytype != kiln::cuda::ActType::F32) {
                const size_t used = std::strlen(buf);
                std::snprintf(buf + used, sizeof buf - used, " y=%s", yname(opt.ytype));
              }
              std::puts(buf);
              std::fflush(stdout);
              table.push_back(buf);
            }
        }
        kiln::cuda::set_matvec_variant(0);
        CK(cudaFree(xd));
        CK(cudaFree(yd));
        if (xq != nullptr) CK(cudaFree(xq));
      }
      for (auto* p : wd) CK(cudaFree(p));
    }
  }
  out["results"] = rows_json;
  out["failures"] = failures;
  std::ofstream(opt.json_path) << out.dump(1) << "\n";
  std::printf("%d failures; json: %s\n", failures, opt.json_path.c_str());
  cublasDestroy(hb);
  CK(cudaFree(read_out));
  return failures == 0 ? 0 : 1;
}
