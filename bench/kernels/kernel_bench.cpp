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
// quantized types; the quantization is timed on its own line, "quantize x",
// and at one column with each Q8 cell, "quantize x + decode": both launches
// in the timed graph, what x as given costs through a separate quantization).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "backend/cuda/kernels.h"
#include "backend/cuda/matmul.h"
#include "bench_options.h"
#include "bench_timeline.h"
#include "bench_timing.h"
#include "quant/fp16.h"
#include "read_ceiling.h"
#include "ref.h"

namespace {

using kiln::GgmlType;
using kiln::bench::check_status;
using kiln::bench::copies_for;
using kiln::bench::Options;
using kiln::bench::parse;
using kiln::bench::print_timelines;
using kiln::bench::Shape;
using kiln::bench::time_per_launch;
using kiln::bench::tname;
using kiln::bench::yname;
using nlohmann::json;

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
  const double t = time_per_launch(op, nc, s);
  for (auto* p : w) CK(cudaFree(p));
  CK(cudaFree(x));
  CK(cudaFree(y));
  return {t, 2.0 * sh.rows * sh.k * ncols / t / 1e12};
}

// Dependent-read floors for one weight size (see read_ceiling.h), printed.
void print_floor(size_t bytes, const std::vector<void*>& wd, int nc, uint32_t* out, int sms,
                 const float* x4096, cudaStream_t s) {
  auto t_us = [&](const std::function<void(int)>& op) { return 1e6 * time_per_launch(op, nc, s); };
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

// What every measurement of a run shares: the options, the device and its
// ceilings, the workspaces, and the results so far.
struct Bench {
  const Options& opt;
  cudaStream_t s;
  double copy_bw;  // GB/s, bytes read + written
  int sms;
  kiln::cuda::MatmulContext& ctx;
  uint32_t* read_out;  // the streaming-read kernels' output words
  int read_blocks;
  json results = json::array();
  int failures = 0;
};

// One weight matrix: random GGUF blocks of type t, the F32 matrix they
// decode to (the reference), and nc packed copies on the device, enough that
// rotating over them keeps L2 from serving the timed launches.
struct Matrix {
  Shape sh;
  GgmlType t;
  uint64_t seed;
  std::vector<float> wf;  // [rows][k]
  size_t pbytes, gbytes;  // packed (device) and GGUF bytes
  std::vector<void*> wd;

  Matrix(const Shape& shape, GgmlType type) : sh(shape), t(type) {
    seed = static_cast<uint64_t>(sh.rows * 131 + sh.k) * 977 + static_cast<uint64_t>(t);
    const auto host = kiln::kref::random_weights(t, sh.rows, sh.k, seed);
    wf = kiln::kref::dequantize_matrix(t, host, sh.rows, sh.k);
    pbytes = kiln::cuda::packed_bytes(t, sh.rows, sh.k);
    gbytes = kiln::cuda::gguf_bytes(t, sh.rows, sh.k);
    std::vector<uint8_t> packed(pbytes);
    check_status(kiln::cuda::pack_weights(t, host.data(), sh.rows, sh.k, packed.data()));
    wd.resize(static_cast<size_t>(copies_for(pbytes)));
    for (size_t i = 0; i < wd.size(); ++i) {
      CK(cudaMalloc(&wd[i], pbytes));
      CK(cudaMemcpy(wd[i], i == 0 ? static_cast<const void*>(packed.data()) : wd[0], pbytes,
                    i == 0 ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice));
    }
  }
  ~Matrix() {
    for (auto* p : wd) CK(cudaFree(p));
  }
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;

  int copies() const { return static_cast<int>(wd.size()); }
  kiln::cuda::WeightView view(int i) const { return {t, sh.rows, sh.k, wd[i % wd.size()]}; }
};

// The activations of one column count: x (F32) and y on the device, x's Q8
// form (--x q8, quantized once outside the timed launches; null where not
// measured), and the reference on the rows checked, from x and from the int8
// activations the quantized types' decode rounds x to.
struct Columns {
  int64_t n;
  float *xd = nullptr, *yd = nullptr;
  void* xq = nullptr;
  std::vector<int64_t> rows_checked;
  std::vector<double> ref, ref8;

  Columns(const Bench& b, const Matrix& m, int64_t ncols) : n(ncols) {
    const auto x = kiln::kref::random_activations(n * m.sh.k, m.seed + static_cast<uint64_t>(n));
    CK(cudaMalloc(&xd, x.size() * 4));
    CK(cudaMalloc(&yd, static_cast<size_t>(n * m.sh.rows) * 4));
    CK(cudaMemcpy(xd, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    const bool int8_x = kiln::kref::int8_activations(m.t, false);
    const auto& xq8 = b.opt.xq8;
    if (std::find(xq8.begin(), xq8.end(), true) != xq8.end() && n <= 8 && int8_x) quantize(b, m);
    rows_checked = kiln::kref::rows_to_check(m.sh.rows, n);
    ref = kiln::kref::reference(m.wf, m.sh.k, x, n, rows_checked);
    if (int8_x)
      ref8 = kiln::kref::reference(m.wf, m.sh.k, kiln::kref::q8_activations(x), n, rows_checked);
  }
  ~Columns() {
    CK(cudaFree(xd));
    CK(cudaFree(yd));
    if (xq != nullptr) CK(cudaFree(xq));
  }
  Columns(const Columns&) = delete;
  Columns& operator=(const Columns&) = delete;

  // x as Q8 into xq; the quantization's own time printed ("quantize x").
  void quantize(const Bench& b, const Matrix& m) {
    const auto q8 = kiln::cuda::ActType::Q8;
    CK(cudaMalloc(&xq, static_cast<size_t>(n * kiln::cuda::activation_bytes(q8, m.sh.k))));
    auto quant = [&](int) {
      check_status(
          kiln::cuda::quantize_activations(xd, kiln::cuda::ActType::F32, m.sh.k, n, xq, b.s));
    };
    quant(0);
    const double qs = time_per_launch(quant, m.copies(), b.s);
    std::printf("  quantize x (%lld x %lld F32 -> Q8): %.2f us\n", static_cast<long long>(n),
                static_cast<long long>(m.sh.k), qs * 1e6);
  }
};

// One measured cell: the route (decode or GEMM), x's form and the kernel choice.
struct Cell {
  bool gemm;
  bool use_q8;
  int variant;
};

// Checks: the relative error against the reference (and, for int8
// activations, against the reference on those), all outputs finite, and the
// same bits from a second run.
struct Check {
  double rel_err, err8, tol;
  bool q8, repro, pass;
};

Check check_cell(const Bench& b, const Matrix& m, const Columns& c, bool gemm,
                 const std::function<void(int)>& run) {
  const int64_t n_out = c.n * m.sh.rows;
  // One run into y prefilled with NaN, read back.
  const auto run_once = [&] {
    CK(cudaMemsetAsync(c.yd, 0xFF, static_cast<size_t>(n_out) * 4, b.s));
    run(0);
    CK(cudaStreamSynchronize(b.s));
    CK(cudaGetLastError());
    return read_output(c.yd, n_out, b.opt.ytype);
  };
  const std::vector<float> y = run_once();
  const auto chk = kiln::kref::compare(y, m.sh.rows, c.n, c.ref, c.rows_checked);
  // An F16/BF16 y adds its rounding (half an ulp, relative) to every error bound.
  const double yround = output_rounding(b.opt.ytype);
  Check r{};
  r.rel_err = chk.rel_err;
  r.tol = kiln::kref::input_tolerance(m.t, gemm) + yround;
  // Int8 activations: the integer math checked tightly on the same int8 x (ref8).
  r.q8 = kiln::kref::int8_activations(m.t, gemm);
  r.err8 = r.q8 ? kiln::kref::compare(y, m.sh.rows, c.n, c.ref8, c.rows_checked).rel_err : 0;
  // Run-to-run reproducibility: a second run must give the same bits.
  const std::vector<float> y2 = run_once();
  r.repro = std::memcmp(y.data(), y2.data(), y.size() * 4) == 0;
  r.pass = chk.all_finite && r.rel_err <= r.tol && r.repro &&
           r.err8 <= kiln::kref::tolerance(m.t, gemm) + yround;
  return r;
}

// The cell's JSON record and its table line (printed).
void report(Bench& b, const Matrix& m, const Columns& c, const Cell& cell, const Check& chk,
            double sec, double read_us, double dense_tf) {
  const Shape& sh = m.sh;
  const double gbs = m.gbytes / sec / 1e9;
  const double tflops = 2.0 * sh.rows * sh.k * c.n / sec / 1e12;
  b.results.push_back({{"model", sh.model},
                       {"rows", sh.rows},
                       {"k", sh.k},
                       {"type", tname(m.t)},
                       {"ncols", c.n},
                       {"route", cell.gemm ? "gemm" : "decode"},
                       {"variant", cell.variant},
                       {"x", cell.use_q8 ? "q8" : "f32"},
                       {"y", yname(b.opt.ytype)},
                       {"us", sec * 1e6},
                       {"weight_gbs", gbs},
                       {"pct_copy_bw", 100 * gbs / b.copy_bw},
                       {"tflops", tflops},
                       {"cublas_bf16_tflops", dense_tf},
                       {"read_ceiling_us", read_us},
                       {"rel_err", chk.rel_err},
                       {"rel_err_int8_x", chk.q8 ? json(chk.err8) : json(nullptr)},
                       {"tol", chk.tol},
                       {"pass", chk.pass},
                       {"reproducible", chk.repro},
                       {"weight_bytes", m.gbytes},
                       {"weight_copies", m.copies()}});
  std::printf(
      "%-9s %6lldx%-6lld %-5s %4lld %-6s %9.2f us %7.0f GB/s %5.1f%% %7.1f TF/s "
      "(bf16 %6.1f) err %.1e %s read %.2f us v%d",
      sh.model, static_cast<long long>(sh.rows), static_cast<long long>(sh.k), tname(m.t).c_str(),
      static_cast<long long>(c.n), cell.gemm ? "gemm" : "decode", sec * 1e6, gbs,
      100 * gbs / b.copy_bw, tflops, dense_tf, chk.rel_err, chk.pass ? "ok" : "FAIL", read_us,
      cell.variant);
  if (chk.q8) std::printf(" err8 %.1e", chk.err8);  // against the reference on the same int8 x
  if (cell.use_q8) std::printf(" x=q8");
  if (b.opt.ytype != kiln::cuda::ActType::F32) std::printf(" y=%s", yname(b.opt.ytype));
  std::printf("\n");
  std::fflush(stdout);
}

// Checks and times one cell; at one column of the decode route also the
// streaming-read ceiling (once per column count: read_us), and the floors,
// ablations and timelines asked for.
void measure(Bench& b, const Matrix& m, const Columns& c, const Cell& cell, double& read_us,
             double dense_tf) {
  const Options& opt = b.opt;
  const cudaStream_t s = b.s;
  const void* xin = cell.use_q8 ? c.xq : c.xd;
  const auto xtype = cell.use_q8 ? kiln::cuda::ActType::Q8 : kiln::cuda::ActType::F32;
  kiln::cuda::set_matvec_variant(cell.variant);
  auto run = [&](int i) {
    check_status(cell.gemm ? b.ctx.matmul_gemm(m.view(i), xin, xtype, c.n, c.yd, opt.ytype, s)
                           : kiln::cuda::matvec(m.view(i), xin, xtype, c.n, c.yd, opt.ytype, s));
  };
  const Check chk = check_cell(b, m, c, cell.gemm, run);
  b.failures += chk.pass ? 0 : 1;
  const double sec = time_per_launch(run, m.copies(), s);
  const bool one_col = !cell.gemm && c.n == 1;
  if (one_col && read_us == 0) {
    auto rd = [&](int i) {
      CK(kiln::bench::launch_read(m.wd[i % m.wd.size()], m.pbytes, b.read_out, b.read_blocks, s));
    };
    read_us = 1e6 * time_per_launch(rd, m.copies(), s);
    if (opt.floor) print_floor(m.pbytes, m.wd, m.copies(), b.read_out, b.sms, c.xd, s);
  }
  for (int bits : opt.ablate) {
    kiln::cuda::set_matvec_ablation(bits);
    const double us = 1e6 * time_per_launch(run, m.copies(), s);
    kiln::cuda::set_matvec_ablation(0);
    std::printf("  ablate %d (1 no dots, 2 no x fill, 4 no wait): %.2f us (%.1f%%)\n", bits, us,
                100 * m.gbytes / (us * 1e-6) / 1e9 / b.copy_bw);
  }
  if (cell.use_q8 && one_col) {
    // What x as given costs through a separate quantization (quantize x, then
    // this decode on its XBlocks), both in the timed graph (PDL between them).
    auto pair = [&](int i) {
      check_status(
          kiln::cuda::quantize_activations(c.xd, kiln::cuda::ActType::F32, m.sh.k, 1, c.xq, s));
      run(i);
    };
    const double us = 1e6 * time_per_launch(pair, m.copies(), s);
    std::printf("  quantize x + decode (F32 x in two launches): %.2f us (%.1f%%)\n", us,
                100 * m.gbytes / (us * 1e-6) / 1e9 / b.copy_bw);
  }
  if (opt.timeline && one_col) {
    print_timelines(
        [&](int i, float* out) {
          check_status(kiln::cuda::matvec(m.view(i), xin, xtype, 1, out, s));
        },
        m.copies(), m.sh.rows, c.yd, opt.ablate, s);
  }
  report(b, m, c, cell, chk, sec, read_us, dense_tf);
}

// Every cell of one matrix at one column count: the decode route up to 64
// columns (each variant asked for at up to 8, each x form), the GEMM route
// from 16.
void measure_columns(Bench& b, const Matrix& m, int64_t ncols, double dense_tf) {
  const Columns c(b, m, ncols);
  double read_us = 0;
  for (const bool gemm : {false, true}) {
    if ((!gemm && ncols > 64) || (gemm && ncols < 16)) continue;
    const std::vector<int> variants = !gemm && ncols <= 8 ? b.opt.variants : std::vector<int>{0};
    for (const bool use_q8 : b.opt.xq8)
      for (int variant : variants) {
        if (use_q8 && (gemm || c.xq == nullptr)) continue;
        measure(b, m, c, {gemm, use_q8, variant}, read_us, dense_tf);
      }
  }
  kiln::cuda::set_matvec_variant(0);
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  cudaDeviceProp prop{};
  CK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  kiln::bench::warm_up(s);
  const double copy_bw = kiln::bench::measure_copy_bw(s);
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
  cublasHandle_t hb;
  cublasCreate(&hb);
  const int read_blocks = prop.multiProcessorCount * 8;
  uint32_t* read_out = nullptr;
  CK(cudaMalloc(&read_out, static_cast<size_t>(read_blocks) * 4));
  Bench b{opt, s, copy_bw, prop.multiProcessorCount, *ctx_r.value(), read_out, read_blocks};

  for (const auto& sh : opt.shapes) {
    std::vector<std::pair<int64_t, Dense>> dense;  // cuBLAS BF16 at 16 columns and more
    for (int64_t c : opt.cols) {
      if (c >= 16) dense.push_back({c, cublas_bf16(hb, sh, c, s)});
    }
    for (GgmlType t : opt.types) {
      const Matrix m(sh, t);
      for (int64_t ncols : opt.cols) {
        double dense_tf = 0;
        for (const auto& [c, d] : dense)
          if (c == ncols) dense_tf = d.tflops;
        measure_columns(b, m, ncols, dense_tf);
      }
    }
  }
  json out;
  out["device"] = prop.name;
  out["copy_bw_gbs"] = copy_bw;
  out["results"] = b.results;
  out["failures"] = b.failures;
  std::ofstream(opt.json_path) << out.dump(1) << "\n";
  std::printf("%d failures; json: %s\n", b.failures, opt.json_path.c_str());
  cublasDestroy(hb);
  CK(cudaFree(read_out));
  return b.failures == 0 ? 0 : 1;
}
