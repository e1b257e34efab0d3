#include "events/event_bus.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/crypto.h"
#include "store/sqlite_store.h"

namespace platops::events {
namespace {

namespace fs = std::filesystem;

class EventBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("platops-bus-" + RandomHex(6));
    fs::create_directories(dir_);
    Open();
  }
  void Open() {
    auto s = store::OpenSqliteStore({.path = (dir_ / "platops.db").string()});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    auto migrations = EventLog::Migrations();
    migrations.push_back(
        {"test", 1, "CREATE TABLE reactions (seq INTEGER PRIMARY KEY, action TEXT)"});
    ASSERT_TRUE(store_->Migrate(migrations).ok());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Append(const std::string& action) {
    ASSERT_TRUE(store_
                    ->Write([&](store::Tx& tx) -> Status {
                      return log_.Append(tx, {"system", action, "thing", "1", "{}"}).status();
                    })
                    .ok());
  }
  static Status Record(store::Tx& tx, const Event& e) {
    return tx.Exec("INSERT INTO reactions (seq, action) VALUES ($1, $2)", {e.seq, e.action})
        .status();
  }
  std::vector<std::string> Reactions() {
    std::vector<std::string> out;
    EXPECT_TRUE(store_
                    ->Read([&](store::Tx& tx) -> Status {
                      PLATOPS_ASSIGN_OR_RETURN(
                          auto rows, tx.Query("SELECT action FROM reactions ORDER BY seq"));
                      for (auto& r : rows) out.push_back(r.Text(0));
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  FakeClock clock_;
  EventLog log_{clock_};
};

TEST_F(EventBusTest, DeliversMatchingEventsOnce) {
  EventBus bus(*store_, log_);
  bus.Subscribe("reactor", "incident.", Record);
  Append("incident.opened");
  Append("service.created");
  Append("incident.acknowledged");
  ASSERT_TRUE(bus.DeliverPending().ok());
  ASSERT_TRUE(bus.DeliverPending().ok());
  EXPECT_EQ(Reactions(), (std::vector<std::string>{"incident.opened", "incident.acknowledged"}));
}

TEST_F(EventBusTest, ResumesFromCursorAfterRestart) {
  {
    EventBus bus(*store_, log_);
    bus.Subscribe("reactor", "", Record);
    Append("a.one");
    ASSERT_TRUE(bus.DeliverPending().ok());
  }
  Append("a.two");  // committed while no bus runs
  store_.reset();
  Open();
  EventBus bus(*store_, log_);
  bus.Subscribe("reactor", "", Record);
  ASSERT_TRUE(bus.DeliverPending().ok());
  EXPECT_EQ(Reactions(), (std::vector<std::string>{"a.one", "a.two"}));
}

TEST_F(EventBusTest, FailedHandlerIsRetriedAndNothingSkipped) {
  EventBus bus(*store_, log_);
  int calls = 0;
  bus.Subscribe("flaky", "", [&](store::Tx& tx, const Event& e) -> Status {
    PLATOPS_RETURN_IF_ERROR(Record(tx, e));  // rolled back when we fail below
    if (++calls == 2) return Unavailable("downstream not ready");
    return Status::Ok();
  });
  Append("x.1");
  Append("x.2");
  Append("x.3");
  EXPECT_FALSE(bus.DeliverPending().ok());
  EXPECT_EQ(Reactions(), (std::vector<std::string>{"x.1"}));
  ASSERT_TRUE(bus.DeliverPending().ok());
  EXPECT_EQ(Reactions(), (std::vector<std::string>{"x.1", "x.2", "x.3"}));
}

TEST_F(EventBusTest, BackgroundThreadDeliversAfterNotify) {
  EventBus bus(*store_, log_);
  std::mutex mu;
  std::condition_variable cv;
  int seen = 0;
  bus.Subscribe("counter", "", [&](store::Tx&, const Event&) -> Status {
    std::lock_guard lock(mu);
    ++seen;
    cv.notify_all();
    return Status::Ok();
  });
  log_.SetCommitListener([&] { bus.Notify(); });
  bus.Start(std::chrono::hours(1));  // only Notify can wake it within the test
  Append("y.1");
  Append("y.2");
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen == 2; }));
  lock.unlock();
  bus.Stop();
}

}  // namespace
}  // namespace platops::events
