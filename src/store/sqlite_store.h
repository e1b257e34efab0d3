#pragma once
// SqliteStore: the embedded Store on one SQLite file in WAL mode.
// Thread-safety: thread-safe (see store.h).

#include <chrono>
#include <memory>
#include <string>

#include "store/store.h"

namespace platops::store {

struct SqliteOptions {
  // Path of the database file; created when missing. ":memory:" is not supported (readers need a
  // shared file).
  std::string path;
  // Reader connections in the pool. Default 4, 1..64.
  int readers = 4;
  // How long a statement waits for a lock held by another process before failing. Default 5 s.
  std::chrono::milliseconds busy_timeout{5000};
  // true: fsync the WAL on every commit (PRAGMA synchronous=FULL), surviving power loss.
  // false: synchronous=NORMAL, surviving a process crash (kill -9) but not a power cut.
  // Default true. Group commit makes concurrent writers share one fsync.
  bool sync_full = true;
  // Most write transactions committed together in one group. Default 64.
  int max_group = 64;
  // Optional: records platops_store_transaction_seconds{kind="read|write"}.
  MetricsRegistry* metrics = nullptr;
};

// Opens (creating when needed) the database and starts the writer thread.
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

}  // namespace platops::store
