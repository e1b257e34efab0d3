#include "alerting/matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace platops::alerting {
namespace {

Matcher Make(MatchType type, std::string name, std::string value) {
  auto m = Matcher::Create(type, std::move(name), std::move(value));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

TEST(MatcherTest, EqualAndNotEqual) {
  Matcher eq = Make(MatchType::kEqual, "job", "node");
  EXPECT_TRUE(eq.Matches("node"));
  EXPECT_FALSE(eq.Matches("nodes"));
  EXPECT_FALSE(eq.Matches("Node"));
  EXPECT_FALSE(eq.Matches(""));
  Matcher ne = Make(MatchType::kNotEqual, "job", "node");
  EXPECT_FALSE(ne.Matches("node"));
  EXPECT_TRUE(ne.Matches("nodes"));
  EXPECT_TRUE(ne.Matches(""));
  EXPECT_EQ(ne.type(), MatchType::kNotEqual);
  EXPECT_EQ(ne.name(), "job");
  EXPECT_EQ(ne.value(), "node");
}

TEST(MatcherTest, RegexIsAnchoredAtBothEnds) {
  Matcher re = Make(MatchType::kRegex, "foo", "b");
  EXPECT_TRUE(re.Matches("b"));
  EXPECT_FALSE(re.Matches("abc"));
  EXPECT_FALSE(re.Matches("ab"));
  EXPECT_FALSE(re.Matches("bc"));
  EXPECT_FALSE(re.Matches("b\n"));  // `$` is the end of the text, not of a line
  // The value is grouped before anchoring: each alternative must match the whole value.
  Matcher alt = Make(MatchType::kRegex, "foo", "a|b");
  EXPECT_TRUE(alt.Matches("a"));
  EXPECT_TRUE(alt.Matches("b"));
  EXPECT_FALSE(alt.Matches("ab"));
  Matcher dot = Make(MatchType::kRegex, "foo", "bar.*");
  EXPECT_TRUE(dot.Matches("bar"));
  EXPECT_TRUE(dot.Matches("barbaz"));
  EXPECT_FALSE(dot.Matches("xbar"));
  EXPECT_FALSE(dot.Matches("bar\nbaz"));  // `.` does not match a newline
}

TEST(MatcherTest, NotRegex) {
  Matcher m = Make(MatchType::kNotRegex, "status", "5..");
  EXPECT_FALSE(m.Matches("500"));
  EXPECT_TRUE(m.Matches("5000"));
  EXPECT_TRUE(m.Matches("404"));
  EXPECT_TRUE(m.Matches(""));
}

TEST(MatcherTest, MatchesEmpty) {
  EXPECT_TRUE(Make(MatchType::kEqual, "a", "").MatchesEmpty());
  EXPECT_FALSE(Make(MatchType::kEqual, "a", "x").MatchesEmpty());
  EXPECT_TRUE(Make(MatchType::kNotEqual, "a", "x").MatchesEmpty());
  EXPECT_FALSE(Make(MatchType::kNotEqual, "a", "").MatchesEmpty());
  EXPECT_TRUE(Make(MatchType::kRegex, "a", ".*").MatchesEmpty());
  EXPECT_FALSE(Make(MatchType::kRegex, "a", ".+").MatchesEmpty());
  EXPECT_TRUE(Make(MatchType::kNotRegex, "a", ".+").MatchesEmpty());
  EXPECT_FALSE(Make(MatchType::kNotRegex, "a", "").MatchesEmpty());
}

TEST(MatcherTest, BadRegexNamesTheMatcher) {
  auto m = Matcher::Create(MatchType::kRegex, "foo", "invalid[regexp");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(),
            "matcher foo=~\"invalid[regexp\": error parsing regexp: missing closing ]: "
            "`[regexp)$`");
  auto m2 = Matcher::Create(MatchType::kNotRegex, "foo", "a**");
  ASSERT_FALSE(m2.ok());
  EXPECT_EQ(m2.status().message(),
            "matcher foo!~\"a**\": error parsing regexp: invalid nested repetition operator: "
            "`**`");
  auto m3 = Matcher::Create(MatchType::kRegex, "foo", "(a");
  ASSERT_FALSE(m3.ok());
  EXPECT_EQ(m3.status().message(),
            "matcher foo=~\"(a\": error parsing regexp: missing closing ): `^(?:(a)$`");
  auto m4 = Matcher::Create(MatchType::kRegex, "foo", "*");
  ASSERT_FALSE(m4.ok());
  EXPECT_EQ(m4.status().message(),
            "matcher foo=~\"*\": error parsing regexp: missing argument to repetition operator: "
            "`*`");
}

TEST(MatcherTest, EqualRegexValueIsNotCompiled) {
  // Only the regex types compile their value; "[" is an ordinary value for = and !=.
  EXPECT_TRUE(Matcher::Create(MatchType::kEqual, "foo", "[").ok());
  EXPECT_TRUE(Matcher::Create(MatchType::kNotEqual, "foo", "[").ok());
}

TEST(MatcherTest, StringAsAlertmanagerPrintsIt) {
  EXPECT_EQ(Make(MatchType::kEqual, "foo", "bar").String(), R"(foo="bar")");
  EXPECT_EQ(Make(MatchType::kNotEqual, "foo", "bar").String(), R"(foo!="bar")");
  EXPECT_EQ(Make(MatchType::kRegex, "foo", "bar.*").String(), R"(foo=~"bar.*")");
  EXPECT_EQ(Make(MatchType::kNotRegex, "foo", "").String(), R"(foo!~"")");
  // Only backslash, newline and double quote are escaped; a tab stays as it is.
  EXPECT_EQ(Make(MatchType::kEqual, "q", "a\"b\\c\nd\te").String(), "q=\"a\\\"b\\\\c\\nd\te\"");
  EXPECT_EQ(Make(MatchType::kRegex, "path", R"(\d+)").String(), R"(path=~"\\d+")");
}

TEST(MatcherTest, MatchersString) {
  EXPECT_EQ(MatchersString({}), "{}");
  EXPECT_EQ(MatchersString(
                {Make(MatchType::kEqual, "foo", "bar"), Make(MatchType::kRegex, "job", "node.*")}),
            R"({foo="bar",job=~"node.*"})");
}

TEST(MatcherTest, EqualityComparesTypeNameValue) {
  EXPECT_EQ(Make(MatchType::kRegex, "a", "b"), Make(MatchType::kRegex, "a", "b"));
  EXPECT_NE(Make(MatchType::kRegex, "a", "b"), Make(MatchType::kNotRegex, "a", "b"));
  EXPECT_NE(Make(MatchType::kEqual, "a", "b"), Make(MatchType::kEqual, "a", "c"));
  EXPECT_NE(Make(MatchType::kEqual, "a", "b"), Make(MatchType::kEqual, "x", "b"));
  EXPECT_EQ(MatchTypeString(MatchType::kEqual), "=");
  EXPECT_EQ(MatchTypeString(MatchType::kNotEqual), "!=");
  EXPECT_EQ(MatchTypeString(MatchType::kRegex), "=~");
  EXPECT_EQ(MatchTypeString(MatchType::kNotRegex), "!~");
}

TEST(MatchesAllTest, AbsentLabelReadsAsEmpty) {
  const LabelSet labels{{"alertname", "Down"}, {"job", "node"}};
  EXPECT_TRUE(MatchesAll({}, labels));
  EXPECT_TRUE(MatchesAll({Make(MatchType::kEqual, "job", "node")}, labels));
  EXPECT_FALSE(MatchesAll(
      {Make(MatchType::kEqual, "job", "node"), Make(MatchType::kEqual, "alertname", "Up")},
      labels));
  EXPECT_TRUE(MatchesAll({Make(MatchType::kNotEqual, "foo", "bar")}, labels));
  EXPECT_TRUE(MatchesAll({Make(MatchType::kEqual, "foo", "")}, labels));
  EXPECT_FALSE(MatchesAll({Make(MatchType::kEqual, "job", "")}, labels));
  EXPECT_TRUE(MatchesAll({Make(MatchType::kRegex, "foo", ".*")}, labels));
  EXPECT_FALSE(MatchesAll({Make(MatchType::kRegex, "foo", ".+")}, labels));
  EXPECT_TRUE(MatchesAll({Make(MatchType::kNotRegex, "foo", ".+")}, labels));
  EXPECT_FALSE(MatchesAll({Make(MatchType::kEqual, "foo", "bar")}, labels));
}

struct Want {
  MatchType type;
  std::string name;
  std::string value;
};

struct ParseCase {
  std::string input;
  std::vector<Want> want;
  std::string error;  // when set, the exact message expected
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << "input `" << c.input << "`"; }

class ParseMatchersTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseMatchersTest, Table) {
  const ParseCase& c = GetParam();
  auto got = ParseMatchers(c.input);
  if (!c.error.empty()) {
    ASSERT_FALSE(got.ok()) << "parsed as " << MatchersString(*got);
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), c.error);
    return;
  }
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), c.want.size()) << MatchersString(*got);
  for (size_t i = 0; i < c.want.size(); ++i) {
    EXPECT_EQ((*got)[i].type(), c.want[i].type) << i;
    EXPECT_EQ((*got)[i].name(), c.want[i].name) << i;
    EXPECT_EQ((*got)[i].value(), c.want[i].value) << i;
  }
}

