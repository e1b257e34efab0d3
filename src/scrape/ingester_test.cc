// Tests of the per-target ingester against the in-memory store: the cache, Prometheus's label
// rules, limits, staleness and the report series.

#include "scrape/ingester.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "ingest/text_parser.h"
#include "metrics/mem_storage.h"
#include "metrics/sample.h"
#include "scrape/test_util.h"

namespace platops::scrape {
namespace {

using metrics::Labels;
using metrics::Sample;

constexpr int64_t kT0 = 1767225600000;  // 2026-01-01
constexpr int64_t kStep = 15000;
constexpr const char* kText = "text/plain; version=0.0.4";

class IngesterTest : public ::testing::Test {
 protected:
  static IngestConfig Config() {
    IngestConfig c;
    c.target_labels = {{"instance", "h:1"}, {"job", "j"}};
    return c;
  }
  ScrapeResult Scrape(Ingester& ing, const std::string& body, int64_t t,
                      const char* content_type = kText) {
    return ing.Ingest(storage_, body, content_type, t, std::chrono::steady_clock::now());
  }
  std::vector<Sample> Samples(const std::string& series) { return ReadAll(storage_)[series]; }
  // The value of report series `name` of target {instance="h:1",job="j"} at `t`.
  double Report(const std::string& name, int64_t t) {
    for (const auto& s : Samples(name + "{instance=\"h:1\",job=\"j\"}"))
      if (s.t == t) return s.v;
    ADD_FAILURE() << "no " << name << " at " << t;
    return -1;
  }

  metrics::MemStorage storage_;
};

TEST_F(IngesterTest, FirstScrapeStoresSamplesWithTargetLabelsAndReport) {
  Ingester ing(Config());
  auto r = Scrape(ing,
                  "# HELP a_total Requests.\n# TYPE a_total counter\na_total{code=\"200\"} 5\n"
                  "b 1.5\n",
                  kT0);
  EXPECT_TRUE(r.up()) << r.error;
  EXPECT_EQ(r.scraped, 2);
  EXPECT_EQ(r.cache_misses, 2);
  EXPECT_EQ(Samples("a_total{code=\"200\",instance=\"h:1\",job=\"j\"}"),
            (std::vector<Sample>{{kT0, 5}}));
  EXPECT_EQ(Samples("b{instance=\"h:1\",job=\"j\"}"), (std::vector<Sample>{{kT0, 1.5}}));
  EXPECT_EQ(Report("up", kT0), 1);
  EXPECT_EQ(Report("scrape_samples_scraped", kT0), 2);
  EXPECT_EQ(Report("scrape_samples_post_metric_relabeling", kT0), 2);
  EXPECT_EQ(Report("scrape_series_added", kT0), 2);
  EXPECT_GE(Report("scrape_duration_seconds", kT0), 0);
  EXPECT_EQ(ReadAll(storage_).size(), 7u) << "2 series and 5 report series";
}

TEST_F(IngesterTest, SecondScrapeHitsTheCacheAndStoresTheNewValues) {
  Ingester ing(Config());
  Scrape(ing, "a{x=\"1\"} 1\nb 2\n", kT0);
  auto r = Scrape(ing, "a{x=\"1\"} 10\nb 20\n", kT0 + kStep);
  EXPECT_TRUE(r.up());
  EXPECT_EQ(r.cache_hits, 2);
  EXPECT_EQ(r.cache_misses, 0);
  EXPECT_EQ(r.series_added, 0);
  EXPECT_EQ(Samples("a{instance=\"h:1\",job=\"j\",x=\"1\"}"),
            (std::vector<Sample>{{kT0, 1}, {kT0 + kStep, 10}}));
  EXPECT_EQ(Samples("b{instance=\"h:1\",job=\"j\"}"),
            (std::vector<Sample>{{kT0, 2}, {kT0 + kStep, 20}}));
  EXPECT_EQ(Report("scrape_series_added", kT0 + kStep), 0);
}

TEST_F(IngesterTest, ChangedLabelsMakeANewSeriesAndTheOldOneStale) {
  Ingester ing(Config());
  Scrape(ing, "a{x=\"1\"} 1\n", kT0);
  auto r = Scrape(ing, "a{x=\"2\"} 2\n", kT0 + kStep);
  EXPECT_EQ(r.cache_misses, 1);
  EXPECT_EQ(r.stale_markers, 1);
  auto old = Samples("a{instance=\"h:1\",job=\"j\",x=\"1\"}");
  ASSERT_EQ(old.size(), 2u);
  EXPECT_EQ(old[0], (Sample{kT0, 1}));
  EXPECT_EQ(old[1].t, kT0 + kStep);
  EXPECT_TRUE(IsStale(old[1].v));
  EXPECT_EQ(Samples("a{instance=\"h:1\",job=\"j\",x=\"2\"}"),
            (std::vector<Sample>{{kT0 + kStep, 2}}));
}

TEST_F(IngesterTest, DisappearingSeriesGetOneStaleMarkerAndMayComeBack) {
  Ingester ing(Config());
  Scrape(ing, "a 1\nb 1\n", kT0);
  Scrape(ing, "a 2\n", kT0 + kStep);
  Scrape(ing, "a 3\n", kT0 + 2 * kStep);
  Scrape(ing, "a 4\nb 4\n", kT0 + 3 * kStep);
  auto b = Samples("b{instance=\"h:1\",job=\"j\"}");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], (Sample{kT0, 1}));
  EXPECT_EQ(b[1].t, kT0 + kStep);
  EXPECT_TRUE(IsStale(b[1].v));
  EXPECT_EQ(b[2], (Sample{kT0 + 3 * kStep, 4}));
  EXPECT_EQ(Samples("a{instance=\"h:1\",job=\"j\"}").size(), 4u);
}

