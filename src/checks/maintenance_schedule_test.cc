#include "checks/maintenance_schedule.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/time_util.h"

namespace platops::checks {
namespace {

using namespace std::chrono_literals;

class MaintenanceScheduleTest : public ::testing::Test {
 protected:
  static Timestamp T(std::string_view rfc3339) {
    auto t = ParseRfc3339(rfc3339);
    EXPECT_TRUE(t.ok()) << rfc3339;
    return t.ok() ? *t : Timestamp{};
  }
  static std::string S(std::optional<Timestamp> t) {
    return t ? FormatRfc3339(*t) : std::string("none");
  }
  // Intervals as "start/end" strings, for readable comparisons.
  static std::string S(const Interval& iv) {
    return FormatRfc3339(iv.start) + "/" + FormatRfc3339(iv.end);
  }
  static std::vector<std::string> S(const std::vector<Interval>& v) {
    std::vector<std::string> out;
    for (const Interval& iv : v) out.push_back(S(iv));
    return out;
  }
  static MaintenanceSchedule Compile(const MaintenanceTiming& t) {
    auto s = MaintenanceSchedule::Compile(t);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s).value();
  }
  static MaintenanceTiming Cron(std::string expr, std::chrono::minutes duration,
                                std::string tz = "UTC") {
    MaintenanceTiming t;
    t.cron = std::move(expr);
    t.duration = duration;
    t.time_zone = std::move(tz);
    return t;
  }
  static MaintenanceTiming Weekly(std::vector<WeeklyRange> ranges, std::string tz = "UTC") {
    MaintenanceTiming t;
    t.weekly = std::move(ranges);
    t.time_zone = std::move(tz);
    return t;
  }
};

using Strings = std::vector<std::string>;

constexpr int kSun = 0, kMon = 1, kTue = 2, kWed = 3, kSat = 6;
constexpr int H(int hours, int minutes = 0) { return hours * 60 + minutes; }

TEST_F(MaintenanceScheduleTest, OneOff) {
  MaintenanceTiming t;
  t.start = T("2026-05-01T10:00:00Z");
  t.end = T("2026-05-01T12:00:00Z");
  auto s = Compile(t);
  EXPECT_FALSE(s.ActiveAt(T("2026-05-01T09:59:59.999Z")));
  EXPECT_TRUE(s.ActiveAt(T("2026-05-01T10:00:00Z")));
  EXPECT_TRUE(s.ActiveAt(T("2026-05-01T11:59:59.999Z")));
  EXPECT_FALSE(s.ActiveAt(T("2026-05-01T12:00:00Z")));
  EXPECT_EQ(S(s.Intervals(T("2026-05-01T09:00:00Z"), T("2026-05-01T11:00:00Z"))),
            (Strings{"2026-05-01T10:00:00Z/2026-05-01T11:00:00Z"}));
  EXPECT_EQ(S(s.Intervals(T("2026-04-01T00:00:00Z"), T("2026-06-01T00:00:00Z"))),
            (Strings{"2026-05-01T10:00:00Z/2026-05-01T12:00:00Z"}));
  EXPECT_TRUE(s.Intervals(T("2026-05-01T12:00:00Z"), T("2026-05-02T00:00:00Z")).empty());
  EXPECT_TRUE(s.Intervals(T("2026-05-01T11:00:00Z"), T("2026-05-01T11:00:00Z")).empty());
  EXPECT_EQ(S(s.ActiveUntil(T("2026-05-01T10:30:00Z"))), "2026-05-01T12:00:00Z");
  EXPECT_EQ(S(s.ActiveUntil(T("2026-05-01T12:00:00Z"))), "none");
  EXPECT_EQ(S(s.NextStart(T("2026-05-01T09:00:00Z"))), "2026-05-01T10:00:00Z");
  EXPECT_EQ(S(s.NextStart(T("2026-05-01T10:00:00Z"))), "none");
  EXPECT_EQ(S(s.NextStart(T("2026-05-01T13:00:00Z"))), "none");
}

TEST_F(MaintenanceScheduleTest, CronWithDuration) {
  auto s = Compile(Cron("0 2 * * *", 3h));
  // The first occurrence opened at 02:00, before `from`, and is still open at it.
  EXPECT_EQ(S(s.Intervals(T("2026-05-01T03:00:00Z"), T("2026-05-03T00:00:00Z"))),
            (Strings{"2026-05-01T03:00:00Z/2026-05-01T05:00:00Z",
                     "2026-05-02T02:00:00Z/2026-05-02T05:00:00Z"}));
  EXPECT_TRUE(s.ActiveAt(T("2026-05-01T04:59:00Z")));
  EXPECT_FALSE(s.ActiveAt(T("2026-05-01T05:00:00Z")));
  EXPECT_FALSE(s.ActiveAt(T("2026-05-01T01:59:59Z")));
  EXPECT_EQ(S(s.ActiveUntil(T("2026-05-01T04:00:00Z"))), "2026-05-01T05:00:00Z");
  EXPECT_EQ(S(s.ActiveUntil(T("2026-05-01T06:00:00Z"))), "none");
  EXPECT_EQ(S(s.NextStart(T("2026-05-01T04:00:00Z"))), "2026-05-02T02:00:00Z");
  EXPECT_EQ(S(s.NextStart(T("2026-05-01T02:00:00Z"))), "2026-05-02T02:00:00Z");
  EXPECT_EQ(S(s.NextStart(T("2026-05-01T01:59:59Z"))), "2026-05-01T02:00:00Z");

  // A window opened days before `from` is still found.
  auto monthly = Compile(Cron("0 0 1 * *", 10 * 24h));
  EXPECT_EQ(S(monthly.Intervals(T("2026-05-05T00:00:00Z"), T("2026-05-06T00:00:00Z"))),
            (Strings{"2026-05-05T00:00:00Z/2026-05-06T00:00:00Z"}));
  EXPECT_EQ(S(monthly.ActiveUntil(T("2026-05-05T00:00:00Z"))), "2026-05-11T00:00:00Z");
  EXPECT_EQ(S(monthly.NextStart(T("2026-05-05T00:00:00Z"))), "2026-06-01T00:00:00Z");
}

TEST_F(MaintenanceScheduleTest, CronInTimeZone) {
  // Saturdays 22:00 Berlin time for 4 hours: 20:00Z in summer, 21:00Z in winter.
  auto s = Compile(Cron("0 22 * * SAT", 4h, "Europe/Berlin"));
  EXPECT_EQ(S(s.Intervals(T("2026-10-20T00:00:00Z"), T("2026-11-02T00:00:00Z"))),
            (Strings{"2026-10-24T20:00:00Z/2026-10-25T00:00:00Z",
                     "2026-10-31T21:00:00Z/2026-11-01T01:00:00Z"}));
}

TEST_F(MaintenanceScheduleTest, OverlappingOccurrencesMerge) {
  // Hourly 90-minute windows overlap into one continuous window.
  auto s = Compile(Cron("0 * * * *", 90min));
  EXPECT_EQ(S(s.Intervals(T("2026-05-01T00:10:00Z"), T("2026-05-01T06:00:00Z"))),
            (Strings{"2026-05-01T00:10:00Z/2026-05-01T06:00:00Z"}));
  // Touching windows merge as well; gaps stay.
  EXPECT_EQ(S(Compile(Cron("*/10 1 * * *", 10min))
                  .Intervals(T("2026-05-01T00:00:00Z"), T("2026-05-01T03:00:00Z"))),
            (Strings{"2026-05-01T01:00:00Z/2026-05-01T02:00:00Z"}));
  EXPECT_EQ(S(Compile(Cron("0,30 1 * * *", 15min))
                  .Intervals(T("2026-05-01T00:00:00Z"), T("2026-05-01T03:00:00Z"))),
            (Strings{"2026-05-01T01:00:00Z/2026-05-01T01:15:00Z",
                     "2026-05-01T01:30:00Z/2026-05-01T01:45:00Z"}));
  // ActiveUntil follows the merged window across many occurrences, up to the recurrence end.
  MaintenanceTiming bounded = Cron("0 */6 * * *", 8h);
  bounded.end = T("2026-06-15T12:00:00Z");
  auto b = Compile(bounded);
  EXPECT_EQ(S(b.ActiveUntil(T("2026-05-01T00:00:00Z"))), "2026-06-15T12:00:00Z");
  EXPECT_EQ(S(b.NextStart(T("2026-05-01T00:00:00Z"))), "none");
}

TEST_F(MaintenanceScheduleTest, WeeklyWrapsOverTheWeekend) {
  // 2026-05-02 is a Saturday.
  auto s = Compile(Weekly({{kSat, H(22), kMon, H(2)}}));
  EXPECT_EQ(S(s.Intervals(T("2026-05-01T00:00:00Z"), T("2026-05-15T00:00:00Z"))),
            (Strings{"2026-05-02T22:00:00Z/2026-05-04T02:00:00Z",
                     "2026-05-09T22:00:00Z/2026-05-11T02:00:00Z"}));
  EXPECT_TRUE(s.ActiveAt(T("2026-05-03T12:00:00Z")));
  EXPECT_FALSE(s.ActiveAt(T("2026-05-04T02:00:00Z")));
  EXPECT_EQ(S(s.ActiveUntil(T("2026-05-03T12:00:00Z"))), "2026-05-04T02:00:00Z");
  EXPECT_EQ(S(s.NextStart(T("2026-05-03T12:00:00Z"))), "2026-05-09T22:00:00Z");
  // Open at `from`: the occurrence began the Saturday before.
  EXPECT_EQ(S(s.Intervals(T("2026-05-04T00:00:00Z"), T("2026-05-05T00:00:00Z"))),
            (Strings{"2026-05-04T00:00:00Z/2026-05-04T02:00:00Z"}));
}

TEST_F(MaintenanceScheduleTest, WeeklyRangesMergeAndWrap) {
  // 2026-05-04 is a Monday.
  auto s = Compile(Weekly({{kMon, H(8), kMon, H(12)},
                           {kMon, H(11), kMon, H(14)},
                           {kTue, H(0), kTue, H(24)},
                           {kWed, H(0), kWed, H(6)}}));
  EXPECT_EQ(S(s.Intervals(T("2026-05-04T00:00:00Z"), T("2026-05-07T00:00:00Z"))),
            (Strings{"2026-05-04T08:00:00Z/2026-05-04T14:00:00Z",
                     "2026-05-05T00:00:00Z/2026-05-06T06:00:00Z"}));
  EXPECT_EQ(S(s.ActiveUntil(T("2026-05-05T10:00:00Z"))), "2026-05-06T06:00:00Z");
  // An end at or before the start on the same day wraps to the next week.
  auto long_week = Compile(Weekly({{kMon, H(10), kMon, H(8)}}));
  EXPECT_EQ(S(long_week.Intervals(T("2026-05-04T00:00:00Z"), T("2026-05-12T00:00:00Z"))),
            (Strings{"2026-05-04T00:00:00Z/2026-05-04T08:00:00Z",
                     "2026-05-04T10:00:00Z/2026-05-11T08:00:00Z",
                     "2026-05-11T10:00:00Z/2026-05-12T00:00:00Z"}));
}

TEST_F(MaintenanceScheduleTest, WeeklyAcrossDaylightSavingTime) {
  // Sundays 02:00-04:00 Berlin time: two local hours.
  auto s = Compile(Weekly({{kSun, H(2), kSun, H(4)}}, "Europe/Berlin"));
  EXPECT_EQ(S(s.Intervals(T("2026-03-21T00:00:00Z"), T("2026-04-06T00:00:00Z"))),
            (Strings{"2026-03-22T01:00:00Z/2026-03-22T03:00:00Z",     // CET: 2 hours
                     "2026-03-29T01:00:00Z/2026-03-29T02:00:00Z",     // spring forward: 1 hour
                     "2026-04-05T00:00:00Z/2026-04-05T02:00:00Z"}));  // CEST: 2 hours
  // Fall back: 02:00 happens twice and resolves to the earliest; 04:00 CET is 3 real hours on.
  EXPECT_EQ(S(s.Intervals(T("2026-10-24T00:00:00Z"), T("2026-10-26T00:00:00Z"))),
            (Strings{"2026-10-25T00:00:00Z/2026-10-25T03:00:00Z"}));
  EXPECT_EQ(S(s.ActiveUntil(T("2026-10-25T01:30:00Z"))), "2026-10-25T03:00:00Z");
  // New York, starting inside the skipped hour: 02:30 EST does not exist on 2026-03-08.
  auto ny = Compile(Weekly({{kSun, H(2, 30), kSun, H(5)}}, "America/New_York"));
  EXPECT_EQ(S(ny.Intervals(T("2026-03-07T00:00:00Z"), T("2026-03-09T00:00:00Z"))),
            (Strings{"2026-03-08T07:00:00Z/2026-03-08T09:00:00Z"}));
  EXPECT_EQ(S(ny.NextStart(T("2026-03-01T12:00:00Z"))), "2026-03-08T07:00:00Z");
}

TEST_F(MaintenanceScheduleTest, WeeklyOverFourHundredDays) {
  auto s = Compile(Weekly({{kSun, H(2), kSun, H(4)}}, "Europe/Berlin"));
  const auto start = std::chrono::steady_clock::now();
  auto v = s.Intervals(T("2026-01-01T00:00:00Z"), T("2027-02-05T00:00:00Z"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // 2026-01-04 is the first Sunday; 57 Sundays up to 2027-01-31.
  ASSERT_EQ(v.size(), 57u);
  EXPECT_EQ(S(v.front()), "2026-01-04T01:00:00Z/2026-01-04T03:00:00Z");
  EXPECT_EQ(S(v.back()), "2027-01-31T01:00:00Z/2027-01-31T03:00:00Z");
  // 55 ordinary Sundays of 2 hours, one of 1 hour and one of 3 hours.
  EXPECT_EQ(TotalLength(v), 57 * 2h);
  EXPECT_LT(elapsed, 1s);
}

TEST_F(MaintenanceScheduleTest, RecurrenceBounds) {
  MaintenanceTiming t = Cron("0 2 * * *", 3h);
  t.start = T("2026-05-02T03:00:00Z");
  t.end = T("2026-05-04T03:00:00Z");
  auto s = Compile(t);
  EXPECT_EQ(S(s.Intervals(T("2026-05-01T00:00:00Z"), T("2026-05-10T00:00:00Z"))),
            (Strings{"2026-05-02T03:00:00Z/2026-05-02T05:00:00Z",
                     "2026-05-03T02:00:00Z/2026-05-03T05:00:00Z",
                     "2026-05-04T02:00:00Z/2026-05-04T03:00:00Z"}));
  EXPECT_FALSE(s.ActiveAt(T("2026-05-01T02:30:00Z")));
  EXPECT_FALSE(s.ActiveAt(T("2026-05-02T02:30:00Z")));
  EXPECT_TRUE(s.ActiveAt(T("2026-05-02T03:00:00Z")));
  EXPECT_EQ(S(s.ActiveUntil(T("2026-05-04T02:30:00Z"))), "2026-05-04T03:00:00Z");
  EXPECT_EQ(S(s.NextStart(T("2026-05-01T00:00:00Z"))), "2026-05-02T03:00:00Z");
  EXPECT_EQ(S(s.NextStart(T("2026-05-03T00:00:00Z"))), "2026-05-03T02:00:00Z");
  EXPECT_EQ(S(s.NextStart(T("2026-05-04T02:00:00Z"))), "none");
  EXPECT_EQ(S(s.NextStart(T("2026-06-01T00:00:00Z"))), "none");

  MaintenanceTiming w = Weekly({{kSat, H(22), kMon, H(2)}});
  w.start = T("2026-05-05T00:00:00Z");
  auto ws = Compile(w);
  EXPECT_EQ(S(ws.Intervals(T("2026-05-01T00:00:00Z"), T("2026-05-12T00:00:00Z"))),
            (Strings{"2026-05-09T22:00:00Z/2026-05-11T02:00:00Z"}));
}

TEST_F(MaintenanceScheduleTest, NextStartAtAWeekBoundary) {
  // 2026-05-04 is a Monday: from the start of one occurrence, the next is exactly 7 days later.
  auto s = Compile(Weekly({{kMon, H(8), kMon, H(9)}}));
  EXPECT_EQ(S(s.NextStart(T("2026-05-04T08:00:00Z"))), "2026-05-11T08:00:00Z");
  EXPECT_EQ(S(s.NextStart(T("2026-05-04T07:59:59Z"))), "2026-05-04T08:00:00Z");
  // Always in maintenance: never starts again, "until" is capped a year ahead.
  auto always = Compile(Weekly({{kSun, H(0), kSat, H(24)}}));
  EXPECT_EQ(S(always.NextStart(T("2026-05-04T08:00:00Z"))), "none");
  EXPECT_EQ(S(always.ActiveUntil(T("2026-05-04T08:00:00Z"))), "2027-05-05T08:00:00Z");
}

TEST_F(MaintenanceScheduleTest, ValidationNamesTheField) {
  struct Case {
    std::string name;
    MaintenanceTiming timing;
    std::string field, message;
  };
  auto with = [](MaintenanceTiming t, auto&& edit) {
    edit(t);
    return t;
  };
  MaintenanceTiming once;
  once.start = T("2026-05-01T10:00:00Z");
  once.end = T("2026-05-01T12:00:00Z");
  const MaintenanceTiming cron = Cron("0 2 * * *", 3h);
  const MaintenanceTiming weekly = Weekly({{kSat, H(22), kMon, H(2)}});
  const std::vector<Case> cases = {
      {"zone", with(cron, [](auto& t) { t.time_zone = "Mars/Base"; }), "time_zone",
       "unknown time zone \"Mars/Base\""},
      {"nothing", MaintenanceTiming{}, "start",
       "is required for a one-off window (or set cron or weekly)"},
      {"no end", with(once, [](auto& t) { t.end.reset(); }), "end",
       "is required for a one-off window"},
      {"no start", with(once, [](auto& t) { t.start.reset(); }), "start",
       "is required for a one-off window (or set cron or weekly)"},
      {"empty", with(once, [&](auto& t) { t.end = t.start; }), "end", "must be after start"},
      {"both",
       with(cron,
            [](auto& t) {
              t.weekly = {{kSat, H(22), kMon, H(2)}};
            }),
       "weekly", "cannot be combined with cron; set one of them"},
      {"stray duration", with(once, [](auto& t) { t.duration = 5min; }), "duration",
       "is only valid with cron"},
      {"bad cron", with(cron, [](auto& t) { t.cron = "61 * * * *"; }), "cron",
       "minute: 61 is out of range 0-59"},
      {"no duration", with(cron, [](auto& t) { t.duration = 0min; }), "duration",
       "must be 1m to 31d, got 0s"},
      {"long duration", with(cron, [](auto& t) { t.duration = 32 * 24h; }), "duration",
       "must be 1m to 31d, got 4w4d"},
      {"bad day", with(weekly, [](auto& t) { t.weekly[0].day = 7; }), "weekly[0].day",
       "must be 0 (Sunday) to 6 (Saturday), got 7"},
      {"bad start",
       with(weekly,
            [](auto& t) {
              t.weekly.push_back({kMon, H(24), kMon, H(25)});
            }),
       "weekly[1].start", "must be 00:00 to 23:59 (0 to 1439 minutes after midnight), got 1440"},
      {"bad end day",
       with(weekly,
            [](auto& t) {
              t.weekly.insert(t.weekly.end(), 2, {kMon, 0, -1, 0});
            }),
       "weekly[1].end_day", "must be 0 (Sunday) to 6 (Saturday), got -1"},
      {"bad end",
       with(weekly,
            [](auto& t) {
              t.weekly.push_back({kMon, 0, kMon, 60});
              t.weekly.push_back({kMon, 0, kTue, 1441});
            }),
       "weekly[2].end", "must be 00:00 to 24:00 (0 to 1440 minutes after midnight), got 1441"},
      {"zero length",
       with(weekly,
            [](auto& t) {
              t.weekly[0] = {kMon, H(3), kMon, H(3)};
            }),
       "weekly[0].end", "must differ from the start"},
      {"reversed bounds",
       with(weekly,
            [&](auto& t) {
              t.start = T("2026-06-01T00:00:00Z");
              t.end = T("2026-05-01T00:00:00Z");
            }),
       "end", "must be after start"},
  };
  for (const Case& c : cases) {
    Status st = ValidateTiming(c.timing);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(st.field(), c.field) << c.name;
    EXPECT_EQ(st.message(), c.message) << c.name;
    auto compiled = MaintenanceSchedule::Compile(c.timing);
    ASSERT_FALSE(compiled.ok()) << c.name;
    EXPECT_EQ(compiled.status().field(), c.field) << c.name;
  }
  EXPECT_TRUE(ValidateTiming(once).ok());
  EXPECT_TRUE(ValidateTiming(cron).ok());
  EXPECT_TRUE(ValidateTiming(weekly).ok());
  EXPECT_TRUE(
      ValidateTiming(with(weekly, [&](auto& t) { t.start = T("2026-06-01T00:00:00Z"); })).ok());
  EXPECT_TRUE(ValidateTiming(Weekly({{kSun, H(0), kSat, H(24)}}, "America/New_York")).ok());
}

TEST_F(MaintenanceScheduleTest, IntervalHelpers) {
  const Timestamp t0 = T("2026-05-01T00:00:00Z");
  auto at = [&](int minutes) { return t0 + std::chrono::minutes(minutes); };
  const std::vector<Interval> v = {
      {at(50), at(60)}, {at(0), at(10)}, {at(5), at(20)}, {at(20), at(30)}, {at(40), at(40)}};
  EXPECT_EQ(UnionIntervals(v), (std::vector<Interval>{{at(0), at(30)}, {at(50), at(60)}}));
  EXPECT_EQ(TotalLength(v), 40min);
  EXPECT_EQ(TotalLength({}), 0ms);
  const std::vector<Interval> w = {{at(25), at(55)}, {at(8), at(9)}};
  EXPECT_EQ(IntersectIntervals(v, w),
            (std::vector<Interval>{{at(8), at(9)}, {at(25), at(30)}, {at(50), at(55)}}));
  EXPECT_TRUE(IntersectIntervals(v, {}).empty());
}

}  // namespace
}  // namespace platops::checks
