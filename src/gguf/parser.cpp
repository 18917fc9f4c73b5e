// The GGUF parser: reads the header, metadata, tensor infos and data layout
// through a bounds-checked Cursor and validates every rule of
// ../shared/docs/gguf-format.md §8-§9 before the GgufFile is handed out.
// Every count is checked against the bytes that remain BEFORE anything is
// reserved, so no allocation is sized by an unchecked number.
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gguf/cursor.h"
#include "gguf/gguf.h"

namespace kiln::gguf {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kMaxCount = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
constexpr uint64_t kMinKvRecord = 8 + 0 + 4 + 1;              // key len, type, 1-byte value
constexpr uint64_t kMinTensorRecord = 8 + 1 + 4 + 0 + 4 + 8;  // 1-byte name, n_dims, type, offset
constexpr uint32_t kValueTypeCount = 13;

// Smallest encoding of one value of `type` (strings: the u64 length; arrays:
// elem type + count). Used to bound counts against the bytes that remain.
uint64_t min_value_size(ValueType type) {
  switch (type) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::BOOL:
      return 1;
    case ValueType::UINT16:
    case ValueType::INT16:
      return 2;
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::FLOAT32:
      return 4;
    case ValueType::STRING:
    case ValueType::UINT64:
    case ValueType::INT64:
    case ValueType::FLOAT64:
      return 8;
    case ValueType::ARRAY:
      return 12;
  }
  return 1;
}

// 'name' with bytes outside printable ASCII as \xNN, so messages stay one line.
std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c >= 0x20 && c <= 0x7e) {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", static_cast<unsigned>(static_cast<uint8_t>(c)));
      out += hex;
    }
  }
  return out + "'";
}

bool printable_ascii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

}  // namespace

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, GgufFile& out) : cur_(bytes), f_(out) {}

  Status run() {
    uint64_t n_tensors = 0;
    uint64_t n_kv = 0;
    KILN_TRY(read_header(n_tensors, n_kv));
    KILN_TRY(read_kvs(n_kv));
    KILN_TRY(resolve_alignment());
    KILN_TRY(read_tensor_infos(n_tensors));
    return place_data();
  }

 private:
  Status read_header(uint64_t& n_tensors, uint64_t& n_kv);
  Status read_count(uint64_t& n, std::string_view what, uint64_t min_record);
  Status read_kvs(uint64_t n_kv);
  Status read_string(std::string& out, std::string_view what);
  Status read_value_type(ValueType& out, std::string_view what);
  Status read_value(ValueType type, int depth, Value& out);
  Status read_scalar(ValueType type, Value& out);
  Status read_array(int depth, ArrayValue& out);
  Status resolve_alignment();
  Status read_tensor_infos(uint64_t n_tensors);
  Status read_tensor_name(size_t index, std::string& name);
  Status read_tensor_shape(TensorInfo& info);
  Status read_tensor_type(TensorInfo& info);
  Status place_data();

  // Cursor reads with the byte offset and the current key or tensor in errors.
  template <typename T>
  Status read(T& out, std::string_view what) {
    uint64_t at = cur_.pos();
    Status s = cur_.read(out, what);
    return s.is_ok() ? s : fail(at, s.message());
  }
  Status read_bytes(uint64_t n, std::string_view& out, std::string_view what) {
    uint64_t at = cur_.pos();
    Status s = cur_.read_bytes(n, out, what);
    return s.is_ok() ? s : fail(at, s.message());
  }

  // Error at `offset` inside the current key or tensor: "at byte N: key 'x': msg".
  Status fail(uint64_t offset, std::string_view message) const {
    return error_at(
        offset, context_.empty() ? std::string(message) : context_ + ": " + std::string(message));
  }

  Cursor cur_;
  GgufFile& f_;
  std::string context_;            // "key 'x'" or "tensor 'y'" while reading one
  std::vector<uint64_t> kv_at_;    // byte offset of each key/value record
  std::vector<uint64_t> info_at_;  // byte offset of each tensor info record
  uint64_t n_values_ = 0;          // metadata values read so far (kMaxMetadataValues)
};

