// Host side of the CUDA matmul: packing, validation, route dispatch, cuBLAS.
#include "backend/cuda/matmul.h"

#include <cublas_v2.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "backend/cuda/kernels.h"

namespace kiln::cuda {
namespace {

std::string type_name(GgmlType t) { return std::string(ggml_type_name(static_cast<uint32_t>(t))); }

Status cuda_status(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::ok();
  return Status::error(std::string(what) + ": " + cudaGetErrorString(e));
}

Status cublas_status(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return Status::ok();
  return Status::error(std::string(what) + ": cuBLAS status " +
                       std::to_string(static_cast<int>(s)));
}

template <typename F>
cudaError_t dispatch(GgmlType t, F&& f) {
  switch (t) {
    case GgmlType::F16:
      return f.template operator()<GgmlType::F16>();
    case GgmlType::BF16:
      return f.template operator()<GgmlType::BF16>();
    case GgmlType::Q8_0:
      return f.template operator()<GgmlType::Q8_0>();
    case GgmlType::Q4_0:
      return f.template operator()<GgmlType::Q4_0>();
    case GgmlType::Q4_1:
      return f.template operator()<GgmlType::Q4_1>();
    case GgmlType::Q5_0:
      return f.template operator()<GgmlType::Q5_0>();
    case GgmlType::Q5_1:
      return f.template operator()<GgmlType::Q5_1>();
    case GgmlType::Q2_K:
      return f.template operator()<GgmlType::Q2_K>();
    case GgmlType::Q3_K:
      return f.template operator()<GgmlType::Q3_K>();
    case GgmlType::Q4_K:
      return f.template operator()<GgmlType::Q4_K>();
    case GgmlType::Q5_K:
      return f.template operator()<GgmlType::Q5_K>();
    case GgmlType::Q6_K:
      return f.template operator()<GgmlType::Q6_K>();
    default:
      return cudaErrorInvalidValue;
  }
}

constexpr int64_t kMaxDim = int64_t{1} << 30;

std::atomic<int> g_matvec_variant{0};
std::atomic<int> g_matvec_ablation{0};

}  // namespace

void set_matvec_variant(int v) { g_matvec_variant.store(v, std::memory_order_relaxed); }
int matvec_variant() { return g_matvec_variant.load(std::memory_order_relaxed); }
void set_matvec_ablation(int bits) { g_matvec_ablation.store(bits, std::memory_order_relaxed); }
int matvec_ablation() { return g_matvec_ablation.load(std::memory_order_relaxed); }

Status pack_weights(GgmlType type, const void* src, int64_t rows, int64_t cols, void* dst) {
  const TypeLayout l = type_layout(type);
  if (l.block_elems == 0)
    return Status::error("cuda matmul: unsupported weight type " + type_name(type));
  if (rows <= 0 || cols <= 0 || cols % l.block_elems != 0) {
    return Status::error("cuda pack_weights: bad shape " + std::to_string(rows) + "x" +
                         std::to_string(cols) + " for " + type_name(type));
  }
  const int64_t nb = cols / l.block_elems;
  const auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  std::memset(dst, 0, packed_bytes(type, rows, cols));
  for (int p = 0; p < l.n_planes; ++p) {
    const PlaneSpec ps = l.planes[p];
    uint8_t* plane = d + plane_offset(type, rows, cols, p);
    for (int64_t b = 0; b < rows * nb; ++b) {
      gather_plane(ps, s + b * l.block_bytes, plane + b * ps.stride);
    }
  }
  return Status::ok();
}

Status validate(const WeightView& w, int64_t ncols) {
  const TypeLayout l = type_layout(w.type);
  if (l.block_elems == 0)
    return Status::error("cuda matmul: unsupported weight type " + type_name(w.type));
  if (w.rows <= 0 || w.cols <= 0 || w.rows > kMaxDim || w.cols > kMaxDim ||
      w.cols % l.block_elems != 0) {
    return Status::error("cuda matmul: bad weight shape " + std::to_string(w.rows) + "x" +
                         std::to_string(w.cols) + " for " + type_name(w.type));
  }
  if (ncols <= 0 || ncols > kMaxDim) {
    return Status::error("cuda matmul: bad column count " + std::to_string(ncols));
  }
  if (w.data == nullptr) return Status::error("cuda matmul: null weight pointer");
  return Status::ok();
}

Status validate_output(const void* y, ActType ytype) {
  if (ytype == ActType::Q8) return Status::error("cuda matmul: y cannot be Q8 (F32, F16 or BF16)");
  if (y == nullptr) return Status::error("cuda matmul: null output pointer");
  return Status::ok();
}

Status matvec(const WeightView& w, const void* x, ActType xtype, int64_t ncols, void* y,
              ActType ytype, cudaStream_t stream) {
  KILN_TRY(validate(w, ncols));
  KILN_TRY(validate_output(y, ytype));
  if (xtype == ActType::Q8 && (w.type == GgmlType::F16 || w.type == GgmlType::BF16))
    return Status::error("cuda matvec: Q8 activations need quantized weights, not " +
                         type_name(w.type));
  const Planes pl = make_planes(w.type, w.data, w.rows, w.cols);
  const int64_t xcol = activation_bytes(xtype, w.cols), ycol = activation_bytes(ytype, w.rows);
  for (int64_t c0 = 0; c0 < ncols; c0 += 8) {
    const int nc = static_cast<int>(std::min<int64_t>(8, ncols - c0));
    const void* xc = static_cast<const uint8_t*>(x) + c0 * xcol;
    const YOut yc{static_cast<uint8_t*>(y) + c0 * ycol, static_cast<int>(ytype)};
    const int rows = static_cast<int>(w.rows), k = static_cast<int>(w.cols);
    const int xt = static_cast<int>(xtype);
    const cudaError_t e = dispatch(w.type, [&]<GgmlType T>() {
      return launch_matvec<T>(pl, rows, k, xc, xt, nc, yc, stream);
    });
    KILN_TRY(cuda_status(e, "cuda matvec launch"));
  }
  return Status::ok();
}

Status quantize_activations(const void* x, ActType xtype, int64_t k, int64_t ncols, void* xq,
                            cudaStream_t stream) {
  if (xtype == ActType::Q8) return Status::error("cuda quantize_activations: X is already Q8");
  if (k <= 0 || k % 32 != 0 || k > kMaxDim || ncols <= 0 || ncols * k > kMaxDim)
    return Status::error("cuda quantize_activations: bad shape " + std::to_string(ncols) + "x" +
                         std::to_string(k) + " (k a multiple of 32)");
  return cuda_status(launch_quantize_x(x, static_cast<int>(xtype), static_cast<int>(k),
                                       static_cast<int>(ncols), xq, stream),
                     "cuda quantize_activations launch");
}

Status dequantize_f16(const WeightView& w, void* out_f16, cudaStream_t stream) {
  KILN_TRY(validate(w, 1));
  if (w.type == GgmlType::BF16)
    return Status::error("cuda dequantize_f16: BF16 weights unsupported");
  const Planes pl = make_planes(w.type, w.data, w.rows, w.cols);
  const int rows = static_cast<int>(w.rows), k = static_cast<int>(w.cols);
  const cudaError_t e = dispatch(
      w.type, [&]<GgmlType T>() { return launch_dequant_f16<T>(pl, rows, k, out_f16, stream); });
  return cuda_status(e, "cuda dequantize_f16 launch");
}

struct MatmulContext::Impl {
  cublasHandle_t handle = nullptr;
  void* wscratch = nullptr;  // [max_rows][max_cols] F16
  void* xscratch = nullptr;  // [max_ncols][max_cols] F16/BF16
  void* cublas_ws = nullptr;
  float* yscratch = nullptr;  // yfloats F32: the GEMM's output before it is rounded to F16/BF16
  int64_t max_rows = 0, max_cols = 0, max_ncols = 0, yfloats = 0;
  ~Impl() {
    if (handle) cublasDestroy(handle);
    cudaFree(wscratch);
    cudaFree(xscratch);
    cudaFree(cublas_ws);
    cudaFree(yscratch);
  }
};

Result<std::unique_ptr<MatmulContext>> MatmulContext::create(int64_t max_rows, int64_t max_cols,
                                                             int64_t max_ncols,
                                                             int64_t y_scratch_floats) {
  if (max_rows <= 0 || max_cols <= 0 || max_ncols <= 0 || max_rows > kMaxDim ||
      max_cols > kMaxDim || max_ncols > kMaxDim || y_scratch_floats < 0 ||
      y_scratch_floats > kMaxDim) {
    return Status::error("cuda MatmulContext: bad limits");
  }
  std::unique_ptr<MatmulContext> ctx(new MatmulContext());
  ctx->impl_ = std::make_unique<Impl>();
  Impl& im = *ctx->impl_;
  im.max_rows = max_rows;
  im.max_cols = max_cols;
  im.max_ncols = max_ncols;
  KILN_TRY(cublas_status(cublasCreate(&im.handle), "cublasCreate"));
  constexpr size_t kCublasWs = size_t{32} << 20;
  KILN_TRY(cuda_status(cudaMalloc(&im.cublas_ws, kCublasWs), "cudaMalloc cuBLAS workspace"));
  KILN_TRY(
      cublas_status(cublasSetWorkspace(im.handle, im.cublas_ws, kCublasWs), "cublasSetWorkspace"));
  KILN_TRY(cuda_status(cudaMalloc(&im.wscratch, static_cast<size_t>(max_rows * max_cols) * 2),
                       "cudaMalloc dequant scratch"));
  KILN_TRY(cuda_status(cudaMalloc(&im.xscratch, static_cast<size_t>(max_ncols * max_cols) * 2),
                       "cudaMalloc activation scratch"));
  // The F32 output of an F16/BF16 y: at least one column of max_rows, at most all of them.
  im.yfloats = std::clamp(y_scratch_floats, max_rows, max_rows * max_ncols);
  KILN_TRY(cuda_status(cudaMalloc(&im.yscratch, static_cast<size_t>(im.yfloats) * 4),
                       "cudaMalloc output scratch"));
  return ctx;
}

MatmulContext::~MatmulContext() = default;

int64_t MatmulContext::output_chunk(int64_t rows) const {
  const int64_t n = impl_->yfloats / std::max<int64_t>(rows, 1);
  return n >= 128 ? n / 64 * 64 : std::max<int64_t>(n, 1);  // whole tiles of columns where it can
}

Status MatmulContext::matmul_gemm(const WeightView& w, const void* x, ActType xtype, int64_t ncols,
                                  void* y, ActType ytype, cudaStream_t stream) {
  KILN_TRY(validate(w, ncols));
  KILN_TRY(validate_output(y, ytype));
  Impl& im = *impl_;
  if (w.rows > im.max_rows || w.cols > im.max_cols || ncols > im.max_ncols) {
    return Status::error("cuda matmul_gemm: shape exceeds the context's reserved limits");
  }
  if (xtype == ActType::Q8) return Status::error("cuda matmul_gemm: Q8 activations unsupported");
  const bool bf16 = w.type == GgmlType::BF16;
  KILN_TRY(cuda_status(
      launch_convert_x(x, static_cast<int>(xtype), im.xscratch, bf16, ncols * w.cols, stream),
      "cuda convert activations"));
  const void* a = w.data;
  if (w.type != GgmlType::F16 && !bf16) {
    KILN_TRY(dequantize_f16(w, im.wscratch, stream));
    a = im.wscratch;
  }
  KILN_TRY(cublas_status(cublasSetStream(im.handle, stream), "cublasSetStream"));
  const cudaDataType_t ab = bf16 ? CUDA_R_16BF : CUDA_R_16F;
  const float alpha = 1.f, beta = 0.f;
  // Column-major view: Y^T[rows x n] = (W as K x rows)^T * (X as K x n), for
  // n columns from column c0 into out (F32).
  const auto gemm = [&](int64_t c0, int64_t n, void* out) {
    const auto* xc = static_cast<const uint8_t*>(im.xscratch) + c0 * w.cols * 2;
    return cublas_status(
        cublasGemmEx(im.handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(w.rows),
                     static_cast<int>(n), static_cast<int>(w.cols), &alpha, a, ab,
                     static_cast<int>(w.cols), xc, ab, static_cast<int>(w.cols), &beta, out,
                     CUDA_R_32F, static_cast<int>(w.rows), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
  };
  if (ytype == ActType::F32) return gemm(0, ncols, y);
  // F16/BF16 y: F32 through the scratch, rounded into y. cuBLAS's own F16
  // output (C = F16, F32 compute) was measured more than an ulp off the
  // rounded F32 result in ~10% of the elements (s11, 300x768, 16 columns).
  const int64_t chunk = output_chunk(w.rows), ycol = activation_bytes(ytype, w.rows);
  for (int64_t c0 = 0; c0 < ncols; c0 += chunk) {
    const int64_t n = std::min(chunk, ncols - c0);
    KILN_TRY(gemm(c0, n, im.yscratch));
    KILN_TRY(cuda_status(launch_convert_x(im.yscratch, 0, static_cast<uint8_t*>(y) + c0 * ycol,
                                          ytype == ActType::BF16, n * w.rows, stream),
                         "cuda convert output"));
  }
  return Status::ok();
}

// Measured crossover (docs/perf.md, v2, 11008x4096): quantized decode at 8 columns
// ties the GEMM route; F16/BF16 GEMM beats decode from 4 columns.
int64_t MatmulContext::decode_max_cols(GgmlType t) {
  return t == GgmlType::F16 || t == GgmlType::BF16 ? 2 : 8;
}

Status MatmulContext::matmul(const WeightView& w, const void* x, ActType xtype, int64_t ncols,
                             void* y, ActType ytype, cudaStream_t stream) {
  // Q8 activations have only the decode route (it reads W once per 8 columns).
  if (ncols <= decode_max_cols(w.type) || xtype == ActType::Q8)
    return matvec(w, x, xtype, ncols, y, ytype, stream);
  return matmul_gemm(w, x, xtype, ncols, y, ytype, stream);
}

}  // namespace kiln::cuda
