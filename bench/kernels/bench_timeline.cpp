// kernel_bench --timeline (bench_timeline.h).
#include "bench_timeline.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "backend/cuda/kernels.h"
#include "bench_timing.h"

namespace kiln::bench {
namespace {

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

}  // namespace

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

}  // namespace kiln::bench
