#pragma once
// Store: the relational store behind every module. SQLite (WAL) is the embedded implementation;
// a PostgreSQL one will implement the same interface. Domain SQL uses `$1, $2, ...` placeholders
// and the SQL subset documented in README.md.
// Thread-safety: thread-safe. Writes are serialised through one writer connection (with group
// commit); reads run concurrently on a pool of reader connections and see committed data only.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"

namespace platops {

class MetricsRegistry;

namespace store {

// NULL, INTEGER, REAL or TEXT. Booleans are stored as 0/1 integers, times as RFC 3339 text or
// integer milliseconds since the epoch, JSON as text.
using Value = std::variant<std::monostate, int64_t, double, std::string>;
using Params = std::vector<Value>;

class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(values_.at(i)); }
  // NULL reads as 0 / 0.0 / "".
  int64_t Int(size_t i) const;
  double Double(size_t i) const;
  std::string Text(size_t i) const;
  const Value& at(size_t i) const { return values_.at(i); }

 private:
  std::vector<Value> values_;
};

// A transaction in progress. Valid only inside the Write/Read callback that received it.
class Tx {
 public:
  virtual ~Tx() = default;
  // Executes a statement; returns the number of rows it changed.
  virtual Result<int64_t> Exec(std::string_view sql, const Params& params = {}) = 0;
  virtual Result<std::vector<Row>> Query(std::string_view sql, const Params& params = {}) = 0;
  // The first row, or nullopt when there is none.
  virtual Result<std::optional<Row>> QueryOne(std::string_view sql, const Params& params = {}) = 0;
  // True inside Store::Write.
  virtual bool writable() const = 0;
  // Runs `fn` after this transaction commits (not on rollback), on the committing thread.
  virtual void AfterCommit(std::function<void()> fn) = 0;
};

// One schema step of one module. Versions are numbered per module from 1; each step runs in its
// own transaction and is recorded in `schema_migrations (module, version, applied_at)`.
struct Migration {
  std::string module;
  int version = 0;
  std::string sql;  // one or more statements separated by ';'
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` in a write transaction. When `fn` returns OK the transaction is committed before
  // Write returns (an OK from Write means durable); otherwise nothing `fn` did is kept and its
  // Status is returned. `fn` may be retried never; it runs exactly once.
  virtual Status Write(const std::function<Status(Tx&)>& fn) = 0;
  // Runs `fn` on a consistent read-only snapshot of committed data.
  virtual Status Read(const std::function<Status(Tx&)>& fn) const = 0;
  // Applies the migrations not yet recorded, in (module, version) order as given.
  virtual Status Migrate(const std::vector<Migration>& migrations) = 0;
  // True once Migrate has succeeded at least once and the store is open.
  virtual bool ready() const = 0;
  // Flushes and closes; later calls fail with kUnavailable.
  virtual void Close() = 0;
};

}  // namespace store
}  // namespace platops
