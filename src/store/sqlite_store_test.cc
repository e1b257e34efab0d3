#include "store/sqlite_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/metrics_registry.h"
#include "base/time_util.h"
#include "store/store_test_util.h"

namespace platops::store {
namespace {

using std::chrono::milliseconds;

// A one-shot flag threads can wait on.
class Latch {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// The value of one series in Prometheus text, or 0 when absent.
double MetricValue(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  size_t pos = 0;
  while ((pos = text.find(prefix, pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + prefix.size()));
    pos += prefix.size();
  }
  return 0;
}

const std::vector<Migration>& TestSchema() {
  static const std::vector<Migration> kSchema = {
      {"test", 1,
       "CREATE TABLE items (id INTEGER PRIMARY KEY, k TEXT UNIQUE, n INTEGER, x REAL);"
       "CREATE TABLE parents (id INTEGER PRIMARY KEY);"
       "CREATE TABLE children (id INTEGER PRIMARY KEY,"
       "  parent_id INTEGER NOT NULL REFERENCES parents (id));"
       "CREATE TABLE late_children (id INTEGER PRIMARY KEY,"
       "  parent_id INTEGER NOT NULL REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);"},
  };
  return kSchema;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Open(Options());
    ASSERT_NE(store_, nullptr);
    Status s = store_->Migrate(TestSchema());
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  SqliteOptions Options() {
    SqliteOptions o;
    o.path = dir_.File("platops.db");
    o.sync_full = false;
    o.metrics = &metrics_;
    return o;
  }

  static std::unique_ptr<Store> Open(const SqliteOptions& options) {
    auto store = OpenSqliteStore(options);
    if (!store.ok()) {
      ADD_FAILURE() << store.status().ToString();
      return nullptr;
    }
    return std::move(store).value();
  }

  Status Exec(const std::string& sql, const Params& params = {}) {
    return store_->Write([&](Tx& tx) { return tx.Exec(sql, params).status(); });
  }

  // Runs a query in a read transaction; fails the test on error.
  std::vector<Row> Select(const std::string& sql, const Params& params = {}) {
    std::vector<Row> rows;
    Status s = store_->Read([&](Tx& tx) -> Status {
      PLATOPS_ASSIGN_OR_RETURN(rows, tx.Query(sql, params));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return rows;
  }

  int64_t Count(const std::string& table) {
    auto rows = Select("SELECT COUNT(*) FROM " + table);
    return rows.empty() ? -1 : rows[0].Int(0);
  }

  std::set<int64_t> Ids(const std::string& table) {
    std::set<int64_t> ids;
    for (const Row& r : Select("SELECT id FROM " + table)) ids.insert(r.Int(0));
    return ids;
  }

  double Metric(const std::string& series) { return MetricValue(metrics_.Render(), series); }

  TempDir dir_;
  MetricsRegistry metrics_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, BindsDollarPlaceholders) {
  ASSERT_TRUE(Exec("INSERT INTO items (id, k, n, x) VALUES ($1, $2, $3, $4)",
                   {int64_t{1}, "one", int64_t{10}, 1.5})
                  .ok());
  // Out of order and repeated.
  ASSERT_TRUE(
      Exec("INSERT INTO items (k, id, n) VALUES ($2, $1, $1 * 10)", {int64_t{2}, "two"}).ok());
  auto rows =
      Select("SELECT id, k, n FROM items WHERE k = $2 OR id = $1 ORDER BY id", {int64_t{2}, "one"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].Int(0), 1);
  EXPECT_EQ(rows[0].Text(1), "one");
  EXPECT_EQ(rows[1].Int(0), 2);
  EXPECT_EQ(rows[1].Text(1), "two");
  EXPECT_EQ(rows[1].Int(2), 20);
  // Positional '?'.
  ASSERT_TRUE(Exec("INSERT INTO items (id, k) VALUES (?, ?)", {int64_t{3}, "three"}).ok());
  rows = Select("SELECT k FROM items WHERE id = ?", {int64_t{3}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].Text(0), "three");
}

TEST_F(SqliteStoreTest, ParameterMistakesAreInternalErrors) {
  Status missing = store_->Read([](Tx& tx) {
    return tx.Query("SELECT id FROM items WHERE id = $1 AND k = $2", {int64_t{1}}).status();
  });
  EXPECT_EQ(missing.code(), StatusCode::kInternal);
  EXPECT_NE(missing.message().find("$2"), std::string::npos) << missing.message();

  Status extra = store_->Read([](Tx& tx) {
    return tx.Query("SELECT id FROM items WHERE id = $1", {int64_t{1}, int64_t{2}}).status();
  });
  EXPECT_EQ(extra.code(), StatusCode::kInternal);

  Status named = store_->Read(
      [](Tx& tx) { return tx.Query("SELECT id FROM items WHERE k = :k", {"x"}).status(); });
  EXPECT_EQ(named.code(), StatusCode::kInternal);
  EXPECT_NE(named.message().find(":k"), std::string::npos) << named.message();

  // The statement cache must not keep stale bindings: the same SQL works with the right params.
  auto rows = Select("SELECT COUNT(*) FROM items WHERE id = $1 AND k = $2", {int64_t{1}, "a"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].Int(0), 0);
}

TEST_F(SqliteStoreTest, OneStatementPerCall) {
  Status two = Exec("INSERT INTO items (id) VALUES (1); INSERT INTO items (id) VALUES (2)");
  EXPECT_EQ(two.code(), StatusCode::kInvalidArgument) << two.ToString();
  EXPECT_EQ(Count("items"), 0);
  EXPECT_TRUE(Exec("INSERT INTO items (id) VALUES (1); -- trailing comment\n").ok());
  EXPECT_EQ(Count("items"), 1);
  EXPECT_EQ(Exec("   ").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Exec("SELEC 1").code(), StatusCode::kInternal);
}

TEST_F(SqliteStoreTest, RowAccessorsAndQueryOne) {
  ASSERT_TRUE(Exec("INSERT INTO items (id, k, n, x) VALUES ($1, $2, $3, $4)",
                   {int64_t{7}, "héllo \"q\"", Value{}, 2.5})
                  .ok());
  ASSERT_TRUE(Exec("INSERT INTO items (id, k, n, x) VALUES ($1, $2, $3, $4)",
                   {int64_t{8}, "big", int64_t{9007199254740993}, -0.125})
                  .ok());
  Status s = store_->Read([](Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto row,
                             tx.QueryOne("SELECT id, k, n, x FROM items WHERE id = $1", {7}));
    EXPECT_TRUE(row.has_value());
    if (!row) return Status::Ok();
    EXPECT_EQ(row->size(), 4u);
    EXPECT_EQ(row->Int(0), 7);
    EXPECT_EQ(row->Text(0), "7");
    EXPECT_EQ(row->Text(1), "héllo \"q\"");
    EXPECT_TRUE(row->IsNull(2));
    EXPECT_EQ(row->Int(2), 0);
    EXPECT_EQ(row->Text(2), "");
    EXPECT_EQ(row->Double(2), 0.0);
    EXPECT_FALSE(row->IsNull(3));
    EXPECT_DOUBLE_EQ(row->Double(3), 2.5);
    EXPECT_TRUE(std::holds_alternative<double>(row->at(3)));

    PLATOPS_ASSIGN_OR_RETURN(auto big, tx.QueryOne("SELECT n, x FROM items WHERE id = 8"));
    EXPECT_TRUE(big.has_value());
    if (big) {
      EXPECT_EQ(big->Int(0), 9007199254740993);  // beyond double precision: kept exact
      EXPECT_DOUBLE_EQ(big->Double(1), -0.125);
    }

    PLATOPS_ASSIGN_OR_RETURN(auto none, tx.QueryOne("SELECT id FROM items WHERE id = 99"));
    EXPECT_FALSE(none.has_value());
    PLATOPS_ASSIGN_OR_RETURN(auto all, tx.Query("SELECT id FROM items ORDER BY id DESC"));
    EXPECT_EQ(all.size(), 2u);
    if (all.size() == 2) {
      EXPECT_EQ(all[0].Int(0), 8);
      EXPECT_EQ(all[1].Int(0), 7);
    }
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(SqliteStoreTest, ExecReportsChangedRowsAndReturningWorks) {
  Status s = store_->Write([](Tx& tx) -> Status {
    EXPECT_TRUE(tx.writable());
    for (int64_t i = 1; i <= 3; ++i) {
      PLATOPS_ASSIGN_OR_RETURN(int64_t n, tx.Exec("INSERT INTO items (id, n) VALUES ($1, 0)", {i}));
      EXPECT_EQ(n, 1);
    }
    PLATOPS_ASSIGN_OR_RETURN(int64_t updated, tx.Exec("UPDATE items SET n = n + 1 WHERE id > 1"));
    EXPECT_EQ(updated, 2);
    PLATOPS_ASSIGN_OR_RETURN(int64_t created, tx.Exec("CREATE TABLE scratch (a INTEGER)"));
    EXPECT_EQ(created, 0);
    PLATOPS_ASSIGN_OR_RETURN(
        auto row, tx.QueryOne("INSERT INTO items (id, k, n) VALUES ($1, $2, 0) RETURNING id, k",
                              {int64_t{10}, "ten"}));
    EXPECT_TRUE(row.has_value());
    if (row) {
      EXPECT_EQ(row->Text(1), "ten");
    }
    // An upsert through ON CONFLICT ... DO UPDATE.
    PLATOPS_ASSIGN_OR_RETURN(
        auto upserted,
        tx.QueryOne("INSERT INTO items (id, k, n) VALUES ($1, $2, 1) ON CONFLICT (k) DO UPDATE "
                    "SET n = items.n + 1 RETURNING id, n",
                    {int64_t{11}, "ten"}));
    EXPECT_TRUE(upserted.has_value());
    if (upserted) {
      EXPECT_EQ(upserted->Int(0), 10);
      EXPECT_EQ(upserted->Int(1), 1);
    }
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Ids("items"), (std::set<int64_t>{1, 2, 3, 10}));
}

TEST_F(SqliteStoreTest, ErrorStatusRollsBackEverything) {
  Status s = store_->Write([](Tx& tx) -> Status {
    PLATOPS_RETURN_IF_ERROR(tx.Exec("INSERT INTO items (id) VALUES (1)").status());
    PLATOPS_RETURN_IF_ERROR(tx.Exec("INSERT INTO parents (id) VALUES (1)").status());
    return Conflict("stale version", "version");
  });
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(s.message(), "stale version");
  EXPECT_EQ(s.field(), "version");
  EXPECT_EQ(Count("items"), 0);
  EXPECT_EQ(Count("parents"), 0);
}

TEST_F(SqliteStoreTest, ExceptionBecomesInternalForThatWriteOnly) {
  Status s = store_->Write([](Tx& tx) -> Status {
    (void)tx.Exec("INSERT INTO items (id) VALUES (1)");
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("boom"), std::string::npos);
  EXPECT_EQ(Count("items"), 0);
  EXPECT_TRUE(Exec("INSERT INTO items (id) VALUES (2)").ok());
  EXPECT_EQ(Ids("items"), (std::set<int64_t>{2}));

  Status r = store_->Read([](Tx&) -> Status { throw std::logic_error("read boom"); });
  EXPECT_EQ(r.code(), StatusCode::kInternal);
  EXPECT_EQ(Count("items"), 1);  // the reader connection went back to the pool in good order
}

TEST_F(SqliteStoreTest, ConstraintViolationsMapToStatusCodes) {
  ASSERT_TRUE(Exec("INSERT INTO items (id, k) VALUES (1, 'a')").ok());
  Status unique = Exec("INSERT INTO items (id, k) VALUES (2, 'a')");
  EXPECT_EQ(unique.code(), StatusCode::kConflict) << unique.ToString();
  EXPECT_NE(unique.message().find("already exists"), std::string::npos);
  Status primary = Exec("INSERT INTO items (id, k) VALUES (1, 'b')");
  EXPECT_EQ(primary.code(), StatusCode::kConflict) << primary.ToString();

  Status orphan = Exec("INSERT INTO children (id, parent_id) VALUES (1, 42)");
  EXPECT_EQ(orphan.code(), StatusCode::kUnprocessable) << orphan.ToString();
  ASSERT_TRUE(Exec("INSERT INTO parents (id) VALUES (42)").ok());
  ASSERT_TRUE(Exec("INSERT INTO children (id, parent_id) VALUES (1, 42)").ok());
  Status referenced = Exec("DELETE FROM parents WHERE id = 42");
  EXPECT_EQ(referenced.code(), StatusCode::kUnprocessable) << referenced.ToString();

  // A deferred foreign key is checked at the end of the Write, not at the shared COMMIT.
  Status late = Exec("INSERT INTO late_children (id, parent_id) VALUES (1, 7)");
  EXPECT_EQ(late.code(), StatusCode::kUnprocessable) << late.ToString();
  EXPECT_EQ(Count("late_children"), 0);
  Status resolved = store_->Write([](Tx& tx) -> Status {
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO late_children (id, parent_id) VALUES (1, 7)").status());
    return tx.Exec("INSERT INTO parents (id) VALUES (7)").status();
  });
  EXPECT_TRUE(resolved.ok()) << resolved.ToString();
  EXPECT_EQ(Count("late_children"), 1);

  Status not_null = Exec("INSERT INTO children (id) VALUES (5)");
  EXPECT_EQ(not_null.code(), StatusCode::kInternal) << not_null.ToString();
}

TEST_F(SqliteStoreTest, TransactionControlInsideCallbacksIsRefused) {
  Status s = store_->Write([](Tx& tx) -> Status {
    for (const char* sql : {"COMMIT", "ROLLBACK", "BEGIN", "SAVEPOINT s", "RELEASE s",
                            "ROLLBACK TO s", "ATTACH DATABASE 'x.db' AS x"}) {
      EXPECT_EQ(tx.Exec(sql).status().code(), StatusCode::kInvalidArgument) << sql;
    }
    return tx.Exec("INSERT INTO items (id) VALUES (1)").status();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count("items"), 1);

  Status r = store_->Read([](Tx& tx) -> Status {
    EXPECT_FALSE(tx.Exec("COMMIT").ok());
    return Status::Ok();
  });
  EXPECT_TRUE(r.ok()) << r.ToString();
}

TEST_F(SqliteStoreTest, ReadTransactionsCannotWrite) {
  Status s = store_->Read([](Tx& tx) -> Status {
    EXPECT_FALSE(tx.writable());
    auto insert = tx.Exec("INSERT INTO items (id) VALUES (1)");
    EXPECT_FALSE(insert.ok());
    EXPECT_TRUE(insert.status().code() == StatusCode::kInvalidArgument ||
                insert.status().code() == StatusCode::kInternal)
        << insert.status().ToString();
    EXPECT_FALSE(tx.Query("DELETE FROM items RETURNING id").ok());
    EXPECT_FALSE(tx.Exec("CREATE TABLE nope (a)").ok());
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count("items"), 0);
}

TEST_F(SqliteStoreTest, AfterCommitRunsOnlyAfterCommit) {
  std::vector<std::string> ran;
  std::thread::id callback_thread;
  Status ok = store_->Write([&](Tx& tx) -> Status {
    tx.AfterCommit([&] {
      ran.push_back("first");
      callback_thread = std::this_thread::get_id();
    });
    tx.AfterCommit([&] { ran.push_back("second"); });
    EXPECT_TRUE(ran.empty());
    return tx.Exec("INSERT INTO items (id) VALUES (1)").status();
  });
  ASSERT_TRUE(ok.ok()) << ok.ToString();
  EXPECT_EQ(ran, (std::vector<std::string>{"first", "second"}));  // before Write returned
  EXPECT_NE(callback_thread, std::this_thread::get_id());         // on the writer thread

  ran.clear();
  Status failed = store_->Write([&](Tx& tx) -> Status {
    tx.AfterCommit([&] { ran.push_back("rolled back"); });
    return tx.Exec("INSERT INTO items (id) VALUES (1)").status();  // duplicate id
  });
  EXPECT_EQ(failed.code(), StatusCode::kConflict);
  EXPECT_TRUE(ran.empty());

  Status read = store_->Read([&](Tx& tx) -> Status {
    tx.AfterCommit([&] { ran.push_back("read"); });
    return Status::Ok();
  });
  EXPECT_TRUE(read.ok());
  EXPECT_EQ(ran, (std::vector<std::string>{"read"}));

  // A callback that throws does not hurt the store or later callbacks.
  ran.clear();
  Status throwing = store_->Write([&](Tx& tx) -> Status {
    tx.AfterCommit([] { throw std::runtime_error("callback boom"); });
    tx.AfterCommit([&] { ran.push_back("after throw"); });
    return tx.Exec("INSERT INTO items (id) VALUES (2)").status();
  });
  EXPECT_TRUE(throwing.ok()) << throwing.ToString();
  EXPECT_EQ(ran, (std::vector<std::string>{"after throw"}));
}

TEST_F(SqliteStoreTest, NestedWriteFailsInsteadOfDeadlocking) {
  Status inner_status;
  Status inner_callback_status;
  Status s = store_->Write([&](Tx& tx) -> Status {
    inner_status = store_->Write([](Tx&) { return Status::Ok(); });
    tx.AfterCommit(
        [&] { inner_callback_status = store_->Write([](Tx&) { return Status::Ok(); }); });
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(inner_status.code(), StatusCode::kInternal);
  EXPECT_EQ(inner_callback_status.code(), StatusCode::kInternal);
}

TEST_F(SqliteStoreTest, ReadersDoNotSeeUncommittedWrites) {
  Latch inserted;
  Latch release;
  std::thread writer([&] {
    Status s = store_->Write([&](Tx& tx) -> Status {
      PLATOPS_RETURN_IF_ERROR(tx.Exec("INSERT INTO items (id) VALUES (1)").status());
      inserted.Open();
      release.Wait();
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  inserted.Wait();
  EXPECT_EQ(Count("items"), 0);
  release.Open();
  writer.join();
  EXPECT_EQ(Count("items"), 1);
}

TEST_F(SqliteStoreTest, ReadSeesOneSnapshot) {
  ASSERT_TRUE(Exec("INSERT INTO items (id) VALUES (1)").ok());
  Latch first_read;
  Latch written;
  std::thread writer([&] {
    first_read.Wait();
    EXPECT_TRUE(Exec("INSERT INTO items (id) VALUES (2)").ok());
    written.Open();
  });
  Status s = store_->Read([&](Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto before, tx.QueryOne("SELECT COUNT(*) FROM items"));
    first_read.Open();
    written.Wait();
    PLATOPS_ASSIGN_OR_RETURN(auto after, tx.QueryOne("SELECT COUNT(*) FROM items"));
    EXPECT_EQ(before->Int(0), 1);
    EXPECT_EQ(after->Int(0), 1);
    return Status::Ok();
  });
  writer.join();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count("items"), 2);
}

TEST_F(SqliteStoreTest, ConcurrentWritersAllLandAndFailuresStayIsolated) {
  // Full sync, so the group commit actually saves fsyncs.
  store_->Close();
  SqliteOptions options = Options();
  options.sync_full = true;
  MetricsRegistry metrics;
  options.metrics = &metrics;
  store_ = Open(options);
  ASSERT_NE(store_, nullptr);

  constexpr int kThreads = 8;
  constexpr int kWrites = 200;
  std::vector<std::vector<int64_t>> committed(kThreads);
  std::atomic<int> conflicts{0};
  std::atomic<int> other_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int j = 0; j < kWrites; ++j) {
        const int64_t id = t * 1000 + j;
        // Every tenth key is shared by all threads: one wins, seven get a conflict.
        const std::string k =
            j % 10 == 0 ? "shared-" + std::to_string(j) : "own-" + std::to_string(id);
        Status s = store_->Write([&](Tx& tx) -> Status {
          PLATOPS_RETURN_IF_ERROR(
              tx.Exec("INSERT INTO items (id, k) VALUES ($1, $2)", {id, k}).status());
          return tx.Exec("INSERT INTO parents (id) VALUES ($1)", {id}).status();
        });
        if (s.ok()) {
          committed[t].push_back(id);
        } else if (s.code() == StatusCode::kConflict) {
          ++conflicts;
        } else {
          ++other_errors;
          ADD_FAILURE() << s.ToString();
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  constexpr int kShared = kWrites / 10;
  EXPECT_EQ(conflicts.load(), kShared * (kThreads - 1));
  EXPECT_EQ(other_errors.load(), 0);
  std::set<int64_t> expected;
  for (const auto& ids : committed) expected.insert(ids.begin(), ids.end());
  EXPECT_EQ(expected.size(), static_cast<size_t>(kThreads * kWrites - kShared * (kThreads - 1)));
  EXPECT_EQ(Ids("items"), expected);
  EXPECT_EQ(Ids("parents"), expected);  // a failed job left nothing in its second table either

  const std::string text = metrics.Render();
  const double groups = MetricValue(text, "platops_store_commit_groups_total");
  EXPECT_GE(groups, 1);
  EXPECT_LE(groups, static_cast<double>(expected.size()));
  EXPECT_EQ(MetricValue(text, "platops_store_transactions_total{kind=\"write\",result=\"ok\"}"),
            static_cast<double>(expected.size()));
  EXPECT_EQ(
      MetricValue(text, "platops_store_transactions_total{kind=\"write\",result=\"conflict\"}"),
      kShared * (kThreads - 1));
}

TEST_F(SqliteStoreTest, FailingJobsInAGroupDoNotAffectTheOthers) {
  ASSERT_TRUE(Exec("INSERT INTO items (id, k) VALUES (1, 'taken')").ok());
  std::mutex mu;
  std::vector<std::string> callbacks;  // GUARDED_BY(mu)
  auto note = [&](std::string what) {
    std::lock_guard lock(mu);
    callbacks.push_back(std::move(what));
  };

  // The first Write holds the writer thread so the next five queue up and form one group.
  Latch running;
  Latch release;
  Status blocker_status;
  std::thread blocker([&] {
    blocker_status = store_->Write([&](Tx& tx) -> Status {
      PLATOPS_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO items (id, k) VALUES (100, 'blocker')").status());
      tx.AfterCommit([&] { note("blocker"); });
      running.Open();
      release.Wait();
      return Status::Ok();
    });
  });
  running.Wait();
  const double groups_before = Metric("platops_store_commit_groups_total");

  struct Job {
    int64_t id;
    std::string k;
    enum { kReturnOk, kReturnError, kThrow } ending;
    Status status;
  };
  std::vector<Job> jobs = {{101, "ok1", Job::kReturnOk, {}},
                           {102, "taken", Job::kReturnOk, {}},  // unique violation
                           {103, "err", Job::kReturnError, {}},
                           {104, "thr", Job::kThrow, {}},
                           {105, "ok2", Job::kReturnOk, {}}};
  std::vector<std::thread> threads;
  for (Job& job : jobs) {
    threads.emplace_back([&] {
      job.status = store_->Write([&](Tx& tx) -> Status {
        tx.AfterCommit([&] { note(job.k); });
        PLATOPS_RETURN_IF_ERROR(
            tx.Exec("INSERT INTO items (id, k) VALUES ($1, $2)", {job.id, job.k}).status());
        if (job.ending == Job::kReturnError) return InvalidArgument("no thanks");
        if (job.ending == Job::kThrow) throw std::runtime_error("thrown");
        return Status::Ok();
      });
    });
  }
  // Wait (by polling the queue gauge) until all five are queued behind the blocker.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (Metric("platops_store_write_queue_depth") < 5 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_EQ(Metric("platops_store_write_queue_depth"), 5);
  release.Open();
  blocker.join();
  for (auto& t : threads) t.join();

  EXPECT_TRUE(blocker_status.ok()) << blocker_status.ToString();
  EXPECT_TRUE(jobs[0].status.ok()) << jobs[0].status.ToString();
  EXPECT_EQ(jobs[1].status.code(), StatusCode::kConflict) << jobs[1].status.ToString();
  EXPECT_EQ(jobs[2].status.code(), StatusCode::kInvalidArgument) << jobs[2].status.ToString();
  EXPECT_EQ(jobs[2].status.message(), "no thanks");
  EXPECT_EQ(jobs[3].status.code(), StatusCode::kInternal) << jobs[3].status.ToString();
  EXPECT_NE(jobs[3].status.message().find("thrown"), std::string::npos);
  EXPECT_TRUE(jobs[4].status.ok()) << jobs[4].status.ToString();
  EXPECT_EQ(Ids("items"), (std::set<int64_t>{1, 100, 101, 105}));
  std::sort(callbacks.begin(), callbacks.end());
  EXPECT_EQ(callbacks, (std::vector<std::string>{"blocker", "ok1", "ok2"}));
  // The blocker's transaction, then one transaction for the five queued Writes.
  EXPECT_EQ(Metric("platops_store_commit_groups_total") - groups_before, 2);
  EXPECT_EQ(Metric("platops_store_write_queue_depth"), 0);
}

TEST_F(SqliteStoreTest, MigrationsApplyOnceInOrder) {
  std::vector<Migration> migrations = {
      {"demo", 1, "CREATE TABLE demo (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"},
      {"demo", 2,
       "ALTER TABLE demo ADD COLUMN note TEXT; INSERT INTO demo (id, name) VALUES (1, 'x');"},
      {"other", 1, "CREATE TABLE other (id INTEGER PRIMARY KEY)"},
  };
  Status s = store_->Migrate(migrations);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(store_->ready());
  EXPECT_EQ(Count("demo"), 1);
  auto rows =
      Select("SELECT module, version, applied_at FROM schema_migrations ORDER BY module, version");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].Text(0), "demo");
  EXPECT_EQ(rows[0].Int(1), 1);
  EXPECT_TRUE(ParseRfc3339(rows[0].Text(2)).ok()) << rows[0].Text(2);
  EXPECT_EQ(rows[1].Int(1), 2);
  EXPECT_EQ(rows[2].Text(0), "other");
  EXPECT_EQ(rows[3].Text(0), "test");

  // Re-running is a no-op: the INSERT of demo/2 does not run again.
  s = store_->Migrate(migrations);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count("demo"), 1);
  EXPECT_EQ(Count("schema_migrations"), 4);

  // A new step is applied alone, also after reopening.
  store_->Close();
  store_ = Open(Options());
  ASSERT_NE(store_, nullptr);
  EXPECT_FALSE(store_->ready());
  migrations.push_back({"demo", 3, "INSERT INTO demo (id, name) VALUES (2, 'y')"});
  s = store_->Migrate(migrations);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(store_->ready());
  EXPECT_EQ(Count("demo"), 2);
  EXPECT_EQ(Count("schema_migrations"), 5);
}

TEST_F(SqliteStoreTest, FailingMigrationLeavesNoTrace) {
  std::vector<Migration> migrations = {
      {"demo", 1, "CREATE TABLE demo (id INTEGER PRIMARY KEY)"},
      {"demo", 2,
       "CREATE TABLE half (a INTEGER); INSERT INTO demo (id) VALUES (1); "
       "INSERT INTO missing_table VALUES (1);"},
      {"demo", 3, "CREATE TABLE never (a INTEGER)"},
  };
  store_->Close();
  store_ = Open(Options());
  ASSERT_NE(store_, nullptr);
  Status s = store_->Migrate(migrations);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("migration demo/2"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("missing_table"), std::string::npos) << s.ToString();
  EXPECT_FALSE(store_->ready());
  EXPECT_EQ(Count("demo"), 0);
  EXPECT_TRUE(Select("SELECT name FROM sqlite_master WHERE name IN ('half', 'never')").empty());
  auto versions = Select("SELECT version FROM schema_migrations WHERE module = 'demo'");
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].Int(0), 1);

  // Fixed, it applies.
  migrations[1].sql = "CREATE TABLE half (a INTEGER); INSERT INTO demo (id) VALUES (1);";
  s = store_->Migrate(migrations);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count("demo"), 1);
  EXPECT_EQ(Count("never"), 0);

  // Transaction control inside a migration would break its atomicity.
  s = store_->Migrate({{"bad", 1, "CREATE TABLE b1 (a); COMMIT; CREATE TABLE b2 (a);"}});
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Select("SELECT name FROM sqlite_master WHERE name LIKE 'b_'").empty());
}

TEST_F(SqliteStoreTest, MigrationNumberingIsChecked) {
  Status gap =
      store_->Migrate({{"demo", 1, "CREATE TABLE d1 (a)"}, {"demo", 3, "CREATE TABLE d3 (a)"}});
  EXPECT_EQ(gap.code(), StatusCode::kInvalidArgument) << gap.ToString();
  EXPECT_EQ(gap.field(), "migrations[1].version");
  EXPECT_TRUE(Select("SELECT 1 FROM schema_migrations WHERE module = 'demo'").empty());

  Status zero = store_->Migrate({{"demo", 0, "CREATE TABLE d0 (a)"}});
  EXPECT_EQ(zero.code(), StatusCode::kInvalidArgument);
  Status unnamed = store_->Migrate({{"", 1, "CREATE TABLE d0 (a)"}});
  EXPECT_EQ(unnamed.code(), StatusCode::kInvalidArgument);

  // The database is newer than this build.
  ASSERT_TRUE(
      store_->Migrate({{"demo", 1, "CREATE TABLE d1 (a)"}, {"demo", 2, "CREATE TABLE d2 (a)"}})
          .ok());
  Status newer = store_->Migrate({{"demo", 1, "CREATE TABLE d1 (a)"}});
  EXPECT_FALSE(newer.ok());
  EXPECT_NE(newer.message().find("demo/2"), std::string::npos) << newer.ToString();
}

TEST_F(SqliteStoreTest, ClosedStoreIsUnavailable) {
  EXPECT_TRUE(store_->ready());
  store_->Close();
  EXPECT_FALSE(store_->ready());
  EXPECT_EQ(Exec("INSERT INTO items (id) VALUES (1)").code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->Read([](Tx&) { return Status::Ok(); }).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->Migrate(TestSchema()).code(), StatusCode::kUnavailable);
  store_->Close();  // idempotent
  // Close folded the WAL into the database file.
  EXPECT_FALSE(std::filesystem::exists(dir_.File("platops.db-wal")) &&
               std::filesystem::file_size(dir_.File("platops.db-wal")) > 0);
}

TEST_F(SqliteStoreTest, CloseDrainsQueuedWrites) {
  Latch running;
  Latch release;
  std::vector<Status> statuses(4);
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    statuses[0] = store_->Write([&](Tx& tx) -> Status {
      running.Open();
      release.Wait();
      return tx.Exec("INSERT INTO items (id) VALUES (0)").status();
    });
  });
  running.Wait();
  for (int64_t i = 1; i < 4; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = store_->Write(
          [i](Tx& tx) { return tx.Exec("INSERT INTO items (id) VALUES ($1)", {i}).status(); });
    });
  }
  while (Metric("platops_store_write_queue_depth") < 3)
    std::this_thread::sleep_for(milliseconds(1));
  std::thread closer([&] { store_->Close(); });
  release.Open();
  closer.join();
  for (auto& t : threads) t.join();
  for (const Status& s : statuses) EXPECT_TRUE(s.ok()) << s.ToString();
  store_ = Open(Options());
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(Ids("items"), (std::set<int64_t>{0, 1, 2, 3}));
}

TEST_F(SqliteStoreTest, LockHeldByAnotherStoreIsUnavailableNotInternal) {
  SqliteOptions options = Options();
  options.busy_timeout = milliseconds(100);
  options.metrics = nullptr;
  std::unique_ptr<Store> other = Open(options);
  ASSERT_NE(other, nullptr);

  Latch holding;
  Latch release;
  std::thread holder([&] {
    Status s = store_->Write([&](Tx& tx) -> Status {
      PLATOPS_RETURN_IF_ERROR(tx.Exec("INSERT INTO items (id) VALUES (1)").status());
      holding.Open();
      release.Wait();
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  holding.Wait();
  const auto start = std::chrono::steady_clock::now();
  Status busy =
      other->Write([](Tx& tx) { return tx.Exec("INSERT INTO items (id) VALUES (2)").status(); });
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(busy.code(), StatusCode::kUnavailable) << busy.ToString();
  EXPECT_GE(waited, milliseconds(90));
  // Readers are not blocked by the writer (WAL) and see only committed data.
  int64_t seen = -1;
  Status read = other->Read([&](Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT COUNT(*) FROM items"));
    seen = row->Int(0);
    return Status::Ok();
  });
  EXPECT_TRUE(read.ok()) << read.ToString();
  EXPECT_EQ(seen, 0);
  release.Open();
  holder.join();

  EXPECT_TRUE(
      other->Write([](Tx& tx) { return tx.Exec("INSERT INTO items (id) VALUES (2)").status(); })
          .ok());
  EXPECT_EQ(Ids("items"), (std::set<int64_t>{1, 2}));
}

TEST_F(SqliteStoreTest, ManyConcurrentReadersShareASmallPool) {
  store_->Close();
  SqliteOptions options = Options();
  options.readers = 2;
  store_ = Open(options);
  ASSERT_NE(store_, nullptr);
  ASSERT_TRUE(Exec("INSERT INTO items (id) VALUES (1)").ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (Count("items") == 1) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 300);
}

TEST_F(SqliteStoreTest, RecordsMetrics) {
  ASSERT_TRUE(Exec("INSERT INTO items (id) VALUES (1)").ok());
  EXPECT_EQ(Exec("INSERT INTO items (id) VALUES (1)").code(), StatusCode::kConflict);
  EXPECT_EQ(Count("items"), 1);
  const std::string text = metrics_.Render();
  // SetUp's migration added write and read transactions of its own.
  EXPECT_GE(MetricValue(text, "platops_store_transactions_total{kind=\"write\",result=\"ok\"}"), 1);
  EXPECT_EQ(
      MetricValue(text, "platops_store_transactions_total{kind=\"write\",result=\"conflict\"}"), 1);
  EXPECT_GE(MetricValue(text, "platops_store_transactions_total{kind=\"read\",result=\"ok\"}"), 1);
  EXPECT_GE(MetricValue(text, "platops_store_transaction_seconds_count{kind=\"write\"}"), 2);
  EXPECT_GE(MetricValue(text, "platops_store_transaction_seconds_count{kind=\"read\"}"), 1);
  EXPECT_GE(MetricValue(text, "platops_store_commit_groups_total"), 1);
}

TEST(SqliteStoreOptionsTest, RejectsBadOptions) {
  SqliteOptions o;
  EXPECT_EQ(OpenSqliteStore(o).status().code(), StatusCode::kInvalidArgument);
  o.path = ":memory:";
  EXPECT_EQ(OpenSqliteStore(o).status().code(), StatusCode::kInvalidArgument);
  TempDir dir;
  o.path = dir.File("x.db");
  o.readers = 0;
  auto bad = OpenSqliteStore(o);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().field(), "readers");
  o.readers = 1;
  o.path = dir.File("no-such-dir/x.db");
  EXPECT_FALSE(OpenSqliteStore(o).ok());
}

}  // namespace
}  // namespace platops::store
