#include "metrics/backfill.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <string>

#include "ingest/text_parser.h"
#include "metrics/db.h"
#include "testing/temp_store.h"

namespace platops::metrics {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kHour = 3600 * 1000;
// An 18 h boundary shortly before 2026-11-27 (1795737600 s), the time the literal lines below use.
constexpr int64_t kT0 = int64_t{1795737600} * 1000 - int64_t{1795737600} * 1000 % (18 * kHour);
constexpr int64_t kNow = kT0 + 100 * kHour;

using SeriesMap = std::map<Labels, std::vector<Sample>>;

Labels L(const std::string& name, const std::string& instance) {
  return Normalize({{"__name__", name}, {"instance", instance}, {"job", "node"}});
}

// One OpenMetrics sample line; OpenMetrics timestamps are seconds.
std::string Line(const Labels& labels, const Sample& s) {
  ingest::Sample line;
  line.labels = labels;
  line.value = s.v;
  std::string text = ingest::FormatSampleLine(line);
  text.pop_back();
  char ts[40];
  std::snprintf(ts, sizeof ts, " %lld.%03lld\n", static_cast<long long>(s.t / 1000),
                static_cast<long long>(s.t % 1000));
  return text + ts;
}

class BackfillTest : public ::testing::Test {
 protected:
  std::string StoreDir() const { return dir_.path().string() + "/metrics"; }

  Result<BackfillReport> Run(std::string_view text, BackfillOptions options = {}) {
    options.now_ms = kNow;
    return Backfill(text, StoreDir(), options);
  }

  // Every sample in the store, read back through a Db as the server would.
  SeriesMap ReadBack() {
    SeriesMap out;
    auto db = Db::Open(StoreDir(), DbOptions{});
    EXPECT_TRUE(db.ok()) << db.status().message();
    if (!db.ok()) return out;
    auto q = db.value()->NewQuerier(INT64_MIN, INT64_MAX);
    EXPECT_TRUE(q.ok());
    std::vector<Matcher> all = {{MatchType::kRegexMatch, "__name__", ".+"}};
    auto series = q.value()->Select(all);
    EXPECT_TRUE(series.ok()) << series.status().message();
    for (const auto& s : series.value()) {
      auto it = s->Iterator();
      auto& samples = out[s->labels()];
      while (it->Next()) samples.push_back(it->At());
      EXPECT_TRUE(it->status().ok()) << it->status().message();
    }
    return out;
  }

  std::vector<std::string> BlockDirs() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(StoreDir() + "/blocks", ec)) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  testing::TempDir dir_;
};

TEST_F(BackfillTest, ImportsShuffledSamplesAndReadsThemBackExactly) {
  // Three series over 40 h at 60 s, with NaN, -0.0, +Inf and a gap. OpenMetrics keeps a family's
  // lines together; inside a family they are shuffled (series interleaved, times unsorted).
  std::mt19937 rng(3);
  SeriesMap want;
  std::map<std::string, std::vector<std::string>> family_lines;
  const Labels series[] = {L("node_load1", "a:9100"), L("node_load1", "b:9100"),
                           L("node_cpu_seconds_total", "a:9100")};
  for (int s = 0; s < 3; ++s) {
    double v = 100 * s;
    for (int64_t t = kT0 + 5 * kHour + s * 1000; t < kT0 + 45 * kHour; t += 60'000) {
      if (s == 1 && t > kT0 + 10 * kHour && t < kT0 + 30 * kHour) continue;
      v += std::uniform_int_distribution<int>(0, 50)(rng) / 100.0;
      Sample sample{t, v};
      if (t == kT0 + 6 * kHour + s * 1000) sample.v = std::numeric_limits<double>::quiet_NaN();
      if (t == kT0 + 7 * kHour + s * 1000) sample.v = -0.0;
      if (t == kT0 + 8 * kHour + s * 1000) sample.v = std::numeric_limits<double>::infinity();
      // What the text form reads back as (NaN has one spelling, whatever its payload).
      sample.v = *ingest::ParseFloatValue(ingest::FormatFloatValue(sample.v));
      want[series[s]].push_back(sample);
      family_lines[std::string(Get(series[s], "__name__"))].push_back(Line(series[s], sample));
    }
  }
  // The same sample twice is kept once.
  family_lines["node_load1"].push_back(Line(series[0], want[series[0]][10]));
  std::string text;
  for (auto& [family, lines] : family_lines) {
    std::shuffle(lines.begin(), lines.end(), rng);
    text += "# TYPE " + family + " gauge\n";
    for (const auto& l : lines) text += l;
  }
  text += "# EOF\n";

  auto report = Run(text);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_TRUE(report->errors.empty()) << report->errors[0].message;
  uint64_t total = 0;
  for (const auto& [labels, samples] : want) total += samples.size();
  EXPECT_EQ(report->samples, total);
  EXPECT_EQ(report->series, 3u);
  EXPECT_EQ(report->duplicates, 1u);
  EXPECT_EQ(report->min_time, kT0 + 5 * kHour);
  EXPECT_EQ(report->max_time, want[series[2]].back().t);
  // 5 h .. 45 h touches the 18 h ranges [0, 18), [18, 36) and [36, 54): one block each, from its
  // first sample to its last.
  ASSERT_EQ(report->blocks.size(), 3u);
  EXPECT_EQ(report->blocks[0].min_time, kT0 + 5 * kHour);
  EXPECT_LE(report->blocks[0].max_time, kT0 + 18 * kHour);
  EXPECT_GE(report->blocks[1].min_time, kT0 + 18 * kHour);
  EXPECT_EQ(report->blocks[2].max_time, want[series[2]].back().t + 1);
  EXPECT_EQ(BlockDirs().size(), 3u);  // No staging directory left behind.

  EXPECT_EQ(ReadBack(), want);
}

