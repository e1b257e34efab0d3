#pragma once
// Ingester: turns one target's scrapes into samples in the metrics store, with Prometheus's
// semantics: target labels and honor_labels (exported_ prefixes), metric_relabel_configs, sample
// and label limits, honored timestamps, stale markers for series that disappear, and the report
// series (up, scrape_duration_seconds, scrape_samples_scraped,
// scrape_samples_post_metric_relabeling, scrape_series_added). A per-target cache maps the raw
// series text of a line ("name{labels}") to its series ref and final labels, so an unchanged
// series costs one hash lookup: no label parsing, no relabeling, no index lookup.
// Thread-safety: externally synchronized (the scheduler runs one scrape of a target at a time).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ingest/relabel.h"
#include "ingest/text_parser.h"
#include "metrics/labels.h"
#include "metrics/storage.h"

namespace platops::scrape {

using SteadyTime = std::chrono::steady_clock::time_point;

// Why a scrape failed (up=0). Each has its own platops_scrape_failures_total{reason}.
enum class FailureReason {
  kNone,
  kFetch,          // Connection refused, DNS, TLS, reset, ...
  kTimeout,        // The scrape timeout passed.
  kHttpStatus,     // An answer other than 200.
  kBodySizeLimit,  // body_size_limit exceeded.
  kParse,          // The body is not valid exposition text.
  kSampleLimit,    // More samples than sample_limit after metric relabeling.
  kLabelLimit,     // label_limit, label_name_length_limit or label_value_length_limit.
  kInvalidSeries,  // Relabeling left a series without a valid name or with invalid labels.
  kTargetLimit,    // The job has more targets than its target_limit.
};
// "fetch", "timeout", "http_status", "body_size_limit", "parse", "sample_limit", "label_limit",
// "invalid_series", "target_limit" (and "" for kNone).
std::string_view FailureReasonName(FailureReason reason);

// What the ingester applies to every sample of its target; fixed for its life (a change that
// alters what is stored starts a new Ingester, so the cache never holds stale results).
struct IngestConfig {
  metrics::Labels target_labels;  // Sorted; the target's labels without "__" ones.
  bool honor_labels = false;
  bool honor_timestamps = true;
  std::vector<ingest::RelabelConfig> metric_relabel_configs;  // Compiled.
  uint64_t sample_limit = 0;                                  // 0 = none, here and below.
  uint64_t label_limit = 0;
  uint64_t label_name_length_limit = 0;
  uint64_t label_value_length_limit = 0;
};

// The outcome of one scrape, as the report series and platops_scrape_* counters show it.
struct ScrapeResult {
  FailureReason failure = FailureReason::kNone;
  std::string error;         // Empty when up.
  int64_t scraped = 0;       // scrape_samples_scraped
  int64_t post_relabel = 0;  // scrape_samples_post_metric_relabeling
  int64_t series_added = 0;  // scrape_series_added
  int64_t appended = 0;      // Samples the appender accepted (committed unless commit failed).
  // Samples the store refused; as in Prometheus they are counted, not scrape failures.
  int64_t out_of_order = 0;
  int64_t duplicate = 0;
  int64_t out_of_bounds = 0;
  int64_t store_limit = 0;
  int64_t stale_markers = 0;
  int64_t cache_hits = 0;
  int64_t cache_misses = 0;
  double duration_seconds = 0;  // scrape_duration_seconds
  Status commit;                // Not OK when the store refused the commit (nothing stored).
  bool up() const { return failure == FailureReason::kNone; }
};

class Ingester {
 public:
  explicit Ingester(IngestConfig config);
  ~Ingester();
  Ingester(const Ingester&) = delete;
  Ingester& operator=(const Ingester&) = delete;

  // Appends a fetched body as the scrape at `t` (Unix ms): the samples, stale markers for the
  // series of the previous scrape that are gone, and the report series; one appender, committed
  // at the end. The parser is chosen by `content_type` (ingest::FormatForContentType). Any error
  // (parse, limits) rolls the samples back and makes the scrape a failure: then only the report
  // series (up=0) and stale markers for every series of the previous scrape are committed.
  // `started` is when the scrape began; scrape_duration_seconds runs until the report.
  ScrapeResult Ingest(metrics::Storage& storage, std::string_view body,
                      std::string_view content_type, int64_t t, SteadyTime started);

  // A scrape that failed before there was a body to read: stale markers for every series of the
  // previous scrape, the report series with up=0.
  ScrapeResult Fail(metrics::Storage& storage, FailureReason reason, std::string error, int64_t t,
                    SteadyTime started);

  // The target is gone: stale markers at `t` for every series of its last scrape and, when
  // `report`, for its report series. Where a newer sample exists (the target came back) the store
  // refuses them as out of order, as Prometheus intends. Returns the markers the store took.
  int64_t WriteEndOfRunStale(metrics::Storage& storage, int64_t t, bool report);

