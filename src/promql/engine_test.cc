#include "promql/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "metrics/mem_storage.h"
#include "promql/test_script.h"

namespace platops::promql {
namespace {

using metrics::Labels;
using metrics::Sample;

constexpr int64_t kSec = 1000;
constexpr int64_t kMin = 60 * kSec;

Labels L(std::initializer_list<std::pair<const char*, const char*>> pairs) {
  Labels out;
  for (const auto& [n, v] : pairs) out.push_back({n, v});
  return metrics::Normalize(std::move(out));
}

// Renders a result the way a user reads it: one "labels value" line per series, sorted, or
// "error <type>: <message>".
std::string Show(const QueryResult& r, bool keep_order = false) {
  if (!r.ok()) return "error " + std::string(ErrorTypeName(r.error)) + ": " + r.error_message;
  auto num = [](double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  };
  std::vector<std::string> lines;
  if (const auto* s = std::get_if<ScalarValue>(&r.value)) return "scalar " + num(s->v);
  if (const auto* s = std::get_if<StringValue>(&r.value)) return "string " + s->v;
  if (const auto* v = std::get_if<Vector>(&r.value)) {
    for (const auto& e : *v) lines.push_back(metrics::ToString(e.metric) + " " + num(e.v));
  } else {
    for (const auto& s : std::get<Matrix>(r.value)) {
      std::string line = metrics::ToString(s.metric);
      for (const auto& p : s.samples) line += " " + num(p.v) + "@" + std::to_string(p.t / kSec);
      lines.push_back(line);
    }
  }
  if (!keep_order) std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

class EngineTest : public ::testing::Test {
 protected:
  // Adds `values` at start, start+step, ...; NaN values are skipped unless `stale` marks them.
  void Add(const Labels& labels, int64_t start, int64_t step, std::vector<double> values) {
    for (size_t i = 0; i < values.size(); ++i) {
      storage_.Add(labels, Sample{start + static_cast<int64_t>(i) * step, values[i]});
    }
  }
  void AddStale(const Labels& labels, int64_t t) {
    storage_.Add(labels, Sample{t, std::bit_cast<double>(metrics::kStaleNanBits)});
  }
  std::string Instant(std::string_view q, int64_t t) { return Show(engine_.InstantQuery(q, t)); }
  std::string Range(std::string_view q, int64_t start, int64_t end, int64_t step) {
    return Show(engine_.RangeQuery(q, start, end, step));
  }

  metrics::MemStorage storage_;
  FakeClock clock_;
  Engine engine_{EngineOptions{}, storage_, clock_};
};

// ---- Selectors, lookback, staleness, offset, @ ----

TEST_F(EngineTest, InstantSelectorTakesTheLatestSampleWithinTheLookback) {
  Add(L({{"__name__", "up"}, {"job", "a"}}), 0, kMin, {1, 2});
  EXPECT_EQ(Instant("up", 90 * kSec), "up{job=\"a\"} 2");
  // The lookback window is left-open: a sample exactly 5m old is gone.
  EXPECT_EQ(Instant("up", kMin + 5 * kMin - 1), "up{job=\"a\"} 2");
  EXPECT_EQ(Instant("up", kMin + 5 * kMin), "");
}

TEST_F(EngineTest, StaleMarkerEndsTheSeriesAtOnce) {
  const Labels up = L({{"__name__", "up"}});
  Add(up, 0, 15 * kSec, {1, 1});
  AddStale(up, 30 * kSec);
  EXPECT_EQ(Instant("up", 20 * kSec), "up{} 1");
  EXPECT_EQ(Instant("up", 40 * kSec), "");
  EXPECT_EQ(Instant("count_over_time(up[1m])", 40 * kSec), "{} 2");
}

TEST_F(EngineTest, OffsetAndAtModifierMoveTheEvaluationTime) {
  Add(L({{"__name__", "x"}}), 0, kMin, {1, 2, 3});
  EXPECT_EQ(Instant("x offset 1m", 2 * kMin), "x{} 2");
  EXPECT_EQ(Instant("x @ 60", 2 * kMin), "x{} 2");
  EXPECT_EQ(Range("x @ end()", 0, 2 * kMin, kMin), "x{} 3@0 3@60 3@120");
  EXPECT_EQ(Range("x @ start() offset -1m", 0, 2 * kMin, kMin), "x{} 2@0 2@60 2@120");
}

TEST_F(EngineTest, RangeSelectorExcludesTheSampleAtItsStart) {
  Add(L({{"__name__", "x"}}), 0, kMin, {1, 2, 3});
  EXPECT_EQ(Instant("x[1m]", 2 * kMin), "x{} 3@120");
  EXPECT_EQ(Instant("x[61s]", 2 * kMin), "x{} 2@60 3@120");
}

TEST_F(EngineTest, RegexSelectorsAndBadRegexes) {
  Add(L({{"__name__", "x"}, {"env", "prod"}}), 0, kMin, {1});
  Add(L({{"__name__", "x"}, {"env", "dev"}}), 0, kMin, {2});
  EXPECT_EQ(Instant("x{env=~\"pr.*\"}", 0), "x{env=\"prod\"} 1");
  EXPECT_EQ(Instant("x{env!~\"pr.*\"}", 0), "x{env=\"dev\"} 2");
  const QueryResult bad = engine_.InstantQuery("x{env=~\"(\"}", 0);
  EXPECT_EQ(bad.error, ErrorType::kBadData);
}

// ---- Range functions ----

TEST_F(EngineTest, RateExtrapolatesToTheWindowBoundaries) {
  // A counter growing by 1/s, scraped every 15s.
  std::vector<double> v;
  for (int i = 0; i <= 20; ++i) v.push_back(i * 15.0);
  Add(L({{"__name__", "req_total"}}), 0, 15 * kSec, v);
  EXPECT_EQ(Instant("rate(req_total[1m])", 2 * kMin), "{} 1");
  EXPECT_EQ(Instant("increase(req_total[1m])", 2 * kMin), "{} 60");
  EXPECT_EQ(Instant("irate(req_total[1m])", 2 * kMin), "{} 1");
}

TEST_F(EngineTest, RateCorrectsCounterResets) {
  Add(L({{"__name__", "c_total"}}), 0, 15 * kSec, {0, 10, 20, 5, 15});
  // Window (0s, 60s]: 10 20 5 15 -> 5 plus the 20 lost at the reset, extrapolated by 60/45.
  const QueryResult r = engine_.InstantQuery("increase(c_total[1m])", kMin);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_NEAR(std::get<Vector>(r.value).at(0).v, 25.0 * 60 / 45, 1e-9);
  EXPECT_EQ(Instant("resets(c_total[1m])", kMin), "{} 1");
  EXPECT_EQ(Instant("changes(c_total[1m])", kMin), "{} 3");
}

TEST_F(EngineTest, DeltaDerivAndPredictLinearOnGauges) {
  Add(L({{"__name__", "g"}}), 30 * kSec, 30 * kSec, {10, 4});
  EXPECT_EQ(Instant("delta(g[1m])", kMin), "{} -12");
  EXPECT_EQ(Instant("idelta(g[1m])", kMin), "{} -6");
  EXPECT_EQ(Instant("deriv(g[1m])", kMin), "{} -0.2");
  EXPECT_EQ(Instant("predict_linear(g[1m], 10)", kMin), "{} 2");
}

TEST_F(EngineTest, OverTimeAggregations) {
  Add(L({{"__name__", "m"}}), 0, 10 * kSec, {1, 2, 3, 4, 10});
  const int64_t t = 40 * kSec;
  EXPECT_EQ(Instant("avg_over_time(m[1m])", t), "{} 4");
  EXPECT_EQ(Instant("sum_over_time(m[1m])", t), "{} 20");
  EXPECT_EQ(Instant("min_over_time(m[1m])", t), "{} 1");
  EXPECT_EQ(Instant("max_over_time(m[1m])", t), "{} 10");
  EXPECT_EQ(Instant("count_over_time(m[1m])", t), "{} 5");
  EXPECT_EQ(Instant("quantile_over_time(0.5, m[1m])", t), "{} 3");
  EXPECT_EQ(Instant("stdvar_over_time(m[1m])", t), "{} 10");
  EXPECT_EQ(Instant("last_over_time(m[1m])", t), "m{} 10");
  EXPECT_EQ(Instant("present_over_time(m[1m])", t), "{} 1");
  EXPECT_EQ(Instant("mad_over_time(m[1m])", t), "{} 1");
  EXPECT_EQ(Instant("ts_of_max_over_time(m[1m])", t), "{} 40");
}

TEST_F(EngineTest, RangeFunctionsInRangeQueriesSlideOverEveryStep) {
  Add(L({{"__name__", "m"}}), 0, 10 * kSec, {1, 2, 3, 4, 5, 6, 7});
  EXPECT_EQ(Range("sum_over_time(m[20s])", 0, kMin, 20 * kSec), "{} 1@0 5@20 9@40 13@60");
}

// ---- Range queries ----

TEST_F(EngineTest, RangeQueryReturnsAMatrixSortedByLabels) {
  Add(L({{"__name__", "x"}, {"i", "b"}}), 0, kMin, {1, 2, 3});
  Add(L({{"__name__", "x"}, {"i", "a"}}), kMin, kMin, {5, 6});
  const QueryResult r = engine_.RangeQuery("x", 0, 2 * kMin, kMin);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Show(r, /*keep_order=*/true), "x{i=\"a\"} 5@60 6@120\nx{i=\"b\"} 1@0 2@60 3@120");
}

TEST_F(EngineTest, RangeQueryOfAScalarIsOneSeriesWithoutLabels) {
  EXPECT_EQ(Range("time() * 2", 0, 2 * kMin, kMin), "{} 0@0 120@60 240@120");
}

TEST_F(EngineTest, RangeQueryRejectsRangeVectorsAndStrings) {
  EXPECT_EQ(Range("x[5m]", 0, kMin, kMin),
            "error bad_data: invalid expression type \"range vector\" for range query, must be "
            "Scalar or instant Vector");
  EXPECT_EQ(Range("\"a\"", 0, kMin, kMin),
            "error bad_data: invalid expression type \"string\" for range query, must be Scalar "
            "or instant Vector");
}

TEST_F(EngineTest, ParseErrorsAreBadDataWithTheParserMessage) {
  const QueryResult r = engine_.InstantQuery("sum(", 0);
  EXPECT_EQ(r.error, ErrorType::kBadData);
  EXPECT_NE(r.error_message.find("parse error"), std::string::npos) << r.error_message;
}

TEST_F(EngineTest, ScalarsAndStrings) {
  EXPECT_EQ(Instant("1 + 2 * 3 ^ 2", 0), "scalar 19");
  EXPECT_EQ(Instant("-2 ^ 2", 0), "scalar -4");
  EXPECT_EQ(Instant("5 % 3 == bool 2", 0), "scalar 1");
  EXPECT_EQ(Instant("\"hello\"", 0), "string hello");
  EXPECT_EQ(Instant("time()", 90 * kSec), "scalar 90");
}

// ---- Operators and vector matching ----

class OperatorTest : public EngineTest {
 protected:
  void SetUp() override {
    Add(L({{"__name__", "req"}, {"job", "a"}, {"code", "200"}}), 0, kMin, {10});
    Add(L({{"__name__", "req"}, {"job", "a"}, {"code", "500"}}), 0, kMin, {2});
    Add(L({{"__name__", "req"}, {"job", "b"}, {"code", "200"}}), 0, kMin, {4});
    Add(L({{"__name__", "limit"}, {"job", "a"}, {"owner", "x"}}), 0, kMin, {8});
    Add(L({{"__name__", "limit"}, {"job", "b"}, {"owner", "y"}}), 0, kMin, {3});
  }
};

TEST_F(OperatorTest, VectorScalarArithmeticDropsTheName) {
  EXPECT_EQ(Instant("req{code=\"500\"} * 2", 0), "{code=\"500\",job=\"a\"} 4");
  EXPECT_EQ(Instant("-req{code=\"500\"}", 0), "{code=\"500\",job=\"a\"} -2");
}

TEST_F(OperatorTest, ComparisonsFilterOrReturnBool) {
  EXPECT_EQ(Instant("req > 5", 0), "req{code=\"200\",job=\"a\"} 10");
  EXPECT_EQ(Instant("5 < req", 0), "req{code=\"200\",job=\"a\"} 10");
  EXPECT_EQ(Instant("req{job=\"b\"} > bool 5", 0), "{code=\"200\",job=\"b\"} 0");
}

TEST_F(OperatorTest, OneToOneMatchingWithOnAndIgnoring) {
  EXPECT_EQ(Instant("req{code=\"200\"} / on(job) limit", 0),
            "{job=\"a\"} 1.25\n{job=\"b\"} 1.33333");
  EXPECT_EQ(Instant("req{code=\"200\"} - ignoring(code, owner) limit", 0),
            "{job=\"a\"} 2\n{job=\"b\"} 1");
}

TEST_F(OperatorTest, GroupLeftKeepsTheManySideAndCopiesIncludedLabels) {
  EXPECT_EQ(Instant("req / on(job) group_left(owner) limit", 0),
            "{code=\"200\",job=\"a\",owner=\"x\"} 1.25\n"
            "{code=\"200\",job=\"b\",owner=\"y\"} 1.33333\n"
            "{code=\"500\",job=\"a\",owner=\"x\"} 0.25");
  EXPECT_EQ(Instant("limit * on(job) group_right() req{code=\"200\"}", 0),
            "{code=\"200\",job=\"a\"} 80\n{code=\"200\",job=\"b\"} 12");
}

TEST_F(OperatorTest, MatchingErrorsUsePrometheusWording) {
  EXPECT_EQ(Instant("limit / on(job) req", 0),
            "error execution: found duplicate series for the match group {job=\"a\"} on the right "
            "hand-side of the operation: [{__name__=\"req\", code=\"500\", job=\"a\"}, "
            "{__name__=\"req\", code=\"200\", job=\"a\"}];many-to-many matching not allowed: "
            "matching labels must be unique on one side");
  EXPECT_EQ(Instant("req + on(job) limit", 0),
            "error execution: multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
}

TEST_F(OperatorTest, SetOperators) {
  EXPECT_EQ(Instant("req and on(job) limit > 5", 0),
            "req{code=\"200\",job=\"a\"} 10\nreq{code=\"500\",job=\"a\"} 2");
  EXPECT_EQ(Instant("req unless on(job) limit > 5", 0), "req{code=\"200\",job=\"b\"} 4");
  EXPECT_EQ(Instant("limit or on(job) req", 0),
            "limit{job=\"a\",owner=\"x\"} 8\nlimit{job=\"b\",owner=\"y\"} 3");
  EXPECT_EQ(Instant("limit{job=\"a\"} or on(job) req", 0),
            "limit{job=\"a\",owner=\"x\"} 8\nreq{code=\"200\",job=\"b\"} 4");
}

TEST_F(OperatorTest, SameLabelsetAfterDroppingNamesIsAnError) {
  EXPECT_EQ(Instant("ceil({__name__=~\"req|limit\", job=\"b\", owner=\"\"})", 0),
            "{code=\"200\",job=\"b\"} 4");
  Add(L({{"__name__", "other"}, {"job", "b"}, {"code", "200"}}), 0, kMin, {1});
  EXPECT_EQ(Instant("ceil({__name__=~\"req|other\", job=\"b\"})", 0),
            "error execution: vector cannot contain metrics with the same labelset");
}

// ---- Aggregations ----

class AggregationTest : public EngineTest {
 protected:
  void SetUp() override {
    Add(L({{"__name__", "cpu"}, {"job", "a"}, {"i", "1"}}), 0, kMin, {1});
    Add(L({{"__name__", "cpu"}, {"job", "a"}, {"i", "2"}}), 0, kMin, {3});
    Add(L({{"__name__", "cpu"}, {"job", "b"}, {"i", "1"}}), 0, kMin, {8});
    Add(L({{"__name__", "cpu"}, {"job", "b"}, {"i", "2"}}), 0, kMin, {8});
    Add(L({{"__name__", "cpu"}, {"job", "b"}, {"i", "3"}}), 0, kMin, {2});
  }
};

TEST_F(AggregationTest, SumAvgCountMinMaxGroupByAndWithout) {
  EXPECT_EQ(Instant("sum by (job) (cpu)", 0), "{job=\"a\"} 4\n{job=\"b\"} 18");
  EXPECT_EQ(Instant("sum without (i) (cpu)", 0), "{job=\"a\"} 4\n{job=\"b\"} 18");
  EXPECT_EQ(Instant("avg(cpu)", 0), "{} 4.4");
  EXPECT_EQ(Instant("count by (i) (cpu)", 0), "{i=\"1\"} 2\n{i=\"2\"} 2\n{i=\"3\"} 1");
  EXPECT_EQ(Instant("min by (job) (cpu)", 0), "{job=\"a\"} 1\n{job=\"b\"} 2");
  EXPECT_EQ(Instant("max(cpu)", 0), "{} 8");
  EXPECT_EQ(Instant("group by (job) (cpu)", 0), "{job=\"a\"} 1\n{job=\"b\"} 1");
  EXPECT_EQ(Instant("sum by (__name__) (cpu)", 0), "cpu{} 22");
}

TEST_F(AggregationTest, StddevStdvarAndQuantile) {
  EXPECT_EQ(Instant("stdvar by (job) (cpu)", 0), "{job=\"a\"} 1\n{job=\"b\"} 8");
  EXPECT_EQ(Instant("stddev by (job) (cpu)", 0), "{job=\"a\"} 1\n{job=\"b\"} 2.82843");
  EXPECT_EQ(Instant("quantile(0.5, cpu)", 0), "{} 3");
  const QueryResult r = engine_.InstantQuery("quantile(2, cpu)", 0);
  EXPECT_EQ(Show(r), "{} inf");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0],
            "PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)");
}

TEST_F(AggregationTest, TopkAndBottomkReturnOrderedSeriesWithTheirLabels) {
  EXPECT_EQ(Show(engine_.InstantQuery("topk(2, cpu)", 0), /*keep_order=*/true),
            "cpu{i=\"2\",job=\"b\"} 8\ncpu{i=\"1\",job=\"b\"} 8");
  EXPECT_EQ(Show(engine_.InstantQuery("bottomk by (job) (1, cpu)", 0), true),
            "cpu{i=\"1\",job=\"a\"} 1\ncpu{i=\"3\",job=\"b\"} 2");
  EXPECT_EQ(Instant("topk(0, cpu)", 0), "");
}

TEST_F(AggregationTest, CountValuesLimitkAndLimitRatio) {
  EXPECT_EQ(Instant("count_values(\"v\", cpu)", 0),
            "{v=\"1\"} 1\n{v=\"2\"} 1\n{v=\"3\"} 1\n{v=\"8\"} 2");
  EXPECT_EQ(Instant("count(limitk by (job) (1, cpu))", 0), "{} 2");
  EXPECT_EQ(Instant("count(limit_ratio(1, cpu))", 0), "{} 5");
  EXPECT_EQ(Instant("count(limit_ratio(0.5, cpu) or limit_ratio(-0.5, cpu))", 0), "{} 5");
  EXPECT_EQ(Instant("count_values(\"\", cpu)", 0), "error execution: invalid label name \"\"");
}

TEST_F(AggregationTest, AggregationOverRangeQuerySteps) {
  Add(L({{"__name__", "cpu"}, {"job", "a"}, {"i", "1"}}), kMin, kMin, {5});
  EXPECT_EQ(Range("sum by (job) (cpu)", 0, kMin, kMin),
            "{job=\"a\"} 4@0 8@60\n{job=\"b\"} 18@0 18@60");
}

TEST_F(EngineTest, AggregationOfSeriesLivingAtDifferentTimes) {
  Add(L({{"__name__", "x"}, {"pod", "1"}}), 3 * kMin, kMin, {1, 1});
  Add(L({{"__name__", "x"}, {"pod", "2"}}), 0, kMin, {1, 1});
  EXPECT_EQ(Range("sum(count_over_time(x[30s]))", 0, 4 * kMin, kMin), "{} 1@0 1@60 1@180 1@240");
  EXPECT_EQ(Range("sum by (pod) (count_over_time(x[30s]))", 0, 4 * kMin, kMin),
            "{pod=\"1\"} 1@180 1@240\n{pod=\"2\"} 1@0 1@60");
}

// ---- Instant-vector functions ----

TEST_F(EngineTest, MathClampRoundAndSort) {
  Add(L({{"__name__", "v"}, {"k", "a"}}), 0, kMin, {-2.5});
  Add(L({{"__name__", "v"}, {"k", "b"}}), 0, kMin, {7.25});
  EXPECT_EQ(Instant("abs(v)", 0), "{k=\"a\"} 2.5\n{k=\"b\"} 7.25");
  EXPECT_EQ(Instant("clamp(v, 0, 5)", 0), "{k=\"a\"} 0\n{k=\"b\"} 5");
  EXPECT_EQ(Instant("clamp(v, 5, 0)", 0), "");
  EXPECT_EQ(Instant("round(v, 0.5)", 0), "{k=\"a\"} -2.5\n{k=\"b\"} 7.5");
  EXPECT_EQ(Instant("sgn(v)", 0), "{k=\"a\"} -1\n{k=\"b\"} 1");
  EXPECT_EQ(Show(engine_.InstantQuery("sort_desc(v)", 0), true),
            "v{k=\"b\"} 7.25\nv{k=\"a\"} -2.5");
  EXPECT_EQ(Show(engine_.InstantQuery("sort_by_label_desc(v, \"k\")", 0), true),
            "v{k=\"b\"} 7.25\nv{k=\"a\"} -2.5");
}

TEST_F(EngineTest, TimestampVectorScalarAndDates) {
  Add(L({{"__name__", "x"}}), 10 * kSec, kMin, {1});
  EXPECT_EQ(Instant("timestamp(x)", 30 * kSec), "{} 10");
  EXPECT_EQ(Instant("timestamp(x + 1)", 30 * kSec), "{} 30");
  EXPECT_EQ(Instant("scalar(x) + vector(2)", 30 * kSec), "{} 3");
  EXPECT_EQ(Instant("scalar(nothing)", 0), "scalar nan");
  // 2006-01-02 22:04:05 UTC, a Monday.
  EXPECT_EQ(Instant("year(vector(1136239445))", 0), "{} 2006");
  EXPECT_EQ(Instant("month(vector(1136239445))", 0), "{} 1");
  EXPECT_EQ(Instant("day_of_month(vector(1136239445))", 0), "{} 2");
  EXPECT_EQ(Instant("hour(vector(1136239445))", 0), "{} 22");
  EXPECT_EQ(Instant("day_of_week(vector(1136239445))", 0), "{} 1");
  EXPECT_EQ(Instant("days_in_month(vector(1454284800))", 0), "{} 29");
}

TEST_F(EngineTest, LabelReplaceAndLabelJoin) {
  Add(L({{"__name__", "m"}, {"src", "host-1"}}), 0, kMin, {1});
  EXPECT_EQ(Instant("label_replace(m, \"dst\", \"n$1\", \"src\", \"host-(.*)\")", 0),
            "m{dst=\"n1\",src=\"host-1\"} 1");
  EXPECT_EQ(Instant("label_replace(m, \"dst\", \"x\", \"src\", \"nomatch\")", 0),
            "m{src=\"host-1\"} 1");
  EXPECT_EQ(Instant("label_join(m, \"dst\", \"-\", \"src\", \"__name__\")", 0),
            "m{dst=\"host-1-m\",src=\"host-1\"} 1");
  EXPECT_EQ(Instant("label_replace(m, \"dst\", \"\", \"src\", \"(\")", 0),
            "error execution: invalid regular expression in label_replace(): (");
  // Renaming keeps a name that arithmetic would otherwise drop.
  EXPECT_EQ(Instant("label_replace(m * 2, \"__name__\", \"new\", \"\", \"\")", 0),
            "new{src=\"host-1\"} 2");
}

TEST_F(EngineTest, AbsentAndAbsentOverTime) {
  Add(L({{"__name__", "x"}, {"job", "a"}}), 0, kMin, {1});
  EXPECT_EQ(Instant("absent(x)", 0), "");
  EXPECT_EQ(Instant("absent(y{job=\"a\", env=~\"p.*\"})", 0), "{job=\"a\"} 1");
  EXPECT_EQ(Instant("absent_over_time(x[1m])", 90 * kSec), "{} 1");
  EXPECT_EQ(Range("absent_over_time(x{job=\"a\"}[1m])", 0, 2 * kMin, kMin),
            "{job=\"a\"} 1@60 1@120");
}

TEST_F(EngineTest, HistogramQuantileAndFractionOnClassicBuckets) {
  Add(L({{"__name__", "h_bucket"}, {"le", "1"}}), 0, kMin, {2});
  Add(L({{"__name__", "h_bucket"}, {"le", "2"}}), 0, kMin, {6});
  Add(L({{"__name__", "h_bucket"}, {"le", "+Inf"}}), 0, kMin, {8});
  EXPECT_EQ(Instant("histogram_quantile(0.5, h_bucket)", 0), "{} 1.5");
  EXPECT_EQ(Instant("histogram_quantile(0.9, h_bucket)", 0), "{} 2");
  EXPECT_EQ(Instant("histogram_fraction(0, 1.5, h_bucket)", 0), "{} 0.5");
}

TEST_F(EngineTest, SubqueriesAlignStepsToAbsoluteTime) {
  Add(L({{"__name__", "x"}}), 0, kMin, {1, 2, 3, 4});
  EXPECT_EQ(Instant("x[2m:1m]", 150 * kSec), "x{} 2@60 3@120");
  EXPECT_EQ(Instant("max_over_time((x * 10)[3m:30s])", 3 * kMin), "{} 40");
  EXPECT_EQ(Range("sum_over_time(x[2m:1m])", kMin, 3 * kMin, kMin), "{} 3@60 5@120 7@180");
}

TEST_F(EngineTest, DelayedNameRemovalSeesNamesUntilTheEnd) {
  Add(L({{"__name__", "a_total"}, {"env", "1"}}), 0, kMin, {0, 60});
  Add(L({{"__name__", "b_total"}, {"env", "1"}}), 0, kMin, {0, 60});
  EXPECT_EQ(Instant("sum by (env) (rate({env=\"1\"}[2m]))", kMin), "{env=\"1\"} 1");
  EXPECT_EQ(Instant("rate(a_total[2m]) >= rate(b_total[2m])", kMin), "{env=\"1\"} 0.5");
  EXPECT_EQ(Instant("last_over_time(a_total[2m]) >= 60", kMin), "a_total{env=\"1\"} 60");
  EXPECT_EQ(Instant("sum by (__name__) (rate({env=\"1\"}[2m]))", kMin),
            "error execution: vector cannot contain metrics with the same labelset");
}

TEST_F(EngineTest, RateOfANonCounterNameAddsAnInfo) {
  Add(L({{"__name__", "temperature"}}), 0, 15 * kSec, {1, 2, 3});
  const QueryResult r = engine_.InstantQuery("rate(temperature[1m])", 30 * kSec);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.infos.size(), 1u);
  EXPECT_EQ(r.infos[0],
            "PromQL info: metric might not be a counter, name does not end in "
            "_total/_sum/_count/_bucket: \"temperature\" (1:6)");
  EXPECT_TRUE(r.warnings.empty());
}

