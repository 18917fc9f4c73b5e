// Decode and dequantize kernels for Q3_K weights.
#include "backend/cuda/kernels_impl.cuh"

KILN_CUDA_INSTANTIATE(Q3_K)
