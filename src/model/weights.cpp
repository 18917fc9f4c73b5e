#include "model/weights.h"

#include <fmt/format.h>

#include "quant/quant.h"

namespace kiln {
namespace {

std::string shape_str(const gguf::TensorInfo& t) {
  std::string s = "[";
  for (int d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "]";
}

std::string type_name(GgmlType t) { return std::string(ggml_type_name(static_cast<uint32_t>(t))); }

}  // namespace

std::string WeightBinder::layer_name(int64_t il, std::string_view name) {
  return fmt::format("blk.{}.{}", il, name);
}

Result<Matrix> WeightBinder::optional_matrix(std::string_view name, int64_t cols,
                                             int64_t rows) const {
  if (!has(name)) return Matrix{};
  return matrix(name, cols, rows);
}

Result<Matrix> WeightBinder::matrix(std::string_view name, int64_t cols, int64_t rows) const {
  const gguf::TensorInfo* t = file_.find_tensor(name);
  if (t == nullptr) {
    return Status::error(
        fmt::format("tensor '{}' is missing (expected shape [{}, {}])", name, cols, rows));
  }
  if (t->n_dims != 2 || t->ne[0] != cols || t->ne[1] != rows) {
    return Status::error(fmt::format("tensor '{}' has shape {}, expected [{}, {}]", name,
                                     shape_str(*t), cols, rows));
  }
  if (!quant::can_dequantize(t->type)) {
    return Status::error(
        fmt::format("tensor '{}' has type {}, which is not supported", name, type_name(t->type)));
  }
  const auto traits = ggml_type_traits(static_cast<uint32_t>(t->type));
  if (!traits || cols % traits->block_size != 0) {
    return Status::error(
        fmt::format("tensor '{}': row length {} is not a multiple of the {} "
                    "block size",
                    name, cols, type_name(t->type)));
  }
  Matrix m;
  m.data = file_.tensor_data(*t).data();
  m.type = t->type;
  m.cols = cols;
  m.rows = rows;
  m.row_bytes = quant::row_bytes(t->type, cols);
  return m;
}

Result<Vec> WeightBinder::optional_vector(std::string_view name, int64_t n) const {
  if (!has(name)) return Vec{};
  return vector(name, n);
}

Result<Vec> WeightBinder::vector(std::string_view name, int64_t n) const {
  const gguf::TensorInfo* t = file_.find_tensor(name);
  if (t == nullptr) {
    return Status::error(fmt::format("tensor '{}' is missing (expected shape [{}])", name, n));
  }
  if (t->n_dims != 1 || t->ne[0] != n) {
    return Status::error(
        fmt::format("tensor '{}' has shape {}, expected [{}]", name, shape_str(*t), n));
  }
  const auto traits = ggml_type_traits(static_cast<uint32_t>(t->type));
  if (!quant::can_dequantize(t->type) || !traits || n % traits->block_size != 0) {
    return Status::error(
        fmt::format("tensor '{}' has type {}, which is not supported for a "
                    "vector of {} elements",
                    name, type_name(t->type), n));
  }
  Vec v(static_cast<size_t>(n));
  quant::dequantize_row(t->type, file_.tensor_data(*t).data(), v.data(), n);
  return v;
}

}  // namespace kiln
