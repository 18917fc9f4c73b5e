// kernel_bench --timeline: the staged decode kernel's per-block step times
// (ablation bit 8: matvec_staged.cuh writes them into y, layout in
// kernels.h) recorded in two consecutive launches of a timed graph and
// printed as median/max over blocks on one clock. Host code.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace kiln::bench {

// For ablation 0 and each of `ablate`, a graph of launches as timed, of which
// two consecutive ones are recorded, the first with two successors (steady
// state: the next kernels' copies compete with it), the second on the first's
// clock (the gap from the first's last block end to the second's first wait
// return is the dependency's cost); launch(i, out) runs launch i into out
// (rows floats); yd: a rows-float buffer for the first recorded launch.
void print_timelines(const std::function<void(int, float*)>& launch, int nc, int64_t rows,
                     float* yd, const std::vector<int>& ablate, cudaStream_t s);

}  // namespace kiln::bench
