#include "engine/utf8_holdback.h"

#include <cstdint>
#include <utility>

namespace kiln {
namespace {

// Total sequence length announced by a lead byte; 0 for continuation or
// invalid bytes. Rejects C0/C1 and F5..FF (never valid leads).
size_t sequence_length(uint8_t b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Whether lead + the following continuation byte can still start a valid
// sequence (excludes overlongs and surrogates: E0 A0.., ED ..9F, F0 90.., F4 ..8F).
bool second_byte_ok(uint8_t lead, uint8_t second) {
  if (!is_continuation(second)) return false;
  if (lead == 0xE0) return second >= 0xA0;
  if (lead == 0xED) return second <= 0x9F;
  if (lead == 0xF0) return second >= 0x90;
  if (lead == 0xF4) return second <= 0x8F;
  return true;
}

}  // namespace

size_t incomplete_utf8_tail(std::string_view bytes) {
  // A held-back tail is at most 3 bytes: find the last lead byte among them.
  const size_t n = bytes.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto b = static_cast<uint8_t>(bytes[n - back]);
    if (is_continuation(b)) continue;
    const size_t len = sequence_length(b);
    if (len <= back) return 0;  // ASCII, invalid, or already complete
    for (size_t i = 1; i < back; ++i) {
      const auto c = static_cast<uint8_t>(bytes[n - back + i]);
      if (i == 1 ? !second_byte_ok(b, c) : !is_continuation(c)) return 0;
    }
    return back;
  }
  return 0;
}

std::string Utf8Holdback::push(std::string_view bytes) {
  pending_.append(bytes);
  const size_t hold = incomplete_utf8_tail(pending_);
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string Utf8Holdback::flush() {
  std::string out = std::move(pending_);
  pending_.clear();
  return out;
}

}  // namespace kiln
