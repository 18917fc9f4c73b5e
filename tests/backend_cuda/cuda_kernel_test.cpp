// CUDA matmul kernels against the CPU reference (quant::dequantize_row + float64
// dot products) on random weights: every type, both routes, odd shapes (row
// counts not a multiple of the block's rows, K-tiling, partial tiles), F16 and
// BF16 activations, and the validation errors. Needs a GPU (label gpu).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/kernels.h"
#include "backend/cuda/matmul.h"
#include "quant/fp16.h"
#include "ref.h"

namespace kiln::cuda {
namespace {

bool have_gpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

template <typename T>
struct DevBuf {
  T* p = nullptr;
  explicit DevBuf(size_t n) { EXPECT_EQ(cudaMalloc(&p, n * sizeof(T)), cudaSuccess); }
  ~DevBuf() { cudaFree(p); }
};

struct Case {
  int64_t rows, k;
};

// y (rows x ncols, from W = wf and x) against the float64 reference on the
// activations rounded to int8 as the kernels round them (every row checked).
kref::Check compare_int8(const std::vector<float>& wf, int64_t rows, int64_t k,
                         const std::vector<float>& x, int64_t ncols, const std::vector<float>& y) {
  std::vector<int64_t> all_rows(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) all_rows[static_cast<size_t>(r)] = r;
  const auto ref8 = kref::reference(wf, k, kref::q8_activations(x), ncols, all_rows);
  return kref::compare(y, rows, ncols, ref8, all_rows);
}

class CudaMatmulTest : public ::testing::TestWithParam<GgmlType> {
 protected:
  void SetUp() override {
    if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  }

