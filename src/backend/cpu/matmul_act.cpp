// Activation conversion for the CPU matmul (matmul_kernels.h).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/matmul_kernels.h"
#include "core/check.h"
#include "quant/blocks.h"
#include "quant/fp16.h"

namespace kiln::cpu {

using namespace kiln::quant;

GgmlType activation_type(GgmlType wtype) {
  switch (wtype) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
      return wtype;
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q8_0:
    case GgmlType::IQ4_NL:
      return GgmlType::Q8_0;
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
      return GgmlType::Q8_1;
    default:
      return GgmlType::Q8_K;  // Q2_K..Q6_K, IQ4_XS
  }
}

size_t act_row_bytes(GgmlType act_type, int64_t n) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(act_type));
  KILN_CHECK(traits.has_value() && n % traits->block_size == 0);
  const size_t nb = static_cast<size_t>(n / traits->block_size);
  const bool q8 = act_type == GgmlType::Q8_0 || act_type == GgmlType::Q8_1;
  return nb * traits->type_size + (q8 ? nb * sizeof(Q8Extras) : 0);
}

namespace {
// ggml's x86 Q8_0/Q8_1 activation quantizer: d = amax/127, quants rounded
// half to even (_mm256_round_ps nearest). Returns the sum of the quants.
int quantize_q8_block(const float* x, float* d_out, int8_t* qs) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  *d_out = amax / 127.f;
  const float id = amax != 0.0f ? 127.f / amax : 0.0f;
  int sum = 0;
  for (int j = 0; j < kQK; ++j) {
    qs[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
    sum += qs[j];
  }
  return sum;
}

void quantize_q8_k(const float* x, BlockQ8_K* y) {
  float max = 0, amax = 0;
  for (int j = 0; j < kQK_K; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  if (amax == 0.0f) {
    std::memset(y, 0, sizeof(*y));
    return;
  }
  const float iscale = -127.f / max;
  for (int j = 0; j < kQK_K; ++j) {
    y->qs[j] = static_cast<int8_t>(std::min(127, static_cast<int>(std::nearbyint(iscale * x[j]))));
  }
  for (int g = 0; g < kQK_K / 16; ++g) {
    int sum = 0;
    for (int l = 0; l < 16; ++l) sum += y->qs[16 * g + l];
    y->bsums[g] = static_cast<int16_t>(sum);
  }
  y->d = 1 / iscale;
}
}  // namespace

void quantize_activations(GgmlType act_type, const float* x, void* dst, int64_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  switch (act_type) {
    case GgmlType::F32:
      std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16:
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = act_type == GgmlType::F16 ? f32_to_fp16(x[i]) : f32_to_bf16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return;
    case GgmlType::Q8_0:
    case GgmlType::Q8_1: {
      const bool q8_1 = act_type == GgmlType::Q8_1;
      const int64_t nb = n / kQK;
      const size_t blk_bytes = q8_1 ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);
      uint8_t* extras = out + nb * blk_bytes;
      for (int64_t b = 0; b < nb; ++b) {
        BlockQ8_1 blk;  // Q8_0 is its prefix without s
        float d;
        const int sum = quantize_q8_block(x + b * kQK, &d, blk.qs);
        blk.d = f32_to_fp16(d);
        blk.s = f32_to_fp16(d * static_cast<float>(sum));
        uint8_t* dst_blk = out + b * blk_bytes;
        std::memcpy(dst_blk, &blk.d, 2);
        if (q8_1) std::memcpy(dst_blk + 2, &blk.s, 2);
        std::memcpy(dst_blk + (q8_1 ? 4 : 2), blk.qs, kQK);
        const Q8Extras e{fp16_to_f32(blk.d), sum};
        std::memcpy(extras + b * sizeof(Q8Extras), &e, sizeof(e));
      }
      return;
    }
    case GgmlType::Q8_K:
      for (int64_t b = 0; b < n / kQK_K; ++b) {
        BlockQ8_K blk;
        quantize_q8_k(x + b * kQK_K, &blk);
        std::memcpy(out + b * sizeof(blk), &blk, sizeof(blk));
      }
      return;
    default:
      KILN_CHECK_MSG(false, "quantize_activations: not an activation type");
  }
}

}  // namespace kiln::cpu
