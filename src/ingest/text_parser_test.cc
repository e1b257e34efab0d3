#include "ingest/text_parser.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace platops::ingest {
namespace {

using metrics::Label;
using metrics::Labels;
using ::testing::ElementsAre;

struct Parsed {
  Status status;
  ParseStats stats;
  std::vector<Sample> samples;
  std::vector<MetricMeta> metas;
};

class TextParserTest : public ::testing::Test {
 protected:
  static Parsed Run(Format format, std::string_view body, const ParseOptions& options = {}) {
    Parsed out;
    auto r = Parse(
        format, body,
        [&](Sample&& s) {
          out.samples.push_back(std::move(s));
          return true;
        },
        [&](MetricMeta&& m) { out.metas.push_back(std::move(m)); }, options);
    if (r.ok()) {
      out.stats = r.value();
    } else {
      out.status = r.status();
    }
    return out;
  }
  static Parsed Prom(std::string_view body) { return Run(Format::kPrometheus004, body); }
  static Parsed Om(std::string_view body) { return Run(Format::kOpenMetrics1, body); }
  static std::string PromError(std::string_view body) { return Prom(body).status.message(); }
  static std::string OmError(std::string_view body) { return Om(body).status.message(); }
};

TEST_F(TextParserTest, PrometheusSpecExample) {
  // The example of the Prometheus "Exposition formats" page, verbatim.
  const char* body = R"(# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="0.2"} 100392
http_request_duration_seconds_bucket{le="0.5"} 129389
http_request_duration_seconds_bucket{le="1"} 133988
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.05"} 3272
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.9"} 9001
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
)";
  Parsed p = Prom(body);
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  ASSERT_EQ(p.samples.size(), 20u);
  EXPECT_EQ(p.stats.samples, 20);
  EXPECT_EQ(p.samples[0].labels,
            (Labels{{"__name__", "http_requests_total"}, {"code", "200"}, {"method", "post"}}));
  EXPECT_EQ(p.samples[0].value, 1027);
  EXPECT_EQ(p.samples[0].timestamp_ms, 1395066363000);
  EXPECT_EQ(p.samples[1].value, 3);
  EXPECT_EQ(p.samples[2].labels, (Labels{{"__name__", "msdos_file_access_time_seconds"},
                                         {"error", "Cannot find file:\n\"FILE.TXT\""},
                                         {"path", "C:\\DIR\\FILE.TXT"}}));
  EXPECT_EQ(p.samples[2].value, 1.458255915e9);
  EXPECT_FALSE(p.samples[2].timestamp_ms);
  EXPECT_EQ(p.samples[3].labels, (Labels{{"__name__", "metric_without_timestamp_and_labels"}}));
  EXPECT_EQ(p.samples[3].value, 12.47);
  EXPECT_TRUE(std::isinf(p.samples[4].value) && p.samples[4].value > 0);
  EXPECT_EQ(p.samples[4].timestamp_ms, -3982045);
  EXPECT_EQ(metrics::Get(p.samples[10].labels, "le"), "+Inf");
  EXPECT_EQ(p.samples[19].value, 2693);
  ASSERT_EQ(p.metas.size(), 3u);
  EXPECT_EQ(p.metas[0].family, "http_requests_total");
  EXPECT_EQ(p.metas[0].type, "counter");
  EXPECT_EQ(p.metas[0].help, "The total number of HTTP requests.");
  EXPECT_EQ(p.metas[1].family, "http_request_duration_seconds");
  EXPECT_EQ(p.metas[1].type, "histogram");
  EXPECT_EQ(p.metas[2].type, "summary");
  EXPECT_EQ(p.metas[2].help, "A summary of the RPC duration in seconds.");
}

