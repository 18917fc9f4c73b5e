// Quantization: bit-exact with gguf-py (simple types).
#include <gtest/gtest.h>

#include <vector>

#include "quant/quant.h"
#include "ref_data.h"

namespace kiln::quant {
namespace {

using testing::ref_cases;
using testing::ref_path;

TEST(Quantize, SimpleTypesBitExactWithGgufPy) {
  int checked = 0;
  for (const auto& c : ref_cases()) {
    if (c.kind != "quantize") continue;
    SCOPED_TRACE(c.type);
    const GgmlType type = testing::type_from_name(c.type);
    ASSERT_TRUE(can_quantize(type));
    const auto src = testing::read_floats(ref_path(c.stem + ".src"));
    const auto want = testing::read_bytes(ref_path(c.stem + ".q"));
    ASSERT_EQ(static_cast<int64_t>(src.size()), c.n);
    std::vector<uint8_t> got(row_bytes(type, c.n));
    quantize_row(type, src.data(), got.data(), c.n);
    ASSERT_EQ(got.size(), want.size());
    size_t bad = 0;
    while (bad < got.size() && got[bad] == want[bad]) ++bad;
    EXPECT_EQ(bad, got.size()) << "first differing byte " << bad;
    ++checked;
  }
  EXPECT_EQ(checked, 7);
}

}  // namespace
}  // namespace kiln::quant
