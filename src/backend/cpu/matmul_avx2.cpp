// AVX2 + FMA + F16C dot kernels (compiled with those flags: isa.cmake).
#if defined(__x86_64__)
#define KILN_X86_NS avx2
#define KILN_VNNI 0
#include "backend/cpu/matmul_x86.inc"

namespace kiln::cpu {
DotFn avx2_dot(GgmlType wtype) { return avx2::dot_kernel(wtype); }
RowsDotFn avx2_rows_dot(GgmlType wtype) { return avx2::rows_dot_kernel(wtype); }
}  // namespace kiln::cpu
#else
#include "backend/cpu/matmul_kernels.h"
namespace kiln::cpu {
DotFn avx2_dot(GgmlType) { return nullptr; }
RowsDotFn avx2_rows_dot(GgmlType) { return nullptr; }
}  // namespace kiln::cpu
#endif
