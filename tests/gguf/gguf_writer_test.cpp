// GgufWriter: byte-exact output for a tiny file (against a hand-built
// reference following gguf-format.md), round trips of every value type and of
// tensors through GgufFile, alignment, and rejection of invalid input. The
// typed getters' errors are tested here too.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "byte_builder.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "sample_file.h"

namespace kiln::gguf {
namespace {

using testing::ByteBuilder;
using testing::pattern_bytes;
using testing::sample_writer;

bool same(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  if (const auto* x = std::get_if<ArrayValue>(&a.v)) {
    const auto& y = std::get<ArrayValue>(b.v);
    if (x->elem_type != y.elem_type || x->items.size() != y.items.size()) return false;
    for (size_t i = 0; i < x->items.size(); ++i) {
      if (!same(x->items[i], y.items[i])) return false;
    }
    return true;
  }
  return std::visit(
      [](const auto& x, const auto& y) {
        using X = std::decay_t<decltype(x)>;
        using Y = std::decay_t<decltype(y)>;
        if constexpr (std::is_same_v<X, Y> && !std::is_same_v<X, ArrayValue>) {
          return x == y;
        } else {
          return false;
        }
      },
      a.v, b.v);
}

TEST(GgufWriter, TinyFileIsByteExact) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_bool("x.flag", true);
  std::vector<int64_t> ne{3, 1};
  ASSERT_TRUE(w.add_tensor("t", GgmlType::F32, ne, pattern_bytes(12, 9)).is_ok());
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();

  ByteBuilder ref;
  ref.header(3, 1, 2).kv_string("general.architecture", "llama");
  ref.str("x.flag").u32(7).u8(1);
  ref.str("t").u32(1).i64(3).u32(0).u64(0);  // n_dims 1: trailing 1s dropped
  ref.pad_to(32);
  auto data = pattern_bytes(12, 9);
  ref.raw(std::string(data.begin(), data.end())).pad_to(32);
  EXPECT_EQ(*bytes, ref.bytes());
}

TEST(GgufWriter, NoTensorsMeansNoPadding) {
  GgufWriter w;
  w.set_u32("a.b", 7);
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.is_ok());
  EXPECT_EQ(*bytes, ByteBuilder().header(3, 0, 1).kv_u32("a.b", 7).bytes());
}

TEST(GgufWriter, RoundTripsEveryValueType) {
  GgufWriter w = sample_writer();
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  auto file = GgufFile::parse(*bytes);
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  ASSERT_EQ(file->metadata().size(), w.metadata().size());
  for (size_t i = 0; i < w.metadata().size(); ++i) {
    const KeyValue& want = w.metadata()[i];
    const KeyValue& got = file->metadata()[i];
    EXPECT_EQ(got.key, want.key);
    EXPECT_TRUE(same(got.value, want.value)) << want.key;
  }
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->get_string("test.string").value(), std::string("h\xc3\xa9llo\0\xff", 8));
  EXPECT_EQ(file->get_u64("test.u64").value(), 18000000000000000000ull);
  EXPECT_EQ(file->get_i32("test.i32").value(), -2000000000);
  EXPECT_EQ(file->get_u32("test.u32").value(), 4000000000u);
  EXPECT_EQ(file->get_f32("test.f32").value(), 0.125f);
  EXPECT_TRUE(file->get_bool("test.bool").value());
  EXPECT_EQ(file->get_string_array("test.strings").value(),
            (std::vector<std::string>{"a", "", "\xe2\x98\x95"}));
  EXPECT_EQ(file->get_f32_array("test.floats").value(), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(file->get_i32_array("test.ints").value(), (std::vector<int32_t>{1, -2, 3}));
  auto empty = file->get_array("test.empty", ValueType::UINT32);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE((*empty)->items.empty());
}

TEST(GgufWriter, RoundTripsTensors) {
  GgufWriter w = sample_writer();
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.is_ok());
  auto file = GgufFile::parse(*bytes);
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  ASSERT_EQ(file->tensors().size(), 3u);
  const TensorInfo* a = file->find_tensor("a.weight");
  const TensorInfo* b = file->find_tensor("b.weight");
  const TensorInfo* c = file->find_tensor("c.weight");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(file->find_tensor("missing"), nullptr);
  EXPECT_EQ(a->type, GgmlType::F32);
  EXPECT_EQ(a->n_dims, 2);
  EXPECT_EQ(a->ne, (std::array<int64_t, 4>{8, 2, 1, 1}));
  EXPECT_EQ(b->type, GgmlType::Q4_0);
  EXPECT_EQ(b->n_bytes, 36u);  // 2 blocks of 18 bytes
  EXPECT_EQ(c->n_dims, 3);
  EXPECT_EQ(c->ne, (std::array<int64_t, 4>{16, 1, 2, 1}));
  // Contiguous, each padded to 32: 64, then 36 -> 64, then 64.
  EXPECT_EQ(a->offset, 0u);
  EXPECT_EQ(b->offset, 64u);
  EXPECT_EQ(c->offset, 128u);
  EXPECT_EQ(file->data_offset() % 32, 0u);
  EXPECT_EQ(file->file_size(), file->data_offset() + 192);
  auto span_eq = [](std::span<const uint8_t> s, const std::vector<uint8_t>& v) {
    return std::vector<uint8_t>(s.begin(), s.end()) == v;
  };
  EXPECT_TRUE(span_eq(file->tensor_data(*a), pattern_bytes(64, 1)));
  EXPECT_TRUE(span_eq(file->tensor_data(*b), pattern_bytes(36, 2)));
  EXPECT_TRUE(span_eq(file->tensor_data(*c), pattern_bytes(64, 3)));
}