  // Runs one route on random data and checks against the reference; with
  // repeat, runs it again and expects bit-identical output (fixed-order sums).
  void check(int64_t rows, int64_t k, int64_t ncols, bool gemm, ActType xtype = ActType::F32,
             bool repeat = false, float xscale = 1.f) {
    const GgmlType t = GetParam();
    SCOPED_TRACE(std::string(ggml_type_name(static_cast<uint32_t>(t))) + " " +
                 std::to_string(rows) + "x" + std::to_string(k) + " ncols " +
                 std::to_string(ncols) + (gemm ? " gemm" : " decode") + " xtype " +
                 std::to_string(static_cast<int>(xtype)));
    const uint64_t seed =
        static_cast<uint64_t>(rows * 7919 + k * 31 + ncols) + static_cast<uint64_t>(t);
    const auto host = kref::random_weights(t, rows, k, seed);
    const auto wf = kref::dequantize_matrix(t, host, rows, k);
    std::vector<uint8_t> packed(packed_bytes(t, rows, k));
    ASSERT_TRUE(pack_weights(t, host.data(), rows, k, packed.data()).is_ok());
    auto x = kref::random_activations(ncols * k, seed + 1);
    for (float& v : x) v *= xscale;
    std::vector<uint16_t> x16(x.size());
    if (xtype != ActType::F32) {  // the reference sees the rounded activations
      for (size_t i = 0; i < x.size(); ++i) {
        x16[i] = xtype == ActType::F16 ? quant::f32_to_fp16(x[i]) : quant::f32_to_bf16(x[i]);
        x[i] = xtype == ActType::F16 ? quant::fp16_to_f32(x16[i]) : quant::bf16_to_f32(x16[i]);
      }
    }
    DevBuf<uint8_t> wd(packed.size());
    DevBuf<float> xd(x.size()), yd(static_cast<size_t>(ncols * rows));
    ASSERT_EQ(cudaMemcpy(wd.p, packed.data(), packed.size(), cudaMemcpyHostToDevice), cudaSuccess);
    if (xtype == ActType::F32) {
      ASSERT_EQ(cudaMemcpy(xd.p, x.data(), x.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
    } else {
      ASSERT_EQ(cudaMemcpy(xd.p, x16.data(), x16.size() * 2, cudaMemcpyHostToDevice), cudaSuccess);
    }
    ASSERT_EQ(cudaMemset(yd.p, 0xFF, static_cast<size_t>(ncols * rows) * 4), cudaSuccess);  // NaN
    const WeightView w{t, rows, k, wd.p};
    if (gemm) {
      auto ctx = MatmulContext::create(rows, k, ncols);
      ASSERT_TRUE(ctx.is_ok()) << ctx.status().message();
      const Status s = ctx.value()->matmul_gemm(w, xd.p, xtype, ncols, yd.p, nullptr);
      ASSERT_TRUE(s.is_ok()) << s.message();
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    } else {
      const Status s = matvec(w, xd.p, xtype, ncols, yd.p, nullptr);
      ASSERT_TRUE(s.is_ok()) << s.message();
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    }
    std::vector<float> y(static_cast<size_t>(ncols * rows));
    ASSERT_EQ(cudaMemcpy(y.data(), yd.p, y.size() * 4, cudaMemcpyDeviceToHost), cudaSuccess);
    if (repeat && !gemm) {
      ASSERT_EQ(cudaMemset(yd.p, 0xFF, y.size() * 4), cudaSuccess);
      ASSERT_TRUE(matvec(w, xd.p, xtype, ncols, yd.p, nullptr).is_ok());
      std::vector<float> y2(y.size());
      ASSERT_EQ(cudaMemcpy(y2.data(), yd.p, y2.size() * 4, cudaMemcpyDeviceToHost), cudaSuccess);
      EXPECT_EQ(std::memcmp(y.data(), y2.data(), y.size() * 4), 0) << "not reproducible";
    }
    std::vector<int64_t> all_rows(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) all_rows[static_cast<size_t>(r)] = r;
    const auto ref = kref::reference(wf, k, x, ncols, all_rows);
    const auto chk = kref::compare(y, rows, ncols, ref, all_rows);
    EXPECT_TRUE(chk.all_finite) << "unwritten or non-finite output";
    EXPECT_LE(chk.rel_err, kref::input_tolerance(t, gemm));
    if (kref::int8_activations(t, gemm)) {  // the integer math, tightly: same int8 x as the route
      EXPECT_LE(compare_int8(wf, rows, k, x, ncols, y).rel_err, kref::tolerance(t, gemm));
    }
  }

  // Activations quantized beforehand (ActType::Q8, quantize_activations).
  // With a kernel forced (set_matvec_variant != 0) the quantized types must
  // give the very bits of the F32 activations they came from (the same
  // rounding, then the same kernel). The automatic choice may pick another
  // kernel for Q8 x (choice.h), so there the result is held to the int8
  // reference like check()'s. F16/BF16 weights must refuse Q8 x.
  void check_q8_same_as_f32(int64_t rows, int64_t k, int64_t ncols) {
    const GgmlType t = GetParam();
    SCOPED_TRACE(std::string(ggml_type_name(static_cast<uint32_t>(t))) + " " +
                 std::to_string(rows) + "x" + std::to_string(k) + " ncols " +
                 std::to_string(ncols) + " q8 x");
    const uint64_t seed = static_cast<uint64_t>(rows * 131 + k * 7 + ncols);
    const auto host = kref::random_weights(t, rows, k, seed);
    std::vector<uint8_t> packed(packed_bytes(t, rows, k));
    ASSERT_TRUE(pack_weights(t, host.data(), rows, k, packed.data()).is_ok());
    const auto x = kref::random_activations(ncols * k, seed + 1);
    DevBuf<uint8_t> wd(packed.size()), xq(static_cast<size_t>(ncols * (k / 32) * 48));
    DevBuf<float> xd(x.size()), yd(static_cast<size_t>(ncols * rows));
    ASSERT_EQ(cudaMemcpy(wd.p, packed.data(), packed.size(), cudaMemcpyHostToDevice), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(xd.p, x.data(), x.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
    ASSERT_TRUE(quantize_activations(xd.p, ActType::F32, k, ncols, xq.p, nullptr).is_ok());
    const WeightView w{t, rows, k, wd.p};
    const auto run = [&](const void* xin, ActType xt) {
      std::vector<float> y(static_cast<size_t>(ncols * rows));
      EXPECT_EQ(cudaMemset(yd.p, 0xFF, y.size() * 4), cudaSuccess);
      const Status st = matvec(w, xin, xt, ncols, yd.p, nullptr);
      EXPECT_TRUE(st.is_ok()) << st.message();
      EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      EXPECT_EQ(cudaMemcpy(y.data(), yd.p, y.size() * 4, cudaMemcpyDeviceToHost), cudaSuccess);
      return y;
    };
    if (!kref::int8_activations(t, false)) {
      EXPECT_FALSE(matvec(w, xq.p, ActType::Q8, ncols, yd.p, nullptr).is_ok());
      return;
    }
    const auto y8 = run(xq.p, ActType::Q8);
    if (matvec_variant() != 0) {
      const auto y32 = run(xd.p, ActType::F32);
      EXPECT_EQ(std::memcmp(y32.data(), y8.data(), y32.size() * 4), 0)
          << "Q8 activations changed the result";
    } else {
      const auto chk =
          compare_int8(kref::dequantize_matrix(t, host, rows, k), rows, k, x, ncols, y8);
      EXPECT_TRUE(chk.all_finite) << "unwritten or non-finite output";
      EXPECT_LE(chk.rel_err, kref::tolerance(t, false));
    }
    if (ncols <= MatmulContext::decode_max_cols(t)) return;
    // Beyond the decode columns MatmulContext::matmul keeps Q8 x on the decode route.
    auto ctx = MatmulContext::create(rows, k, ncols);
    ASSERT_TRUE(ctx.is_ok()) << ctx.status().message();
    std::vector<float> yc(y8.size());
    ASSERT_EQ(cudaMemset(yd.p, 0xFF, yc.size() * 4), cudaSuccess);
    const Status st = ctx.value()->matmul(w, xq.p, ActType::Q8, ncols, yd.p, nullptr);
    ASSERT_TRUE(st.is_ok()) << st.message();
    ASSERT_EQ(cudaMemcpy(yc.data(), yd.p, yc.size() * 4, cudaMemcpyDeviceToHost), cudaSuccess);
    EXPECT_EQ(std::memcmp(y8.data(), yc.data(), yc.size() * 4), 0)
        << "MatmulContext::matmul with Q8 x differs from matvec";
  }

  // y as F16 and BF16 against the F32 y of the same call. Decode (matvec,
  // kernel choice v as set_matvec_variant): each kernel sums in F32 and
  // rounds once as it stores, so the half y must be the F32 y rounded to
  // nearest even, bit for bit. GEMM (matmul_gemm, a context whose output
  // scratch holds 16 columns): F32 into the scratch, then rounded, so up to
  // 16 columns (the F32 y's own cuBLAS call) bit for bit too, and 40 columns
  // (three calls, whose F32 sums may differ from one call's in the last
  // bits) within half an ulp.
  void check_output_types(int64_t rows, int64_t k, int64_t ncols, bool gemm, int v = 0) {
    const GgmlType t = GetParam();
    SCOPED_TRACE(std::string(ggml_type_name(static_cast<uint32_t>(t))) + " " +
                 std::to_string(rows) + "x" + std::to_string(k) + " ncols " +
                 std::to_string(ncols) + (gemm ? " gemm" : " decode variant " + std::to_string(v)));
    const uint64_t seed = static_cast<uint64_t>(rows * 17 + k * 3 + ncols);
    const auto host = kref::random_weights(t, rows, k, seed);
    std::vector<uint8_t> packed(packed_bytes(t, rows, k));
    ASSERT_TRUE(pack_weights(t, host.data(), rows, k, packed.data()).is_ok());
    const auto x = kref::random_activations(ncols * k, seed + 1);
    const size_t n = static_cast<size_t>(ncols * rows);
    DevBuf<uint8_t> wd(packed.size());
    DevBuf<float> xd(x.size()), yd(n);
    ASSERT_EQ(cudaMemcpy(wd.p, packed.data(), packed.size(), cudaMemcpyHostToDevice), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(xd.p, x.data(), x.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
    const WeightView w{t, rows, k, wd.p};
    std::unique_ptr<MatmulContext> ctx;
    if (gemm) {
      auto c = MatmulContext::create(rows, k, ncols, 16 * rows);
      ASSERT_TRUE(c.is_ok()) << c.status().message();
      ctx = std::move(c).value();
    }
    set_matvec_variant(v);
    const auto run = [&](void* out, ActType yt) {
      const Status st = gemm ? ctx->matmul_gemm(w, xd.p, ActType::F32, ncols, out, yt, nullptr)
                             : matvec(w, xd.p, ActType::F32, ncols, out, yt, nullptr);
      EXPECT_TRUE(st.is_ok()) << st.message();
      EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    };
    std::vector<float> y32(n);
    ASSERT_EQ(cudaMemset(yd.p, 0xFF, n * 4), cudaSuccess);
    run(yd.p, ActType::F32);
    ASSERT_EQ(cudaMemcpy(y32.data(), yd.p, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
    double amax = 0;
    for (float v32 : y32) amax = std::max(amax, std::fabs(static_cast<double>(v32)));
    for (const ActType yt : {ActType::F16, ActType::BF16}) {
      const bool bf = yt == ActType::BF16;
      SCOPED_TRACE(bf ? "y bf16" : "y f16");
      std::vector<uint16_t> yh(n);
      ASSERT_EQ(cudaMemset(yd.p, 0xFF, n * 2), cudaSuccess);
      run(yd.p, yt);
      ASSERT_EQ(cudaMemcpy(yh.data(), yd.p, n * 2, cudaMemcpyDeviceToHost), cudaSuccess);
      const bool exact = !gemm || ncols <= ctx->output_chunk(rows);
      const double ulp = (bf ? 0x1p-8 : 0x1p-11) * 1.01;  // half an ulp, relative, 1% slack
      int bad = 0;
      for (size_t i = 0; i < n; ++i) {
        if (exact) {
          bad += yh[i] != (bf ? quant::f32_to_bf16(y32[i]) : quant::f32_to_fp16(y32[i]));
          continue;
        }
        const double got = bf ? quant::bf16_to_f32(yh[i]) : quant::fp16_to_f32(yh[i]);
        bad += !(std::fabs(got - y32[i]) <= ulp * std::fabs(y32[i]) + 1e-5 * amax);
      }
      EXPECT_EQ(bad, 0) << "outputs not the F32 outputs rounded";
    }
    set_matvec_variant(0);
  }

  std::vector<Case> cases() const {
    // {40, 11264}: K beyond one shared-memory tile of the decode kernel at 8 columns.
    std::vector<Case> c = {{77, 256}, {300, 768}, {1000, 2048}, {40, 11264}};
    if (type_layout(GetParam()).block_elems == 32) c.push_back({33, 96});
    return c;
  }
};

TEST_P(CudaMatmulTest, DecodeMatchesReference) {
  for (const Case& c : cases()) {
    for (int64_t n : {1, 2, 3, 5, 8, 11}) check(c.rows, c.k, n, false);
  }
}

// Every one-column decode kernel choice (kernels.h), also at two columns, not only the automatic
// one: odd row counts (partial stages), K of one to many units per lane,
// misaligned plane ranges (rows * row bytes not a multiple of 16), odd
// row counts per block and more stages than ring buffers.
TEST_P(CudaMatmulTest, DecodeVariantsMatchReference) {
  std::vector<Case> c = {{77, 256}, {300, 768}, {1000, 2048}, {40, 11264}, {4133, 512}};
  if (type_layout(GetParam()).block_elems == 32) c.push_back({33, 96});
  for (int v = 1; v < kNumMatvecVariants; ++v) {
    SCOPED_TRACE("variant " + std::to_string(v));
    set_matvec_variant(v);
    for (const Case& cs : c) check(cs.rows, cs.k, 1, false, ActType::F32, true);
    check(300, 768, 1, false, ActType::BF16);
    // Two columns take the same configuration (v51) where the type has a staged kernel.
    check(300, 768, 2, false, ActType::F32, true);
    check(40, 11264, 2, false, ActType::F32, true);
  }
  set_matvec_variant(0);
}

// Activations far outside F16's range, and tiny ones: the F16 tensor-core
// decode (matvec_mma.cuh) rescales x by a power of two before splitting it.
TEST_P(CudaMatmulTest, DecodeExtremeActivations) {
  for (int v : {0, kFirstStagedVariant + 2}) {
    SCOPED_TRACE("variant " + std::to_string(v));
    set_matvec_variant(v);
    for (float scale : {3e6f, 1e-7f}) check(1000, 2048, 1, false, ActType::F32, false, scale);
  }
  set_matvec_variant(0);
}

// From mmq_min_cols_f32 columns the tensor-core kernel (matvec_mmq.cuh) runs where
// the type has one; variant 1 keeps the register kernel, which must stay
// correct too.
TEST_P(CudaMatmulTest, DecodeRegisterKernelMultiColumn) {
  set_matvec_variant(1);
  for (const Case& c : cases()) {
    for (int64_t n : {3, 7}) check(c.rows, c.k, n, false);
  }
  set_matvec_variant(0);
}

TEST_P(CudaMatmulTest, DecodeWithHalfActivations) {
  check(300, 768, 3, false, ActType::F16);
  check(300, 768, 2, false, ActType::BF16);
}

// Pre-quantized activations on every decode kernel: the automatic choice at
// 1-8 columns, the register (variant 1) and tensor-core (variant 2) kernels
// at 3-11 columns, and every one-column variant, K beyond one
// register-kernel tile included.
TEST_P(CudaMatmulTest, DecodeQ8ActivationsMatchF32) {
  for (int v : {0, 1, 2}) {
    SCOPED_TRACE("variant " + std::to_string(v));
    set_matvec_variant(v);
    for (const Case& c : cases()) {
      for (int64_t n : {3, 5, 8, 11}) check_q8_same_as_f32(c.rows, c.k, n);
    }
  }
  set_matvec_variant(0);
  for (const Case& c : cases()) {
    for (int64_t n : {1, 2}) check_q8_same_as_f32(c.rows, c.k, n);
  }
  check_q8_same_as_f32(300, 768, 17);  // MatmulContext::matmul past decode_max_cols
  for (int v = 1; v < kNumMatvecVariants; ++v) {
    SCOPED_TRACE("variant " + std::to_string(v));
    set_matvec_variant(v);
    check_q8_same_as_f32(300, 768, 1);
    check_q8_same_as_f32(40, 11264, 1);
    check_q8_same_as_f32(1000, 2048, 2);
  }
  set_matvec_variant(0);
}

// y as F16/BF16 on every decode kernel (the automatic choice at 1, 2, 3
// and 8 columns; the register, tensor-core and staged kernels forced) and on
// the GEMM route (cuBLAS writing the half type itself, and F32 in chunks
// rounded into y).
TEST_P(CudaMatmulTest, HalfOutputsAreRoundedF32Outputs) {
  for (const Case& c : {Case{300, 768}, Case{1000, 2048}, Case{40, 11264}}) {
    for (int64_t n : {1, 2, 3, 8}) check_output_types(c.rows, c.k, n, false);
    check_output_types(c.rows, c.k, 1, false, 1);
    check_output_types(c.rows, c.k, 5, false, 1);
    check_output_types(c.rows, c.k, 5, false, 2);
    check_output_types(c.rows, c.k, 1, false, kFirstStagedVariant);
    check_output_types(c.rows, c.k, 2, false, kFirstStagedVariant);
  }
  for (int64_t n : {16, 40}) check_output_types(300, 768, n, true);
}

TEST_P(CudaMatmulTest, GemmMatchesReference) {
  for (const Case& c : cases()) {
    for (int64_t n : {16, 40}) check(c.rows, c.k, n, true);
  }
}

std::string name_of(const ::testing::TestParamInfo<GgmlType>& info) {
  return std::string(ggml_type_name(static_cast<uint32_t>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, CudaMatmulTest,
                         ::testing::Values(GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0,
                                           GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                                           GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K,
                                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K),
                         name_of);

TEST(CudaMatmulValidation, RejectsBadInput) {
  EXPECT_FALSE(matmul_supports(GgmlType::IQ2_XXS));
  uint8_t dummy[64] = {};
  EXPECT_FALSE(pack_weights(GgmlType::IQ2_XXS, dummy, 1, 256, dummy).is_ok());
  EXPECT_FALSE(pack_weights(GgmlType::Q4_K, dummy, 1, 100, dummy).is_ok());
  EXPECT_FALSE(validate(WeightView{GgmlType::Q4_0, 4, 48, dummy}, 1).is_ok());    // K % 32
  EXPECT_FALSE(validate(WeightView{GgmlType::Q4_0, 4, 64, dummy}, 0).is_ok());    // ncols
  EXPECT_FALSE(validate(WeightView{GgmlType::Q4_0, 4, 64, nullptr}, 1).is_ok());  // data
  EXPECT_TRUE(validate(WeightView{GgmlType::Q4_0, 4, 64, dummy}, 1).is_ok());
  // Q8 activations: only the decode route, K a multiple of 32, not quantized twice.
  EXPECT_FALSE(quantize_activations(dummy, ActType::F32, 48, 1, dummy, nullptr).is_ok());
  EXPECT_FALSE(quantize_activations(dummy, ActType::F32, 64, 0, dummy, nullptr).is_ok());
  EXPECT_FALSE(quantize_activations(dummy, ActType::Q8, 64, 1, dummy, nullptr).is_ok());
  // Outputs: F32, F16 or BF16, never Q8 or null, refused by name before any CUDA call.
  const WeightView w{GgmlType::Q4_0, 4, 256, dummy};
  const auto refused = [](const Status& st, const std::string& why) {
    EXPECT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find(why), std::string::npos) << st.message();
  };
  refused(matvec(w, dummy, ActType::F32, 1, dummy, ActType::Q8, nullptr), "y cannot be Q8");
  refused(matvec(w, dummy, ActType::F32, 1, nullptr, ActType::F16, nullptr), "null output");
  refused(MatmulContext::create(64, 256, 16, -1).status(), "bad limits");
  if (!have_gpu()) return;
  auto ctx = MatmulContext::create(64, 256, 16);
  ASSERT_TRUE(ctx.is_ok());
  EXPECT_FALSE(ctx.value()
                   ->matmul_gemm(WeightView{GgmlType::Q4_0, 4, 256, dummy}, dummy, ActType::Q8, 16,
                                 reinterpret_cast<float*>(dummy), nullptr)
                   .is_ok());
  refused(ctx.value()->matmul_gemm(w, dummy, ActType::F32, 16, dummy, ActType::Q8, nullptr),
          "y cannot be Q8");
  refused(ctx.value()->matmul(w, dummy, ActType::F32, 16, nullptr, ActType::BF16, nullptr),
          "null output");
}

// The XBlocks of quantize_activations against the reference rounding
// (kref::q8_activations, what the decode kernels' own fill computes): q * d
// bit for bit, and the half sums s0, s1 = d * sum q.
TEST(CudaQuantizeActivations, MatchesReferenceRounding) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  constexpr int64_t k = 4096 + 96, ncols = 3;
  auto x = kref::random_activations(ncols * k, 99);
  for (size_t i = 0; i < 64; ++i) x[i] = 0.f;  // an all-zero block: d = 0
  x[100] *= 1e6f;                              // one large outlier in a block
  const auto ref = kref::q8_activations(x);
  DevBuf<float> xd(x.size());
  DevBuf<uint8_t> xq(static_cast<size_t>(ncols * (k / 32) * 48));
  ASSERT_EQ(cudaMemcpy(xd.p, x.data(), x.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_TRUE(quantize_activations(xd.p, ActType::F32, k, ncols, xq.p, nullptr).is_ok());
  std::vector<uint8_t> h(static_cast<size_t>(ncols * (k / 32) * 48));
  ASSERT_EQ(cudaMemcpy(h.data(), xq.p, h.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  int bad = 0;
  for (size_t b = 0; b < x.size() / 32; ++b) {
    const uint8_t* blk = h.data() + b * 48;
    float d, s0, s1, d16;
    std::memcpy(&d, blk + 32, 4);
    std::memcpy(&s0, blk + 36, 4);
    std::memcpy(&s1, blk + 40, 4);
    std::memcpy(&d16, blk + 44, 4);
    int sum[2] = {0, 0};
    for (int e = 0; e < 32; ++e) {
      const auto q = static_cast<int8_t>(blk[e]);
      sum[e / 16] += q;
      bad += d * static_cast<float>(q) != ref[b * 32 + static_cast<size_t>(e)];
    }
    bad += s0 != d * static_cast<float>(sum[0]) || s1 != d * static_cast<float>(sum[1]);
    bad += d16 != d * 0.0625f;
  }
  EXPECT_EQ(bad, 0);
}

}  // namespace
}  // namespace kiln::cuda
