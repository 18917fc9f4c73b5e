#include "gguf/writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

namespace kiln::gguf {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" as a little-endian u32
constexpr uint32_t kVersion = 3;

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

// Appends little-endian fields to a byte vector.
class Bytes {
 public:
  explicit Bytes(std::vector<uint8_t>& out) : out_(out) {}
  template <typename T>
  void put(T v) {
    uint8_t raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    out_.insert(out_.end(), raw, raw + sizeof(T));
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void pad_to(uint64_t alignment) { out_.resize(align_up(out_.size(), alignment), 0); }

 private:
  std::vector<uint8_t>& out_;
};

bool valid_key(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Writes one value; `depth` = arrays enclosing it. Errors name the key.
Status put_value(Bytes& b, const Value& value, int depth, const std::string& key) {
  if (const auto* array = std::get_if<ArrayValue>(&value.v)) {
    if (depth + 1 > kMaxArrayNesting) {
      return Status::error("key '" + key + "': arrays nested deeper than " +
                           std::to_string(kMaxArrayNesting) + " levels");
    }
    if (array->items.size() > kMaxArrayCount) {
      return Status::error("key '" + key + "': array has more than " +
                           std::to_string(kMaxArrayCount) + " items");
    }
    b.put<uint32_t>(static_cast<uint32_t>(array->elem_type));
    b.put<uint64_t>(array->items.size());
    for (size_t i = 0; i < array->items.size(); ++i) {
      const Value& item = array->items[i];
      if (item.type() != array->elem_type) {
        return Status::error("key '" + key + "': array item " + std::to_string(i) + " has type " +
                             std::string(value_type_name(item.type())) + ", expected " +
                             std::string(value_type_name(array->elem_type)));
      }
      KILN_TRY(put_value(b, item, depth + 1, key));
    }
    return Status::ok();
  }
  return std::visit(
      [&](const auto& x) -> Status {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (x.size() > kMaxStringLength) {
            return Status::error("key '" + key + "': string longer than the limit");
          }
          b.put_string(x);
        } else if constexpr (std::is_same_v<T, bool>) {
          b.put<uint8_t>(x ? 1 : 0);
        } else if constexpr (!std::is_same_v<T, ArrayValue>) {
          b.put<T>(x);
        }
        return Status::ok();
      },
      value.v);
}

// n_dims as llama.cpp writes it: one plus the index of the last dim > 1.
int stored_dims(const TensorInfo& info) {
  int n = 1;
  for (int d = 0; d < kMaxDims; ++d) {
    if (info.ne[d] > 1) n = d + 1;
  }
  return n;
}

}  // namespace

void GgufWriter::set(std::string_view key, Value value) {
  for (KeyValue& kv : kvs_) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  kvs_.push_back(KeyValue{std::string(key), std::move(value)});
}

namespace {
template <typename T>
Value array_of(ValueType elem, const std::vector<T>& items) {
  ArrayValue a;
  a.elem_type = elem;
  a.items.reserve(items.size());
  for (const T& x : items) a.items.push_back(Value{x});
  return Value{std::move(a)};
}
}  // namespace

void GgufWriter::set_string_array(std::string_view key, const std::vector<std::string>& items) {
  set(key, array_of(ValueType::STRING, items));
}
void GgufWriter::set_f32_array(std::string_view key, const std::vector<float>& items) {
  set(key, array_of(ValueType::FLOAT32, items));
}
void GgufWriter::set_i32_array(std::string_view key, const std::vector<int32_t>& items) {
  set(key, array_of(ValueType::INT32, items));
}
void GgufWriter::set_u32_array(std::string_view key, const std::vector<uint32_t>& items) {
  set(key, array_of(ValueType::UINT32, items));
}

bool GgufWriter::remove(std::string_view key) {
  for (auto it = kvs_.begin(); it != kvs_.end(); ++it) {
    if (it->key == key) {
      kvs_.erase(it);
      return true;
    }
  }
  return false;
}

void GgufWriter::set_alignment(uint32_t alignment) {
  alignment_ = alignment;
  if (alignment == kDefaultAlignment) {
    remove("general.alignment");
  } else {
    set_u32("general.alignment", alignment);
  }
}

Status GgufWriter::check_tensor(std::string_view name, GgmlType type, std::span<const int64_t> ne,
                                std::optional<size_t> data_size, TensorInfo& info) const {
  std::string where = "tensor '" + std::string(name) + "': ";
  if (name.empty() || name.size() > kMaxTensorName) {
    return Status::error(where + "name must be 1.." + std::to_string(kMaxTensorName) + " bytes");
  }
  for (const Tensor& t : tensors_) {
    if (t.info.name == name) return Status::error(where + "duplicate tensor name");
  }
  if (ne.empty() || ne.size() > static_cast<size_t>(kMaxDims)) {
    return Status::error(where + "needs 1..4 dimensions");
  }
  auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  if (!traits) return Status::error(where + "unknown or removed ggml type");
  info.name = std::string(name);
  info.type = type;
  int64_t blocks = 1;  // rows * blocks per row
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] <= 0) return Status::error(where + "dimensions must be positive");
    info.ne[d] = ne[d];
    int64_t factor = d == 0 ? ne[0] / traits->block_size : ne[d];
    if (__builtin_mul_overflow(blocks, factor, &blocks)) {
      return Status::error(where + "size overflows");
    }
  }
  if (ne[0] % traits->block_size != 0) {
    return Status::error(where + "ne[0] is not a multiple of the block size " +
                         std::to_string(traits->block_size));
  }
  int64_t bytes = 0;
  if (__builtin_mul_overflow(blocks, static_cast<int64_t>(traits->type_size), &bytes)) {
    return Status::error(where + "size overflows");
  }
  if (data_size && static_cast<uint64_t>(bytes) != *data_size) {
    return Status::error(where + "data has " + std::to_string(*data_size) + " bytes, expected " +
                         std::to_string(bytes));
  }
  info.n_bytes = static_cast<uint64_t>(bytes);
  info.n_dims = stored_dims(info);
  return Status::ok();
}