constexpr MatchType kEq = MatchType::kEqual;
constexpr MatchType kNe = MatchType::kNotEqual;
constexpr MatchType kRe = MatchType::kRegex;
constexpr MatchType kNre = MatchType::kNotRegex;

// The cases of Alertmanager's own parser tests (pkg/labels/parse_test.go), in the same order.
INSTANTIATE_TEST_SUITE_P(
    Alertmanager, ParseMatchersTest,
    ::testing::Values(
        ParseCase{"{}", {}, ""}, ParseCase{",", {}, "bad matcher format: "},
        ParseCase{"{,}", {}, "bad matcher format: "}, ParseCase{"{foo='}", {{kEq, "foo", "'"}}, ""},
        ParseCase{"{foo=`}", {{kEq, "foo", "`"}}, ""},
        ParseCase{R"({foo=\"})", {{kEq, "foo", "\""}}, ""},
        ParseCase{"{foo=bar}", {{kEq, "foo", "bar"}}, ""},
        ParseCase{R"({foo="bar"})", {{kEq, "foo", "bar"}}, ""},
        ParseCase{"{foo=~bar.*}", {{kRe, "foo", "bar.*"}}, ""},
        ParseCase{R"({foo=~"bar.*"})", {{kRe, "foo", "bar.*"}}, ""},
        ParseCase{"{foo!=bar}", {{kNe, "foo", "bar"}}, ""},
        ParseCase{R"({foo!="bar"})", {{kNe, "foo", "bar"}}, ""},
        ParseCase{"{foo!~bar.*}", {{kNre, "foo", "bar.*"}}, ""},
        ParseCase{R"({foo!~"bar.*"})", {{kNre, "foo", "bar.*"}}, ""},
        ParseCase{R"({foo="bar", baz!="quux"})", {{kEq, "foo", "bar"}, {kNe, "baz", "quux"}}, ""},
        ParseCase{
            R"({foo="bar", baz!~"quux.*"})", {{kEq, "foo", "bar"}, {kNre, "baz", "quux.*"}}, ""},
        ParseCase{R"({foo="bar",baz!~".*quux", derp="wat"})",
                  {{kEq, "foo", "bar"}, {kNre, "baz", ".*quux"}, {kEq, "derp", "wat"}},
                  ""},
        ParseCase{R"({foo="bar", baz!="quux", derp="wat"})",
                  {{kEq, "foo", "bar"}, {kNe, "baz", "quux"}, {kEq, "derp", "wat"}},
                  ""},
        ParseCase{R"({foo="bar", baz!~".*quux.*", derp="wat"})",
                  {{kEq, "foo", "bar"}, {kNre, "baz", ".*quux.*"}, {kEq, "derp", "wat"}},
                  ""},
        ParseCase{R"({foo="bar", instance=~"some-api.*"})",
                  {{kEq, "foo", "bar"}, {kRe, "instance", "some-api.*"}},
                  ""},
        ParseCase{R"({foo=""})", {{kEq, "foo", ""}}, ""},
        ParseCase{R"({foo="bar,quux", job="job1"})",
                  {{kEq, "foo", "bar,quux"}, {kEq, "job", "job1"}},
                  ""},
        ParseCase{R"({foo = "bar", dings != "bums", })",
                  {{kEq, "foo", "bar"}, {kNe, "dings", "bums"}},
                  ""},
        ParseCase{"foo=bar,dings!=bums", {{kEq, "foo", "bar"}, {kNe, "dings", "bums"}}, ""},
        ParseCase{"{quote=\"She said: \\\"Hi, ladies! That's gender-neutral\u2026\\\"\"}",
                  {{kEq, "quote", "She said: \"Hi, ladies! That's gender-neutral\u2026\""}},
                  ""},
        ParseCase{R"(statuscode=~"5..")", {{kRe, "statuscode", "5.."}}, ""},
        ParseCase{"tricky=~~~", {{kRe, "tricky", "~~"}}, ""},
        ParseCase{R"(trickier==\\=\=\")", {{kEq, "trickier", R"(=\=\=")"}}, ""},
        ParseCase{R"(contains_quote != "\"" , contains_comma !~ "foo,bar" , )",
                  {{kNe, "contains_quote", "\""}, {kNre, "contains_comma", "foo,bar"}},
                  ""},
        ParseCase{"{foo=bar}}", {{kEq, "foo", "bar}"}}, ""},
        ParseCase{"{foo=bar}},}", {{kEq, "foo", "bar}}"}}, ""},
        ParseCase{"{foo=,bar=}}", {{kEq, "foo", ""}, {kEq, "bar", "}"}}, ""},
        ParseCase{R"({foo=bar\t})", {{kEq, "foo", R"(bar\t)"}}, ""},
        ParseCase{R"({foo=bar\n})", {{kEq, "foo", "bar\n"}}, ""},
        ParseCase{R"({foo=bar\})", {{kEq, "foo", "bar\\"}}, ""},
        ParseCase{R"({foo=bar\\})", {{kEq, "foo", "bar\\"}}, ""},
        ParseCase{R"({foo=bar\"})", {{kEq, "foo", "bar\""}}, ""},
        ParseCase{"job=", {{kEq, "job", ""}}, ""},
        ParseCase{R"(job="value)", {}, R"(matcher value contains unescaped double quote: "value)"},
        ParseCase{R"(job=value")", {}, R"(matcher value contains unescaped double quote: value")"},
        ParseCase{R"(trickier==\\=\=\"")",
                  {},
                  R"(matcher value contains unescaped double quote: =\\=\=\"")"},
        ParseCase{R"(contains_unescaped_quote = foo"bar)",
                  {},
                  R"(matcher value contains unescaped double quote: foo"bar)"},
        ParseCase{R"({invalid-name = "valid label"})",
                  {},
                  R"(bad matcher format: invalid-name = "valid label")"},
        ParseCase{R"({foo=~"invalid[regexp"})",
                  {},
                  "matcher foo=~\"invalid[regexp\": error parsing regexp: missing closing ]: "
                  "`[regexp)$`"},
        // Input quoted or escaped one time too many.
        ParseCase{R"("{foo=\"bar"})", {}, R"(bad matcher format: "{foo=\"bar")"},
        ParseCase{R"("foo=\"bar")", {}, R"(bad matcher format: "foo=\"bar")"},
        ParseCase{R"("foo=\"bar\"")", {}, R"(bad matcher format: "foo=\"bar\"")"},
        ParseCase{R"("foo=\"bar\")", {}, R"(bad matcher format: "foo=\"bar\")"},
        ParseCase{R"("{foo=\"bar\"}")", {}, R"(bad matcher format: "{foo=\"bar\"}")"},
        ParseCase{R"("foo="bar"")", {}, R"(bad matcher format: "foo="bar"")"},
        ParseCase{"{{foo=", {}, "bad matcher format: {foo="},
        ParseCase{"{foo=", {{kEq, "foo", ""}}, ""},
        ParseCase{"{foo=}b", {{kEq, "foo", "}b"}}, ""}));

// Further corners of the same grammar.
INSTANTIATE_TEST_SUITE_P(
    Grammar, ParseMatchersTest,
    ::testing::Values(
        ParseCase{"", {}, ""}, ParseCase{"}", {}, ""}, ParseCase{"  ", {}, ""},
        ParseCase{"{ }", {}, ""},
        // Only the last piece is trimmed and may be empty; an empty piece before a comma is not.
        ParseCase{"foo=bar,", {{kEq, "foo", "bar"}}, ""},
        ParseCase{"foo=bar, ,", {}, "bad matcher format:  "},
        ParseCase{",foo=bar", {}, "bad matcher format: "},
        ParseCase{"foo=bar,,baz=qux", {}, "bad matcher format: "},
        // Names: letters, digits, '_' and ':'; not starting with a digit.
        ParseCase{"a:b=c", {{kEq, "a:b", "c"}}, ""}, ParseCase{"_x9=c", {{kEq, "_x9", "c"}}, ""},
        ParseCase{"9x=c", {}, "bad matcher format: 9x=c"},
        ParseCase{"foo", {}, "bad matcher format: foo"},
        ParseCase{"foo bar=baz", {}, "bad matcher format: foo bar=baz"},
        ParseCase{"foo~=bar", {}, "bad matcher format: foo~=bar"},
        ParseCase{"=bar", {}, "bad matcher format: =bar"},
        ParseCase{"{\"foo\"=\"bar\"}", {}, "bad matcher format: \"foo\"=\"bar\""},
        // Operators: "=~" is read before "="; after "=", the rest belongs to the value.
        ParseCase{"foo==bar", {{kEq, "foo", "=bar"}}, ""},
        ParseCase{"foo=!bar", {{kEq, "foo", "!bar"}}, ""},
        ParseCase{"foo!==bar", {{kNe, "foo", "=bar"}}, ""},
        ParseCase{"foo!~~bar", {{kNre, "foo", "~bar"}}, ""},
        ParseCase{"foo=~", {{kRe, "foo", ""}}, ""}, ParseCase{"foo!=", {{kNe, "foo", ""}}, ""},
        // Whitespace around tokens is dropped; inside the value it stays.
        ParseCase{"  foo \t=~\n \"a b\"\r\n", {{kRe, "foo", "a b"}}, ""},
        ParseCase{"foo = a b  ", {{kEq, "foo", "a b"}}, ""},
        ParseCase{"foo=\" a \"", {{kEq, "foo", " a "}}, ""},
        // Unquoted values split at every comma, even in a regex.
        ParseCase{"foo=~a,b", {}, "bad matcher format: b"},
        ParseCase{"foo=~\"a,b\"", {{kRe, "foo", "a,b"}}, ""},
        ParseCase{"foo=~{1,2}", {}, "bad matcher format: 2"},
        ParseCase{"foo=~\"x{1,2}\"", {{kRe, "foo", "x{1,2}"}}, ""},
        // An escaped quote does not open or close a quoted part.
        ParseCase{R"(foo="a\",b")", {{kEq, "foo", "a\",b"}}, ""},
        ParseCase{R"(foo=a\",b=c)", {{kEq, "foo", "a\""}, {kEq, "b", "c"}}, ""},
        // Escapes: \" \\ \n; any other backslash is literal, also at the end.
        ParseCase{R"(foo="a\\b\nc\"d\e")", {{kEq, "foo", "a\\b\nc\"d\\e"}}, ""},
        ParseCase{R"(foo="\")", {}, R"(matcher value contains unescaped double quote: "\")"},
        ParseCase{"foo=\"", {}, "matcher value contains unescaped double quote: \""},
        ParseCase{"foo=\"\"\"", {}, "matcher value contains unescaped double quote: \"\"\""},
        // Only a value starting with a quote is quoted.
        ParseCase{"foo=a\"", {}, "matcher value contains unescaped double quote: a\""},
        ParseCase{"foo=\u00e9t\u00e9", {{kEq, "foo", "\u00e9t\u00e9"}}, ""},
        // A literal newline is tolerated in a value.
        ParseCase{"foo=\"a\nb\"", {{kEq, "foo", "a\nb"}}, ""},
        // The last piece is trimmed of all Unicode spaces (strings.TrimSpace), each matcher
        // only of ASCII ones without \v (regexp \s).
        ParseCase{"foo=bar\v", {{kEq, "foo", "bar"}}, ""},
        ParseCase{"foo=bar\v,x=y", {{kEq, "foo", "bar\v"}, {kEq, "x", "y"}}, ""},
        ParseCase{"foo=bar\u00a0", {{kEq, "foo", "bar"}}, ""},
        ParseCase{"foo=bar\u00a0,x=y", {{kEq, "foo", "bar\u00a0"}, {kEq, "x", "y"}}, ""},
        // Invalid UTF-8 becomes U+FFFD in a list.
        ParseCase{"foo=a\xff", {{kEq, "foo", "a\uFFFD"}}, ""},
        ParseCase{"foo=~\"(a\"",
                  {},
                  "matcher foo=~\"(a\": error parsing regexp: missing closing ): "
                  "`^(?:(a)$`"}));

