#include "alerting/rule_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics/mem_storage.h"
#include "promql/engine.h"

namespace platops::alerting {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kT0 = Timestamp(milliseconds(1'767'225'600'000));  // 2026-01-01T00:00:00Z

std::vector<RuleGroupSpec> Groups(std::string_view yaml, std::string file = "rules.yml") {
  auto g = ParseRuleFile(yaml, file);
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? *g : std::vector<RuleGroupSpec>{};
}

class RuleManagerTest : public ::testing::Test {
 protected:
  // Timestamps (ms after kT0) of the samples of `metric`.
  std::vector<int64_t> Times(const std::string& metric) {
    auto q = storage_.NewQuerier(0, kT0.time_since_epoch().count() + 86'400'000);
    auto series = (*q)->Select(std::vector<metrics::Matcher>{
        {metrics::MatchType::kEqual, "__name__", metric}});
    std::vector<int64_t> out;
    for (const auto& s : *series) {
      auto it = s->Iterator();
      while (it->Next()) out.push_back(it->At().t - kT0.time_since_epoch().count());
    }
    return out;
  }

  FakeClock clock_{kT0};
  metrics::MemStorage storage_;
  promql::Engine engine_{promql::EngineOptions{}, storage_, clock_};
  std::vector<OutgoingAlert> sent_;
  RuleManager manager_{{}, engine_, storage_, clock_,
                       [this](std::vector<OutgoingAlert> a) {
                         sent_.insert(sent_.end(), a.begin(), a.end());
                       }};
};

TEST_F(RuleManagerTest, GroupsRunOnAStableGridOffsetByTheirName) {
  RuleGroupSpec a;
  a.name = "a";
  a.file = "rules.yml";
  const auto iv = seconds(15);
  const Timestamp first = RuleManager::FirstEvaluation(a, iv, kT0 + milliseconds(1234));
  EXPECT_GE(first, kT0 + milliseconds(1234));
  EXPECT_LT(first, kT0 + milliseconds(1234) + iv);
  // The same slot from any point within the interval before it.
  EXPECT_EQ(RuleManager::FirstEvaluation(a, iv, first - seconds(14)), first);
  EXPECT_EQ(RuleManager::FirstEvaluation(a, iv, first), first);
  EXPECT_EQ(RuleManager::FirstEvaluation(a, iv, first + milliseconds(1)), first + iv);
  // Other groups are spread over the interval.
  std::set<int64_t> offsets;
  for (int i = 0; i < 20; ++i) {
    RuleGroupSpec g = a;
    g.name = "group-" + std::to_string(i);
    offsets.insert(RuleManager::FirstEvaluation(g, iv, kT0).time_since_epoch().count() % 15000);
  }
  EXPECT_GT(offsets.size(), 10u);
}

TEST_F(RuleManagerTest, TickEvaluatesDueGroupsAtTheirGridTimes) {
  manager_.Update(Groups(R"(groups:
  - name: g
    interval: 10s
    rules:
      - record: one
        expr: vector(1)
)"));
  const Timestamp first = RuleManager::FirstEvaluation(Groups(R"(groups:
  - name: g
    rules: []
)")[0], seconds(10), kT0);
  Timestamp next = manager_.Tick(kT0);
  if (first == kT0) {
    EXPECT_EQ(next, kT0 + seconds(10));
  } else {
    EXPECT_EQ(next, first);
    EXPECT_THAT(Times("one"), IsEmpty());
  }
  const int64_t f = (first - kT0).count();
  manager_.Tick(first + milliseconds(300));  // Late by 300 ms: still evaluated at `first`.
  manager_.Tick(first + seconds(10));
  EXPECT_THAT(Times("one"), ElementsAre(f, f + 10'000));
  EXPECT_EQ(manager_.evaluations(), 2u);
  EXPECT_EQ(manager_.missed_iterations(), 0u);
  // Three slots (20 s, 30 s, 40 s) come due during a stall: the latest is evaluated, two are
  // skipped and counted.
  manager_.Tick(first + seconds(45));
  EXPECT_EQ(manager_.missed_iterations(), 2u);
  EXPECT_EQ(Times("one").back(), f + 40'000);
}

TEST_F(RuleManagerTest, FiringAlertsGoToTheSinkAndSurviveAReload) {
  const char* yaml = R"(groups:
  - name: g
    interval: 10s
    rules:
      - alert: Always
        expr: vector(1)
        for: 20s
)";
  manager_.Update(Groups(yaml));
  Timestamp t = manager_.Tick(kT0);
  for (int i = 0; i < 3; ++i) t = manager_.Tick(t);  // 0 s pending, 10 s, 20 s firing.
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].labels, (StringPairs{{"alertname", "Always"}}));
  const Timestamp fired = sent_[0].starts_at;
  // Reloading the same group keeps the alert firing from the same time, and its schedule.
  manager_.Update(Groups(yaml));
  sent_.clear();
  const Timestamp after_reload = manager_.Tick(t + minutes(1) + seconds(1));
  manager_.ForEachGroup([&](const RuleGroup& g) {
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g.alerting(0)->State(), RuleAlertState::kFiring);
    EXPECT_EQ(g.alerting(0)->active().begin()->second.fired_at, fired);
  });
  ASSERT_EQ(sent_.size(), 1u);  // The resend delay (1 m) has passed.
  EXPECT_EQ(sent_[0].starts_at, fired);
  EXPECT_GT(after_reload, t);
  // A group under another name starts afresh.
  manager_.Update(Groups(yaml, "other.yml"));
  manager_.ForEachGroup([&](const RuleGroup& g) {
    EXPECT_EQ(g.alerting(0)->State(), RuleAlertState::kInactive);
  });
}

TEST_F(RuleManagerTest, UpdateLaterIsAppliedByTheNextPass) {
  auto count = [&] {
    int n = 0;
    manager_.ForEachGroup([&](const RuleGroup&) { ++n; });
    return n;
  };
  manager_.UpdateLater(Groups("groups:\n  - name: g\n    rules:\n      - record: one\n        "
                              "expr: vector(1)\n"));
  EXPECT_EQ(count(), 0);  // not applied by the caller
  manager_.Tick(clock_.Now());
  EXPECT_EQ(count(), 1);
}

TEST_F(RuleManagerTest, TheSchedulerThreadEvaluatesAndStops) {
  manager_.Update(Groups("groups:\n  - name: g\n    rules:\n      - record: one\n        expr: "
                         "vector(1)\n"));
  // The fake clock stands at a time past the group's first slot.
  clock_.Set(kT0 + minutes(2));
  manager_.Start();
  // Waits for the thread (not for time: the fake clock does not move), however loaded the
  // machine is.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (manager_.evaluations() == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  manager_.Stop();
  EXPECT_GE(manager_.evaluations(), 1u);
  EXPECT_FALSE(Times("one").empty());
}

}  // namespace
}  // namespace platops::alerting
