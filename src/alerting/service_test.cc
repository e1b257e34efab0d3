#include "alerting/service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "alerting/outbox.h"
#include "testing/temp_store.h"

namespace platops::alerting {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

const Timestamp kT0 = Timestamp(milliseconds(1'767'225'600'000));  // 2026-01-01T00:00:00Z

Alert Firing(LabelSet labels) {
  Alert a;
  a.labels = std::move(labels);
  return a;
}

Matcher M(MatchType t, std::string name, std::string value) {
  return *Matcher::Create(t, std::move(name), std::move(value));
}

class AlertingServiceTest : public ::testing::Test {
 protected:
  AlertingServiceTest() { EXPECT_TRUE(service_->Load().ok()); }

  void Route(std::string_view route_json, std::vector<std::string> receivers,
             std::vector<InhibitRule> rules = {}) {
    std::set<std::string> names(receivers.begin(), receivers.end());
    auto root = ParseRouteTree(boost::json::parse(route_json), names, {});
    ASSERT_TRUE(root.ok()) << root.status().message();
    service_->SetRouting(std::move(root).value(), std::move(receivers), std::move(rules));
  }

  Silence NewSilence(std::vector<Matcher> matchers, Timestamp end) {
    Silence s;
    s.matchers = std::move(matchers);
    s.starts_at = clock_.Now();
    s.ends_at = end;
    s.created_by = "alice";
    s.comment = "maintenance";
    return s;
  }

  FakeClock clock_{kT0};
  testing::TempStore store_{AlertingService::Migrations()};
  std::unique_ptr<AlertingService> service_ =
      std::make_unique<AlertingService>(store_.store(), clock_);
};

TEST_F(AlertingServiceTest, ValidAlertsAreStoredAndTheOthersRefusedTogether) {
  Status st = service_->PostAlerts({Firing({{"alertname", "Down"}, {"job", "node"}}),
                                    Firing({{"0bad", "x"}}), Firing({})});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "invalid label set: invalid name \"0bad\"; at least one label pair required");
  auto alerts = service_->ListAlerts({});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].alert().labels.Get("alertname"), "Down");
  EXPECT_EQ(alerts[0].alert().ends_at, kT0 + minutes(5));  // resolve_timeout
  EXPECT_THAT(alerts[0].receivers, ElementsAre("default"));
  // resolve_timeout passes: the alert is resolved and no longer listed.
  clock_.Advance(minutes(5));
  EXPECT_THAT(service_->ListAlerts({}), IsEmpty());
  service_->GC();
  EXPECT_EQ(service_->alert_count(), 0u);
}

TEST_F(AlertingServiceTest, TooManyLabelsAndAFullStoreAreRefusedWithoutLosingWhatIsHeld) {
  AlertingOptions options;
  options.max_alerts = 2;
  options.max_labels_per_alert = 3;
  service_ = std::make_unique<AlertingService>(store_.store(), clock_, options);
  ASSERT_TRUE(service_->PostAlerts({Firing({{"alertname", "A"}}), Firing({{"alertname", "B"}})})
                  .ok());
  Status full = service_->PostAlerts({Firing({{"alertname", "C"}})});
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(service_->alert_count(), 2u);
  // An alert already held may still be updated.
  EXPECT_TRUE(service_->PostAlerts({Firing({{"alertname", "A"}})}).ok());
  Status wide = service_->PostAlerts({Firing({{"alertname", "A"}, {"a", "1"}, {"b", "2"}, {"c", "3"}})});
  EXPECT_EQ(wide.message(), "too many labels: 4 (the limit is 3)");
}

