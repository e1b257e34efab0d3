#include "alerting/dispatch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace platops::alerting {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const Timestamp kT0 = Timestamp(milliseconds(1767225600000));

// ---------------------------------------------------------------------------------------------
// NeedsNotification: the notification-log decision on its own.

TEST(NeedsNotificationTest, DecisionTable) {
  using Set = std::vector<uint64_t>;
  const minutes repeat(30);
  auto entry = [](Set firing, Set resolved, Timestamp at) {
    return std::optional<NotificationLogEntry>(
        NotificationLogEntry{std::move(firing), std::move(resolved), at});
  };
  struct Case {
    const char* name;
    std::optional<NotificationLogEntry> last;
    Set firing;
    Set resolved;
    bool send_resolved;
    bool want;
  };
  const std::vector<Case> cases = {
      {"never notified, something fires", std::nullopt, {7, 8}, {}, true, true},
      {"never notified, only resolved alerts", std::nullopt, {}, {7, 8}, true, false},
      {"never notified, nothing at all", std::nullopt, {}, {}, true, false},
      {"a firing alert the log does not list",
       entry({5, 7}, {}, kT0 - minutes(1)),
       {7, 9},
       {},
       true,
       true},
      {"firing alerts only dropped out, before repeat",
       entry({5, 7, 9}, {}, kT0 - minutes(1)),
       {7},
       {},
       false,
       false},
      {"unchanged, before repeat_interval",
       entry({5, 7}, {}, kT0 - minutes(29)),
       {5, 7},
       {},
       true,
       false},
      {"unchanged, exactly repeat_interval old",
       entry({5, 7}, {}, kT0 - minutes(30)),
       {5, 7},
       {},
       true,
       false},
      {"unchanged, older than repeat_interval",
       entry({5, 7}, {}, kT0 - minutes(30) - milliseconds(1)),
       {5, 7},
       {},
       true,
       true},
      {"entry of the epoch always repeats", entry({5, 7}, {}, Timestamp{}), {5, 7}, {}, true, true},
      {"new resolved alert with send_resolved",
       entry({5, 7}, {9}, kT0 - minutes(1)),
       {5},
       {7, 9},
       true,
       true},
      {"new resolved alert without send_resolved",
       entry({5, 7}, {9}, kT0 - minutes(1)),
       {5},
       {7, 9},
       false,
       false},
      {"resolved alert never reported as firing, with send_resolved",
       entry({5}, {}, kT0 - minutes(1)),
       {5},
       {11},
       true,
       true},
      {"resolved set unchanged", entry({5}, {7}, kT0 - minutes(1)), {5}, {7}, true, false},
      {"all resolved, send_resolved on",
       entry({5, 7}, {}, kT0 - minutes(1)),
       {},
       {5, 7},
       true,
       true},
      {"all resolved, send_resolved off still updates the log",
       entry({5, 7}, {}, kT0 - minutes(1)),
       {},
       {5, 7},
       false,
       true},
      {"nothing fires and nothing fired at the last notification",
       entry({}, {1, 2}, kT0 - hours(10)),
       {},
       {3, 4},
       true,
       false},
      {"firing again after an all-resolved notification",
       entry({}, {5}, kT0 - minutes(1)),
       {5},
       {},
       true,
       true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NeedsNotification(c.last, c.firing, c.resolved, repeat, c.send_resolved, kT0), c.want)
        << c.name;
  }
}

// ---------------------------------------------------------------------------------------------
// AlertOrderBefore: the order of alerts in a notification.

