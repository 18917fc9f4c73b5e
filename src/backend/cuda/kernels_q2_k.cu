// Decode and dequantize kernels for Q2_K weights.
#include "backend/cuda/kernels_impl.cuh"

KILN_CUDA_INSTANTIATE(Q2_K)
