#include "metrics/matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace platops::metrics {
namespace {

CompiledMatcher C(MatchType type, const char* value) {
  auto m = CompiledMatcher::Compile({type, "job", value});
  EXPECT_TRUE(m.ok()) << m.status().message();
  return std::move(m).value();
}

TEST(MatcherTest, RegexesAreFullyAnchoredAndDotMatchesNewlines) {
  auto m = C(MatchType::kRegexMatch, "api");
  EXPECT_TRUE(m.Matches("api"));
  EXPECT_FALSE(m.Matches("apiserver"));
  EXPECT_FALSE(m.Matches("my-api"));
  auto dot = C(MatchType::kRegexMatch, "a.*z");
  EXPECT_TRUE(dot.Matches("a\nz"));
  auto alt = C(MatchType::kRegexMatch, "a|b.c");
  EXPECT_TRUE(alt.Matches("bxc"));
  EXPECT_FALSE(alt.Matches("ab.c"));  // Anchoring wraps the whole alternation.
}

TEST(MatcherTest, RecognisesLiteralSetsAndPrefixes) {
  auto set = C(MatchType::kRegexMatch, "node|api|db|api");
  EXPECT_TRUE(set.is_set());
  EXPECT_THAT(set.set_values(), ::testing::ElementsAre("api", "db", "node"));
  EXPECT_TRUE(set.Matches("db"));
  EXPECT_FALSE(set.Matches("d"));
  auto prefix = C(MatchType::kRegexMatch, "api.*");
  EXPECT_EQ(prefix.prefix(), "api");
  EXPECT_TRUE(prefix.Matches("api"));
  EXPECT_TRUE(prefix.Matches("apiserver"));
  auto plus = C(MatchType::kRegexMatch, "api.+");
  EXPECT_FALSE(plus.Matches("api"));
  EXPECT_TRUE(plus.Matches("api2"));
  auto general = C(MatchType::kRegexMatch, "api[0-9]");
  EXPECT_FALSE(general.is_set());
  EXPECT_TRUE(general.prefix().empty());
  EXPECT_TRUE(general.Matches("api7"));
}

TEST(MatcherTest, NegatedMatchersAndTheEmptyValue) {
  EXPECT_TRUE(C(MatchType::kNotEqual, "x").Matches(""));
  EXPECT_TRUE(C(MatchType::kNotEqual, "x").MatchesEmpty());
  EXPECT_FALSE(C(MatchType::kNotEqual, "").MatchesEmpty());
  EXPECT_TRUE(C(MatchType::kRegexMatch, ".*").MatchesEmpty());
  EXPECT_FALSE(C(MatchType::kRegexMatch, ".+").MatchesEmpty());
  EXPECT_TRUE(C(MatchType::kEqual, "").MatchesEmpty());
  auto not_set = C(MatchType::kRegexNoMatch, "a|b");
  EXPECT_TRUE(not_set.negated());
  EXPECT_FALSE(not_set.Matches("a"));
  EXPECT_TRUE(not_set.Matches("c"));
}

TEST(MatcherTest, RejectsInvalidRegexesNamingTheLabel) {
  auto m = CompiledMatcher::Compile({MatchType::kRegexMatch, "job", "a("});
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), ::testing::HasSubstr("invalid regular expression \"a(\""));
  EXPECT_EQ(m.status().field(), "job");
}

}  // namespace
}  // namespace platops::metrics