TEST(AlertOrderBeforeTest, JobThenInstanceThenLabelSet) {
  struct Case {
    const char* name;
    LabelSet a;
    LabelSet b;
    bool a_first;
  };
  const std::vector<Case> cases = {
      {"job decides", {{"job", "api"}, {"z", "9"}}, {{"job", "db"}, {"a", "1"}}, true},
      {"having job beats lacking it", {{"job", "zzz"}}, {{"a", "1"}}, true},
      {"lacking job loses", {{"a", "1"}}, {{"job", "zzz"}}, false},
      {"same job, instance decides",
       {{"job", "x"}, {"instance", "b"}},
       {{"job", "x"}, {"instance", "a"}},
       false},
      {"no job, instance decides", {{"instance", "a"}}, {{"instance", "b"}}, true},
      {"fewer labels first", {{"a", "9"}}, {{"a", "1"}, {"b", "1"}}, true},
      {"same names, value decides", {{"a", "1"}, {"b", "2"}}, {{"a", "1"}, {"b", "10"}}, false},
      {"the set lacking the smaller name first",
       {{"a", "1"}, {"c", "1"}},
       {{"a", "1"}, {"b", "1"}},
       true},
      {"and the other way round", {{"a", "1"}, {"b", "1"}}, {{"a", "1"}, {"c", "1"}}, false},
      {"equal sets", {{"a", "1"}}, {{"a", "1"}}, false},
      {"byte order, upper case first", {{"a", "Z"}}, {{"a", "a"}}, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(AlertOrderBefore(c.a, c.b), c.a_first) << c.name;
  }
}

// ---------------------------------------------------------------------------------------------
// AggregationGroup.

class AggregationGroupTest : public ::testing::Test {
 protected:
  static AggregationGroupOptions Options(bool send_resolved = true) {
    AggregationGroupOptions options;
    options.group_wait = seconds(30);
    options.group_interval = minutes(5);
    options.repeat_interval = hours(1);
    options.send_resolved = send_resolved;
    return options;
  }

  static AggregationGroup MakeGroup(AggregationGroupOptions options = Options()) {
    return AggregationGroup("{}:{alertname=\"Down\"}", {{"alertname", "Down"}}, options);
  }

  // A firing alert that started at `start`, last updated at `start`, with an end ahead.
  static GroupAlert Alert(std::string instance, Timestamp start) {
    GroupAlert alert;
    alert.labels = {{"alertname", "Down"}, {"instance", std::move(instance)}};
    alert.fingerprint = Fingerprint(alert.labels);
    alert.starts_at = start;
    alert.ends_at = start + hours(100);
    alert.updated_at = start;
    return alert;
  }

  static GroupAlert Resolve(GroupAlert alert, Timestamp at) {
    alert.ends_at = at;
    alert.updated_at = at;
    return alert;
  }

  static std::vector<std::string> Instances(const std::vector<GroupAlert>& alerts) {
    std::vector<std::string> out;
    for (const GroupAlert& a : alerts) out.emplace_back(a.labels.Get("instance"));
    return out;
  }

  // Flushes at `now`; when a notification comes out, reports it delivered at `now`.
  static std::optional<Notification> FlushAndDeliver(AggregationGroup& group, Timestamp now,
                                                     const MutePredicate& muted = {}) {
    std::optional<Notification> n = group.Flush(now, muted);
    if (n) {
      Status s = group.Delivered(n->flush_id, now);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    return n;
  }
};

TEST_F(AggregationGroupTest, GroupWaitThenGroupIntervalBatching) {
  AggregationGroup group = MakeGroup();
  EXPECT_EQ(group.NextFlush(), std::nullopt);
  group.Insert(Alert("a", kT0), kT0);
  EXPECT_EQ(group.NextFlush(), kT0 + seconds(30));
  group.Insert(Alert("b", kT0 + seconds(10)), kT0 + seconds(10));
  EXPECT_EQ(group.NextFlush(), kT0 + seconds(30));  // joins the batch, does not postpone it

  std::optional<Notification> first = FlushAndDeliver(group, kT0 + seconds(30));
  ASSERT_TRUE(first.has_value());
  EXPECT_THAT(Instances(first->firing), ElementsAre("a", "b"));
  EXPECT_THAT(first->resolved, IsEmpty());
  EXPECT_EQ(first->group_key, "{}:{alertname=\"Down\"}");
  EXPECT_EQ(first->group_labels, (LabelSet{{"alertname", "Down"}}));
  EXPECT_EQ(first->flushed_at, kT0 + seconds(30));
  EXPECT_EQ(group.NextFlush(), kT0 + seconds(30) + minutes(5));

  // After the first flush an alert waits for the next tick, even one that started long ago.
  group.Insert(Alert("c", kT0 - hours(2)), kT0 + minutes(1));
  EXPECT_EQ(group.NextFlush(), kT0 + seconds(30) + minutes(5));
  std::optional<Notification> second = FlushAndDeliver(group, kT0 + seconds(30) + minutes(5));
  ASSERT_TRUE(second.has_value());
  EXPECT_THAT(Instances(second->firing), ElementsAre("a", "b", "c"));
  EXPECT_EQ(group.NextFlush(), kT0 + seconds(30) + minutes(10));
}

TEST_F(AggregationGroupTest, AlertOlderThanGroupWaitFlushesAtOnce) {
  struct Case {
    const char* name;
    milliseconds age;
    Timestamp want_next;
  };
  const std::vector<Case> cases = {
      {"fresh alert", seconds(0), kT0 + seconds(30)},
      {"exactly group_wait old waits", seconds(30), kT0 + seconds(30)},
      {"older than group_wait flushes now", seconds(30) + milliseconds(1), kT0},
      {"hours old flushes now", hours(3), kT0},
  };
  for (const Case& c : cases) {
    AggregationGroup group = MakeGroup();
    group.Insert(Alert("a", kT0 - c.age), kT0);
    EXPECT_EQ(group.NextFlush(), c.want_next) << c.name;
  }

  // A later old alert, still before the first flush, brings the flush forward too.
  AggregationGroup group = MakeGroup();
  group.Insert(Alert("a", kT0), kT0);
  group.Insert(Alert("b", kT0 - minutes(10)), kT0 + seconds(5));
  EXPECT_EQ(group.NextFlush(), kT0 + seconds(5));
  std::optional<Notification> n = FlushAndDeliver(group, kT0 + seconds(5));
  ASSERT_TRUE(n.has_value());
  EXPECT_THAT(Instances(n->firing), ElementsAre("a", "b"));
}

TEST_F(AggregationGroupTest, NewFiringAlertNotifiesAtTheNextInterval) {
  AggregationGroup group = MakeGroup();
  group.Insert(Alert("a", kT0), kT0);
  Timestamp t = kT0 + seconds(30);
  ASSERT_TRUE(FlushAndDeliver(group, t).has_value());

  t += minutes(5);
  EXPECT_EQ(FlushAndDeliver(group, t), std::nullopt);  // unchanged

  group.Insert(Alert("b", t + minutes(1)), t + minutes(1));
  EXPECT_EQ(group.NextFlush(), t + minutes(5));
  t += minutes(5);
  std::optional<Notification> n = FlushAndDeliver(group, t);
  ASSERT_TRUE(n.has_value());
  EXPECT_THAT(Instances(n->firing), ElementsAre("a", "b"));
  ASSERT_TRUE(group.notification_log().has_value());
  std::vector<uint64_t> want = {Alert("a", kT0).fingerprint, Alert("b", kT0).fingerprint};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(group.notification_log()->firing_alerts, want);
  EXPECT_EQ(group.notification_log()->timestamp, t);
}

TEST_F(AggregationGroupTest, UnchangedGroupRepeatsOnlyAfterRepeatInterval) {
  AggregationGroup group = MakeGroup();  // group_interval 5m, repeat_interval 1h
  group.Insert(Alert("a", kT0), kT0);
  const Timestamp first = kT0 + seconds(30);
  ASSERT_TRUE(FlushAndDeliver(group, first).has_value());

  // Ticks at first + 5m ... first + 60m: the entry is at most exactly 1h old, no repeat.
  for (int k = 1; k <= 12; ++k) {
    EXPECT_EQ(FlushAndDeliver(group, first + minutes(5 * k)), std::nullopt) << "tick " << k;
  }
  std::optional<Notification> repeat = FlushAndDeliver(group, first + minutes(65));
  ASSERT_TRUE(repeat.has_value());
  EXPECT_THAT(Instances(repeat->firing), ElementsAre("a"));
  // The repeat restarts the clock.
  EXPECT_EQ(FlushAndDeliver(group, first + minutes(70)), std::nullopt);
  EXPECT_EQ(group.notification_log()->timestamp, first + minutes(65));
}

TEST_F(AggregationGroupTest, ResolutionWithSendResolved) {
  AggregationGroup group = MakeGroup(Options(/*send_resolved=*/true));
  GroupAlert a = Alert("a", kT0);
  GroupAlert b = Alert("b", kT0);
  group.Insert(a, kT0);
  group.Insert(b, kT0);
  Timestamp t = kT0 + seconds(30);
  ASSERT_TRUE(FlushAndDeliver(group, t).has_value());

  group.Insert(Resolve(b, t + minutes(2)), t + minutes(2));
  t += minutes(5);
  std::optional<Notification> n = FlushAndDeliver(group, t);
  ASSERT_TRUE(n.has_value());
  EXPECT_THAT(Instances(n->firing), ElementsAre("a"));
  EXPECT_THAT(Instances(n->resolved), ElementsAre("b"));
  EXPECT_EQ(n->resolved[0].ends_at, t - minutes(3));
  EXPECT_THAT(Instances(group.Alerts()), ElementsAre("a"));  // b left after delivery
  EXPECT_EQ(group.notification_log()->resolved_alerts, std::vector<uint64_t>{b.fingerprint});

  t += minutes(5);
  EXPECT_EQ(FlushAndDeliver(group, t), std::nullopt);

  group.Insert(Resolve(a, t + minutes(1)), t + minutes(1));
  t += minutes(5);
  n = FlushAndDeliver(group, t);
  ASSERT_TRUE(n.has_value());
  EXPECT_THAT(n->firing, IsEmpty());
  EXPECT_THAT(Instances(n->resolved), ElementsAre("a"));
  EXPECT_TRUE(group.Empty());
  EXPECT_THAT(group.notification_log()->firing_alerts, IsEmpty());
}

TEST_F(AggregationGroupTest, ResolutionWithoutSendResolved) {
  AggregationGroup group = MakeGroup(Options(/*send_resolved=*/false));
  GroupAlert a = Alert("a", kT0);
  GroupAlert b = Alert("b", kT0);
  group.Insert(a, kT0);
  group.Insert(b, kT0);
  Timestamp t = kT0 + seconds(30);
  ASSERT_TRUE(FlushAndDeliver(group, t).has_value());

  // One of two resolves: nothing is sent, but the resolved alert still leaves the group.
  group.Insert(Resolve(b, t + minutes(2)), t + minutes(2));
  t += minutes(5);
  EXPECT_EQ(FlushAndDeliver(group, t), std::nullopt);
  EXPECT_THAT(Instances(group.Alerts()), ElementsAre("a"));

  // The store sends b again, still resolved. At the repeat only the firing alert goes out, yet
  // the log records b as a resolved alert of that notification.
  group.Insert(Resolve(b, t + minutes(1)), t + minutes(1));
  std::optional<Notification> repeat = FlushAndDeliver(group, kT0 + seconds(30) + minutes(65));
  ASSERT_TRUE(repeat.has_value());
  EXPECT_THAT(Instances(repeat->firing), ElementsAre("a"));
  EXPECT_THAT(repeat->resolved, IsEmpty());
  EXPECT_EQ(group.notification_log()->resolved_alerts, std::vector<uint64_t>{b.fingerprint});
  t = kT0 + seconds(30) + minutes(65);

  // All resolved: no notification, yet the log forgets the firing alerts.
  group.Insert(Resolve(a, t + minutes(1)), t + minutes(1));
  t += minutes(5);
  EXPECT_EQ(group.Flush(t, {}), std::nullopt);
  EXPECT_TRUE(group.Empty());
  ASSERT_TRUE(group.notification_log().has_value());
  EXPECT_THAT(group.notification_log()->firing_alerts, IsEmpty());
  EXPECT_EQ(group.notification_log()->resolved_alerts, std::vector<uint64_t>{a.fingerprint});
  EXPECT_EQ(group.notification_log()->timestamp, t);

  // The same alert firing again is news.
  group.Insert(Alert("a", t + minutes(1)), t + minutes(1));
  t += minutes(5);
  std::optional<Notification> again = FlushAndDeliver(group, t);
  ASSERT_TRUE(again.has_value());
  EXPECT_THAT(Instances(again->firing), ElementsAre("a"));
}

TEST_F(AggregationGroupTest, AlertThatFiredAndResolvedUnseenIsNeverSent) {
  AggregationGroup group = MakeGroup();
  group.Insert(Resolve(Alert("a", kT0), kT0 + seconds(10)), kT0 + seconds(10));
  EXPECT_EQ(FlushAndDeliver(group, kT0 + seconds(30)), std::nullopt);
  EXPECT_TRUE(group.Empty());
  EXPECT_EQ(group.notification_log(), std::nullopt);
}

TEST_F(AggregationGroupTest, AlertEndingBetweenFlushesIsResolvedAtTheFlush) {
  AggregationGroup group = MakeGroup();
  GroupAlert a = Alert("a", kT0);
  a.ends_at = kT0 + minutes(3);  // e.g. resolve_timeout running out, no update
  group.Insert(a, kT0);
  std::optional<Notification> first = FlushAndDeliver(group, kT0 + seconds(30));
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->firing.size(), 1u);
  EXPECT_EQ(first->firing[0].ends_at, std::nullopt);  // an end still ahead is not shown

  std::optional<Notification> second = FlushAndDeliver(group, kT0 + seconds(30) + minutes(5));
  ASSERT_TRUE(second.has_value());
  EXPECT_THAT(second->firing, IsEmpty());
  ASSERT_EQ(second->resolved.size(), 1u);
  EXPECT_EQ(second->resolved[0].ends_at, kT0 + minutes(3));
  EXPECT_TRUE(group.Empty());
}

TEST_F(AggregationGroupTest, MutedAlertsAreLeftOut) {
  AggregationGroup group = MakeGroup();
  GroupAlert a = Alert("a", kT0);
  GroupAlert b = Alert("b", kT0);
  group.Insert(a, kT0);
  group.Insert(b, kT0);
  bool mute_b = true;
  const MutePredicate muted = [&](const GroupAlert& alert) {
    return mute_b && alert.labels.Get("instance") == "b";
  };

  Timestamp t = kT0 + seconds(30);
  std::optional<Notification> n = FlushAndDeliver(group, t, muted);
  ASSERT_TRUE(n.has_value());
  EXPECT_THAT(Instances(n->firing), ElementsAre("a"));
  EXPECT_EQ(group.notification_log()->firing_alerts, std::vector<uint64_t>{a.fingerprint});

  // The silence expires: b is news at the next tick.
  mute_b = false;
  t += minutes(5);
  n = FlushAndDeliver(group, t, muted);
  ASSERT_TRUE(n.has_value());
  EXPECT_THAT(Instances(n->firing), ElementsAre("a", "b"));
}

TEST_F(AggregationGroupTest, AllMutedSendsNothingAndLogsNothing) {
  AggregationGroup group = MakeGroup();
  group.Insert(Alert("a", kT0), kT0);
  group.Insert(Alert("b", kT0), kT0);
  const MutePredicate all = [](const GroupAlert&) { return true; };
  EXPECT_EQ(FlushAndDeliver(group, kT0 + seconds(30), all), std::nullopt);
  EXPECT_EQ(group.notification_log(), std::nullopt);
  EXPECT_EQ(group.NextFlush(), kT0 + seconds(30) + minutes(5));

  // Once notified, muting everything is not an "all resolved" notification either.
  ASSERT_TRUE(FlushAndDeliver(group, kT0 + seconds(30) + minutes(5)).has_value());
  EXPECT_EQ(FlushAndDeliver(group, kT0 + seconds(30) + hours(5), all), std::nullopt);
  EXPECT_EQ(group.notification_log()->timestamp, kT0 + seconds(30) + minutes(5));
}

TEST_F(AggregationGroupTest, MutedResolvedAlertStillLeavesTheGroup) {
  AggregationGroup group = MakeGroup();
  GroupAlert a = Alert("a", kT0);
  GroupAlert b = Alert("b", kT0);
  group.Insert(a, kT0);
  group.Insert(b, kT0);
  Timestamp t = kT0 + seconds(30);
  ASSERT_TRUE(FlushAndDeliver(group, t).has_value());

  group.Insert(Resolve(b, t + minutes(1)), t + minutes(1));
  const MutePredicate mute_b = [](const GroupAlert& alert) {
    return alert.labels.Get("instance") == "b";
  };
  t += minutes(5);
  EXPECT_EQ(FlushAndDeliver(group, t, mute_b), std::nullopt);
  EXPECT_THAT(Instances(group.Alerts()), ElementsAre("a"));
}

TEST_F(AggregationGroupTest, ResolvedAlertUpdatedDuringDeliveryStays) {
  AggregationGroup group = MakeGroup();
  GroupAlert a = Alert("a", kT0);
  GroupAlert b = Alert("b", kT0);
  group.Insert(a, kT0);
  group.Insert(b, kT0);
  Timestamp t = kT0 + seconds(30);
  ASSERT_TRUE(FlushAndDeliver(group, t).has_value());

  group.Insert(Resolve(a, t + minutes(1)), t + minutes(1));
  group.Insert(Resolve(b, t + minutes(1)), t + minutes(1));
  t += minutes(5);
  std::optional<Notification> n = group.Flush(t, {});
  ASSERT_TRUE(n.has_value());
  EXPECT_THAT(Instances(n->resolved), ElementsAre("a", "b"));
  // While the notification is out, b fires again.
  GroupAlert b_again = Alert("b", t + seconds(1));
  b_again.updated_at = t + seconds(1);
  group.Insert(b_again, t + seconds(1));
  ASSERT_TRUE(group.Delivered(n->flush_id, t + seconds(2)).ok());
  EXPECT_THAT(Instances(group.Alerts()), ElementsAre("b"));
  EXPECT_EQ(group.notification_log()->timestamp, t + seconds(2));
}

TEST_F(AggregationGroupTest, FailedDeliveryIsDecidedAgainAtTheNextFlush) {
  AggregationGroup group = MakeGroup();
  group.Insert(Alert("a", kT0), kT0);
  std::optional<Notification> lost = group.Flush(kT0 + seconds(30), {});
  ASSERT_TRUE(lost.has_value());
  EXPECT_EQ(group.notification_log(), std::nullopt);

  std::optional<Notification> retry = group.Flush(kT0 + seconds(30) + minutes(5), {});
  ASSERT_TRUE(retry.has_value());
  EXPECT_THAT(Instances(retry->firing), ElementsAre("a"));
  EXPECT_NE(retry->flush_id, lost->flush_id);

  Status stale = group.Delivered(lost->flush_id, kT0 + minutes(6));
  EXPECT_EQ(stale.code(), StatusCode::kConflict);
  EXPECT_EQ(group.notification_log(), std::nullopt);
  ASSERT_TRUE(group.Delivered(retry->flush_id, kT0 + minutes(6)).ok());
  EXPECT_EQ(group.Delivered(retry->flush_id, kT0 + minutes(6)).code(), StatusCode::kConflict);
  EXPECT_EQ(group.notification_log()->timestamp, kT0 + minutes(6));
}

TEST_F(AggregationGroupTest, FlushOfAnEmptyGroupOnlyReschedules) {
  AggregationGroup group = MakeGroup();
  group.Insert(Resolve(Alert("a", kT0), kT0), kT0);
  EXPECT_EQ(group.Flush(kT0 + seconds(30), {}), std::nullopt);
  EXPECT_TRUE(group.Empty());
  EXPECT_EQ(group.Flush(kT0 + minutes(7), {}), std::nullopt);
  EXPECT_EQ(group.NextFlush(), kT0 + minutes(12));
}

TEST_F(AggregationGroupTest, NotificationIsSortedLikeAlertmanager) {
  AggregationGroup group = MakeGroup();
  auto with = [](LabelSet labels) {
    GroupAlert alert;
    alert.fingerprint = Fingerprint(labels);
    alert.labels = std::move(labels);
    alert.starts_at = kT0;
    return alert;
  };
  group.Insert(with({{"alertname", "Down"}, {"zone", "z"}}), kT0);
  group.Insert(with({{"alertname", "Down"}, {"instance", "i2"}, {"job", "api"}}), kT0);
  group.Insert(with({{"alertname", "Down"}, {"instance", "i1"}}), kT0);
  group.Insert(with({{"alertname", "Down"}, {"instance", "i9"}, {"job", "api"}}), kT0);
  group.Insert(with({{"alertname", "Down"}, {"instance", "i0"}, {"job", "zed"}}), kT0);
  group.Insert(with({{"alertname", "Down"}, {"area", "z"}}), kT0);
  std::optional<Notification> n = FlushAndDeliver(group, kT0 + seconds(30));
  ASSERT_TRUE(n.has_value());
  std::vector<std::string> order;
  for (const GroupAlert& a : n->firing) order.push_back(ToString(a.labels));
  EXPECT_THAT(order,
              ElementsAre(R"({alertname="Down", instance="i2", job="api"})",
                          R"({alertname="Down", instance="i9", job="api"})",
                          R"({alertname="Down", instance="i0", job="zed"})",
                          R"({alertname="Down", instance="i1"})", R"({alertname="Down", zone="z"})",
                          R"({alertname="Down", area="z"})"));
}

TEST_F(AggregationGroupTest, NotificationLogRoundTripPreventsDuplicateAfterRestart) {
  AggregationGroup before = MakeGroup();
  before.Insert(Alert("a", kT0), kT0);
  before.Insert(Alert("b", kT0), kT0);
  ASSERT_TRUE(FlushAndDeliver(before, kT0 + seconds(30)).has_value());
  ASSERT_TRUE(before.notification_log().has_value());
  const NotificationLogEntry saved = *before.notification_log();

  // Restart two minutes later: the alerts come back, older than group_wait.
  const Timestamp restart = kT0 + minutes(2);
  AggregationGroup after = MakeGroup();
  after.RestoreNotificationLog(saved);
  EXPECT_EQ(after.notification_log(), saved);
  after.Insert(Alert("a", kT0), restart);
  after.Insert(Alert("b", kT0), restart);
  EXPECT_EQ(after.NextFlush(), restart);
  EXPECT_EQ(FlushAndDeliver(after, restart), std::nullopt);

  // Without the restored log the same flush would notify again.
  AggregationGroup forgetful = MakeGroup();
  forgetful.Insert(Alert("a", kT0), restart);
  forgetful.Insert(Alert("b", kT0), restart);
  EXPECT_TRUE(FlushAndDeliver(forgetful, restart).has_value());

  // The restored entry still times the repeat: an hour after the original delivery.
  EXPECT_EQ(FlushAndDeliver(after, kT0 + seconds(30) + hours(1)), std::nullopt);
  EXPECT_TRUE(FlushAndDeliver(after, kT0 + seconds(31) + hours(1)).has_value());
}

TEST_F(AggregationGroupTest, RestoreNormalizesSets) {
  AggregationGroup group = MakeGroup();
  group.RestoreNotificationLog(NotificationLogEntry{{9, 3, 9, 1}, {5, 5}, kT0});
  ASSERT_TRUE(group.notification_log().has_value());
  EXPECT_THAT(group.notification_log()->firing_alerts, ElementsAre(1u, 3u, 9u));
  EXPECT_THAT(group.notification_log()->resolved_alerts, ElementsAre(5u));
}

}  // namespace
}  // namespace platops::alerting
