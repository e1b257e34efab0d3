// Alerts from checks, integration keys and the PagerDuty Events v2 intake.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "alerting/check_alerts.h"
#include "alerting/integration_keys.h"
#include "alerting/pagerduty_intake.h"
#include "alerting/service.h"
#include "events/event_log.h"
#include "testing/temp_store.h"

namespace platops::alerting {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kT0 = Timestamp(std::chrono::milliseconds(1'767'225'600'000));  // 2026-01-01

checks::Monitor::HardView Check(std::string service, std::string name, probe::Outcome state) {
  checks::Monitor::HardView v;
  v.def.service = std::move(service);
  v.def.name = std::move(name);
  v.def.type = checks::CheckType::kHttp;
  v.def.severity = checks::Severity::kCritical;
  v.pending = false;
  v.hard_state = state;
  v.hard_since = kT0;
  v.message = "HTTP 503";
  return v;
}

std::vector<std::string> Describe(const std::vector<Alert>& alerts, Timestamp now) {
  std::vector<std::string> out;
  for (const auto& a : alerts) {
    out.push_back(std::string(a.labels.Get("check")) + (a.Resolved(now) ? " resolved" : " firing"));
  }
  return out;
}

TEST(CheckAlertSyncTest, AHardProblemFiresCheckFailedWithTheCheckLabels) {
  CheckAlertSync sync({.resend_interval = seconds(60), .external_url = "http://platops:9470"});
  auto alerts = sync.Sync({Check("web", "home", probe::Outcome::kCritical),
                           Check("web", "api", probe::Outcome::kOk)},
                          kT0);
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& a = alerts[0];
  EXPECT_EQ(a.labels, (LabelSet{{"alertname", "CheckFailed"},
                                {"service", "web"},
                                {"check", "web.home"},
                                {"kind", "http"},
                                {"severity", "critical"}}));
  EXPECT_EQ(a.annotations.Get("summary"), "Check web.home is CRITICAL");
  EXPECT_EQ(a.annotations.Get("description"), "HTTP 503");
  EXPECT_EQ(a.starts_at, kT0);
  EXPECT_EQ(a.ends_at, kT0 + minutes(4));  // four resend intervals ahead
  EXPECT_EQ(a.generator_url, "http://platops:9470/api/v1/checks/web.home");
}

TEST(CheckAlertSyncTest, FiringAlertsAreResentAndRecoveryResolvesThem) {
  CheckAlertSync sync;
  auto failing = Check("web", "home", probe::Outcome::kCritical);
  EXPECT_THAT(Describe(sync.Sync({failing}, kT0), kT0), ElementsAre("web.home firing"));
  const Timestamp t1 = kT0 + minutes(1);
  auto again = sync.Sync({failing}, t1);
  EXPECT_THAT(Describe(again, t1), ElementsAre("web.home firing"));
  EXPECT_EQ(again[0].ends_at, t1 + minutes(4));
  const Timestamp t2 = kT0 + minutes(2);
  EXPECT_THAT(Describe(sync.Sync({Check("web", "home", probe::Outcome::kOk)}, t2), t2),
              ElementsAre("web.home resolved"));
  EXPECT_THAT(sync.Sync({Check("web", "home", probe::Outcome::kOk)}, t2), IsEmpty());
  EXPECT_EQ(sync.firing(), 0u);
}

TEST(CheckAlertSyncTest, ADeletedCheckResolvesAndPendingChecksRaiseNothing) {
  CheckAlertSync sync;
  auto pending = Check("web", "new", probe::Outcome::kCritical);
  pending.pending = true;
  EXPECT_THAT(Describe(sync.Sync({Check("web", "home", probe::Outcome::kWarning), pending}, kT0),
                       kT0),
              ElementsAre("web.home firing"));
  EXPECT_THAT(Describe(sync.Sync({}, kT0 + seconds(1)), kT0 + seconds(1)),
              ElementsAre("web.home resolved"));
}

TEST(CheckAlertSyncTest, MaintenanceAndSuppressionRaiseNothingButKeepWhatFires) {
  CheckAlertSync sync;
  auto in_window = Check("db", "ping", probe::Outcome::kCritical);
  in_window.in_maintenance = true;
  auto suppressed = Check("web", "home", probe::Outcome::kCritical);
  suppressed.suppressed_by = "db.ping";
  EXPECT_THAT(sync.Sync({in_window, suppressed}, kT0), IsEmpty());

  // Still failing once the window ends: it fires then.
  in_window.in_maintenance = false;
  EXPECT_THAT(Describe(sync.Sync({in_window, suppressed}, kT0 + minutes(1)), kT0 + minutes(1)),
              ElementsAre("db.ping firing"));
  // A window starting while it fires does not resolve it (the window mutes notifications).
  in_window.in_maintenance = true;
  EXPECT_THAT(Describe(sync.Sync({in_window, suppressed}, kT0 + minutes(2)), kT0 + minutes(2)),
              ElementsAre("db.ping firing"));
}

TEST(CheckAlertSyncTest, TheChecksLabelsComeAlongAndDisabledChecksResolve) {
  CheckAlertSync sync;
  auto c = Check("web", "home", probe::Outcome::kCritical);
  c.def.labels = {{"env", "prod"}, {"severity", "ignored"}, {"alertname", "ignored"}};
  auto alerts = sync.Sync({c}, kT0);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].labels.Get("env"), "prod");
  EXPECT_EQ(alerts[0].labels.Get("severity"), "critical");
  EXPECT_EQ(alerts[0].labels.Get("alertname"), "CheckFailed");
  c.def.enabled = false;
  EXPECT_THAT(Describe(sync.Sync({c}, kT0 + minutes(1)), kT0 + minutes(1)),
              ElementsAre("web.home resolved"));
}

