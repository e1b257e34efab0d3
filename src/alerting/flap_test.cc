#include "alerting/flap.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace platops::alerting {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kT0 = Timestamp(std::chrono::milliseconds(1767225600000));  // 2026-01-01

class FlapDetectorTest : public ::testing::Test {
 protected:
  // Alternates firing / resolved for `n` changes, one every `step`, starting firing at `start`.
  // Returns the verdict of each change.
  std::vector<FlapVerdict> Alternate(FlapDetector& d, uint64_t fp, int n, Timestamp start,
                                     std::chrono::milliseconds step) {
    std::vector<FlapVerdict> out;
    for (int i = 0; i < n; ++i) out.push_back(d.Observe(fp, i % 2 == 0, start + i * step));
    return out;
  }
};

TEST_F(FlapDetectorTest, AtTheThresholdNothingFlaps) {
  FlapDetector d;  // 4 changes in 30 min allowed
  auto verdicts = Alternate(d, 1, 4, kT0, minutes(1));
  for (const auto& v : verdicts) {
    EXPECT_FALSE(v.flapping);
    EXPECT_FALSE(v.started);
    EXPECT_FALSE(v.hold_firing);
  }
  EXPECT_FALSE(d.Flapping(1));
  EXPECT_EQ(d.flapping_count(), 0u);
}

TEST_F(FlapDetectorTest, CrossingTheThresholdStartsFlappingOnce) {
  FlapDetector d;
  auto verdicts = Alternate(d, 7, 7, kT0, minutes(1));
  // The fifth change (index 4, a firing) is the one too many.
  EXPECT_FALSE(verdicts[3].flapping);
  EXPECT_TRUE(verdicts[4].flapping);
  EXPECT_TRUE(verdicts[4].started);
  EXPECT_FALSE(verdicts[4].hold_firing);  // a firing is never held back
  // Later changes: still flapping, not started again; resolves are held.
  EXPECT_TRUE(verdicts[5].flapping);
  EXPECT_FALSE(verdicts[5].started);
  EXPECT_TRUE(verdicts[5].hold_firing);
  EXPECT_TRUE(verdicts[6].flapping);
  EXPECT_FALSE(verdicts[6].hold_firing);
  EXPECT_TRUE(d.Flapping(7));
  EXPECT_FALSE(d.Flapping(8));
}

TEST_F(FlapDetectorTest, AResolveThatStartsFlappingIsHeld) {
  FlapDetector d({.max_transitions = 1});
  EXPECT_FALSE(d.Observe(3, true, kT0).flapping);
  FlapVerdict v = d.Observe(3, false, kT0 + seconds(10));
  EXPECT_TRUE(v.started);
  EXPECT_TRUE(v.hold_firing);
}

TEST_F(FlapDetectorTest, ChangesOutsideTheWindowDoNotCount) {
  FlapDetector d({.max_transitions = 2, .window = minutes(10)});
  // 10 changes, 6 minutes apart: never more than 2 within 10 minutes.
  for (const auto& v : Alternate(d, 1, 10, kT0, minutes(6))) EXPECT_FALSE(v.flapping);
  // The window is half-open: a change exactly `window` old no longer counts.
  FlapDetector e({.max_transitions = 2, .window = minutes(10)});
  e.Observe(1, true, kT0);
  e.Observe(1, false, kT0 + minutes(5));
  EXPECT_FALSE(e.Observe(1, true, kT0 + minutes(10)).flapping);
  EXPECT_TRUE(e.Observe(1, false, kT0 + minutes(11)).started);
}

TEST_F(FlapDetectorTest, AlertsAreCountedApart) {
  FlapDetector d({.max_transitions = 2});
  d.Observe(1, true, kT0);
  d.Observe(2, true, kT0);
  d.Observe(1, false, kT0 + seconds(1));
  d.Observe(2, false, kT0 + seconds(1));
  EXPECT_TRUE(d.Observe(1, true, kT0 + seconds(2)).started);
  EXPECT_FALSE(d.Flapping(2));
}

