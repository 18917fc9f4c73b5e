// Decode and dequantize kernels for Q4_0 weights.
#include "backend/cuda/kernels_impl.cuh"

KILN_CUDA_INSTANTIATE(Q4_0)
