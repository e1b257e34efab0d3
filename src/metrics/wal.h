#pragma once
// Wal: the metrics store's write-ahead log. A directory of numbered segment files (00000001, ...)
// holding CRC-32C-framed records, plus at most one checkpoint directory (checkpoint.NNNNNNNN)
// that replaces the segments up to NNNNNNNN. Log batches concurrent callers (group commit: one
// write and one fdatasync per batch); Replay reads everything back and repairs a torn or corrupt
// tail. Layout: docs/metrics-format.md ("WAL").
// Thread-safety: thread-safe. Replay must finish before the first Log or Cut.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace platops::metrics {

// The largest record Log and WriteCheckpoint accept.
inline constexpr uint64_t kMaxWalRecordBytes = uint64_t{1} << 30;

struct WalOptions {
  // A segment is closed once the next record would take it past this size. Default 128 MiB,
  // at least 64. Records never span segments; a record larger than this gets a segment of its own.
  uint64_t segment_size = uint64_t{128} << 20;
  // true: Log returns once an fdatasync covers its records. false: once they are written (in the
  // page cache); they are synced by SyncIfDue, Cut, segment switches and Close.
  bool sync = true;
  // With sync == false, SyncIfDue syncs when this much time has passed since its last sync.
  // Default 1 s, must be positive.
  std::chrono::milliseconds sync_interval{1000};
};

// Counters since Open, for export as metrics. Read them with load(); Wal alone writes them.
struct WalStats {
  std::atomic<uint64_t> records{0};           // Records written by Log.
  std::atomic<uint64_t> bytes{0};             // Frame bytes written by Log (headers included).
  std::atomic<uint64_t> writes{0};            // write() calls by Log.
  std::atomic<uint64_t> fsyncs{0};            // fdatasync/fsync calls on segment files.
  std::atomic<uint64_t> fsync_nanos{0};       // Time spent in them, in nanoseconds.
  std::atomic<uint64_t> segments_created{0};  // Segment files created.
  std::atomic<uint64_t> corruptions{0};       // Damaged segments and checkpoints Replay found.
};

// Data Replay dropped, one entry per damaged file or file dropped after the damage.
struct WalDrop {
  // Relative to the WAL directory: "00000003" or "checkpoint.00000002/records".
  std::string file;
  // The segment number; for a checkpoint, the last segment it covers.
  int segment = 0;
  // The first byte dropped: the end of the last good record in the file.
  uint64_t offset = 0;
  // Bytes dropped, from `offset` to the end of the file.
  uint64_t bytes = 0;
  std::string reason;
};

struct WalReplayReport {
  int checkpoint = 0;               // The checkpoint replayed (its last segment), 0 for none.
  int skipped_checkpoint = 0;       // The checkpoint skipped for `from_segment`, 0 for none.
  uint64_t checkpoint_records = 0;  // Records replayed from it.
  int first_segment = 0;            // The segments replayed, 0 for none.
  int last_segment = 0;
  uint64_t records = 0;  // Records passed to the callback, checkpoint included.
  uint64_t bytes = 0;    // Their payload bytes.
  // Empty after a clean shutdown. Dropped whole files are moved into <dir>/dropped/.
  std::vector<WalDrop> dropped;
};

class Wal {
 public:
  // Opens (creating it if needed) the WAL in `dir`. Does not read the records: call Replay.
  static Result<std::unique_ptr<Wal>> Open(std::string dir, WalOptions options = {});

  // Closes the WAL; errors are lost (call Close to see them).
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Calls `fn` for every record: the newest intact checkpoint's, then those of the later segments
  // in order. The view is valid during the call only. At the first torn or corrupt frame it stops:
  // the segment is truncated after its last good record, later segments are moved to
  // <dir>/dropped/ and the report says what was dropped; a damaged checkpoint is moved there too
  // and the next older one (if any) used instead. Fails only on I/O errors or an error of `fn`
  // (returned as is). Afterwards Log appends to a new segment after the last one.
  // With `from_segment` (a head snapshot's position), segments numbered below it and a checkpoint
  // covering only those are skipped unread (older checkpoints are then kept as they are).
  // REQUIRES: no Log or Cut yet.
  Result<WalReplayReport> Replay(const std::function<Status(std::string_view record)>& fn,
                                 int from_segment = 0);

  // Appends the records and returns once they are durable (sync) or written (no sync).
  // Concurrent calls are batched: one write() and one fdatasync per batch (plus one of each per
  // segment boundary crossed). A record above kMaxWalRecordBytes fails the call with
  // InvalidArgument before anything is written. After a write or sync failure this and every
  // later call fail (the tail is unknown: reopen and Replay); the failed call's records may or
  // may not be replayed.
  Status Log(std::span<const std::string_view> records);
  Status Log(std::string_view record) { return Log(std::span<const std::string_view>(&record, 1)); }