TEST_F(AlertingServiceTest, SilencesMuteMatchingAlertsAndFiltersSeeIt) {
  ASSERT_TRUE(service_->PostAlerts({Firing({{"alertname", "Down"}, {"instance", "a"}}),
                                    Firing({{"alertname", "Down"}, {"instance", "b"}})})
                  .ok());
  auto id = service_->SetSilence(NewSilence({M(MatchType::kEqual, "instance", "a")}, kT0 + hours(1)),
                                 "");
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto all = service_->ListAlerts({});
  ASSERT_EQ(all.size(), 2u);
  const AlertView& a = all[0].alert().labels.Get("instance") == "a" ? all[0] : all[1];
  EXPECT_THAT(a.silenced_by, ElementsAre(*id));
  EXPECT_TRUE(a.suppressed());
  AlertFilter unsilenced;
  unsilenced.silenced = false;
  auto shown = service_->ListAlerts(unsilenced);
  ASSERT_EQ(shown.size(), 1u);
  EXPECT_EQ(shown[0].alert().labels.Get("instance"), "b");
  AlertFilter suppressed_only;
  suppressed_only.active = false;
  ASSERT_EQ(service_->ListAlerts(suppressed_only).size(), 1u);
  // The silence shows how many current alerts it matches.
  EXPECT_EQ(service_->GetSilence(*id)->matched_alerts, 1u);
  // Expired: the alert is active again.
  clock_.Advance(minutes(1));
  ASSERT_TRUE(service_->ExpireSilence(*id).ok());
  EXPECT_EQ(service_->ListAlerts(unsilenced).size(), 2u);
  EXPECT_EQ(service_->ExpireSilence(*id).code(), StatusCode::kConflict);
  EXPECT_EQ(service_->ExpireSilence("nope").code(), StatusCode::kNotFound);
}

TEST_F(AlertingServiceTest, SilencesSurviveARestartWithTheirRecurrence) {
  Silence s = NewSilence({M(MatchType::kRegex, "job", "batch|etl")}, kT0 + hours(24 * 30));
  RecurringSchedule schedule;
  auto interval = ParseTimeInterval(
      boost::json::parse(R"({"times":[{"start_time":"01:00","end_time":"03:00"}]})"));
  ASSERT_TRUE(interval.ok());
  schedule.intervals.push_back(*interval);
  s.recurrence = schedule;
  const std::string recurrence =
      R"({"timeIntervals":[{"times":[{"start_time":"01:00","end_time":"03:00"}]}]})";
  auto id = service_->SetSilence(s, recurrence);
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto plain = service_->SetSilence(NewSilence({M(MatchType::kEqual, "a", "b")}, kT0 + hours(2)), "");
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(service_->ExpireSilence(*plain).ok());

  service_.reset();
  store_.Reopen(AlertingService::Migrations());
  service_ = std::make_unique<AlertingService>(store_.store(), clock_);
  ASSERT_TRUE(service_->Load().ok());
  auto silences = service_->ListSilences({});
  ASSERT_EQ(silences.size(), 2u);
  EXPECT_EQ(silences[0].silence.id, *id);  // Active first, then expired.
  EXPECT_EQ(silences[0].recurrence_json, recurrence);
  ASSERT_TRUE(silences[0].silence.recurrence.has_value());
  EXPECT_EQ(silences[0].silence.matchers[0].String(), "job=~\"batch|etl\"");
  EXPECT_EQ(silences[1].silence.id, *plain);
  EXPECT_EQ(StateAt(silences[1].silence, clock_.Now()), SilenceState::kExpired);
  // Recurring: muting only inside 01:00-03:00 UTC.
  ASSERT_TRUE(service_->PostAlerts({Firing({{"alertname", "Slow"}, {"job", "etl"}})}).ok());
  EXPECT_THAT(service_->ListAlerts({})[0].silenced_by, IsEmpty());
  clock_.Set(kT0 + hours(1) + minutes(30));
  ASSERT_TRUE(service_->PostAlerts({Firing({{"alertname", "Slow"}, {"job", "etl"}})}).ok());
  EXPECT_THAT(service_->ListAlerts({})[0].silenced_by, ElementsAre(*id));
}

