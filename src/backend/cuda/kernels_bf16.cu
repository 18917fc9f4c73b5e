// Decode and dequantize kernels for BF16 weights.
#include "backend/cuda/kernels_impl.cuh"

KILN_CUDA_INSTANTIATE(BF16)
