// The malformed corpus (malformed_cases.cpp): every case must fail to parse,
// with a one-line message that names the problem (and, except for an empty
// file, the byte offset). Boundary values just inside the rules must parse.
// Random mutations of a valid file must never crash (ASan/UBSan).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <string>

#include "byte_builder.h"
#include "gguf/gguf.h"
#include "malformed_cases.h"
#include "sample_file.h"

namespace kiln::gguf {
namespace {

using testing::ByteBuilder;
using testing::MalformedCase;

class Malformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(Malformed, FailsWithMessage) {
  const MalformedCase& c = GetParam();
  // Exactly-sized heap copy, so ASan catches any read past the end.
  std::vector<uint8_t> bytes(c.bytes);
  auto file = GgufFile::parse(bytes);
  ASSERT_FALSE(file.is_ok()) << c.name << " parsed";
  const std::string& msg = file.status().message();
  EXPECT_NE(msg.find(c.expect), std::string::npos) << "message: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  if (c.name != "empty_file") {
    EXPECT_EQ(msg.rfind("at byte ", 0), 0u) << msg;
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, Malformed, ::testing::ValuesIn(testing::malformed_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(MalformedCorpus, NamesAreUnique) {
  std::set<std::string> names;
  for (const auto& c : testing::malformed_cases())
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
  EXPECT_GE(names.size(), 60u);
}

Result<GgufFile> parse(const ByteBuilder& b) { return GgufFile::parse(b.bytes()); }

// Values at the edge of each rule are accepted.
TEST(GgufBoundaries, AcceptedJustInsideTheRules) {
  ByteBuilder vocab_only;  // no tensors: the file may end right after the metadata
  vocab_only.header(2, 0, 3).kv_string("general.architecture", "llama");
  vocab_only.str("f0").u32(7).u8(0).str("f1").u32(7).u8(1);
  auto v = parse(vocab_only);
  ASSERT_TRUE(v.is_ok()) << v.status().message();
  EXPECT_EQ(v->version(), 2u);
  EXPECT_FALSE(v->get_bool("f0").value());
  EXPECT_TRUE(v->get_bool("f1").value());

  ByteBuilder b;
  b.header(3, 1, 1).kv_u32("general.alignment", 1);
  b.tensor(std::string(63, 'n'), {1, 1, 1, 1}, 24, 0).u8(42);  // i8, 1 element, alignment 1
  auto t = parse(b);
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(t->alignment(), 1u);
  EXPECT_EQ(t->tensors()[0].n_dims, 4);
  EXPECT_EQ(t->tensor_data(t->tensors()[0])[0], 42);

  ByteBuilder big_align;
  big_align.header(3, 0, 1).kv_u32("general.alignment", kMaxAlignment);
  EXPECT_TRUE(parse(big_align).is_ok());

  ByteBuilder extra;  // bytes after the last tensor are tolerated
  extra.header(3, 1, 0).tensor("w", {8}, 0, 0).pad_to(32).zeros(32 + 100);
  EXPECT_TRUE(parse(extra).is_ok());

  ByteBuilder unpadded;  // the last tensor needs no padding after it
  unpadded.header(3, 1, 0).tensor("w", {3}, 0, 0).pad_to(32).zeros(12);
  EXPECT_TRUE(parse(unpadded).is_ok());
}

TEST(GgufOpen, ErrorsArePrefixedWithThePath) {
  auto missing = GgufFile::open("/nonexistent/kiln.gguf");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/kiln.gguf"), std::string::npos);
  auto dir = GgufFile::open("/");
  EXPECT_FALSE(dir.is_ok());
}

// Deterministic random mutations: must never crash; what parses must be usable.
TEST(GgufMutations, NeverCrash) {
  auto base = testing::sample_writer().to_bytes();
  ASSERT_TRUE(base.is_ok());
  std::mt19937_64 rng(1234);
  const uint64_t kInteresting[] = {
      0,     1,          2,         31, 32, 63, 64, 0x7fffffffffffffffull, 0x8000000000000000ull,
      ~0ull, 1ull << 32, 1ull << 30};
  int parsed = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> bytes = *base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % bytes.size();
      switch (rng() % 3) {
        case 0:
          bytes[pos] = static_cast<uint8_t>(rng());
          break;
        case 1:
          bytes[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        default: {
          uint64_t v = kInteresting[rng() % std::size(kInteresting)];
          size_t n = std::min<size_t>(8, bytes.size() - pos);
          std::memcpy(bytes.data() + pos, &v, n);
        }
      }
    }
    if (rng() % 8 == 0) bytes.resize(rng() % bytes.size());
    auto file = GgufFile::parse(bytes);
    if (!file.is_ok()) continue;
    ++parsed;
    for (const auto& t : file->tensors()) {
      auto data = file->tensor_data(t);
      ASSERT_EQ(data.size(), t.n_bytes);
    }
    for (const auto& kv : file->metadata()) {
      (void)file->get_string(kv.key);
      (void)file->get_string_array(kv.key);
    }
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace kiln::gguf