Status GgufWriter::add_tensor(std::string_view name, GgmlType type, std::span<const int64_t> ne,
                              std::span<const uint8_t> data) {
  Tensor t;
  KILN_TRY(check_tensor(name, type, ne, data.size(), t.info));
  t.owned.assign(data.begin(), data.end());
  tensors_.push_back(std::move(t));
  return Status::ok();
}

Status GgufWriter::add_tensor_view(std::string_view name, GgmlType type,
                                   std::span<const int64_t> ne, std::span<const uint8_t> data) {
  Tensor t;
  KILN_TRY(check_tensor(name, type, ne, data.size(), t.info));
  t.view = data;
  t.borrowed = true;
  tensors_.push_back(std::move(t));
  return Status::ok();
}

Status GgufWriter::add_tensor_deferred(std::string_view name, GgmlType type,
                                       std::span<const int64_t> ne) {
  Tensor t;
  KILN_TRY(check_tensor(name, type, ne, std::nullopt, t.info));
  t.deferred = true;
  tensors_.push_back(std::move(t));
  return Status::ok();
}

Result<std::vector<uint8_t>> GgufWriter::header() const {
  if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0 || alignment_ > kMaxAlignment) {
    return Status::error("alignment " + std::to_string(alignment_) +
                         " is not a power of two in 1.." + std::to_string(kMaxAlignment));
  }
  std::vector<uint8_t> out;
  Bytes b(out);
  b.put<uint32_t>(kMagic);
  b.put<uint32_t>(kVersion);
  b.put<uint64_t>(tensors_.size());
  b.put<uint64_t>(kvs_.size());
  for (const KeyValue& kv : kvs_) {
    if (!valid_key(kv.key)) return Status::error("key '" + kv.key + "' is empty or not ASCII");
    b.put_string(kv.key);
    b.put<uint32_t>(static_cast<uint32_t>(kv.value.type()));
    KILN_TRY(put_value(b, kv.value, 0, kv.key));
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    b.put_string(t.info.name);
    b.put<uint32_t>(static_cast<uint32_t>(t.info.n_dims));
    for (int d = 0; d < t.info.n_dims; ++d) b.put<int64_t>(t.info.ne[d]);
    b.put<uint32_t>(static_cast<uint32_t>(t.info.type));
    b.put<uint64_t>(offset);
    offset += align_up(t.info.n_bytes, alignment_);
  }
  if (!tensors_.empty()) b.pad_to(alignment_);
  return out;
}

Result<std::vector<uint8_t>> GgufWriter::to_bytes() const {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> out, header());
  for (const Tensor& t : tensors_) {
    if (t.deferred) {
      return Status::error("tensor '" + t.info.name + "' is deferred: use write_file with a fill");
    }
    std::span<const uint8_t> data = t.bytes();
    out.insert(out.end(), data.begin(), data.end());
    out.resize(align_up(out.size(), alignment_), 0);
  }
  return out;
}

Status GgufWriter::write_file(const std::string& path) const { return write_file(path, nullptr); }

Status GgufWriter::write_file(const std::string& path, const FillFn& fill) const {
  for (const Tensor& t : tensors_) {
    if (t.deferred && !fill) {
      return Status::error("tensor '" + t.info.name + "' is deferred: use write_file with a fill");
    }
  }
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> head, header());
  std::string tmp = path + ".tmp";
  auto closer = [](std::FILE* f) {
    if (f != nullptr) std::fclose(f);
  };
  std::unique_ptr<std::FILE, decltype(closer)> file(std::fopen(tmp.c_str(), "wb"), closer);
  if (!file) return Status::error("cannot create '" + tmp + "': " + std::strerror(errno));
  auto write = [&](const uint8_t* p, size_t n) { return std::fwrite(p, 1, n, file.get()) == n; };
  bool ok = write(head.data(), head.size());
  static const uint8_t kZeros[kMaxAlignment] = {};
  std::vector<uint8_t> buffer;  // deferred tensors, one at a time
  Status filled;
  for (size_t i = 0; i < tensors_.size() && ok; ++i) {
    const Tensor& t = tensors_[i];
    std::span<const uint8_t> data = t.bytes();
    if (t.deferred) {
      buffer.resize(t.info.n_bytes);
      filled = fill(i, std::span<uint8_t>(buffer));
      if (!filled.is_ok()) break;
      data = buffer;
    }
    uint64_t pad = align_up(data.size(), alignment_) - data.size();
    ok = write(data.data(), data.size()) && write(kZeros, pad);
  }
  ok = ok && filled.is_ok() && std::fflush(file.get()) == 0;
  int err = errno;
  ok = std::fclose(file.release()) == 0 && ok;
  if (!filled.is_ok()) {
    std::remove(tmp.c_str());
    return filled;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    return Status::error("cannot write '" + tmp + "': " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    return Status::error("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(err));
  }
  return Status::ok();
}

}  // namespace kiln::gguf