TEST(GgufWriter, CustomAlignment) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_alignment(256);
  std::vector<int64_t> ne{10};
  ASSERT_TRUE(w.add_tensor("x", GgmlType::F32, ne, pattern_bytes(40, 1)).is_ok());
  ASSERT_TRUE(w.add_tensor("y", GgmlType::F32, ne, pattern_bytes(40, 2)).is_ok());
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.is_ok());
  auto file = GgufFile::parse(*bytes);
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  EXPECT_EQ(file->alignment(), 256u);
  EXPECT_EQ(file->get_u32("general.alignment").value(), 256u);
  EXPECT_EQ(file->data_offset() % 256, 0u);
  EXPECT_EQ(file->tensors()[1].offset, 256u);
  EXPECT_EQ(bytes->size() % 256, 0u);

  w.set_alignment(32);  // the default is not written
  auto bytes32 = w.to_bytes();
  ASSERT_TRUE(bytes32.is_ok());
  auto file32 = GgufFile::parse(*bytes32);
  ASSERT_TRUE(file32.is_ok());
  EXPECT_FALSE(file32->has("general.alignment"));
  EXPECT_EQ(file32->tensors()[1].offset, 64u);
}

// Array nesting: 8 levels is the limit and is accepted; the writer refuses 9.
TEST(GgufWriter, NestedArraysUpToTheLimit) {
  auto nest = [](int levels) {
    Value v{ArrayValue{ValueType::UINT8, {Value{uint8_t{5}}}}};
    for (int i = 1; i < levels; ++i) v = Value{ArrayValue{ValueType::ARRAY, {std::move(v)}}};
    return v;
  };
  GgufWriter w;
  w.set("deep", nest(kMaxArrayNesting));
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  auto file = GgufFile::parse(*bytes);
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  EXPECT_TRUE(same(*file->find("deep"), nest(kMaxArrayNesting)));
  w.set("deep", nest(kMaxArrayNesting + 1));
  auto too_deep = w.to_bytes();
  ASSERT_FALSE(too_deep.is_ok());
  EXPECT_NE(too_deep.status().message().find("nested deeper than 8"), std::string::npos);
}

TEST(GgufWriter, RejectsInvalidInput) {
  GgufWriter w;
  std::vector<int64_t> ne{32};
  auto data = pattern_bytes(128, 0);
  auto msg = [](const Status& s) { return s.is_ok() ? std::string("ok") : s.message(); };
  EXPECT_NE(msg(w.add_tensor("", GgmlType::F32, ne, data)).find("name must be"), std::string::npos);
  EXPECT_NE(msg(w.add_tensor(std::string(64, 'x'), GgmlType::F32, ne, data)).find("name must be"),
            std::string::npos);
  EXPECT_TRUE(w.add_tensor(std::string(63, 'x'), GgmlType::F32, ne, data).is_ok());
  EXPECT_NE(msg(w.add_tensor(std::string(63, 'x'), GgmlType::F32, ne, data)).find("duplicate"),
            std::string::npos);
  EXPECT_NE(msg(w.add_tensor("s", GgmlType::F32, ne, pattern_bytes(127, 0))).find("expected 128"),
            std::string::npos);
  std::vector<int64_t> odd{33};
  EXPECT_NE(msg(w.add_tensor("q", GgmlType::Q4_0, odd, data)).find("block size 32"),
            std::string::npos);
  EXPECT_NE(msg(w.add_tensor("r", static_cast<GgmlType>(4), ne, data)).find("removed"),
            std::string::npos);
  std::vector<int64_t> zero{0};
  EXPECT_NE(msg(w.add_tensor("z", GgmlType::F32, zero, data)).find("positive"), std::string::npos);
  std::vector<int64_t> five{1, 1, 1, 1, 32};
  EXPECT_NE(msg(w.add_tensor("f", GgmlType::F32, five, data)).find("1..4"), std::string::npos);

  GgufWriter mixed;
  mixed.set("m", Value{ArrayValue{ValueType::UINT32, {Value{uint32_t{1}}, Value{int32_t{2}}}}});
  EXPECT_NE(msg(mixed.to_bytes().status()).find("item 1 has type i32, expected u32"),
            std::string::npos);
  GgufWriter empty_key;
  empty_key.set_u32("", 1);
  EXPECT_FALSE(empty_key.to_bytes().is_ok());
  GgufWriter bad_align;
  bad_align.set_alignment(48);
  EXPECT_NE(msg(bad_align.to_bytes().status()).find("alignment 48"), std::string::npos);
}

