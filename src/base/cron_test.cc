#include "base/cron.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "base/time_util.h"

namespace platops {
namespace {

using namespace std::chrono_literals;

class CronScheduleTest : public ::testing::Test {
 protected:
  static Timestamp T(std::string_view rfc3339) {
    auto t = ParseRfc3339(rfc3339);
    EXPECT_TRUE(t.ok()) << rfc3339;
    return t.ok() ? *t : Timestamp{};
  }
  static std::string S(Timestamp t) {
    if (t == Timestamp::max()) return "max";
    if (t == Timestamp::min()) return "min";
    return FormatRfc3339(t);
  }
  static CronSchedule Cron(std::string_view expr, std::string_view tz = "UTC") {
    auto c = CronSchedule::Parse(expr, tz);
    EXPECT_TRUE(c.ok()) << expr << ": " << c.status().ToString();
    return c.ok() ? c.value() : CronSchedule();
  }
  // The next `n` firings strictly after `from`, formatted.
  static std::vector<std::string> Firings(const CronSchedule& c, std::string_view from, int n) {
    std::vector<std::string> out;
    Timestamp t = T(from);
    for (int i = 0; i < n; ++i) {
      t = c.Next(t);
      out.push_back(S(t));
      if (t == Timestamp::max()) break;
    }
    return out;
  }
  static std::string ParseError(std::string_view expr, std::string_view tz = "UTC") {
    auto c = CronSchedule::Parse(expr, tz);
    if (c.ok()) return "(parsed)";
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << expr;
    return c.status().message();
  }
};

using Strings = std::vector<std::string>;

TEST_F(CronScheduleTest, ParsesEverySyntax) {
  EXPECT_EQ(Firings(Cron("*/15 * * * *"), "2026-01-01T00:00:00Z", 4),
            (Strings{"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z",
                     "2026-01-01T01:00:00Z"}));
  EXPECT_EQ(Firings(Cron("5,10 * * * *"), "2026-01-01T00:00:00Z", 3),
            (Strings{"2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z", "2026-01-01T01:05:00Z"}));
  EXPECT_EQ(Firings(Cron("10-12 * * * *"), "2026-01-01T00:00:00Z", 4),
            (Strings{"2026-01-01T00:10:00Z", "2026-01-01T00:11:00Z", "2026-01-01T00:12:00Z",
                     "2026-01-01T01:10:00Z"}));
  EXPECT_EQ(Firings(Cron("10-30/10 * * * *"), "2026-01-01T00:00:00Z", 4),
            (Strings{"2026-01-01T00:10:00Z", "2026-01-01T00:20:00Z", "2026-01-01T00:30:00Z",
                     "2026-01-01T01:10:00Z"}));
  EXPECT_EQ(Firings(Cron("50/5 * * * *"), "2026-01-01T00:00:00Z", 3),
            (Strings{"2026-01-01T00:50:00Z", "2026-01-01T00:55:00Z", "2026-01-01T01:50:00Z"}));
  EXPECT_EQ(Firings(Cron("0 22/2,3 * * *"), "2026-01-01T00:00:00Z", 3),
            (Strings{"2026-01-01T03:00:00Z", "2026-01-01T22:00:00Z", "2026-01-02T03:00:00Z"}));
  EXPECT_EQ(Firings(Cron("0 0 1 JAN,jul *"), "2026-01-01T00:00:00Z", 2),
            (Strings{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}));
  EXPECT_EQ(Firings(Cron("0 0 1 Feb-Apr/2 *"), "2026-01-01T00:00:00Z", 3),
            (Strings{"2026-02-01T00:00:00Z", "2026-04-01T00:00:00Z", "2027-02-01T00:00:00Z"}));
  // 2026-01-02 is a Friday.
  EXPECT_EQ(Firings(Cron("0 0 * * MON-fri"), "2026-01-02T00:00:00Z", 2),
            (Strings{"2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"}));
  EXPECT_EQ(Firings(Cron("0 0 * * 7"), "2026-01-01T00:00:00Z", 2),
            (Strings{"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}));
  EXPECT_EQ(Firings(Cron("0 0 * * 5-7"), "2026-01-01T00:00:00Z", 4),
            (Strings{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
                     "2026-01-09T00:00:00Z"}));
  EXPECT_EQ(Firings(Cron("0 0 * * sat,SUN"), "2026-01-01T00:00:00Z", 2),
            (Strings{"2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z"}));
  EXPECT_EQ(Firings(Cron("0 0 * * 0/3"), "2026-01-01T00:00:00Z", 3),  // Sun, Wed, Sat
            (Strings{"2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-07T00:00:00Z"}));
  auto spaced = Cron("  0\t0  * * *  ");
  EXPECT_EQ(spaced.expression(), "0 0 * * *");
  EXPECT_EQ(spaced.time_zone(), "UTC");
  EXPECT_EQ(Cron("0 9 * * *", "Europe/Berlin").time_zone(), "Europe/Berlin");
}

TEST_F(CronScheduleTest, Macros) {
  const char* from = "2026-05-10T12:30:00Z";
  EXPECT_EQ(S(Cron("@hourly").Next(T(from))), "2026-05-10T13:00:00Z");
  EXPECT_EQ(S(Cron("@daily").Next(T(from))), "2026-05-11T00:00:00Z");
  EXPECT_EQ(S(Cron("@midnight").Next(T(from))), "2026-05-11T00:00:00Z");
  EXPECT_EQ(S(Cron("@weekly").Next(T(from))), "2026-05-17T00:00:00Z");  // a Sunday
  EXPECT_EQ(S(Cron("@monthly").Next(T(from))), "2026-06-01T00:00:00Z");
  EXPECT_EQ(S(Cron("@yearly").Next(T(from))), "2027-01-01T00:00:00Z");
  EXPECT_EQ(S(Cron("@annually").Next(T(from))), "2027-01-01T00:00:00Z");
  EXPECT_EQ(S(Cron("@DAILY").Next(T(from))), "2026-05-11T00:00:00Z");
  EXPECT_EQ(Cron("@weekly").expression(), "@weekly");
}

TEST_F(CronScheduleTest, ErrorMessagesNameTheField) {
  struct Case {
    const char* expr;
    const char* message;
  };
  const Case cases[] = {
      {"", "cron: expression is empty"},
      {"   ", "cron: expression is empty"},
      {"* * * * * *", "cron: expected 5 fields, got 6"},
      {"* * * *", "cron: expected 5 fields, got 4"},
      {"@hourly 5", "cron: expected 5 fields, got 2"},
      {"@reboot",
       "cron: unknown macro \"@reboot\" (expected @yearly, @annually, @monthly, @weekly, "
       "@daily, @midnight or @hourly)"},
      {"60 * * * *", "minute: 60 is out of range 0-59"},
      {"* 24 * * *", "hour: 24 is out of range 0-23"},
      {"* * 0 * *", "day of month: 0 is out of range 1-31"},
      {"* * 32 * *", "day of month: 32 is out of range 1-31"},
      {"* * * 0 *", "month: 0 is out of range 1-12"},
      {"* * * 13 *", "month: 13 is out of range 1-12"},
      {"* * * * 8", "day of week: 8 is out of range 0-7"},
      {"99999999999999 * * * *", "minute: 99999999999999 is out of range 0-59"},
      {"*/0 * * * *", "minute: step 0 is out of range 1-59"},
      {"* */24 * * *", "hour: step 24 is out of range 1-23"},
      {"*/x * * * *", "minute: step \"x\" is not a number"},
      {"*/ * * * *", "minute: step \"\" is not a number"},
      {"5-3 * * * *", "minute: range 5-3 is reversed (start after end)"},
      {"* * * * SAT-SUN", "day of week: range SAT-SUN is reversed (start after end)"},
      {"x * * * *", "minute: \"x\" is not a number"},
      {"* * * FOO *", "month: \"FOO\" is not a number or month name"},
      {"* * * * SUNDAY", "day of week: \"SUNDAY\" is not a number or day name"},
      {"* * * * JAN", "day of week: \"JAN\" is not a number or day name"},
      {"1,,2 * * * *", "minute: empty list element"},
      {"1, * * * *", "minute: empty list element"},
      {"1- * * * *", "minute: missing value"},
      {"-5 * * * *", "minute: missing value"},
      {"1-2-3 * * * *", "minute: \"2-3\" is not a number"},
      {"*/2/3 * * * *", "minute: step \"2/3\" is not a number"},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseError(c.expr), c.message) << c.expr;
  EXPECT_EQ(ParseError("* * * * *", "Mars/Base"), "unknown time zone \"Mars/Base\"");
  EXPECT_EQ(ParseError("* * * * *", ""), "unknown time zone \"\"");
}

TEST_F(CronScheduleTest, MonthAndYearEnds) {
  EXPECT_EQ(Firings(Cron("0 0 31 * *"), "2026-01-31T00:00:00Z", 3),
            (Strings{"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"}));
  EXPECT_EQ(Firings(Cron("59 23 31 12 *"), "2026-06-01T00:00:00Z", 2),
            (Strings{"2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"}));
  EXPECT_EQ(Firings(Cron("0 0 1 * *"), "2026-12-15T00:00:00Z", 2),
            (Strings{"2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"}));
  EXPECT_EQ(Firings(Cron("* * * * *"), "2026-12-31T23:58:30Z", 3),
            (Strings{"2026-12-31T23:59:00Z", "2027-01-01T00:00:00Z", "2027-01-01T00:01:00Z"}));
}

TEST_F(CronScheduleTest, LeapYears) {
  auto leap = Cron("0 0 29 2 *");
  EXPECT_EQ(Firings(leap, "2026-01-01T00:00:00Z", 2),
            (Strings{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}));
  // 2100 is not a leap year: eight years between leap days.
  EXPECT_EQ(S(leap.Next(T("2096-03-01T00:00:00Z"))), "2104-02-29T00:00:00Z");
  EXPECT_EQ(S(leap.Prev(T("2031-01-01T00:00:00Z"))), "2028-02-29T00:00:00Z");
  EXPECT_EQ(S(Cron("0 0 28 2 *").Next(T("2028-02-28T00:00:00Z"))), "2029-02-28T00:00:00Z");
}

TEST_F(CronScheduleTest, DayOfMonthOrDayOfWeek) {
  // April 2026: Fridays are the 3rd, 10th and 17th; the 13th is a Monday.
  EXPECT_EQ(Firings(Cron("0 0 13 * 5"), "2026-04-01T00:00:00Z", 4),
            (Strings{"2026-04-03T00:00:00Z", "2026-04-10T00:00:00Z", "2026-04-13T00:00:00Z",
                     "2026-04-17T00:00:00Z"}));
  EXPECT_EQ(Firings(Cron("0 0 13 * *"), "2026-04-01T00:00:00Z", 2),
            (Strings{"2026-04-13T00:00:00Z", "2026-05-13T00:00:00Z"}));
  EXPECT_EQ(Firings(Cron("0 0 * * 5"), "2026-04-01T00:00:00Z", 2),
            (Strings{"2026-04-03T00:00:00Z", "2026-04-10T00:00:00Z"}));
  // A day-of-month field covering every day is unrestricted: only Fridays fire.
  EXPECT_EQ(Firings(Cron("0 0 1-31 * 5"), "2026-04-01T00:00:00Z", 2),
            (Strings{"2026-04-03T00:00:00Z", "2026-04-10T00:00:00Z"}));
  // Day-of-week 0-7 covers every day too: only the 13th fires.
  EXPECT_EQ(Firings(Cron("0 0 13 * 0-7"), "2026-04-01T00:00:00Z", 2),
            (Strings{"2026-04-13T00:00:00Z", "2026-05-13T00:00:00Z"}));
}

// Reference check in UTC: Next and Prev agree with a minute-by-minute scan.
TEST_F(CronScheduleTest, AgreesWithMinuteScan) {
  struct Case {
    const char* expr;
    std::function<bool(const std::chrono::year_month_day&, unsigned wd, int h, int m)> match;
  };
  const Case cases[] = {
      {"*/15 9-17 * * 1-5",
       [](auto&, unsigned wd, int h, int m) {
         return m % 15 == 0 && h >= 9 && h <= 17 && wd >= 1 && wd <= 5;
       }},
      {"7 */5 1,15 * *",
       [](auto& ymd, unsigned, int h, int m) {
         unsigned d = static_cast<unsigned>(ymd.day());
         return m == 7 && h % 5 == 0 && (d == 1 || d == 15);
       }},
      {"30 4 1 * 0",
       [](auto& ymd, unsigned wd, int h, int m) {
         return m == 30 && h == 4 && (static_cast<unsigned>(ymd.day()) == 1 || wd == 0);
       }},
      {"0-5 23 * 2 *",
       [](auto& ymd, unsigned, int h, int m) {
         return m <= 5 && h == 23 && static_cast<unsigned>(ymd.month()) == 2;
       }},
  };
  const Timestamp from = T("2026-01-28T00:00:00Z");
  const Timestamp to = T("2026-02-20T00:00:00Z");
  for (const Case& c : cases) {
    auto cron = Cron(c.expr);
    std::vector<Timestamp> expected;
    for (Timestamp t = from; t < to; t += 1min) {
      auto day = std::chrono::floor<std::chrono::days>(t);
      std::chrono::year_month_day ymd(day);
      auto minute_of_day = std::chrono::duration_cast<std::chrono::minutes>(t - day).count();
      unsigned wd = std::chrono::weekday(day).c_encoding();
      if (c.match(ymd, wd, static_cast<int>(minute_of_day / 60),
                  static_cast<int>(minute_of_day % 60)))
        expected.push_back(t);
    }
    ASSERT_FALSE(expected.empty()) << c.expr;
    std::vector<Timestamp> got;
    for (Timestamp t = cron.Next(from - 1ms); t < to; t = cron.Next(t)) got.push_back(t);
    EXPECT_EQ(got, expected) << c.expr;
    std::vector<Timestamp> back;
    for (Timestamp t = cron.Prev(to - 1ms); t >= from; t = cron.Prev(t - 1ms)) back.push_back(t);
    std::reverse(back.begin(), back.end());
    EXPECT_EQ(back, expected) << c.expr;
  }
}

TEST_F(CronScheduleTest, NextIsStrictlyAfterAndOnWholeMinutes) {
  auto every = Cron("* * * * *");
  EXPECT_EQ(S(every.Next(T("2026-01-01T00:00:30.500Z"))), "2026-01-01T00:01:00Z");
  EXPECT_EQ(S(every.Next(T("2026-01-01T00:01:00Z"))), "2026-01-01T00:02:00Z");
  EXPECT_EQ(S(every.Prev(T("2026-01-01T00:01:00Z"))), "2026-01-01T00:01:00Z");
  EXPECT_EQ(S(every.Prev(T("2026-01-01T00:01:59.999Z"))), "2026-01-01T00:01:00Z");
}

TEST_F(CronScheduleTest, BerlinSpringForward) {
  // 2026-03-29: 02:00 CET -> 03:00 CEST at 01:00 UTC; local 02:00-02:59 does not exist.
  auto fixed = Cron("30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(Firings(fixed, "2026-03-27T12:00:00Z", 3),
            (Strings{"2026-03-28T01:30:00Z",     // 02:30 CET
                     "2026-03-29T01:00:00Z",     // skipped 02:30: first instant after the gap
                     "2026-03-30T00:30:00Z"}));  // 02:30 CEST
  EXPECT_EQ(S(fixed.Prev(T("2026-03-29T01:59:00Z"))), "2026-03-29T01:00:00Z");
  EXPECT_EQ(S(fixed.Prev(T("2026-03-29T00:59:59Z"))), "2026-03-28T01:30:00Z");
  // A wildcard hour follows real time: every real hour, and the skipped :30 does not fire.
  EXPECT_EQ(Firings(Cron("0 * * * *", "Europe/Berlin"), "2026-03-28T23:30:00Z", 4),
            (Strings{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z",
                     "2026-03-29T03:00:00Z"}));
  EXPECT_EQ(Firings(Cron("30 * * * *", "Europe/Berlin"), "2026-03-29T00:00:00Z", 2),
            (Strings{"2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"}));
  // Every minute of the skipped hour collapses into the one firing at 03:00 CEST.
  EXPECT_EQ(Firings(Cron("*/20 2 * * *", "Europe/Berlin"), "2026-03-28T23:00:00Z", 2),
            (Strings{"2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"}));
  // Offsets either side of the change.
  auto nine = Cron("0 9 * * *", "Europe/Berlin");
  EXPECT_EQ(S(nine.Next(T("2026-03-28T00:00:00Z"))), "2026-03-28T08:00:00Z");
  EXPECT_EQ(S(nine.Next(T("2026-03-29T00:00:00Z"))), "2026-03-29T07:00:00Z");
}

TEST_F(CronScheduleTest, BerlinFallBack) {
  // 2026-10-25: 03:00 CEST -> 02:00 CET at 01:00 UTC; local 02:00-02:59 happens twice.
  auto fixed = Cron("30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(Firings(fixed, "2026-10-24T12:00:00Z", 2),
            (Strings{"2026-10-25T00:30:00Z",     // first 02:30 (CEST) only
                     "2026-10-26T01:30:00Z"}));  // 02:30 CET
  EXPECT_EQ(S(fixed.Next(T("2026-10-25T01:15:00Z"))), "2026-10-26T01:30:00Z");
  EXPECT_EQ(S(fixed.Prev(T("2026-10-25T01:45:00Z"))), "2026-10-25T00:30:00Z");
  // Hourly fires every real hour: both 02:00s are distinct instants.
  EXPECT_EQ(Firings(Cron("0 * * * *", "Europe/Berlin"), "2026-10-24T23:30:00Z", 3),
            (Strings{"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"}));
  EXPECT_EQ(S(Cron("@hourly", "Europe/Berlin").Prev(T("2026-10-25T01:30:00Z"))),
            "2026-10-25T01:00:00Z");
}

TEST_F(CronScheduleTest, NewYorkBothTransitions) {
  // 2026-03-08: 02:00 EST -> 03:00 EDT at 07:00 UTC.
  EXPECT_EQ(Firings(Cron("30 2 * * *", "America/New_York"), "2026-03-07T12:00:00Z", 3),
            (Strings{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}));
  // 2026-11-01: 02:00 EDT -> 01:00 EST at 06:00 UTC; 01:30 fires once, in EDT.
  auto fixed = Cron("30 1 * * *", "America/New_York");
  EXPECT_EQ(Firings(fixed, "2026-10-31T12:00:00Z", 2),
            (Strings{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}));
  EXPECT_EQ(S(fixed.Prev(T("2026-11-01T06:45:00Z"))), "2026-11-01T05:30:00Z");
  auto half_hourly = Cron("*/30 * * * *", "America/New_York");
  EXPECT_EQ(Firings(half_hourly, "2026-11-01T05:00:00Z", 4),
            (Strings{"2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z",
                     "2026-11-01T07:00:00Z"}));
  EXPECT_EQ(S(half_hourly.Prev(T("2026-11-01T06:45:00Z"))), "2026-11-01T06:30:00Z");
}

TEST_F(CronScheduleTest, Prev) {
  auto weekdays = Cron("0 9 * * 1-5");
  // 2026-01-05 is a Monday; the previous run was Friday.
  EXPECT_EQ(S(weekdays.Prev(T("2026-01-05T08:59:59Z"))), "2026-01-02T09:00:00Z");
  EXPECT_EQ(S(weekdays.Prev(T("2026-01-05T09:00:00Z"))), "2026-01-05T09:00:00Z");
  EXPECT_EQ(S(Cron("@yearly").Prev(T("2026-06-01T00:00:00Z"))), "2026-01-01T00:00:00Z");
  EXPECT_EQ(S(Cron("0 0 31 * *").Prev(T("2026-05-01T00:00:00Z"))), "2026-03-31T00:00:00Z");
}

TEST_F(CronScheduleTest, ImpossibleExpressionsNeverFire) {
  for (const char* expr : {"0 0 30 2 *", "0 0 31 2 *", "0 0 31 4,6,9,11 *"}) {
    auto cron = Cron(expr);
    EXPECT_EQ(cron.Next(T("2026-01-01T00:00:00Z")), Timestamp::max()) << expr;
    EXPECT_EQ(cron.Prev(T("2026-01-01T00:00:00Z")), Timestamp::min()) << expr;
    auto berlin = Cron(expr, "Europe/Berlin");
    EXPECT_EQ(berlin.Next(T("2026-01-01T00:00:00Z")), Timestamp::max()) << expr;
  }
}

TEST_F(CronScheduleTest, OutsideSupportedYears) {
  auto every = Cron("* * * * *");
  EXPECT_EQ(every.Next(Timestamp::max()), Timestamp::max());
  EXPECT_EQ(every.Next(Timestamp::min()), Timestamp::max());
  EXPECT_EQ(every.Prev(Timestamp::min()), Timestamp::min());
  EXPECT_EQ(every.Prev(Timestamp::max()), Timestamp::min());
  EXPECT_EQ(CronSchedule().Next(T("2026-01-01T00:00:00Z")), Timestamp::max());
}

TEST_F(CronScheduleTest, NextIsStrictlyIncreasing) {
  for (const char* tz : {"UTC", "Europe/Berlin"}) {
    auto cron = Cron("*/7 * * * *", tz);
    Timestamp t = T("2026-10-22T00:00:00Z");  // spans Berlin's fall-back
    for (int i = 0; i < 1000; ++i) {
      Timestamp next = cron.Next(t);
      ASSERT_GT(next, t) << tz << " " << S(t);
      ASSERT_LE(next - t, 7min) << tz << " " << S(t);
      ASSERT_EQ(next.time_since_epoch() % 1min, 0ms) << S(next);
      ASSERT_EQ(cron.Prev(next), next) << S(next);
      t = next;
    }
  }
}

}  // namespace
}  // namespace platops
