#pragma once
// Db: the embedded metrics store. A Head (recent samples in memory) made durable by a Wal, and
// immutable Blocks on disk: every block_range the oldest head range is written as a block, small
// blocks are compacted into larger ones, old ones dropped by retention. Implements Storage.
// Layout under its directory: wal/ (segments, checkpoints), blocks/<id>/ and dropped/ (what
// Open set aside as damaged). Formats: docs/metrics-format.md.
// Thread-safety: every method may be called from any thread; Maintain runs one at a time.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "metrics/block.h"
#include "metrics/head.h"
#include "metrics/head_snapshot.h"
#include "metrics/storage.h"
#include "metrics/wal.h"

namespace platops {
class MetricsRegistry;
}

namespace platops::metrics {

struct DbOptions {
  int64_t block_range_ms = 2 * 3600 * 1000;
  // Blocks whose newest sample is older than the newest sample stored minus this are deleted.
  std::chrono::milliseconds retention{std::chrono::hours(24 * 15)};
  // 0 = no size limit; otherwise the oldest blocks are deleted while blocks exceed it.
  uint64_t retention_bytes = 0;
  // Appender::Commit returns after an fdatasync covering its samples (group commit).
  bool wal_sync = true;
  uint64_t wal_segment_size = uint64_t{128} << 20;
  HeadOptions head;
  // Threads that apply WAL samples at open, each owning half of the head's lock stripes; 0
  // applies them on the opening thread.
  int replay_workers = 2;
  // Close writes the head to head.snapshot, so that the next Open loads it and replays only the
  // WAL written after it.
  bool snapshot_on_close = true;
  // Maintain also writes head.snapshot when the last one is this old (0: only Close does), so
  // that an Open after a crash loads it and replays only the WAL logged since, instead of the
  // whole head. The snapshot is then kept as the base of an Open after a crash; without periodic
  // snapshots an Open consumes the snapshot it loads.
  std::chrono::milliseconds snapshot_interval{std::chrono::minutes(30)};
  // How often the background thread runs Maintain.
  std::chrono::milliseconds maintain_interval{std::chrono::minutes(1)};
};

// What Open found damaged and set aside; empty after a clean shutdown.
struct DbOpenReport {
  WalReplayReport wal;
  uint64_t replayed_samples = 0;
  uint64_t replay_skipped_samples = 0;  // Already in blocks or rejected again.
  std::vector<std::string> dropped_blocks;  // "<id>: <reason>", moved to dropped/.
  std::vector<std::string> removed;         // Leftovers removed: unfinished or superseded blocks.
  // The head snapshot the last clean Close wrote: loaded (the WAL replay then starts at its
  // segment), or why it was damaged (it is then moved to dropped/ and the whole WAL replayed).
  bool snapshot_loaded = false;
  HeadSnapshotStats snapshot;
  std::string snapshot_dropped;
  std::chrono::milliseconds snapshot_duration{0};  // Loading the snapshot.
  std::chrono::milliseconds replay_duration{0};    // Replaying the WAL.
  std::chrono::milliseconds duration{0};
};

struct DbStats {
  HeadStats head;
  size_t num_blocks = 0;
  uint64_t blocks_bytes = 0;
  uint64_t blocks_samples = 0;
  int64_t min_time = 0;  // Of everything stored; 0/0 when empty.
  int64_t max_time = 0;
  uint64_t samples_appended = 0;
  uint64_t rejected[6] = {};  // Indexed by AppendError.
  uint64_t compactions = 0;
  uint64_t compaction_failures = 0;
  uint64_t blocks_deleted = 0;
  uint64_t wal_truncations = 0;
};

class Db : public Storage {
 public:
  // Opens (creating) the store in `dir`: loads the blocks, replays the WAL. Fails when another
  // process has it open.
  static Result<std::unique_ptr<Db>> Open(std::string dir, DbOptions options);
  // Stops the background thread and closes the WAL.
  ~Db() override;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  std::unique_ptr<Appender> NewAppender() override;
  Result<std::unique_ptr<Querier>> NewQuerier(int64_t mint, int64_t maxt) override;

