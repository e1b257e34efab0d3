#include "alerting/alerting_rule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace platops::alerting {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kT0 = Timestamp(milliseconds(1'767'225'600'000));  // 2026-01-01T00:00:00Z

RuleSpec Spec(std::string name, milliseconds for_duration = milliseconds(0)) {
  RuleSpec s;
  s.alerting = true;
  s.name = std::move(name);
  s.expr = "up == 0";
  s.for_duration = for_duration;
  s.labels = {{"severity", "page"}};
  return s;
}

RuleSample Down(std::string instance, double value = 0) {
  return {{{"__name__", "up"}, {"instance", std::move(instance)}, {"job", "node"}}, value};
}

StringPairs AlertLabels(std::string instance) {
  return {{"alertname", "InstanceDown"},
          {"instance", std::move(instance)},
          {"job", "node"},
          {"severity", "page"}};
}

TEST(AlertingRuleTest, PendingUntilForHasPassedThenFiring) {
  AlertingRule rule(Spec("InstanceDown", minutes(5)), {});
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0).ok());
  ASSERT_EQ(rule.active().size(), 1u);
  const RuleAlert& a = rule.active().begin()->second;
  EXPECT_EQ(a.labels, AlertLabels("a"));
  EXPECT_EQ(a.state, RuleAlertState::kPending);
  EXPECT_EQ(a.active_at, kT0);
  EXPECT_EQ(rule.State(), RuleAlertState::kPending);
  // The series say pending, and since when (whole Unix seconds).
  auto series = rule.SeriesSamples();
  ASSERT_EQ(series.size(), 2u);
  EXPECT_THAT(series[0].labels,
              ElementsAre(Pair("__name__", "ALERTS"), Pair("alertname", "InstanceDown"),
                          Pair("alertstate", "pending"), Pair("instance", "a"), Pair("job", "node"),
                          Pair("severity", "page")));
  EXPECT_EQ(series[0].value, 1);
  EXPECT_THAT(series[1].labels, ElementsAre(Pair("__name__", "ALERTS_FOR_STATE"),
                                            Pair("alertname", "InstanceDown"), Pair("instance", "a"),
                                            Pair("job", "node"), Pair("severity", "page")));
  EXPECT_EQ(series[1].value, 1'767'225'600.0);

  ASSERT_TRUE(rule.Apply({Down("a")}, kT0 + minutes(4) + seconds(59)).ok());
  EXPECT_EQ(rule.active().begin()->second.state, RuleAlertState::kPending);
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0 + minutes(5)).ok());
  EXPECT_EQ(rule.active().begin()->second.state, RuleAlertState::kFiring);
  EXPECT_EQ(rule.active().begin()->second.fired_at, kT0 + minutes(5));
  EXPECT_EQ(rule.active().begin()->second.active_at, kT0);
  EXPECT_THAT(rule.SeriesSamples()[0].labels, ::testing::Contains(Pair("alertstate", "firing")));
}

TEST(AlertingRuleTest, WithoutForAnAlertFiresAtOnce) {
  AlertingRule rule(Spec("InstanceDown"), {});
  ASSERT_TRUE(rule.Apply({Down("a"), Down("b")}, kT0).ok());
  ASSERT_EQ(rule.active().size(), 2u);
  for (const auto& [labels, a] : rule.active()) EXPECT_EQ(a.state, RuleAlertState::kFiring);
}

TEST(AlertingRuleTest, APendingAlertThatGoesAwayIsForgotten) {
  AlertingRule rule(Spec("InstanceDown", minutes(5)), {});
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0).ok());
  ASSERT_TRUE(rule.Apply({}, kT0 + minutes(1)).ok());
  EXPECT_THAT(rule.active(), IsEmpty());
  EXPECT_THAT(rule.SeriesSamples(), IsEmpty());
  // Coming back starts the wait anew.
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0 + minutes(2)).ok());
  EXPECT_EQ(rule.active().begin()->second.active_at, kT0 + minutes(2));
}

