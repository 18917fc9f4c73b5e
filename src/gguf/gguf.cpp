// GgufFile: opening (mmap), lookups and typed getters. Parsing and validation
// live in parser.cpp.
#include "gguf/gguf.h"

#include <utility>

#include "core/check.h"

namespace kiln::gguf {

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::UINT8:
      return "u8";
    case ValueType::INT8:
      return "i8";
    case ValueType::UINT16:
      return "u16";
    case ValueType::INT16:
      return "i16";
    case ValueType::UINT32:
      return "u32";
    case ValueType::INT32:
      return "i32";
    case ValueType::FLOAT32:
      return "f32";
    case ValueType::BOOL:
      return "bool";
    case ValueType::STRING:
      return "string";
    case ValueType::ARRAY:
      return "array";
    case ValueType::UINT64:
      return "u64";
    case ValueType::INT64:
      return "i64";
    case ValueType::FLOAT64:
      return "f64";
  }
  return "(unknown type)";
}

Result<GgufFile> GgufFile::open(const std::string& path) {
  Result<MappedFile> mapped = MappedFile::open(path);
  if (!mapped) return mapped.status().with_context(path);
  MappedFile mapping = std::move(mapped).value();
  Result<GgufFile> parsed = parse(mapping.bytes());
  if (!parsed) return parsed.status().with_context(path);
  GgufFile file = std::move(parsed).value();
  // Moving the mapping keeps its address, so bytes_ stays valid.
  file.mapping_ = std::move(mapping);
  return file;
}

const Value* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> GgufFile::tensor_data(const TensorInfo& info) const {
  KILN_CHECK_MSG(data_offset_ + info.offset + info.n_bytes <= bytes_.size(),
                 "tensor_data() called with a TensorInfo of another file");
  return bytes_.subspan(data_offset_ + info.offset, info.n_bytes);
}

namespace {

// "u32" or "array[i32]".
std::string describe_type(const Value& v) {
  if (const auto* a = std::get_if<ArrayValue>(&v.v)) {
    return "array[" + std::string(value_type_name(a->elem_type)) + "]";
  }
  return std::string(value_type_name(v.type()));
}

Status missing(std::string_view key) {
  return Status::error("key '" + std::string(key) + "' is missing");
}

Status wrong_type(std::string_view key, const Value& v, std::string_view expected) {
  return Status::error("key '" + std::string(key) + "' has type " + describe_type(v) +
                       ", expected " + std::string(expected));
}

template <typename T>
Result<T> get_scalar(const GgufFile& file, std::string_view key, ValueType expected) {
  const Value* v = file.find(key);
  if (v == nullptr) return missing(key);
  if (v->type() != expected) return wrong_type(key, *v, value_type_name(expected));
  return std::get<T>(v->v);
}

template <typename T>
Result<std::vector<T>> get_vector(const GgufFile& file, std::string_view key, ValueType elem) {
  KILN_ASSIGN_OR_RETURN(const ArrayValue* array, file.get_array(key, elem));
  std::vector<T> out;
  out.reserve(array->items.size());
  for (const Value& item : array->items) out.push_back(std::get<T>(item.v));
  return out;
}

}  // namespace

Result<std::string> GgufFile::get_string(std::string_view key) const {
  return get_scalar<std::string>(*this, key, ValueType::STRING);
}
Result<uint32_t> GgufFile::get_u32(std::string_view key) const {
  return get_scalar<uint32_t>(*this, key, ValueType::UINT32);
}
Result<int32_t> GgufFile::get_i32(std::string_view key) const {
  return get_scalar<int32_t>(*this, key, ValueType::INT32);
}
Result<uint64_t> GgufFile::get_u64(std::string_view key) const {
  return get_scalar<uint64_t>(*this, key, ValueType::UINT64);
}
Result<float> GgufFile::get_f32(std::string_view key) const {
  return get_scalar<float>(*this, key, ValueType::FLOAT32);
}
Result<bool> GgufFile::get_bool(std::string_view key) const {
  return get_scalar<bool>(*this, key, ValueType::BOOL);
}

Result<const ArrayValue*> GgufFile::get_array(std::string_view key, ValueType elem_type) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(key);
  const auto* array = std::get_if<ArrayValue>(&v->v);
  if (array == nullptr || array->elem_type != elem_type) {
    return wrong_type(key, *v, "array[" + std::string(value_type_name(elem_type)) + "]");
  }
  return array;
}

Result<std::vector<std::string>> GgufFile::get_string_array(std::string_view key) const {
  return get_vector<std::string>(*this, key, ValueType::STRING);
}
Result<std::vector<float>> GgufFile::get_f32_array(std::string_view key) const {
  return get_vector<float>(*this, key, ValueType::FLOAT32);
}
Result<std::vector<int32_t>> GgufFile::get_i32_array(std::string_view key) const {
  return get_vector<int32_t>(*this, key, ValueType::INT32);
}

}  // namespace kiln::gguf