TEST_F(EngineTest, InfoAddsTheDataLabelsOfTargetInfo) {
  Add(L({{"__name__", "up"}, {"job", "j"}, {"instance", "i"}}), 0, kMin, {1});
  Add(L({{"__name__", "target_info"},
         {"job", "j"},
         {"instance", "i"},
         {"region", "eu"},
         {"zone", "a"}}),
      0, kMin, {1});
  EXPECT_EQ(Instant("info(up)", 0), "up{instance=\"i\",job=\"j\",region=\"eu\",zone=\"a\"} 1");
  // A data-label selector picks the labels to add, and drops series it cannot satisfy.
  EXPECT_EQ(Instant("info(up, {region=~\".+\"})", 0),
            "up{instance=\"i\",job=\"j\",region=\"eu\"} 1");
  EXPECT_EQ(Instant("info(up, {region=\"us\"})", 0), "");
  EXPECT_EQ(Instant("info(target_info)", 0),
            "target_info{instance=\"i\",job=\"j\",region=\"eu\",zone=\"a\"} 1");
}

// ---- Limits, timeouts, cancellation, concurrency ----

TEST_F(EngineTest, MaxSamplesFailsWithPrometheusWording) {
  for (int i = 0; i < 10; ++i) {
    Add(L({{"__name__", "x"}, {"i", std::to_string(i).c_str()}}), 0, kMin, {1, 2, 3});
  }
  EngineOptions opts;
  opts.max_samples = 5;
  Engine small(opts, storage_, clock_);
  const QueryResult r = small.InstantQuery("x", kMin);
  EXPECT_EQ(Show(r),
            "error execution: query processing would load too many samples into memory in query "
            "execution");
  opts.max_samples = 100;
  Engine enough(opts, storage_, clock_);
  EXPECT_TRUE(enough.InstantQuery("sum(x)", kMin).ok());
}

