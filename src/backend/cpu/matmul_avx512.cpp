// AVX-512 (VL/BW) + VNNI dot kernels: the AVX2 kernels with dpbusd/dpwssd
// (compiled with those flags: isa.cmake).
#if defined(__x86_64__)
#define KILN_X86_NS avx512
#define KILN_VNNI 1
#include "backend/cpu/matmul_x86.inc"

namespace kiln::cpu {
DotFn avx512_dot(GgmlType wtype) { return avx512::dot_kernel(wtype); }
RowsDotFn avx512_rows_dot(GgmlType wtype) { return avx512::rows_dot_kernel(wtype); }
}  // namespace kiln::cpu
#else
#include "backend/cpu/matmul_kernels.h"
namespace kiln::cpu {
DotFn avx512_dot(GgmlType) { return nullptr; }
RowsDotFn avx512_rows_dot(GgmlType) { return nullptr; }
}  // namespace kiln::cpu
#endif