  // Entries in the series cache (including series that relabeling dropped).
  size_t cache_size() const { return live_; }
  const IngestConfig& config() const { return config_; }

 private:
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  // The cache is a slot table split by use: Hot is read and written for every sample (in body
  // order, so mostly sequentially), Cold only on misses, stale markers and flushes.
  struct Hot {
    metrics::SeriesRef ref = 0;
    uint64_t last_iter = 0;     // The scrape that last saw the text; 0 for a free slot.
    uint64_t tracked_iter = 0;  // The scrape that last appended to it without a timestamp.
    uint64_t pos_iter = 0;      // The scrape whose sequence `pos` indexes.
    uint32_t pos = 0;
    bool dropped = false;  // Relabeling dropped it.
  };
  struct Cold {
    std::string key;  // Raw series text ("name{...}"), or '\xff' + canonical labels.
    uint64_t hash = 0;
    metrics::Labels labels;  // Final: target labels and metric relabeling applied.
  };
  // One sample line of a scrape, in body order; its key bytes are in that scrape's key arena.
  struct SeqItem {
    uint64_t off = 0;
    uint32_t len = 0;
    uint32_t slot = kNoSlot;
  };
  // A sample read and waiting for the store.
  struct Pending {
    int64_t t = 0;
    double v = 0;
    uint32_t slot = kNoSlot;
    bool cached = false;   // Its series was in the cache (not new in this scrape).
    bool honored = false;  // Its timestamp came from the body.
  };
  struct Bucket {
    uint32_t slot1 = 0;  // slot + 1; 0 = empty
    uint32_t hash_lo = 0;
  };
  struct Run;

  Status ParsePrometheus(Run& run, std::string_view body);
  Status ParseOpenMetrics(Run& run, std::string_view body);
  // Parses one 0.0.4 line (ending at its line feed, or the body's end) with the full parser.
  Status ParseLine(std::string_view line, int64_t line_no);
  // One sample. `key` identifies its series text; `hint` is its slot when the caller matched the
  // predicted line (kNoSlot: look it up). `labels` is called only on a cache miss to produce the
  // parsed labels. Returns false when the scrape must stop (run.error set).
  template <typename LabelsFn>
  bool Process(Run& run, std::string_view key, uint32_t hint, double v,
               const std::optional<int64_t>& ts, LabelsFn&& labels);
  // The slot of `key`: first the line that followed the previous match in the last scrape, then
  // the index. kNoSlot when unknown.
  uint32_t Lookup(std::string_view key);
  uint32_t IndexFind(std::string_view key, uint64_t hash) const;
  void IndexInsert(uint32_t slot);
  void IndexErase(uint32_t slot);
  void IndexRebuild(size_t capacity);
  uint32_t NewSlot(std::string_view key, uint64_t hash);
  void FreeSlot(uint32_t slot);
  // Target labels, honor_labels and metric relabeling on `labels`; false when dropped.
  bool Mutate(metrics::Labels& labels);
  Status AppendPending(Run& run);
  Status Validate(const metrics::Labels& labels) const;
  void Track(Run& run, uint32_t slot);
  void WriteStale(Run& run);
  void Report(Run& run, bool up);
  // Forgets what a failed attempt tracked, so every series of the previous scrape goes stale.
  void UntrackCurrent();
  // Ends a scrape: drops unseen cache entries (after a success; after a failure only when the
  // cache has grown past twice the last success plus 1000), swaps the sequences and staleness
  // sets. `touched`: entries this scrape saw (none to drop when it is the cache's size).
  void IterDone(bool success, size_t touched);
  metrics::Appender& AppenderFor(metrics::Storage& storage);

  const IngestConfig config_;
  std::vector<Hot> hot_;
  std::vector<Cold> cold_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
  std::vector<Bucket> index_;  // Open addressing, linear probing; size a power of two.
  // The previous and the current scrape's sample lines, for predicting the next slot.
  std::vector<SeqItem> prev_seq_, cur_seq_;
  std::string prev_keys_, cur_keys_;
  size_t predict_ = 0;  // Position in prev_seq_ expected next.
  // Slots appended to (without explicit timestamp) in the previous and the current scrape.
  std::vector<uint32_t> prev_tracked_, cur_tracked_;
  std::vector<Pending> pending_;
  uint64_t iter_ = 1;
  size_t successful_count_ = 0;
  metrics::SeriesRef report_refs_[5] = {};
  metrics::Labels report_labels_[5];
  bool reported_ = false;  // A report was written: end-of-run markers are due for it.
  // Reused across scrapes: the appender (committed or rolled back at the end of each scrape, so
  // its buffers keep their capacity) and the parse buffers.
  metrics::Storage* storage_ = nullptr;
  std::unique_ptr<metrics::Appender> app_;
  ingest::Sample line_sample_;
  bool line_has_sample_ = false;
  ingest::SampleCallback line_callback_;
  std::string key_buf_;
  metrics::Labels conflicts_;
};

}  // namespace platops::scrape