TEST_F(IngesterTest, MetricRelabelDropIsCachedAndNotCounted) {
  IngestConfig c = Config();
  ingest::RelabelConfig drop;
  drop.source_labels = {"__name__"};
  drop.regex = "drop_.*";
  drop.action = ingest::RelabelAction::kDrop;
  ASSERT_TRUE(drop.Compile().ok());
  ingest::RelabelConfig rename;
  rename.source_labels = {"__name__"};
  rename.regex = "keep";
  rename.target_label = "__name__";
  rename.replacement = "kept";
  ASSERT_TRUE(rename.Compile().ok());
  c.metric_relabel_configs = {drop, rename};
  Ingester ing(c);
  auto r1 = Scrape(ing, "keep 1\ndrop_me 2\n", kT0);
  auto r2 = Scrape(ing, "keep 3\ndrop_me 4\n", kT0 + kStep);
  EXPECT_EQ(r1.scraped, 2);
  EXPECT_EQ(r1.post_relabel, 1);
  EXPECT_EQ(r2.cache_misses, 0) << "the dropped series is remembered as dropped";
  EXPECT_EQ(r2.post_relabel, 1);
  auto all = ReadAll(storage_);
  EXPECT_EQ(all.count("drop_me{instance=\"h:1\",job=\"j\"}"), 0u);
  EXPECT_EQ(all["kept{instance=\"h:1\",job=\"j\"}"],
            (std::vector<Sample>{{kT0, 1}, {kT0 + kStep, 3}}));
  EXPECT_EQ(Report("scrape_samples_post_metric_relabeling", kT0), 1);
}

TEST_F(IngesterTest, HonorLabelsFalseKeepsExposedValuesUnderExportedNames) {
  Ingester ing(Config());
  Scrape(ing, "m{job=\"exp\",instance=\"i2\",exported_job=\"z\"} 1\n", kT0);
  EXPECT_EQ(Samples("m{exported_exported_job=\"exp\",exported_instance=\"i2\",exported_job=\"z\","
                    "instance=\"h:1\",job=\"j\"}"),
            (std::vector<Sample>{{kT0, 1}}));
}

TEST_F(IngesterTest, HonorLabelsTrueKeepsExposedValues) {
  IngestConfig c = Config();
  c.honor_labels = true;
  Ingester ing(c);
  Scrape(ing, "m{job=\"exp\"} 1\n", kT0);
  EXPECT_EQ(Samples("m{instance=\"h:1\",job=\"exp\"}"), (std::vector<Sample>{{kT0, 1}}));
}

TEST_F(IngesterTest, HonoredTimestampsAreKeptAndNotMarkedStale) {
  Ingester ing(Config());
  Scrape(ing, "m 1 1767225500000\nn 1\n", kT0);
  Scrape(ing, "n 2\n", kT0 + kStep);
  EXPECT_EQ(Samples("m{instance=\"h:1\",job=\"j\"}"), (std::vector<Sample>{{1767225500000, 1}}))
      << "no stale marker for a series with its own timestamps";

  IngestConfig c = Config();
  c.honor_timestamps = false;
  Ingester ignoring(c);
  Scrape(ignoring, "o 1 1767225500000\n", kT0);
  EXPECT_EQ(Samples("o{instance=\"h:1\",job=\"j\"}"), (std::vector<Sample>{{kT0, 1}}));
}

