#include "alerting/label_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace platops::alerting {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Names(const LabelSet& set) {
  std::vector<std::string> names;
  for (const Label& label : set) names.push_back(label.name);
  return names;
}

TEST(LabelSetTest, FromPairsSortsByName) {
  auto set = LabelSet::FromPairs({{"job", "node"}, {"alertname", "Down"}, {"Zone", "eu"}});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_THAT(Names(*set), ElementsAre("Zone", "alertname", "job"));
  EXPECT_EQ(set->size(), 3u);
  EXPECT_EQ(set->Get("job"), "node");
}

TEST(LabelSetTest, FromPairsRejectsDuplicateNames) {
  auto set = LabelSet::FromPairs({{"job", "a"}, {"instance", "x"}, {"job", "b"}});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(set.status().message(), "duplicate label name \"job\"");
}

TEST(LabelSetTest, FromPairsOfNothingIsEmpty) {
  auto set = LabelSet::FromPairs({});
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->empty());
  EXPECT_EQ(set->begin(), set->end());
}

TEST(LabelSetTest, AbsentLabelReadsAsEmpty) {
  LabelSet set{{"job", "node"}, {"empty", ""}};
  EXPECT_EQ(set.Get("missing"), "");
  EXPECT_FALSE(set.Has("missing"));
  EXPECT_EQ(set.Get("empty"), "");
  EXPECT_TRUE(set.Has("empty"));
  EXPECT_FALSE(set.Has("jo"));
  EXPECT_FALSE(set.Has("jobs"));
}

TEST(LabelSetTest, SetInsertsInOrderAndReplaces) {
  LabelSet set;
  set.Set("m", "1");
  set.Set("a", "2");
  set.Set("z", "3");
  set.Set("c", "4");
  EXPECT_THAT(Names(set), ElementsAre("a", "c", "m", "z"));
  set.Set("m", "replaced");
  EXPECT_EQ(set.size(), 4u);
  EXPECT_EQ(set.Get("m"), "replaced");
}

TEST(LabelSetTest, EraseReportsWhetherPresent) {
  LabelSet set{{"a", "1"}, {"b", "2"}, {"c", "3"}};
  EXPECT_TRUE(set.Erase("b"));
  EXPECT_FALSE(set.Erase("b"));
  EXPECT_FALSE(set.Erase("zz"));
  EXPECT_THAT(Names(set), ElementsAre("a", "c"));
  EXPECT_EQ(set.Get("b"), "");
}

TEST(LabelSetTest, InitializerListKeepsLastDuplicate) {
  LabelSet set{{"b", "1"}, {"a", "x"}, {"b", "2"}};
  EXPECT_THAT(set.labels(), ElementsAre(Label{"a", "x"}, Label{"b", "2"}));
}

TEST(LabelSetTest, EqualityIgnoresConstructionOrder) {
  LabelSet a{{"x", "1"}, {"y", "2"}};
  LabelSet b{{"y", "2"}, {"x", "1"}};
  EXPECT_EQ(a, b);
  b.Set("y", "3");
  EXPECT_NE(a, b);
  LabelSet c{{"x", "1"}};
  EXPECT_NE(a, c);
  EXPECT_EQ(LabelSet(), LabelSet());
}

TEST(LabelSetTest, NamesSortByBytes) {
  // Go's sort.Strings order: upper case before '_' before lower case; a prefix sorts first.
  LabelSet set{{"a_b", ""}, {"ab", ""}, {"_", ""}, {"a", ""}, {"B", ""}};
  EXPECT_THAT(Names(set), ElementsAre("B", "_", "a", "a_b", "ab"));
}

TEST(LabelSetTest, StaysSmall) {
  // The alert store keeps one per alert: one vector, no per-set allocation beyond the labels.
  EXPECT_LE(sizeof(LabelSet), 24u);
  EXPECT_LE(sizeof(Label), 64u);
}

// Values from prometheus/common model/signature_test.go.
TEST(FingerprintTest, MatchesPrometheusCommon) {
  EXPECT_EQ(Fingerprint(LabelSet()), 14695981039346656037ULL);
  EXPECT_EQ(Fingerprint(LabelSet{{"name", "garland, briggs"}, {"fear", "love is not enough"}}),
            5799056148416392346ULL);
  EXPECT_EQ(Fingerprint(LabelSet{{"first-label", "first-label-value"}}), 5146282821936882169ULL);
  EXPECT_EQ(Fingerprint(LabelSet{{"first-label", "first-label-value"},
                                 {"second-label", "second-label-value"}}),
            3195800080984914717ULL);
  EXPECT_EQ(Fingerprint(LabelSet{{"first-label", "first-label-value"},
                                 {"second-label", "second-label-value"},
                                 {"third-label", "third-label-value"}}),
            13843036195897128121ULL);
}