TEST_F(BackfillTest, WritesSeveralPassesWhenTheInputExceedsTheMemoryBudget) {
  SeriesMap want;
  std::string text;
  const Labels labels = L("up", "a:9100");
  for (int64_t t = kT0; t < kT0 + 20 * kHour; t += 60'000) {
    want[labels].push_back({t, 1});
    text += Line(labels, {t, 1});
  }
  text += "# EOF\n";
  BackfillOptions options;
  options.block_duration_ms = 2 * kHour;
  options.max_samples_in_memory = 150;  // Fewer than two 2 h ranges (120 samples each).
  auto report = Run(text, options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_TRUE(report->errors.empty()) << report->errors[0].message;
  EXPECT_EQ(report->blocks.size(), 10u);
  EXPECT_EQ(report->samples, 1200u);
  EXPECT_EQ(ReadBack(), want);
}

TEST_F(BackfillTest, ReportsBadLinesWithTheirNumbersAndWritesNothing) {
  const std::string text =
      "# TYPE up gauge\n"                      // 1
      "# HELP up Whether the target is up.\n"  // 2
      "up{instance=\"a\"} 1 1795737600.000\n"  // 3
      "up{instance=\"b\"} 1\n"                 // 4: no timestamp
      "up{instance=\"c\"} 1 1895737600.000\n"  // 5: in the future
      "up{instance=\"d\"} 1 1795737615.000\n"  // 6
      "# TYPE other gauge\n"                   // 7
      "other 2 1795737600.000\n"               // 8
      "# EOF\n";
  auto report = Run(text);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->errors.size(), 2u);
  EXPECT_EQ(report->errors[0].line, 4);
  EXPECT_THAT(report->errors[0].message, HasSubstr("no timestamp"));
  EXPECT_EQ(report->errors[1].line, 5);
  EXPECT_THAT(report->errors[1].message, HasSubstr("in the future"));
  EXPECT_EQ(report->samples, 0u);
  EXPECT_TRUE(report->blocks.empty());
  EXPECT_TRUE(BlockDirs().empty());
  EXPECT_TRUE(ReadBack().empty());
}

TEST_F(BackfillTest, ReportsTheSyntaxErrorLineAndWritesNothing) {
  const std::string text =
      "up{instance=\"a\"} 1 1795737600.000\n"
      "up{instance=\"b\" 1 1795737600.000\n"
      "# EOF\n";
  auto report = Run(text);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_EQ(report->errors[0].line, 2);
  EXPECT_FALSE(report->errors[0].message.starts_with("line"));
  EXPECT_TRUE(BlockDirs().empty());
}