TEST_F(AlertingServiceTest, InhibitionAndRoutingShowInTheAlertsAndGroups) {
  InhibitRule rule;
  rule.source_matchers = {M(MatchType::kEqual, "severity", "critical")};
  rule.target_matchers = {M(MatchType::kEqual, "severity", "warning")};
  rule.equal = {"cluster"};
  Route(R"({"receiver":"default","group_by":["alertname"],
            "routes":[{"matchers":["team=\"db\""],"receiver":"db-pager","continue":true},
                      {"matchers":["team=\"db\""],"receiver":"db-chat"}]})",
        {"default", "db-pager", "db-chat"}, {rule});
  ASSERT_TRUE(service_
                  ->PostAlerts({Firing({{"alertname", "DbDown"}, {"cluster", "eu"},
                                        {"severity", "critical"}, {"team", "db"}}),
                                Firing({{"alertname", "DbSlow"}, {"cluster", "eu"},
                                        {"severity", "warning"}, {"team", "db"}}),
                                Firing({{"alertname", "DbSlow"}, {"cluster", "us"},
                                        {"severity", "warning"}, {"team", "db"}})})
                  .ok());
  auto alerts = service_->ListAlerts({});
  ASSERT_EQ(alerts.size(), 3u);
  for (const auto& v : alerts) {
    EXPECT_THAT(v.receivers, ElementsAre("db-pager", "db-chat"));
    const bool inhibited = v.alert().labels.Get("alertname") == "DbSlow" &&
                           v.alert().labels.Get("cluster") == "eu";
    EXPECT_EQ(v.inhibited_by.empty(), !inhibited) << ToString(v.alert().labels);
  }
  AlertFilter to_chat;
  to_chat.receiver = M(MatchType::kRegex, "receiver", "db-ch.*");
  auto groups = service_->ListAlertGroups(to_chat);
  ASSERT_EQ(groups.size(), 2u);  // DbDown and DbSlow, to db-chat only.
  for (const auto& g : groups) {
    EXPECT_EQ(g.receiver, "db-chat");
    EXPECT_EQ(g.labels.size(), 1u);
  }
  size_t n = 0;
  for (const auto& g : groups) n += g.alerts.size();
  EXPECT_EQ(n, 3u);
}

TEST_F(AlertingServiceTest, InhibitionRulesLoadedLaterApplyToAlertsAlreadyHeld) {
  ASSERT_TRUE(service_->PostAlerts({Firing({{"alertname", "DbDown"}, {"severity", "critical"}}),
                                    Firing({{"alertname", "DbSlow"}, {"severity", "warning"}})})
                  .ok());
  InhibitRule rule;
  rule.source_matchers = {M(MatchType::kEqual, "severity", "critical")};
  rule.target_matchers = {M(MatchType::kEqual, "severity", "warning")};
  Route(R"({"receiver":"default"})", {"default"}, {rule});
  AlertFilter uninhibited;
  uninhibited.inhibited = false;
  auto shown = service_->ListAlerts(uninhibited);
  ASSERT_EQ(shown.size(), 1u);
  EXPECT_EQ(shown[0].alert().labels.Get("alertname"), "DbDown");
}

std::vector<store::Migration> WithOutbox() {
  auto m = AlertingService::Migrations();
  for (auto& x : Outbox::Migrations()) m.push_back(x);
  return m;
}

// Routes everything to `receiver` (route options in `route_json`, which names it) whose
// notifications go to `outbox`, sealed with `box` when given.
void UseReceiver(AlertingService& service, Outbox& outbox, std::string_view route_json,
                 Receiver receiver, std::string external_url = "",
                 const SecretBox* box = nullptr) {
  auto root = ParseRouteTree(boost::json::parse(route_json), {receiver.name}, {});
  ASSERT_TRUE(root.ok()) << root.status().message();
  service.SetRouting(std::move(root).value(), {receiver.name}, {});
  service.SetIntegrations({std::move(receiver)}, {}, std::move(external_url));
  if (box != nullptr) service.SetSecretBox(box);
  service.AttachOutbox(&outbox);
}

