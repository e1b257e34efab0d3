#include "promql/test_script.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace platops::promql {
namespace {

using ::testing::HasSubstr;

class TestScriptTest : public ::testing::Test {
 protected:
  // Runs `script`, failing the test when it does not parse.
  static ScriptReport Run(std::string_view script) {
    auto r = RunScript("t.test", script);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) return {};
    return std::move(r).value();
  }
  // The parse error of `script`.
  static std::string ErrorOf(std::string_view script) {
    auto r = RunScript("bad.test", script);
    EXPECT_FALSE(r.ok()) << "parsed: " << FormatCounts(r.value());
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    return r.status().message();
  }
  // Every failure message, for assertion output.
  static std::string Failures(const ScriptReport& report) {
    std::string out;
    for (const auto& f : report.failures) out += std::to_string(f.line) + ": " + f.message + "\n";
    return out;
  }
};

TEST_F(TestScriptTest, NumbersInfNaNAndComments) {
  const ScriptReport r = Run(R"(
# A comment line.
load 1m
  a 1 -2.5 1e3 Inf -Inf NaN .5

eval instant at 0 a
  a 1

eval instant at 1m a
  a -2.5

eval instant at 2m a
  {__name__="a"} 1000

eval instant at 3m a
  a +Inf

eval instant at 4m a
  a -Inf

eval instant at 5m a
  a NaN

eval instant at 6m a
  a 0.5
)");
  EXPECT_EQ(r.passed, 7) << Failures(r);
  EXPECT_EQ(r.failed, 0);
  EXPECT_EQ(r.skipped, 0);
}

TEST_F(TestScriptTest, ExpansionsMatchTheirDocumentedSequences) {
  // -2+4x3 = -2 2 6 10; 1-2x4 = 1 -1 -3 -5 -7; 1x4 = five 1s; in the expected lines too.
  const ScriptReport r = Run(R"(
load 1m
  up -2+4x3
  down 1-2x4
  flat 1x4

eval range from 0 to 3m step 1m up
  up -2 2 6 10

eval range from 0 to 3m step 1m up
  up -2+4x3

eval range from 0 to 4m step 1m down
  down 1 -1 -3 -5 -7

eval range from 0 to 4m step 1m flat
  flat 1 1 1 1 1

eval range from 0 to 4m step 1m flat
  flat 1x4
)");
  EXPECT_EQ(r.passed, 5) << Failures(r);
  EXPECT_EQ(r.failed, 0);
}

TEST_F(TestScriptTest, BlanksAndStaleMarkers) {
  // _x2 is exactly two empty steps, so 5 lands at 3m; stale ends the series at once.
  const ScriptReport r = Run(R"(
load 1m
  gap 1 _x2 5
  gone 1 stale

eval instant at 3m gap
  gap 5

eval instant at 2m gap
  gap 1

eval instant at 0 gone
  gone 1

eval instant at 1m gone

eval instant at 2m gone
)");
  EXPECT_EQ(r.passed, 5) << Failures(r);
  EXPECT_EQ(r.failed, 0);
}

TEST_F(TestScriptTest, RangeExpectationBlankMeansNoPoint) {
  // With the 5m lookback a sample at 0 is no longer seen at 5m.
  const ScriptReport r = Run(R"(
load 10m
  h 1 _ 3

eval range from 0 to 20m step 5m h
  h 1 _ _ _ 3

eval range from 0 to 20m step 5m h
  h 1 _x3 3

eval range from 0 to 20m step 5m h
  h 1 1 _ _ 3
)");
  EXPECT_EQ(r.passed, 2) << Failures(r);
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].line, 11);
  EXPECT_THAT(r.failures[0].message, HasSubstr("h{}"));
  EXPECT_THAT(r.failures[0].message, HasSubstr("expected [1@0s 1@5m 3@20m], got [1@0s 3@20m]"));
}

TEST_F(TestScriptTest, LabelSyntaxAndQuoting) {
  const ScriptReport r = Run(R"(
load 1m
  m{a="x\"y", b='single', c=`raw\n`} 1
  {__name__="n", job="j",} 2
  {"dotted.name", env="prod"} 3

eval instant at 0 m
  m{a="x\"y", b="single", c="raw\\n"} 1

eval instant at 0 n
  n{job="j"} 2

eval instant at 0 {__name__="dotted.name"}
  {"dotted.name", env="prod"} 3
)");
  EXPECT_EQ(r.passed, 3) << Failures(r);
  EXPECT_EQ(r.failed, 0);
}