TEST_F(IngesterTest, SampleLimitFailsTheWholeScrape) {
  IngestConfig c = Config();
  c.sample_limit = 2;
  Ingester ing(c);
  ASSERT_TRUE(Scrape(ing, "a 1\nb 1\n", kT0).up());
  auto r = Scrape(ing, "a 2\nb 2\nc 2\n", kT0 + kStep);
  EXPECT_FALSE(r.up());
  EXPECT_EQ(r.failure, FailureReason::kSampleLimit);
  EXPECT_EQ(r.error, "sample limit exceeded");
  EXPECT_EQ(r.scraped, 3);
  EXPECT_EQ(Report("up", kT0 + kStep), 0);
  EXPECT_EQ(Report("scrape_samples_scraped", kT0 + kStep), 3);
  auto all = ReadAll(storage_);
  EXPECT_EQ(all.count("c{instance=\"h:1\",job=\"j\"}"), 0u) << "nothing of the body is stored";
  for (const char* name : {"a", "b"}) {
    auto s = all[std::string(name) + "{instance=\"h:1\",job=\"j\"}"];
    ASSERT_EQ(s.size(), 2u) << name;
    EXPECT_EQ(s[1].t, kT0 + kStep);
    EXPECT_TRUE(IsStale(s[1].v)) << name << " is marked stale, not updated";
  }
}

TEST_F(IngesterTest, SampleLimitOnAFirstScrapeStoresOnlyTheReport) {
  IngestConfig c = Config();
  c.sample_limit = 1;
  Ingester ing(c);
  auto r = Scrape(ing, "a 1\nb 1\n", kT0);
  EXPECT_FALSE(r.up());
  auto all = ReadAll(storage_);
  EXPECT_EQ(all.size(), 5u);
  for (const auto& [series, samples] : all)
    EXPECT_EQ(series.rfind("scrape_", 0) == 0 || series.rfind("up{", 0) == 0, true) << series;
}

TEST_F(IngesterTest, LabelLimitsFailTheScrape) {
  IngestConfig c = Config();
  c.label_limit = 4;
  Ingester ing(c);
  auto r = Scrape(ing, "m{a=\"1\",b=\"2\"} 1\n", kT0);
  EXPECT_EQ(r.failure, FailureReason::kLabelLimit);
  EXPECT_EQ(r.error, "label_limit exceeded (metric: m, number of labels: 5, limit: 4)");

  IngestConfig v = Config();
  v.label_value_length_limit = 3;
  Ingester values(v);
  auto r2 = Scrape(values, "m{a=\"toolong\"} 1\n", kT0);
  EXPECT_EQ(r2.failure, FailureReason::kLabelLimit);
  EXPECT_EQ(r2.error,
            "label_value_length_limit exceeded (metric: m, label name: a, value: \"toolong\", "
            "length: 7, limit: 3)");
  EXPECT_EQ(ReadAll(storage_).count("m{a=\"toolong\",instance=\"h:1\",job=\"j\"}"), 0u);
}

TEST_F(IngesterTest, ParseErrorFailsTheScrapeWithTheParsersMessage) {
  Ingester ing(Config());
  ASSERT_TRUE(Scrape(ing, "a 1\n", kT0).up());
  const std::string bad = "a 2\n# TYPE a counter\nb{x=1} 3\n";
  auto expected =
      ingest::Parse(ingest::Format::kPrometheus004, bad, [](ingest::Sample&&) { return true; });
  ASSERT_FALSE(expected.ok());
  auto r = Scrape(ing, bad, kT0 + kStep);
  EXPECT_EQ(r.failure, FailureReason::kParse);
  EXPECT_EQ(r.error, expected.status().message());
  EXPECT_EQ(r.error.rfind("line 3: ", 0), 0u) << r.error;
  auto a = Samples("a{instance=\"h:1\",job=\"j\"}");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_TRUE(IsStale(a[1].v)) << "the value 2 before the error is not kept";
  EXPECT_EQ(Report("up", kT0 + kStep), 0);
  EXPECT_EQ(Report("scrape_samples_scraped", kT0 + kStep), 1);
}