// The same with one webhook receiver "hook".
void UseHook(AlertingService& service, Outbox& outbox, std::string_view route_json,
             std::string external_url = "") {
  Receiver hook;
  hook.name = "hook";
  WebhookConfig w;
  w.url.value = "http://127.0.0.1:9/hook";
  hook.webhook_configs.push_back(w);
  UseReceiver(service, outbox, route_json, std::move(hook), std::move(external_url));
}

TEST(AlertingDispatchTest, GroupsAreNotifiedThroughTheOutboxAsAlertmanagerWould) {
  FakeClock clock(kT0);
  testing::TempStore store(WithOutbox());
  AlertingService service(store.store(), clock);
  Outbox outbox(store.store());
  UseHook(service, outbox,
          R"({"receiver":"hook","group_by":["alertname"],"group_interval":"1m",
              "repeat_interval":"1h"})",
          "http://platops:9470");
  auto notifications = [&] {
    auto page = outbox.ListNotifications({}, 100);
    EXPECT_TRUE(page.ok());
    std::vector<std::string> bodies;
    for (const auto& row : page->items) bodies.push_back(row.request);
    std::reverse(bodies.begin(), bodies.end());  // Oldest first.
    return bodies;
  };

  ASSERT_TRUE(service.PostAlerts({Firing({{"alertname", "Down"}, {"instance", "a"}})}).ok());
  EXPECT_EQ(service.group_count(), 1u);
  EXPECT_EQ(service.Dispatch(kT0), kT0 + std::chrono::seconds(30));  // group_wait
  EXPECT_THAT(notifications(), IsEmpty());
  clock.Set(kT0 + std::chrono::seconds(30));
  service.Dispatch(clock.Now());
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_THAT(sent[0], HasSubstr("\"receiver\":\"hook\",\"status\":\"firing\""));
  EXPECT_THAT(sent[0], HasSubstr("\"groupKey\":\"{}:{alertname=\\\"Down\\\"}\""));
  EXPECT_THAT(sent[0], HasSubstr("\"externalURL\":\"http://platops:9470\""));

  // A second alert of the group goes out at the next group_interval; nothing before.
  clock.Set(kT0 + std::chrono::seconds(40));
  ASSERT_TRUE(service.PostAlerts({Firing({{"alertname", "Down"}, {"instance", "b"}})}).ok());
  service.Dispatch(clock.Now());
  EXPECT_EQ(notifications().size(), 1u);
  clock.Set(kT0 + std::chrono::seconds(90));
  service.Dispatch(clock.Now());
  sent = notifications();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_THAT(sent[1], HasSubstr("\"instance\":\"b\""));

  // Silenced alerts are left out: silencing both means nothing more is sent.
  Silence s;
  s.matchers = {M(MatchType::kEqual, "alertname", "Down")};
  s.starts_at = clock.Now();
  s.ends_at = clock.Now() + hours(1);
  s.created_by = "a";
  s.comment = "c";
  ASSERT_TRUE(service.SetSilence(s, "").ok());
  // Resolution of one alert while silenced.
  Alert resolved = Firing({{"alertname", "Down"}, {"instance", "a"}});
  resolved.ends_at = clock.Now();
  ASSERT_TRUE(service.PostAlerts({resolved}).ok());
  clock.Set(kT0 + std::chrono::seconds(150));
  service.Dispatch(clock.Now());
  EXPECT_EQ(notifications().size(), 2u);
}

