// Decode and dequantize kernels for Q4_1 weights.
#include "backend/cuda/kernels_impl.cuh"

KILN_CUDA_INSTANTIATE(Q4_1)
