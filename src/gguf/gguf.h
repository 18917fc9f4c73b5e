// GGUF reader: parses and fully validates a GGUF v2/v3 file before anything
// else trusts it (../shared/docs/gguf-format.md §8-§9). A malformed file gives
// a Status naming what is wrong and where (byte offset, key or tensor name);
// never a crash, an abort, an out-of-bounds read or an unchecked allocation.
//
// Ownership: GgufFile owns the mapping (open) or borrows the bytes (parse);
// tensor_data() spans point into it and live as long as the GgufFile.
// Thread-safety: immutable after construction; safe to read from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/ggml_type.h"
#include "core/mapped_file.h"
#include "core/status.h"

namespace kiln::gguf {

// Metadata value type ids (§3). The id equals the index in Value::Variant.
enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
std::string_view value_type_name(ValueType type);  // "u32", "string", "array", ...

struct Value;
struct ArrayValue {
  ValueType elem_type = ValueType::UINT8;
  std::vector<Value> items;  // all of elem_type
};

struct Value {
  using Variant = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                               std::string, ArrayValue, uint64_t, int64_t, double>;
  Variant v;
  ValueType type() const { return static_cast<ValueType>(v.index()); }
};

struct KeyValue {
  std::string key;
  Value value;
};

inline constexpr int kMaxDims = 4;
inline constexpr size_t kMaxTensorName = 63;  // bytes, excluding NUL (GGML_MAX_NAME - 1)
inline constexpr int kMaxArrayNesting = 8;
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr uint32_t kMaxAlignment = 1u << 20;       // so align_up cannot overflow
inline constexpr uint64_t kMaxStringLength = 1ull << 30;  // bytes (llama.cpp's cap)
inline constexpr uint64_t kMaxArrayCount = 1ull << 30;    // elements per array (llama.cpp's cap)
// Total metadata values (array elements included) one file may hold. Bounds the
// memory a small file can make the parser allocate (~40 bytes per value, so
// ~330 MiB); the largest real vocabularies hold about 1.5M values.
inline constexpr uint64_t kMaxMetadataValues = 1ull << 23;

struct TensorInfo {
  std::string name;
  int n_dims = 0;                                // 1..4 as stored
  std::array<int64_t, kMaxDims> ne{1, 1, 1, 1};  // ne[0] innermost; absent dims are 1
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;  // relative to data_offset()
  uint64_t n_bytes = 0;
  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

class GgufFile {
 public:
  // mmaps and validates `path`. Errors are prefixed with the path.
  static Result<GgufFile> open(const std::string& path);
  // Validates bytes in memory (tests, fuzzer). The bytes must outlive the result.
  static Result<GgufFile> parse(std::span<const uint8_t> bytes);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute file offset
  uint64_t file_size() const { return bytes_.size(); }

  const std::vector<KeyValue>& metadata() const { return kvs_; }  // file order
  const Value* find(std::string_view key) const;                  // nullptr if absent
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed getters require the exact stored type. Errors read
  // "key 'x' is missing" or "key 'x' has type i32, expected u32".
  Result<std::string> get_string(std::string_view key) const;
  Result<uint32_t> get_u32(std::string_view key) const;
  Result<int32_t> get_i32(std::string_view key) const;
  Result<uint64_t> get_u64(std::string_view key) const;
  Result<float> get_f32(std::string_view key) const;
  Result<bool> get_bool(std::string_view key) const;
  // Array getters check the element type.
  Result<const ArrayValue*> get_array(std::string_view key, ValueType elem_type) const;
  Result<std::vector<std::string>> get_string_array(std::string_view key) const;
  Result<std::vector<float>> get_f32_array(std::string_view key) const;
  Result<std::vector<int32_t>> get_i32_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // file order
  const TensorInfo* find_tensor(std::string_view name) const;          // nullptr if absent
  // The tensor's bytes inside the file (validated in range at parse time).
  std::span<const uint8_t> tensor_data(const TensorInfo& info) const;

 private:
  friend class Parser;
  MappedFile mapping_;  // empty when parsed from memory
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> kvs_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace kiln::gguf