// One integration of a receiver that cannot be stored fails the flush, which is decided again at
// the next group_interval; the integrations stored the first time are not notified again.
TEST(AlertingDispatchTest, AFlushDecidedAgainAfterAFailedEnqueueSendsNothingTwice) {
  FakeClock clock(kT0);
  testing::TempStore store(WithOutbox());
  AlertingService service(store.store(), clock);
  Outbox outbox(store.store());
  Receiver hook;
  hook.name = "hook";
  WebhookConfig good;
  good.url.value = "http://127.0.0.1:9/hook";
  WebhookConfig broken;  // no URL and no secret box: a row without a target, refused
  hook.webhook_configs = {good, broken};
  UseReceiver(service, outbox, R"({"receiver":"hook","group_wait":"0s","group_interval":"1m"})",
              hook);
  auto rows = [&] { return outbox.ListNotifications({}, 100)->items.size(); };

  ASSERT_TRUE(service.PostAlerts({Firing({{"alertname", "Down"}})}).ok());
  service.Dispatch(clock.Now());
  EXPECT_EQ(rows(), 1u);
  for (int i = 1; i <= 3; ++i) {
    clock.Set(kT0 + std::chrono::minutes(i));
    service.Dispatch(clock.Now());
  }
  EXPECT_EQ(rows(), 1u);  // decided again three times, stored once
  // A changed group is another notification.
  ASSERT_TRUE(service.PostAlerts({Firing({{"alertname", "Down"}, {"instance", "b"}})}).ok());
  clock.Set(kT0 + std::chrono::minutes(4));
  service.Dispatch(clock.Now());
  EXPECT_EQ(rows(), 2u);
}

TEST(NotificationKeySeedTest, SameContentSameSeedUntilTheGroupIsNotified) {
  Notification n;
  n.firing.push_back(GroupAlert{.fingerprint = 1});
  n.firing.push_back(GroupAlert{.fingerprint = 2});
  const std::string seed = NotificationKeySeed(n, std::nullopt);
  EXPECT_EQ(NotificationKeySeed(n, std::nullopt), seed);
  Notification other = n;
  other.firing.pop_back();
  EXPECT_NE(NotificationKeySeed(other, std::nullopt), seed);
  Notification moved = n;  // the same alert resolved is another notification
  moved.resolved.push_back(moved.firing.back());
  moved.firing.pop_back();
  EXPECT_NE(NotificationKeySeed(moved, std::nullopt), seed);
  NotificationLogEntry last;
  last.timestamp = kT0;
  EXPECT_NE(NotificationKeySeed(n, last), seed);
}

// An alert whose service is in a maintenance window is not notified; after the window it is.
TEST(AlertingDispatchTest, MaintenanceWindowsOfTheServiceMuteItsAlerts) {
  FakeClock clock(kT0);
  testing::TempStore store(WithOutbox());
  AlertingService service(store.store(), clock);
  Outbox outbox(store.store());
  UseHook(service, outbox,
          R"({"receiver":"hook","group_by":["service"],"group_wait":"0s","group_interval":"1m"})");
  const Timestamp window_end = kT0 + minutes(10);
  std::vector<std::string> asked;
  service.SetMaintenanceLookup([&](const std::string& svc, const LabelSet& labels, Timestamp t) {
    asked.push_back(svc + "/" + std::string(labels.Get("alertname")));
    std::vector<std::string> out;
    if (svc == "db" && t < window_end) out.push_back("db-upgrade");
    return out;
  });
  auto sent = [&] {
    std::vector<std::string> services;
    auto page = outbox.ListNotifications({}, 100);
    for (const auto& row : page->items) {
      auto v = boost::json::parse(row.request);
      services.push_back(std::string(v.at("groupLabels").at("service").as_string()));
    }
    return services;
  };
  Alert db = Firing({{"alertname", "Down"}, {"service", "db"}});
  db.ends_at = kT0 + hours(1);
  Alert web = Firing({{"alertname", "Down"}, {"service", "web"}});
  web.ends_at = kT0 + hours(1);
  ASSERT_TRUE(service.PostAlerts({db, web}).ok());
  service.Dispatch(kT0);
  EXPECT_THAT(sent(), ElementsAre("web"));
  EXPECT_THAT(asked, ::testing::Contains("db/Down"));
  // After the window the db group's next flush notifies it.
  clock.Set(window_end + minutes(1));
  service.Dispatch(clock.Now());
  EXPECT_THAT(sent(), ::testing::UnorderedElementsAre("web", "db"));
}

