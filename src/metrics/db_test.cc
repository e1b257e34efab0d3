#include "metrics/db.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "metrics/wal_records.h"
#include "testing/temp_store.h"

namespace platops::metrics {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr int64_t kRange = 10'000;  // A 10 s block range keeps the tests small.

Labels L(const std::string& name, const std::string& instance) {
  return Normalize({{"__name__", name}, {"instance", instance}});
}

class DbTest : public ::testing::Test {
 protected:
  DbOptions Options() {
    DbOptions o;
    o.block_range_ms = kRange;
    o.retention = std::chrono::milliseconds(1'000'000);
    o.wal_sync = false;
    o.wal_segment_size = 4096;
    return o;
  }
  std::unique_ptr<Db> OpenDb(DbOptions o) {
    auto db = Db::Open(dir_.path().string(), o);
    EXPECT_TRUE(db.ok()) << db.status().message();
    return db.ok() ? std::move(db).value() : nullptr;
  }
  // Appends one sample per series at each t in [from, to) stepping by `step`, one commit per t.
  void Fill(Db& db, std::vector<Labels> series, int64_t from, int64_t to, int64_t step) {
    std::vector<SeriesRef> refs(series.size(), 0);
    for (int64_t t = from; t < to; t += step) {
      auto app = db.NewAppender();
      for (size_t i = 0; i < series.size(); ++i) {
        ASSERT_EQ(app->Append(refs[i], series[i], t, static_cast<double>(t) / 1000 + i),
                  AppendError::kNone);
      }
      ASSERT_TRUE(app->Commit().ok());
    }
  }
  // All samples of the series named `name`, per instance.
  std::map<std::string, std::vector<Sample>> Read(Db& db, const std::string& name,
                                                   int64_t mint = INT64_MIN,
                                                   int64_t maxt = INT64_MAX) {
    std::map<std::string, std::vector<Sample>> out;
    auto q = db.NewQuerier(mint, maxt);
    EXPECT_TRUE(q.ok());
    auto series = q.value()->Select(std::vector<Matcher>{{MatchType::kEqual, "__name__", name}});
    EXPECT_TRUE(series.ok()) << series.status().message();
    for (const auto& s : series.value()) {
      auto it = s->Iterator();
      auto& v = out[std::string(Get(s->labels(), "instance"))];
      while (it->Next()) v.push_back(it->At());
      EXPECT_TRUE(it->status().ok()) << it->status().message();
    }
    return out;
  }
  std::string Path(const std::string& p) const { return dir_.path().string() + "/" + p; }

