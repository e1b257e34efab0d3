#pragma once
// Head: the in-memory part of the metrics store. It owns the live series (labels packed in one
// string each), their Gorilla chunks (an open XorChunk plus closed chunks of ~120 samples) and
// the inverted index (label name -> value -> sorted series refs). The WAL and blocks are the
// Db's business (db.h); the head only knows memory.
// Thread-safety: every method may be called from any thread. Series are guarded by 256 lock
// stripes (ref % 256), the index by a shared mutex; a Querier copies what it reads.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "metrics/labels.h"
#include "metrics/matcher.h"
#include "metrics/sample.h"
#include "metrics/storage.h"
#include "metrics/xor_chunk.h"

namespace platops::metrics {

struct HeadOptions {
  // Chunks never cross a multiple of this (the block range), so blocks cut whole chunks.
  int64_t chunk_range_ms = 2 * 3600 * 1000;
  int samples_per_chunk = 120;
  // 0 = unlimited. When reached, new series are rejected with AppendError::kLimit.
  size_t max_series = 0;
};

// An immutable encoded chunk of one series.
struct ChunkData {
  int64_t min_t = 0;
  int64_t max_t = 0;
  std::string bytes;  // XorChunk encoding.
};

// One series as cut into a block: its labels and the chunks overlapping the range.
struct SeriesChunks {
  Labels labels;
  std::vector<ChunkData> chunks;
};

// A sample of the series `ref` (WAL replay's unit).
struct RefSample {
  SeriesRef ref = 0;
  int64_t t = 0;
  double v = 0;
};

struct HeadStats {
  size_t num_series = 0;
  int64_t min_time = 0;  // Of the samples held; INT64_MAX when empty.
  int64_t max_time = 0;  // INT64_MIN when empty.
  uint64_t chunks = 0;
  uint64_t series_created = 0;
  uint64_t series_removed = 0;
};

class Head {
 public:
  // Lock stripes; the series `ref` lives in stripe ref % kStripes.
  static constexpr size_t kStripes = 256;

  explicit Head(HeadOptions options = {});
  ~Head();
  Head(const Head&) = delete;
  Head& operator=(const Head&) = delete;

  // Looks up the series of `labels` (Normalize()d), creating it when absent. Sets `ref`;
  // `created` says whether it is new. Errors: kInvalidLabels, kLimit.
  AppendError GetOrCreate(const Labels& labels, SeriesRef& ref, bool& created);
  // Creates a series under a known ref (WAL replay) and returns the ref that holds `labels`:
  // `ref` itself, or the ref of a live series with the same labels (a series dropped by
  // garbage collection and created anew under another ref, logged under both). A ref that
  // exists is left as is. Refs handed out later are above `ref` either way.
  SeriesRef CreateWithRef(SeriesRef ref, const Labels& labels);
  // The labels of a live series (empty when unknown).
  Labels SeriesLabels(SeriesRef ref) const;
  // Whether (t, v) would be accepted now (kNone), without appending.
  AppendError Check(SeriesRef ref, int64_t t, double v) const;
  // Appends one sample to a live series. A sample equal to the newest is accepted and ignored.
  AppendError Append(SeriesRef ref, int64_t t, double v);

  // Whether the series `ref` is live.
  bool Contains(SeriesRef ref) const;

  // WAL replay's path: appends every sample as Append would, each series' samples in the order
  // given, taking each stripe's lock once per call and loading series ahead of their turn.
  struct BatchResult {
    uint64_t appended = 0;
    uint64_t rejected[6] = {};  // Indexed by AppendError; kInvalidLabels: no such series.
    int64_t max_t = INT64_MIN;  // Of the samples appended.
  };
  // Reusable buffers for AppendBatch (a batch's size), one per calling thread.
  struct BatchScratch {
    std::vector<RefSample> by_stripe;
    std::vector<RefSample> by_slot;
    std::vector<uint32_t> slot_starts;
  };
  BatchResult AppendBatch(std::span<const RefSample> samples, BatchScratch& scratch);

  // The appenders' path, one lookup per sample. Prepare finds the series (by `ref` when it is
  // not 0 and still live, else by `labels`, creating it), checks (t, v) and pins the series so
  // Truncate keeps it until AppendPinned or Unpin is called with `handle`, exactly once.
  struct SeriesHandle {
    void* p = nullptr;
  };
  AppendError Prepare(const Labels& labels, SeriesRef& ref, int64_t t, double v, bool& created,
                      SeriesHandle& handle);
  // Appends to a pinned series (checking again) and unpins it.
  AppendError AppendPinned(SeriesHandle handle, int64_t t, double v);
  void Unpin(SeriesHandle handle);

  // A read view over [mint, maxt] (inclusive).
  std::unique_ptr<Querier> NewQuerier(int64_t mint, int64_t maxt);

