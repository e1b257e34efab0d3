#include "metrics/head_replayer.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

#include "metrics/head_dump_test_util.h"

namespace platops::metrics {
namespace {

HeadOptions Options() {
  HeadOptions o;
  o.chunk_range_ms = 3'600'000;
  o.samples_per_chunk = 25;
  return o;
}

Labels SeriesLabels(SeriesRef ref) {
  return Normalize({{"__name__", "m" + std::to_string(ref % 7)}, {"id", std::to_string(ref)}});
}

// A log as two racing appenders and retries leave it: series records (some after samples of
// theirs), sample records over many series in scrape order, stale, out-of-order and duplicate
// samples, samples of a series whose record never comes, and an undecodable record.
std::vector<std::string> MakeLog(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> log;
  const SeriesRef kSeries = 300;
  std::vector<WalSeries> pending;
  for (SeriesRef ref = 1; ref <= kSeries; ++ref) {
    pending.push_back({ref, SeriesLabels(ref)});
    if (pending.size() == 50) {
      log.push_back(EncodeSeriesRecord(pending));
      pending.clear();
    }
  }
  std::vector<int64_t> last(kSeries + 1, 1'700'000'000'000);
  for (int round = 0; round < 40; ++round) {
    std::vector<WalSample> samples;
    for (SeriesRef ref = 1; ref <= kSeries + 40; ++ref) {
      SeriesRef r = ref <= kSeries ? ref : ref + 1000;  // Refs 1001.. come later or never.
      if (r > kSeries && r > 1020) r = 5000 + ref;      // Never get a series record.
      const size_t slot = std::min<size_t>(r, kSeries);
      int64_t t = last[slot] + 15'000 + static_cast<int64_t>(rng() % 5) - 2;
      if (rng() % 50 == 0) t = last[slot] - 1000;  // Out of order.
      if (rng() % 50 == 0) t = last[slot];         // Duplicate (maybe the same value).
      if (r <= kSeries) last[slot] = std::max(last[slot], t);
      const double v = rng() % 30 == 0 ? std::bit_cast<double>(kStaleNanBits)
                                       : static_cast<double>(rng() % 10'000) / 100;
      samples.push_back({r, t, v});
    }
    log.push_back(EncodeSamplesRecord(samples));
    if (round == 20) {
      std::vector<WalSeries> late;
      for (SeriesRef r = 1001; r <= 1020; ++r) late.push_back({r, SeriesLabels(r)});
      log.push_back(EncodeSeriesRecord(late));
    }
    if (round == 25) log.push_back(std::string("\x02\x80", 2));  // Truncated samples record.
  }
  return log;
}

// Replay as the store did before HeadReplayer: one sample at a time, parked until its series.
HeadReplayTotals ReferenceReplay(Head& head, const std::vector<std::string>& log) {
  HeadReplayTotals totals;
  std::unordered_map<SeriesRef, std::vector<WalSample>> parked;
  auto apply = [&](const WalSample& s) {
    const AppendError err = head.Append(s.ref, s.t, s.v);
    if (err == AppendError::kNone) {
      ++totals.replayed;
      totals.max_t = std::max(totals.max_t, s.t);
    } else if (err == AppendError::kInvalidLabels) {
      parked[s.ref].push_back(s);
    } else {
      ++totals.skipped;
    }
  };
  for (const std::string& record : log) {
    if (auto series = DecodeSeriesRecord(record); series.ok()) {
      for (const auto& s : series.value()) {
        head.CreateWithRef(s.ref, s.labels);
        auto it = parked.find(s.ref);
        if (it == parked.end()) continue;
        auto waiting = std::move(it->second);
        parked.erase(it);
        for (const auto& w : waiting) apply(w);
      }
    } else if (auto samples = DecodeSamplesRecord(record); samples.ok()) {
      for (const auto& s : samples.value()) apply(s);
    } else {
      ++totals.undecodable_records;
    }
  }
  for (const auto& [ref, list] : parked) totals.skipped += list.size();
  return totals;
}

HeadReplayTotals Replay(Head& head, const std::vector<std::string>& log, HeadReplayOptions o) {
  HeadReplayer replayer(head, o);
  for (const std::string& record : log) replayer.Apply(record);
  return replayer.Finish();
}

class HeadReplayerTest : public ::testing::Test {};

TEST_F(HeadReplayerTest, ParallelAndSequentialReplayBuildTheSameHeadAsOneByOneAppends) {
  for (uint64_t seed : {1, 2}) {
    const std::vector<std::string> log = MakeLog(seed);
    Head reference(Options());
    const HeadReplayTotals want = ReferenceReplay(reference, log);
    ASSERT_GT(want.replayed, 10'000u);
    ASSERT_GT(want.skipped, 500u);  // Out of order, duplicates, never-created series.
    ASSERT_EQ(want.undecodable_records, 1u);
    const std::string want_dump = DumpHead(reference);

    Head sequential(Options());
    const HeadReplayTotals seq =
        Replay(sequential, log, {.workers = 0, .batch_samples = 61, .rounds_per_batch = 0});
    Head parallel(Options());
    const HeadReplayTotals par = Replay(parallel, log, {.workers = 2, .batch_samples = 97});
    Head wide(Options());
    const HeadReplayTotals many = Replay(wide, log, {.workers = 3, .batch_samples = 4096});
    for (const auto* got : {&seq, &par, &many}) {
      EXPECT_EQ(got->replayed, want.replayed) << seed;
      EXPECT_EQ(got->skipped, want.skipped) << seed;
      EXPECT_EQ(got->undecodable_records, want.undecodable_records) << seed;
      EXPECT_EQ(got->max_t, want.max_t) << seed;
    }
    EXPECT_EQ(DumpHead(sequential), want_dump) << seed;
    EXPECT_EQ(DumpHead(parallel), want_dump) << seed;
    EXPECT_EQ(DumpHead(wide), want_dump) << seed;
  }
}

TEST_F(HeadReplayerTest, SamplesOfSeriesAlreadyInTheHeadNeedNoRecord) {
  // After a snapshot, the WAL's samples belong to series the head already holds.
  Head head(Options());
  head.CreateWithRef(42, SeriesLabels(42));
  std::vector<WalSample> samples{{42, 1000, 1.5}, {42, 2000, 2.5}, {43, 1000, 1}};
  HeadReplayTotals totals = Replay(head, {EncodeSamplesRecord(samples)}, {.workers = 2});
  EXPECT_EQ(totals.replayed, 2u);
  EXPECT_EQ(totals.skipped, 1u);  // Series 43 never came.
  EXPECT_EQ(totals.max_t, 2000);
  EXPECT_EQ(head.Stats().max_time, 2000);
}

TEST_F(HeadReplayerTest, ASeriesLoggedUnderTwoRefsBecomesOne) {
  // A series dropped by garbage collection and created anew is logged under a second ref; the
  // snapshot or checkpoint still holds the first. Its samples all go to the one series.
  const Labels labels = SeriesLabels(7);
  for (int workers : {0, 2}) {
    Head head(Options());
    std::vector<std::string> log;
    log.push_back(EncodeSeriesRecord(std::vector<WalSeries>{{7, labels}}));
    log.push_back(EncodeSamplesRecord(std::vector<WalSample>{{7, 1000, 1}, {7, 2000, 2}, {9, 3000, 3}}));
    // The second ref's first sample came before its record.
    log.push_back(EncodeSeriesRecord(std::vector<WalSeries>{{9, labels}}));
    log.push_back(EncodeSamplesRecord(std::vector<WalSample>{{9, 4000, 4}, {7, 5000, 5}}));
    const HeadReplayTotals totals = Replay(head, log, {.workers = workers});
    EXPECT_EQ(totals.replayed, 5u) << workers;
    EXPECT_EQ(head.Stats().num_series, 1u);
    EXPECT_EQ(head.SeriesLabels(9), Labels{});
    // Refs handed out later do not reuse the one the log spent.
    SeriesRef ref = 0;
    bool created = false;
    ASSERT_EQ(head.GetOrCreate(SeriesLabels(100), ref, created), AppendError::kNone);
    EXPECT_GT(ref, 9u);
    auto q = head.NewQuerier(0, 10'000);
    auto series = q->Select(std::vector<Matcher>{{MatchType::kEqual, "id", "7"}});
    ASSERT_TRUE(series.ok());
    ASSERT_EQ(series.value().size(), 1u);
    std::vector<int64_t> times;
    auto it = series.value()[0]->Iterator();
    while (it->Next()) times.push_back(it->At().t);
    EXPECT_EQ(times, (std::vector<int64_t>{1000, 2000, 3000, 4000, 5000})) << workers;
  }
}

TEST_F(HeadReplayerTest, DestroyingWithoutFinishJoinsTheWorkers) {
  Head head(Options());
  {
    HeadReplayer replayer(head, {.workers = 2, .batch_samples = 100});
    for (const std::string& record : MakeLog(4)) replayer.Apply(record);
  }
  EXPECT_GT(head.Stats().num_series, 0u);
}

TEST_F(HeadReplayerTest, AppendBatchMatchesAppendOneByOne) {
  Head one(Options());
  Head batch(Options());
  std::mt19937_64 rng(5);
  std::vector<RefSample> samples;
  for (SeriesRef ref = 1; ref <= 700; ++ref) {
    one.CreateWithRef(ref, SeriesLabels(ref));
    batch.CreateWithRef(ref, SeriesLabels(ref));
  }
  for (int i = 0; i < 20'000; ++i) {
    const SeriesRef ref = 1 + rng() % 720;  // Refs above 700 do not exist.
    samples.push_back({ref, static_cast<int64_t>(i * 10 + rng() % 30), static_cast<double>(i)});
  }
  uint64_t appended = 0;
  uint64_t rejected[6] = {};
  for (const RefSample& s : samples) {
    const AppendError err = one.Append(s.ref, s.t, s.v);
    if (err == AppendError::kNone) {
      ++appended;
    } else {
      ++rejected[static_cast<int>(err)];
    }
  }
  Head::BatchScratch scratch;
  const Head::BatchResult r = batch.AppendBatch(samples, scratch);
  EXPECT_EQ(r.appended, appended);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(r.rejected[i], rejected[i]) << i;
  EXPECT_GT(r.rejected[static_cast<int>(AppendError::kInvalidLabels)], 0u);
  EXPECT_GT(r.rejected[static_cast<int>(AppendError::kOutOfOrder)], 0u);
  EXPECT_EQ(DumpHead(batch), DumpHead(one));
}

}  // namespace
}  // namespace platops::metrics
