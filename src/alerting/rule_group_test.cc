#include "alerting/rule_group.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "metrics/mem_storage.h"
#include "promql/engine.h"

namespace platops::alerting {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kT0 = Timestamp(milliseconds(1'767'225'600'000));  // 2026-01-01T00:00:00Z

int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }

class RuleGroupTest : public ::testing::Test {
 protected:
  void Up(std::string instance, Timestamp t, double v) {
    storage_.Add(metrics::Normalize({{"__name__", "up"}, {"job", "node"}, {"instance", instance}}),
                 {Ms(t), v});
  }
  // The samples of the series `selector` selects, as "labels@t=v" (stale markers as "stale").
  std::vector<std::string> Series(std::vector<metrics::Matcher> matchers) {
    auto q = storage_.NewQuerier(0, Ms(kT0) + 86'400'000);
    EXPECT_TRUE(q.ok());
    auto series = (*q)->Select(matchers);
    EXPECT_TRUE(series.ok());
    std::vector<std::string> out;
    for (const auto& s : *series) {
      auto it = s->Iterator();
      while (it->Next()) {
        const auto smp = it->At();
        const bool stale = std::bit_cast<uint64_t>(smp.v) == metrics::kStaleNanBits;
        out.push_back(metrics::ToString(s->labels()) + "@" +
                      std::to_string((smp.t - Ms(kT0)) / 1000) + "=" +
                      (stale ? "stale" : std::to_string(static_cast<int64_t>(smp.v))));
      }
    }
    return out;
  }

  FakeClock clock_{kT0};
  metrics::MemStorage storage_;
  promql::Engine engine_{promql::EngineOptions{}, storage_, clock_};
};

RuleGroupSpec Parse(std::string_view yaml) {
  auto groups = ParseRuleFile(yaml, "rules.yml");
  EXPECT_TRUE(groups.ok()) << groups.status().message();
  return groups.ok() && !groups->empty() ? (*groups)[0] : RuleGroupSpec{};
}

TEST_F(RuleGroupTest, RecordingRulesWriteTheirSeriesAndStaleMarkersWhenTheyGoAway) {
  Up("a", kT0, 1);
  Up("b", kT0, 0);
  RuleGroup group(Parse(R"(groups:
  - name: g
    labels: {team: infra}
    rules:
      - record: instance:up:value
        expr: up
        labels: {job: "", tier: "1"}
)"),
                  {}, engine_, storage_);
  EXPECT_EQ(group.interval(), minutes(1));  // The default.
  EXPECT_THAT(group.Evaluate(kT0 + seconds(10)), IsEmpty());
  EXPECT_EQ(group.health(0).health, "ok");
  EXPECT_EQ(group.health(0).last_evaluation, kT0 + seconds(10));
  // "b" stops reporting (its sample ages past the lookback): its recorded series goes stale.
  Up("a", kT0 + minutes(5), 1);
  group.Evaluate(kT0 + minutes(6));
  EXPECT_THAT(Series({{metrics::MatchType::kEqual, "__name__", "instance:up:value"}}),
              ElementsAre("instance:up:value{instance=\"a\",team=\"infra\",tier=\"1\"}@10=1",
                          "instance:up:value{instance=\"a\",team=\"infra\",tier=\"1\"}@360=1",
                          "instance:up:value{instance=\"b\",team=\"infra\",tier=\"1\"}@10=0",
                          "instance:up:value{instance=\"b\",team=\"infra\",tier=\"1\"}@360=stale"));
}

TEST_F(RuleGroupTest, RecordingRuleErrorsAreHealthAndTheNextRuleStillRuns) {
  Up("a", kT0, 1);
  Up("b", kT0, 1);
  RuleGroup group(Parse(R"(groups:
  - name: g
    limit: 1
    rules:
      - record: one_name
        expr: up
        labels: {instance: same}
      - record: too_many
        expr: up
      - record: bad
        expr: 'label_replace(up, "x", "$1", "instance", "(")'
      - record: fine
        expr: sum(up)
)"),
                  {}, engine_, storage_);
  group.Evaluate(kT0 + seconds(1));
  EXPECT_EQ(group.health(0).health, "err");
  EXPECT_EQ(group.health(0).last_error,
            "vector contains metrics with the same labelset after applying rule labels");
  EXPECT_EQ(group.health(1).last_error, "exceeded limit of 1 with 2 series");
  EXPECT_EQ(group.health(2).health, "err");
  EXPECT_THAT(group.health(2).last_error, ::testing::HasSubstr("invalid regular expression"));
  EXPECT_EQ(group.health(3).health, "ok");
  EXPECT_THAT(Series({{metrics::MatchType::kRegexMatch, "__name__", "one_name|too_many|fine"}}),
              ElementsAre("fine{}@1=2"));
}

