#include "checks/state.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace platops::checks {
namespace {

using probe::Outcome;
using std::chrono::minutes;

constexpr Outcome kOk = Outcome::kOk;
constexpr Outcome kWarn = Outcome::kWarning;
constexpr Outcome kCrit = Outcome::kCritical;
constexpr Outcome kUnknown = Outcome::kUnknown;

class CheckStateTest : public ::testing::Test {
 protected:
  // Minute `m` after 2026-01-01T00:00:00Z.
  static Timestamp At(int m) {
    return Timestamp(std::chrono::milliseconds(1767225600000)) + minutes(m);
  }

  // Applies `result` at minute `m`.
  Transition Apply(Outcome result, int m) { return ApplyResult(s_, result, At(m), policy_); }

  CheckState s_;
  StatePolicy policy_;
};

TEST_F(CheckStateTest, FirstOkResultClearsPendingWithoutAnyChange) {
  EXPECT_TRUE(s_.pending);
  Transition t = Apply(kOk, 0);
  EXPECT_FALSE(s_.pending);
  EXPECT_TRUE(t.first_result);
  EXPECT_FALSE(t.state_changed);
  EXPECT_FALSE(t.hard_changed);
  EXPECT_FALSE(t.retry);
  EXPECT_EQ(s_.state, kOk);
  EXPECT_TRUE(s_.hard);
  EXPECT_EQ(s_.since, At(0));
  EXPECT_EQ(s_.hard_since, At(0));

  t = Apply(kOk, 1);
  EXPECT_FALSE(t.first_result);
  EXPECT_FALSE(t.state_changed);
  EXPECT_EQ(s_.since, At(0));
}

TEST_F(CheckStateTest, ThirdConsecutiveCriticalBecomesHard) {
  Apply(kOk, 0);

  Transition t = Apply(kCrit, 1);
  EXPECT_TRUE(t.state_changed);
  EXPECT_FALSE(t.hard_changed);
  EXPECT_TRUE(t.retry);
  EXPECT_EQ(t.old_state, kOk);
  EXPECT_EQ(t.new_state, kCrit);
  EXPECT_TRUE(t.old_hard);
  EXPECT_FALSE(t.new_hard);
  EXPECT_EQ(s_.attempt, 1);
  EXPECT_EQ(s_.hard_state, kOk);
  EXPECT_EQ(s_.since, At(1));

  t = Apply(kCrit, 2);
  EXPECT_FALSE(t.state_changed);
  EXPECT_FALSE(t.hard_changed);
  EXPECT_TRUE(t.retry);
  EXPECT_EQ(s_.attempt, 2);
  EXPECT_FALSE(s_.hard);
  EXPECT_EQ(s_.since, At(1));

  t = Apply(kCrit, 3);
  EXPECT_TRUE(t.state_changed);  // SOFT -> HARD
  EXPECT_TRUE(t.hard_changed);
  EXPECT_FALSE(t.retry);
  EXPECT_EQ(t.old_hard_state, kOk);
  EXPECT_EQ(t.new_hard_state, kCrit);
  EXPECT_TRUE(s_.hard);
  EXPECT_EQ(s_.state, kCrit);
  EXPECT_EQ(s_.hard_state, kCrit);
  EXPECT_EQ(s_.attempt, 3);
  EXPECT_EQ(s_.since, At(3));
  EXPECT_EQ(s_.hard_since, At(3));

  t = Apply(kCrit, 4);
  EXPECT_FALSE(t.state_changed);
  EXPECT_FALSE(t.hard_changed);
  EXPECT_FALSE(t.retry);
  EXPECT_EQ(s_.since, At(3));
}

TEST_F(CheckStateTest, SoftStateChangesKeepCountingAndHardenWithTheLastState) {
  Apply(kOk, 0);
  Transition t = Apply(kWarn, 1);
  EXPECT_EQ(s_.attempt, 1);
  t = Apply(kCrit, 2);
  EXPECT_TRUE(t.state_changed);
  EXPECT_FALSE(t.hard_changed);
  EXPECT_EQ(s_.attempt, 2);
  EXPECT_EQ(s_.since, At(2));
  t = Apply(kUnknown, 3);
  EXPECT_TRUE(t.hard_changed);
  EXPECT_EQ(t.new_hard_state, kUnknown);
  EXPECT_TRUE(s_.hard);
  EXPECT_EQ(s_.state, kUnknown);
}

TEST_F(CheckStateTest, FirstResultCriticalStartsSoftAttemptOne) {
  Transition t = Apply(kCrit, 0);
  EXPECT_TRUE(t.first_result);
  EXPECT_TRUE(t.state_changed);
  EXPECT_FALSE(t.hard_changed);
  EXPECT_TRUE(t.retry);
  EXPECT_FALSE(s_.pending);
  EXPECT_EQ(s_.attempt, 1);
  EXPECT_EQ(s_.since, At(0));
}

TEST_F(CheckStateTest, MaxAttemptsOneIsHardAtOnce) {
  policy_.max_attempts = 1;
  Apply(kOk, 0);
  Transition t = Apply(kWarn, 5);
  EXPECT_TRUE(t.state_changed);
  EXPECT_TRUE(t.hard_changed);
  EXPECT_FALSE(t.retry);
  EXPECT_TRUE(s_.hard);
  EXPECT_EQ(s_.hard_state, kWarn);
  EXPECT_EQ(s_.attempt, 1);
  EXPECT_EQ(s_.hard_since, At(5));
}

TEST_F(CheckStateTest, SoftRecoveryIsHardOkWithoutHardChange) {
  Apply(kOk, 0);
  Apply(kCrit, 1);
  Apply(kCrit, 2);
  Transition t = Apply(kOk, 3);
  EXPECT_TRUE(t.state_changed);
  EXPECT_FALSE(t.hard_changed);
  EXPECT_FALSE(t.retry);
  EXPECT_TRUE(s_.hard);
  EXPECT_EQ(s_.state, kOk);
  EXPECT_EQ(s_.attempt, 1);
  EXPECT_EQ(s_.since, At(3));
  EXPECT_EQ(s_.hard_since, At(0));

  // The count starts over: two more failures are still SOFT.
  Apply(kCrit, 4);
  t = Apply(kCrit, 5);
  EXPECT_FALSE(s_.hard);
  EXPECT_EQ(s_.attempt, 2);
  EXPECT_FALSE(t.hard_changed);
}

TEST_F(CheckStateTest, HardWarningToCriticalIsAHardChange) {
  policy_.max_attempts = 2;
  Apply(kOk, 0);
  Apply(kWarn, 1);
  Transition t = Apply(kWarn, 2);
  ASSERT_TRUE(t.hard_changed);
  EXPECT_EQ(s_.hard_state, kWarn);

  t = Apply(kWarn, 3);
  EXPECT_FALSE(t.state_changed);
  EXPECT_FALSE(t.hard_changed);
  EXPECT_EQ(s_.hard_since, At(2));

  t = Apply(kCrit, 4);
  EXPECT_TRUE(t.state_changed);
  EXPECT_TRUE(t.hard_changed);
  EXPECT_FALSE(t.retry);
  EXPECT_EQ(t.old_hard_state, kWarn);
  EXPECT_EQ(t.new_hard_state, kCrit);
  EXPECT_TRUE(s_.hard);
  EXPECT_EQ(s_.since, At(4));
  EXPECT_EQ(s_.hard_since, At(4));
}

TEST_F(CheckStateTest, HardRecoveryWithOneRecoveryAttempt) {
  policy_.max_attempts = 1;
  Apply(kOk, 0);
  Apply(kCrit, 1);
  Transition t = Apply(kOk, 7);
  EXPECT_TRUE(t.state_changed);
  EXPECT_TRUE(t.hard_changed);
  EXPECT_FALSE(t.retry);
  EXPECT_EQ(t.old_hard_state, kCrit);
  EXPECT_EQ(t.new_hard_state, kOk);
  EXPECT_TRUE(s_.hard);
  EXPECT_EQ(s_.attempt, 1);
  EXPECT_EQ(s_.hard_since, At(7));
}

TEST_F(CheckStateTest, ThreeRecoveryAttemptsDelayTheRecovery) {
  policy_.max_attempts = 1;
  policy_.recovery_attempts = 3;
  Apply(kOk, 0);
  Apply(kCrit, 1);

  Transition t = Apply(kOk, 2);
  EXPECT_TRUE(t.state_changed);
  EXPECT_FALSE(t.hard_changed);
  EXPECT_TRUE(t.retry);
  EXPECT_EQ(s_.state, kOk);
  EXPECT_FALSE(s_.hard);
  EXPECT_EQ(s_.hard_state, kCrit);
  EXPECT_EQ(s_.recovery_count, 1);
  EXPECT_EQ(s_.since, At(2));

  t = Apply(kOk, 3);
  EXPECT_FALSE(t.state_changed);
  EXPECT_FALSE(t.hard_changed);
  EXPECT_TRUE(t.retry);
  EXPECT_EQ(s_.recovery_count, 2);
  EXPECT_EQ(s_.attempt, 2);

  t = Apply(kOk, 4);
  EXPECT_TRUE(t.state_changed);
  EXPECT_TRUE(t.hard_changed);
  EXPECT_FALSE(t.retry);
  EXPECT_EQ(t.new_hard_state, kOk);
  EXPECT_TRUE(s_.hard);
  EXPECT_EQ(s_.recovery_count, 0);
  EXPECT_EQ(s_.attempt, 1);
  EXPECT_EQ(s_.since, At(4));
  EXPECT_EQ(s_.hard_since, At(4));
}

TEST_F(CheckStateTest, ProblemDuringSoftRecoveryReturnsToHardProblem) {
  policy_.max_attempts = 1;
  policy_.recovery_attempts = 3;
  Apply(kOk, 0);
  Apply(kCrit, 1);
  Apply(kOk, 2);
  Apply(kOk, 3);

  // Same state as hard_state: back to HARD CRITICAL, no hard change, count reset.
  Transition t = Apply(kCrit, 4);
  EXPECT_TRUE(t.state_changed);
  EXPECT_FALSE(t.hard_changed);
  EXPECT_FALSE(t.retry);
  EXPECT_TRUE(s_.hard);
  EXPECT_EQ(s_.state, kCrit);
  EXPECT_EQ(s_.recovery_count, 0);
  EXPECT_EQ(s_.hard_since, At(1));

  // The recovery count starts over.
  Apply(kOk, 5);
  EXPECT_EQ(s_.recovery_count, 1);

  // A different non-OK state: a hard change to it.
  t = Apply(kWarn, 6);
  EXPECT_TRUE(t.hard_changed);
  EXPECT_EQ(t.old_hard_state, kCrit);
  EXPECT_EQ(t.new_hard_state, kWarn);
  EXPECT_TRUE(s_.hard);
  EXPECT_EQ(s_.hard_since, At(6));
  EXPECT_EQ(s_.recovery_count, 0);
}

TEST_F(CheckStateTest, FlapPercentUsesNagiosWeights) {
  std::vector<Outcome> alternating;
  for (int i = 0; i < kFlapHistory; ++i) alternating.push_back(i % 2 ? kCrit : kOk);
  EXPECT_DOUBLE_EQ(FlapPercent(alternating), 100.0);

  std::vector<Outcome> newest(kFlapHistory, kOk);
  newest.back() = kCrit;
  EXPECT_DOUBLE_EQ(FlapPercent(newest), 6.25);  // 1.25 / 20 * 100

  std::vector<Outcome> oldest(kFlapHistory, kOk);
  oldest.front() = kCrit;
  EXPECT_DOUBLE_EQ(FlapPercent(oldest), 3.75);  // 0.75 / 20 * 100

  EXPECT_DOUBLE_EQ(FlapPercent(std::vector<Outcome>(kFlapHistory, kWarn)), 0.0);
  EXPECT_DOUBLE_EQ(FlapPercent({}), 0.0);
  EXPECT_DOUBLE_EQ(FlapPercent({kCrit}), 0.0);
  // A short history is padded with its oldest entry: its change sits at the newest pair.
  EXPECT_DOUBLE_EQ(FlapPercent({kOk, kCrit}), 6.25);
  // WARNING -> CRITICAL is a change too.
  EXPECT_DOUBLE_EQ(FlapPercent({kWarn, kCrit}), 6.25);

  // Only the last 21 count: a change that fell out of the window is ignored.
  std::vector<Outcome> longer(30, kOk);
  longer[0] = kCrit;
  EXPECT_DOUBLE_EQ(FlapPercent(longer), 0.0);
}

TEST_F(CheckStateTest, RecentKeepsTheLast21Results) {
  for (int i = 0; i < 30; ++i) Apply(i == 29 ? kWarn : kOk, i);
  ASSERT_EQ(s_.recent.size(), 21u);
  EXPECT_EQ(s_.recent.back(), kWarn);
  EXPECT_EQ(s_.recent.front(), kOk);
  EXPECT_DOUBLE_EQ(s_.flap_percent, 6.25);
}

TEST_F(CheckStateTest, FlappingStartsAtHighAndStopsAtLowThreshold) {
  // Alternating results: percentages 0, 6.25, 12.37, 18.36, 24.21, 29.93, 35.53.
  for (int i = 0; i < 6; ++i) {
    Transition t = Apply(i % 2 ? kCrit : kOk, i);
    EXPECT_FALSE(t.flapping_started) << "result " << i;
    EXPECT_FALSE(s_.flapping) << "result " << i;
  }
  EXPECT_NEAR(s_.flap_percent, 29.934, 0.001);
  Transition t = Apply(kOk, 6);
  EXPECT_TRUE(t.flapping_started);
  EXPECT_TRUE(s_.flapping);
  EXPECT_NEAR(s_.flap_percent, 35.526, 0.001);

  // Steady OKs age the changes: the percentage falls through the band between the thresholds
  // (flapping holds), and flapping stops at the first value <= 20 (the 16th OK: 15.79).
  for (int m = 1; m <= 15; ++m) {
    t = Apply(kOk, 6 + m);
    EXPECT_FALSE(t.flapping_stopped) << "steady result " << m << " at " << s_.flap_percent;
    EXPECT_TRUE(s_.flapping);
    if (m == 7) {
      EXPECT_DOUBLE_EQ(s_.flap_percent, 30.0);  // exactly flap_high, already flapping
    }
  }
  EXPECT_NEAR(s_.flap_percent, 20.066, 0.001);
  t = Apply(kOk, 22);
  EXPECT_TRUE(t.flapping_stopped);
  EXPECT_FALSE(s_.flapping);
  EXPECT_NEAR(s_.flap_percent, 15.789, 0.001);

  // Flapping is independent of the SOFT/HARD logic, which kept working throughout.
  EXPECT_TRUE(s_.hard);
  EXPECT_EQ(s_.state, kOk);
}

TEST_F(CheckStateTest, FlapPercentAtExactlyLowStopsFlapping) {
  policy_.flap_low = 3.75;
  policy_.flap_high = 6.25;
  Transition t = Apply(kOk, 0);
  t = Apply(kCrit, 1);  // 6.25: starts
  EXPECT_TRUE(t.flapping_started);
  for (int m = 2; m <= 19; ++m) {
    t = Apply(kCrit, m);
    EXPECT_TRUE(s_.flapping) << m;
  }
  // With 20 results the change is at the second-oldest pair (3.88); the 21st result puts it at
  // the oldest (3.75).
  t = Apply(kCrit, 20);
  EXPECT_DOUBLE_EQ(s_.flap_percent, 3.75);
  EXPECT_TRUE(t.flapping_stopped);
}

TEST_F(CheckStateTest, DisabledFlapDetectionNeverFlapsButKeepsThePercentage) {
  policy_.flap_detection = false;
  for (int i = 0; i < kFlapHistory; ++i) {
    Transition t = Apply(i % 2 ? kCrit : kOk, i);
    EXPECT_FALSE(t.flapping_started);
    EXPECT_FALSE(s_.flapping);
  }
  EXPECT_DOUBLE_EQ(s_.flap_percent, 100.0);

  // Turning detection on flaps at once; turning it off again stops it at the next result.
  policy_.flap_detection = true;
  Transition t = Apply(kOk, 21);
  EXPECT_TRUE(t.flapping_started);
  policy_.flap_detection = false;
  t = Apply(kCrit, 22);
  EXPECT_TRUE(t.flapping_stopped);
  EXPECT_FALSE(s_.flapping);
}

TEST_F(CheckStateTest, ValidatePolicyNamesTheField) {
  EXPECT_TRUE(ValidatePolicy(StatePolicy{}).ok());

  StatePolicy p;
  p.max_attempts = 0;
  Status st = ValidatePolicy(p);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.field(), "max_attempts");
  EXPECT_EQ(st.message(), "max_attempts: must be 1..10, got 0");

  p = StatePolicy{};
  p.recovery_attempts = 11;
  st = ValidatePolicy(p);
  EXPECT_EQ(st.field(), "recovery_attempts");
  EXPECT_EQ(st.message(), "recovery_attempts: must be 1..10, got 11");

  p = StatePolicy{};
  p.flap_high = 101;
  st = ValidatePolicy(p);
  EXPECT_EQ(st.field(), "flap_high");
  EXPECT_EQ(st.message(), "flap_high: must be 0..100, got 101");

  p = StatePolicy{};
  p.flap_low = -1;
  EXPECT_EQ(ValidatePolicy(p).field(), "flap_low");

  p = StatePolicy{};
  p.flap_low = 40;
  st = ValidatePolicy(p);
  EXPECT_EQ(st.field(), "flap_low");
  EXPECT_EQ(st.message(), "flap_low: must be below flap_high (30), got 40");

  p.flap_low = 30;
  EXPECT_FALSE(ValidatePolicy(p).ok());

  p = StatePolicy{};
  p.max_attempts = 10;
  p.recovery_attempts = 10;
  p.flap_low = 0;
  p.flap_high = 100;
  EXPECT_TRUE(ValidatePolicy(p).ok());
}

}  // namespace
}  // namespace platops::checks