// The notification log is stored: after a restart the same firing group is not notified again
// until its repeat_interval has passed.
TEST(AlertingDispatchTest, ARestartDoesNotRepeatANotification) {
  FakeClock clock(kT0);
  testing::TempStore store(WithOutbox());
  Outbox outbox(store.store());
  auto make = [&] {
    auto service = std::make_unique<AlertingService>(store.store(), clock);
    EXPECT_TRUE(service->Load().ok());
    UseHook(*service, outbox, R"({"receiver":"hook","group_wait":"0s","repeat_interval":"1h"})");
    return service;
  };
  auto count = [&] { return outbox.ListNotifications({}, 100)->items.size(); };
  auto service = make();
  ASSERT_TRUE(service->PostAlerts({Firing({{"alertname", "Down"}})}).ok());
  service->Dispatch(clock.Now());
  ASSERT_EQ(count(), 1u);

  service.reset();  // A restart: alerts are re-sent by Prometheus, groups are new.
  clock.Advance(minutes(2));
  service = make();
  ASSERT_TRUE(service->PostAlerts({Firing({{"alertname", "Down"}})}).ok());
  service->Dispatch(clock.Now());
  EXPECT_EQ(count(), 1u);
  // Past repeat_interval the unchanged group is notified again.
  clock.Advance(hours(1));
  ASSERT_TRUE(service->PostAlerts({Firing({{"alertname", "Down"}})}).ok());
  service->Dispatch(clock.Now() + std::chrono::minutes(5));
  EXPECT_EQ(count(), 2u);
}

}  // namespace
}  // namespace platops::alerting

namespace platops::alerting {
namespace {

std::vector<store::Migration> WithHistory() {
  auto m = WithOutbox();
  for (auto& x : AlertHistory::Migrations()) m.push_back(x);
  return m;
}

std::vector<std::string> History(const AlertHistory& history) {
  auto page = history.Query({}, 100);
  EXPECT_TRUE(page.ok());
  std::vector<std::string> out;
  for (const auto& t : page->items) {
    out.push_back(std::string(t.labels.Get("alertname")) + " " +
                  std::string(TransitionStateName(t.state)) + " " + t.source +
                  (t.flapping ? " flapping" : ""));
  }
  return out;
}

TEST(AlertingHistoryTest, EveryFiringAndResolvedTransitionIsRecorded) {
  FakeClock clock(kT0);
  testing::TempStore store(WithHistory());
  AlertHistory history(store.store());
  AlertingService service(store.store(), clock);
  ASSERT_TRUE(service.Load().ok());
  ASSERT_TRUE(service.AttachHistory(&history).ok());

  ASSERT_TRUE(service.PostAlerts({Firing({{"alertname", "Down"}})}, "rule").ok());
  ASSERT_TRUE(service.PostAlerts({Firing({{"alertname", "Down"}})}, "rule").ok());  // no change
  Alert resolved = Firing({{"alertname", "Down"}});
  resolved.ends_at = kT0;
  ASSERT_TRUE(service.PostAlerts({resolved}, "rule").ok());
  // Posted without an end: it resolves by time-out after resolve_timeout (5 min).
  ASSERT_TRUE(service.PostAlerts({Firing({{"alertname", "Slow"}})}).ok());
  ASSERT_TRUE(service.FlushHistory().ok());
  EXPECT_THAT(History(history), ElementsAre("Slow firing api", "Down resolved rule",
                                            "Down firing rule"));
  clock.Advance(minutes(6));
  service.GC();
  ASSERT_TRUE(service.FlushHistory().ok());
  auto page = history.Query({}, 1);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].labels.Get("alertname"), "Slow");
  EXPECT_EQ(page->items[0].state, TransitionState::kResolved);
  EXPECT_EQ(page->items[0].at, kT0 + minutes(5));  // at its end, not when it was noticed
}

