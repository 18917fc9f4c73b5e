// Decode and dequantize kernels for Q5_K weights.
#include "backend/cuda/kernels_impl.cuh"

KILN_CUDA_INSTANTIATE(Q5_K)
