#pragma once
// Head snapshots: every series of a Head with its chunks (the open one with its append state),
// written by Db at a clean Close, so that the next Open loads them and replays only the WAL
// written after. One file of CRC-32C-checked frames, written as <path>.tmp, fsynced and renamed.
// Layout: docs/metrics-format.md ("Head snapshot").
// Thread-safety: stateless functions; the head must not change while it is written.

#include <cstdint>
#include <string>

#include "base/status.h"
#include "metrics/head.h"

namespace platops::metrics {

// Where the snapshot sits in the store's history.
struct HeadSnapshotMeta {
  int wal_segment = 0;  // Replay the WAL from this segment on; earlier records are in the head.
  int64_t min_valid_time = INT64_MIN;  // Head::min_valid_time() when written.
  int64_t max_logged_t = INT64_MIN;    // The newest sample time ever logged to the WAL.
  SeriesRef next_ref = 1;              // Refs below it may be in the WAL: never reused.
  bool operator==(const HeadSnapshotMeta&) const = default;
};

struct HeadSnapshotStats {
  uint64_t series = 0;
  uint64_t chunks = 0;   // Closed and open.
  uint64_t samples = 0;  // In those chunks.
  uint64_t bytes = 0;    // Of the file.
};

// Writes `head` and `meta` to `path` (replacing it) through `path`.tmp: the data and the directory
// are fsynced, so after a crash `path` is either the old file, the new one, or absent.
Result<HeadSnapshotStats> WriteHeadSnapshot(const Head& head, const HeadSnapshotMeta& meta,
                                            const std::string& path);

struct LoadedHeadSnapshot {
  HeadSnapshotMeta meta;
  HeadSnapshotStats stats;
};

// Loads the snapshot at `path` into `head`, which must hold no series. Errors: NotFound when there
// is no file, InvalidArgument ("head snapshot <path>: frame 3 at byte 4096: checksum mismatch")
// when it is damaged or not a snapshot, Internal on I/O errors. After an error `head` may hold
// part of the snapshot: discard it. `decode_threads` check and decode frames while the calling
// thread reads the file and fills the head (0: all on the calling thread).
Result<LoadedHeadSnapshot> LoadHeadSnapshot(const std::string& path, Head& head,
                                            int decode_threads = 2);

}  // namespace platops::metrics
