// Decode and dequantize kernels for F16 weights.
#include "backend/cuda/kernels_impl.cuh"

KILN_CUDA_INSTANTIATE(F16)
