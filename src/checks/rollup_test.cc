#include "checks/rollup.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace platops::checks {
namespace {

using probe::Outcome;
using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr size_t kCrit = static_cast<size_t>(Outcome::kCritical);
constexpr size_t kOkIndex = static_cast<size_t>(Outcome::kOk);
constexpr size_t kInf = kResponseBucketsMs.size();

class RollupAccumulatorTest : public ::testing::Test {
 protected:
  // 2026-01-01T00:00:00Z plus `d`.
  static Timestamp At(milliseconds d) { return Timestamp(milliseconds(1767225600000)) + d; }

  static microseconds Ms(double ms) { return microseconds(static_cast<int64_t>(ms * 1000)); }

  // A single rollup holding one response time per value.
  static HourRollup WithTimes(const std::vector<double>& values_ms) {
    RollupAccumulator acc;
    for (double v : values_ms) acc.AddResult(At(minutes(1)), Outcome::kOk, Ms(v));
    std::vector<HourRollup> out = acc.Drain();
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? HourRollup{} : out[0];
  }

  RollupAccumulator acc_;
};

TEST_F(RollupAccumulatorTest, HourStartIsTheUtcHour) {
  EXPECT_EQ(HourStart(At(hours(10) + minutes(59) + milliseconds(59999))), At(hours(10)));
  EXPECT_EQ(HourStart(At(hours(10))), At(hours(10)));
}

TEST_F(RollupAccumulatorTest, TimeIsSplitAcrossHourBoundaries) {
  // 10:30 .. 12:15 CRITICAL, 12:15 .. 12:20 OK in maintenance.
  acc_.AddTime(At(hours(10) + minutes(30)), At(hours(12) + minutes(15)), Outcome::kCritical, false);
  acc_.AddTime(At(hours(12) + minutes(15)), At(hours(12) + minutes(20)), Outcome::kOk, true);
  EXPECT_FALSE(acc_.empty());

  std::vector<HourRollup> out = acc_.Drain();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].hour, At(hours(10)));
  EXPECT_EQ(out[0].ms_in_state[kCrit], 30 * 60000);
  EXPECT_EQ(out[0].ms_monitored, 30 * 60000);
  EXPECT_EQ(out[1].hour, At(hours(11)));
  EXPECT_EQ(out[1].ms_in_state[kCrit], 60 * 60000);
  EXPECT_EQ(out[1].ms_monitored, 60 * 60000);
  EXPECT_EQ(out[2].hour, At(hours(12)));
  EXPECT_EQ(out[2].ms_in_state[kCrit], 15 * 60000);
  EXPECT_EQ(out[2].ms_in_state[kOkIndex], 5 * 60000);
  EXPECT_EQ(out[2].ms_in_maintenance, 5 * 60000);
  EXPECT_EQ(out[2].ms_monitored, 20 * 60000);
  EXPECT_EQ(out[0].ms_in_maintenance, 0);

  EXPECT_TRUE(acc_.empty());
  EXPECT_TRUE(acc_.Drain().empty());
}

TEST_F(RollupAccumulatorTest, RangeEndingOnTheHourTouchesOneHour) {
  acc_.AddTime(At(hours(11)), At(hours(12)), Outcome::kWarning, false);
  acc_.AddTime(At(hours(13)), At(hours(13)), Outcome::kWarning, false);  // empty
  acc_.AddTime(At(hours(15)), At(hours(14)), Outcome::kWarning, false);  // inverted
  std::vector<HourRollup> out = acc_.Drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].hour, At(hours(11)));
  EXPECT_EQ(out[0].ms_in_state[static_cast<size_t>(Outcome::kWarning)], 3600000);
}

TEST_F(RollupAccumulatorTest, ResultsAreCountedPerHourOldestFirst) {
  acc_.AddResult(At(hours(3) + minutes(5)), Outcome::kCritical, std::nullopt);
  acc_.AddResult(At(hours(1) + minutes(5)), Outcome::kOk, Ms(20));
  acc_.AddResult(At(hours(1) + minutes(59)), Outcome::kOk, Ms(40));
  acc_.AddResult(At(hours(1) + minutes(30)), Outcome::kUnknown, std::nullopt);

  std::vector<HourRollup> out = acc_.Drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].hour, At(hours(1)));
  EXPECT_EQ(out[0].results[kOkIndex], 2);
  EXPECT_EQ(out[0].results[static_cast<size_t>(Outcome::kUnknown)], 1);
  EXPECT_EQ(out[0].rt_count, 2);
  EXPECT_DOUBLE_EQ(out[0].rt_sum_ms, 60);
  EXPECT_DOUBLE_EQ(out[0].rt_min_ms, 20);
  EXPECT_DOUBLE_EQ(out[0].rt_max_ms, 40);
  EXPECT_EQ(MeanMs(out[0]), 30.0);
  EXPECT_EQ(out[1].hour, At(hours(3)));
  EXPECT_EQ(out[1].results[kCrit], 1);
  EXPECT_EQ(out[1].rt_count, 0);
  EXPECT_EQ(MeanMs(out[1]), std::nullopt);
  EXPECT_EQ(QuantileMs(out[1], 0.5), std::nullopt);
}

