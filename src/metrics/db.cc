#include "metrics/db.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <compare>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <thread>
#include <set>

#include <spdlog/spdlog.h>
#include "base/metrics_registry.h"
#include "metrics/file_io.h"
#include "metrics/head_replayer.h"
#include "metrics/wal_records.h"

namespace platops::metrics {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMinT = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxT = std::numeric_limits<int64_t>::max();
constexpr std::string_view kSnapshotFile = "head.snapshot";

HeadOptions HeadOptionsOf(const DbOptions& options) {
  HeadOptions h = options.head;
  h.chunk_range_ms = options.block_range_ms;
  return h;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string BlockId(int64_t mint, int64_t maxt, int level) {
  return std::to_string(mint) + "-" + std::to_string(maxt) + "-l" + std::to_string(level);
}

void AtomicMax(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (cur < v && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

// Concatenates the samples of one series from several sources that do not overlap in time,
// oldest first; a sample not newer than the previous one is skipped.
class ConcatIterator : public SampleIterator {
 public:
  explicit ConcatIterator(std::vector<std::unique_ptr<SampleIterator>> parts)
      : parts_(std::move(parts)) {}
  bool Next() override {
    while (index_ < parts_.size()) {
      if (parts_[index_]->Next()) {
        if (have_ && parts_[index_]->At().t <= last_t_) continue;
        return Accept();
      }
      if (!parts_[index_]->status().ok()) return Fail();
      ++index_;
    }
    return false;
  }
  bool Seek(int64_t t) override {
    if (have_ && last_t_ >= t && positioned_) return true;
    while (index_ < parts_.size()) {
      if (parts_[index_]->Seek(t)) {
        if (have_ && parts_[index_]->At().t <= last_t_) return Next();
        return Accept();
      }
      if (!parts_[index_]->status().ok()) return Fail();
      ++index_;
    }
    return false;
  }
  Sample At() const override { return parts_[index_]->At(); }
  Status status() const override { return status_; }
  bool AppendUntil(int64_t maxt, std::vector<Sample>& out) override {
    while (true) {
      const size_t before = out.size();
      const bool more = parts_[index_]->AppendUntil(maxt, out);
      if (out.size() > before) last_t_ = out.back().t;
      if (more) return Accept();
      if (!parts_[index_]->status().ok()) return Fail();
      // On to the first sample of a later part that is newer than the last one.
      while (true) {
        if (++index_ >= parts_.size()) return false;
        if (parts_[index_]->Seek(last_t_ + 1)) break;
        if (!parts_[index_]->status().ok()) return Fail();
      }
      Accept();
      if (At().t > maxt) return true;
    }
  }

 private:
  bool Accept() {
    have_ = positioned_ = true;
    last_t_ = parts_[index_]->At().t;
    return true;
  }
  bool Fail() {
    status_ = parts_[index_]->status();
    index_ = parts_.size();
    return false;
  }
  std::vector<std::unique_ptr<SampleIterator>> parts_;
  size_t index_ = 0;
  bool have_ = false;
  bool positioned_ = false;
  int64_t last_t_ = 0;
  Status status_;
};

class MergedSeries : public Series {
 public:
  explicit MergedSeries(std::vector<std::unique_ptr<Series>> parts) : parts_(std::move(parts)) {}
  const Labels& labels() const override { return parts_.front()->labels(); }
  std::unique_ptr<SampleIterator> Iterator() const override {
    std::vector<std::unique_ptr<SampleIterator>> its;
    its.reserve(parts_.size());
    for (const auto& p : parts_) its.push_back(p->Iterator());
    return std::make_unique<ConcatIterator>(std::move(its));
  }

 private:
  std::vector<std::unique_ptr<Series>> parts_;
};

// Queries blocks (oldest first) and the head, merging series with equal labels.
class DbQuerier : public Querier {
 public:
  explicit DbQuerier(std::vector<std::unique_ptr<Querier>> parts) : parts_(std::move(parts)) {}

  Result<std::vector<std::unique_ptr<Series>>> Select(
      std::span<const Matcher> matchers) override {
    if (parts_.size() == 1) return parts_[0]->Select(matchers);
    // With two blocks or more the parts are read on two threads: reading a block's series is
    // most of a large selection's time, and a thread costs little beside reading two blocks.
    const size_t n = parts_.size();
    std::vector<std::optional<Result<std::vector<std::unique_ptr<Series>>>>> results(n);
    // Taken newest first: the head, last, costs the most (its series are unpacked and sorted),
    // so it starts at once while the other thread reads the blocks.
    std::atomic<size_t> taken{0};
    auto read = [&] {
      for (size_t k = taken++; k < n; k = taken++) results[n - 1 - k] = parts_[n - 1 - k]->Select(matchers);
    };
    std::thread helper;
    if (n >= 3) helper = std::thread(read);
    read();
    if (helper.joinable()) helper.join();
    std::vector<std::vector<std::unique_ptr<Series>>> lists;
    lists.reserve(n);
    size_t most = 0;
    for (auto& r : results) {
      if (!r->ok()) return r->status();
      lists.push_back(std::move(*r).value());
      most = std::max(most, lists.back().size());
    }
    // K-way merge by labels; each list is sorted and parts_ are in time order. One three-way
    // comparison per list head finds both the smallest label set and the lists that hold it.
    std::vector<size_t> pos(lists.size(), 0);
    std::vector<size_t> holders;
    std::vector<std::unique_ptr<Series>> out;
    out.reserve(most);
    while (true) {
      const Labels* smallest = nullptr;
      holders.clear();
      for (size_t i = 0; i < lists.size(); ++i) {
        if (pos[i] >= lists[i].size()) continue;
        const Labels& l = lists[i][pos[i]]->labels();
        const auto cmp = smallest == nullptr ? std::strong_ordering::less : l <=> *smallest;
        if (cmp < 0) {
          smallest = &l;
          holders.assign(1, i);
        } else if (cmp == 0) {
          holders.push_back(i);
        }
      }
      if (smallest == nullptr) break;
      if (holders.size() == 1) {
        out.push_back(std::move(lists[holders[0]][pos[holders[0]]++]));
        continue;
      }
      // The Series objects stay put while their pointers move into `same`.
      std::vector<std::unique_ptr<Series>> same;
      same.reserve(holders.size());
      for (size_t i : holders) same.push_back(std::move(lists[i][pos[i]++]));
      out.push_back(std::make_unique<MergedSeries>(std::move(same)));
    }
    return out;
  }

  Result<std::vector<std::string>> LabelNames(std::span<const Matcher> matchers) override {
    std::set<std::string> all;
    for (auto& p : parts_) {
      PLATOPS_ASSIGN_OR_RETURN(auto names, p->LabelNames(matchers));
      all.insert(names.begin(), names.end());
    }
    return std::vector<std::string>(all.begin(), all.end());
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               std::span<const Matcher> matchers) override {
    std::set<std::string> all;
    for (auto& p : parts_) {
      PLATOPS_ASSIGN_OR_RETURN(auto values, p->LabelValues(name, matchers));
      all.insert(values.begin(), values.end());
    }
    return std::vector<std::string>(all.begin(), all.end());
  }

 private:
  std::vector<std::unique_ptr<Querier>> parts_;
};

}  // namespace

// ---- Appender ----

class DbAppender : public Appender {
 public:
  explicit DbAppender(Db& db) : db_(db) {}
  ~DbAppender() override {
    if (!series_.empty() || !samples_.empty()) Rollback();
  }

  AppendError Append(SeriesRef& ref, const Labels& labels, int64_t t, double v) override {
    bool created = false;
    Head::SeriesHandle handle;
    AppendError err = db_.head_->Prepare(labels, ref, t, v, created, handle);
    if (err != AppendError::kNone) {
      db_.rejected_[static_cast<int>(err)].fetch_add(1, std::memory_order_relaxed);
      return err;
    }
    if (created) series_.push_back({ref, labels});
    samples_.push_back({ref, t, v});
    handles_.push_back(handle);
    max_t_ = std::max(max_t_, t);
    return AppendError::kNone;
  }

  Status Commit() override {
    std::shared_lock gate(db_.commit_mu_);
    if (db_.closed_.load()) {
      for (auto h : handles_) db_.head_->Unpin(h);
      handles_.clear();
      series_.clear();
      samples_.clear();
      return Unavailable("the metrics store is closed");
    }
    std::string_view records[2];
    size_t n = 0;
    if (!series_.empty()) {
      EncodeSeriesRecordInto(series_, series_buf_);
      records[n++] = series_buf_;
    }
    if (!samples_.empty()) {
      EncodeSamplesRecordInto(samples_, samples_buf_);
      records[n++] = samples_buf_;
      db_.NoteLogged(max_t_);
    }
    Status st = n > 0 ? db_.wal_->Log(std::span<const std::string_view>(records, n))
                      : Status::Ok();
    series_.clear();
    if (!st.ok()) {
      for (auto h : handles_) db_.head_->Unpin(h);
      handles_.clear();
      samples_.clear();
      return Unavailable("writing the metrics WAL: " + st.message());
    }
    uint64_t appended = 0;
    for (size_t i = 0; i < samples_.size(); ++i) {
      const auto& s = samples_[i];
      AppendError err = db_.head_->AppendPinned(handles_[i], s.t, s.v);
      if (err == AppendError::kNone) {
        ++appended;
      } else {
        db_.rejected_[static_cast<int>(err)].fetch_add(1, std::memory_order_relaxed);
      }
    }
    db_.samples_appended_.fetch_add(appended, std::memory_order_relaxed);
    handles_.clear();
    samples_.clear();
    max_t_ = kMinT;
    return Status::Ok();
  }

  void Rollback() override {
    std::shared_lock gate(db_.commit_mu_);
    // Series already exist in the head, so their records must reach the WAL even without samples:
    // another appender may log samples for them.
    if (!series_.empty() && !db_.closed_.load()) {
      EncodeSeriesRecordInto(series_, series_buf_);
      Status st = db_.wal_->Log(std::string_view(series_buf_));
      if (!st.ok()) spdlog::warn("metrics WAL: logging series on rollback: {}", st.message());
    }
    for (auto h : handles_) db_.head_->Unpin(h);
    handles_.clear();
    series_.clear();
    samples_.clear();
    max_t_ = kMinT;
  }

 private:
  Db& db_;
  std::vector<WalSeries> series_;
  std::vector<WalSample> samples_;
  std::vector<Head::SeriesHandle> handles_;  // Parallel to samples_, each pinned.
  std::string series_buf_;
  std::string samples_buf_;
  int64_t max_t_ = kMinT;
};

// ---- Db ----

Db::Db(std::string dir, DbOptions options)
    : dir_(std::move(dir)),
      options_(options),
      head_(std::make_unique<Head>(HeadOptionsOf(options))) {}

Db::~Db() {
  (void)Close();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<Db>> Db::Open(std::string dir, DbOptions options) {
  if (options.block_range_ms <= 0) return InvalidArgument("block range must be positive");
  auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Db> db(new Db(std::move(dir), options));
  std::error_code ec;
  fs::create_directories(db->dir_ + "/blocks", ec);
  if (ec) return Internal("create " + db->dir_ + "/blocks: " + ec.message());
  const std::string lock_path = db->dir_ + "/LOCK";
  db->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (db->lock_fd_ < 0) return Internal("open " + lock_path + ": " + std::strerror(errno));
  if (::flock(db->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Unavailable("the metrics store in " + db->dir_ + " is in use by another process");
  }
  PLATOPS_RETURN_IF_ERROR(db->Load());
  WalOptions wal_options;
  wal_options.sync = options.wal_sync;
  wal_options.segment_size = options.wal_segment_size;
  PLATOPS_ASSIGN_OR_RETURN(db->wal_, Wal::Open(db->dir_ + "/wal", wal_options));
  PLATOPS_ASSIGN_OR_RETURN(int from_segment, db->LoadSnapshot());
  PLATOPS_RETURN_IF_ERROR(db->Replay(from_segment));
  // A first boundary: everything replayed lies in the segments before this cut.
  PLATOPS_ASSIGN_OR_RETURN(int cut, db->wal_->Cut());
  db->boundaries_.push_back({cut, db->max_logged_t_.load()});
  db->last_snapshot_ = std::chrono::steady_clock::now();
  // With periodic snapshots it is kept as the base of an Open after a crash. The WAL may be
  // truncated past its segment later: that part of the log is then in blocks and the checkpoint,
  // and loading the snapshot drops what blocks hold.
  if (db->open_report_.snapshot_loaded && db->options_.snapshot_interval.count() == 0) {
    // Consumed: the WAL moves on from here, so an Open after a crash must replay all of it.
    const std::string path = db->SnapshotPath();
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Internal("remove " + path + ": " + std::strerror(errno));
    }
    PLATOPS_RETURN_IF_ERROR(SyncDir("", db->dir_));
  }
  db->open_report_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return db;
}

Status Db::Load() {
  std::vector<std::shared_ptr<Block>> loaded;
  const std::string blocks_dir = dir_ + "/blocks";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(blocks_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory()) continue;
    if (name.starts_with(".tmp")) {
      fs::remove_all(entry.path(), ec);
      open_report_.removed.push_back(name + ": unfinished block");
      continue;
    }
    auto block = Block::Open(entry.path().string());
    if (!block.ok()) {
      fs::create_directories(dir_ + "/dropped", ec);
      fs::rename(entry.path(), dir_ + "/dropped/" + name, ec);
      open_report_.dropped_blocks.push_back(name + ": " + block.status().message());
      spdlog::warn("metrics store: block {} set aside in dropped/: {}", name, block.status().message());
      continue;
    }
    loaded.push_back(std::move(block).value());
  }
  if (ec) return Internal("list " + blocks_dir + ": " + ec.message());
  // A compaction that finished writing but not deleting its sources leaves both: keep the
  // compacted block.
  std::set<std::string> superseded;
  for (const auto& a : loaded) {
    if (a->meta().level <= 1) continue;
    for (const auto& b : loaded) {
      if (a == b || b->meta().level >= a->meta().level) continue;
      const auto& as = a->meta().sources;
      bool covered = std::all_of(b->meta().sources.begin(), b->meta().sources.end(),
                                 [&](const std::string& s) {
                                   return std::find(as.begin(), as.end(), s) != as.end();
                                 });
      if (covered) superseded.insert(b->meta().id);
    }
  }
  for (const auto& b : loaded) {
    if (superseded.contains(b->meta().id)) {
      fs::remove_all(b->dir(), ec);
      open_report_.removed.push_back(b->meta().id + ": superseded by a compacted block");
      continue;
    }
    blocks_.push_back(b);
  }
  std::sort(blocks_.begin(), blocks_.end(),
            [](const auto& a, const auto& b) { return a->meta().min_time < b->meta().min_time; });
  if (!blocks_.empty()) head_->set_min_valid_time(blocks_.back()->meta().max_time);
  return Status::Ok();
}

std::string Db::SnapshotPath() const { return dir_ + "/" + std::string(kSnapshotFile); }

Result<int> Db::LoadSnapshot() {
  const std::string path = SnapshotPath();
  std::error_code ec;
  if (fs::remove(path + ".tmp", ec)) {
    open_report_.removed.push_back(std::string(kSnapshotFile) + ".tmp: unfinished snapshot");
  }
  if (!fs::exists(path, ec)) return 0;
  const auto start = std::chrono::steady_clock::now();
  auto loaded = LoadHeadSnapshot(path, *head_);
  open_report_.snapshot_duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (!loaded.ok()) {
    if (loaded.status().code() == StatusCode::kNotFound) return 0;
    // Whatever went wrong, the WAL still holds everything: start over from it.
    head_ = std::make_unique<Head>(HeadOptionsOf(options_));
    if (!blocks_.empty()) head_->set_min_valid_time(blocks_.back()->meta().max_time);
    open_report_.snapshot_dropped = loaded.status().message();
    spdlog::warn("metrics store: head snapshot set aside in dropped/, replaying the whole WAL: {}",
                 loaded.status().message());
    fs::create_directories(dir_ + "/dropped", ec);
    fs::rename(path, dir_ + "/dropped/" + std::string(kSnapshotFile), ec);
    if (ec) fs::remove(path, ec);
    if (ec) return Internal("remove the damaged " + path + ": " + ec.message());
    return 0;
  }
  const HeadSnapshotMeta& meta = loaded.value().meta;
  if (!blocks_.empty() && blocks_.back()->meta().max_time > meta.min_valid_time) {
    // Written before blocks that now hold part of it (a snapshot taken while running, then a
    // crash): the head keeps only what is newer, as it would have after cutting those blocks.
    head_->Truncate(blocks_.back()->meta().max_time);
  }
  head_->set_min_valid_time(std::max(head_->min_valid_time(), meta.min_valid_time));
  AtomicMax(max_logged_t_, meta.max_logged_t);
  open_report_.snapshot_loaded = true;
  open_report_.snapshot = loaded.value().stats;
  return meta.wal_segment;
}

Status Db::WriteSnapshot(bool live) {
  // Every record logged so far lands in a segment below `segment`. While running, commits are
  // held back for the cut, so that every sample logged before it is in the head when the
  // snapshot reads its series; samples logged after it may be in the snapshot too, and are
  // skipped as already present when replayed on top of it.
  std::unique_lock<std::shared_mutex> gate(commit_mu_, std::defer_lock);
  if (live) gate.lock();
  PLATOPS_ASSIGN_OR_RETURN(int segment, wal_->Cut());
  const HeadSnapshotMeta meta{.wal_segment = segment,
                              .min_valid_time = head_->min_valid_time(),
                              .max_logged_t = max_logged_t_.load(),
                              .next_ref = head_->last_ref() + 1};
  if (live) gate.unlock();
  const auto start = std::chrono::steady_clock::now();
  auto written = WriteHeadSnapshot(*head_, meta, SnapshotPath());
  if (!written.ok()) {
    spdlog::warn("metrics store: writing the head snapshot: {}", written.status().message());
    return written.status();
  }
  spdlog::info("metrics store: head snapshot of {} series, {} samples, {} bytes in {} ms",
               written.value().series, written.value().samples, written.value().bytes,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count());
  last_snapshot_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

Status Db::Replay(int from_segment) {
  const auto start = std::chrono::steady_clock::now();
  HeadReplayer replayer(*head_, HeadReplayOptions{.workers = options_.replay_workers});
  auto report = wal_->Replay(
      [&replayer](std::string_view record) -> Status {
        replayer.Apply(record);
        return Status::Ok();
      },
      from_segment);
  const HeadReplayTotals totals = replayer.Finish();
  open_report_.replay_duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (!report.ok()) return report.status();
  open_report_.wal = std::move(report).value();
  open_report_.replayed_samples = totals.replayed;
  open_report_.replay_skipped_samples = totals.skipped + totals.undecodable_records;
  AtomicMax(max_logged_t_, totals.max_t);
  for (const auto& d : open_report_.wal.dropped) {
    spdlog::warn("metrics WAL: dropped {} bytes of {} at offset {}: {}", d.bytes, d.file, d.offset,
                 d.reason);
  }
  return Status::Ok();
}

void Db::NoteLogged(int64_t max_t) { AtomicMax(max_logged_t_, max_t); }

std::unique_ptr<Appender> Db::NewAppender() { return std::make_unique<DbAppender>(*this); }

Result<std::unique_ptr<Querier>> Db::NewQuerier(int64_t mint, int64_t maxt) {
  std::vector<std::unique_ptr<Querier>> parts;
  {
    std::shared_lock lock(blocks_mu_);
    for (const auto& b : blocks_) {
      // Block max_time is exclusive.
      if (b->meta().max_time > mint && b->meta().min_time <= maxt) {
        parts.push_back(b->NewQuerier(mint, maxt));
      }
    }
  }
  parts.push_back(head_->NewQuerier(mint, maxt));
  if (parts.size() == 1) return std::move(parts.front());
  return std::unique_ptr<Querier>(std::make_unique<DbQuerier>(std::move(parts)));
}

std::vector<std::shared_ptr<Block>> Db::Blocks() const {
  std::shared_lock lock(blocks_mu_);
  return blocks_;
}

void Db::AddBlock(std::shared_ptr<Block> block) {
  std::unique_lock lock(blocks_mu_);
  blocks_.push_back(std::move(block));
  std::sort(blocks_.begin(), blocks_.end(),
            [](const auto& a, const auto& b) { return a->meta().min_time < b->meta().min_time; });
}

void Db::RemoveBlocks(const std::vector<std::shared_ptr<Block>>& remove) {
  {
    std::unique_lock lock(blocks_mu_);
    std::erase_if(blocks_, [&](const auto& b) {
      return std::find(remove.begin(), remove.end(), b) != remove.end();
    });
  }
  for (const auto& b : remove) {
    std::error_code ec;
    // Open queriers keep their mappings; the files go when the last one closes.
    fs::remove_all(b->dir(), ec);
    if (ec) spdlog::warn("metrics store: removing block {}: {}", b->dir(), ec.message());
    blocks_deleted_.fetch_add(1);
  }
}

Result<std::shared_ptr<Block>> Db::WriteBlock(const std::vector<std::shared_ptr<Block>>& sources,
                                              int64_t mint, int64_t maxt) {
  int level = 1;
  BlockMeta meta{.min_time = mint, .max_time = maxt};
  for (const auto& s : sources) {
    level = std::max(level, s->meta().level + 1);
    meta.sources.insert(meta.sources.end(), s->meta().sources.begin(), s->meta().sources.end());
  }
  meta.level = level;
  const std::string id = BlockId(mint, maxt, level);
  const std::string tmp = dir_ + "/blocks/.tmp-" + id;
  std::error_code ec;
  fs::remove_all(tmp, ec);
  PLATOPS_ASSIGN_OR_RETURN(auto writer, BlockWriter::Create(tmp));
  if (sources.empty()) {
    // From the head: whole chunks of the range, decoded and re-encoded densely.
    std::vector<Sample> samples;
    for (const auto& sc : head_->CollectRange(mint, maxt)) {
      samples.clear();
      for (const auto& c : sc.chunks) {
        XorIterator it(c.bytes);
        while (it.Next()) samples.push_back(it.At());
        if (!it.status().ok()) return Internal("head chunk of " + ToString(sc.labels) + ": " + it.status().message());
      }
      PLATOPS_RETURN_IF_ERROR(writer->AddSeries(sc.labels, samples));
    }
  } else {
    // K-way merge of the sources' series by labels; sources are in time order.
    std::vector<uint64_t> pos(sources.size(), 0);
    std::vector<Labels> current(sources.size());
    std::vector<std::vector<Sample>> current_samples(sources.size());
    std::vector<bool> valid(sources.size(), false);
    auto advance = [&](size_t i) -> Status {
      valid[i] = pos[i] < sources[i]->num_series();
      if (!valid[i]) return Status::Ok();
      PLATOPS_RETURN_IF_ERROR(sources[i]->ReadSeries(pos[i]++, current[i], current_samples[i]));
      return Status::Ok();
    };
    for (size_t i = 0; i < sources.size(); ++i) PLATOPS_RETURN_IF_ERROR(advance(i));
    std::vector<Sample> merged;
    while (true) {
      const Labels* smallest = nullptr;
      for (size_t i = 0; i < sources.size(); ++i) {
        if (valid[i] && (smallest == nullptr || current[i] < *smallest)) smallest = &current[i];
      }
      if (smallest == nullptr) break;
      Labels key = *smallest;
      merged.clear();
      for (size_t i = 0; i < sources.size(); ++i) {
        if (!valid[i] || current[i] != key) continue;
        for (const auto& s : current_samples[i]) {
          if (merged.empty() || s.t > merged.back().t) merged.push_back(s);
        }
        PLATOPS_RETURN_IF_ERROR(advance(i));
      }
      PLATOPS_RETURN_IF_ERROR(writer->AddSeries(key, merged));
    }
  }
  PLATOPS_RETURN_IF_ERROR(writer->Finish(dir_ + "/blocks/" + id, meta).status());
  return Block::Open(dir_ + "/blocks/" + id);
}

Status Db::CutHeadBlocks() {
  const int64_t range = options_.block_range_ms;
  while (true) {
    HeadStats st = head_->Stats();
    if (st.min_time > st.max_time || st.max_time - st.min_time <= range * 3 / 2) return Status::Ok();
    const int64_t mint = FloorDiv(st.min_time, range) * range;
    const int64_t maxt = mint + range;
    // From here on the head refuses samples for the range being written.
    head_->set_min_valid_time(std::max(head_->min_valid_time(), maxt));
    auto block = WriteBlock({}, mint, maxt);
    if (!block.ok()) {
      compaction_failures_.fetch_add(1);
      return block.status();
    }
    AddBlock(std::move(block).value());
    head_->Truncate(maxt);
    compactions_.fetch_add(1);
  }
}

Status Db::CompactBlocks() {
  const int64_t base = options_.block_range_ms;
  const int64_t limit = std::min<int64_t>(options_.retention.count() / 10,
                                          int64_t{31} * 24 * 3600 * 1000);
  for (int64_t range = base * 3; range <= limit; range *= 3) {
    auto blocks = Blocks();
    if (blocks.size() < 2) return Status::Ok();
    const int64_t newest = blocks.back()->meta().max_time;
    std::map<int64_t, std::vector<std::shared_ptr<Block>>> groups;
    for (const auto& b : blocks) {
      int64_t g = FloorDiv(b->meta().min_time, range);
      // Only blocks lying wholly inside the aligned range, smaller than it.
      if (b->meta().max_time > (g + 1) * range) continue;
      if (b->meta().max_time - b->meta().min_time >= range) continue;
      groups[g].push_back(b);
    }
    for (auto& [g, group] : groups) {
      // Compact only complete ranges: newer data exists beyond the range's end.
      if (group.size() < 2 || newest < (g + 1) * range) continue;
      auto merged = WriteBlock(group, group.front()->meta().min_time,
                               group.back()->meta().max_time);
      if (!merged.ok()) {
        compaction_failures_.fetch_add(1);
        return merged.status();
      }
      AddBlock(std::move(merged).value());
      RemoveBlocks(group);
      compactions_.fetch_add(1);
    }
  }
  return Status::Ok();
}

Status Db::ApplyRetention() {
  auto blocks = Blocks();
  if (blocks.empty()) return Status::Ok();
  HeadStats hs = head_->Stats();
  int64_t newest = std::max(blocks.back()->meta().max_time, hs.max_time);
  std::vector<std::shared_ptr<Block>> remove;
  for (const auto& b : blocks) {
    if (b->meta().max_time <= newest - options_.retention.count()) remove.push_back(b);
  }
  if (options_.retention_bytes > 0) {
    uint64_t total = 0;
    for (const auto& b : blocks) total += b->size_bytes();
    for (const auto& b : blocks) {
      if (total <= options_.retention_bytes) break;
      if (std::find(remove.begin(), remove.end(), b) == remove.end()) remove.push_back(b);
      total -= b->size_bytes();
    }
  }
  if (!remove.empty()) RemoveBlocks(remove);
  return Status::Ok();
}

Status Db::TruncateWal() {
  PLATOPS_ASSIGN_OR_RETURN(int cut, wal_->Cut());
  if (boundaries_.empty() || boundaries_.back().segment != cut) {
    boundaries_.push_back({cut, max_logged_t_.load()});
  }
  const int64_t in_blocks_before = head_->min_valid_time();
  // The newest cut whose older segments hold only samples already written to blocks.
  int upto = 0;
  size_t used = 0;
  for (size_t i = 0; i < boundaries_.size(); ++i) {
    if (boundaries_[i].max_t < in_blocks_before) {
      upto = boundaries_[i].segment;
      used = i + 1;
    }
  }
  if (upto <= wal_->Segments().first) return Status::Ok();
  // The checkpoint keeps the live series' records, which those segments held.
  std::vector<std::string> records;
  std::vector<WalSeries> batch;
  head_->ForEachSeries([&](SeriesRef ref, const Labels& labels) {
    batch.push_back({ref, labels});
    if (batch.size() == 10'000) {
      records.push_back(EncodeSeriesRecord(batch));
      batch.clear();
    }
  });
  if (!batch.empty()) records.push_back(EncodeSeriesRecord(batch));
  PLATOPS_RETURN_IF_ERROR(wal_->WriteCheckpoint(upto - 1, records));
  PLATOPS_RETURN_IF_ERROR(wal_->TruncateBefore(upto));
  boundaries_.erase(boundaries_.begin(), boundaries_.begin() + static_cast<ptrdiff_t>(used));
  wal_truncations_.fetch_add(1);
  return Status::Ok();
}

Status Db::Snapshot() {
  std::lock_guard lock(maintain_mu_);
  if (closed_.load()) return Unavailable("the metrics store is closed");
  return WriteSnapshot(/*live=*/true);
}

Status Db::Maintain() {
  std::lock_guard lock(maintain_mu_);
  if (closed_.load()) return Unavailable("the metrics store is closed");
  Status first;
  auto keep = [&](Status st) {
    if (!st.ok() && first.ok()) first = std::move(st);
  };
  keep(CutHeadBlocks());
  keep(CompactBlocks());
  keep(ApplyRetention());
  if (options_.snapshot_interval.count() > 0 &&
      std::chrono::steady_clock::now() - last_snapshot_ >= options_.snapshot_interval) {
    keep(WriteSnapshot(/*live=*/true));
  }
  keep(TruncateWal());
  if (!first.ok()) spdlog::warn("metrics store maintenance: {}", first.message());
  return first;
}

void Db::StartBackground() {
  std::lock_guard lock(bg_mu_);
  if (bg_thread_.joinable()) return;
  bg_thread_ = std::thread([this] {
    std::unique_lock lock(bg_mu_);
    while (!bg_stop_) {
      bg_cv_.wait_for(lock, options_.maintain_interval, [this] { return bg_stop_; });
      if (bg_stop_) break;
      lock.unlock();
      (void)Maintain();
      lock.lock();
    }
  });
}

Status Db::Close() {
  {
    std::lock_guard lock(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_thread_.joinable()) bg_thread_.join();
  std::lock_guard lock(maintain_mu_);
  if (closed_.exchange(true)) return Status::Ok();
  if (!wal_) return Status::Ok();
  {
    // Commits that passed their closed_ check finish first.
    std::unique_lock gate(commit_mu_);
  }
  Status snapshot;
  if (options_.snapshot_on_close) snapshot = WriteSnapshot(/*live=*/false);
  Status wal = wal_->Close();
  return wal.ok() ? snapshot : wal;
}

DbStats Db::Stats() const {
  DbStats st;
  st.head = head_->Stats();
  auto blocks = Blocks();
  st.num_blocks = blocks.size();
  int64_t mint = st.head.min_time;
  int64_t maxt = st.head.max_time;
  for (const auto& b : blocks) {
    st.blocks_bytes += b->size_bytes();
    st.blocks_samples += b->meta().num_samples;
    mint = std::min(mint, b->meta().min_time);
    maxt = std::max(maxt, b->meta().max_time - 1);
  }
  if (mint <= maxt) {
    st.min_time = mint;
    st.max_time = maxt;
  }
  st.samples_appended = samples_appended_.load();
  for (int i = 0; i < 6; ++i) st.rejected[i] = rejected_[i].load();
  st.compactions = compactions_.load();
  st.compaction_failures = compaction_failures_.load();
  st.blocks_deleted = blocks_deleted_.load();
  st.wal_truncations = wal_truncations_.load();
  return st;
}

void Db::RegisterMetrics(MetricsRegistry& registry) {
  using Pairs = std::vector<std::pair<LabelValues, double>>;
  auto one = [](double v) { return Pairs{{{}, v}}; };
  // The gauges below scan the head once per scrape between them; Stats() is O(series).
  registry.Gauge("platops_tsdb_head_series", "Series held in the head.", {},
                 [this, one] { return one(static_cast<double>(head_->Stats().num_series)); });
  registry.Gauge("platops_tsdb_head_series_created_total", "Series created in the head.", {},
                 [this, one] { return one(static_cast<double>(head_->Stats().series_created)); },
                 true);
  registry.Gauge("platops_tsdb_head_series_removed_total",
                 "Series dropped from the head by garbage collection.", {},
                 [this, one] { return one(static_cast<double>(head_->Stats().series_removed)); },
                 true);
  registry.Gauge("platops_tsdb_head_samples_appended_total", "Samples appended.", {},
                 [this, one] { return one(static_cast<double>(samples_appended_.load())); }, true);
  registry.Gauge("platops_tsdb_samples_rejected_total", "Samples rejected, by reason.",
                 {"reason"}, [this] {
                   Pairs out;
                   for (int i = 1; i < 6; ++i) {
                     out.push_back({{std::string(AppendErrorName(static_cast<AppendError>(i)))},
                                    static_cast<double>(rejected_[i].load())});
                   }
                   return out;
                 }, true);
  registry.Gauge("platops_tsdb_blocks_loaded", "Blocks on disk.", {},
                 [this, one] { return one(static_cast<double>(Blocks().size())); });
  registry.Gauge("platops_tsdb_storage_blocks_bytes", "Bytes of the blocks on disk.", {},
                 [this, one] {
                   uint64_t total = 0;
                   for (const auto& b : Blocks()) total += b->size_bytes();
                   return one(static_cast<double>(total));
                 });
  registry.Gauge("platops_tsdb_compactions_total", "Head blocks written and blocks compacted.",
                 {}, [this, one] { return one(static_cast<double>(compactions_.load())); }, true);
  registry.Gauge("platops_tsdb_compactions_failed_total", "Failed block writes.", {},
                 [this, one] { return one(static_cast<double>(compaction_failures_.load())); },
                 true);
  registry.Gauge("platops_tsdb_wal_fsyncs_total", "WAL fdatasync calls.", {},
                 [this, one] { return one(static_cast<double>(wal_->stats().fsyncs.load())); },
                 true);
  registry.Gauge("platops_tsdb_wal_fsync_seconds_total", "Time spent in WAL fdatasync.", {},
                 [this, one] { return one(wal_->stats().fsync_nanos.load() / 1e9); }, true);
  registry.Gauge("platops_tsdb_wal_truncations_total", "WAL truncations.", {},
                 [this, one] { return one(static_cast<double>(wal_truncations_.load())); }, true);
  registry.Gauge("platops_tsdb_wal_corruptions_total",
                 "Damaged WAL segments and checkpoints found at startup.", {},
                 [this, one] { return one(static_cast<double>(open_report_.wal.dropped.size())); },
                 true);
}

}  // namespace platops::metrics
