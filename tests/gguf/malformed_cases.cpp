#include "malformed_cases.h"

#include <cstdint>
#include <limits>
#include <string>

#include "byte_builder.h"

namespace kiln::gguf::testing {

namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ4_0 = 2;
constexpr uint32_t kTypeU8 = 0, kTypeU32 = 4, kTypeI32 = 5, kTypeBool = 7, kTypeString = 8,
                   kTypeArray = 9, kTypeU64 = 10;

std::string at(size_t offset) { return "at byte " + std::to_string(offset) + ": "; }

using Cases = std::vector<MalformedCase>;

void add(Cases& cases, std::string name, const ByteBuilder& b, std::string expect) {
  cases.push_back({std::move(name), b.bytes(), std::move(expect)});
}

// A header with one architecture key, ready for `n_tensors` tensor infos.
ByteBuilder with_tensors(uint64_t n_tensors) {
  ByteBuilder b;
  b.header(3, n_tensors, 1).kv_string("general.architecture", "llama");
  return b;
}

void header_cases(Cases& c) {
  add(c, "empty_file", ByteBuilder(), "file is empty");
  add(c, "short_magic", ByteBuilder().raw("GG"), "truncated while reading the magic");
  add(c, "bad_magic", ByteBuilder().raw("GGML").u32(3).u64(0).u64(0), at(0) + "bad magic");
  add(c, "version_0", ByteBuilder().header(0, 0, 0), "unsupported GGUF version 0");
  add(c, "version_1", ByteBuilder().header(1, 0, 0), "GGUF version 1 is not supported");
  add(c, "version_4", ByteBuilder().header(4, 0, 0), "unsupported GGUF version 4");
  add(c, "version_huge", ByteBuilder().header(0x7fffffff, 0, 0), "unsupported GGUF version");
  add(c, "big_endian", ByteBuilder().raw("GGUF").raw(std::string("\0\0\0\3", 4)).u64(0).u64(0),
      "big-endian GGUF not supported");
  add(c, "truncated_header", ByteBuilder().raw("GGUF").u32(3).u32(0), "truncated");
  add(c, "tensor_count_2pow64", ByteBuilder().header(3, kU64Max, 0),
      at(8) + "tensor count 18446744073709551615 is negative");
  add(c, "tensor_count_2pow63", ByteBuilder().header(3, 1ull << 63, 0), "is negative as i64");
  add(c, "tensor_count_huge", ByteBuilder().header(3, (1ull << 63) - 1, 0),
      "tensor count 9223372036854775807 needs at least 25 bytes each");
  add(c, "kv_count_2pow64", ByteBuilder().header(3, 0, kU64Max),
      at(16) + "metadata key/value count 18446744073709551615 is negative");
  add(c, "kv_count_huge", ByteBuilder().header(3, 0, 1ull << 40).zeros(64),
      "metadata key/value count 1099511627776 needs at least 13 bytes each");
  add(c, "counts_together_too_big", ByteBuilder().header(3, 4, 4).zeros(120),
      "4 tensors and 4 metadata keys cannot fit");
}

void key_cases(Cases& c) {
  ByteBuilder b;
  b.header(3, 0, 1).u64(1000).raw("general.name");
  add(c, "key_length_past_eof", b, at(24) + "key #0: key length 1000 runs past the end");
  b = ByteBuilder();
  b.header(3, 0, 1).u64(kU64Max).raw("abc").zeros(16);
  add(c, "key_length_2pow64", b, "key length 18446744073709551615 runs past the end");
  b = ByteBuilder();
  b.header(3, 0, 1).str("").u32(kTypeU32).u32(1);
  add(c, "empty_key", b, at(24) + "key #0: empty key");
  b = ByteBuilder();
  b.header(3, 0, 2).kv_u32("a.b", 1);
  size_t second = b.size();
  b.kv_u32("a.b", 2);
  add(c, "duplicate_key", b, at(second) + "key 'a.b': duplicate key");
  b = ByteBuilder();
  b.header(3, 0, 1).str("bad\nkey").u32(kTypeU32).u32(1);
  add(c, "key_not_ascii", b, "key #0: key contains bytes outside printable ASCII");
  b = ByteBuilder();
  b.header(3, 0, 1).str("general.name").u32(kTypeString).u64(500).raw("short");
  add(c, "string_length_past_eof", b,
      "key 'general.name': string value length 500 runs past the end");
  b = ByteBuilder();
  b.header(3, 0, 1).str("general.name").u32(kTypeString).u64(kU64Max).zeros(8);
  add(c, "string_length_2pow64", b, "string value length 18446744073709551615 runs past");
}

void value_cases(Cases& c) {
  ByteBuilder b;
  b.header(3, 0, 1).str("x.y").u32(13).u32(0);
  add(c, "value_type_13", b, "key 'x.y': unknown value type id 13");
  b = ByteBuilder();
  b.header(3, 0, 1).str("x.y").u32(0xffffffffu).u64(0);
  add(c, "value_type_u32max", b, "unknown value type id 4294967295");
  b = ByteBuilder();
  b.header(3, 0, 1).str("x.y").u32(kTypeArray).u32(99).u64(0);
  add(c, "array_elem_type_unknown", b, "key 'x.y': unknown array element type id 99");
  b = ByteBuilder();
  b.header(3, 0, 1).str("x.y").u32(kTypeArray).u32(kTypeU64).u64((1ull << 61) + 1).zeros(16);
  add(c, "array_count_times_size_overflows", b,
      "array count 2305843009213693953 exceeds the limit");
  b = ByteBuilder();
  b.header(3, 0, 1).str("x.y").u32(kTypeArray).u32(kTypeU64).u64(kU64Max).zeros(16);
  add(c, "array_count_2pow64", b, "array count 18446744073709551615 exceeds the limit");
  b = ByteBuilder();
  b.header(3, 0, 1).str("x.y").u32(kTypeArray).u32(kTypeU64).u64(1u << 29).zeros(64);
  add(c, "array_past_eof", b, "array of 536870912 u64 (at least 8 bytes each) runs past the end");
  b = ByteBuilder();
  b.header(3, 0, 1).str("x.y").u32(kTypeArray).u32(kTypeString).u64(1000).zeros(100);
  add(c, "string_array_past_eof", b, "array of 1000 string (at least 8 bytes each) runs past");
  b = ByteBuilder();
  b.header(3, 0, 1).str("x.y").u32(kTypeArray);
  for (int i = 0; i < 8; ++i) b.u32(kTypeArray).u64(1);
  b.u32(kTypeU8).u64(1).u8(7);
  add(c, "arrays_nested_9_deep", b, "key 'x.y': arrays nested deeper than 8 levels");
  b = ByteBuilder();
  b.header(3, 0, 1).str("x.y").u32(kTypeArray);
  for (int i = 0; i < 100000; ++i) b.u32(kTypeArray).u64(1);
  add(c, "arrays_nested_100000_deep", b, "arrays nested deeper than 8 levels");
  b = ByteBuilder();
  b.header(3, 0, 1)
      .str("x.y")
      .u32(kTypeArray)
      .u32(kTypeU8)
      .u64((1u << 23) + 1)
      .zeros((1u << 23) + 1);
  add(c, "too_many_metadata_values", b, "values in total (limit)");
  b = ByteBuilder();
  b.header(3, 0, 1).str("x.flag").u32(kTypeBool).u8(2);
  add(c, "bool_not_0_or_1", b, "key 'x.flag': bool value 2 is not 0 or 1");
  b = ByteBuilder();
  b.header(3, 0, 1).str("x.flags").u32(kTypeArray).u32(kTypeBool).u64(3).u8(1).u8(0).u8(255);
  add(c, "bool_array_item_255", b, "bool value 255 is not 0 or 1");
  b = ByteBuilder();
  b.header(3, 0, 1).str("x.y").u32(kTypeU64).u32(5);
  add(c, "value_truncated", b, "key 'x.y': file truncated while reading u64");
}

void alignment_cases(Cases& c) {
  auto with_alignment = [](uint32_t type, uint64_t value) {
    ByteBuilder b;
    b.header(3, 0, 1).str("general.alignment").u32(type);
    if (type == kTypeU64) {
      b.u64(value);
    } else {
      b.u32(static_cast<uint32_t>(value));
    }
    return b;
  };
  add(c, "alignment_0", with_alignment(kTypeU32, 0),
      at(24) + "key 'general.alignment': alignment 0 is not a non-zero power of two");
  add(c, "alignment_48", with_alignment(kTypeU32, 48),
      "alignment 48 is not a non-zero power of two");
  add(c, "alignment_2pow31", with_alignment(kTypeU32, 1u << 31), "alignment 2147483648 is above");
  add(c, "alignment_type_u64", with_alignment(kTypeU64, 32),
      "alignment has type u64, expected u32");
  add(c, "alignment_type_i32", with_alignment(kTypeI32, 32),
      "alignment has type i32, expected u32");
  ByteBuilder b;
  b.header(3, 0, 1).kv_string("general.alignment", "32");
  add(c, "alignment_type_string", b, "alignment has type string, expected u32");
}

void tensor_name_cases(Cases& c) {
  ByteBuilder b = with_tensors(1);
  size_t info = b.size();
  b.tensor("", {8}, kF32, 0).pad_to(32).zeros(32);
  add(c, "tensor_name_empty", b, at(info) + "tensor #0: empty tensor name");
  b = with_tensors(1);
  b.tensor(std::string(64, 'w'), {8}, kF32, 0).pad_to(32).zeros(32);
  add(c, "tensor_name_64_bytes", b, "tensor #0: tensor name is 64 bytes long (limit 63)");
  b = with_tensors(1);
  b.u64(kU64Max).zeros(64);
  add(c, "tensor_name_length_2pow64", b, "tensor name is 18446744073709551615 bytes long");
  b = with_tensors(2);
  b.tensor("w", {8}, kF32, 0);
  info = b.size();
  b.tensor("w", {8}, kF32, 32).pad_to(32).zeros(64);
  add(c, "tensor_name_duplicate", b, at(info) + "tensor 'w': duplicate tensor name");
  b = with_tensors(2);
  b.tensor("w", {8}, kF32, 0).str("bb").u32(1).raw("abc");
  add(c, "tensor_info_truncated", b, "tensor 'bb': file truncated while reading tensor dimension");
  b = with_tensors(2);
  b.zeros(20);
  add(c, "tensor_count_past_metadata", b, "tensor count 2 cannot fit in the 20 bytes after");
}

void tensor_shape_cases(Cases& c) {
  auto one = [](std::vector<int64_t> ne, uint32_t type) {
    ByteBuilder b = with_tensors(1);
    b.tensor("w", std::move(ne), type, 0).pad_to(32).zeros(64);
    return b;
  };
  add(c, "n_dims_0", one({}, kF32), "tensor 'w': n_dims 0 is not in 1..4");
  add(c, "n_dims_5", one({1, 1, 1, 1, 8}, kF32), "tensor 'w': n_dims 5 is not in 1..4");
  ByteBuilder b = with_tensors(1);
  b.str("w").u32(0xffffffffu).zeros(64);
  add(c, "n_dims_u32max", b, "n_dims 4294967295 is not in 1..4");
  add(c, "dim_0", one({8, 0}, kF32), "tensor 'w': dimension 1 is 0");
  add(c, "dim_negative", one({-8}, kF32), "tensor 'w': dimension 0 is negative (-8)");
  add(c, "dim_2pow64_minus_1", one({8, -1}, kF32), "dimension 1 is negative (-1)");
  add(c, "element_count_overflow", one({1ll << 32, 1ll << 32}, kF32),
      "dimension 1 (4294967296) makes the element count overflow int64");
  add(c, "element_count_overflow_4d", one({1 << 16, 1 << 16, 1 << 16, 1 << 16}, kF32),
      "dimension 3 (65536) makes the element count overflow");
  add(c, "byte_size_overflow", one({1ll << 31, 1ll << 31}, kF32),
      "byte size of the f32 tensor overflows int64");
  add(c, "type_unknown_43", one({8}, 43), "tensor 'w': unknown ggml type id 43");
  add(c, "type_unknown_u32max", one({8}, 0xffffffffu), "unknown ggml type id 4294967295");
  add(c, "type_removed_4", one({32}, 4), "ggml type id 4 was removed");
  add(c, "type_removed_31", one({32}, 31), "ggml type id 31 was removed");
  add(c, "type_removed_36", one({32}, 36), "ggml type id 36 was removed");
  add(c, "ne0_not_multiple_of_block", one({33, 2}, kQ4_0),
      "ne[0] = 33 is not a multiple of the q4_0 block size 32");
}

void tensor_data_cases(Cases& c) {
  ByteBuilder b = with_tensors(1);
  b.tensor("w", {8}, kF32, 16).pad_to(32).zeros(64);
  add(c, "offset_unaligned", b, "tensor 'w': data offset 16 is not a multiple of the alignment 32");
  b = ByteBuilder();
  b.header(3, 1, 1).kv_u32("general.alignment", 64).tensor("w", {8}, kF32, 32).pad_to(64).zeros(96);
  add(c, "offset_unaligned_custom_alignment", b, "not a multiple of the alignment 64");
  b = with_tensors(2);
  b.tensor("a", {16}, kF32, 0).tensor("b", {8}, kF32, 32).pad_to(32).zeros(128);
  add(c, "offset_overlap", b, "tensor 'b': data at offset 32 overlaps the previous tensor 'a'");
  b = with_tensors(2);
  b.tensor("a", {8}, kF32, 0).tensor("b", {8}, kF32, 0).pad_to(32).zeros(128);
  add(c, "offset_same_as_previous", b, "overlaps the previous tensor 'a'");
  b = with_tensors(2);
  b.tensor("a", {8}, kF32, 0).tensor("b", {8}, kF32, 64).pad_to(32).zeros(128);
  add(c, "offset_gap", b, "tensor 'b': data offset 64, expected 32 (tensors must be contiguous");
  b = with_tensors(2);
  b.tensor("a", {8}, kF32, 32).tensor("b", {8}, kF32, 0).pad_to(32).zeros(128);
  add(c, "offset_out_of_order", b, "tensor 'a': data offset 32, expected 0");
  b = with_tensors(1);
  b.tensor("w", {8}, kF32, (kU64Max / 32) * 32).pad_to(32).zeros(32);
  add(c, "offset_near_2pow64", b, "expected 0");
  b = with_tensors(1);
  b.tensor("w", {64}, kF32, 0).pad_to(32).zeros(200);
  add(c, "data_past_eof", b, "tensor 'w': data (256 bytes at offset 0) runs past the end");
  b = with_tensors(2);
  b.tensor("a", {8}, kF32, 0).tensor("b", {1ll << 40}, kF32, 32).pad_to(32).zeros(64);
  add(c, "second_tensor_past_eof", b, "tensor 'b': data (4398046511104 bytes at offset 32) runs");
  b = with_tensors(1);
  b.tensor("w", {8}, kF32, 0).raw("x");
  add(c, "data_start_past_eof", b, "tensor data would start at byte");
}

Cases build() {
  Cases c;
  header_cases(c);
  key_cases(c);
  value_cases(c);
  alignment_cases(c);
  tensor_name_cases(c);
  tensor_shape_cases(c);
  tensor_data_cases(c);
  return c;
}

}  // namespace

const std::vector<MalformedCase>& malformed_cases() {
  static const std::vector<MalformedCase> cases = build();
  return cases;
}

}  // namespace kiln::gguf::testing