TEST_F(RuleGroupTest, AlertingRulesWriteAlertsSeriesAndHandOverFiringAlerts) {
  Up("a", kT0, 0);
  RuleGroup group(Parse(R"(groups:
  - name: g
    interval: 30s
    query_offset: 10s
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 1m
        labels: {severity: page}
)"),
                  {}, engine_, storage_);
  EXPECT_EQ(group.interval(), seconds(30));
  EXPECT_EQ(group.query_offset(), seconds(10));
  EXPECT_THAT(group.Evaluate(kT0 + seconds(30)), IsEmpty());  // Pending.
  EXPECT_EQ(group.alerting(0)->State(), RuleAlertState::kPending);
  // Each evaluation reads and writes at t - query_offset.
  EXPECT_EQ(group.alerting(0)->active().begin()->second.active_at, kT0 + seconds(20));
  Up("a", kT0 + seconds(60), 0);
  EXPECT_THAT(group.Evaluate(kT0 + seconds(60)), IsEmpty());
  Up("a", kT0 + seconds(90), 0);
  auto sent = group.Evaluate(kT0 + seconds(90));
  ASSERT_EQ(sent.size(), 1u) << group.health(0).last_error << " "
                             << RuleAlertStateName(group.alerting(0)->State()) << " "
                             << group.alerting(0)->active().size();
  EXPECT_THAT(sent[0].labels, ElementsAre(Pair("alertname", "InstanceDown"), Pair("instance", "a"),
                                          Pair("job", "node"), Pair("severity", "page")));
  EXPECT_EQ(sent[0].starts_at, kT0 + seconds(80));
  EXPECT_EQ(sent[0].ends_at, kT0 + seconds(90) + 4 * minutes(1));
  EXPECT_THAT(
      Series({{metrics::MatchType::kEqual, "__name__", "ALERTS"}}),
      ElementsAre("ALERTS{alertname=\"InstanceDown\",alertstate=\"firing\",instance=\"a\","
                  "job=\"node\",severity=\"page\"}@80=1",
                  "ALERTS{alertname=\"InstanceDown\",alertstate=\"pending\",instance=\"a\","
                  "job=\"node\",severity=\"page\"}@20=1",
                  "ALERTS{alertname=\"InstanceDown\",alertstate=\"pending\",instance=\"a\","
                  "job=\"node\",severity=\"page\"}@50=1",
                  "ALERTS{alertname=\"InstanceDown\",alertstate=\"pending\",instance=\"a\","
                  "job=\"node\",severity=\"page\"}@80=stale"));
  // Resolution: up again; the resolved alert goes out, ALERTS goes stale.
  Up("a", kT0 + seconds(100), 1);
  sent = group.Evaluate(kT0 + seconds(120));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ends_at, kT0 + seconds(110));
  EXPECT_EQ(group.alerting(0)->State(), RuleAlertState::kInactive);
  EXPECT_THAT(Series({{metrics::MatchType::kEqual, "__name__", "ALERTS_FOR_STATE"}}).back(),
              ::testing::EndsWith("@110=stale"));
}

TEST_F(RuleGroupTest, AScalarResultIsOneSampleWithoutLabels) {
  RuleGroup group(Parse(R"(groups:
  - name: g
    rules:
      - record: answer
        expr: "42"
      - alert: Always
        expr: vector(1)
)"),
                  {}, engine_, storage_);
  auto sent = group.Evaluate(kT0);
  EXPECT_EQ(group.health(0).health, "ok");
  EXPECT_THAT(Series({{metrics::MatchType::kEqual, "__name__", "answer"}}),
              ElementsAre("answer{}@0=42"));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_THAT(sent[0].labels, ElementsAre(Pair("alertname", "Always")));
}

}  // namespace
}  // namespace platops::alerting
