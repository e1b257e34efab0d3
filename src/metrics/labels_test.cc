#include "metrics/labels.h"

#include <gtest/gtest.h>

namespace platops::metrics {
namespace {

TEST(LabelsTest, NormalizeSortsDedupsAndDropsEmptyValues) {
  Labels l = Normalize({{"job", "a"}, {"__name__", "up"}, {"env", ""}, {"job", "b"}});
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0], (Label{"__name__", "up"}));
  EXPECT_EQ(l[1], (Label{"job", "b"}));
  EXPECT_EQ(Get(l, "job"), "b");
  EXPECT_EQ(Get(l, "env"), "");
}

TEST(LabelsTest, ToStringEscapesLikePrometheus) {
  Labels l = Normalize({{"__name__", "up"}, {"path", "a\"b\\c\nd"}, {"job", "x"}});
  EXPECT_EQ(ToString(l), R"(up{job="x",path="a\"b\\c\nd"})");
  EXPECT_EQ(ToString(Normalize({{"job", "x"}})), R"({job="x"})");
}

}  // namespace
}  // namespace platops::metrics