Status Parser::read_header(uint64_t& n_tensors, uint64_t& n_kv) {
  if (cur_.size() == 0) return Status::error("file is empty (not a GGUF file)");
  uint32_t magic = 0;
  KILN_TRY(read(magic, "the magic"));
  if (magic != kMagic) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "0x%08x", magic);
    return error_at(0, std::string("bad magic ") + hex + " (expected 'GGUF'); not a GGUF file");
  }
  uint32_t version = 0;
  KILN_TRY(read(version, "the version"));
  if (version == 1) {
    return error_at(4, "GGUF version 1 is not supported (only versions 2 and 3)");
  }
  if (version != 0 && (version & 0xFFFFu) == 0) {
    return error_at(4, "big-endian GGUF not supported (version field reads " +
                           std::to_string(version) + " as little-endian)");
  }
  if (version != 2 && version != 3) {
    return error_at(
        4, "unsupported GGUF version " + std::to_string(version) + " (only versions 2 and 3)");
  }
  f_.version_ = version;
  KILN_TRY(read_count(n_tensors, "tensor count", kMinTensorRecord));
  KILN_TRY(read_count(n_kv, "metadata key/value count", kMinKvRecord));
  // Both sections follow the header: their minimum sizes together must fit.
  uint64_t tensors_min = n_tensors * kMinTensorRecord;  // no overflow: read_count bounded it
  if (tensors_min > cur_.remaining() || n_kv * kMinKvRecord > cur_.remaining() - tensors_min) {
    return error_at(8, std::to_string(n_tensors) + " tensors and " + std::to_string(n_kv) +
                           " metadata keys cannot fit in the " + std::to_string(cur_.remaining()) +
                           " bytes after the header");
  }
  return Status::ok();
}

// A count of records that each take at least `min_record` bytes.
Status Parser::read_count(uint64_t& n, std::string_view what, uint64_t min_record) {
  uint64_t at = cur_.pos();
  KILN_TRY(read(n, what));
  if (n > kMaxCount) {
    return error_at(at, std::string(what) + " " + std::to_string(n) + " is negative as i64");
  }
  if (n > cur_.remaining() / min_record) {
    return error_at(at, std::string(what) + " " + std::to_string(n) + " needs at least " +
                            std::to_string(min_record) + " bytes each, but only " +
                            std::to_string(cur_.remaining()) + " bytes remain");
  }
  return Status::ok();
}

Status Parser::read_string(std::string& out, std::string_view what) {
  uint64_t at = cur_.pos();
  uint64_t len = 0;
  KILN_TRY(read(len, std::string(what) + " length"));
  if (len > cur_.remaining()) {
    return fail(at, std::string(what) + " length " + std::to_string(len) +
                        " runs past the end of the file (" + std::to_string(cur_.remaining()) +
                        " bytes left)");
  }
  if (len > kMaxStringLength) {
    return fail(at, std::string(what) + " length " + std::to_string(len) +
                        " exceeds the limit of " + std::to_string(kMaxStringLength) + " bytes");
  }
  std::string_view bytes;
  KILN_TRY(read_bytes(len, bytes, what));
  out.assign(bytes);
  return Status::ok();
}

Status Parser::read_kvs(uint64_t n_kv) {
  f_.kvs_.reserve(n_kv);  // n_kv * kMinKvRecord <= file size (read_header)
  kv_at_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    uint64_t at = cur_.pos();
    context_ = "key #" + std::to_string(i);
    KeyValue kv;
    KILN_TRY(read_string(kv.key, "key"));
    if (kv.key.empty()) return fail(at, "empty key");
    if (!printable_ascii(kv.key)) return fail(at, "key contains bytes outside printable ASCII");
    context_ = "key " + quoted(kv.key);
    if (f_.kv_index_.count(kv.key) != 0) return fail(at, "duplicate key");
    ValueType type{};
    KILN_TRY(read_value_type(type, "value type"));
    KILN_TRY(read_value(type, 0, kv.value));
    kv_at_.push_back(at);
    f_.kv_index_.emplace(kv.key, f_.kvs_.size());
    f_.kvs_.push_back(std::move(kv));
  }
  context_.clear();
  return Status::ok();
}

