// Activations rounded to int8 XBlocks once, for the decode kernels' kXTypeQ8
// input (kernels.h launch_quantize_x): the same rounding code as the kernels'
// own fill (matvec_int.cuh quantize_x4), so either input gives the same bits.
#include <algorithm>

#include "backend/cuda/launch.cuh"
#include "backend/cuda/matvec_int.cuh"

namespace kiln::cuda {
namespace {

inline constexpr int kQuantizeThreads = 256;

// Thread i rounds elements [4 (i % n4), + 4) of column i / n4; 8 consecutive
// lanes share one XBlock. Plain XBlocks: the 32-element unit of Q8_0.
__global__ void __launch_bounds__(kQuantizeThreads)
    quantize_x_kernel(const void* __restrict__ x, int xtype, int K, int nc, uint8_t* xq) {
  asm volatile("griddepcontrol.launch_dependents;");
  asm volatile("griddepcontrol.wait;" ::: "memory");
  const int n4 = K / 4, total = nc * n4;
  const int i = static_cast<int>(blockIdx.x) * kQuantizeThreads + static_cast<int>(threadIdx.x);
  float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
  if (i < total) v = load_x4(x, xtype, static_cast<int64_t>(i / n4) * K + (i % n4) * 4);
  quantize_x4<GgmlType::Q8_0, 2>(v, i, total, n4, xq, K / 32 * kXBlockBytes);
}

}  // namespace

cudaError_t launch_quantize_x(const void* x, int xtype, int K, int nc, void* xq,
                              cudaStream_t stream) {
  if (K <= 0 || K % 32 != 0 || nc <= 0 || xtype < 0 || xtype > 2) return cudaErrorInvalidValue;
  const int64_t total = static_cast<int64_t>(nc) * (K / 4);
  if (total > (int64_t{1} << 30)) return cudaErrorInvalidValue;
  const auto blocks = static_cast<unsigned>((total + kQuantizeThreads - 1) / kQuantizeThreads);
  return launch_pdl(quantize_x_kernel, blocks, kQuantizeThreads, 0, stream, x, xtype, K, nc,
                    static_cast<uint8_t*>(xq));
}

}  // namespace kiln::cuda
