#include "base/status.h"

#include <gtest/gtest.h>

namespace platops {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("must be even, got " + std::to_string(x), "x");
  return x / 2;
}

Result<int> Quarter(int x) {
  PLATOPS_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = InvalidArgument("must be 1..4, got 7", "tier");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "validation_failed: tier: must be 1..4, got 7");
}

TEST(StatusTest, FieldPrefix) {
  EXPECT_EQ(InvalidArgument("bad", "service").WithFieldPrefix("depends_on[1]").field(),
            "depends_on[1].service");
  EXPECT_EQ(InvalidArgument("bad", "[2]").WithFieldPrefix("tags").field(), "tags[2]");
  EXPECT_EQ(InvalidArgument("bad").WithFieldPrefix("tier").field(), "tier");
}

TEST(StatusTest, ResultPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "must be even, got 3");
}

}  // namespace
}  // namespace platops
