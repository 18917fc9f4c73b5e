// GgufWriter: builds valid GGUF v3 files (../shared/docs/gguf-format.md §10):
// little-endian, u64 counts and lengths, 32-bit enums, metadata in insertion
// order, tensor infos in the order of their data, n_dims = 1 + index of the
// last dim > 1, contiguous aligned offsets, zero padding after the infos and
// after every tensor, `general.alignment` only when it is not 32.
//
// Everything the writer emits is accepted by GgufFile::parse; inputs that the
// reader would reject (empty/long/duplicate names, bad shapes, data of the
// wrong size, mixed array items, nesting too deep) are Status errors.
//
// Ownership: add_tensor copies the data; add_tensor_view borrows it (the bytes
// must outlive to_bytes()/write_file()); add_tensor_deferred takes no data:
// write_file asks a fill callback for it, one tensor at a time, so a file far
// larger than memory (a quantized model) can be streamed. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ggml_type.h"
#include "core/status.h"
#include "gguf/gguf.h"

namespace kiln::gguf {

class GgufWriter {
 public:
  GgufWriter() = default;

  // Sets a key (replacing the value of an existing key in place, else
  // appending). Keys must be non-empty printable ASCII (checked at write).
  void set(std::string_view key, Value value);
  void set_u8(std::string_view key, uint8_t v) { set(key, Value{v}); }
  void set_i8(std::string_view key, int8_t v) { set(key, Value{v}); }
  void set_u16(std::string_view key, uint16_t v) { set(key, Value{v}); }
  void set_i16(std::string_view key, int16_t v) { set(key, Value{v}); }
  void set_u32(std::string_view key, uint32_t v) { set(key, Value{v}); }
  void set_i32(std::string_view key, int32_t v) { set(key, Value{v}); }
  void set_u64(std::string_view key, uint64_t v) { set(key, Value{v}); }
  void set_i64(std::string_view key, int64_t v) { set(key, Value{v}); }
  void set_f32(std::string_view key, float v) { set(key, Value{v}); }
  void set_f64(std::string_view key, double v) { set(key, Value{v}); }
  void set_bool(std::string_view key, bool v) { set(key, Value{v}); }
  void set_string(std::string_view key, std::string v) { set(key, Value{std::move(v)}); }
  void set_string_array(std::string_view key, const std::vector<std::string>& items);
  void set_f32_array(std::string_view key, const std::vector<float>& items);
  void set_i32_array(std::string_view key, const std::vector<int32_t>& items);
  void set_u32_array(std::string_view key, const std::vector<uint32_t>& items);
  bool remove(std::string_view key);  // false if absent
  const std::vector<KeyValue>& metadata() const { return kvs_; }

  // Data alignment (power of two, 1..kMaxAlignment; checked at write). Also
  // writes `general.alignment` when it is not 32.
  void set_alignment(uint32_t alignment);
  uint32_t alignment() const { return alignment_; }

  // Appends a tensor; ne = shape with ne[0] innermost (1..4 dims). `data` must
  // hold exactly the tensor's bytes. Errors name the tensor.
  Status add_tensor(std::string_view name, GgmlType type, std::span<const int64_t> ne,
                    std::span<const uint8_t> data);
  Status add_tensor_view(std::string_view name, GgmlType type, std::span<const int64_t> ne,
                         std::span<const uint8_t> data);
  // Appends a tensor whose bytes write_file(path, fill) obtains from `fill`.
  Status add_tensor_deferred(std::string_view name, GgmlType type, std::span<const int64_t> ne);
  size_t tensor_count() const { return tensors_.size(); }

  // fill(index, out): writes the bytes of deferred tensor `index` (its position
  // in add order) into `out` (exactly its size). Called once per deferred
  // tensor, in add order, on the calling thread; a failed Status stops the write.
  using FillFn = std::function<Status(size_t index, std::span<uint8_t> out)>;

  // The whole file in memory / written to `path` (via `path`.tmp + rename:
  // on any error, including one from `fill`, `path` is untouched and the
  // temporary file removed). Deferred tensors need write_file with a fill.
  Result<std::vector<uint8_t>> to_bytes() const;
  Status write_file(const std::string& path) const;
  Status write_file(const std::string& path, const FillFn& fill) const;

 private:
  struct Tensor {
    TensorInfo info;
    std::vector<uint8_t> owned;     // add_tensor
    std::span<const uint8_t> view;  // add_tensor_view
    bool borrowed = false;
    bool deferred = false;  // add_tensor_deferred
    std::span<const uint8_t> bytes() const { return borrowed ? view : std::span(owned); }
  };
  Status check_tensor(std::string_view name, GgmlType type, std::span<const int64_t> ne,
                      std::optional<size_t> data_size,
                      TensorInfo& info) const;  // nullopt: deferred
  Result<std::vector<uint8_t>> header() const;  // everything before the data section

  std::vector<KeyValue> kvs_;
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = kDefaultAlignment;
};

}  // namespace kiln::gguf
