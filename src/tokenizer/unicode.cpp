#include "tokenizer/unicode.h"

#include <array>

namespace kiln::unicode {

void append_utf8(uint32_t cpt, std::string& out) {
  if (cpt < 0x80) {
    out += static_cast<char>(cpt);
  } else if (cpt < 0x800) {
    out += static_cast<char>(0xC0 | (cpt >> 6));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else if (cpt < 0x10000) {
    out += static_cast<char>(0xE0 | (cpt >> 12));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cpt >> 18));
    out += static_cast<char>(0x80 | ((cpt >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  }
}

int valid_sequence_len(std::string_view s, size_t pos) {
  const auto b0 = static_cast<uint8_t>(s[pos]);
  if (b0 < 0x80) return 1;
  int need = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // > U+10FFFF
  } else {
    return 0;
  }
  for (int i = 1; i < need; ++i) {
    if (pos + i >= s.size()) return -1;
    const auto b = static_cast<uint8_t>(s[pos + i]);
    const uint8_t min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xBF;
    if (b < min || b > max) return 0;
  }
  return need;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    const int len = valid_sequence_len(s, pos);
    if (len > 0) {
      out.append(s.substr(pos, len));
      pos += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++pos;
    }
  }
  return out;
}

namespace {

struct ByteMap {
  std::array<std::string, 256> to_text;
  std::array<int16_t, 0x144> to_byte;  // code points U+0000..U+0143
  ByteMap() {
    to_byte.fill(-1);
    uint32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool same = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const uint32_t cpt = same ? static_cast<uint32_t>(b) : next++;
      append_utf8(cpt, to_text[b]);
      to_byte[cpt] = static_cast<int16_t>(b);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t byte) { return byte_map().to_text[byte]; }

int unicode_to_byte(uint32_t cpt) {
  if (cpt >= byte_map().to_byte.size()) return -1;
  return byte_map().to_byte[cpt];
}

uint32_t next_codepoint(std::string_view s, size_t& pos) {
  const int len = valid_sequence_len(s, pos);
  const auto b0 = static_cast<uint8_t>(s[pos]);
  if (len <= 0) {
    ++pos;
    return b0;
  }
  uint32_t cpt = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (int i = 1; i < len; ++i) cpt = (cpt << 6) | (static_cast<uint8_t>(s[pos + i]) & 0x3F);
  pos += len;
  return cpt;
}

}  // namespace kiln::unicode
