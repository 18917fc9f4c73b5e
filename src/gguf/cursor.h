// Cursor: a bounds-checked little-endian reader over a byte span. Every read
// either succeeds or returns an error naming the field (the caller adds the
// byte offset); it never reads past the end. Internal to src/gguf.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/status.h"

namespace kiln::gguf {

static_assert(std::endian::native == std::endian::little, "kiln reads GGUF on little-endian hosts");

// "at byte N: message"
inline Status error_at(uint64_t offset, std::string_view message) {
  return Status::error("at byte " + std::to_string(offset) + ": " + std::string(message));
}

class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return bytes_.size(); }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  // Reads a trivially copyable little-endian value. `what` names the field.
  template <typename T>
  Status read(T& out, std::string_view what) {
    static_assert(std::is_trivially_copyable_v<T>);
    KILN_TRY(need(sizeof(T), what));
    std::memcpy(&out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::ok();
  }

  // Borrows `n` bytes (valid as long as the underlying span).
  Status read_bytes(uint64_t n, std::string_view& out, std::string_view what) {
    KILN_TRY(need(n, what));
    out = std::string_view(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return Status::ok();
  }

 private:
  Status need(uint64_t n, std::string_view what) const {
    if (n <= remaining()) return Status::ok();
    return Status::error("file truncated while reading " + std::string(what) + " (needs " +
                         std::to_string(n) + " bytes, " + std::to_string(remaining()) + " left)");
  }

  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
};

}  // namespace kiln::gguf