TEST_F(TextParserTest, OpenMetricsSpecExamples) {
  Parsed p = Om(R"(# TYPE foo_seconds counter
# UNIT foo_seconds seconds
# HELP foo_seconds Time spent \"fooing\".\nSecond line \\ done.
foo_seconds_total{a="bb"} 0 123
foo_seconds_created{a="bb"} 123.456
# TYPE foo histogram
foo_bucket{le="0.01"} 0
foo_bucket{le="0.1"} 8 # {} 0.054
foo_bucket{le="1"} 11 # {trace_id="KOO5S4vxi0o"} 0.67
foo_bucket{le="10"} 17 # {trace_id="oHg5SJYRHA0"} 9.8 1520879607.789
foo_bucket{le="+Inf"} 17
foo_count 17
foo_sum 324789.3
foo_created 1520430000.123
# TYPE bar stateset
bar{entity="controller",bar="a"} 1.0
bar{entity="controller",bar="bb"} 0.0
# TYPE build info
build_info{name="pretty name",version="8.2.7"} 1
# TYPE baz gaugehistogram
baz_bucket{le="+Inf"} 3
baz_gcount 3
baz_gsum 4.5
# EOF
)");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  ASSERT_EQ(p.samples.size(), 16u);
  EXPECT_EQ(p.samples[0].labels, (Labels{{"__name__", "foo_seconds_total"}, {"a", "bb"}}));
  EXPECT_EQ(p.samples[0].timestamp_ms, 123000);
  EXPECT_EQ(metrics::Get(p.samples[1].labels, "__name__"), "foo_seconds_created");
  EXPECT_EQ(p.samples[1].value, 123.456);
  EXPECT_FALSE(p.samples[2].has_exemplar);
  ASSERT_TRUE(p.samples[3].has_exemplar);
  EXPECT_TRUE(p.samples[3].exemplar.labels.empty());
  EXPECT_EQ(p.samples[3].exemplar.value, 0.054);
  EXPECT_FALSE(p.samples[3].exemplar.timestamp_ms);
  EXPECT_EQ(p.samples[4].exemplar.labels, (Labels{{"trace_id", "KOO5S4vxi0o"}}));
  EXPECT_EQ(p.samples[5].exemplar.value, 9.8);
  EXPECT_EQ(p.samples[5].exemplar.timestamp_ms, 1520879607789);
  EXPECT_FALSE(p.samples[5].timestamp_ms);
  EXPECT_EQ(p.stats.exemplars, 3);
  EXPECT_EQ(p.samples[9].value, 1520430000.123);
  ASSERT_EQ(p.metas.size(), 5u);
  EXPECT_EQ(p.metas[0].family, "foo_seconds");
  EXPECT_EQ(p.metas[0].type, "counter");
  EXPECT_EQ(p.metas[0].unit, "seconds");
  EXPECT_EQ(p.metas[0].help, "Time spent \"fooing\".\nSecond line \\ done.");
  EXPECT_EQ(p.metas[2].type, "stateset");
  EXPECT_EQ(p.metas[3].type, "info");
  EXPECT_EQ(p.metas[4].type, "gaugehistogram");
}

TEST_F(TextParserTest, OpenMetricsCanSkipCreatedSeries) {
  const char* body =
      "# TYPE a counter\na_total 1\na_created 10\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n"
      "h_count 1\nh_sum 2\nh_created 5\nplain_created 7\n# EOF\n";
  Parsed all = Om(body);
  ASSERT_TRUE(all.status.ok()) << all.status.message();
  EXPECT_EQ(all.samples.size(), 7u);
  Parsed skipped = Run(Format::kOpenMetrics1, body, {.skip_created_series = true});
  ASSERT_TRUE(skipped.status.ok()) << skipped.status.message();
  std::vector<std::string> names;
  for (const auto& s : skipped.samples) names.emplace_back(metrics::Get(s.labels, "__name__"));
  // plain_created has no family declaring it a created timestamp: it is an ordinary series.
  EXPECT_THAT(names, ElementsAre("a_total", "h_bucket", "h_count", "h_sum", "plain_created"));
}

TEST_F(TextParserTest, LabelValueEscapes) {
  Parsed p = Prom(R"(m{a="back\\slash",b="quote\"",c="new\nline",d="tab\t stays",e="ünïcødé ✓"} 1
)");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  ASSERT_EQ(p.samples.size(), 1u);
  const Labels& l = p.samples[0].labels;
  EXPECT_EQ(metrics::Get(l, "a"), "back\\slash");
  EXPECT_EQ(metrics::Get(l, "b"), "quote\"");
  EXPECT_EQ(metrics::Get(l, "c"), "new\nline");
  EXPECT_EQ(metrics::Get(l, "d"), "tab\\t stays");  // Unknown escapes stay as written.
  EXPECT_EQ(metrics::Get(l, "e"), "ünïcødé ✓");
  Parsed om = Om("m{a=\"x\\\\y\\\"z\\n\"} 1\n# EOF\n");
  ASSERT_TRUE(om.status.ok()) << om.status.message();
  EXPECT_EQ(metrics::Get(om.samples[0].labels, "a"), "x\\y\"z\n");
}