// FNV-1a 64 worked by hand over the bytes `a` 0xff `b` 0xff and friends.
TEST(FingerprintTest, HashesNameSeparatorValueSeparator) {
  EXPECT_EQ(Fingerprint(LabelSet{{"a", "b"}}), 0xd2b371819297f98aULL);
  // The separator keeps the name/value boundary: these two differ.
  EXPECT_EQ(Fingerprint(LabelSet{{"ab", "c"}}), 0x20ba9b3025a8b421ULL);
  EXPECT_EQ(Fingerprint(LabelSet{{"a", "bc"}}), 0xa0a3542c19b900abULL);
}

TEST(FingerprintTest, IndependentOfInsertionOrder) {
  LabelSet a;
  a.Set("fear", "love is not enough");
  a.Set("name", "garland, briggs");
  LabelSet b;
  b.Set("name", "garland, briggs");
  b.Set("fear", "love is not enough");
  EXPECT_EQ(Fingerprint(a), Fingerprint(b));
}

TEST(FingerprintTest, PrintsAsSixteenHexDigits) {
  EXPECT_EQ(FingerprintString(14695981039346656037ULL), "cbf29ce484222325");
  EXPECT_EQ(FingerprintString(5799056148416392346ULL), "507a62d79ee76c9a");
  EXPECT_EQ(FingerprintString(0x2aULL), "000000000000002a");
  EXPECT_EQ(FingerprintString(0), "0000000000000000");
}

TEST(ToStringTest, SortedNamesQuotedValues) {
  EXPECT_EQ(ToString(LabelSet()), "{}");
  EXPECT_EQ(ToString(LabelSet{{"job", "node"}}), R"({job="node"})");
  EXPECT_EQ(ToString(LabelSet{{"c", "d"}, {"a", "b"}, {"e", ""}}), R"({a="b", c="d", e=""})");
}

TEST(ToStringTest, EscapesLikeGoPercentQ) {
  EXPECT_EQ(ToString(LabelSet{{"v", "say \"hi\" \\ bye"}}), R"({v="say \"hi\" \\ bye"})");
  EXPECT_EQ(ToString(LabelSet{{"v", "a\nb\tc"}}), R"({v="a\nb\tc"})");
}