TEST_F(TestScriptTest, LoadsAccumulateUntilClear) {
  const ScriptReport r = Run(R"(
load 1m
  first 1

load 1m
  second 2

eval instant at 0 first
  first 1

eval instant at 0 second
  second 2

clear

eval instant at 0 first

load 1m
  first 7

eval instant at 0 first
  first 7
)");
  EXPECT_EQ(r.passed, 4) << Failures(r);
  EXPECT_EQ(r.failed, 0);
}

TEST_F(TestScriptTest, NativeHistogramsAreSkippedOnlyWhereTheyAreRead) {
  const ScriptReport r = Run(R"(
load 1m
  hist{path="/a"} {{schema:0 sum:1 count:1}}x3
  mixed 1 2 {{schema:0 sum:1 count:1}} {{sum:2 count:2}}+{{sum:1 count:1}}x2 9
  flt 4

eval instant at 0 hist
  hist{path="/a"} 1

eval instant at 0 {__name__=~"mi.*"}
  mixed 1

eval instant at 0 flt
  flt 4

eval instant at 0 flt
  flt {{schema:0 sum:4 count:4}}

load_with_nhcb 1m
  req_bucket{le="1"} 1
  req_bucket{le="+Inf"} 2
  req_sum 3

eval instant at 0 req
  {} 2

eval instant at 0 req_bucket
  req_bucket{le="1"} 1
  req_bucket{le="+Inf"} 2

eval instant at 0 req_sum
  req_sum 3

clear

eval instant at 0 hist
)");
  // Skipped: selects hist, selects mixed, expects a histogram, selects the NHCB series req.
  EXPECT_EQ(r.skipped, 4);
  EXPECT_EQ(r.passed, 4) << Failures(r);
  EXPECT_EQ(r.failed, 0);
}

TEST_F(TestScriptTest, ScalarStringAndTolerance) {
  const ScriptReport r = Run(R"(
eval instant at 0 1.5
  1.5

eval instant at 0 1
  1.0000001

eval instant at 0 "foo"
  "foo"

eval instant at 0 1
  1.00001

eval instant at 0 "foo"
  "bar"

eval instant at 0 2
)");
  EXPECT_EQ(r.passed, 3) << Failures(r);
  ASSERT_EQ(r.failed, 3);
  EXPECT_EQ(r.failures[0].line, 11);
  EXPECT_THAT(r.failures[0].message, HasSubstr("expected scalar 1.00001, got 1"));
  EXPECT_EQ(r.failures[1].line, 14);
  EXPECT_THAT(r.failures[1].message, HasSubstr(R"(expected string "bar", got "foo")"));
  EXPECT_EQ(r.failures[2].line, 17);
  EXPECT_THAT(r.failures[2].message, HasSubstr("expected an empty result, got scalar 2"));
}

TEST_F(TestScriptTest, ExpectStringAndScalarMismatchedKinds) {
  const ScriptReport r = Run(R"(
load 1m
  a 1

eval instant at 0 "foo"
  expect string "foo"

eval instant at 0 a
  3

eval instant at 0 1
  a 1
)");
  EXPECT_EQ(r.passed, 1) << Failures(r);
  ASSERT_EQ(r.failed, 2);
  EXPECT_EQ(r.failures[0].line, 8);
  EXPECT_THAT(r.failures[0].message, HasSubstr("expected scalar 3, got vector {a{} 1}"));
  EXPECT_EQ(r.failures[1].line, 11);
  EXPECT_THAT(r.failures[1].message, HasSubstr("expected 1 series, got scalar 1"));
}

TEST_F(TestScriptTest, VectorDiffNamesEverySeries) {
  const ScriptReport r = Run(R"(
load 1m
  x{i="1"} 1
  x{i="2"} 2

eval instant at 0 x
  x{i="1"} 1
  x{i="2"} 3
  x{i="3"} 4
)");
  EXPECT_EQ(r.passed, 0);
  ASSERT_EQ(r.failed, 1);
  const ScriptFailure& f = r.failures[0];
  EXPECT_EQ(f.line, 6);
  EXPECT_THAT(f.message, HasSubstr("x{i=\"2\"}: expected 3, got 2"));
  EXPECT_THAT(f.message, HasSubstr("missing x{i=\"3\"} 4"));
  EXPECT_THAT(f.message, ::testing::Not(HasSubstr("x{i=\"1\"}")));

  const ScriptReport extra = Run(R"(
load 1m
  x{i="1"} 1
  x{i="2"} 2

eval instant at 0 x
  x{i="1"} 1
)");
  ASSERT_EQ(extra.failed, 1);
  EXPECT_THAT(extra.failures[0].message, HasSubstr("unexpected x{i=\"2\"} 2"));
}

