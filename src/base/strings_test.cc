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


TEST(StringsTest, Fnv1a64MatchesTheReferenceVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(StringsTest, QuoteForMessageEscapesQuotesAndBackslashes) {
  EXPECT_EQ(QuoteForMessage(R"(a"b\c)"), R"("a\"b\\c")");
}

TEST(StringsTest, EscapeMarkupForSlackAndForGoHtml) {
  const std::string s("a<b>&'c\"", 8);
  EXPECT_EQ(EscapeMarkup(s), "a&lt;b&gt;&amp;'c\"");
  EXPECT_EQ(EscapeMarkup(s, true), "a&lt;b&gt;&amp;&#39;c&#34;");
  EXPECT_EQ(EscapeMarkup(std::string("x\0y", 3), true), "x\xEF\xBF\xBDy");
  EXPECT_EQ(EscapeMarkup(std::string("x\0y", 3)), std::string("x\0y", 3));
}

TEST(StringsTest, AppendUtf8EncodesEveryLength) {
  std::string out;
  for (uint32_t cp : {0x41u, 0xE9u, 0x20ACu, 0x1F600u}) AppendUtf8(out, cp);
  EXPECT_EQ(out, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}
}  // namespace
}  // namespace platops
