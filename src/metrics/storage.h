#pragma once
// The storage interfaces: an Appender for ingestion (scrape, remote write, recording rules) and a
// Querier for PromQL and the query API. The embedded store (metrics::Db) implements both; a remote
// Prometheus-compatible store can implement Querier alone.
// Thread-safety: a Storage is shared by any number of threads; each Appender and each Querier is
// used by one thread at a time.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "metrics/labels.h"
#include "metrics/sample.h"

namespace platops::metrics {

// A store-assigned handle for one series, stable for the series' life in the head. 0 means none.
using SeriesRef = uint64_t;

// Why a sample was not appended. Each reason has its own counter in the store.
enum class AppendError {
  kNone,
  kOutOfOrder,   // Older than the series' newest sample.
  kDuplicate,    // Same timestamp as the newest sample with a different value.
  kOutOfBounds,  // Older than the head's minimum valid time (already cut into a block).
  kInvalidLabels,  // Empty label set, no __name__, bad UTF-8, duplicate or empty names.
  kLimit,          // A configured limit (labels per series, label length, series) would be exceeded.
};
// "out_of_order", "duplicate", "out_of_bounds", "invalid_labels", "limit": the metric label value.
std::string_view AppendErrorName(AppendError error);

// Collects samples; nothing is visible to queries until Commit. Not copyable; discard with
// Rollback or by destroying it without Commit.
class Appender {
 public:
  virtual ~Appender() = default;

  // Adds one sample. `labels` must be Normalize()d. `ref` is in/out: 0 to look the series up by
  // labels; a ref this store returned earlier to skip the lookup (the labels must be the same).
  // A sample equal to the newest one (same t, bit-identical v) is accepted and ignored.
  virtual AppendError Append(SeriesRef& ref, const Labels& labels, int64_t t, double v) = 0;
  // Makes the samples durable (written to the WAL, fsynced per the store's policy) and visible.
  // An error means none of them were stored.
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
};

// The samples of one series within the selected time range, in increasing time order.
class SampleIterator {
 public:
  virtual ~SampleIterator() = default;
  // Moves to the next sample; false at the end (or on error: see status()).
  virtual bool Next() = 0;
  // Moves forward to the first sample with timestamp >= t; no move if already there. Never
  // moves back. False when there is none.
  virtual bool Seek(int64_t t) = 0;
  // REQUIRES: the last Next() or Seek() returned true.
  virtual Sample At() const = 0;
  // Not OK when the data was found corrupt or unreadable.
  virtual Status status() const = 0;
  // Appends the current sample and the ones after it with timestamp <= maxt to `out`, moving
  // past them: the same samples as an At()/Next() loop, without a virtual call per sample.
  // True when it stopped at a sample newer than maxt (now current); false at the end or on
  // error (see status()). REQUIRES: the last Next() or Seek() returned true.
  virtual bool AppendUntil(int64_t maxt, std::vector<Sample>& out) {
    do {
      const Sample s = At();
      if (s.t > maxt) return true;
      out.push_back(s);
    } while (Next());
    return false;
  }
};

class Series {
 public:
  virtual ~Series() = default;
  virtual const Labels& labels() const = 0;
  // A fresh iterator over the series' samples in the Select range (stale markers included).
  virtual std::unique_ptr<SampleIterator> Iterator() const = 0;
};

// A consistent read view over [mint, maxt] (inclusive, Unix ms). Samples appended after it was
// opened may or may not be visible.
class Querier {
 public:
  virtual ~Querier() = default;
  // Series matching every matcher with at least one sample in [mint, maxt] of this querier,
  // sorted by labels. At least one matcher must not match the empty string (as in Prometheus).
  // Regex matchers are RE2, fully anchored; a bad regex is InvalidArgument.
  virtual Result<std::vector<std::unique_ptr<Series>>> Select(
      std::span<const Matcher> matchers) = 0;
  // Sorted label names of the series matching `matchers` (all series when empty).
  virtual Result<std::vector<std::string>> LabelNames(std::span<const Matcher> matchers) = 0;
  // Sorted values of label `name` among the series matching `matchers` (all when empty).
  virtual Result<std::vector<std::string>> LabelValues(std::string_view name,
                                                       std::span<const Matcher> matchers) = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;
  virtual std::unique_ptr<Appender> NewAppender() = 0;
  virtual Result<std::unique_ptr<Querier>> NewQuerier(int64_t mint, int64_t maxt) = 0;
};

}  // namespace platops::metrics
