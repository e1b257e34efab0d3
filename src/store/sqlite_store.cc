#include "store/sqlite_store.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/metrics_registry.h"
#include "base/time_util.h"
#include "store/sqlite_connection.h"

namespace platops::store {
namespace {

using TxFn = std::function<Status(Tx&)>;
using Callbacks = std::vector<std::function<void()>>;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " module TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " applied_at TEXT NOT NULL,"
    " PRIMARY KEY (module, version))";

// Runs a Store callback; an exception escaping it becomes kInternal for this transaction only.
Status CallUserFn(const TxFn& fn, Tx& tx, std::string_view kind) {
  try {
    return fn(tx);
  } catch (const std::exception& e) {
    return Internal(std::string(kind) + " transaction callback threw: " + e.what());
  } catch (...) {
    return Internal(std::string(kind) + " transaction callback threw a non-standard exception");
  }
}

void RunCallbacks(Callbacks& callbacks) {
  for (auto& callback : callbacks) {
    try {
      callback();
    } catch (const std::exception& e) {
      spdlog::error("store: AfterCommit callback threw: {}", e.what());
    } catch (...) {
      spdlog::error("store: AfterCommit callback threw a non-standard exception");
    }
  }
}

Status ValidateOptions(const SqliteOptions& o) {
  if (o.path.empty()) return InvalidArgument("must not be empty", "path");
  if (o.path == ":memory:" ||
      (o.path.rfind("file:", 0) == 0 && o.path.find("memory") != std::string::npos)) {
    return InvalidArgument("in-memory databases are not supported (readers need a shared file)",
                           "path");
  }
  if (o.readers < 1 || o.readers > 64) {
    return InvalidArgument("must be 1..64, got " + std::to_string(o.readers), "readers");
  }
  if (o.max_group < 1) {
    return InvalidArgument("must be at least 1, got " + std::to_string(o.max_group), "max_group");
  }
  if (o.busy_timeout.count() < 0 || o.busy_timeout > std::chrono::hours(1)) {
    return InvalidArgument("must be 0..1h", "busy_timeout");
  }
  return Status::Ok();
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const SqliteOptions& options) : options_(options) {}
  ~SqliteStore() override { Close(); }

  // Opens the connections and starts the writer thread. Called once, before publication.
  Status Open();

  Status Write(const TxFn& fn) override;
  Status Read(const TxFn& fn) const override;
  Status Migrate(const std::vector<Migration>& migrations) override;
  bool ready() const override { return ready_.load() && !closed_.load(); }
  // REQUIRES: not called from inside a Read callback (it waits for every reader to come back).
  void Close() override;

 private:
  // One Write (or migration step) waiting for the writer thread.
  struct WriteJob {
    WriteJob(const TxFn& f, bool s) : fn(f), solo(s) {}
    const TxFn& fn;
    const bool solo;  // runs alone in its transaction (migrations)
    Status status;    // set by the writer thread before `done`
    Callbacks after_commit;
    bool done = false;  // GUARDED_BY(mu_)
    std::condition_variable cv;
  };

  struct Metrics {
    HistogramFamily* seconds = nullptr;
    CounterFamily* groups = nullptr;
    CounterFamily* transactions = nullptr;
  };

  // Enqueues a job and blocks until its group has committed or failed.
  Status Submit(const TxFn& fn, bool solo);
  // Runs `fn` on the writer connection, alone in its own transaction.
  Status RunSolo(const std::function<Status(SqliteConnection&)>& fn);
  Status ReadOnce(const TxFn& fn) const;
  void Record(const char* kind, const Status& status, SteadyClock::time_point start) const;

  // Writer thread only.
  void WriterLoop();
  void RunGroup(const std::vector<WriteJob*>& group);
  // Runs jobs from `first` on in one transaction; returns the index after the last job it
  // handled (less than group.size() when SQLite rolled the transaction back on its own).
  size_t RunTransaction(const std::vector<WriteJob*>& group, size_t first);
  // Runs one job inside `SAVEPOINT s`; keeps its changes only when it returns OK.
  Status RunInSavepoint(WriteJob& job);

  const SqliteOptions options_;
  Metrics metrics_;  // set in Open, then read-only
  // Shared with the queue-depth gauge, which may outlive the store inside the registry.
  std::shared_ptr<std::atomic<int64_t>> queue_depth_ = std::make_shared<std::atomic<int64_t>>(0);
  std::atomic<bool> ready_{false};
  std::atomic<bool> closed_{false};