TEST_F(TestScriptTest, FailExpectations) {
  const ScriptReport r = Run(R"(
load 1m
  m{src="a"} 1

eval_fail instant at 0 label_replace(m, "dst", "$1", "src", "(.*")

eval_fail instant at 0 label_replace(m, "dst", "$1", "src", "(.*")
  expected_fail_regexp invalid regular expression

eval instant at 0 label_replace(m, "dst", "$1", "src", "(.*")
  expect fail regex: regular expression

eval_fail instant at 0 m

eval_fail instant at 0 label_replace(m, "dst", "$1", "src", "(.*")
  expected_fail_message something else entirely

eval instant at 0 label_replace(m, "dst", "$1", "src", "(.*")
  m{src="a"} 1
)");
  EXPECT_EQ(r.passed, 3) << Failures(r);
  ASSERT_EQ(r.failed, 3);
  EXPECT_EQ(r.failures[0].line, 13);
  EXPECT_THAT(r.failures[0].message, HasSubstr("expected the query to fail, got vector"));
  EXPECT_EQ(r.failures[1].line, 15);
  EXPECT_THAT(r.failures[1].message, HasSubstr("expected an error \"something else entirely\""));
  EXPECT_EQ(r.failures[2].line, 18);
  EXPECT_THAT(r.failures[2].message, HasSubstr("query failed"));
}

TEST_F(TestScriptTest, OrderedExpectations) {
  const ScriptReport r = Run(R"(
load 1m
  v{i="a"} 3
  v{i="b"} 1
  v{i="c"} 2

eval_ordered instant at 0 sort_desc(v)
  v{i="a"} 3
  v{i="c"} 2
  v{i="b"} 1

eval instant at 0 sort_desc(v)
  expect ordered
  v{i="a"} 3
  v{i="c"} 2
  v{i="b"} 1

eval instant at 0 sort_desc(v)
  v{i="b"} 1
  v{i="a"} 3
  v{i="c"} 2

eval_ordered instant at 0 sort(v)
  v{i="a"} 3
  v{i="c"} 2
  v{i="b"} 1
)");
  EXPECT_EQ(r.passed, 3) << Failures(r);
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].line, 23);
  EXPECT_THAT(r.failures[0].message, HasSubstr("v{i=\"a\"} at position 3, expected at 1"));
}

TEST_F(TestScriptTest, AnnotationExpectationsAreAcceptedAndNotScored) {
  const ScriptReport r = Run(R"(
load 1m
  a 1

eval_warn instant at 0 a
  a 1

eval_info range from 0 to 1m step 1m a
  a 1 1

eval instant at 0 a
  expect no_warn
  expect info msg: PromQL info: something
  a 1
)");
  EXPECT_EQ(r.passed, 3) << Failures(r);
}

TEST_F(TestScriptTest, RangeVectorExpectation) {
  const ScriptReport r = Run(R"(
load 10s
  a 1 2 3 4

eval instant at 30s a[20s]
  expect range vector from 20s to 30s step 10s
  a 3 4

eval instant at 30s a[20s]
  a 3
)");
  EXPECT_EQ(r.passed, 1) << Failures(r);
  ASSERT_EQ(r.failed, 1);
  EXPECT_THAT(r.failures[0].message, HasSubstr("expect range vector"));
}

TEST_F(TestScriptTest, RealEngineFunctionsPassAndObviousMistakesFail) {
  const ScriptReport r = Run(R"(
load 5m
  http_requests{job="api", instance="0"} 0+10x10
  http_requests{job="api", instance="1"} 0+20x10

eval instant at 50m sum by (job) (http_requests)
  {job="api"} 300

eval instant at 50m rate(http_requests[10m])
  {job="api", instance="0"} 0.03333333333333333
  {job="api", instance="1"} 0.06666666666666667

eval range from 0 to 10m step 5m sum(http_requests)
  {} 0 30 60

eval instant at 50m sum by (job) (http_requests)
  {job="api"} 301
)");
  EXPECT_EQ(r.passed, 3) << Failures(r);
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.failures[0].line, 16);
  EXPECT_THAT(r.failures[0].message,
              HasSubstr("sum by (job) (http_requests): {job=\"api\"}: expected 301, got 300"));
}