TEST_F(EngineTest, ParallelReadingGivesTheSerialResultInTheSameOrder) {
  // Enough series for the parallel path, with resets, gaps and stale markers among them.
  for (int i = 0; i < 300; ++i) {
    std::string job = "j";
    job += std::to_string(i % 7);
    const Labels l =
        L({{"__name__", "req_total"}, {"job", job.c_str()}, {"i", std::to_string(i).c_str()}});
    std::vector<double> v;
    for (int k = 0; k < 40; ++k) v.push_back(k % (11 + i % 5) == 0 ? i % 3 : i + k * (i % 4));
    Add(l, static_cast<int64_t>(i % 3) * kSec, 30 * kSec, v);
    if (i % 9 == 0) AddStale(l, 40 * 30 * kSec + 1);
  }
  EngineOptions serial_opts;
  serial_opts.parallelism = 1;
  Engine serial(serial_opts, storage_, clock_);
  EngineOptions parallel_opts;
  parallel_opts.parallelism = 3;
  Engine parallel(parallel_opts, storage_, clock_);
  for (const char* q : {"rate(req_total[2m])", "sum by (job) (increase(req_total[5m]))",
                        "max_over_time(req_total[1m])", "count(resets(req_total[10m]))"}) {
    SCOPED_TRACE(q);
    const std::string want = Show(serial.RangeQuery(q, 0, 20 * kMin, 30 * kSec), true);
    EXPECT_NE(want.find('@'), std::string::npos);
    EXPECT_EQ(Show(parallel.RangeQuery(q, 0, 20 * kMin, 30 * kSec), true), want);
  }
  // A limit hit half-way stops the parallel query with the same error.
  serial_opts.max_samples = parallel_opts.max_samples = 2000;
  Engine serial_small(serial_opts, storage_, clock_);
  Engine parallel_small(parallel_opts, storage_, clock_);
  const std::string err = Show(serial_small.RangeQuery("rate(req_total[5m])", 0, 20 * kMin, kMin));
  EXPECT_EQ(err,
            "error execution: query processing would load too many samples into memory in query "
            "execution");
  EXPECT_EQ(Show(parallel_small.RangeQuery("rate(req_total[5m])", 0, 20 * kMin, kMin)), err);
  // So does a cancellation.
  std::atomic<bool> canceled{true};
  QueryContext ctx;
  ctx.canceled = &canceled;
  EXPECT_EQ(parallel.RangeQuery("sum(rate(req_total[5m]))", 0, 20 * kMin, kMin, ctx).error,
            ErrorType::kCanceled);
}

