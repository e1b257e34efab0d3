#include "store/sqlite_connection.h"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <utility>

namespace platops::store {
namespace {

// Bound on distinct statements cached per connection; domain SQL is static text, so this is only
// reached by a bug that builds SQL dynamically. On overflow the cache starts over.
constexpr size_t kMaxCachedStatements = 512;

constexpr std::string_view kControlStatement =
    "statement not allowed inside a store transaction (BEGIN, COMMIT, ROLLBACK, SAVEPOINT and "
    "ATTACH are managed by the store): ";

std::string Abbreviate(std::string_view sql) {
  constexpr size_t kMax = 120;
  std::string out(sql.substr(0, kMax));
  std::replace(out.begin(), out.end(), '\n', ' ');
  if (sql.size() > kMax) out += "...";
  return out;
}

// Parses the parameter name "$N" or "?N" into N (>= 1); 0 when it is not of that form.
size_t ParameterNumber(std::string_view name) {
  if (name.size() < 2 || (name[0] != '$' && name[0] != '?')) return 0;
  size_t n = 0;
  auto [end, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), n);
  if (ec != std::errc() || end != name.data() + name.size()) return 0;
  return n;
}

Status Bind(sqlite3_stmt* stmt, const Params& params, std::string_view sql) {
  const int count = sqlite3_bind_parameter_count(stmt);
  size_t highest = 0;
  for (int i = 1; i <= count; ++i) {
    const char* name = sqlite3_bind_parameter_name(stmt, i);
    // An anonymous '?' takes the next position.
    size_t number = name == nullptr ? static_cast<size_t>(i) : ParameterNumber(name);
    if (number == 0) {
      return Internal("unsupported SQL parameter " + std::string(name) +
                      " (use $1, $2, ... or ?) in: " + Abbreviate(sql));
    }
    highest = std::max(highest, number);
    if (number > params.size()) {
      return Internal("missing SQL parameter $" + std::to_string(number) + " (" +
                      std::to_string(params.size()) + " given) in: " + Abbreviate(sql));
    }
    const Value& v = params[number - 1];
    int rc = SQLITE_OK;
    if (const auto* n = std::get_if<int64_t>(&v)) {
      rc = sqlite3_bind_int64(stmt, i, static_cast<sqlite3_int64>(*n));
    } else if (const auto* d = std::get_if<double>(&v)) {
      rc = sqlite3_bind_double(stmt, i, *d);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      // SQLITE_STATIC: `params` outlives the step and bindings are cleared right after it.
      rc = sqlite3_bind_text64(stmt, i, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
    } else {
      rc = sqlite3_bind_null(stmt, i);
    }
    if (rc != SQLITE_OK) {
      return SqliteStatus(rc, sqlite3_errstr(rc), sql);
    }
  }
  // PostgreSQL refuses extra parameters; refuse them here too so both backends agree.
  if (params.size() > highest) {
    return Internal("statement uses " + std::to_string(highest) + " SQL parameters but " +
                    std::to_string(params.size()) + " were given: " + Abbreviate(sql));
  }
  return Status::Ok();
}

Row ReadRow(sqlite3_stmt* stmt) {
  const int columns = sqlite3_column_count(stmt);
  std::vector<Value> values;
  values.reserve(static_cast<size_t>(columns));
  for (int c = 0; c < columns; ++c) {
    switch (sqlite3_column_type(stmt, c)) {
      case SQLITE_INTEGER:
        values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
        break;
      case SQLITE_FLOAT:
        values.emplace_back(sqlite3_column_double(stmt, c));
        break;
      case SQLITE_TEXT:
      case SQLITE_BLOB: {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, c));
        const int n = sqlite3_column_bytes(stmt, c);
        values.emplace_back(p == nullptr ? std::string() : std::string(p, static_cast<size_t>(n)));
        break;
      }
      default:
        values.emplace_back(std::monostate{});
        break;
    }
  }
  return Row(std::move(values));
}

// Resets a statement and clears its bindings when the call that used it returns.
class StatementUse {
 public:
  explicit StatementUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  ~StatementUse() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_;
};

}  // namespace

const std::string_view kForeignKeyViolation =
    "foreign key violation: a referenced row does not exist or a row is still referenced";