TEST_F(TestScriptTest, QueryThatDoesNotParseIsAFailure) {
  const ScriptReport r = Run(R"(
eval instant at 0 sum(
)");
  ASSERT_EQ(r.failed, 1);
  EXPECT_THAT(r.failures[0].message, HasSubstr("query does not parse"));
}

TEST_F(TestScriptTest, MalformedScriptsNameFileAndLine) {
  EXPECT_EQ(ErrorOf("load 1m\n  a 1 2x\n"), "bad.test:2: invalid value \"2x\"");
  EXPECT_THAT(ErrorOf("load 1m\n  a 1 foo\n"), HasSubstr("bad.test:2: invalid value \"foo\""));
  EXPECT_THAT(ErrorOf("\nfrobnicate\n"), HasSubstr("bad.test:2: invalid command \"frobnicate\""));
  EXPECT_THAT(ErrorOf("load\n"), HasSubstr("bad.test:1: invalid load command"));
  EXPECT_THAT(ErrorOf("load 1x\n"), HasSubstr("bad.test:1: invalid load interval \"1x\""));
  EXPECT_THAT(ErrorOf("eval instant at 0\n"), HasSubstr("bad.test:1: invalid evaluation"));
  EXPECT_THAT(ErrorOf("eval instant at 5q a\n"),
              HasSubstr("bad.test:1: invalid evaluation time \"5q\""));
  EXPECT_THAT(ErrorOf("eval range from 5m to 1m step 1m a\n"),
              HasSubstr("bad.test:1: end time 1m is before start time 5m"));
  EXPECT_THAT(ErrorOf("eval range from 0 to 1m step 0 a\n"),
              HasSubstr("bad.test:1: step must be greater than 0"));
  EXPECT_THAT(ErrorOf("eval_ordered range from 0 to 1m step 1m a\n"),
              HasSubstr("bad.test:1: eval_ordered is not allowed for range queries"));
  EXPECT_THAT(ErrorOf("eval instant at 0 a\n  a 1 2\n"),
              HasSubstr("bad.test:2: an instant evaluation expects one value per series"));
  EXPECT_THAT(ErrorOf("eval instant at 0 a\n  expect sometimes\n"),
              HasSubstr("bad.test:2: invalid expect statement"));
  EXPECT_THAT(ErrorOf("eval instant at 0 a\n  expect fail\n  expect fail\n"),
              HasSubstr("bad.test:3: only one expect fail line is allowed"));
  EXPECT_THAT(ErrorOf("eval instant at 0 a\n  expect warn\n  expect no_warn\n"),
              HasSubstr("bad.test:3: expect warn and expect no_warn"));
  EXPECT_THAT(ErrorOf("eval_fail instant at 0 a\n  expected_fail_regexp (\n"),
              HasSubstr("bad.test:2: invalid expected_fail_regexp \"(\""));
  EXPECT_THAT(ErrorOf("eval instant at 0 a\n  expected_fail_message x\n"),
              HasSubstr("bad.test:2: expected_fail_message needs eval_fail"));
  EXPECT_THAT(ErrorOf("load 1m\n  a{b=~\"c\"} 1\n"), HasSubstr("only = is allowed"));
  EXPECT_THAT(ErrorOf("load 1m\n  a{b=\"c\" 1\n"), HasSubstr("bad.test:2: expected , or }"));
  EXPECT_THAT(ErrorOf("load 1m\n  a{b=\"c} 1\n"), HasSubstr("unterminated quoted string"));
  EXPECT_THAT(ErrorOf("load 1m\n  a {{schema:0 1\n"), HasSubstr("unterminated {{ histogram"));
  EXPECT_THAT(ErrorOf("load 1m\n  a 1+1x99999999999\n"), HasSubstr("exceeds"));
  // A block ends only at an empty line: a command right below a load is read as a series.
  EXPECT_THAT(ErrorOf("load 1m\n  a 1\nload 1m\n  b 1\n"),
              HasSubstr("bad.test:3: invalid value \"1m\""));
}

TEST_F(TestScriptTest, FormatCounts) {
  ScriptReport r;
  r.passed = 3;
  r.failed = 1;
  r.skipped = 2;
  EXPECT_EQ(FormatCounts(r), "3 passed, 1 failed, 2 skipped");
}

}  // namespace
}  // namespace platops::promql
