#include "base/strings.h"

#include <gtest/gtest.h>

namespace platops {
namespace {

TEST(StringsTest, Utf8) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("Zürich €  \xF0\x9F\x9A\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(StringsTest, SplitJoin) {
  auto parts = Split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(Join(parts, "|"), "a||b");
  EXPECT_EQ(Abbreviate(std::string(100, 'x'), 4), "xxxx...");
}

}  // namespace
}  // namespace platops
