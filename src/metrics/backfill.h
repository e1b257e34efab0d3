#pragma once
// Backfill: writes the samples of an OpenMetrics text file as blocks of a metrics store, like
// Prometheus's `promtool tsdb create-blocks-from openmetrics`. Samples may come in any order; they
// are grouped per aligned time range, sorted per series and written with BlockWriter. All of the
// input is checked before any block becomes visible: on an error nothing is added to the store.
// Format and rules: docs/metrics-format.md ("Backfill").
// Thread-safety: a free function; it holds the store's LOCK while it runs, so no other process
// (and no Db in this process) may have the store open.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "metrics/block.h"

namespace platops::metrics {

struct BackfillOptions {
  // Length of the aligned ranges that become one block each: 2 h x 3^k (2 h, 6 h, 18 h, 54 h,
  // 162 h or 486 h), the ranges Db compaction merges into. Default 18 h, the largest block the
  // store compacts to with its default 15 d retention, so imported data is stored as compactly as
  // data that went through compaction.
  int64_t block_duration_ms = int64_t{18} * 3600 * 1000;
  // Unix ms; samples after it are refused (the store would refuse live samples older than the
  // newest imported one). REQUIRED: set from a Clock.
  int64_t now_ms = 0;
  // Samples held in memory at once (16-32 bytes each); when the input holds more, it is read
  // once more per group of ranges that fits. A single range above it is still read whole.
  uint64_t max_samples_in_memory = 20'000'000;
  // Reading stops after this many errors. At least 1.
  size_t max_errors = 20;
};

// An input error: its 1-based line number (0 when it concerns no single line) and what is wrong.
struct BackfillError {
  int64_t line = 0;
  std::string message;
};

struct BackfillReport {
  uint64_t samples = 0;     // Written.
  uint64_t series = 0;      // Distinct label sets written.
  uint64_t duplicates = 0;  // Repeated samples (same series, time and value bits) dropped.
  int64_t min_time = 0;     // Of the samples written; 0/0 when none.
  int64_t max_time = 0;
  std::vector<BlockMeta> blocks;  // Added to the store, oldest first.
  // Input errors, in line order; when non-empty nothing was written.
  std::vector<BackfillError> errors;
};

// Reads `text`, a whole OpenMetrics 1.0 body ending with "# EOF", and adds its samples as blocks to
// the store in `store_dir` (the directory Db::Open takes; created when missing). Every sample needs
// a timestamp not after now_ms and may not fall in (or make a block span) a time range the store
// already holds: an existing block or the samples of its head (WAL). The same sample twice is kept
// once; two values for one series and time are an error. Errors in the input come back in
// `errors`; a Status error means the store could not be used: kUnavailable when another process
// holds its LOCK, kInvalidArgument for bad options, kInternal for I/O failures.
Result<BackfillReport> Backfill(std::string_view text, const std::string& store_dir,
                                const BackfillOptions& options);

}  // namespace platops::metrics
