// Programmatic dependent launch helper, shared by the kernel launchers
// (kernels_impl.cuh) and the benchmark's ceiling kernels.
#pragma once

#include <cuda_runtime.h>

#include <utility>

namespace kiln::cuda {

// Launches kernel(args...) over `blocks` blocks of `threads` with programmatic
// dependent launch (the kernel may start before the previous one in the stream
// ends; it waits with griddepcontrol.wait before reading that kernel's output).
template <typename... Params, typename... Args>
cudaError_t launch_pdl(void (*kernel)(Params...), unsigned blocks, unsigned threads, size_t smem,
                       cudaStream_t stream, Args&&... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(blocks);
  cfg.blockDim = dim3(threads);
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr_pdl[1];
  attr_pdl[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr_pdl[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr_pdl;
  cfg.numAttrs = 1;
  return cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...);
}

}  // namespace kiln::cuda
