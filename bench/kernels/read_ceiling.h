// Streaming-read ceiling kernel for kernel_bench (read_ceiling.cu).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace kiln::bench {

// Reads bytes (a multiple of 16) at p once; out: [blocks] words, written
// only for one improbable value (the loads cannot be optimised away).
cudaError_t launch_read(const void* p, size_t bytes, uint32_t* out, int blocks,
                        cudaStream_t stream);

}  // namespace kiln::bench