  testing::TempDir dir_;
};

TEST_F(DbTest, CommittedSamplesSurviveARestartThroughTheWal) {
  DbOptions o = Options();
  o.snapshot_on_close = false;
  {
    auto db = OpenDb(o);
    Fill(*db, {L("up", "a"), L("up", "b")}, 0, 5000, 1000);
    auto app = db->NewAppender();
    SeriesRef ref = 0;
    ASSERT_EQ(app->Append(ref, L("up", "c"), 1000, 1), AppendError::kNone);
    app->Rollback();  // Never committed: must not come back.
    ASSERT_TRUE(db->Close().ok());
  }
  EXPECT_FALSE(fs::exists(Path("head.snapshot")));
  auto db = OpenDb(o);
  EXPECT_FALSE(db->open_report().snapshot_loaded);
  EXPECT_EQ(db->open_report().replayed_samples, 10u);
  EXPECT_THAT(db->open_report().wal.dropped, IsEmpty());
  auto data = Read(*db, "up");
  ASSERT_THAT(data, SizeIs(2));
  EXPECT_THAT(data["a"], SizeIs(5));
  EXPECT_EQ(data["b"][4], (Sample{4000, 5}));
}

TEST_F(DbTest, CountsRejectedSamplesPerReason) {
  auto db = OpenDb(Options());
  Fill(*db, {L("up", "a")}, 5000, 6000, 1000);
  auto app = db->NewAppender();
  SeriesRef ref = 0;
  EXPECT_EQ(app->Append(ref, L("up", "a"), 4000, 1), AppendError::kOutOfOrder);
  EXPECT_EQ(app->Append(ref, L("up", "a"), 5000, 99), AppendError::kDuplicate);
  SeriesRef other = 0;
  EXPECT_EQ(app->Append(other, Normalize({{"job", "x"}}), 5000, 1), AppendError::kInvalidLabels);
  ASSERT_TRUE(app->Commit().ok());
  DbStats st = db->Stats();
  EXPECT_EQ(st.rejected[static_cast<int>(AppendError::kOutOfOrder)], 1u);
  EXPECT_EQ(st.rejected[static_cast<int>(AppendError::kDuplicate)], 1u);
  EXPECT_EQ(st.rejected[static_cast<int>(AppendError::kInvalidLabels)], 1u);
  EXPECT_EQ(st.samples_appended, 1u);
}

TEST_F(DbTest, CutsTheHeadIntoBlocksAndQueriesAcrossBlocksAndHead) {
  auto db = OpenDb(Options());
  Fill(*db, {L("m", "a"), L("m", "b")}, 0, 24'000, 500);  // Newest sample at 23.5 s.
  ASSERT_TRUE(db->Maintain().ok());
  auto blocks = db->Blocks();
  // The head is cut while it spans more than 1.5 ranges: [0,10s) goes, [10s,23.5s] stays.
  ASSERT_THAT(blocks, SizeIs(1));
  EXPECT_EQ(blocks[0]->meta().min_time, 0);
  EXPECT_EQ(blocks[0]->meta().max_time, 10'000);
  EXPECT_EQ(blocks[0]->meta().num_samples, 40u);
  EXPECT_EQ(db->head().min_valid_time(), 10'000);
  auto data = Read(*db, "m");
  ASSERT_THAT(data["a"], SizeIs(48));
  for (size_t i = 0; i < data["a"].size(); ++i) EXPECT_EQ(data["a"][i].t, static_cast<int64_t>(i) * 500);
  // A range inside the block only, and one straddling block and head.
  EXPECT_THAT(Read(*db, "m", 2000, 3000)["b"], SizeIs(3));
  EXPECT_THAT(Read(*db, "m", 9500, 10'500)["b"], ElementsAre(Sample{9500, 10.5}, Sample{10'000, 11},
                                                             Sample{10'500, 11.5}));
  // Samples for the range already written are refused.
  auto app = db->NewAppender();
  SeriesRef ref = 0;
  EXPECT_EQ(app->Append(ref, L("m", "new"), 5000, 1), AppendError::kOutOfBounds);
}

TEST_F(DbTest, ALargeSelectionAcrossBlocksIsCompleteAndSorted) {
  // Several blocks (read on two threads) with many series, a series only in the oldest block
  // and one only in the head.
  auto db = OpenDb(Options());
  std::vector<Labels> many;
  for (int i = 0; i < 600; ++i) many.push_back(L("m", "i" + std::to_string(1000 + i)));
  Fill(*db, {L("m", "old")}, 0, 3000, 1000);
  Fill(*db, many, 0, 36'000, 1000);
  ASSERT_TRUE(db->Maintain().ok());
  ASSERT_GE(db->Blocks().size(), 2u);
  Fill(*db, {L("m", "new")}, 36'000, 37'000, 500);
  auto q = db->NewQuerier(INT64_MIN, INT64_MAX);
  ASSERT_TRUE(q.ok());
  auto series = q.value()->Select(std::vector<Matcher>{{MatchType::kEqual, "__name__", "m"}});
  ASSERT_TRUE(series.ok()) << series.status().message();
  ASSERT_THAT(series.value(), SizeIs(602));
  for (size_t i = 1; i < series.value().size(); ++i) {
    EXPECT_TRUE(series.value()[i - 1]->labels() < series.value()[i]->labels()) << i;
  }
  auto data = Read(*db, "m");
  EXPECT_THAT(data["old"], SizeIs(3));
  EXPECT_THAT(data["new"], SizeIs(2));
  for (int i = 0; i < 600; ++i) {
    const auto& v = data["i" + std::to_string(1000 + i)];
    ASSERT_THAT(v, SizeIs(36)) << i;
    EXPECT_EQ(v.front().t, 0);
    EXPECT_EQ(v.back().t, 35'000);
  }
}

TEST_F(DbTest, TruncatesTheWalAndStillRestoresEverythingAfterARestart) {
  for (bool snapshot : {false, true}) {
    SCOPED_TRACE(snapshot ? "through the head snapshot" : "through the WAL");
    fs::remove_all(dir_.path());
    fs::create_directories(dir_.path());
    DbOptions o = Options();
    o.snapshot_on_close = snapshot;
    {
      auto db = OpenDb(o);
      Fill(*db, {L("m", "a"), L("m", "b")}, 0, 16'000, 250);
      ASSERT_TRUE(db->Maintain().ok());  // Boundary after 16 s; head [0,16s) spans 1.6 ranges.
      Fill(*db, {L("m", "a"), L("m", "b")}, 16'000, 36'000, 250);
      ASSERT_TRUE(db->Maintain().ok());
      ASSERT_TRUE(db->Maintain().ok());
      EXPECT_GE(db->Stats().wal_truncations, 1u);
      EXPECT_GE(db->Blocks().size(), 1u);
      ASSERT_TRUE(db->Close().ok());
    }
    auto db = OpenDb(o);
    EXPECT_EQ(db->open_report().snapshot_loaded, snapshot);
    auto data = Read(*db, "m");
    ASSERT_THAT(data["a"], SizeIs(144));
    ASSERT_THAT(data["b"], SizeIs(144));
    EXPECT_EQ(data["b"].back(), (Sample{35'750, 36.75}));
    // Still refuses what the blocks hold, and maintenance goes on from the restored head.
    auto app = db->NewAppender();
    SeriesRef ref = 0;
    EXPECT_EQ(app->Append(ref, L("m", "a"), 1000, 1), AppendError::kOutOfBounds);
    app->Rollback();
    ASSERT_TRUE(db->Maintain().ok());
    EXPECT_THAT(Read(*db, "m")["a"], SizeIs(144));
  }
}

// The files of an open store as a kill -9 would leave them (the page cache survives a process).
std::string CrashImage(const std::string& from, const std::string& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
  return to;
}

TEST_F(DbTest, ACleanRestartLoadsTheSnapshotAndReplaysNoWal) {
  // Without periodic snapshots the snapshot is consumed by the Open that loads it; with them it
  // stays the base of an Open after a crash.
  for (const bool periodic : {false, true}) {
    SCOPED_TRACE(periodic ? "periodic" : "on close only");
    const std::string dir = Path(periodic ? "periodic" : "on-close");
    DbOptions o = Options();
    o.snapshot_interval = periodic ? std::chrono::minutes(30) : std::chrono::milliseconds(0);
    const std::vector<Labels> series = {L("up", "a"), L("up", "b"), L("up", "c")};
    std::map<std::string, std::vector<Sample>> before;
    {
      auto db = Db::Open(dir, o).value();
      Fill(*db, series, 0, 26'000, 250);
      ASSERT_TRUE(db->Maintain().ok());  // Blocks, a WAL checkpoint and truncated segments.
      ASSERT_FALSE(db->Blocks().empty());
      Fill(*db, series, 26'000, 29'000, 250);
      auto app = db->NewAppender();
      SeriesRef ref = 0;
      // Refused, but the series was created (and logged by the rollback): it has no samples.
      ASSERT_EQ(app->Append(ref, L("up", "empty"), 1000, 1), AppendError::kOutOfBounds);
      app.reset();
      before = Read(*db, "up");
      ASSERT_TRUE(db->Close().ok());
    }
    ASSERT_TRUE(fs::exists(dir + "/head.snapshot"));
    std::map<std::string, std::vector<Sample>> after;
    {
      auto db = Db::Open(dir, o).value();
      const DbOpenReport& r = db->open_report();
      EXPECT_TRUE(r.snapshot_loaded);
      EXPECT_THAT(r.snapshot_dropped, IsEmpty());
      EXPECT_EQ(r.snapshot.series, 4u);
      EXPECT_EQ(r.replayed_samples, 0u);
      EXPECT_EQ(r.wal.records, 0u);
      EXPECT_EQ(fs::exists(dir + "/head.snapshot"), periodic);
      EXPECT_EQ(Read(*db, "up"), before);
      // Appends continue where the snapshot left off, in the same chunks.
      Fill(*db, series, 29'000, 31'000, 250);
      ASSERT_TRUE(db->Maintain().ok());  // Truncates no WAL the kept snapshot needs.
      after = Read(*db, "up");
      ASSERT_THAT(after["a"], SizeIs(before["a"].size() + 8));
      EXPECT_EQ(after["c"].back(), (Sample{30'750, 32.75}));
      CrashImage(dir, dir + "-crash");
    }
    // A crash now: the WAL alone, or the kept snapshot and the WAL after it, restore every
    // sample, old and new.
    auto crashed = Db::Open(dir + "-crash", o);
    ASSERT_TRUE(crashed.ok()) << crashed.status().message();
    const DbOpenReport& r = crashed.value()->open_report();
    EXPECT_EQ(r.snapshot_loaded, periodic);
    if (periodic) {
      EXPECT_EQ(r.replayed_samples, 24u);  // Only those appended after the snapshot.
    } else {
      EXPECT_GT(r.replayed_samples, 24u);
    }
    EXPECT_EQ(Read(*crashed.value(), "up"), after);
    (void)crashed.value()->Close();
  }
}

TEST_F(DbTest, ASnapshotTakenWhileAppendingIsTheBaseOfACrashRestart) {
  // Snapshots taken while appenders run, blocks cut and the WAL truncated after them, series
  // dropped by garbage collection and created anew: an Open after a crash holds exactly what
  // a clean one does, once and without a second copy of what blocks hold.
  DbOptions o = Options();
  o.snapshot_interval = std::chrono::hours(1);
  std::map<std::string, std::vector<Sample>> want;
  {
    auto db = OpenDb(o);
    std::vector<Labels> series;
    for (int i = 0; i < 50; ++i) series.push_back(L("m", "i" + std::to_string(i)));
    std::atomic<bool> stop{false};
    std::atomic<int> taken{0};
    std::thread snapshots([&] {
      while (!stop) {
        EXPECT_TRUE(db->Snapshot().ok());
        ++taken;
      }
    });
    Fill(*db, series, 0, 16'000, 100);
    // A series that stops, is dropped from the head once blocks hold it, and comes back.
    Fill(*db, {L("m", "churn")}, 0, 2000, 100);
    stop = true;
    snapshots.join();
    EXPECT_GT(taken.load(), 2);
    // The last snapshot predates blocks and a WAL truncation past its segment.
    Fill(*db, series, 16'000, 24'000, 100);
    ASSERT_TRUE(db->Maintain().ok());
    ASSERT_FALSE(db->Blocks().empty());
    Fill(*db, {L("m", "churn")}, 23'000, 24'000, 100);
    Fill(*db, series, 24'000, 40'000, 100);
    const uint64_t truncations = db->Stats().wal_truncations;
    ASSERT_TRUE(db->Maintain().ok());
    EXPECT_GT(db->Stats().wal_truncations, truncations);
    want = Read(*db, "m");
    CrashImage(dir_.path().string(), dir_.path().string() + "-crash");
  }
  auto crashed = Db::Open(dir_.path().string() + "-crash", o);
  ASSERT_TRUE(crashed.ok()) << crashed.status().message();
  EXPECT_TRUE(crashed.value()->open_report().snapshot_loaded);
  EXPECT_EQ(Read(*crashed.value(), "m"), want);
  // The head holds nothing the blocks do.
  EXPECT_GE(crashed.value()->head().Stats().min_time,
            crashed.value()->Blocks().back()->meta().max_time);
  EXPECT_EQ(crashed.value()->head().Stats().num_series, 51u);
  auto q = crashed.value()->NewQuerier(INT64_MIN, INT64_MAX);
  auto churn = q.value()->Select(std::vector<Matcher>{{MatchType::kEqual, "instance", "churn"}});
  ASSERT_TRUE(churn.ok());
  EXPECT_THAT(churn.value(), SizeIs(1));
  (void)crashed.value()->Close();
  fs::remove_all(dir_.path().string() + "-crash");
}

TEST_F(DbTest, ADamagedSnapshotIsReportedAndTheWholeWalReplayed) {
  const std::vector<Labels> series = {L("up", "a"), L("up", "b")};
  for (const std::string damage : {"flip", "truncate", "garbage"}) {
    SCOPED_TRACE(damage);
    fs::remove_all(dir_.path());
    fs::create_directories(dir_.path());
    std::map<std::string, std::vector<Sample>> before;
    {
      auto db = OpenDb(Options());
      Fill(*db, series, 0, 9'000, 100);
      before = Read(*db, "up");
      ASSERT_TRUE(db->Close().ok());
    }
    const std::string path = Path("head.snapshot");
    std::string bytes;
    {
      std::ifstream f(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    ASSERT_GT(bytes.size(), 100u);
    if (damage == "flip") bytes[bytes.size() / 2] ^= 0x40;
    if (damage == "truncate") bytes.resize(bytes.size() - 3);
    if (damage == "garbage") bytes = "not a snapshot at all";
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << bytes;
    }
    auto db = OpenDb(Options());
    const DbOpenReport& r = db->open_report();
    EXPECT_FALSE(r.snapshot_loaded);
    EXPECT_THAT(r.snapshot_dropped, HasSubstr("head snapshot"));
    EXPECT_TRUE(fs::exists(Path("dropped/head.snapshot")));
    EXPECT_FALSE(fs::exists(path));
    EXPECT_EQ(r.replayed_samples, 180u);
    EXPECT_EQ(Read(*db, "up"), before);
    Fill(*db, series, 9'000, 9'500, 100);
    EXPECT_THAT(Read(*db, "up")["b"], SizeIs(95));
  }
}

TEST_F(DbTest, RecordsLoggedAfterTheSnapshotAreReplayedOnTopOfIt) {
  SeriesRef a_ref = 0;
  {
    auto db = OpenDb(Options());
    Fill(*db, {L("up", "a")}, 0, 3'000, 1000);
    db->head().ForEachSeries([&a_ref](SeriesRef ref, const Labels&) { a_ref = ref; });
    ASSERT_TRUE(db->Close().ok());
  }
  {
    // What a later writer of the same WAL adds after the snapshot's position.
    auto wal = Wal::Open(Path("wal"));
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE(wal.value()->Replay([](std::string_view) { return Status::Ok(); }).ok());
    std::vector<WalSeries> series{{a_ref + 1, L("up", "b")}};
    std::vector<WalSample> samples{{a_ref, 3000, 7}, {a_ref + 1, 3000, 8}};
    ASSERT_TRUE(wal.value()->Log(EncodeSeriesRecord(series)).ok());
    ASSERT_TRUE(wal.value()->Log(EncodeSamplesRecord(samples)).ok());
    ASSERT_TRUE(wal.value()->Close().ok());
  }
  auto db = OpenDb(Options());
  EXPECT_TRUE(db->open_report().snapshot_loaded);
  EXPECT_EQ(db->open_report().replayed_samples, 2u);
  auto data = Read(*db, "up");
  EXPECT_THAT(data["a"],
              ElementsAre(Sample{0, 0}, Sample{1000, 1}, Sample{2000, 2}, Sample{3000, 7}));
  EXPECT_THAT(data["b"], ElementsAre(Sample{3000, 8}));
}

TEST_F(DbTest, AnUnfinishedSnapshotIsRemovedAndReported) {
  {
    auto db = OpenDb(Options());
    Fill(*db, {L("up", "a")}, 0, 3'000, 1000);
    ASSERT_TRUE(db->Close().ok());
  }
  fs::rename(Path("head.snapshot"), Path("head.snapshot.tmp"));
  auto db = OpenDb(Options());
  EXPECT_FALSE(db->open_report().snapshot_loaded);
  EXPECT_THAT(db->open_report().removed, ElementsAre(HasSubstr("head.snapshot.tmp")));
  EXPECT_FALSE(fs::exists(Path("head.snapshot.tmp")));
  EXPECT_THAT(Read(*db, "up")["a"], SizeIs(3));
}

TEST_F(DbTest, EveryCommitAcknowledgedBeforeCloseIsInTheSnapshot) {
  std::vector<std::vector<int64_t>> acknowledged(4);
  {
    auto db = OpenDb(Options());
    std::atomic<int> commits{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        SeriesRef ref = 0;
        for (int64_t t = 0;; t += 10) {
          auto app = db->NewAppender();
          if (app->Append(ref, L("up", std::to_string(w)), t, 1) != AppendError::kNone) return;
          if (!app->Commit().ok()) return;
          acknowledged[w].push_back(t);
          commits.fetch_add(1);
        }
      });
    }
    while (commits.load() < 200) std::this_thread::yield();
    ASSERT_TRUE(db->Close().ok());
    for (auto& t : writers) t.join();
  }
  auto db = OpenDb(Options());
  ASSERT_TRUE(db->open_report().snapshot_loaded);
  EXPECT_EQ(db->open_report().replayed_samples, 0u);
  auto data = Read(*db, "up");
  for (int w = 0; w < 4; ++w) {
    std::vector<int64_t> got;
    for (const Sample& s : data[std::to_string(w)]) got.push_back(s.t);
    EXPECT_EQ(got, acknowledged[w]) << "writer " << w;
  }
}

TEST_F(DbTest, CompactsSmallBlocksIntoLargerOnesAndAppliesRetention) {
  DbOptions o = Options();
  o.retention = std::chrono::milliseconds(400'000);  // Compaction up to 40 s ranges: 30 s.
  auto db = OpenDb(o);
  Fill(*db, {L("m", "a")}, 0, 47'000, 1000);
  ASSERT_TRUE(db->Maintain().ok());
  // Four 10 s blocks cut; the first three compacted into one 30 s block.
  auto blocks = db->Blocks();
  ASSERT_THAT(blocks, SizeIs(2));
  EXPECT_EQ(blocks[0]->meta().min_time, 0);
  EXPECT_EQ(blocks[0]->meta().max_time, 30'000);
  EXPECT_EQ(blocks[0]->meta().level, 2);
  EXPECT_THAT(blocks[0]->meta().sources, SizeIs(3));
  EXPECT_THAT(Read(*db, "m")["a"], SizeIs(47));

  DbOptions short_retention = o;
  short_retention.retention = std::chrono::milliseconds(15'000);
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  db = OpenDb(short_retention);
  ASSERT_TRUE(db->Maintain().ok());
  // Newest sample 46 s: blocks ending at or before 31 s are gone.
  blocks = db->Blocks();
  ASSERT_THAT(blocks, SizeIs(1));
  EXPECT_EQ(blocks[0]->meta().min_time, 30'000);
  EXPECT_EQ(Read(*db, "m")["a"].front().t, 30'000);
}

TEST_F(DbTest, ATornWalTailIsTruncatedAndReportedNotFatal) {
  DbOptions o = Options();
  o.snapshot_on_close = false;  // A snapshot would skip the damaged segment unread.
  {
    auto db = OpenDb(o);
    Fill(*db, {L("m", "a")}, 0, 3000, 1000);
    ASSERT_TRUE(db->Close().ok());
  }
  // Garbage after the last record of the newest non-empty segment.
  std::string newest;
  for (const auto& e : fs::directory_iterator(Path("wal"))) {
    if (e.is_regular_file() && fs::file_size(e.path()) > 0 && e.path().string() > newest) {
      newest = e.path().string();
    }
  }
  ASSERT_FALSE(newest.empty());
  {
    std::ofstream f(newest, std::ios::app | std::ios::binary);
    f << "\x05\x00\x00garbage-tail";
  }
  auto db = OpenDb(o);
  EXPECT_THAT(db->open_report().wal.dropped, SizeIs(1));
  EXPECT_THAT(Read(*db, "m")["a"], SizeIs(3));
  // And the store keeps working.
  Fill(*db, {L("m", "a")}, 3000, 4000, 1000);
  EXPECT_THAT(Read(*db, "m")["a"], SizeIs(4));
}

TEST_F(DbTest, ADamagedBlockIsSetAsideAndTheRestIsServed) {
  {
    auto db = OpenDb(Options());
    Fill(*db, {L("m", "a")}, 0, 36'000, 1000);
    ASSERT_TRUE(db->Maintain().ok());
    ASSERT_THAT(db->Blocks(), SizeIs(2));
    ASSERT_TRUE(db->Close().ok());
  }
  std::string victim = Path("blocks/0-10000-l1");
  ASSERT_TRUE(fs::exists(victim + "/chunks"));
  fs::remove(victim + "/chunks");
  auto db = OpenDb(Options());
  ASSERT_THAT(db->open_report().dropped_blocks, SizeIs(1));
  EXPECT_THAT(db->open_report().dropped_blocks[0], HasSubstr("0-10000-l1"));
  EXPECT_TRUE(fs::exists(Path("dropped/0-10000-l1")));
  auto a = Read(*db, "m")["a"];
  ASSERT_THAT(a, SizeIs(26));
  EXPECT_EQ(a.front().t, 10'000);
}

TEST_F(DbTest, SamplesLoggedBeforeTheirSeriesRecordAreReplayed) {
  // Two appenders racing can log samples for a series before the record creating it.
  {
    auto wal = Wal::Open(Path("wal"));
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE(wal.value()->Replay([](std::string_view) { return Status::Ok(); }).ok());
    std::vector<WalSample> samples{{7, 1000, 1.5}};
    std::vector<WalSeries> series{{7, L("late", "x")}};
    ASSERT_TRUE(wal.value()->Log(EncodeSamplesRecord(samples)).ok());
    ASSERT_TRUE(wal.value()->Log(EncodeSeriesRecord(series)).ok());
    ASSERT_TRUE(wal.value()->Close().ok());
  }
  auto db = OpenDb(Options());
  EXPECT_THAT(Read(*db, "late")["x"], ElementsAre(Sample{1000, 1.5}));
  // New series get refs above the replayed ones.
  auto app = db->NewAppender();
  SeriesRef ref = 0;
  ASSERT_EQ(app->Append(ref, L("late", "y"), 2000, 1), AppendError::kNone);
  EXPECT_GT(ref, 7u);
}

}  // namespace
}  // namespace platops::metrics