  // Every series with samples in [mint, maxt), sorted by labels, with its chunks that lie
  // entirely in the range (chunks never cross the chunk range, so that is all of them for a
  // block-aligned range). The open chunk is included when it is in range.
  std::vector<SeriesChunks> CollectRange(int64_t mint, int64_t maxt) const;
  // Drops every chunk whose max_t < mint and every series left without samples and not written
  // to at or after `mint`; raises the minimum valid time so older samples are rejected
  // (kOutOfBounds). Returns the number of series removed.
  size_t Truncate(int64_t mint);
  // Samples older than this are rejected as out of bounds.
  int64_t min_valid_time() const { return min_valid_time_.load(std::memory_order_relaxed); }
  void set_min_valid_time(int64_t t) { min_valid_time_.store(t, std::memory_order_relaxed); }

  HeadStats Stats() const;
  // The `limit` label names (then values) with the most series, for /status/tsdb.
  struct Cardinality {
    std::vector<std::pair<std::string, size_t>> series_by_metric;
    std::vector<std::pair<std::string, size_t>> values_by_label;
    std::vector<std::pair<std::string, size_t>> series_by_label_pair;  // "name=value"
  };
  Cardinality TopCardinality(size_t limit) const;
  // Highest ref handed out so far.
  SeriesRef last_ref() const { return next_ref_.load() - 1; }
  // Every live series' ref and labels (for WAL checkpoints), in ref order.
  void ForEachSeries(const std::function<void(SeriesRef, const Labels&)>& fn) const;

  // One series' complete state, for head snapshots (head_snapshot.h).
  struct SeriesState {
    SeriesRef ref = 0;
    Labels labels;
    std::vector<ChunkData> closed;  // Oldest first.
    XorChunk open;                  // With its append state, so appends continue exactly.
    int64_t open_min_t = 0;
    int64_t open_end = 0;       // The chunk range boundary the open chunk may not reach.
    int64_t max_t = INT64_MIN;  // The newest sample's time; INT64_MIN before the first.
    uint64_t last_bits = 0;     // The newest sample's value bits.
  };
  // SeriesState without copies, valid during the call it is passed to.
  struct SeriesStateView {
    SeriesRef ref;
    const Labels& labels;
    std::span<const ChunkData> closed;
    const XorChunk& open;
    int64_t open_min_t;
    int64_t open_end;
    int64_t max_t;
    uint64_t last_bits;
  };
  // Calls `fn` for every live series in ref order, under the series' stripe lock: `fn` must not
  // call into the head.
  void ForEachSeriesState(const std::function<void(const SeriesStateView&)>& fn) const;
  // Inserts a series as `state` describes it, taking its chunks (the rest of `state`, labels
  // included, is left for the caller to free). InvalidArgument when the ref is 0 or taken, the
  // labels are invalid (as GetOrCreate requires) or already belong to another series.
  Status RestoreSeries(SeriesState&& state);
  // Refs below `next` are never handed out to new series (they may belong to series in the WAL).
  void ReserveRefsBelow(SeriesRef next);

  // Postings of matchers: sorted refs of the series satisfying every matcher. Exposed for the
  // querier and tests.
  Result<std::vector<SeriesRef>> Select(std::span<const CompiledMatcher> matchers) const;

 private:
  struct MemSeries;
  struct Stripe;

  friend class HeadQuerier;
  std::vector<std::unique_ptr<Series>> Materialize(std::span<const SeriesRef> refs, int64_t mint,
                                                   int64_t maxt) const;
  // Whether the series has samples in [mint, maxt]; copies its packed labels when asked.
  bool InRange(SeriesRef ref, int64_t mint, int64_t maxt, std::string* packed) const;
  std::vector<std::string> LabelNamesOf(std::span<const SeriesRef> refs, int64_t mint,
                                        int64_t maxt, bool all) const;
  std::vector<std::string> LabelValuesOf(std::string_view name, std::span<const SeriesRef> refs,
                                         int64_t mint, int64_t maxt) const;
  MemSeries* Find(SeriesRef ref) const;
  void PutRef(MemSeries* s);
  // GetOrCreate; when `out` is set, also pins the series and returns it.
  AppendError Lookup(const Labels& labels, SeriesRef& ref, bool& created, MemSeries** out);
  AppendError AppendLocked(MemSeries& s, int64_t t, double v);
  Stripe& StripeOf(SeriesRef ref) const;
  void AddToIndex(SeriesRef ref, const Labels& labels);
  MemSeries* Insert(SeriesRef ref, uint64_t hash, const Labels& labels);

  HeadOptions options_;
  std::unique_ptr<Stripe[]> stripes_;
  std::atomic<SeriesRef> next_ref_{1};
  std::atomic<int64_t> min_valid_time_{INT64_MIN};
  std::atomic<size_t> num_series_{0};
  std::atomic<uint64_t> series_created_{0};
  std::atomic<uint64_t> series_removed_{0};

  // The inverted index. Values sorted (std::map) for prefix scans and label-value listings.
  mutable std::shared_mutex index_mu_;
  std::map<std::string, std::map<std::string, std::vector<SeriesRef>>, std::less<>> postings_;
  std::vector<SeriesRef> all_refs_;  // Sorted.
};

}  // namespace platops::metrics