TEST(AlertingRuleTest, AResolvedAlertIsKeptFifteenMinutesAndThenDropped) {
  AlertingRule rule(Spec("InstanceDown"), {});
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0).ok());
  ASSERT_TRUE(rule.Apply({}, kT0 + minutes(1)).ok());
  ASSERT_EQ(rule.active().size(), 1u);
  const RuleAlert& a = rule.active().begin()->second;
  EXPECT_EQ(a.state, RuleAlertState::kInactive);
  EXPECT_EQ(a.resolved_at, kT0 + minutes(1));
  EXPECT_THAT(rule.SeriesSamples(), IsEmpty());
  ASSERT_TRUE(rule.Apply({}, kT0 + minutes(16)).ok());
  EXPECT_EQ(rule.active().size(), 1u);  // Exactly 15 minutes: still kept.
  ASSERT_TRUE(rule.Apply({}, kT0 + minutes(16) + seconds(1)).ok());
  EXPECT_THAT(rule.active(), IsEmpty());
}

TEST(AlertingRuleTest, AResolvedAlertThatReturnsIsANewAlert) {
  AlertingRule rule(Spec("InstanceDown", minutes(1)), {});
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0).ok());
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0 + minutes(1)).ok());
  ASSERT_TRUE(rule.Apply({}, kT0 + minutes(2)).ok());
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0 + minutes(3)).ok());
  const RuleAlert& a = rule.active().begin()->second;
  EXPECT_EQ(a.state, RuleAlertState::kPending);
  EXPECT_EQ(a.active_at, kT0 + minutes(3));
  EXPECT_FALSE(a.resolved_at.has_value());
}

TEST(AlertingRuleTest, KeepFiringForHoldsAFiringAlertAfterItsConditionClears) {
  RuleSpec spec = Spec("InstanceDown");
  spec.keep_firing_for = minutes(5);
  AlertingRule rule(spec, {});
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0).ok());
  ASSERT_TRUE(rule.Apply({}, kT0 + minutes(1)).ok());
  EXPECT_EQ(rule.active().begin()->second.state, RuleAlertState::kFiring);
  EXPECT_EQ(rule.active().begin()->second.keep_firing_since, kT0 + minutes(1));
  ASSERT_TRUE(rule.Apply({}, kT0 + minutes(5) + seconds(59)).ok());
  EXPECT_EQ(rule.active().begin()->second.state, RuleAlertState::kFiring);
  ASSERT_TRUE(rule.Apply({}, kT0 + minutes(6)).ok());
  EXPECT_EQ(rule.active().begin()->second.state, RuleAlertState::kInactive);
  EXPECT_EQ(rule.active().begin()->second.resolved_at, kT0 + minutes(6));

  // The condition returning while kept firing resets the hold.
  AlertingRule again(spec, {});
  ASSERT_TRUE(again.Apply({Down("a")}, kT0).ok());
  ASSERT_TRUE(again.Apply({}, kT0 + minutes(1)).ok());
  ASSERT_TRUE(again.Apply({Down("a")}, kT0 + minutes(2)).ok());
  EXPECT_FALSE(again.active().begin()->second.keep_firing_since.has_value());
  ASSERT_TRUE(again.Apply({}, kT0 + minutes(3)).ok());
  ASSERT_TRUE(again.Apply({}, kT0 + minutes(7)).ok());
  EXPECT_EQ(again.active().begin()->second.state, RuleAlertState::kFiring);
}

TEST(AlertingRuleTest, TwoSamplesThatBecomeOneAlertAreAnErrorAndChangeNothing) {
  RuleSpec spec = Spec("InstanceDown");
  AlertingRule rule(spec, {});
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0).ok());
  // Differ only in __name__, which alerts drop.
  RuleSample other = Down("b");
  other.labels[0].second = "other";
  Status st = rule.Apply({Down("b"), other}, kT0 + minutes(1));
  EXPECT_EQ(st.message(),
            "vector contains metrics with the same labelset after applying alert labels");
  ASSERT_EQ(rule.active().size(), 1u);
  EXPECT_EQ(rule.active().begin()->second.labels, AlertLabels("a"));
  EXPECT_EQ(rule.active().begin()->second.state, RuleAlertState::kFiring);
}

TEST(AlertingRuleTest, MoreAlertsThanTheLimitDropThemAll) {
  AlertingRule rule(Spec("InstanceDown"), {});
  ASSERT_TRUE(rule.Apply({Down("a"), Down("b")}, kT0, 2).ok());
  Status st = rule.Apply({Down("a"), Down("b"), Down("c")}, kT0 + minutes(1), 2);
  EXPECT_EQ(st.message(), "exceeded limit of 2 with 3 alerts");
  EXPECT_THAT(rule.active(), IsEmpty());
  EXPECT_THAT(rule.SeriesSamples(), IsEmpty());
}

