// Streaming-read ceiling kernels for kernel_bench (read_ceiling.cu).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace kiln::bench {

// Reads bytes (a multiple of 16) at p once; out: [blocks] words, written
// only for one improbable value (the loads cannot be optimised away).
cudaError_t launch_read(const void* p, size_t bytes, uint32_t* out, int blocks,
                        cudaStream_t stream);

// The same bytes read as a dependent decode kernel would (programmatic
// dependent launch, 512 threads, one block per SM): copied into a ring of
// nbuf (1, 2 or 4) shared-memory chunks of chunk_bytes, the first nbuf before
// griddepcontrol.wait (skipped when !wait), by cp.async or (tma) bulk copies;
// then, with x (4096 floats), x loaded into shared memory; then the chunks read.
struct DependentRead {
  int chunk_bytes = 16;
  int nbuf = 1;
  bool wait = true;
  bool tma = false;
  const float* x = nullptr;
  bool pdl = true;  // false: a plain launch (starts only after the previous kernel ends)
  // false: x kept in registers, no 16 KB shared copy, 3 blocks of 512 threads
  // fit one SM's registers: three launches' blocks can share an SM.
  bool x_smem = true;
};
cudaError_t launch_read_dependent(const void* p, size_t bytes, const DependentRead& d,
                                  uint32_t* out, int blocks, cudaStream_t stream);

// The dependent launch alone (no bytes): launch_dependents, wait, exit.
cudaError_t launch_dependent_empty(uint32_t* out, int blocks, cudaStream_t stream);

}  // namespace kiln::bench
