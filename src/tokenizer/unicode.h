// UTF-8 helpers and the GPT-2 byte <-> unicode map (tokenizers.md §6.1).
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::unicode {

// Length of the UTF-8 sequence a lead byte announces, as llama.cpp counts it
// (high nibble 0x0-0xB -> 1, 0xC-0xD -> 2, 0xE -> 3, 0xF -> 4); callers clamp
// to the bytes left. Stray continuation bytes count as 1.
inline size_t lead_len(uint8_t byte) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[byte >> 4];
}

// Appends the UTF-8 encoding of `cpt` (<= 0x10FFFF) to `out`.
void append_utf8(uint32_t cpt, std::string& out);

// Length of the valid UTF-8 sequence starting at s[pos] (strict: no overlong
// forms, no surrogates, <= U+10FFFF), or 0 if the bytes there are invalid, or
// -1 if they are a valid but incomplete prefix cut by the end of `s`.
int valid_sequence_len(std::string_view s, size_t pos);

// `s` with every byte that does not start a valid UTF-8 sequence replaced by
// U+FFFD (llama.cpp's unicode_cpts_from_utf8 does the same before BPE).
std::string sanitize_utf8(std::string_view s);

// GPT-2 byte map: byte -> its code point's UTF-8 text (1 or 2 bytes).
const std::string& byte_to_unicode(uint8_t byte);
// Inverse: code point -> byte, or -1 if the code point is not in the map.
int unicode_to_byte(uint32_t cpt);

// Decodes one code point of valid UTF-8 at s[pos], advancing pos. Invalid
// bytes decode as themselves (one byte) so callers never loop forever.
uint32_t next_codepoint(std::string_view s, size_t& pos);

}  // namespace kiln::unicode