TEST_F(FlapDetectorTest, SettleEndsFlappingThroughExpire) {
  FlapDetector d({.max_transitions = 2, .window = minutes(30), .settle = minutes(10)});
  Alternate(d, 5, 4, kT0, minutes(1));  // flapping from the third change; last one resolved
  ASSERT_TRUE(d.Flapping(5));
  const Timestamp last = kT0 + minutes(3);
  EXPECT_EQ(d.NextExpiry(), last + minutes(10));
  EXPECT_TRUE(d.Expire(last + minutes(10) - std::chrono::milliseconds(1)).empty());
  EXPECT_TRUE(d.Flapping(5));

  auto ended = d.Expire(last + minutes(10));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].fingerprint, 5u);
  EXPECT_FALSE(ended[0].firing);  // its last change was a resolve: let it through now
  EXPECT_EQ(ended[0].last_change, last);
  EXPECT_FALSE(d.Flapping(5));
  EXPECT_EQ(d.NextExpiry(), std::nullopt);
  // A clean slate: two more changes do not make it flap again.
  EXPECT_FALSE(d.Observe(5, true, last + minutes(11)).flapping);
  EXPECT_FALSE(d.Observe(5, false, last + minutes(12)).flapping);
  EXPECT_TRUE(d.Observe(5, true, last + minutes(13)).started);
}

TEST_F(FlapDetectorTest, AChangeWhileFlappingPostponesTheEnd) {
  FlapDetector d({.max_transitions = 1, .settle = minutes(10)});
  d.Observe(9, true, kT0);
  d.Observe(9, false, kT0 + minutes(1));
  ASSERT_TRUE(d.Flapping(9));
  d.Observe(9, true, kT0 + minutes(8));
  EXPECT_TRUE(d.Expire(kT0 + minutes(12)).empty());
  auto ended = d.Expire(kT0 + minutes(18));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_TRUE(ended[0].firing);
}

TEST_F(FlapDetectorTest, SettleDefaultsToTheWindow) {
  FlapDetector d({.max_transitions = 1, .window = minutes(20)});
  d.Observe(4, true, kT0);
  d.Observe(4, false, kT0);
  ASSERT_TRUE(d.Flapping(4));
  EXPECT_TRUE(d.Expire(kT0 + minutes(19)).empty());
  EXPECT_EQ(d.Expire(kT0 + minutes(20)).size(), 1u);
}

TEST_F(FlapDetectorTest, ExpireForgetsQuietAlerts) {
  FlapDetector d({.window = minutes(30)});
  d.Observe(1, true, kT0);
  d.Observe(2, true, kT0 + minutes(20));
  EXPECT_EQ(d.size(), 2u);
  EXPECT_TRUE(d.Expire(kT0 + minutes(30)).empty());
  EXPECT_EQ(d.size(), 1u);  // alert 1's change is out of the window
  EXPECT_TRUE(d.Expire(kT0 + minutes(50)).empty());
  EXPECT_EQ(d.size(), 0u);
}

TEST_F(FlapDetectorTest, MemoryPerAlertIsBounded) {
  FlapDetector d({.max_transitions = 3, .window = minutes(30), .settle = minutes(1)});
  // 1,000 changes a second apart: flapping the whole time, one entry.
  Alternate(d, 1, 1000, kT0, seconds(1));
  EXPECT_EQ(d.size(), 1u);
  EXPECT_TRUE(d.Flapping(1));
  EXPECT_EQ(d.Expire(kT0 + seconds(999) + minutes(1)).size(), 1u);
  EXPECT_EQ(d.size(), 0u);
}

TEST_F(FlapDetectorTest, ZeroDisables) {
  FlapDetector d({.max_transitions = 0});
  for (const auto& v : Alternate(d, 1, 50, kT0, seconds(1))) {
    EXPECT_FALSE(v.flapping);
    EXPECT_FALSE(v.hold_firing);
  }
  EXPECT_EQ(d.size(), 0u);
  EXPECT_TRUE(d.Expire(kT0 + minutes(60)).empty());

  FlapDetector w({.window = std::chrono::milliseconds(0)});
  for (const auto& v : Alternate(w, 1, 50, kT0, seconds(1))) EXPECT_FALSE(v.flapping);
}

}  // namespace
}  // namespace platops::alerting