TEST(CheckAlertSyncTest, ChangedLabelsResolveTheOldAlertAndFireTheNewOne) {
  CheckAlertSync sync;
  auto c = Check("web", "home", probe::Outcome::kCritical);
  sync.Sync({c}, kT0);
  c.def.severity = checks::Severity::kWarning;
  auto alerts = sync.Sync({c}, kT0 + minutes(1));
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].labels.Get("severity"), "warning");
  EXPECT_FALSE(alerts[0].Resolved(kT0 + minutes(1)));
  EXPECT_EQ(alerts[1].labels.Get("severity"), "critical");
  EXPECT_TRUE(alerts[1].Resolved(kT0 + minutes(1)));
}

std::vector<store::Migration> Migrations() {
  auto m = events::EventLog::Migrations();
  for (auto& x : IntegrationKeys::Migrations()) m.push_back(x);
  for (auto& x : PagerDutyIntake::Migrations()) m.push_back(x);
  for (auto& x : AlertingService::Migrations()) m.push_back(x);
  return m;
}

class PagerDutyIntakeTest : public ::testing::Test {
 protected:
  PagerDutyIntakeTest() {
    EXPECT_TRUE(keys_.Load().ok());
    EXPECT_TRUE(alerting_.Load().ok());
    auto k = keys_.Create("alice", "payments", "grafana");
    EXPECT_TRUE(k.ok());
    key_ = k->routing_key;
  }

  std::string Event(std::string_view action, std::string_view dedup,
                    std::string_view extra = "") {
    return fmt::format(
        R"({{"routing_key":"{}","event_action":"{}"{}{},"payload":{{"summary":"Disk full",)"
        R"("source":"db-1","severity":"critical","custom_details":{{"free":"0%"}}}}}})",
        key_, action, dedup.empty() ? "" : fmt::format(R"(,"dedup_key":"{}")", dedup), extra);
  }

  std::vector<AlertView> Alerts() { return alerting_.ListAlerts({}); }

