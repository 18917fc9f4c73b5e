#include "core/ggml_type.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(GgmlType, SizesMatchTheFormatTable) {
  EXPECT_EQ(ggml_type_traits(2)->type_size, 18u);
  EXPECT_EQ(ggml_type_traits(12)->block_size, 256u);
  EXPECT_EQ(ggml_type_traits(12)->type_size, 144u);
  EXPECT_EQ(ggml_type_traits(30)->name, "bf16");
  EXPECT_EQ(ggml_type_traits(42)->type_size, 18u);
}

TEST(GgmlType, RemovedAndUnknownIdsHaveNoTraits) {
  for (uint32_t id : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u}) {
    EXPECT_FALSE(ggml_type_traits(id).has_value()) << id;
    EXPECT_TRUE(ggml_type_removed(id)) << id;
  }
  EXPECT_FALSE(ggml_type_traits(43).has_value());
  EXPECT_FALSE(ggml_type_removed(43));
  EXPECT_FALSE(ggml_type_traits(0xFFFFFFFFu).has_value());
}

}  // namespace
}  // namespace kiln