TEST_F(RollupAccumulatorTest, BoundsAreInclusiveUpperLimits) {
  HourRollup r = WithTimes({0, 5, 5.001, 10, 120000, 120000.001});
  EXPECT_EQ(r.rt_buckets[0], 2);  // 0 and 5 are le=5
  EXPECT_EQ(r.rt_buckets[1], 2);  // 5.001 and 10 are le=10
  EXPECT_EQ(r.rt_buckets[kInf - 1], 1);
  EXPECT_EQ(r.rt_buckets[kInf], 1);
  int64_t total = 0;
  for (int64_t c : r.rt_buckets) total += c;
  EXPECT_EQ(total, 6);
  EXPECT_DOUBLE_EQ(r.rt_min_ms, 0);
  EXPECT_DOUBLE_EQ(r.rt_max_ms, 120000.001);
}

TEST_F(RollupAccumulatorTest, MergeSumsAndWidensMinMax) {
  HourRollup a = WithTimes({30, 70});
  a.ms_in_state[kCrit] = 1000;
  a.ms_monitored = 1000;
  HourRollup b = WithTimes({3, 50});
  b.ms_in_maintenance = 200;
  b.ms_in_state[kOkIndex] = 500;
  b.ms_monitored = 500;

  HourRollup merged = a;
  MergeInto(merged, b);
  EXPECT_EQ(merged.hour, a.hour);
  EXPECT_EQ(merged.results[kOkIndex], 4);
  EXPECT_EQ(merged.rt_count, 4);
  EXPECT_DOUBLE_EQ(merged.rt_sum_ms, 153);
  EXPECT_DOUBLE_EQ(merged.rt_min_ms, 3);
  EXPECT_DOUBLE_EQ(merged.rt_max_ms, 70);
  EXPECT_EQ(merged.rt_buckets[0], 1);  // 3
  EXPECT_EQ(merged.rt_buckets[3], 2);  // 30, 50
  EXPECT_EQ(merged.rt_buckets[4], 1);  // 70
  EXPECT_EQ(merged.ms_in_state[kCrit], 1000);
  EXPECT_EQ(merged.ms_in_state[kOkIndex], 500);
  EXPECT_EQ(merged.ms_monitored, 1500);
  EXPECT_EQ(merged.ms_in_maintenance, 200);

  // An empty side neither resets nor widens min/max with its zeros.
  HourRollup empty;
  HourRollup copy = b;
  MergeInto(copy, empty);
  EXPECT_DOUBLE_EQ(copy.rt_min_ms, 3);
  MergeInto(empty, a);
  EXPECT_DOUBLE_EQ(empty.rt_min_ms, 30);
  EXPECT_DOUBLE_EQ(empty.rt_max_ms, 70);
}

TEST_F(RollupAccumulatorTest, QuantileInterpolatesInsideTheBucket) {
  // le=5: 1, 5; le=10: 6, 10; le=50: 30, 50.
  HourRollup r = WithTimes({1, 5, 6, 10, 30, 50});
  EXPECT_DOUBLE_EQ(*QuantileMs(r, 0.5), 7.5);     // rank 3: halfway through (5, 10]
  EXPECT_DOUBLE_EQ(*QuantileMs(r, 0.25), 4.0);    // rank 1.5 in (0, 5] narrowed to [1, 5]
  EXPECT_DOUBLE_EQ(*QuantileMs(r, 0.75), 31.25);  // rank 4.5: a quarter into (25, 50]
  EXPECT_DOUBLE_EQ(*QuantileMs(r, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(*QuantileMs(r, 1.0), 50.0);
  EXPECT_DOUBLE_EQ(*QuantileMs(r, 2.0), 50.0);  // clamped
  EXPECT_DOUBLE_EQ(*MeanMs(r), 17.0);

  // All in one bucket: the observed range replaces (10, 25].
  HourRollup narrow = WithTimes({12, 14, 20, 24});
  EXPECT_DOUBLE_EQ(*QuantileMs(narrow, 0.5), 18.0);
}

TEST_F(RollupAccumulatorTest, QuantileInTheInfBucketEndsAtTheMaximum) {
  HourRollup r = WithTimes({150000, 200000});
  EXPECT_DOUBLE_EQ(*QuantileMs(r, 0.5), 175000.0);
  EXPECT_DOUBLE_EQ(*QuantileMs(r, 1.0), 200000.0);
}

TEST_F(RollupAccumulatorTest, P95OfAUniformSetIsWithinBucketAccuracy) {
  std::vector<double> values;
  for (int i = 1; i <= 2000; ++i) values.push_back(i);
  HourRollup r = WithTimes(values);
  // True p95 is 1900; the bucket (1000, 2500] narrowed to (1000, 2000] is uniform.
  EXPECT_NEAR(*QuantileMs(r, 0.95), 1900.0, 1.0);
  EXPECT_NEAR(*QuantileMs(r, 0.5), 1000.0, 1.0);
  EXPECT_NEAR(*QuantileMs(r, 0.99), 1980.0, 1.0);
  EXPECT_DOUBLE_EQ(*MeanMs(r), 1000.5);
}

}  // namespace
}  // namespace platops::checks