TEST(ParseMatcherTest, SingleMatcher) {
  auto m = ParseMatcher(R"( job =~ "node|api" )");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->type(), MatchType::kRegex);
  EXPECT_EQ(m->name(), "job");
  EXPECT_EQ(m->value(), "node|api");
  EXPECT_TRUE(m->Matches("api"));
  EXPECT_FALSE(m->Matches("node|api"));
}

TEST(ParseMatcherTest, DoesNotSplitOrStripBraces) {
  auto m = ParseMatcher("{foo=bar}");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "bad matcher format: {foo=bar}");
  auto commas = ParseMatcher("foo=a,b");
  ASSERT_TRUE(commas.ok());
  EXPECT_EQ(commas->value(), "a,b");
}

TEST(ParseMatcherTest, InvalidUtf8ValueIsAnError) {
  auto m = ParseMatcher("foo=a\xff");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(), "matcher value not valid UTF-8: a\xff");
  auto quoted = ParseMatcher("foo=\"\xc3\"");
  ASSERT_FALSE(quoted.ok());
  EXPECT_EQ(quoted.status().message(), "matcher value not valid UTF-8: \"\xc3\"");
}

TEST(ParseMatcherTest, RoundTripsThroughString) {
  for (const char* input : {R"(foo="bar")", R"(a!~"x\\d+")", R"(q="say \"hi\"\nbye")", "e=\"\""}) {
    auto m = ParseMatcher(input);
    ASSERT_TRUE(m.ok()) << input << ": " << m.status().ToString();
    EXPECT_EQ(m->String(), input);
    auto again = ParseMatcher(m->String());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *m);
  }
}

}  // namespace
}  // namespace platops::alerting
