// Decode and dequantize kernels for Q6_K weights.
#include "backend/cuda/kernels_impl.cuh"

KILN_CUDA_INSTANTIATE(Q6_K)
