// Decode and dequantize kernels for Q8_0 weights.
#include "backend/cuda/kernels_impl.cuh"

KILN_CUDA_INSTANTIATE(Q8_0)
