// Dispatch of quant.h over the per-type row kernels.
#include "quant/quant.h"

#include "core/check.h"
#include "quant/fp16.h"
#include "quant/quant_internal.h"

namespace kiln::quant {

namespace {
using DequantFn = void (*)(const void*, float*, int64_t);
using QuantFn = void (*)(const float*, void*, int64_t);

DequantFn dequant_fn(GgmlType type) {
  using namespace detail;
  switch (type) {
    case GgmlType::Q4_0:
      return dequantize_row_q4_0;
    case GgmlType::Q4_1:
      return dequantize_row_q4_1;
    case GgmlType::Q5_0:
      return dequantize_row_q5_0;
    case GgmlType::Q5_1:
      return dequantize_row_q5_1;
    case GgmlType::Q8_0:
      return dequantize_row_q8_0;
    case GgmlType::Q2_K:
      return dequantize_row_q2_k;
    case GgmlType::Q3_K:
      return dequantize_row_q3_k;
    case GgmlType::Q4_K:
      return dequantize_row_q4_k;
    case GgmlType::Q5_K:
      return dequantize_row_q5_k;
    case GgmlType::Q6_K:
      return dequantize_row_q6_k;
    case GgmlType::IQ4_NL:
      return dequantize_row_iq4_nl;
    case GgmlType::IQ4_XS:
      return dequantize_row_iq4_xs;
    default:
      return nullptr;
  }
}

QuantFn quant_fn(GgmlType type) {
  using namespace detail;
  switch (type) {
    case GgmlType::Q4_0:
      return quantize_row_q4_0;
    case GgmlType::Q4_1:
      return quantize_row_q4_1;
    case GgmlType::Q5_0:
      return quantize_row_q5_0;
    case GgmlType::Q5_1:
      return quantize_row_q5_1;
    case GgmlType::Q8_0:
      return quantize_row_q8_0;
    case GgmlType::Q2_K:
      return quantize_row_q2_k;
    case GgmlType::Q3_K:
      return quantize_row_q3_k;
    case GgmlType::Q4_K:
      return quantize_row_q4_k;
    case GgmlType::Q5_K:
      return quantize_row_q5_k;
    case GgmlType::Q6_K:
      return quantize_row_q6_k;
    case GgmlType::IQ4_NL:
      return quantize_row_iq4_nl;
    case GgmlType::IQ4_XS:
      return quantize_row_iq4_xs;
    default:
      return nullptr;
  }
}

bool is_float_type(GgmlType type) {
  return type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16;
}

void check_row(GgmlType type, int64_t n) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  KILN_CHECK_MSG(traits.has_value(), "unknown ggml type");
  KILN_CHECK_MSG(n >= 0 && n % traits->block_size == 0,
                 "row length is not a multiple of the type's block size");
}
}  // namespace

bool can_dequantize(GgmlType type) { return is_float_type(type) || dequant_fn(type) != nullptr; }

bool can_quantize(GgmlType type) { return is_float_type(type) || quant_fn(type) != nullptr; }

size_t row_bytes(GgmlType type, int64_t n) {
  check_row(type, n);
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  return static_cast<size_t>(n / traits->block_size) * traits->type_size;
}

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
  check_row(type, n);
  const auto* bytes = static_cast<const uint8_t*>(src);
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);
        dst[i] = fp16_to_f32(h);
      }
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    default:
      break;
  }
  const DequantFn fn = dequant_fn(type);
  KILN_CHECK_MSG(fn != nullptr, "dequantize_row: type not supported (check can_dequantize)");
  fn(src, dst, n);
}

void quantize_row(GgmlType type, const float* src, void* dst, int64_t n) {
  check_row(type, n);
  auto* bytes = static_cast<uint8_t*>(dst);
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_fp16(src[i]);
        std::memcpy(bytes + 2 * i, &h, 2);
      }
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_bf16(src[i]);
        std::memcpy(bytes + 2 * i, &h, 2);
      }
      return;
    default:
      break;
  }
  const QuantFn fn = quant_fn(type);
  KILN_CHECK_MSG(fn != nullptr, "quantize_row: type not supported (check can_quantize)");
  fn(src, dst, n);
}

}  // namespace kiln::quant