TEST_F(TextParserTest, HelpEscapingDiffersFromLabelValues) {
  // 0.0.4 HELP knows only \\ and \n; \" stays as written. OpenMetrics HELP also unescapes \".
  Parsed p = Prom("# HELP m a \\\\ b \\n c \\\" d\n# TYPE m gauge\nm 1\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  ASSERT_EQ(p.metas.size(), 1u);
  EXPECT_EQ(p.metas[0].help, "a \\ b \n c \\\" d");
  EXPECT_EQ(p.metas[0].type, "gauge");
  Parsed om = Om("# HELP m a \\\\ b \\n c \\\" d\nm 1\n# EOF");
  ASSERT_TRUE(om.status.ok()) << om.status.message();
  EXPECT_EQ(om.metas[0].help, "a \\ b \n c \" d");
  EXPECT_EQ(om.metas[0].type, "unknown");
}

TEST_F(TextParserTest, PrometheusLenientWhitespaceCommentsAndLabelSets) {
  Parsed p = Prom(
      "#comment without space\n# another comment\n#\tHELP\tm\tTabbed help\n  \n"
      "  m { a = \"1\" , b=\"2\", } 1\t 17 \n"
      "m{} 2\nm{c=\"\"} 3\nm{a=\"1\"}4\n# HELPER is a comment\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  ASSERT_EQ(p.samples.size(), 4u);
  EXPECT_EQ(p.samples[0].labels, (Labels{{"__name__", "m"}, {"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(p.samples[0].timestamp_ms, 17);
  EXPECT_EQ(p.samples[1].labels, (Labels{{"__name__", "m"}}));
  EXPECT_EQ(p.samples[2].labels, (Labels{{"__name__", "m"}}));  // Empty value means absent.
  EXPECT_EQ(p.samples[3].value, 4);
  ASSERT_EQ(p.metas.size(), 1u);
  EXPECT_EQ(p.metas[0].help, "Tabbed help");
  EXPECT_EQ(p.metas[0].type, "untyped");
  EXPECT_EQ(p.stats.lines, 9);
}

TEST_F(TextParserTest, Values) {
  Parsed p = Prom(
      "a +Inf\na -Inf\na NaN\na inf\na -infinity\na 1e3\na -1.5E-3\na .5\na 5.\na +7\n"
      "a 0\na -0\na 1e-400\na 123456789012345678901234567890\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  std::vector<double> v;
  for (const auto& s : p.samples) v.push_back(s.value);
  ASSERT_EQ(v.size(), 14u);
  EXPECT_EQ(v[0], INFINITY);
  EXPECT_EQ(v[1], -INFINITY);
  EXPECT_TRUE(std::isnan(v[2]));
  EXPECT_EQ(v[3], INFINITY);
  EXPECT_EQ(v[4], -INFINITY);
  EXPECT_EQ(v[5], 1000);
  EXPECT_EQ(v[6], -0.0015);
  EXPECT_EQ(v[7], 0.5);
  EXPECT_EQ(v[8], 5);
  EXPECT_EQ(v[9], 7);
  EXPECT_TRUE(v[11] == 0 && std::signbit(v[11]));
  EXPECT_EQ(v[12], 0);
  EXPECT_EQ(v[13], 1.2345678901234568e29);
  for (const char* bad : {"0x10", "1_000", "1e", "+NaN", "nan(1)", "1e999", "--1", "1,5", "Inf1",
                          ".", "e5", "0x1p3"}) {
    EXPECT_FALSE(ParseFloatValue(bad)) << bad;
    EXPECT_EQ(PromError(std::string("a ") + bad + "\n"),
              std::string("line 1: invalid value of \"a\" \"") + bad + "\"")
        << bad;
  }
}

TEST_F(TextParserTest, FormatFloatValueRoundTrips) {
  for (double d :
       {0.0, -0.0, 1.0, 0.1, 1e300, -2.5e-310, 123456.789, double{INFINITY}, -double{INFINITY}}) {
    std::optional<double> back = ParseFloatValue(FormatFloatValue(d));
    ASSERT_TRUE(back) << FormatFloatValue(d);
    EXPECT_EQ(*back, d);
    EXPECT_EQ(std::signbit(*back), std::signbit(d));
  }
  EXPECT_EQ(FormatFloatValue(NAN), "NaN");
  EXPECT_EQ(FormatFloatValue(INFINITY), "+Inf");
}

TEST_F(TextParserTest, Timestamps) {
  Parsed p = Prom("a 1 1700000000123\na 1 0\n");
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.samples[0].timestamp_ms, 1700000000123);
  EXPECT_EQ(p.samples[1].timestamp_ms, 0);
  EXPECT_EQ(PromError("a 1 1.5\n"),
            "line 1: invalid timestamp \"1.5\" (want integer milliseconds)");
  EXPECT_EQ(PromError("a 1 99999999999999999999\n"),
            "line 1: invalid timestamp \"99999999999999999999\" (want integer milliseconds)");
  EXPECT_EQ(PromError("a 1 2 3\n"), "line 1: expected line feed after the sample, got '3'");

  Parsed om = Om("a 1 1700000000.123\nb 1 1.001\nc 1 -1.5\nd 1 1.7e9\ne 1 5\n# EOF\n");
  ASSERT_TRUE(om.status.ok()) << om.status.message();
  EXPECT_EQ(om.samples[0].timestamp_ms, 1700000000123);
  EXPECT_EQ(om.samples[1].timestamp_ms, 1001);
  EXPECT_EQ(om.samples[2].timestamp_ms, -1500);
  EXPECT_EQ(om.samples[3].timestamp_ms, 1700000000000);
  EXPECT_EQ(om.samples[4].timestamp_ms, 5000);
  EXPECT_EQ(OmError("a 1 NaN\n# EOF\n"), "line 1: invalid timestamp \"NaN\" (want seconds)");
  EXPECT_EQ(OmError("a 1 +Inf\n# EOF\n"), "line 1: invalid timestamp \"+Inf\" (want seconds)");
}

TEST_F(TextParserTest, OpenMetricsEof) {
  EXPECT_TRUE(Om("# EOF").status.ok());
  EXPECT_TRUE(Om("# EOF\n").status.ok());
  EXPECT_TRUE(Om("a 1\n# EOF").status.ok());
  EXPECT_EQ(OmError(""), "line 1: missing # EOF at the end of the body");
  EXPECT_EQ(OmError("a 1\n"), "line 2: missing # EOF at the end of the body");
  EXPECT_EQ(OmError("a 1"), "line 1: missing # EOF at the end of the body");
  EXPECT_EQ(OmError("a 1\n# EOF\n\n"), "line 3: unexpected data after # EOF");
  EXPECT_EQ(OmError("# EOF\na 1\n"), "line 2: unexpected data after # EOF");
  EXPECT_EQ(OmError("# EOF "),
            "line 1: invalid comment: OpenMetrics allows only # HELP, # TYPE, "
            "# UNIT and # EOF");
  // 0.0.4 has no # EOF: it is a comment there.
  EXPECT_TRUE(Prom("a 1\n# EOF\n").status.ok());
}

TEST_F(TextParserTest, PrometheusErrorsCarryLineNumbers) {
  EXPECT_EQ(PromError("a 1\nb{x 1\n"), "line 2: expected '=' after label name \"x\", got '1'");
  EXPECT_EQ(PromError("a 1\n\nb{x=1} 1\n"),
            "line 3: expected '\"' to open the value of label \"x\", got '1'");
  EXPECT_EQ(PromError("b{x=\"1\" y=\"2\"} 1\n"),
            "line 1: expected ',' or '}' after the value of label \"x\", got 'y'");
  EXPECT_EQ(PromError("b{1x=\"1\"} 1\n"), "line 1: expected label name or '}', got '1'");
  EXPECT_EQ(PromError("b{x=\"1\n\"} 1\n"),
            "line 1: unterminated value of label \"x\" (a line feed inside must be written \\n)");
  EXPECT_EQ(PromError("b{x=\"1} 1"),
            "line 1: unterminated value of label \"x\" (a line feed inside must be written \\n)");
  EXPECT_EQ(PromError("b{x=\"\xff\"} 1\n"), "line 1: invalid UTF-8 in the value of label \"x\"");
  EXPECT_EQ(PromError("b{x=\"\xc0\xaf\"} 1\n"),
            "line 1: invalid UTF-8 in the value of label \"x\"");
  EXPECT_EQ(PromError("b{x=\"\xed\xa0\x80\"} 1\n"),
            "line 1: invalid UTF-8 in the value of label \"x\"");
  EXPECT_EQ(PromError("b{x=\"1\",x=\"2\"} 1\n"), "line 1: duplicate label name \"x\"");
  EXPECT_EQ(PromError("b{__name__=\"c\"} 1\n"), "line 1: duplicate label name \"__name__\"");
  EXPECT_EQ(PromError("1b 1\n"), "line 1: expected metric name at the start of a line, got '1'");
  EXPECT_EQ(PromError("{x=\"1\"} 1\n"),
            "line 1: expected metric name at the start of a line, got '{'");
  EXPECT_EQ(PromError("b-c 1\n"), "line 1: invalid value of \"b\" \"-c\"");
  EXPECT_EQ(PromError("b\n"), "line 1: expected value of \"b\", got line feed");
  EXPECT_EQ(PromError("b 1 {\n"), "line 1: expected timestamp or line feed, got '{'");
  EXPECT_EQ(PromError("a 1\nb 1"), "line 2: the last line must end with a line feed");
  EXPECT_EQ(PromError("# TYPE a counters\n"), "line 1: invalid metric type \"counters\"");
  EXPECT_EQ(PromError("# TYPE a info\n"), "line 1: invalid metric type \"info\"");
  EXPECT_EQ(PromError("# HELP 1a x\n"), "line 1: expected metric name after HELP, got '1'");
  EXPECT_EQ(PromError("# HELP a{ x\n"),
            "line 1: expected whitespace after metric name \"a\" in HELP, got '{'");
  EXPECT_EQ(PromError("# HELP a x"), "line 1: HELP line must end with a line feed");
  EXPECT_EQ(PromError("# HELP a \xff\n"), "line 1: HELP text of \"a\" is not valid UTF-8");
  // Comments may end the body without a line feed.
  EXPECT_TRUE(Prom("a 1\n# done").status.ok());
}

TEST_F(TextParserTest, OpenMetricsErrorsCarryLineNumbers) {
  EXPECT_EQ(OmError("a 1\n\nb 1\n# EOF\n"), "line 2: empty line (OpenMetrics allows none)");
  EXPECT_EQ(OmError("# comment\n# EOF\n"),
            "line 1: invalid comment: OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF");
  EXPECT_EQ(OmError("#HELP a x\n# EOF\n"),
            "line 1: invalid comment: OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF");
  EXPECT_EQ(OmError("a  1\n# EOF\n"), "line 1: expected value of \"a\", got space");
  EXPECT_EQ(OmError("a{x=\"1\"}\t1\n# EOF\n"),
            "line 1: expected a space and a value after \"a\", got tab");
  EXPECT_EQ(OmError("a{x=\"1\",} 1\n# EOF\n"), "line 1: expected label name after ',', got '}'");
  EXPECT_EQ(OmError("a{x= \"1\"} 1\n# EOF\n"),
            "line 1: expected '\"' to open the value of label \"x\", got space");
  EXPECT_EQ(OmError("a 1 \n# EOF\n"), "line 1: expected timestamp or line feed, got line feed");
  EXPECT_EQ(OmError("# TYPE a untyped\n# EOF\n"), "line 1: invalid metric type \"untyped\"");
  EXPECT_EQ(OmError("# TYPE a gauge\n# TYPE a gauge\n# EOF\n"),
            "line 2: second TYPE line for \"a\"");
  EXPECT_EQ(OmError("# TYPE a gauge\na 1\n# HELP a x\n# EOF\n"),
            "line 3: HELP line for \"a\" after its samples");
  EXPECT_EQ(OmError("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n# EOF\n"),
            "line 5: metric family \"a\" appears twice (OpenMetrics families must not be "
            "interleaved or repeated)");
  EXPECT_EQ(OmError("a 1\nb 1\na 2\n# EOF\n"),
            "line 3: metric family \"a\" appears twice (OpenMetrics families must not be "
            "interleaved or repeated)");
  EXPECT_EQ(OmError("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nx 1\nh_count 1\n# EOF\n"),
            "line 4: sample \"h_count\" of metric family \"h\" appears after another family "
            "(OpenMetrics families must not be interleaved)");
  // A suffix that does not fit the earlier family's type names a family of its own.
  EXPECT_TRUE(Om("# TYPE g gauge\ng 1\nx 1\ng_total 1\n# EOF\n").status.ok());
  // Counters: _total and _created belong to the family; a sample named like the family is
  // accepted as Prometheus does.
  Parsed counter =
      Om("# TYPE c counter\nc_total 1\nc_created 2\n# TYPE d_total counter\n"
         "d_total 3\n# EOF\n");
  ASSERT_TRUE(counter.status.ok()) << counter.status.message();
  EXPECT_EQ(counter.metas.size(), 2u);
  EXPECT_EQ(counter.samples.size(), 3u);
  EXPECT_EQ(OmError("# UNIT a_bytes seconds\n# EOF\n"),
            "line 1: unit \"seconds\" is not a suffix of metric family \"a_bytes\"");
  EXPECT_EQ(OmError("# UNIT abytes bytes\n# EOF\n"),
            "line 1: unit \"bytes\" is not a suffix of metric family \"abytes\"");
  EXPECT_EQ(OmError("# HELP a\n# EOF\n"),
            "line 1: expected a space after metric family name \"a\" in HELP, got line feed");
  EXPECT_EQ(OmError("a 1 # {x=\"1\"}\n# EOF\n"),
            "line 1: expected a space after exemplar labels, got line feed");
  EXPECT_EQ(OmError("a 1 # x\n# EOF\n"), "line 1: expected \"# {\" to open an exemplar, got '#'");
  EXPECT_EQ(OmError("a 1 2 x\n# EOF\n"), "line 1: expected \"# {\" to open an exemplar, got 'x'");
  EXPECT_EQ(OmError("a 1 # {x=\"1\",x=\"2\"} 1\n# EOF\n"),
            "line 1: duplicate exemplar label name \"x\"");
}

TEST_F(TextParserTest, ExemplarAfterTimestamp) {
  Parsed p =
      Om("a_total{x=\"1\"} 5 1700000000 # {trace_id=\"t\",span_id=\"\"} 2.5 1700000001.5\n"
         "a_total{x=\"2\"} 6\n# EOF\n");
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  ASSERT_EQ(p.samples.size(), 2u);
  EXPECT_EQ(p.samples[0].timestamp_ms, 1700000000000);
  ASSERT_TRUE(p.samples[0].has_exemplar);
  EXPECT_EQ(p.samples[0].exemplar.labels, (Labels{{"trace_id", "t"}}));
  EXPECT_EQ(p.samples[0].exemplar.value, 2.5);
  EXPECT_EQ(p.samples[0].exemplar.timestamp_ms, 1700000001500);
  EXPECT_FALSE(p.samples[1].has_exemplar);
  EXPECT_EQ(p.stats.exemplars, 1);
  // 0.0.4 has no exemplars: "#" is not a timestamp.
  EXPECT_EQ(PromError("a 1 # {x=\"1\"} 1\n"),
            "line 1: invalid timestamp \"#\" (want integer milliseconds)");
}

TEST_F(TextParserTest, ExemplarRuneLimit) {
  std::string at_limit(120, 'v');  // "trace_id" (8) + 120 = 128 characters.
  EXPECT_TRUE(Om("a_total 1 # {trace_id=\"" + at_limit + "\"} 1\n# EOF\n").status.ok());
  std::string over = at_limit + "é";  // One more character, two more bytes.
  EXPECT_EQ(OmError("a_total 1 # {trace_id=\"" + over + "\"} 1\n# EOF\n"),
            "line 1: exemplar labels have 129 characters; the limit is 128");
}

TEST_F(TextParserTest, CallbackCanStopEarly) {
  int seen = 0;
  auto r = Parse(Format::kPrometheus004, "a 1\nb 2\nc{\n", [&](Sample&&) { return ++seen < 2; });
  ASSERT_TRUE(r.ok()) << r.status().message();  // The malformed third line is never read.
  EXPECT_EQ(seen, 2);
  EXPECT_TRUE(r->stopped);
  EXPECT_EQ(r->samples, 2);
}

TEST_F(TextParserTest, ContentTypeNegotiation) {
  EXPECT_EQ(FormatForContentType("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            Format::kOpenMetrics1);
  EXPECT_EQ(FormatForContentType("application/openmetrics-text"), Format::kOpenMetrics1);
  EXPECT_EQ(FormatForContentType(" Application/OpenMetrics-Text ;version=0.0.1"),
            Format::kOpenMetrics1);
  EXPECT_EQ(FormatForContentType("text/plain; version=0.0.4; charset=utf-8"),
            Format::kPrometheus004);
  EXPECT_EQ(FormatForContentType(""), Format::kPrometheus004);
  EXPECT_EQ(FormatForContentType("application/json"), Format::kPrometheus004);
  EXPECT_EQ(FormatForContentType("application/openmetrics-textual"), Format::kPrometheus004);
  EXPECT_EQ(FormatName(Format::kOpenMetrics1), "openmetrics-1.0");
}

TEST_F(TextParserTest, CallbacksMayMoveAndBuffersAreReused) {
  std::vector<Labels> kept;
  auto r =
      Parse(Format::kPrometheus004, "a{x=\"1\"} 1\na{x=\"2\",y=\"3\"} 2\na 3\n", [&](Sample&& s) {
        if (s.value != 2) kept.push_back(std::move(s.labels));
        return true;
      });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0], (Labels{{"__name__", "a"}, {"x", "1"}}));
  EXPECT_EQ(kept[1], (Labels{{"__name__", "a"}}));  // Nothing left over from the longer set.
}

// Generates a body of 10,000 series with awkward label values and every kind of value, parses it
// in both formats and compares with what was generated.
TEST_F(TextParserTest, SyntheticRoundTrip) {
  std::mt19937_64 rng(7);
  const std::vector<std::string> pieces = {"a",  "\\", "\"", "\n", "é",   "✓",  " ",
                                           "{}", "=",  ",",  "#",  "x y", "\t", "😀"};
  std::vector<Sample> want;
  std::string prom, om;
  for (int family = 0; family < 100; ++family) {
    std::string name = "family_" + std::to_string(family) + (family % 2 ? ":sub" : "");
    prom += "# HELP " + name + " Help of family " + std::to_string(family) + "\n";
    prom += "# TYPE " + name + " gauge\n";
    om += "# TYPE " + name + " gauge\n# HELP " + name + " Help of family " +
          std::to_string(family) + "\n";
    for (int i = 0; i < 100; ++i) {
      Sample s;
      s.labels.push_back({"__name__", name});
      s.labels.push_back({"id", std::to_string(i)});
      std::string v;
      for (int k = 0; k < static_cast<int>(rng() % 6); ++k) v += pieces[rng() % pieces.size()];
      s.labels.push_back({"value_" + std::to_string(i % 3), v});
      s.labels.push_back({"A", "upper"});
      s.labels = metrics::Normalize(std::move(s.labels));
      switch (rng() % 5) {
        case 0:
          s.value = static_cast<double>(rng() % 1000000);
          break;
        case 1:
          s.value = std::ldexp(static_cast<double>(rng() % 1000000), -20);
          break;
        case 2:
          s.value = -1e-300 * static_cast<double>(rng() % 100);
          break;
        case 3:
          s.value = (rng() % 2) ? INFINITY : -INFINITY;
          break;
        default:
          s.value = 1e308;
      }
      if (rng() % 2) s.timestamp_ms = static_cast<int64_t>(rng() % 2000000000000);
      std::string line = FormatSampleLine(s);
      prom += line;
      if (s.timestamp_ms) {
        // OpenMetrics timestamps are seconds.
        std::string ms = std::to_string(*s.timestamp_ms);
        while (ms.size() < 4) ms.insert(0, "0");
        std::string sec = ms.substr(0, ms.size() - 3) + "." + ms.substr(ms.size() - 3);
        line = line.substr(0, line.rfind(' ')) + " " + sec + "\n";
      }
      om += line;
      want.push_back(std::move(s));
    }
  }
  om += "# EOF\n";
  for (Format f : {Format::kPrometheus004, Format::kOpenMetrics1}) {
    Parsed got = Run(f, f == Format::kPrometheus004 ? prom : om);
    ASSERT_TRUE(got.status.ok()) << FormatName(f) << ": " << got.status.message();
    ASSERT_EQ(got.samples.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got.samples[i].labels, want[i].labels) << FormatName(f) << " sample " << i;
      ASSERT_EQ(got.samples[i].value, want[i].value) << FormatName(f) << " sample " << i;
      ASSERT_EQ(got.samples[i].timestamp_ms, want[i].timestamp_ms) << FormatName(f) << i;
    }
    ASSERT_EQ(got.metas.size(), 100u);
    EXPECT_EQ(got.metas[42].family, "family_42");
    EXPECT_EQ(got.metas[42].type, "gauge");
    EXPECT_EQ(got.metas[42].help, "Help of family 42");
  }
}

}  // namespace
}  // namespace platops::ingest
