#include "events/event_log.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/crypto.h"
#include "store/sqlite_store.h"

namespace platops::events {
namespace {

namespace fs = std::filesystem;

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("platops-events-" + RandomHex(6));
    fs::create_directories(dir_);
    auto s = store::OpenSqliteStore({.path = (dir_ / "platops.db").string()});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Migrate(EventLog::Migrations()).ok());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void AppendN(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(store_
                      ->Write([&](store::Tx& tx) -> Status {
                        return log_
                            .Append(tx, {"alice", "service.created", "service",
                                         "svc-" + std::to_string(i % 3),
                                         R"({"n":)" + std::to_string(i) + "}"})
                            .status();
                      })
                      .ok());
      clock_.Advance(std::chrono::seconds(1));
    }
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  FakeClock clock_;
  EventLog log_{clock_};
};

TEST_F(EventLogTest, AppendChainsHashes) {
  AppendN(5);
  std::vector<Event> all;
  ASSERT_TRUE(store_
                  ->Read([&](store::Tx& tx) -> Status {
                    PLATOPS_ASSIGN_OR_RETURN(all, log_.List(tx, {}));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].seq, 1);
  EXPECT_EQ(all[0].prev_hash, EventLog::kGenesisHash);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_EQ(all[i].seq, all[i - 1].seq + 1);
    EXPECT_EQ(all[i].prev_hash, all[i - 1].hash);
    EXPECT_EQ(all[i].hash, EventLog::ComputeHash(all[i]));
  }
  EXPECT_EQ(all[2].actor, "alice");
  EXPECT_EQ(all[2].payload, R"({"n":2})");
  EXPECT_EQ(all[1].time - all[0].time, std::chrono::seconds(1));
}

TEST_F(EventLogTest, ListFilters) {
  AppendN(9);
  std::vector<Event> got;
  ASSERT_TRUE(store_
                  ->Read([&](store::Tx& tx) -> Status {
                    EventQuery q;
                    q.subject_type = "service";
                    q.subject_id = "svc-1";
                    q.after_seq = 2;
                    q.limit = 2;
                    PLATOPS_ASSIGN_OR_RETURN(got, log_.List(tx, q));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].seq, 5);
  EXPECT_EQ(got[1].seq, 8);
}

TEST_F(EventLogTest, RolledBackAppendLeavesNoEvent) {
  AppendN(1);
  Status st = store_->Write([&](store::Tx& tx) -> Status {
    PLATOPS_RETURN_IF_ERROR(log_.Append(tx, {"bob", "team.created", "team", "x", "{}"}).status());
    return InvalidArgument("validation failed later");
  });
  EXPECT_FALSE(st.ok());
  AppendN(1);
  auto report = log_.Verify(*store_);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->checked, 2);
  EXPECT_FALSE(report->first_broken_seq.has_value());
}

TEST_F(EventLogTest, VerifyFindsEditedRow) {
  AppendN(6);
  ASSERT_TRUE(
      store_
          ->Write([&](store::Tx& tx) -> Status {
            return tx.Exec("UPDATE events SET payload = '{\"n\":99}' WHERE seq = 4").status();
          })
          .ok());
  auto report = log_.Verify(*store_);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->checked, 3);
  ASSERT_TRUE(report->first_broken_seq.has_value());
  EXPECT_EQ(*report->first_broken_seq, 4);
}

TEST_F(EventLogTest, VerifyFindsDeletedRow) {
  AppendN(6);
  ASSERT_TRUE(store_
                  ->Write([&](store::Tx& tx) -> Status {
                    return tx.Exec("DELETE FROM events WHERE seq = 3").status();
                  })
                  .ok());
  auto report = log_.Verify(*store_);
  ASSERT_TRUE(report.ok());
  ASSERT_TRUE(report->first_broken_seq.has_value());
  EXPECT_EQ(*report->first_broken_seq, 3);
}

}  // namespace
}  // namespace platops::events
