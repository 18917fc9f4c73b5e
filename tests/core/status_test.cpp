#include "core/status.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return Status::error("not positive: " + std::to_string(x));
  return x;
}

Result<int> doubled(int x) {
  KILN_ASSIGN_OR_RETURN(int v, parse_positive(x));
  return 2 * v;
}

TEST(Status, OkAndError) {
  EXPECT_TRUE(Status::ok().is_ok());
  Status s = Status::error("boom").with_context("loading");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.message(), "loading: boom");
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(doubled(3).value(), 6);
  auto r = doubled(-1);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "not positive: -1");
}

}  // namespace
}  // namespace kiln