TEST_F(EngineTest, AggregatedRangeFunctionsSplitByStepMatchTheStreamedEvaluationExactly) {
  // sum by (job) (rate(x[5m])) and friends are evaluated on step ranges in parallel, straight
  // into per-thread accumulators; `* 1` forces the plain streamed evaluation of the same input.
  for (int i = 0; i < 100; ++i) {
    std::string job = "j";
    job += std::to_string(i % 7);
    const Labels l = L({{"__name__", i % 50 == 0 ? "req" : "req_total"},
                        {"job", job.c_str()},
                        {"i", std::to_string(i).c_str()}});
    std::vector<double> v;
    for (int k = 0; k < 60; ++k) {
      v.push_back(k % (11 + i % 5) == 0 ? i % 3 : 0.1 * i + k * (i % 4) + 1e-9 * k * k);
    }
    // Series start at different times, so groups appear part-way through the range.
    Add(l, static_cast<int64_t>(i % 40) * 30 * kSec + (i % 3) * kSec, 30 * kSec, v);
    if (i % 9 == 0) AddStale(l, (i % 40 + 60) * 30 * kSec + 1);
  }
  auto exact = [](const QueryResult& r) {
    if (!r.ok()) return "error " + r.error_message;
    std::string out;
    for (const auto& s : std::get<Matrix>(r.value)) {
      out += metrics::ToString(s.metric);
      for (const auto& p : s.samples) {
        char buf[64];
        auto end = std::to_chars(buf, buf + sizeof(buf), p.v).ptr;
        out += " " + std::string(buf, end) + "@" + std::to_string(p.t);
      }
      out += "\n";
    }
    for (const auto& i : r.infos) out += "info: " + i + "\n";
    return out;
  };
  for (int threads : {1, 3}) {
    EngineOptions opts;
    opts.parallelism = threads;
    Engine engine(opts, storage_, clock_);
    for (const char* agg : {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"}) {
      if (threads == 1 && std::string_view(agg) != "sum") continue;
      for (const char* fn : {"rate({job=~\"j.*\"}[5m])", "increase(req_total[2m])",
                             "max_over_time(req_total[1m])", "last_over_time(req_total[3m])"}) {
        // Few groups split the steps between threads; many give each thread whole groups.
        for (const char* by : {" by (job) ", " ", " by (i) "}) {
          const std::string fused = std::string(agg) + by + "(" + fn + ")";
          const std::string streamed = std::string(agg) + by + "(" + fn + " * 1)";
          SCOPED_TRACE(fused + " threads=" + std::to_string(threads));
          const QueryResult want = engine.RangeQuery(streamed, 0, 50 * kMin, 30 * kSec);
          ASSERT_TRUE(want.ok()) << want.error_message;
          EXPECT_FALSE(std::get<Matrix>(want.value).empty());
          const QueryResult got = engine.RangeQuery(fused, 0, 50 * kMin, 30 * kSec);
          // rate() flags the one metric whose name is not a counter's, in both evaluations.
          if (std::string_view(fn).starts_with("rate")) {
            EXPECT_NE(exact(got).find("info: PromQL info: metric might not be a counter"),
                      std::string::npos);
          }
          EXPECT_EQ(exact(got), exact(want));
        }
      }
    }
  }
  // The limit on samples held stops the split evaluation with Prometheus's error.
  EngineOptions small_opts;
  small_opts.parallelism = 2;
  small_opts.max_samples = 500;
  Engine small(small_opts, storage_, clock_);
  EXPECT_EQ(Show(small.RangeQuery("sum by (i) (rate(req_total[5m]))", 0, 50 * kMin, 30 * kSec)),
            "error execution: query processing would load too many samples into memory in query "
            "execution");
  small_opts.max_samples = 50'000;
  Engine enough(small_opts, storage_, clock_);
  EXPECT_TRUE(enough.RangeQuery("sum by (i) (rate(req_total[5m]))", 0, 50 * kMin, 30 * kSec).ok());
}

// A clock that moves forward by a fixed step on every reading.
class SteppingClock : public Clock {
 public:
  explicit SteppingClock(std::chrono::milliseconds step) : step_(step) {}
  Timestamp Now() const override { return Timestamp(step_ * (++calls_)); }

 private:
  std::chrono::milliseconds step_;
  mutable std::atomic<int64_t> calls_{0};
};

TEST_F(EngineTest, TimeoutIsMeasuredOnTheInjectedClock) {
  Add(L({{"__name__", "x"}}), 0, kMin, {1});
  SteppingClock clock(std::chrono::seconds(10));
  EngineOptions opts;
  opts.timeout = std::chrono::seconds(5);
  Engine engine(opts, storage_, clock);
  EXPECT_EQ(Show(engine.InstantQuery("x", 0)),
            "error timeout: query timed out in expression evaluation");
  QueryContext ctx;
  ctx.timeout = std::chrono::hours(1);
  EXPECT_EQ(Show(engine.InstantQuery("x", 0, ctx)), "x{} 1");
}

TEST_F(EngineTest, CanceledQueriesStop) {
  Add(L({{"__name__", "x"}}), 0, kMin, {1});
  std::atomic<bool> canceled{true};
  QueryContext ctx;
  ctx.canceled = &canceled;
  const QueryResult r = engine_.InstantQuery("x", 0, ctx);
  EXPECT_EQ(r.error, ErrorType::kCanceled);
  EXPECT_EQ(r.error_message, "query was canceled in expression evaluation");
}

// A storage whose queriers block until released, to hold a query slot.
class BlockingStorage : public metrics::Storage {
 public:
  explicit BlockingStorage(metrics::Storage& inner) : inner_(inner) {}
  std::unique_ptr<metrics::Appender> NewAppender() override { return inner_.NewAppender(); }
  Result<std::unique_ptr<metrics::Querier>> NewQuerier(int64_t mint, int64_t maxt) override {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    return inner_.NewQuerier(mint, maxt);
  }
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_ > 0; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  metrics::Storage& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool released_ = false;
};

TEST_F(EngineTest, MaxConcurrentQueuesQueriesWithinTheirTimeout) {
  Add(L({{"__name__", "x"}}), 0, kMin, {1});
  BlockingStorage blocking(storage_);
  EngineOptions opts;
  opts.max_concurrent = 1;
  SystemClock clock;
  Engine engine(opts, blocking, clock);
  QueryResult first;
  std::thread t([&] { first = engine.InstantQuery("x", 0); });
  blocking.WaitEntered();
  QueryContext ctx;
  ctx.timeout = std::chrono::milliseconds(50);
  const QueryResult queued = engine.InstantQuery("x", 0, ctx);
  EXPECT_EQ(Show(queued), "error timeout: query timed out in query queue");
  blocking.Release();
  t.join();
  EXPECT_EQ(Show(first), "x{} 1");
  EXPECT_EQ(Show(engine.InstantQuery("x", 0)), "x{} 1");
}

TEST(EngineNamesTest, ErrorAndResultTypeNamesAreThoseOfThePrometheusApi) {
  EXPECT_EQ(ErrorTypeName(ErrorType::kBadData), "bad_data");
  EXPECT_EQ(ErrorTypeName(ErrorType::kExecution), "execution");
  EXPECT_EQ(ErrorTypeName(ErrorType::kTimeout), "timeout");
  EXPECT_EQ(ErrorTypeName(ErrorType::kCanceled), "canceled");
  EXPECT_EQ(ErrorTypeName(ErrorType::kInternal), "internal");
  EXPECT_EQ(ResultTypeName(Value{ScalarValue{}}), "scalar");
  EXPECT_EQ(ResultTypeName(Value{Vector{}}), "vector");
  EXPECT_EQ(ResultTypeName(Value{Matrix{}}), "matrix");
  EXPECT_EQ(ResultTypeName(Value{StringValue{}}), "string");
}

// ---- Conformance: Prometheus's own PromQL test files ----

std::filesystem::path ConformanceDir() {
  if (const char* dir = std::getenv("PLATOPS_PROMQL_CONFORMANCE_DIR")) return dir;
  const char* src = std::getenv("PLATOPS_SOURCE_DIR");
  // Without ctest's environment, the source tree is found from this file's path.
  std::filesystem::path root =
      src != nullptr ? std::filesystem::path(src)
                     : std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  return root / ".." / "shared" / "conformance" / "promql";
}

TEST(EngineConformanceTest, EveryFloatEvaluationOfThePrometheusTestFilesPasses) {
  const auto dir = ConformanceDir();
  ASSERT_TRUE(std::filesystem::exists(dir))
      << "no conformance files at " << dir << " (set PLATOPS_PROMQL_CONFORMANCE_DIR)";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  int passed = 0;
  int failed = 0;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    auto report = RunScript(f.filename().string(), ss.str());
    ASSERT_TRUE(report.ok()) << report.status().message();
    for (const auto& fail : report.value().failures) {
      ADD_FAILURE() << f.filename().string() << ":" << fail.line << ": " << fail.message;
    }
    RecordProperty(f.filename().string(), FormatCounts(report.value()));
    passed += report.value().passed;
    failed += report.value().failed;
  }
  EXPECT_EQ(failed, 0);
  EXPECT_GT(passed, 700);
}

}  // namespace
}  // namespace platops::promql
