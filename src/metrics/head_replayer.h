#pragma once
// HeadReplayer: applies the metrics store's WAL records (wal_records.h) to a Head at open. Series
// records are applied on the calling thread in log order; samples go, in batches, to worker
// threads that each own half of the head's lock stripes (a series' samples stay in log order).
// Samples logged before their series record (two appenders racing) are held until it comes; a
// series record whose labels already live under another ref maps its samples to that ref.
// Thread-safety: one thread calls Apply and Finish; the workers are internal.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "metrics/head.h"
#include "metrics/wal_records.h"

namespace platops::metrics {

struct HeadReplayOptions {
  // Threads that append samples; 0 appends on the calling thread (the sequential reference).
  int workers = 2;
  // Samples handed to a worker at a time (each a 24-byte RefSample): at least batch_samples, and
  // enough for `rounds_per_batch` samples of each of the worker's series, so that a batch
  // touches each series' memory once for several samples (the head is far larger than the CPU's
  // caches; with 1 M series that is 4 M samples, 96 MB, per worker batch).
  size_t batch_samples = 4096;
  size_t rounds_per_batch = 8;
};

struct HeadReplayTotals {
  uint64_t replayed = 0;
  // Samples not applied: already covered (out of bounds, out of order, duplicates), in an
  // undecodable record, or whose series record never came.
  uint64_t skipped = 0;
  uint64_t undecodable_records = 0;
  int64_t max_t = INT64_MIN;  // Of the samples replayed.
};

class HeadReplayer {
 public:
  HeadReplayer(Head& head, HeadReplayOptions options = {});
  // Joins the workers once they have applied what was handed to them; samples not handed over
  // yet are dropped (call Finish first).
  ~HeadReplayer();
  HeadReplayer(const HeadReplayer&) = delete;
  HeadReplayer& operator=(const HeadReplayer&) = delete;

  // Applies one record (the bytes need not outlive the call). Undecodable records are counted.
  void Apply(std::string_view record);
  // Waits until every sample is applied and returns the totals. Call once, after the last Apply.
  HeadReplayTotals Finish();

 private:
  struct Worker;

  // Whether the series exists; remembers the answer once it does.
  bool Known(SeriesRef ref);
  void MarkKnown(SeriesRef ref);
  size_t BatchSize() const;
  void Dispatch(const RefSample& s);
  // Hands worker `w` its pending samples.
  void Flush(size_t w);
  void Run(Worker& worker);
  void Account(const Head::BatchResult& r);

  Head& head_;
  const HeadReplayOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::vector<RefSample>> pending_;  // Per worker (one when there are none).
  Head::BatchScratch scratch_;                   // For appends on the calling thread (no workers).
  std::vector<WalSeries> series_buf_;
  std::vector<WalSample> samples_buf_;
  // Bit per ref below kKnownLimit: the series exists.
  std::vector<uint64_t> known_;
  std::unordered_map<SeriesRef, std::vector<RefSample>> parked_;
  // Refs whose series record named labels that live under another ref (a series dropped by
  // garbage collection and created anew): their samples are applied to that one.
  std::unordered_map<SeriesRef, SeriesRef> aliases_;
  HeadReplayTotals totals_;  // The calling thread's share; workers add theirs in Finish.
  uint64_t series_ = 0;      // Series known to exist (created or found in the head).
  size_t flush_at_ = 0;      // The current batch size.
  bool finished_ = false;
};

}  // namespace platops::metrics