TEST_F(BackfillTest, ConflictingValuesAreReportedWithBothLinesAndNothingIsWritten) {
  // The conflict is in the second of two batches: the first batch's block must not appear either.
  std::string text;
  const Labels labels = L("up", "a:9100");
  for (int64_t t = kT0; t < kT0 + 4 * kHour; t += 60'000) text += Line(labels, {t, 1});
  text += Line(labels, {kT0 + 3 * kHour, 0});  // Line 241; the first value is on line 181.
  text += "# EOF\n";
  BackfillOptions options;
  options.block_duration_ms = 2 * kHour;
  options.max_samples_in_memory = 130;
  auto report = Run(text, options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_EQ(report->errors[0].line, 181);
  EXPECT_THAT(report->errors[0].message, HasSubstr("different values"));
  EXPECT_THAT(report->errors[0].message, HasSubstr("lines 181, 241"));
  EXPECT_TRUE(report->blocks.empty());
  EXPECT_TRUE(BlockDirs().empty());
}

TEST_F(BackfillTest, RefusesTimesTheStoreAlreadyHolds) {
  const Labels labels = L("up", "a:9100");
  {
    std::string first;
    for (int64_t t = kT0 + 20 * kHour; t < kT0 + 22 * kHour; t += 60'000) {
      first += Line(labels, {t, 1});
    }
    auto report = Run(first + "# EOF\n");
    ASSERT_TRUE(report.ok() && report->errors.empty());
  }
  {
    // Samples in the live head (through the WAL) as well.
    auto db = Db::Open(StoreDir(), DbOptions{});
    ASSERT_TRUE(db.ok());
    auto app = db.value()->NewAppender();
    SeriesRef ref = 0;
    ASSERT_EQ(app->Append(ref, labels, kT0 + 30 * kHour, 5), AppendError::kNone);
    ASSERT_TRUE(app->Commit().ok());
  }
  const std::string inside = Line(labels, {kT0 + 21 * kHour, 2}) + "# EOF\n";
  auto report = Run(inside);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_EQ(report->errors[0].line, 1);
  EXPECT_THAT(report->errors[0].message, HasSubstr("falls in block"));

  // 19 h and 23 h: no sample inside the block, but a block from 19 h to 23 h would span it.
  const std::string around =
      Line(labels, {kT0 + 19 * kHour, 2}) + Line(labels, {kT0 + 23 * kHour, 2}) + "# EOF\n";
  report = Run(around);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_THAT(report->errors[0].message, HasSubstr("would form a block around block"));

  const std::string head = Line(labels, {kT0 + 31 * kHour, 2}) + "# EOF\n";
  report = Run(head);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_THAT(report->errors[0].message, HasSubstr("not older than the store's recent samples"));

  // Before the block is fine, and the head's sample survives.
  const std::string before = Line(labels, {kT0 + 2 * kHour, 3}) + "# EOF\n";
  report = Run(before);
  ASSERT_TRUE(report.ok());
  ASSERT_TRUE(report->errors.empty()) << report->errors[0].message;
  auto back = ReadBack();
  ASSERT_EQ(back[labels].size(), 122u);
  EXPECT_EQ(back[labels].front(), (Sample{kT0 + 2 * kHour, 3}));
  EXPECT_EQ(back[labels].back(), (Sample{kT0 + 30 * kHour, 5}));
}

TEST_F(BackfillTest, TheStoreAcceptsLiveSamplesRightAfterTheNewestImportedOne) {
  const Labels labels = L("up", "a:9100");
  const int64_t last = kT0 + 3 * kHour;
  auto report = Run(Line(labels, {kT0 + kHour, 1}) + Line(labels, {last, 1}) + "# EOF\n");
  ASSERT_TRUE(report.ok() && report->errors.empty());
  ASSERT_EQ(report->blocks.size(), 1u);
  EXPECT_EQ(report->blocks[0].max_time, last + 1);

  auto db = Db::Open(StoreDir(), DbOptions{});
  ASSERT_TRUE(db.ok()) << db.status().message();
  auto app = db.value()->NewAppender();
  SeriesRef ref = 0;
  EXPECT_NE(app->Append(ref, labels, last, 2), AppendError::kNone);
  EXPECT_EQ(app->Append(ref, labels, last + 1, 2), AppendError::kNone);
  ASSERT_TRUE(app->Commit().ok());
}

TEST_F(BackfillTest, RefusesAStoreLockedByAnotherProcess) {
  fs::create_directories(StoreDir());
  int fd = ::open((StoreDir() + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  auto report = Run("up 1 1795737600.000\n# EOF\n");
  ::close(fd);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(report.status().message(), HasSubstr("is locked"));
  EXPECT_TRUE(BlockDirs().empty());
}

TEST_F(BackfillTest, RejectsABlockDurationTheStoreDoesNotCompactInto) {
  BackfillOptions options;
  options.block_duration_ms = 4 * kHour;
  auto report = Run("# EOF\n", options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("got 4h"));
}

}  // namespace
}  // namespace platops::metrics
