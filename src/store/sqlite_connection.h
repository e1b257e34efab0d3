#pragma once
// SqliteConnection: one sqlite3 handle with its prepared-statement cache, `$N` binding and the
// mapping of SQLite result codes to Status. SqliteTx: the Tx handed to Store callbacks.
// Internal to store/; domain code sees only store.h.
// Thread-safety: externally synchronized. A connection is used by one thread at a time (the
// writer thread, or the thread that borrowed it from the reader pool).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/sqlite_store.h"
#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace platops::store {

class SqliteConnection {
 public:
  enum class Mode { kWriter, kReader };

  // Opens `options.path`. kWriter creates the file, switches it to WAL and sets `synchronous`;
  // kReader opens it read-only. Both enable foreign keys and the busy timeout.
  static Result<std::unique_ptr<SqliteConnection>> Open(const SqliteOptions& options, Mode mode);

  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection();

  // One statement with `$N` or `?` parameters. Returns the rows it changed.
  Result<int64_t> Exec(std::string_view sql, const Params& params);
  // One statement; all rows, or at most the first when `first_only` (DML still runs to the end).
  Result<std::vector<Row>> Query(std::string_view sql, const Params& params, bool first_only);
  // Several ';'-separated statements without parameters (migrations), through sqlite3_exec.
  Status ExecScript(const std::string& sql);
  // BEGIN, COMMIT, SAVEPOINT and friends issued by the store itself (allowed while user code is
  // not running).
  Status Control(const char* sql);

  // While true, transaction-control statements (BEGIN, COMMIT, SAVEPOINT, ATTACH...) are refused,
  // so a callback cannot end or split the transaction the store manages.
  void set_in_user_code(bool v) { in_user_code_ = v; }
  // True inside BEGIN ... COMMIT. False after SQLite rolled the transaction back on its own
  // (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM).
  bool InTransaction() const;
  // True when a deferred foreign key of the current transaction is still unresolved.
  bool HasUnresolvedForeignKeys() const;
  Mode mode() const { return mode_; }

 private:
  // Keyed by SQL text. Every statement is reset and its bindings cleared after each use.
  using StatementCache = std::unordered_map<std::string, sqlite3_stmt*>;

  SqliteConnection(sqlite3* db, Mode mode);
  static int Authorize(void* self, int action, const char*, const char*, const char*, const char*);
  Result<sqlite3_stmt*> Prepare(std::string_view sql, StatementCache& cache);
  // Runs `stmt` to completion (or to its first row when `first_only`), appending rows to `rows`
  // when non-null.
  Status Step(sqlite3_stmt* stmt, std::string_view sql, std::vector<Row>* rows, bool first_only);
  Status Error(int rc, std::string_view sql) const;

  sqlite3* db_;
  const Mode mode_;
  bool in_user_code_ = false;
  StatementCache cache_;
  // The store's own statements, apart so that user SQL with the same text is still authorized.
  StatementCache control_cache_;
};

// Maps an SQLite (extended) result code to a Status: UNIQUE/PRIMARY KEY -> kConflict, FOREIGN KEY
// -> kUnprocessable, BUSY/LOCKED/FULL/IOERR -> kUnavailable, the rest -> kInternal.
Status SqliteStatus(int rc, std::string_view message, std::string_view sql = {});
// The message of every foreign key Status.
extern const std::string_view kForeignKeyViolation;

class SqliteTx final : public Tx {
 public:
  // `after_commit` collects AfterCommit callbacks; the owner runs them once the transaction
  // commits.
  SqliteTx(SqliteConnection& conn, std::vector<std::function<void()>>& after_commit)
      : conn_(conn), after_commit_(after_commit) {}

  Result<int64_t> Exec(std::string_view sql, const Params& params = {}) override;
  Result<std::vector<Row>> Query(std::string_view sql, const Params& params = {}) override;
  Result<std::optional<Row>> QueryOne(std::string_view sql, const Params& params = {}) override;
  bool writable() const override { return conn_.mode() == SqliteConnection::Mode::kWriter; }
  void AfterCommit(std::function<void()> fn) override { after_commit_.push_back(std::move(fn)); }

  SqliteConnection& connection() { return conn_; }

 private:
  SqliteConnection& conn_;
  std::vector<std::function<void()>>& after_commit_;
};

}  // namespace platops::store
