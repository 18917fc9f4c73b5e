// kernel_bench's timing tools (bench_timing.h).
#include "bench_timing.h"

#include <algorithm>
#include <vector>

namespace kiln::bench {

void check_status(const Status& s) {
  if (!s.is_ok()) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    std::exit(2);
  }
}

namespace {

// Median seconds of run() between two events on s, over reps runs after
// `skip` untimed ones.
double median_event_seconds(const std::function<void()>& run, int reps, int skip, cudaStream_t s) {
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  std::vector<double> ts;
  for (int r = 0; r < reps + skip; ++r) {
    CK(cudaEventRecord(e0, s));
    run();
    CK(cudaEventRecord(e1, s));
    CK(cudaEventSynchronize(e1));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    if (r >= skip) ts.push_back(ms * 1e-3);
  }
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

}  // namespace

double time_op(const std::function<void(int)>& op, int launches, cudaStream_t s, int reps) {
  cudaGraph_t g;
  cudaGraphExec_t ge;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < launches; ++i) op(i);
  CK(cudaStreamEndCapture(s, &g));
  CK(cudaGraphInstantiate(&ge, g, 0));
  const double t = median_event_seconds([&] { CK(cudaGraphLaunch(ge, s)); }, reps, 2, s);
  CK(cudaGraphExecDestroy(ge));
  CK(cudaGraphDestroy(g));
  return t / launches;
}

double time_per_launch(const std::function<void(int)>& op, int n_copies, cudaStream_t s) {
  return time_op(op, launches_for(op, n_copies, s), s);
}

int launches_for(const std::function<void(int)>& op, int n_copies, cudaStream_t s) {
  const double t = time_op(op, n_copies, s, 3);
  return std::clamp(static_cast<int>(300e-6 / t), n_copies, 400);
}

int copies_for(size_t bytes) {
  return static_cast<int>(std::max<size_t>(2, (200u << 20) / std::max<size_t>(bytes, 1) + 1));
}

double measure_copy_bw(cudaStream_t s) {
  double best = 0;
  for (size_t n : {size_t{256} << 20, size_t{1} << 30}) {
    void *a, *b;
    CK(cudaMalloc(&a, n));
    CK(cudaMalloc(&b, n));
    CK(cudaMemset(a, 1, n));
    auto copy = [&](int) { CK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, s)); };
    best = std::max(best, 2.0 * n / time_op(copy, 4, s, 9) / 1e9);
    const auto four = [&] {
      for (int i = 0; i < 4; ++i) copy(i);
    };
    best = std::max(best, 2.0 * n / (median_event_seconds(four, 11, 0, s) / 4) / 1e9);
    CK(cudaFree(a));
    CK(cudaFree(b));
  }
  return best;
}

void warm_up(cudaStream_t s) {
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

}  // namespace kiln::bench