Status Parser::read_value_type(ValueType& out, std::string_view what) {
  uint64_t at = cur_.pos();
  uint32_t id = 0;
  KILN_TRY(read(id, what));
  if (id >= kValueTypeCount) {
    return fail(at, "unknown " + std::string(what) + " id " + std::to_string(id) +
                        " (valid ids are 0..12)");
  }
  out = static_cast<ValueType>(id);
  return Status::ok();
}

// `depth` = number of arrays enclosing this value.
Status Parser::read_value(ValueType type, int depth, Value& out) {
  if (++n_values_ > kMaxMetadataValues) {
    return fail(cur_.pos(), "metadata holds more than " + std::to_string(kMaxMetadataValues) +
                                " values in total (limit)");
  }
  if (type == ValueType::ARRAY) {
    ArrayValue array;
    KILN_TRY(read_array(depth + 1, array));
    out.v = std::move(array);
    return Status::ok();
  }
  if (type == ValueType::STRING) {
    std::string s;
    KILN_TRY(read_string(s, "string value"));
    out.v = std::move(s);
    return Status::ok();
  }
  return read_scalar(type, out);
}

Status Parser::read_scalar(ValueType type, Value& out) {
  uint64_t at = cur_.pos();
  auto get = [&]<typename T>(T v) -> Status {
    KILN_TRY(read(v, value_type_name(type)));
    out.v = v;
    return Status::ok();
  };
  switch (type) {
    case ValueType::UINT8:
      return get(uint8_t{});
    case ValueType::INT8:
      return get(int8_t{});
    case ValueType::UINT16:
      return get(uint16_t{});
    case ValueType::INT16:
      return get(int16_t{});
    case ValueType::UINT32:
      return get(uint32_t{});
    case ValueType::INT32:
      return get(int32_t{});
    case ValueType::FLOAT32:
      return get(float{});
    case ValueType::UINT64:
      return get(uint64_t{});
    case ValueType::INT64:
      return get(int64_t{});
    case ValueType::FLOAT64:
      return get(double{});
    case ValueType::BOOL: {
      uint8_t b = 0;
      KILN_TRY(read(b, "bool"));
      if (b > 1) return fail(at, "bool value " + std::to_string(b) + " is not 0 or 1");
      out.v = b == 1;
      return Status::ok();
    }
    case ValueType::STRING:
    case ValueType::ARRAY:
      break;
  }
  return fail(at, "internal: not a scalar type");
}

// `depth` = nesting level of this array (1 = a key's value).
Status Parser::read_array(int depth, ArrayValue& out) {
  KILN_TRY(read_value_type(out.elem_type, "array element type"));
  uint64_t at = cur_.pos();
  uint64_t count = 0;
  KILN_TRY(read(count, "array count"));
  std::string elem = std::string(value_type_name(out.elem_type));
  if (count > kMaxArrayCount) {
    return fail(at, "array count " + std::to_string(count) + " exceeds the limit of " +
                        std::to_string(kMaxArrayCount) + " elements");
  }
  uint64_t min_size = min_value_size(out.elem_type);
  if (count > cur_.remaining() / min_size) {
    return fail(at, "array of " + std::to_string(count) + " " + elem + " (at least " +
                        std::to_string(min_size) + " bytes each) runs past the end of the file (" +
                        std::to_string(cur_.remaining()) + " bytes left)");
  }
  if (out.elem_type == ValueType::ARRAY && depth + 1 > kMaxArrayNesting) {
    return fail(at, "arrays nested deeper than " + std::to_string(kMaxArrayNesting) + " levels");
  }
  if (count > kMaxMetadataValues - n_values_) {
    return fail(at, "array of " + std::to_string(count) + " items takes the metadata past " +
                        std::to_string(kMaxMetadataValues) + " values in total (limit)");
  }
  out.items.reserve(count);  // bounded by the remaining bytes and the value limit
  for (uint64_t i = 0; i < count; ++i) {
    Value v;
    KILN_TRY(read_value(out.elem_type, depth, v));
    out.items.push_back(std::move(v));
  }
  return Status::ok();
}

