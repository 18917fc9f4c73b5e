// kernel_bench's timing tools: CUDA error checks that exit, the graph timer
// (median over replays of a graph of launches), the device-to-device copy
// bandwidth (the ceiling every percentage is taken against) and the clock
// warm-up. Host code; exits with status 2 on a CUDA or library error.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "core/status.h"

// Exits with status 2, naming the call, when x is not cudaSuccess.
#define CK(x)                                                                                 \
  do {                                                                                        \
    cudaError_t e_ = (x);                                                                     \
    if (e_ != cudaSuccess) {                                                                  \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(2);                                                                           \
    }                                                                                         \
  } while (0)

namespace kiln::bench {

// Exits with status 2 and the message when s is an error.
void check_status(const Status& s);

// Median seconds per op: a CUDA graph of `launches` calls of op(i) captured on
// s, replayed reps times (after two warm-up replays).
double time_op(const std::function<void(int)>& op, int launches, cudaStream_t s, int reps = 15);

// Launches so that one replay runs for about 300 us (at least n_copies).
int launches_for(const std::function<void(int)>& op, int n_copies, cudaStream_t s);

// time_op over launches_for(op, n_copies, s) launches: op(i) rotating over
// n_copies buffers, median seconds per launch.
double time_per_launch(const std::function<void(int)>& op, int n_copies, cudaStream_t s);

// Copies of a buffer of `bytes` that rotating launches need so that L2 cannot
// serve them (at least 2; 200 MiB in all).
int copies_for(size_t bytes);

// Device-to-device cudaMemcpy, bytes read + written per second (GB/s): the best of a
// graph of copies and plain back-to-back copies timed with events, 256 MiB and 1 GiB.
double measure_copy_bw(cudaStream_t s);

// About a second of copies, so that the clocks are up before anything is timed.
void warm_up(cudaStream_t s);

}  // namespace kiln::bench