TEST(AlertingRuleTest, GroupLabelsGiveWayToTheRulesAndTemplatesAreExpandedPerAlert) {
  RuleSpec spec = Spec("InstanceDown");
  spec.labels = {{"severity", "{{ if gt $value 1.0 }}page{{ else }}ticket{{ end }}"}};
  spec.annotations = {{"summary", "{{ $labels.instance }} down"}, {"runbook", "plain"}};
  std::vector<std::string> calls;
  TemplateExpander expand = [&](std::string_view name, std::string_view text,
                                const StringPairs& labels, double value,
                                Timestamp) -> Result<std::string> {
    std::string seen;
    for (const auto& [n, v] : labels) seen += n + "=" + v + ",";
    calls.push_back(std::string(name) + "|" + std::string(text) + "|" + seen);
    if (text.starts_with("{{ if")) return std::string(value > 1 ? "page" : "ticket");
    if (text.find("$labels.instance") != std::string_view::npos) {
      return InvalidArgument("template: __alert_InstanceDown:1:12: boom");
    }
    return std::string(text);
  };
  AlertingRule rule(spec, {{"severity", "info"}, {"team", "infra"}}, expand);
  ASSERT_TRUE(rule.Apply({Down("a", 2)}, kT0).ok());
  const RuleAlert& a = rule.active().begin()->second;
  EXPECT_THAT(a.labels, ElementsAre(Pair("alertname", "InstanceDown"), Pair("instance", "a"),
                                    Pair("job", "node"), Pair("severity", "page"),
                                    Pair("team", "infra")));
  // A failed expansion leaves Prometheus's marker; plain text needs no expansion.
  EXPECT_THAT(a.annotations,
              ElementsAre(Pair("runbook", "plain"),
                          Pair("summary", "<error expanding template: template: "
                                          "__alert_InstanceDown:1:12: boom>")));
  // Templates see the sample's labels without __name__.
  EXPECT_THAT(calls, ::testing::Contains("__alert_InstanceDown|{{ if gt $value 1.0 }}page{{ else "
                                         "}}ticket{{ end }}|instance=a,job=node,"));
  // Annotations follow the latest value of an alert that stays.
  ASSERT_TRUE(rule.Apply({Down("a", 2)}, kT0 + minutes(1)).ok());
  EXPECT_EQ(rule.active().begin()->second.value, 2);
}

TEST(AlertingRuleTest, NotificationsFollowPrometheusResendRules) {
  AlertingRule rule(Spec("InstanceDown", minutes(1)), {});
  const auto resend = minutes(1);
  const auto interval = seconds(15);
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0).ok());
  EXPECT_THAT(rule.TakeAlertsToSend(kT0, resend, interval), IsEmpty());  // Pending.
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0 + minutes(1)).ok());
  auto sent = rule.TakeAlertsToSend(kT0 + minutes(1), resend, interval);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].labels, AlertLabels("a"));
  EXPECT_EQ(sent[0].starts_at, kT0 + minutes(1));
  EXPECT_EQ(sent[0].ends_at, kT0 + minutes(1) + 4 * resend);
  // Not again until the resend delay has passed (strictly).
  EXPECT_THAT(rule.TakeAlertsToSend(kT0 + minutes(2), resend, interval), IsEmpty());
  sent = rule.TakeAlertsToSend(kT0 + minutes(2) + seconds(1), resend, interval);
  ASSERT_EQ(sent.size(), 1u);
  // A group interval longer than the resend delay stretches the validity.
  ASSERT_TRUE(rule.Apply({Down("a")}, kT0 + minutes(4)).ok());
  sent = rule.TakeAlertsToSend(kT0 + minutes(4), resend, minutes(2));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ends_at, kT0 + minutes(4) + 4 * minutes(2));
  // Resolution goes out at once, with its time as the end.
  ASSERT_TRUE(rule.Apply({}, kT0 + minutes(4) + seconds(15)).ok());
  sent = rule.TakeAlertsToSend(kT0 + minutes(4) + seconds(15), resend, interval);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ends_at, kT0 + minutes(4) + seconds(15));
  EXPECT_EQ(sent[0].starts_at, kT0 + minutes(1));
  // And is repeated at the resend delay while it is kept.
  EXPECT_THAT(rule.TakeAlertsToSend(kT0 + minutes(5), resend, interval), IsEmpty());
  EXPECT_EQ(rule.TakeAlertsToSend(kT0 + minutes(5) + seconds(30), resend, interval).size(), 1u);
}

}  // namespace
}  // namespace platops::alerting
