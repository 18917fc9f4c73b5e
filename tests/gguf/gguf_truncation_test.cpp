// Truncation at every byte position of a small valid file: every prefix that
// cuts into the header, metadata, tensor infos or tensor data is an error
// (never a crash); prefixes that keep all tensor data parse. Real files are
// truncated at a stride.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "gguf/gguf.h"
#include "sample_file.h"

namespace kiln::gguf {
namespace {

// Exactly-sized heap copy of the first n bytes, so ASan catches overreads.
Result<GgufFile> parse_prefix(const std::vector<uint8_t>& bytes, size_t n) {
  std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
  prefix.shrink_to_fit();
  auto file = GgufFile::parse(prefix);
  if (file.is_ok()) return Status::error("ok");  // the span dies with `prefix`
  return file.status();
}

TEST(GgufTruncation, EveryBytePositionOfASmallFile) {
  auto bytes = testing::sample_writer().to_bytes();
  ASSERT_TRUE(bytes.is_ok());
  auto full = GgufFile::parse(*bytes);
  ASSERT_TRUE(full.is_ok());
  const TensorInfo& last = full->tensors().back();
  size_t needed = full->data_offset() + last.offset + last.n_bytes;
  ASSERT_EQ(needed, bytes->size());  // sample_writer's last tensor needs no padding
  for (size_t n = 0; n < bytes->size(); ++n) {
    auto r = parse_prefix(*bytes, n);
    ASSERT_NE(r.status().message(), "ok") << "prefix of " << n << " bytes parsed";
    ASSERT_EQ(r.status().message().find('\n'), std::string::npos);
  }
}

TEST(GgufTruncation, RealFileAtAStride) {
  std::string path = std::string(KILN_SHARED_DIR) + "/golden/stories260K/stories260K-Q8_0.gguf";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  auto full = GgufFile::parse(bytes);
  ASSERT_TRUE(full.is_ok()) << full.status().message();
  const TensorInfo* last = &full->tensors()[0];
  for (const auto& t : full->tensors()) {
    if (t.offset > last->offset) last = &t;
  }
  size_t needed = full->data_offset() + last->offset + last->n_bytes;
  // Every byte of the first 2 KiB, every 61st of the rest of the metadata,
  // every 4093rd in the data, and the bytes around the end of the data.
  auto step = [&](size_t n) -> size_t {
    if (n < 2048 || (n + 64 >= needed && n < needed + 64)) return 1;
    return n < full->data_offset() ? 61 : 4093;
  };
  for (size_t n = 0; n < bytes.size(); n += step(n)) {
    auto r = parse_prefix(bytes, n);
    if (n < needed) {
      ASSERT_NE(r.status().message(), "ok") << "prefix of " << n << " bytes parsed";
    } else {
      ASSERT_EQ(r.status().message(), "ok") << r.status().message();
    }
  }
}

}  // namespace
}  // namespace kiln::gguf