TEST(AlertingHistoryTest, ARestartRecordsNoSecondFiringForAnAlertSentAgain) {
  FakeClock clock(kT0);
  testing::TempStore store(WithHistory());
  AlertHistory history(store.store());
  {
    AlertingService service(store.store(), clock);
    ASSERT_TRUE(service.AttachHistory(&history).ok());
    ASSERT_TRUE(service.PostAlerts({Firing({{"alertname", "Down"}})}, "rule").ok());
    ASSERT_TRUE(service.FlushHistory().ok());
  }
  clock.Advance(minutes(1));
  AlertingService service(store.store(), clock);
  ASSERT_TRUE(service.AttachHistory(&history).ok());
  ASSERT_TRUE(service.PostAlerts({Firing({{"alertname", "Down"}})}, "rule").ok());
  ASSERT_TRUE(service.FlushHistory().ok());
  EXPECT_THAT(History(history), ElementsAre("Down firing rule"));
}

// An alert that keeps firing and resolving is held firing and marked instead of notifying every
// change; once it settles its resolve goes out.
TEST(AlertingHistoryTest, AFlappingAlertIsHeldFiringAndMarked) {
  FakeClock clock(kT0);
  testing::TempStore store(WithHistory());
  AlertHistory history(store.store());
  AlertingService service(store.store(), clock);
  Outbox outbox(store.store());
  UseHook(service, outbox, R"({"receiver":"hook","group_wait":"0s","group_interval":"1m"})");
  ASSERT_TRUE(service
                  .AttachHistory(&history, FlapOptions{.max_transitions = 2,
                                                       .window = minutes(30),
                                                       .settle = minutes(10)})
                  .ok());
  auto last = [&] {
    auto page = outbox.ListNotifications({}, 1);
    EXPECT_TRUE(page.ok());
    return page->items.empty() ? std::string() : page->items[0].request;
  };
  auto post = [&](bool firing) {
    Alert a = Firing({{"alertname", "Flappy"}});
    a.ends_at = firing ? clock.Now() + hours(1) : clock.Now();
    ASSERT_TRUE(service.PostAlerts({a}).ok());
    service.Dispatch(clock.Now());
  };
  post(true);
  EXPECT_THAT(last(), HasSubstr(R"("status":"firing")"));
  clock.Advance(minutes(1));
  post(false);
  EXPECT_THAT(last(), HasSubstr(R"("status":"resolved")"));
  clock.Advance(minutes(1));
  post(true);  // the third change within the window: flapping
  EXPECT_TRUE(service.Flapping(Fingerprint(LabelSet{{"alertname", "Flappy"}})));
  EXPECT_THAT(last(), HasSubstr(R"("flapping":"true")"));
  clock.Advance(minutes(1));
  post(false);  // held back: no resolved notification
  clock.Advance(minutes(1));
  service.Dispatch(clock.Now());
  EXPECT_THAT(last(), HasSubstr(R"("status":"firing")"));
  post(false);  // sent again while resolved, as rules do: still held
  clock.Advance(minutes(1));
  service.Dispatch(clock.Now());
  EXPECT_THAT(last(), HasSubstr(R"("status":"firing")"));
  // Quiet for the settle time: the resolve goes out.
  clock.Advance(minutes(10));
  service.Dispatch(clock.Now());
  EXPECT_THAT(last(), HasSubstr(R"("status":"resolved")"));
  ASSERT_TRUE(service.FlushHistory().ok());
  EXPECT_THAT(History(history),
              ElementsAre("Flappy resolved api flapping", "Flappy firing api flapping",
                          "Flappy resolved api", "Flappy firing api"));
}

}  // namespace
}  // namespace platops::alerting