Status SqliteStatus(int rc, std::string_view message, std::string_view sql) {
  std::string msg(message);
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::Ok();
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return Conflict("already exists (" + msg + ")");
      }
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        return Unprocessable(std::string(kForeignKeyViolation) + " (" + msg + ")");
      }
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
      return Unavailable("store busy: " + msg);
    case SQLITE_FULL:
    case SQLITE_IOERR:
      return Unavailable("store I/O failure: " + msg);
    case SQLITE_AUTH:
      return InvalidArgument(std::string(kControlStatement) + Abbreviate(sql));
    default:
      break;
  }
  if (!sql.empty()) msg += " in: " + Abbreviate(sql);
  return Internal("sqlite: " + msg);
}

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const SqliteOptions& options,
                                                                 Mode mode) {
  sqlite3* db = nullptr;
  const int flags =
      (mode == Mode::kWriter ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
      SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    Status s = SqliteStatus(rc, msg);
    return Status(s.code(), "cannot open " + options.path + ": " + s.message());
  }
  std::unique_ptr<SqliteConnection> conn(new SqliteConnection(db, mode));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  sqlite3_set_authorizer(db, &SqliteConnection::Authorize, conn.get());
  if (mode == Mode::kWriter) {
    PLATOPS_ASSIGN_OR_RETURN(auto rows, conn->Query("PRAGMA journal_mode=WAL", {}, true));
    if (rows.empty() || rows[0].Text(0) != "wal") {
      return Internal("cannot switch " + options.path + " to WAL mode (journal_mode is " +
                      (rows.empty() ? std::string("unknown") : rows[0].Text(0)) + ")");
    }
    PLATOPS_RETURN_IF_ERROR(
        conn->Control(options.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  } else {
    PLATOPS_RETURN_IF_ERROR(conn->Control("PRAGMA query_only=ON"));
  }
  PLATOPS_RETURN_IF_ERROR(conn->Control("PRAGMA foreign_keys=ON"));
  return conn;
}

SqliteConnection::SqliteConnection(sqlite3* db, Mode mode) : db_(db), mode_(mode) {}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  for (auto& [sql, stmt] : control_cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

int SqliteConnection::Authorize(void* self, int action, const char*, const char*, const char*,
                                const char*) {
  if (!static_cast<SqliteConnection*>(self)->in_user_code_) return SQLITE_OK;
  switch (action) {
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      return SQLITE_DENY;
    default:
      return SQLITE_OK;
  }
}

bool SqliteConnection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

bool SqliteConnection::HasUnresolvedForeignKeys() const {
  int current = 0;
  int highwater = 0;
  sqlite3_db_status(db_, SQLITE_DBSTATUS_DEFERRED_FKS, &current, &highwater, 0);
  return current != 0;
}

Status SqliteConnection::Error(int rc, std::string_view sql) const {
  return SqliteStatus(rc, sqlite3_errmsg(db_), sql);
}

Result<sqlite3_stmt*> SqliteConnection::Prepare(std::string_view sql, StatementCache& cache) {
  std::string key(sql);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  if (cache.size() >= kMaxCachedStatements) {
    for (auto& [text, stmt] : cache) sqlite3_finalize(stmt);
    cache.clear();
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) return Error(rc, sql);
  if (stmt == nullptr) return InvalidArgument("empty SQL statement");
  // Only whitespace, ';' and comments may follow the statement.
  const char* end = sql.data() + sql.size();
  while (tail != nullptr && tail < end) {
    sqlite3_stmt* extra = nullptr;
    const char* next = nullptr;
    rc = sqlite3_prepare_v2(db_, tail, static_cast<int>(end - tail), &extra, &next);
    if (rc != SQLITE_OK || extra != nullptr || next == tail) {
      sqlite3_finalize(extra);
      sqlite3_finalize(stmt);
      return InvalidArgument(
          "one SQL statement per call expected (scripts belong in migrations): " + Abbreviate(sql));
    }
    tail = next;
  }
  cache.emplace(std::move(key), stmt);
  return stmt;
}

Status SqliteConnection::Step(sqlite3_stmt* stmt, std::string_view sql, std::vector<Row>* rows,
                              bool first_only) {
  const bool read_only = sqlite3_stmt_readonly(stmt) != 0;
  for (;;) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return Error(rc, sql);
    if (rows != nullptr && !(first_only && !rows->empty())) rows->push_back(ReadRow(stmt));
    // A query may stop at its first row; a statement that writes (RETURNING) runs to the end.
    if (first_only && read_only) return Status::Ok();
  }
}

Result<int64_t> SqliteConnection::Exec(std::string_view sql, const Params& params) {
  PLATOPS_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, cache_));
  StatementUse use(stmt);
  if (mode_ == Mode::kReader && sqlite3_stmt_readonly(stmt) == 0) {
    return InvalidArgument("write statement in a read transaction: " + Abbreviate(sql));
  }
  PLATOPS_RETURN_IF_ERROR(Bind(stmt, params, sql));
  const int64_t total_before = sqlite3_total_changes64(db_);
  PLATOPS_RETURN_IF_ERROR(Step(stmt, sql, nullptr, false));
  // DDL and queries change no rows, although sqlite3_changes64 still reports the last DML count.
  if (sqlite3_total_changes64(db_) == total_before) return int64_t{0};
  return static_cast<int64_t>(sqlite3_changes64(db_));
}

Result<std::vector<Row>> SqliteConnection::Query(std::string_view sql, const Params& params,
                                                 bool first_only) {
  PLATOPS_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, cache_));
  StatementUse use(stmt);
  if (mode_ == Mode::kReader && sqlite3_stmt_readonly(stmt) == 0) {
    return InvalidArgument("write statement in a read transaction: " + Abbreviate(sql));
  }
  PLATOPS_RETURN_IF_ERROR(Bind(stmt, params, sql));
  std::vector<Row> rows;
  PLATOPS_RETURN_IF_ERROR(Step(stmt, sql, &rows, first_only));
  return rows;
}

Status SqliteConnection::Control(const char* sql) {
  PLATOPS_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, control_cache_));
  StatementUse use(stmt);
  return Step(stmt, sql, nullptr, false);
}

Status SqliteConnection::ExecScript(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err != nullptr ? err : sqlite3_errmsg(db_);
  sqlite3_free(err);
  return SqliteStatus(rc, msg);
}

Result<int64_t> SqliteTx::Exec(std::string_view sql, const Params& params) {
  return conn_.Exec(sql, params);
}

Result<std::vector<Row>> SqliteTx::Query(std::string_view sql, const Params& params) {
  return conn_.Query(sql, params, false);
}

Result<std::optional<Row>> SqliteTx::QueryOne(std::string_view sql, const Params& params) {
  PLATOPS_ASSIGN_OR_RETURN(auto rows, conn_.Query(sql, params, true));
  if (rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(rows.front()));
}

}  // namespace platops::store