Status Parser::resolve_alignment() {
  auto it = f_.kv_index_.find("general.alignment");
  if (it == f_.kv_index_.end()) return Status::ok();
  const Value& v = f_.kvs_[it->second].value;
  uint64_t at = kv_at_[it->second];
  context_ = "key 'general.alignment'";
  if (v.type() != ValueType::UINT32) {
    return fail(at,
                "alignment has type " + std::string(value_type_name(v.type())) + ", expected u32");
  }
  uint32_t a = std::get<uint32_t>(v.v);
  if (a == 0 || (a & (a - 1)) != 0) {
    return fail(at, "alignment " + std::to_string(a) + " is not a non-zero power of two");
  }
  if (a > kMaxAlignment) {
    return fail(at, "alignment " + std::to_string(a) + " is above the limit of " +
                        std::to_string(kMaxAlignment));
  }
  f_.alignment_ = a;
  context_.clear();
  return Status::ok();
}

Status Parser::read_tensor_infos(uint64_t n_tensors) {
  // The header check bounded n_tensors by the whole file; re-check against
  // what is left after the metadata before reserving.
  if (n_tensors > cur_.remaining() / kMinTensorRecord) {
    return error_at(cur_.pos(), "tensor count " + std::to_string(n_tensors) +
                                    " cannot fit in the " + std::to_string(cur_.remaining()) +
                                    " bytes after the metadata");
  }
  f_.tensors_.reserve(n_tensors);
  info_at_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    info_at_.push_back(cur_.pos());
    TensorInfo info;
    KILN_TRY(read_tensor_name(i, info.name));
    KILN_TRY(read_tensor_shape(info));
    KILN_TRY(read_tensor_type(info));
    uint64_t at = cur_.pos();
    KILN_TRY(read(info.offset, "tensor offset"));
    if (info.offset % f_.alignment_ != 0) {
      return fail(at, "data offset " + std::to_string(info.offset) +
                          " is not a multiple of the alignment " + std::to_string(f_.alignment_));
    }
    f_.tensor_index_.emplace(info.name, f_.tensors_.size());
    f_.tensors_.push_back(std::move(info));
  }
  context_.clear();
  return Status::ok();
}

Status Parser::read_tensor_name(size_t index, std::string& name) {
  uint64_t at = cur_.pos();
  context_ = "tensor #" + std::to_string(index);
  uint64_t len = 0;
  KILN_TRY(read(len, "tensor name length"));
  if (len == 0) return fail(at, "empty tensor name");
  if (len > kMaxTensorName) {
    return fail(at, "tensor name is " + std::to_string(len) + " bytes long (limit " +
                        std::to_string(kMaxTensorName) + ")");
  }
  std::string_view bytes;
  KILN_TRY(read_bytes(len, bytes, "tensor name"));
  name.assign(bytes);
  context_ = "tensor " + quoted(name);
  if (f_.tensor_index_.count(name) != 0) return fail(at, "duplicate tensor name");
  return Status::ok();
}

Status Parser::read_tensor_shape(TensorInfo& info) {
  uint64_t at = cur_.pos();
  uint32_t n_dims = 0;
  KILN_TRY(read(n_dims, "tensor n_dims"));
  if (n_dims == 0 || n_dims > static_cast<uint32_t>(kMaxDims)) {
    return fail(at, "n_dims " + std::to_string(n_dims) + " is not in 1..4");
  }
  info.n_dims = static_cast<int>(n_dims);
  int64_t n_elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    at = cur_.pos();
    int64_t ne = 0;
    KILN_TRY(read(ne, "tensor dimension"));
    std::string dim = "dimension " + std::to_string(d);
    if (ne < 0) return fail(at, dim + " is negative (" + std::to_string(ne) + ")");
    if (ne == 0) return fail(at, dim + " is 0 (empty tensors are not allowed)");
    if (__builtin_mul_overflow(n_elements, ne, &n_elements)) {
      return fail(at, dim + " (" + std::to_string(ne) + ") makes the element count overflow int64");
    }
    info.ne[d] = ne;
  }
  return Status::ok();
}