  // Writes due head ranges as blocks, compacts blocks, applies retention, truncates the WAL and
  // drops dead series from the head. Called by the background thread; tests call it directly.
  Status Maintain();
  // Writes head.snapshot now, while appends go on (Maintain does when snapshot_interval has
  // passed): commits are held only while the WAL is cut.
  Status Snapshot();
  // Runs Maintain every maintain_interval on a thread of its own until Close.
  void StartBackground();
  // Stops the background thread, waits for commits in flight, writes the head snapshot (with
  // snapshot_on_close and a healthy WAL), syncs and closes the WAL. Later appends fail.
  Status Close();

  const DbOpenReport& open_report() const { return open_report_; }
  DbStats Stats() const;
  Head& head() { return *head_; }
  const Wal& wal() const { return *wal_; }
  // The current blocks, oldest first.
  std::vector<std::shared_ptr<Block>> Blocks() const;
  // Exports prometheus_tsdb_*-style gauges and counters under platops_tsdb_*.
  void RegisterMetrics(MetricsRegistry& registry);

 private:
  friend class DbAppender;
  Db(std::string dir, DbOptions options);
  Status Load();
  // Loads head.snapshot if there is one; returns the WAL segment to replay from (0: all).
  Result<int> LoadSnapshot();
  Status Replay(int from_segment);
  // Cuts the WAL (holding commits back for the cut when `live`) and writes the head snapshot.
  // REQUIRES: maintain_mu_ held.
  Status WriteSnapshot(bool live);
  std::string SnapshotPath() const;
  Status CutHeadBlocks();
  Status CompactBlocks();
  Status ApplyRetention();
  Status TruncateWal();
  Result<std::shared_ptr<Block>> WriteBlock(
      const std::vector<std::shared_ptr<Block>>& sources, int64_t mint, int64_t maxt);
  void AddBlock(std::shared_ptr<Block> block);
  void RemoveBlocks(const std::vector<std::shared_ptr<Block>>& blocks);
  void NoteLogged(int64_t max_t);

  const std::string dir_;
  const DbOptions options_;
  int lock_fd_ = -1;  // flock on <dir>/LOCK: one process per store.
  // Replaced only by Open, when a damaged snapshot left it partly loaded.
  std::unique_ptr<Head> head_;
  std::unique_ptr<Wal> wal_;
  DbOpenReport open_report_;

  mutable std::shared_mutex blocks_mu_;
  std::vector<std::shared_ptr<Block>> blocks_;  // Sorted by min_time.

  std::mutex maintain_mu_;
  // WAL cut points: segments before `segment` hold no sample newer than `max_t`.
  struct WalBoundary {
    int segment;
    int64_t max_t;
  };
  std::vector<WalBoundary> boundaries_;  // GUARDED_BY(maintain_mu_)
  std::atomic<int64_t> max_logged_t_{INT64_MIN};
  uint64_t block_seq_ = 0;  // GUARDED_BY(maintain_mu_)
  std::chrono::steady_clock::time_point last_snapshot_;  // GUARDED_BY(maintain_mu_)

  std::atomic<uint64_t> samples_appended_{0};
  std::atomic<uint64_t> rejected_[6] = {};
  std::atomic<uint64_t> compactions_{0};
  std::atomic<uint64_t> compaction_failures_{0};
  std::atomic<uint64_t> blocks_deleted_{0};
  std::atomic<uint64_t> wal_truncations_{0};

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;  // GUARDED_BY(bg_mu_)
  std::thread bg_thread_;
  std::atomic<bool> closed_{false};
  // Commits (and rollbacks) hold it shared from their closed_ check to their last head append;
  // Close takes it exclusively, so the snapshot sees every committed sample.
  std::shared_mutex commit_mu_;
};

}  // namespace platops::metrics
