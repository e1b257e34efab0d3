// kill -9 durability: a forked child writes through SqliteStore and reports every acknowledged
// Write on a pipe; it is killed with SIGKILL mid-flight and the parent checks that every
// acknowledged Write survived and that no transaction was half applied.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_store.h"
#include "store/store_test_util.h"

namespace platops::store {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr int kChildWriters = 4;

const std::vector<Migration>& CrashSchema() {
  static const std::vector<Migration> kSchema = {
      {"crash", 1,
       "CREATE TABLE a (id INTEGER PRIMARY KEY, payload TEXT NOT NULL);"
       "CREATE TABLE b (id INTEGER PRIMARY KEY REFERENCES a (id), payload TEXT NOT NULL);"},
  };
  return kSchema;
}

// Large enough that one transaction spans several pages.
std::string Payload(int64_t n) {
  return std::string(3000 + n % 5000, static_cast<char>('a' + n % 26));
}

// The child: writes row N to a and b in one Write, then reports N. Never returns.
[[noreturn]] void RunChild(const SqliteOptions& options, int report_fd) {
  auto opened = OpenSqliteStore(options);
  if (!opened.ok()) _exit(2);
  Store& store = **opened;
  int64_t start = 0;
  Status s = store.Read([&](Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT COALESCE(MAX(id), 0) FROM a"));
    start = row->Int(0) + 1;
    return Status::Ok();
  });
  if (!s.ok()) _exit(3);
  std::atomic<int64_t> next{start};
  std::vector<std::thread> writers;
  for (int t = 0; t < kChildWriters; ++t) {
    writers.emplace_back([&] {
      for (;;) {
        const int64_t n = next++;
        const std::string payload = Payload(n);
        Status w = store.Write([&](Tx& tx) -> Status {
          PLATOPS_RETURN_IF_ERROR(
              tx.Exec("INSERT INTO a (id, payload) VALUES ($1, $2)", {n, payload}).status());
          return tx.Exec("INSERT INTO b (id, payload) VALUES ($1, $2)", {n, payload}).status();
        });
        if (!w.ok()) _exit(4);
        if (write(report_fd, &n, sizeof(n)) != static_cast<ssize_t>(sizeof(n))) _exit(5);
      }
    });
  }
  for (auto& w : writers) w.join();
  _exit(6);
}

class SqliteStoreCrashTest : public ::testing::Test {
 protected:
  SqliteOptions Options(bool sync_full) {
    SqliteOptions o;
    o.path = dir_.File("platops.db");
    o.sync_full = sync_full;
    o.readers = 1;
    return o;
  }

  // Reads whole int64 reports from `fd` until `deadline` (or EOF); returns false on EOF.
  static bool Collect(int fd, SteadyClock::time_point deadline, std::string& buffer,
                      std::vector<int64_t>& acked, bool stop_at_first) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now()).count();
      if (left <= 0) return true;
      pollfd p{fd, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return true;
      char chunk[4096];
      const ssize_t got = read(fd, chunk, sizeof(chunk));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(got));
      size_t whole = buffer.size() / sizeof(int64_t);
      for (size_t i = 0; i < whole; ++i) {
        int64_t n = 0;
        std::memcpy(&n, buffer.data() + i * sizeof(int64_t), sizeof(n));
        acked.push_back(n);
      }
      buffer.erase(0, whole * sizeof(int64_t));
      if (stop_at_first && !acked.empty()) return true;
    }
  }

  void RunIterations(bool sync_full) {
    {
      auto store = OpenSqliteStore(Options(sync_full));
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      Status s = (*store)->Migrate(CrashSchema());
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    std::set<int64_t> all_acked;
    for (int iteration = 0; iteration < 5; ++iteration) {
      SCOPED_TRACE("iteration " + std::to_string(iteration));
      int fds[2];
      ASSERT_EQ(pipe(fds), 0);
      const pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        close(fds[0]);
        RunChild(Options(sync_full), fds[1]);
      }
      close(fds[1]);

      // Once the child has acknowledged its first Write, let it run for 150..470 ms.
      std::string buffer;
      std::vector<int64_t> acked;
      bool open = Collect(fds[0], SteadyClock::now() + std::chrono::seconds(30), buffer, acked,
                          /*stop_at_first=*/true);
      if (open) {
        open = Collect(fds[0], SteadyClock::now() + milliseconds(150 + 80 * iteration), buffer,
                       acked, false);
      }
      kill(pid, SIGKILL);
      int wstatus = 0;
      ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
      // Reports written before the kill are acknowledged too.
      (void)Collect(fds[0], SteadyClock::now() + std::chrono::seconds(5), buffer, acked, false);
      close(fds[0]);
      ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
          << "child ended on its own with status " << wstatus;
      ASSERT_FALSE(acked.empty()) << "the child acknowledged no Write";
      all_acked.insert(acked.begin(), acked.end());

      auto store = OpenSqliteStore(Options(sync_full));
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      std::set<int64_t> a_ids;
      std::set<int64_t> b_ids;
      std::string integrity;
      int64_t bad_payloads = 0;
      Status s = (*store)->Read([&](Tx& tx) -> Status {
        PLATOPS_ASSIGN_OR_RETURN(auto a, tx.Query("SELECT id FROM a"));
        for (const Row& r : a) a_ids.insert(r.Int(0));
        PLATOPS_ASSIGN_OR_RETURN(auto b, tx.Query("SELECT id, payload FROM b"));
        for (const Row& r : b) {
          b_ids.insert(r.Int(0));
          if (r.Text(1) != Payload(r.Int(0))) ++bad_payloads;
        }
        PLATOPS_ASSIGN_OR_RETURN(auto check, tx.QueryOne("PRAGMA integrity_check"));
        integrity = check->Text(0);
        return Status::Ok();
      });
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(integrity, "ok");
      EXPECT_EQ(bad_payloads, 0);
      EXPECT_EQ(a_ids, b_ids) << "a transaction was half applied";
      int64_t lost = 0;
      for (int64_t n : all_acked) lost += a_ids.count(n) == 0 ? 1 : 0;
      EXPECT_EQ(lost, 0) << "acknowledged Writes lost after kill -9 (of " << all_acked.size()
                         << ")";
      (*store)->Close();
    }
  }

  TempDir dir_;
};

TEST_F(SqliteStoreCrashTest, KillNineLosesNoAcknowledgedWriteWithSyncNormal) {
  RunIterations(/*sync_full=*/false);
}

TEST_F(SqliteStoreCrashTest, KillNineLosesNoAcknowledgedWriteWithSyncFull) {
  RunIterations(/*sync_full=*/true);
}

}  // namespace
}  // namespace platops::store
