// ByteBuilder: writes raw GGUF fields (little-endian) with no validation, so
// tests can build malformed files field by field.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace kiln::gguf::testing {

class ByteBuilder {
 public:
  template <typename T>
  ByteBuilder& put(T v) {
    uint8_t raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    bytes_.insert(bytes_.end(), raw, raw + sizeof(T));
    return *this;
  }
  ByteBuilder& u8(uint8_t v) { return put(v); }
  ByteBuilder& u32(uint32_t v) { return put(v); }
  ByteBuilder& i32(int32_t v) { return put(v); }
  ByteBuilder& u64(uint64_t v) { return put(v); }
  ByteBuilder& i64(int64_t v) { return put(v); }
  ByteBuilder& raw(std::string_view s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  ByteBuilder& zeros(size_t n) {
    bytes_.resize(bytes_.size() + n, 0);
    return *this;
  }
  ByteBuilder& pad_to(size_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_.push_back(0);
    return *this;
  }
  // u64 length + bytes.
  ByteBuilder& str(std::string_view s) { return u64(s.size()).raw(s); }

  // magic "GGUF", version, n_tensors, n_kv.
  ByteBuilder& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    return raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
  }
  // key, value type 4 (u32), value.
  ByteBuilder& kv_u32(std::string_view key, uint32_t v) { return str(key).u32(4).u32(v); }
  // key, value type 8 (string), value.
  ByteBuilder& kv_string(std::string_view key, std::string_view v) {
    return str(key).u32(8).str(v);
  }
  // name, n_dims, ne[], type, offset.
  ByteBuilder& tensor(std::string_view name, std::vector<int64_t> ne, uint32_t type,
                      uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (int64_t d : ne) i64(d);
    return u32(type).u64(offset);
  }

  size_t size() const { return bytes_.size(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace kiln::gguf::testing
