#include "sample_file.h"

#include <string>

#include "core/check.h"

namespace kiln::gguf::testing {

std::vector<uint8_t> pattern_bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((i * 31 + seed) & 0xff);
  return out;
}

namespace {

Value nested(int levels) {
  ArrayValue a;
  if (levels == 1) {
    a.elem_type = ValueType::INT16;
    a.items = {Value{int16_t{-3}}, Value{int16_t{4}}};
  } else {
    a.elem_type = ValueType::ARRAY;
    a.items = {nested(levels - 1), nested(levels - 1)};
  }
  return Value{std::move(a)};
}

}  // namespace

GgufWriter sample_writer() {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u8("test.u8", 200);
  w.set_i8("test.i8", -100);
  w.set_u16("test.u16", 60000);
  w.set_i16("test.i16", -30000);
  w.set_u32("test.u32", 4000000000u);
  w.set_i32("test.i32", -2000000000);
  w.set_f32("test.f32", 0.125f);
  w.set_bool("test.bool", true);
  w.set_string("test.string", std::string("h\xc3\xa9llo\0\xff", 8));
  w.set_u64("test.u64", 18000000000000000000ull);
  w.set_i64("test.i64", -9000000000000000000ll);
  w.set_f64("test.f64", -2.5e300);
  w.set_string_array("test.strings", {"a", "", "\xe2\x98\x95"});
  w.set_f32_array("test.floats", {1.5f, -2.0f});
  w.set_i32_array("test.ints", {1, -2, 3});
  w.set_u32_array("test.empty", {});
  w.set("test.nested", nested(3));
  std::vector<int64_t> a{8, 2}, b{64}, c{16, 1, 2};
  KILN_CHECK(w.add_tensor("a.weight", GgmlType::F32, a, pattern_bytes(64, 1)).is_ok());
  KILN_CHECK(w.add_tensor("b.weight", GgmlType::Q4_0, b, pattern_bytes(36, 2)).is_ok());
  KILN_CHECK(w.add_tensor("c.weight", GgmlType::F16, c, pattern_bytes(64, 3)).is_ok());
  return w;
}

}  // namespace kiln::gguf::testing