TEST(GgufWriter, WriteFileThenOpen) {
  auto dir =
      std::filesystem::temp_directory_path() / ("kiln_gguf_writer_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "sample.gguf").string();
  GgufWriter w = sample_writer();
  ASSERT_TRUE(w.write_file(path).is_ok());
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.is_ok());
  EXPECT_EQ(std::filesystem::file_size(path), bytes->size());
  EXPECT_EQ(file->tensors().size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_FALSE(w.write_file((dir / "no_such_dir" / "x.gguf").string()).is_ok());
  std::filesystem::remove_all(dir);
}

// Deferred tensors (streamed through a fill callback) give the same file as
// tensors added with their data; a failing fill leaves neither file nor .tmp.
TEST(GgufWriter, DeferredTensorsStreamThroughFill) {
  auto dir =
      std::filesystem::temp_directory_path() / ("kiln_gguf_deferred_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "deferred.gguf").string();
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  const std::vector<int64_t> ne_a = {8, 2}, ne_b = {64};
  ASSERT_TRUE(w.add_tensor_deferred("a.weight", GgmlType::F32, ne_a).is_ok());
  ASSERT_TRUE(w.add_tensor("b.weight", GgmlType::Q4_0, ne_b, pattern_bytes(36, 2)).is_ok());
  ASSERT_TRUE(w.add_tensor_deferred("c.weight", GgmlType::F16, ne_a).is_ok());
  EXPECT_FALSE(w.to_bytes().is_ok());
  EXPECT_FALSE(w.write_file(path).is_ok());
  std::vector<size_t> calls;
  auto fill = [&](size_t i, std::span<uint8_t> out) {
    calls.push_back(i);
    const auto bytes = pattern_bytes(out.size(), static_cast<uint8_t>(i + 1));
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return Status::ok();
  };
  ASSERT_TRUE(w.write_file(path, fill).is_ok());
  EXPECT_EQ(calls, (std::vector<size_t>{0, 2}));
  GgufWriter same;
  same.set_string("general.architecture", "llama");
  ASSERT_TRUE(same.add_tensor("a.weight", GgmlType::F32, ne_a, pattern_bytes(64, 1)).is_ok());
  ASSERT_TRUE(same.add_tensor("b.weight", GgmlType::Q4_0, ne_b, pattern_bytes(36, 2)).is_ok());
  ASSERT_TRUE(same.add_tensor("c.weight", GgmlType::F16, ne_a, pattern_bytes(32, 3)).is_ok());
  auto want = same.to_bytes();
  ASSERT_TRUE(want.is_ok());
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> got{std::istreambuf_iterator<char>(in),
                                 std::istreambuf_iterator<char>()};
  EXPECT_EQ(got, *want);
  const std::string failed = (dir / "failed.gguf").string();
  auto bad_fill = [](size_t, std::span<uint8_t>) { return Status::error("fill failed"); };
  const Status st = w.write_file(failed, bad_fill);
  EXPECT_EQ(st.message(), "fill failed");
  EXPECT_FALSE(std::filesystem::exists(failed));
  EXPECT_FALSE(std::filesystem::exists(failed + ".tmp"));
  std::filesystem::remove_all(dir);
}

TEST(GgufGetters, ErrorsNameTheKeyAndTypes) {
  GgufWriter w = sample_writer();
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.is_ok());
  auto file = GgufFile::parse(*bytes);
  ASSERT_TRUE(file.is_ok());
  EXPECT_EQ(file->get_u32("nope").status().message(), "key 'nope' is missing");
  EXPECT_EQ(file->get_u32("test.i32").status().message(),
            "key 'test.i32' has type i32, expected u32");
  EXPECT_EQ(file->get_string("test.u8").status().message(),
            "key 'test.u8' has type u8, expected string");
  EXPECT_EQ(file->get_f32_array("test.ints").status().message(),
            "key 'test.ints' has type array[i32], expected array[f32]");
  EXPECT_EQ(file->get_string_array("test.f64").status().message(),
            "key 'test.f64' has type f64, expected array[string]");
  EXPECT_EQ(file->get_bool("test.bool").value(), true);
  EXPECT_FALSE(file->get_u64("test.i64").is_ok());
  EXPECT_TRUE(file->has("test.nested"));
  EXPECT_FALSE(file->has("test.nested.x"));
}

}  // namespace
}  // namespace kiln::gguf