TEST(GoQuoteTest, ControlCharacters) {
  EXPECT_EQ(GoQuote("\a\b\f\n\r\t\v"), R"("\a\b\f\n\r\t\v")");
  EXPECT_EQ(GoQuote(std::string("\x00\x01\x1f\x7f", 4)), R"("\x00\x01\x1f\x7f")");
  EXPECT_EQ(GoQuote("plain ascii ~!@#$%^&*()'`"), R"("plain ascii ~!@#$%^&*()'`")");
  EXPECT_EQ(GoQuote(""), R"("")");
}

TEST(GoQuoteTest, InvalidUtf8BytesAsHex) {
  EXPECT_EQ(GoQuote("\xfflabel"), R"("\xfflabel")");
  EXPECT_EQ(GoQuote("\xc3"), R"("\xc3")");                  // truncated sequence
  EXPECT_EQ(GoQuote("\xc0\xaf"), R"("\xc0\xaf")");          // overlong '/'
  EXPECT_EQ(GoQuote("\xed\xa0\x80"), R"("\xed\xa0\x80")");  // surrogate U+D800
}

TEST(GoQuoteTest, PrintableUnicodeKeptOthersEscaped) {
  EXPECT_EQ(GoQuote("caf\u00e9 \u65e5\u672c \U0001F600"), "\"caf\u00e9 \u65e5\u672c \U0001F600\"");
  EXPECT_EQ(GoQuote("\uFFFD"), "\"\uFFFD\"");           // a real U+FFFD is printable
  EXPECT_EQ(GoQuote("a\u00a0b"), R"("a\u00a0b")");      // no-break space: Zs, not printable
  EXPECT_EQ(GoQuote("\u0085"), R"("\u0085")");          // C1 control
  EXPECT_EQ(GoQuote("\u00ad"), R"("\u00ad")");          // soft hyphen: Cf
  EXPECT_EQ(GoQuote("\u200b"), R"("\u200b")");          // zero width space: Cf
  EXPECT_EQ(GoQuote("\u2028"), R"("\u2028")");          // line separator: Zl
  EXPECT_EQ(GoQuote("\ue000"), R"("\ue000")");          // private use
  EXPECT_EQ(GoQuote("\U000E0001"), R"("\U000e0001")");  // language tag: Cf
  EXPECT_EQ(GoQuote("\U0010FFFF"), R"("\U0010ffff")");  // noncharacter
}

TEST(DecodeRuneTest, FollowsGoUtf8) {
  EXPECT_EQ(DecodeRune("a", 0), std::make_pair(char32_t{'a'}, size_t{1}));
  EXPECT_EQ(DecodeRune("\u00e9", 0), std::make_pair(char32_t{0xe9}, size_t{2}));
  EXPECT_EQ(DecodeRune("x\u20ac", 1), std::make_pair(char32_t{0x20ac}, size_t{3}));
  EXPECT_EQ(DecodeRune("\U0010FFFF", 0), std::make_pair(char32_t{0x10ffff}, size_t{4}));
  const auto error = std::make_pair(char32_t{0xfffd}, size_t{1});
  EXPECT_EQ(DecodeRune("\x80", 0), error);
  EXPECT_EQ(DecodeRune("\xe2\x82", 0), error);          // truncated
  EXPECT_EQ(DecodeRune("\xe0\x80\x80", 0), error);      // overlong
  EXPECT_EQ(DecodeRune("\xf4\x90\x80\x80", 0), error);  // above U+10FFFF
  EXPECT_EQ(DecodeRune("\xf5\x80\x80\x80", 0), error);
}

TEST(LabelNameTest, ClassicRules) {
  EXPECT_TRUE(IsValidLabelName("alertname"));
  EXPECT_TRUE(IsValidLabelName("_"));
  EXPECT_TRUE(IsValidLabelName("__name__"));
  EXPECT_TRUE(IsValidLabelName("Zone9_b"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("0x"));
  EXPECT_FALSE(IsValidLabelName("a-b"));
  EXPECT_FALSE(IsValidLabelName("a:b"));  // colons are for metric names only
  EXPECT_FALSE(IsValidLabelName("a b"));
  EXPECT_FALSE(IsValidLabelName("\u00e9t\u00e9"));
}

TEST(ValidateTest, AcceptsValidSets) {
  EXPECT_TRUE(Validate(LabelSet{{"alertname", "Down"}}).ok());
  EXPECT_TRUE(Validate(LabelSet{{"alertname", "Down"}, {"_x9", ""}, {"v", "\u65e5\u672c"}}).ok());
}

TEST(ValidateTest, EmptySetNeedsALabel) {
  Status s = Validate(LabelSet());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "at least one label pair required");
}

TEST(ValidateTest, InvalidNames) {
  EXPECT_EQ(Validate(LabelSet{{"0x", "a"}}).message(), R"(invalid label set: invalid name "0x")");
  EXPECT_EQ(Validate(LabelSet{{"a", "b"}, {"!bad", "label"}}).message(),
            R"(invalid label set: invalid name "!bad")");
  EXPECT_EQ(Validate(LabelSet{{"", "x"}}).message(), R"(invalid label set: invalid name "")");
  EXPECT_EQ(Validate(LabelSet{{"a\nb", "x"}}).message(),
            R"(invalid label set: invalid name "a\nb")");
  EXPECT_EQ(Validate(LabelSet{{"a", "b"}, {"0x", "a"}}).code(), StatusCode::kInvalidArgument);
}

TEST(ValidateTest, InvalidValues) {
  EXPECT_EQ(Validate(LabelSet{{"a", "b"}, {"bad", "\xfflabel"}}).message(),
            R"(invalid label set: invalid value "\xfflabel")");
  EXPECT_EQ(Validate(LabelSet{{"s", "\xed\xa0\x80"}}).message(),
            R"(invalid label set: invalid value "\xed\xa0\x80")");
}

TEST(ValidateTest, ReportsFirstProblemInNameOrder) {
  EXPECT_EQ(Validate(LabelSet{{"b", "\xff"}, {"0a", "x"}}).message(),
            R"(invalid label set: invalid name "0a")");
  EXPECT_EQ(Validate(LabelSet{{"a", "\xff"}, {"b-c", "x"}}).message(),
            R"(invalid label set: invalid value "\xff")");
}

}  // namespace
}  // namespace platops::alerting