  // Owned by the writer thread between Open and the join in Close.
  std::unique_ptr<SqliteConnection> writer_;
  std::thread writer_thread_;
  std::thread::id writer_thread_id_;  // set in Open, then read-only

  std::mutex mu_;
  std::condition_variable writer_cv_;  // signalled on enqueue and on stop
  std::deque<WriteJob*> queue_;        // GUARDED_BY(mu_)
  bool stopping_ = false;              // GUARDED_BY(mu_)

  std::vector<std::unique_ptr<SqliteConnection>> readers_;  // set in Open, cleared in Close
  mutable std::mutex pool_mu_;
  mutable std::condition_variable pool_cv_;      // signalled when a reader comes back or on close
  mutable std::vector<SqliteConnection*> idle_;  // GUARDED_BY(pool_mu_)
  bool pool_closed_ = false;                     // GUARDED_BY(pool_mu_)

  std::mutex close_mu_;  // serialises Close
};

Status SqliteStore::Open() {
  PLATOPS_ASSIGN_OR_RETURN(writer_,
                           SqliteConnection::Open(options_, SqliteConnection::Mode::kWriter));
  for (int i = 0; i < options_.readers; ++i) {
    PLATOPS_ASSIGN_OR_RETURN(auto reader,
                             SqliteConnection::Open(options_, SqliteConnection::Mode::kReader));
    std::lock_guard lock(pool_mu_);
    idle_.push_back(reader.get());
    readers_.push_back(std::move(reader));
  }
  if (MetricsRegistry* m = options_.metrics) {
    metrics_.seconds = &m->Histogram("platops_store_transaction_seconds",
                                     "Store transaction latency, including queueing.", {"kind"},
                                     MetricsRegistry::DefaultLatencyBuckets());
    metrics_.groups = &m->Counter("platops_store_commit_groups_total",
                                  "Write transactions committed (each holds a group of Writes).");
    metrics_.transactions =
        &m->Counter("platops_store_transactions_total", "Store transactions by kind and result.",
                    {"kind", "result"});
    m->Gauge("platops_store_write_queue_depth", "Writes waiting for the writer thread.", {},
             [depth = queue_depth_] {
               return std::vector<std::pair<LabelValues, double>>{
                   {LabelValues{}, static_cast<double>(depth->load())}};
             });
  }
  writer_thread_ = std::thread([this] { WriterLoop(); });
  writer_thread_id_ = writer_thread_.get_id();
  pthread_setname_np(writer_thread_.native_handle(), "platops-store-w");
  return Status::Ok();
}

void SqliteStore::Close() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  writer_cv_.notify_all();
  closed_ = true;
  // From an AfterCommit callback the writer cannot join itself; a later Close (or the destructor)
  // finishes the job.
  if (std::this_thread::get_id() == writer_thread_id_) return;
  std::lock_guard close_lock(close_mu_);
  if (writer_thread_.joinable()) writer_thread_.join();
  {
    std::unique_lock lock(pool_mu_);
    pool_closed_ = true;
    pool_cv_.notify_all();
    pool_cv_.wait(lock, [this] { return idle_.size() == readers_.size(); });
    idle_.clear();
  }
  readers_.clear();
  if (writer_ != nullptr) {
    // Folds the WAL back into the database file so a closed store is one file.
    Status s = writer_->Control("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!s.ok()) spdlog::warn("store: checkpoint on close failed: {}", s.ToString());
    writer_.reset();
  }
}

void SqliteStore::Record(const char* kind, const Status& status,
                         SteadyClock::time_point start) const {
  if (metrics_.seconds == nullptr) return;
  const std::chrono::duration<double> elapsed = SteadyClock::now() - start;
  metrics_.seconds->Observe({kind}, elapsed.count());
  metrics_.transactions->Add({kind, std::string(StatusCodeName(status.code()))});
}

Status SqliteStore::Write(const TxFn& fn) {
  const auto start = SteadyClock::now();
  Status status = Submit(fn, false);
  Record("write", status, start);
  return status;
}

Status SqliteStore::Submit(const TxFn& fn, bool solo) {
  if (std::this_thread::get_id() == writer_thread_id_) {
    return Internal(
        "Store::Write called from inside a write transaction or an AfterCommit callback; it would "
        "wait for itself");
  }
  WriteJob job(fn, solo);
  std::unique_lock lock(mu_);
  if (stopping_) return Unavailable("store is closed");
  queue_.push_back(&job);
  queue_depth_->store(static_cast<int64_t>(queue_.size()));
  writer_cv_.notify_one();
  job.cv.wait(lock, [&job] { return job.done; });
  return job.status;
}

Status SqliteStore::RunSolo(const std::function<Status(SqliteConnection&)>& fn) {
  return Submit([&fn](Tx& tx) { return fn(static_cast<SqliteTx&>(tx).connection()); }, true);
}

void SqliteStore::WriterLoop() {
  for (;;) {
    std::vector<WriteJob*> group;
    {
      std::unique_lock lock(mu_);
      writer_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has been drained
      if (queue_.front()->solo) {
        group.push_back(queue_.front());
        queue_.pop_front();
      } else {
        while (!queue_.empty() && !queue_.front()->solo &&
               group.size() < static_cast<size_t>(options_.max_group)) {
          group.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      queue_depth_->store(static_cast<int64_t>(queue_.size()));
    }
    RunGroup(group);
    // Callbacks run before the waiters wake, so a Write that returns has seen its callbacks run.
    for (WriteJob* job : group) {
      if (job->status.ok()) RunCallbacks(job->after_commit);
    }
    std::lock_guard lock(mu_);
    for (WriteJob* job : group) {
      job->done = true;
      job->cv.notify_one();  // under mu_: the job lives on the waiter's stack
    }
  }
}

void SqliteStore::RunGroup(const std::vector<WriteJob*>& group) {
  size_t next = 0;
  while (next < group.size()) next = RunTransaction(group, next);
}

size_t SqliteStore::RunTransaction(const std::vector<WriteJob*>& group, size_t first) {
  Status begin = writer_->Control("BEGIN IMMEDIATE");
  if (!begin.ok()) {
    for (size_t i = first; i < group.size(); ++i) group[i]->status = begin;
    return group.size();
  }
  for (size_t i = first; i < group.size(); ++i) {
    WriteJob& job = *group[i];
    job.status = RunInSavepoint(job);
    if (!writer_->InTransaction()) {
      // SQLite rolled back the whole transaction (disk full, I/O error): the jobs kept so far are
      // lost too. Jobs not yet run get a fresh transaction.
      Status lost = Unavailable("write transaction rolled back by SQLite" +
                                (job.status.ok() ? std::string() : ": " + job.status.message()));
      for (size_t j = first; j <= i; ++j) {
        if (group[j]->status.ok()) group[j]->status = lost;
        group[j]->after_commit.clear();
      }
      return i + 1;
    }
  }
  bool any_kept = false;
  for (size_t i = first; i < group.size(); ++i) any_kept = any_kept || group[i]->status.ok();
  if (!any_kept) {
    Status s = writer_->Control("ROLLBACK");
    if (!s.ok()) spdlog::warn("store: rollback failed: {}", s.ToString());
    return group.size();
  }
  if (metrics_.groups != nullptr) metrics_.groups->Add({});
  Status commit = writer_->Control("COMMIT");
  if (!commit.ok()) {
    if (writer_->InTransaction()) {
      Status s = writer_->Control("ROLLBACK");
      if (!s.ok()) spdlog::warn("store: rollback after failed commit failed: {}", s.ToString());
    }
    for (size_t i = first; i < group.size(); ++i) {
      if (group[i]->status.ok()) group[i]->status = commit;
    }
  }
  return group.size();
}

Status SqliteStore::RunInSavepoint(WriteJob& job) {
  PLATOPS_RETURN_IF_ERROR(writer_->Control("SAVEPOINT s"));
  SqliteTx tx(*writer_, job.after_commit);
  writer_->set_in_user_code(true);
  Status status = CallUserFn(job.fn, tx, "write");
  writer_->set_in_user_code(false);
  if (!writer_->InTransaction()) return status.ok() ? Internal("transaction ended early") : status;
  if (status.ok() && writer_->HasUnresolvedForeignKeys()) {
    status = Unprocessable(std::string(kForeignKeyViolation) + " (deferred constraint)");
  }
  if (status.ok()) {
    status = writer_->Control("RELEASE s");
    if (status.ok()) return status;
  }
  job.after_commit.clear();
  Status undo = writer_->Control("ROLLBACK TO s");
  if (undo.ok()) undo = writer_->Control("RELEASE s");
  if (!undo.ok()) {
    // The failed job's changes cannot be taken out; give up the whole transaction rather than
    // commit them. RunTransaction sees the ended transaction and fails the group.
    spdlog::error("store: rollback to savepoint failed: {}", undo.ToString());
    Status s = writer_->Control("ROLLBACK");
    if (!s.ok()) spdlog::error("store: rollback failed: {}", s.ToString());
  }
  return status;
}

Status SqliteStore::Read(const TxFn& fn) const {
  const auto start = SteadyClock::now();
  Status status = ReadOnce(fn);
  Record("read", status, start);
  return status;
}

Status SqliteStore::ReadOnce(const TxFn& fn) const {
  if (closed_.load()) return Unavailable("store is closed");
  SqliteConnection* conn = nullptr;
  {
    std::unique_lock lock(pool_mu_);
    pool_cv_.wait(lock, [this] { return pool_closed_ || !idle_.empty(); });
    if (pool_closed_) return Unavailable("store is closed");
    conn = idle_.back();
    idle_.pop_back();
  }
  Callbacks after_commit;
  // A deferred read transaction: the snapshot is taken at the first read and held to the end.
  Status status = conn->Control("BEGIN");
  if (status.ok()) {
    SqliteTx tx(*conn, after_commit);
    conn->set_in_user_code(true);
    status = CallUserFn(fn, tx, "read");
    conn->set_in_user_code(false);
    if (conn->InTransaction()) {
      Status end = conn->Control(status.ok() ? "COMMIT" : "ROLLBACK");
      if (status.ok()) status = end;
      if (conn->InTransaction()) (void)conn->Control("ROLLBACK");
    }
  }
  {
    std::lock_guard lock(pool_mu_);
    idle_.push_back(conn);
  }
  pool_cv_.notify_all();
  if (status.ok()) RunCallbacks(after_commit);
  return status;
}

Status SqliteStore::Migrate(const std::vector<Migration>& migrations) {
  // Each module's steps must be 1, 2, 3, ... in the order given.
  std::map<std::string, int> known;
  for (size_t i = 0; i < migrations.size(); ++i) {
    const Migration& m = migrations[i];
    const std::string field = "migrations[" + std::to_string(i) + "]";
    if (m.module.empty()) return InvalidArgument("must not be empty", field + ".module");
    const int expected = known[m.module] + 1;
    if (m.version != expected) {
      return InvalidArgument("migrations of module " + m.module +
                                 " must be numbered 1, 2, 3, ... in order: expected version " +
                                 std::to_string(expected) + ", got " + std::to_string(m.version),
                             field + ".version");
    }
    known[m.module] = m.version;
  }

  PLATOPS_RETURN_IF_ERROR(
      RunSolo([](SqliteConnection& conn) { return conn.ExecScript(kCreateMigrationsTable); }));
  std::map<std::string, std::set<int64_t>> recorded;
  PLATOPS_RETURN_IF_ERROR(Read([&recorded](Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT module, version FROM schema_migrations"));
    for (const Row& row : rows) recorded[row.Text(0)].insert(row.Int(1));
    return Status::Ok();
  }));
  for (const auto& [module, newest_known] : known) {
    auto it = recorded.find(module);
    if (it == recorded.end()) continue;
    const std::set<int64_t>& versions = it->second;
    const int64_t newest = *versions.rbegin();
    if (newest > newest_known) {
      return Internal("the database has migration " + module + "/" + std::to_string(newest) +
                      " but this build knows only up to version " + std::to_string(newest_known) +
                      "; refusing to run on a newer schema");
    }
    if (*versions.begin() != 1 || static_cast<int64_t>(versions.size()) != newest) {
      return Internal("schema_migrations has a gap in the versions of module " + module);
    }
  }

  for (const Migration& m : migrations) {
    if (recorded[m.module].count(m.version) != 0) continue;
    Status status = RunSolo([&m](SqliteConnection& conn) -> Status {
      const Params key = {m.module, int64_t{m.version}};
      PLATOPS_ASSIGN_OR_RETURN(
          auto applied,
          conn.Query("SELECT 1 FROM schema_migrations WHERE module = $1 AND version = $2", key,
                     true));
      if (!applied.empty()) return Status::Ok();  // another process got there first
      PLATOPS_RETURN_IF_ERROR(conn.ExecScript(m.sql));
      PLATOPS_ASSIGN_OR_RETURN(
          int64_t inserted,
          conn.Exec("INSERT INTO schema_migrations (module, version, applied_at) "
                    "VALUES ($1, $2, $3)",
                    {m.module, int64_t{m.version}, FormatRfc3339(SystemClock().Now())}));
      (void)inserted;
      return Status::Ok();
    });
    if (!status.ok()) {
      return Status(status.code(), "migration " + m.module + "/" + std::to_string(m.version) +
                                       ": " + status.message());
    }
  }
  ready_ = true;
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  PLATOPS_RETURN_IF_ERROR(ValidateOptions(options));
  auto store = std::make_unique<SqliteStore>(options);
  PLATOPS_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace platops::store