Status Parser::read_tensor_type(TensorInfo& info) {
  uint64_t at = cur_.pos();
  uint32_t id = 0;
  KILN_TRY(read(id, "tensor type"));
  if (ggml_type_removed(id)) {
    return fail(at, "ggml type id " + std::to_string(id) + " was removed from ggml");
  }
  auto traits = ggml_type_traits(id);
  if (!traits) {
    return fail(at, "unknown ggml type id " + std::to_string(id) + " (known ids are below " +
                        std::to_string(kGgmlTypeCount) + ")");
  }
  info.type = static_cast<GgmlType>(id);
  std::string tname(traits->name);
  if (info.ne[0] % traits->block_size != 0) {
    return fail(at, "ne[0] = " + std::to_string(info.ne[0]) + " is not a multiple of the " + tname +
                        " block size " + std::to_string(traits->block_size));
  }
  // rows * blocks per row * bytes per block, all positive, checked against int64.
  int64_t bytes = info.ne[0] / traits->block_size;
  for (int d = 1; d < kMaxDims; ++d) {
    if (__builtin_mul_overflow(bytes, info.ne[d], &bytes)) bytes = -1;
    if (bytes < 0) break;
  }
  if (bytes < 0 || __builtin_mul_overflow(bytes, static_cast<int64_t>(traits->type_size), &bytes)) {
    return fail(at, "byte size of the " + tname + " tensor overflows int64");
  }
  info.n_bytes = static_cast<uint64_t>(bytes);
  return Status::ok();
}

// data_start and each tensor's range: in the file, in info order, back to back.
Status Parser::place_data() {
  uint64_t end_of_infos = cur_.pos();
  f_.data_offset_ = align_up(end_of_infos, f_.alignment_);
  if (f_.tensors_.empty()) return Status::ok();
  if (f_.data_offset_ > cur_.size()) {
    return error_at(end_of_infos, "tensor data would start at byte " +
                                      std::to_string(f_.data_offset_) + ", past the end of the " +
                                      std::to_string(cur_.size()) + "-byte file");
  }
  uint64_t room = cur_.size() - f_.data_offset_;
  uint64_t expected = 0;
  for (size_t i = 0; i < f_.tensors_.size(); ++i) {
    const TensorInfo& t = f_.tensors_[i];
    context_ = "tensor " + quoted(t.name);
    if (t.offset < expected) {
      return fail(info_at_[i], "data at offset " + std::to_string(t.offset) +
                                   " overlaps the previous tensor '" + f_.tensors_[i - 1].name +
                                   "' (which ends at " + std::to_string(expected) + ")");
    }
    if (t.offset != expected) {
      return fail(info_at_[i], "data offset " + std::to_string(t.offset) + ", expected " +
                                   std::to_string(expected) +
                                   " (tensors must be contiguous, in info order)");
    }
    if (t.offset > room || t.n_bytes > room - t.offset) {
      return fail(info_at_[i], "data (" + std::to_string(t.n_bytes) + " bytes at offset " +
                                   std::to_string(t.offset) + ") runs past the end of the file (" +
                                   std::to_string(room) + " data bytes)");
    }
    expected = t.offset + align_up(t.n_bytes, f_.alignment_);
  }
  context_.clear();
  return Status::ok();
}

Result<GgufFile> GgufFile::parse(std::span<const uint8_t> bytes) {
  GgufFile file;
  file.bytes_ = bytes;
  Parser parser(bytes, file);
  KILN_TRY(parser.run());
  return file;
}

}  // namespace kiln::gguf
