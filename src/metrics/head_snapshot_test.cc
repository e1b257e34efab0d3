#include "metrics/head_snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "metrics/head_dump_test_util.h"
#include "metrics/mem_storage.h"
#include "testing/temp_store.h"

namespace platops::metrics {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kChunkRange = 3'600'000;

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Every series and sample `q` returns, as text.
std::string Contents(Querier& q) {
  auto series = q.Select(std::vector<Matcher>{{MatchType::kRegexMatch, "__name__", ".+"}});
  EXPECT_TRUE(series.ok()) << series.status().message();
  std::string out;
  for (const auto& s : series.value()) {
    out += ToString(s->labels()) + ":";
    auto it = s->Iterator();
    while (it->Next()) {
      out += " " + std::to_string(it->At().t) + "=" +
             std::to_string(std::bit_cast<uint64_t>(it->At().v));
    }
    EXPECT_TRUE(it->status().ok());
    out += "\n";
  }
  return out;
}

class HeadSnapshotTest : public ::testing::Test {
 protected:
  static HeadOptions Options() {
    HeadOptions o;
    o.chunk_range_ms = kChunkRange;
    o.samples_per_chunk = 30;
    return o;
  }

  // Random series: counters, gauges, stale markers, jittered and irregular times; some series
  // end early, one never gets a sample. Mirrored into `reference`.
  void Fill(Head& head, MemStorage& reference, int series, int points, uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < series; ++i) {
      const Labels labels = Normalize({{"__name__", i % 3 == 0 ? "node_load1" : "http_total"},
                                       {"instance", "host-" + std::to_string(i)},
                                       {"job", i % 2 == 0 ? "node" : "api"}});
      SeriesRef ref = 0;
      bool created = false;
      ASSERT_EQ(head.GetOrCreate(labels, ref, created), AppendError::kNone);
      int64_t t = 1'700'000'000'000 + static_cast<int64_t>(rng() % 100'000);
      double v = static_cast<double>(rng() % 10'000);
      const int n = i == series - 1 ? 0 : points - static_cast<int>(rng() % (points / 2 + 1));
      for (int k = 0; k < n; ++k) {
        t += rng() % 10 == 0 ? 1 + static_cast<int64_t>(rng() % 600'000)
                             : 15'000 + static_cast<int64_t>(rng() % 7) - 3;
        switch (rng() % 8) {
          case 0:
            v = std::bit_cast<double>(kStaleNanBits);
            break;
          case 1:
            v = static_cast<double>(rng() % 1000) / 100;
            break;
          default:
            v = (std::isnan(v) ? 0 : v) + static_cast<double>(rng() % 500) / 100;
            break;
        }
        ASSERT_EQ(head.Append(ref, t, v), AppendError::kNone);
        reference.Add(labels, Sample{t, v});
      }
    }
  }

  std::string Path() const { return (dir_.path() / "head.snapshot").string(); }

  testing::TempDir dir_;
};

TEST_F(HeadSnapshotTest, RoundTripsEverySeriesChunkAndAppendStateExactly) {
  Head head(Options());
  MemStorage reference;
  Fill(head, reference, 40, 200, 1);
  head.set_min_valid_time(1'650'000'000'000);
  const HeadSnapshotMeta meta{.wal_segment = 17,
                              .min_valid_time = head.min_valid_time(),
                              .max_logged_t = 1'700'009'000'000,
                              .next_ref = head.last_ref() + 5};
  auto written = WriteHeadSnapshot(head, meta, Path());
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_EQ(written.value().series, 40u);
  EXPECT_EQ(written.value().bytes, fs::file_size(Path()));
  EXPECT_FALSE(fs::exists(Path() + ".tmp"));

  Head restored(Options());
  auto loaded = LoadHeadSnapshot(Path(), restored);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded.value().meta, meta);
  EXPECT_EQ(loaded.value().stats.series, 40u);
  EXPECT_EQ(loaded.value().stats.samples, written.value().samples);
  EXPECT_EQ(loaded.value().stats.chunks, written.value().chunks);
  EXPECT_EQ(DumpHead(restored), DumpHead(head));
  Head on_one_thread(Options());
  ASSERT_TRUE(LoadHeadSnapshot(Path(), on_one_thread, /*decode_threads=*/0).ok());
  EXPECT_EQ(DumpHead(on_one_thread), DumpHead(head));
  // The same series and samples as the reference, through the query path.
  auto want = reference.NewQuerier(INT64_MIN, INT64_MAX);
  ASSERT_TRUE(want.ok());
  const std::string expected = Contents(*want.value());
  EXPECT_EQ(Contents(*restored.NewQuerier(INT64_MIN, INT64_MAX)), expected);
  EXPECT_EQ(restored.Stats().num_series, 40u);
  // New series continue after the snapshot's next_ref.
  SeriesRef ref = 0;
  bool created = false;
  ASSERT_EQ(restored.GetOrCreate(Normalize({{"__name__", "new"}}), ref, created),
            AppendError::kNone);
  EXPECT_EQ(ref, meta.next_ref);
}

TEST_F(HeadSnapshotTest, AppendsAfterARestoreContinueAsIfThereHadBeenNone) {
  Head head(Options());
  MemStorage reference;
  Fill(head, reference, 25, 100, 2);
  ASSERT_TRUE(WriteHeadSnapshot(head, HeadSnapshotMeta{}, Path()).ok());
  Head restored(Options());
  ASSERT_TRUE(LoadHeadSnapshot(Path(), restored).ok());
  // The same appends to both: chunk bytes, cuts and rejections must agree.
  std::mt19937_64 rng(9);
  std::vector<SeriesRef> refs;
  head.ForEachSeries([&refs](SeriesRef ref, const Labels&) { refs.push_back(ref); });
  for (int round = 0; round < 150; ++round) {
    for (SeriesRef ref : refs) {
      const int64_t t = 1'700'100'000'000 + round * 15'000 + static_cast<int64_t>(rng() % 5);
      const double v = static_cast<double>(rng() % 100'000) / 100;
      ASSERT_EQ(restored.Append(ref, t, v), head.Append(ref, t, v));
    }
  }
  EXPECT_EQ(DumpHead(restored), DumpHead(head));
  // Out-of-order and duplicate samples are still refused after the restore.
  EXPECT_EQ(restored.Append(refs[0], 1'600'000'000'000, 1), AppendError::kOutOfOrder);
}

TEST_F(HeadSnapshotTest, AnEmptyHeadRoundTrips) {
  Head head(Options());
  ASSERT_TRUE(WriteHeadSnapshot(head, HeadSnapshotMeta{.wal_segment = 3}, Path()).ok());
  Head restored(Options());
  auto loaded = LoadHeadSnapshot(Path(), restored);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded.value().meta.wal_segment, 3);
  EXPECT_EQ(loaded.value().stats.series, 0u);
  EXPECT_EQ(restored.Stats().num_series, 0u);
}

TEST_F(HeadSnapshotTest, AMissingFileIsNotFound) {
  Head head(Options());
  EXPECT_EQ(LoadHeadSnapshot(Path(), head).status().code(), StatusCode::kNotFound);
}

TEST_F(HeadSnapshotTest, EveryFlippedByteAndEveryTruncationIsReportedAsDamage) {
  Head head(Options());
  MemStorage reference;
  Fill(head, reference, 3, 40, 3);
  ASSERT_TRUE(WriteHeadSnapshot(head, HeadSnapshotMeta{.wal_segment = 2}, Path()).ok());
  const std::string good = ReadFile(Path());
  ASSERT_GT(good.size(), 150u);
  std::mt19937_64 rng(4);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ static_cast<char>(1 + rng() % 255));
    WriteFile(Path(), bad);
    Head target(Options());
    auto loaded = LoadHeadSnapshot(Path(), target);
    ASSERT_FALSE(loaded.ok()) << "flipped byte " << i;
    EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument) << i;
    EXPECT_THAT(loaded.status().message(), StartsWith("head snapshot " + Path() + ": frame "));
  }
  for (size_t len = 0; len < good.size(); ++len) {
    WriteFile(Path(), std::string_view(good).substr(0, len));
    Head target(Options());
    EXPECT_FALSE(LoadHeadSnapshot(Path(), target).ok()) << "truncated to " << len;
  }
  WriteFile(Path(), good + "x");
  Head target(Options());
  auto extra = LoadHeadSnapshot(Path(), target);
  EXPECT_THAT(extra.status().message(), HasSubstr("after the end frame"));
}

TEST_F(HeadSnapshotTest, AFailedWriteLeavesNoFileBehind) {
  Head head(Options());
  const std::string missing_dir = (dir_.path() / "absent" / "head.snapshot").string();
  auto written = WriteHeadSnapshot(head, HeadSnapshotMeta{}, missing_dir);
  EXPECT_FALSE(written.ok());
  EXPECT_THAT(written.status().message(), HasSubstr("absent/head.snapshot.tmp"));
  EXPECT_FALSE(fs::exists(missing_dir));
}

}  // namespace
}  // namespace platops::metrics