  FakeClock clock_{kT0};
  testing::TempStore store_{Migrations()};
  events::EventLog log_{clock_};
  IntegrationKeys keys_{store_.store(), log_, clock_};
  AlertingService alerting_{store_.store(), clock_};
  std::string key_;
};

TEST_F(PagerDutyIntakeTest, KeysAreShownOnceAndFoundByTheirHash) {
  EXPECT_EQ(key_.size(), 32u);
  auto listed = keys_.List("payments");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, "grafana");
  EXPECT_TRUE(listed[0].routing_key.empty());
  EXPECT_EQ(listed[0].hint, key_.substr(28));
  auto found = keys_.Lookup(key_);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->service, "payments");
  EXPECT_FALSE(keys_.Lookup(std::string(32, 'a')).has_value());
  // The store holds no key in clear.
  bool clear = false;
  ASSERT_TRUE(store_.store()
                  .Read([&](store::Tx& tx) -> Status {
                    auto rows = tx.Query("SELECT * FROM integration_keys");
                    for (const auto& r : *rows) {
                      for (size_t i = 0; i < r.size(); ++i) clear |= r.Text(i) == key_;
                    }
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_FALSE(clear);
  // A restart reads them back.
  IntegrationKeys again(store_.store(), log_, clock_);
  ASSERT_TRUE(again.Load().ok());
  EXPECT_TRUE(again.Lookup(key_).has_value());
  // Deleted: events with it are refused.
  ASSERT_TRUE(keys_.Delete("alice", listed[0].id).ok());
  EXPECT_FALSE(keys_.Lookup(key_).has_value());
  EXPECT_EQ(keys_.Delete("alice", listed[0].id).code(), StatusCode::kNotFound);
  EXPECT_EQ(keys_.Create("alice", "payments", "").status().field(), "name");
}

TEST_F(PagerDutyIntakeTest, TriggerAcknowledgeResolveByDedupKey) {
  PagerDutyIntake intake(store_.store(), keys_, alerting_, clock_);
  ASSERT_TRUE(intake.Load().ok());
  auto [status, body] = intake.Handle(Event("trigger", "disk-db-1"));
  EXPECT_EQ(status, 202);
  EXPECT_EQ(body, R"({"status":"success","message":"Event processed","dedup_key":"disk-db-1"})");
  auto alerts = Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  const Alert& a = alerts[0].alert();
  EXPECT_EQ(a.labels, (LabelSet{{"alertname", "PagerDutyEvent"},
                                {"service", "payments"},
                                {"integration", "grafana"},
                                {"dedup_key", "disk-db-1"},
                                {"severity", "critical"},
                                {"source", "db-1"}}));
  EXPECT_EQ(a.annotations.Get("summary"), "Disk full");
  EXPECT_EQ(a.annotations.Get("custom_details"), R"({"free":"0%"})");

  // Open until resolved: an hour later (no re-send) it still fires.
  clock_.Advance(std::chrono::hours(1));
  EXPECT_EQ(Alerts().size(), 1u);
  // A second trigger with the same key is deduplicated into it.
  EXPECT_EQ(intake.Handle(Event("trigger", "disk-db-1")).first, 202);
  EXPECT_EQ(Alerts().size(), 1u);
  EXPECT_EQ(intake.open_count(), 1u);
  EXPECT_EQ(intake.Handle(Event("acknowledge", "disk-db-1")).first, 202);
  EXPECT_EQ(Alerts()[0].alert().annotations.Get("acknowledged"), "2026-01-01T01:00:00Z");
  EXPECT_EQ(intake.Handle(Event("resolve", "disk-db-1")).first, 202);
  EXPECT_THAT(Alerts(), IsEmpty());
  EXPECT_EQ(intake.open_count(), 0u);
  // Resolve of an unknown key: accepted, nothing changes.
  EXPECT_EQ(intake.Handle(Event("resolve", "nothing")).first, 202);
  // A trigger after the resolve opens a new alert.
  EXPECT_EQ(intake.Handle(Event("trigger", "disk-db-1")).first, 202);
  EXPECT_EQ(Alerts().size(), 1u);
}

TEST_F(PagerDutyIntakeTest, ATriggerWithoutDedupKeyGetsOne) {
  PagerDutyIntake intake(store_.store(), keys_, alerting_, clock_);
  auto [status, body] = intake.Handle(Event("trigger", ""));
  EXPECT_EQ(status, 202);
  auto v = boost::json::parse(body);
  const std::string dedup(v.at("dedup_key").as_string());
  EXPECT_EQ(dedup.size(), 32u);
  ASSERT_EQ(Alerts().size(), 1u);
  EXPECT_EQ(Alerts()[0].alert().labels.Get("dedup_key"), dedup);
}

TEST_F(PagerDutyIntakeTest, InvalidEventsAndUnknownKeysAre400AndChangeNothing) {
  PagerDutyIntake intake(store_.store(), keys_, alerting_, clock_);
  auto [status, body] = intake.Handle(R"({"routing_key":"short","event_action":"trigger"})");
  EXPECT_EQ(status, 400);
  EXPECT_THAT(body, HasSubstr(R"("status":"invalid event")"));
  EXPECT_THAT(body, HasSubstr("Length of 'routing_key' is incorrect"));
  key_ = std::string(32, 'b');
  auto unknown = intake.Handle(Event("trigger", "x"));
  EXPECT_EQ(unknown.first, 400);
  EXPECT_THAT(unknown.second, HasSubstr("not an integration key"));
  EXPECT_THAT(Alerts(), IsEmpty());
  EXPECT_EQ(intake.open_count(), 0u);
}

TEST_F(PagerDutyIntakeTest, RevokingAKeyResolvesItsOpenAlerts) {
  PagerDutyIntake intake(store_.store(), keys_, alerting_, clock_);
  ASSERT_EQ(intake.Handle(Event("trigger", "a")).first, 202);
  ASSERT_EQ(Alerts().size(), 1u);
  ASSERT_TRUE(intake.ResolveRevoked().ok());
  EXPECT_EQ(Alerts().size(), 1u);  // the key still exists
  ASSERT_TRUE(keys_.Delete("alice", keys_.List("payments")[0].id).ok());
  ASSERT_TRUE(intake.ResolveRevoked().ok());
  EXPECT_THAT(Alerts(), IsEmpty());
  EXPECT_EQ(intake.open_count(), 0u);
  // Nothing comes back after a restart.
  AlertingService fresh(store_.store(), clock_);
  PagerDutyIntake again(store_.store(), keys_, fresh, clock_);
  ASSERT_TRUE(again.Load().ok());
  EXPECT_THAT(fresh.ListAlerts({}), IsEmpty());
}

TEST_F(PagerDutyIntakeTest, OpenAlertsComeBackAfterARestart) {
  {
    PagerDutyIntake intake(store_.store(), keys_, alerting_, clock_);
    ASSERT_EQ(intake.Handle(Event("trigger", "a")).first, 202);
    ASSERT_EQ(intake.Handle(Event("trigger", "b")).first, 202);
    ASSERT_EQ(intake.Handle(Event("resolve", "b")).first, 202);
  }
  AlertingService fresh(store_.store(), clock_);
  ASSERT_TRUE(fresh.Load().ok());
  PagerDutyIntake intake(store_.store(), keys_, fresh, clock_);
  ASSERT_TRUE(intake.Load().ok());
  auto alerts = fresh.ListAlerts({});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].alert().labels.Get("dedup_key"), "a");
  EXPECT_EQ(alerts[0].alert().starts_at, kT0);
  // And it can still be resolved by its key.
  EXPECT_EQ(intake.Handle(Event("resolve", "a")).first, 202);
  EXPECT_THAT(fresh.ListAlerts({}), IsEmpty());
}

}  // namespace
}  // namespace platops::alerting