TEST_F(IngesterTest, OpenMetricsBodyIsReadByContentType) {
  Ingester ing(Config());
  const std::string body = "# TYPE m counter\nm_total 3 1767225600.5\n# EOF\n";
  auto r = Scrape(ing, body, kT0, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_TRUE(r.up()) << r.error;
  EXPECT_EQ(Samples("m_total{instance=\"h:1\",job=\"j\"}"),
            (std::vector<Sample>{{1767225600500, 3}}));
  auto r2 = Scrape(ing, "m_total 4\n", kT0 + kStep, "application/openmetrics-text");
  EXPECT_EQ(r2.failure, FailureReason::kParse) << "OpenMetrics needs # EOF";
  auto r3 = Scrape(ing, body, kT0 + 2 * kStep, kText);
  EXPECT_EQ(r3.failure, FailureReason::kParse) << "a seconds timestamp is not 0.0.4";
}

TEST_F(IngesterTest, FastPathAgreesWithTheParser) {
  // Formatting the scanner has to get right: blanks and tabs, a trailing comma, escapes, braces
  // inside values, no blank before the value, special values, timestamps.
  // Each line is prefix + value + suffix; "" as value keeps the line's own special value.
  const std::vector<std::tuple<std::string, std::string, std::string>> lines = {
      {"a ", "", ""},
      {"b{x=\"1\"} ", "", ""},
      {"  c{ y = \"2\" , } ", "", " 1767225600000"},
      {"d{z=\"a\\\"b\\\\c\\nd\"} ", "", ""},
      {"e{w=\"}{\"} ", "", ""},
      {"f ", "+Inf", ""},
      {"g ", "-1.5e-3", ""},
      {"h ", "NaN", ""},
      {"i\t", "", "\t1767225600001"},
      {"j{q=\"x\"}", "", ""},
      {"k{q=\"\"} ", "", ""},
      {"l ", "123456789012345678", ""},
      {"m ", "", "   "},
      {"n{a=\"1\"} ", "1e3", " 1767225600002"},
  };
  auto body = [&](int round) {
    std::string b = "# round " + std::to_string(round) + "\n";
    for (size_t i = 0; i < lines.size(); ++i) {
      const auto& [prefix, value, suffix] = lines[i];
      b += prefix + (value.empty() ? std::to_string(round * 100 + i) : value) + suffix + "\n";
      if (round > 0 && i % 5 == 0) b += "# HELP x y\n\n";
    }
    return b;
  };
  IngestConfig c = Config();
  Ingester ing(c);
  for (int round = 0; round < 3; ++round) {
    metrics::MemStorage fresh;
    const std::string text = body(round);
    const int64_t t = kT0 + round * kStep;
    auto r = ing.Ingest(fresh, text, kText, t, std::chrono::steady_clock::now());
    ASSERT_TRUE(r.up()) << r.error;
    if (round > 0) {
      EXPECT_EQ(r.cache_misses, 0) << "round " << round;
    }
    std::map<std::string, std::vector<Sample>> expected;
    auto parsed = ingest::Parse(ingest::Format::kPrometheus004, text, [&](ingest::Sample&& s) {
      Labels l = s.labels;
      l.push_back({"instance", "h:1"});
      l.push_back({"job", "j"});
      expected[metrics::ToString(metrics::Normalize(l))].push_back(
          {s.timestamp_ms.value_or(t), s.value});
      return true;
    });
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    auto got = ReadAll(fresh);
    for (const auto& [series, samples] : expected) {
      ASSERT_EQ(got[series].size(), 1u) << series;
      EXPECT_EQ(got[series][0], samples[0]) << series;
    }
    EXPECT_EQ(got.size(), expected.size() + 5);
  }
}

TEST_F(IngesterTest, ReorderedAndChurningSeriesStayCorrect) {
  Ingester ing(Config());
  const int n = 3000;
  auto line = [](int i, int v) {
    return "s{i=\"" + std::to_string(i) + "\"} " + std::to_string(v) + "\n";
  };
  std::string first;
  for (int i = 0; i < n; ++i) first += line(i, i);
  ASSERT_TRUE(Scrape(ing, first, kT0).up());
  // Reversed, every third series gone, 100 new ones in the middle.
  std::string second;
  for (int i = n - 1; i >= 0; --i) {
    if (i == n / 2)
      for (int k = 0; k < 100; ++k) second += line(n + k, 7);
    if (i % 3 != 0) second += line(i, i + 1);
  }
  auto r2 = Scrape(ing, second, kT0 + kStep);
  ASSERT_TRUE(r2.up());
  EXPECT_EQ(r2.cache_misses, 100);
  EXPECT_EQ(r2.stale_markers, n / 3);
  EXPECT_EQ(ing.cache_size(), static_cast<size_t>(n - n / 3 + 100));
  // Back in the original order: the removed ones come back as new series.
  auto r3 = Scrape(ing, first, kT0 + 2 * kStep);
  ASSERT_TRUE(r3.up());
  EXPECT_EQ(r3.cache_misses, n / 3);
  EXPECT_EQ(r3.stale_markers, 100);
  auto all = ReadAll(storage_);
  for (int i = 0; i < n; ++i) {
    auto s = all["s{i=\"" + std::to_string(i) + "\",instance=\"h:1\",job=\"j\"}"];
    ASSERT_EQ(s.size(), 3u) << i;
    EXPECT_EQ(s[0], (Sample{kT0, static_cast<double>(i)}));
    if (i % 3 == 0) {
      EXPECT_TRUE(IsStale(s[1].v)) << i;
    } else {
      EXPECT_EQ(s[1], (Sample{kT0 + kStep, static_cast<double>(i + 1)}));
    }
    EXPECT_EQ(s[2], (Sample{kT0 + 2 * kStep, static_cast<double>(i)}));
  }
}

TEST_F(IngesterTest, DuplicateSeriesInOneScrapeIsCountedNotStored) {
  Ingester ing(Config());
  auto r = Scrape(ing, "a 1\na 2\n", kT0);
  EXPECT_TRUE(r.up());
  EXPECT_EQ(r.duplicate, 1);
  EXPECT_EQ(r.post_relabel, 2);
  EXPECT_EQ(Samples("a{instance=\"h:1\",job=\"j\"}"), (std::vector<Sample>{{kT0, 1}}));
}

TEST_F(IngesterTest, FailedFetchReportsDownAndMarksEverythingStale) {
  Ingester ing(Config());
  Scrape(ing, "a 1\n", kT0);
  auto r = ing.Fail(storage_, FailureReason::kTimeout, "Get \"x\": context deadline exceeded",
                    kT0 + kStep, std::chrono::steady_clock::now());
  EXPECT_FALSE(r.up());
  EXPECT_EQ(r.stale_markers, 1);
  EXPECT_EQ(Report("up", kT0 + kStep), 0);
  EXPECT_EQ(Report("scrape_samples_scraped", kT0 + kStep), 0);
  auto a = Samples("a{instance=\"h:1\",job=\"j\"}");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_TRUE(IsStale(a[1].v));
  // The next good scrape brings it back without another stale marker.
  auto r3 = Scrape(ing, "a 3\n", kT0 + 2 * kStep);
  EXPECT_EQ(r3.stale_markers, 0);
  EXPECT_EQ(Samples("a{instance=\"h:1\",job=\"j\"}").back(), (Sample{kT0 + 2 * kStep, 3}));
}

TEST_F(IngesterTest, EmptyBodyIsUpAndMarksPreviousSeriesStale) {
  Ingester ing(Config());
  Scrape(ing, "a 1\n", kT0);
  auto r = Scrape(ing, "", kT0 + kStep);
  EXPECT_TRUE(r.up());
  EXPECT_EQ(r.stale_markers, 1);
  EXPECT_EQ(Report("up", kT0 + kStep), 1);
}

TEST_F(IngesterTest, EndOfRunMarksEverySeriesAndTheReportStale) {
  Ingester ing(Config());
  Scrape(ing, "a 1\nb 1\n", kT0);
  EXPECT_EQ(ing.WriteEndOfRunStale(storage_, kT0 + kStep, true), 7);
  for (const auto& [series, samples] : ReadAll(storage_)) {
    ASSERT_EQ(samples.size(), 2u) << series;
    EXPECT_TRUE(IsStale(samples[1].v)) << series;
  }
  Ingester never(Config());
  EXPECT_EQ(never.WriteEndOfRunStale(storage_, kT0 + kStep, true), 0)
      << "a target that never reported has nothing to mark";
}

}  // namespace
}  // namespace platops::scrape