namespace platops::alerting {
namespace {

// A receiver with only Slack (send_resolved) is told of the resolution too; its URL is sealed.
TEST(AlertingDispatchTest, SlackReceiversGetFiringAndResolvedNotifications) {
  FakeClock clock(kT0);
  testing::TempStore store(WithOutbox());
  AlertingService service(store.store(), clock);
  Outbox outbox(store.store());
  Receiver chat;
  chat.name = "chat";
  SlackConfig c;
  c.send_resolved = true;
  c.api_url.value = "https://hooks.slack.example/services/T/B/s3cr3t";
  c.channel = "#ops";
  chat.slack_configs.push_back(c);
  auto box = SecretBox::FromKey(std::string(SecretBox::kKeyBytes, 'k'));
  ASSERT_TRUE(box.ok());
  UseReceiver(service, outbox, R"({"receiver":"chat","group_wait":"0s","group_interval":"1m"})",
              chat, "http://platops:9470", &*box);

  Alert a = Firing({{"alertname", "Down"}});
  a.ends_at = kT0 + hours(1);
  ASSERT_TRUE(service.PostAlerts({a}).ok());
  service.Dispatch(kT0);
  a.ends_at = kT0 + minutes(1);
  clock.Set(kT0 + minutes(1));
  ASSERT_TRUE(service.PostAlerts({a}).ok());
  service.Dispatch(clock.Now());
  auto page = outbox.ListNotifications({}, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].kind, "slack");
  EXPECT_THAT(page->items[0].request, HasSubstr(R"("color":"good")"));    // resolved
  EXPECT_THAT(page->items[1].request, HasSubstr(R"("color":"danger")"));  // firing
  for (const auto& row : page->items) {
    EXPECT_EQ(row.target.find("s3cr3t"), std::string::npos) << row.target;
    EXPECT_EQ(row.request.find("s3cr3t"), std::string::npos);
  }
}

// A Slack message whose template fails is stored failed with the reason, not only logged.
TEST(AlertingDispatchTest, ANotificationThatCannotBeRenderedIsRecordedAsFailed) {
  FakeClock clock(kT0);
  testing::TempStore store(WithOutbox());
  AlertingService service(store.store(), clock);
  Outbox outbox(store.store());
  Receiver chat;
  chat.name = "chat";
  SlackConfig c;
  c.api_url.value = "https://hooks.slack.example/services/T/B/s3cr3t";
  c.title = R"({{ template "no.such.template" . }})";
  chat.slack_configs.push_back(c);
  auto box = SecretBox::FromKey(std::string(SecretBox::kKeyBytes, 'k'));
  ASSERT_TRUE(box.ok());
  UseReceiver(service, outbox, R"({"receiver":"chat","group_wait":"0s"})", chat,
              "http://platops:9470", &*box);

  ASSERT_TRUE(service.PostAlerts({Firing({{"alertname", "Down"}})}).ok());
  service.Dispatch(kT0);
  auto page = outbox.ListNotifications({}, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  const OutboxRow& row = page->items[0];
  EXPECT_EQ(row.state, NotificationState::kFailed);
  EXPECT_EQ(row.integration, "slack[0]");
  EXPECT_EQ(row.target, "https://hooks.slack.example/<secret>");
  EXPECT_THAT(row.last_error, HasSubstr("slack_configs[0].title"));
  EXPECT_THAT(row.last_error, HasSubstr("no.such.template"));
  // The group counts as notified: the same failure is not stored again at the next flush.
  clock.Set(kT0 + minutes(5));
  service.Dispatch(clock.Now());
  EXPECT_EQ(outbox.ListNotifications({}, 10)->items.size(), 1u);
}

}  // namespace
}  // namespace platops::alerting