  // With sync == false: fdatasyncs the written records if sync_interval has passed since the last
  // such sync (or there was none). Call it periodically; a no-op with sync == true.
  Status SyncIfDue(Timestamp now);

  // Syncs and closes the current segment; later records go to the returned segment, and every
  // record logged before the call is in an older one. An empty current segment is kept as is.
  Result<int> Cut();

  // The first and last segment numbers present (the last is the one being written), {0, 0} when
  // there are none.
  std::pair<int, int> Segments() const;

  // Deletes the segments numbered below `segment`. REQUIRES: segment <= Segments().second.
  Status TruncateBefore(int segment);

  // Atomically writes checkpoint.<upto_segment>, which Replay uses in place of the segments up to
  // `upto_segment` (delete them with TruncateBefore(upto_segment + 1) afterwards), then deletes
  // older checkpoints. REQUIRES: upto_segment is below the segment being written (see Cut).
  Status WriteCheckpoint(int upto_segment, std::span<const std::string> records);

  // Writes pending records, syncs and closes; returns the first write or sync error seen. Then
  // Log, Cut, Replay, TruncateBefore and WriteCheckpoint fail with Unavailable; Close again is OK.
  Status Close();

  const WalStats& stats() const { return stats_; }
  const std::string& dir() const { return dir_; }

 private:
  // Framed records waiting for the leader, with the end offset of each frame.
  struct Batch {
    std::string bytes;
    std::vector<size_t> frame_ends;
    uint64_t records = 0;
  };

  Wal(std::string dir, WalOptions options);

  Status AwaitBatch(std::unique_lock<std::mutex>& lock, uint64_t seq);
  // Writes the pending batch as leader; the lock is released during the I/O.
  void LeadBatch(std::unique_lock<std::mutex>& lock);
  // Waits until no leader runs and becomes the leader without a batch (for Cut).
  void AcquireLeadership(std::unique_lock<std::mutex>& lock);
  void ReleaseLeadership(std::unique_lock<std::mutex>& lock);

  // The leader-only file operations below run without mu_.
  Status WriteBatch(const Batch& batch);
  Status OpenNewSegment();
  Status CloseSegment();
  Status WriteAll(const char* data, size_t size);
  Status TimedSync(int fd, const std::string& path);

  // Sets first_segment_, last_segment_ and checkpoint_ from the directory.
  Status ScanDirectory();
  Result<std::optional<WalDrop>> ReplayCheckpoint(int upto,
                                                  const std::function<Status(std::string_view)>& fn,
                                                  std::string& buffer, WalReplayReport& report);

  const std::string dir_;
  const WalOptions options_;
  WalStats stats_;

  std::mutex admin_mu_;  // Serializes Replay, TruncateBefore, WriteCheckpoint and Close.

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Batch pending_;                       // GUARDED_BY(mu_)
  Batch spare_;                         // GUARDED_BY(mu_), a drained batch kept for its capacity
  uint64_t pending_seq_ = 1;            // GUARDED_BY(mu_), the number pending_ will be written as
  uint64_t done_seq_ = 0;               // GUARDED_BY(mu_), batches up to this one are finished
  uint64_t failed_seq_ = 0;             // GUARDED_BY(mu_), the first failed batch, 0 for none
  Status error_;                        // GUARDED_BY(mu_), sticky write or sync failure
  bool leader_active_ = false;          // GUARDED_BY(mu_)
  bool closed_ = false;                 // GUARDED_BY(mu_)
  bool replaying_ = false;              // GUARDED_BY(mu_)
  bool writing_started_ = false;        // GUARDED_BY(mu_), set by the first Log or Cut
  bool unsynced_ = false;               // GUARDED_BY(mu_), written data not yet fdatasynced
  std::optional<Timestamp> last_sync_;  // GUARDED_BY(mu_), SyncIfDue's last sync
  int first_segment_ = 0;               // GUARDED_BY(mu_)
  int last_segment_ = 0;                // GUARDED_BY(mu_)
  int checkpoint_ = 0;                  // GUARDED_BY(mu_), the newest checkpoint's segment
  int writer_segment_ = 0;              // GUARDED_BY(mu_), the open segment, 0 before the first

  // Changed only by the thread holding leadership (leader_active_); others may read fd_ under mu_
  // while no leader runs.
  int fd_ = -1;
  uint64_t segment_bytes_ = 0;
};

}  // namespace platops::metrics
