#include "alerting/time_interval.h"

#include <gtest/gtest.h>
#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_reader.h"
#include "base/time_util.h"

namespace platops::alerting {
namespace {

using namespace std::chrono_literals;
using Ranges = std::vector<InclusiveRange>;

class TimeIntervalTest : public ::testing::Test {
 protected:
  static boost::json::value Json(std::string_view text) {
    auto v = ParseJson(text);
    EXPECT_TRUE(v.ok()) << text << ": " << v.status().ToString();
    return v.ok() ? std::move(v).value() : boost::json::value();
  }
  static TimeInterval Parse(std::string_view text, const TimeIntervalParseOptions& options = {}) {
    auto ti = ParseTimeInterval(Json(text), options);
    EXPECT_TRUE(ti.ok()) << text << ": " << ti.status().ToString();
    return ti.ok() ? std::move(ti).value() : TimeInterval{};
  }
  // "field: message" of the parse error, or "ok".
  static std::string Error(std::string_view text) {
    auto ti = ParseTimeInterval(Json(text));
    if (ti.ok()) return "ok";
    EXPECT_EQ(ti.status().code(), StatusCode::kInvalidArgument);
    return ti.status().field() + ": " + ti.status().message();
  }
  static TimePoint T(std::string_view rfc3339) {
    auto t = ParseRfc3339(rfc3339);
    EXPECT_TRUE(t.ok()) << rfc3339;
    return t.ok() ? TimePoint(*t) : TimePoint{};
  }
  static std::string S(std::optional<TimePoint> t) {
    if (!t) return "none";
    return FormatRfc3339(std::chrono::time_point_cast<std::chrono::milliseconds>(*t));
  }
  static bool In(std::string_view interval, std::string_view at) {
    return Contains(Parse(interval), T(at));
  }
  static std::string Next(std::string_view interval, std::string_view from) {
    return S(NextChange({Parse(interval)}, T(from)));
  }
};

// ---------------------------------------------------------------------------------------------
// Parsing

TEST_F(TimeIntervalTest, ParsesEveryFieldAndRangeForm) {
  TimeInterval ti = Parse(R"({
      "times": [{"start_time": "09:00", "end_time": "17:00"},
                {"start_time": "22:30", "end_time": "24:00"}],
      "weekdays": ["monday:friday", "sunday"],
      "days_of_month": ["1:5", "-3:-1", "15"],
      "months": ["january:march", "12", "5:6"],
      "years": ["2020:2022", "2030"],
      "location": "Europe/Berlin"})");
  EXPECT_EQ(ti.times, (std::vector<TimeRange>{{540, 1020}, {1350, 1440}}));
  EXPECT_EQ(ti.weekdays, (Ranges{{1, 5}, {0, 0}}));
  EXPECT_EQ(ti.days_of_month, (Ranges{{1, 5}, {-3, -1}, {15, 15}}));
  EXPECT_EQ(ti.months, (Ranges{{1, 3}, {12, 12}, {5, 6}}));
  EXPECT_EQ(ti.years, (Ranges{{2020, 2022}, {2030, 2030}}));
  EXPECT_EQ(ti.location, "Europe/Berlin");
}

TEST_F(TimeIntervalTest, NamesAreCaseInsensitive) {
  TimeInterval ti = Parse(R"({"weekdays": ["Monday:FRIDAY", "SaturDay"],
                              "months": ["JANUARY:March", "December"]})");
  EXPECT_EQ(ti.weekdays, (Ranges{{1, 5}, {6, 6}}));
  EXPECT_EQ(ti.months, (Ranges{{1, 3}, {12, 12}}));
}

TEST_F(TimeIntervalTest, AcceptsNumbersWhereYamlWouldHaveThem) {
  TimeInterval ti = Parse(R"({"days_of_month": [1, -1, "+2"], "months": [12], "years": [2024]})");
  EXPECT_EQ(ti.days_of_month, (Ranges{{1, 1}, {-1, -1}, {2, 2}}));
  EXPECT_EQ(ti.months, (Ranges{{12, 12}}));
  EXPECT_EQ(ti.years, (Ranges{{2024, 2024}}));
}

TEST_F(TimeIntervalTest, AbsentAndNullFieldsAreUnconstrainedEmptyListsAreNot) {
  TimeInterval absent = Parse("{}");
  EXPECT_FALSE(absent.times.has_value());
  EXPECT_FALSE(absent.weekdays.has_value());
  EXPECT_EQ(absent.location, "UTC");
  TimeInterval null = Parse(R"({"weekdays": null, "times": null, "location": null})");
  EXPECT_FALSE(null.weekdays.has_value());
  EXPECT_FALSE(null.times.has_value());
  EXPECT_EQ(null.location, "UTC");
  TimeInterval empty = Parse(R"({"weekdays": []})");
  ASSERT_TRUE(empty.weekdays.has_value());
  EXPECT_TRUE(empty.weekdays->empty());
}

TEST_F(TimeIntervalTest, LocationForms) {
  EXPECT_EQ(Parse(R"({"location": ""})").location, "UTC");
  EXPECT_EQ(Parse(R"({"location": "UTC"})").location, "UTC");
  EXPECT_EQ(Parse(R"({"location": "America/New_York"})").location, "America/New_York");
  EXPECT_EQ(Parse(R"({"location": "Local"})").location, "UTC");
  TimeIntervalParseOptions options;
  options.local_time_zone = "Asia/Tokyo";
  EXPECT_EQ(Parse(R"({"location": "Local"})", options).location, "Asia/Tokyo");
  options.local_time_zone = "Nowhere/Special";
  auto bad = ParseTimeInterval(Json(R"({"location": "Local"})"), options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "location");
  EXPECT_EQ(bad.status().message(), "Local stands for unknown time zone Nowhere/Special");
}

TEST_F(TimeIntervalTest, MonthNumbersOutsideTheYearParseButNeverMatch) {
  TimeInterval ti = Parse(R"({"months": ["13"]})");
  EXPECT_EQ(ti.months, (Ranges{{13, 13}}));
  for (const char* at : {"2026-01-15T00:00:00Z", "2026-12-15T00:00:00Z"}) {
    EXPECT_FALSE(Contains(ti, T(at))) << at;
  }
  EXPECT_TRUE(In(R"({"months": ["0:13"]})", "2026-07-01T00:00:00Z"));
}

struct BadInput {
  const char* json;
  const char* error;
};

TEST_F(TimeIntervalTest, RejectsBadInputWithAlertmanagersWording) {
  const BadInput cases[] = {
      // weekdays
      {R"({"weekdays": ["friday:monday"]})", "weekdays[0]: start day cannot be before end day"},
      // Weekday ranges do not wrap over the week's end (Sunday is day 0).
      {R"({"weekdays": ["saturday:sunday"]})", "weekdays[0]: start day cannot be before end day"},
      {R"({"weekdays": ["monday", "Funday"]})", "weekdays[1]: funday is not a valid weekday"},
      {R"({"weekdays": ["1"]})", "weekdays[0]: 1 is not a valid weekday"},
      {R"({"weekdays": ["monday:"]})", "weekdays[0]:  is not a valid weekday"},
      {R"({"weekdays": ["monday:tuesday:friday"]})",
       "weekdays[0]: couldn't parse range monday:tuesday:friday, invalid format"},
      // days_of_month
      {R"({"days_of_month": ["0"]})",
       "days_of_month[0]: 0 is not a valid day of the month: out of range"},
      {R"({"days_of_month": ["32"]})",
       "days_of_month[0]: 32 is not a valid day of the month: out of range"},
      {R"({"days_of_month": ["-32:-1"]})",
       "days_of_month[0]: -32 is not a valid day of the month: out of range"},
      {R"({"days_of_month": ["1:40"]})",
       "days_of_month[0]: 40 is not a valid day of the month: out of range"},
      {R"({"days_of_month": ["-3:5"]})",
       "days_of_month[0]: end day must be negative if start day is negative"},
      {R"({"days_of_month": ["10:5"]})",
       "days_of_month[0]: end day 5 is always before start day 10"},
      {R"({"days_of_month": ["-1:-3"]})",
       "days_of_month[0]: end day -3 is always before start day -1"},
      {R"({"days_of_month": ["30:-1"]})",
       "days_of_month[0]: end day -1 is always before start day 30"},
      {R"({"days_of_month": ["x"]})",
       R"(days_of_month[0]: strconv.Atoi: parsing "x": invalid syntax)"},
      {R"({"days_of_month": ["1:"]})",
       R"(days_of_month[0]: strconv.Atoi: parsing "": invalid syntax)"},
      {R"({"days_of_month": [1.5]})",
       R"(days_of_month[0]: strconv.Atoi: parsing "1.5": invalid syntax)"},
      // months
      {R"({"months": ["march:january"]})",
       "months[0]: end month january is before start month march"},
      {R"({"months": ["13:2"]})", "months[0]: end month february is before start month "},
      {R"({"months": ["Smarch"]})", "months[0]: smarch is not a valid month"},
      {R"({"months": [2.0]})", "months[0]: 2.0 is not a valid month"},
      // years
      {R"({"years": ["2022:2020"]})", "years[0]: end year 2020 is before start year 2022"},
      {R"({"years": ["99999999999999999999"]})",
       R"(years[0]: strconv.Atoi: parsing "99999999999999999999": value out of range)"},
      {R"({"years": ["twenty"]})", R"(years[0]: strconv.Atoi: parsing "twenty": invalid syntax)"},
      // times
      {R"({"times": [{"start_time": "17:00", "end_time": "09:00"}]})",
       "times[0]: start time cannot be equal or greater than end time"},
      {R"({"times": [{"start_time": "09:00", "end_time": "09:00"}]})",
       "times[0]: start time cannot be equal or greater than end time"},
      {R"({"times": [{"start_time": "9:00", "end_time": "17:00"}]})",
       "times[0].start_time: couldn't parse timestamp 9:00, invalid format"},
      {R"({"times": [{"start_time": "09:00", "end_time": "24:01"}]})",
       "times[0].end_time: couldn't parse timestamp 24:01, invalid format"},
      {R"({"times": [{"start_time": "23:60", "end_time": "24:00"}]})",
       "times[0].start_time: couldn't parse timestamp 23:60, invalid format"},
      {R"({"times": [{"start_time": "25:00", "end_time": "26:00"}]})",
       "times[0].start_time: couldn't parse timestamp 25:00, invalid format"},
      {R"({"times": [{"start_time": 9, "end_time": "17:00"}]})",
       "times[0].start_time: couldn't parse timestamp 9, invalid format"},
      {R"({"times": [{"start_time": "09:00"}]})",
       "times[0]: both start and end times must be provided"},
      {R"({"times": [{"start_time": "", "end_time": "10:00"}]})",
       "times[0]: both start and end times must be provided"},
      {R"({"times": [{"start_time": "09:00", "end_time": "10:00", "end": "11:00"}]})",
       "times[0].end: unknown field"},
      // location
      {R"({"location": "Mars/Olympus_Mons"})", "location: unknown time zone Mars/Olympus_Mons"},
      {R"({"location": "europe/berlin"})", "location: unknown time zone europe/berlin"},
      {R"({"location": "../etc/passwd"})", "location: time: invalid location name"},
      // unknown fields and wrong types
      {R"({"weekday": ["monday"]})", "weekday: unknown field"},
      {R"({"time_zone": "UTC"})", "time_zone: unknown field"},
      {R"({"weekdays": "monday"})", "weekdays: must be a list"},
      {R"({"weekdays": [true]})", "weekdays[0]: must be a string or a number"},
      {R"({"years": [["2020"]]})", "years[0]: must be a string or a number"},
      {R"({"times": {"start_time": "09:00", "end_time": "10:00"}})", "times: must be a list"},
      {R"({"times": ["09:00-10:00"]})", "times[0]: must be a JSON object"},
      {R"({"times": [{"start_time": true, "end_time": "10:00"}]})",
       "times[0].start_time: must be a string or a number"},
      {R"({"location": {"name": "UTC"}})", "location: must be a string or a number"},
      {R"(["monday"])", ": must be a JSON object"},
  };
  for (const BadInput& c : cases) EXPECT_EQ(Error(c.json), c.error) << c.json;
}

TEST_F(TimeIntervalTest, ParsesNamedIntervals) {
  auto named = ParseNamedTimeInterval(Json(R"({"name": "weekends", "time_intervals": [
      {"weekdays": ["saturday", "sunday"]},
      {"days_of_month": ["-1"], "location": "Europe/Berlin"}]})"));
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->name, "weekends");
  ASSERT_EQ(named->intervals.size(), 2u);
  EXPECT_EQ(named->intervals[0].weekdays, (Ranges{{6, 6}, {0, 0}}));
  EXPECT_EQ(named->intervals[1].location, "Europe/Berlin");

  auto without_list = ParseNamedTimeInterval(Json(R"({"name": "never"})"));
  ASSERT_TRUE(without_list.ok());
  EXPECT_TRUE(without_list->intervals.empty());
}

TEST_F(TimeIntervalTest, NamedIntervalErrorsNameTheField) {
  auto error = [&](std::string_view text) {
    auto r = ParseNamedTimeIntervals(Json(text));
    return r.ok() ? std::string("ok") : r.status().field() + ": " + r.status().message();
  };
  EXPECT_EQ(error(R"([{"time_intervals": [{"weekdays": ["monday"]}]}])"),
            "[0].name: missing name in time interval");
  EXPECT_EQ(error(R"([{"name": "", "time_intervals": []}])"),
            "[0].name: missing name in time interval");
  EXPECT_EQ(error(R"([{"name": "a"}, {"name": "b", "time_intervals": [
                       {"weekdays": ["monday"]}, {"weekdays": ["friday:monday", "x"]}]}])"),
            "[1].time_intervals[1].weekdays[0]: start day cannot be before end day");
  EXPECT_EQ(error(R"([{"name": "a"}, {"name": "a"}])"),
            "[1].name: time interval \"a\" is not unique");
  EXPECT_EQ(error(R"([{"name": "a", "intervals": []}])"), "[0].intervals: unknown field");
  EXPECT_EQ(error(R"([{"name": "a", "time_intervals": {"weekdays": []}}])"),
            "[0].time_intervals: must be a list");
  EXPECT_EQ(error(R"({"name": "a"})"), ": must be a list");

  auto list = ParseNamedTimeIntervals(Json(R"([{"name": "a"}, {"name": "b"}])"));
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].name, "b");
}

// ---------------------------------------------------------------------------------------------
// Contains

TEST_F(TimeIntervalTest, EmptyIntervalMatchesEverythingEmptyListNothing) {
  EXPECT_TRUE(In("{}", "2026-05-05T12:34:56Z"));
  EXPECT_TRUE(In("{}", "1999-12-31T23:59:59Z"));
  EXPECT_FALSE(In(R"({"weekdays": []})", "2026-05-05T12:34:56Z"));
  EXPECT_FALSE(In(R"({"times": []})", "2026-05-05T12:34:56Z"));
}

TEST_F(TimeIntervalTest, TimesIncludeTheStartAndExcludeTheEndMinute) {
  const char* ti = R"({"times": [{"start_time": "09:00", "end_time": "17:00"}]})";
  EXPECT_FALSE(In(ti, "2026-05-05T08:59:59.999Z"));
  EXPECT_TRUE(In(ti, "2026-05-05T09:00:00Z"));
  EXPECT_TRUE(In(ti, "2026-05-05T16:59:59.999Z"));
  EXPECT_FALSE(In(ti, "2026-05-05T17:00:00Z"));
}

TEST_F(TimeIntervalTest, EndOfDayAndSeveralRanges) {
  const char* ti = R"({"times": [{"start_time": "00:00", "end_time": "01:30"},
                                 {"start_time": "22:00", "end_time": "24:00"}]})";
  EXPECT_TRUE(In(ti, "2026-05-05T23:59:59Z"));
  EXPECT_TRUE(In(ti, "2026-05-06T00:00:00Z"));
  EXPECT_TRUE(In(ti, "2026-05-06T01:29:00Z"));
  EXPECT_FALSE(In(ti, "2026-05-06T01:30:00Z"));
  EXPECT_FALSE(In(ti, "2026-05-06T21:59:00Z"));
  EXPECT_TRUE(In(ti, "2026-05-06T22:00:00Z"));
  // Without the early range, midnight is already outside.
  EXPECT_FALSE(
      In(R"({"times": [{"start_time": "22:00", "end_time": "24:00"}]})", "2026-05-06T00:00:00Z"));
}

TEST_F(TimeIntervalTest, Weekdays) {
  const char* workdays = R"({"weekdays": ["monday:friday"]})";
  EXPECT_TRUE(In(workdays, "2026-05-04T00:00:00Z"));   // Monday
  EXPECT_TRUE(In(workdays, "2026-05-08T23:59:59Z"));   // Friday
  EXPECT_FALSE(In(workdays, "2026-05-09T00:00:00Z"));  // Saturday
  EXPECT_FALSE(In(workdays, "2026-05-10T12:00:00Z"));  // Sunday
  const char* weekend = R"({"weekdays": ["saturday", "sunday"]})";
  EXPECT_TRUE(In(weekend, "2026-05-09T12:00:00Z"));
  EXPECT_TRUE(In(weekend, "2026-05-10T12:00:00Z"));
  EXPECT_FALSE(In(weekend, "2026-05-11T12:00:00Z"));
}

TEST_F(TimeIntervalTest, PositiveDaysOfMonth) {
  const char* ti = R"({"days_of_month": ["1:5", "15"]})";
  EXPECT_TRUE(In(ti, "2026-06-01T00:00:00Z"));
  EXPECT_TRUE(In(ti, "2026-06-05T23:59:00Z"));
  EXPECT_FALSE(In(ti, "2026-06-06T00:00:00Z"));
  EXPECT_TRUE(In(ti, "2026-06-15T10:00:00Z"));
  EXPECT_FALSE(In(ti, "2026-06-16T10:00:00Z"));
}

TEST_F(TimeIntervalTest, NegativeDaysOfMonthCountFromTheEnd) {
  const char* last = R"({"days_of_month": ["-1"]})";
  EXPECT_TRUE(In(last, "2024-02-29T12:00:00Z"));  // leap year
  EXPECT_FALSE(In(last, "2024-02-28T12:00:00Z"));
  EXPECT_TRUE(In(last, "2023-02-28T12:00:00Z"));  // common year
  EXPECT_TRUE(In(last, "2026-04-30T12:00:00Z"));
  EXPECT_TRUE(In(last, "2026-12-31T12:00:00Z"));
  EXPECT_FALSE(In(last, "2026-12-30T12:00:00Z"));
  const char* last_three = R"({"days_of_month": ["-3:-1"]})";
  EXPECT_FALSE(In(last_three, "2023-02-25T12:00:00Z"));
  EXPECT_TRUE(In(last_three, "2023-02-26T12:00:00Z"));
  EXPECT_FALSE(In(last_three, "2024-02-26T12:00:00Z"));
  EXPECT_TRUE(In(last_three, "2024-02-27T12:00:00Z"));
  const char* whole_month = R"({"days_of_month": ["1:-1"]})";
  EXPECT_TRUE(In(whole_month, "2024-02-01T00:00:00Z"));
  EXPECT_TRUE(In(whole_month, "2024-02-29T00:00:00Z"));
}

TEST_F(TimeIntervalTest, DaysOfMonthClampToShortMonths) {
  // An end past the month's end stops at its last day.
  const char* late = R"({"days_of_month": ["25:31"]})";
  EXPECT_TRUE(In(late, "2023-02-28T12:00:00Z"));
  EXPECT_FALSE(In(late, "2023-03-01T12:00:00Z"));
  // A start past the month's end never matches in that month.
  const char* thirtieth = R"({"days_of_month": ["30"]})";
  EXPECT_FALSE(In(thirtieth, "2024-02-29T12:00:00Z"));
  EXPECT_TRUE(In(thirtieth, "2024-04-30T12:00:00Z"));
  const char* thirty_first = R"({"days_of_month": ["31"]})";
  EXPECT_FALSE(In(thirty_first, "2026-04-30T12:00:00Z"));
  EXPECT_FALSE(In(thirty_first, "2026-05-01T12:00:00Z"));
  // -31:-29 is days 1-3 of a 31-day month, 1-2 of a 30-day one, 1 of a leap February and nothing
  // in a common one.
  const char* early = R"({"days_of_month": ["-31:-29"]})";
  EXPECT_TRUE(In(early, "2026-05-03T12:00:00Z"));
  EXPECT_FALSE(In(early, "2026-05-04T12:00:00Z"));
  EXPECT_TRUE(In(early, "2026-06-02T12:00:00Z"));
  EXPECT_FALSE(In(early, "2026-06-03T12:00:00Z"));
  EXPECT_TRUE(In(early, "2024-02-01T12:00:00Z"));
  EXPECT_FALSE(In(early, "2024-02-02T12:00:00Z"));
  EXPECT_FALSE(In(early, "2023-02-01T12:00:00Z"));
  EXPECT_FALSE(In(R"({"days_of_month": ["-31:-30"]})", "2024-02-01T12:00:00Z"));
}

TEST_F(TimeIntervalTest, MonthsAndYears) {
  const char* ti = R"({"months": ["january:march", "december"], "years": ["2020:2022", "2025"]})";
  EXPECT_TRUE(In(ti, "2020-01-01T00:00:00Z"));
  EXPECT_TRUE(In(ti, "2022-03-31T23:59:59Z"));
  EXPECT_FALSE(In(ti, "2022-04-01T00:00:00Z"));
  EXPECT_TRUE(In(ti, "2021-12-15T00:00:00Z"));
  EXPECT_FALSE(In(ti, "2023-01-15T00:00:00Z"));
  EXPECT_FALSE(In(ti, "2019-12-31T23:59:59Z"));
  EXPECT_TRUE(In(ti, "2025-02-15T00:00:00Z"));
  EXPECT_TRUE(In(R"({"months": ["5:7"]})", "2026-07-31T00:00:00Z"));
  EXPECT_FALSE(In(R"({"months": ["5:7"]})", "2026-08-01T00:00:00Z"));
}

TEST_F(TimeIntervalTest, AllFieldsMustMatch) {
  const char* ti = R"({"times": [{"start_time": "09:00", "end_time": "17:00"}],
                       "weekdays": ["monday:friday"], "days_of_month": ["1:7"],
                       "months": ["may"], "years": ["2026"]})";
  EXPECT_TRUE(In(ti, "2026-05-04T10:00:00Z"));   // first Monday of May 2026
  EXPECT_FALSE(In(ti, "2026-05-04T18:00:00Z"));  // time
  EXPECT_FALSE(In(ti, "2026-05-02T10:00:00Z"));  // Saturday
  EXPECT_FALSE(In(ti, "2026-05-11T10:00:00Z"));  // day of month
  EXPECT_FALSE(In(ti, "2026-06-01T10:00:00Z"));  // month
  EXPECT_FALSE(In(ti, "2027-05-03T10:00:00Z"));  // year
}

TEST_F(TimeIntervalTest, ContainsAnyNeedsOneInterval) {
  std::vector<TimeInterval> intervals = {Parse(R"({"weekdays": ["saturday"]})"),
                                         Parse(R"({"days_of_month": ["1"]})")};
  EXPECT_TRUE(ContainsAny(intervals, T("2026-05-09T12:00:00Z")));   // Saturday
  EXPECT_TRUE(ContainsAny(intervals, T("2026-06-01T12:00:00Z")));   // Monday the 1st
  EXPECT_FALSE(ContainsAny(intervals, T("2026-06-02T12:00:00Z")));  // Tuesday the 2nd
  EXPECT_FALSE(ContainsAny({}, T("2026-06-02T12:00:00Z")));
}

TEST_F(TimeIntervalTest, TimeIsReadInTheLocation) {
  const char* tokyo = R"({"times": [{"start_time": "09:00", "end_time": "17:00"}],
                          "location": "Asia/Tokyo"})";
  EXPECT_TRUE(In(tokyo, "2026-05-05T00:00:00Z"));   // 09:00 JST
  EXPECT_FALSE(In(tokyo, "2026-05-04T23:59:00Z"));  // 08:59 JST
  EXPECT_FALSE(In(tokyo, "2026-05-05T08:00:00Z"));  // 17:00 JST
  // The local date decides weekdays and days of the month too.
  const char* la_saturday = R"({"weekdays": ["saturday"], "location": "America/Los_Angeles"})";
  EXPECT_FALSE(In(la_saturday, "2026-05-09T03:00:00Z"));  // Friday 20:00 PDT
  EXPECT_TRUE(In(la_saturday, "2026-05-09T07:00:00Z"));   // Saturday 00:00 PDT
  const char* first = R"({"days_of_month": ["1"], "location": "Pacific/Auckland"})";
  EXPECT_TRUE(In(first, "2026-05-31T12:00:00Z"));  // June 1st 00:00 NZST
  EXPECT_FALSE(In(first, "2026-05-31T11:59:00Z"));
}

TEST_F(TimeIntervalTest, UnknownLocationSetByHandReadsAsUtc) {
  TimeInterval ti = Parse(R"({"times": [{"start_time": "09:00", "end_time": "10:00"}]})");
  ti.location = "Nowhere/Special";
  EXPECT_TRUE(Contains(ti, T("2026-05-05T09:30:00Z")));
}

TEST_F(TimeIntervalTest, BusinessHoursOnDstDaysInBerlin) {
  const char* ti = R"({"times": [{"start_time": "09:00", "end_time": "17:00"}],
                       "location": "Europe/Berlin"})";
  // Spring forward on 2026-03-29: the day is 23 hours long, business hours are UTC+2.
  EXPECT_FALSE(In(ti, "2026-03-29T06:59:00Z"));
  EXPECT_TRUE(In(ti, "2026-03-29T07:00:00Z"));
  EXPECT_TRUE(In(ti, "2026-03-29T14:59:00Z"));
  EXPECT_FALSE(In(ti, "2026-03-29T15:00:00Z"));
  EXPECT_TRUE(In(ti, "2026-03-28T08:00:00Z"));  // the day before: UTC+1
  EXPECT_FALSE(In(ti, "2026-03-28T16:00:00Z"));
  // Fall back on 2026-10-25: UTC+1 again.
  EXPECT_FALSE(In(ti, "2026-10-25T07:59:00Z"));
  EXPECT_TRUE(In(ti, "2026-10-25T08:00:00Z"));
  EXPECT_TRUE(In(ti, "2026-10-25T15:59:00Z"));
  EXPECT_FALSE(In(ti, "2026-10-25T16:00:00Z"));
}

TEST_F(TimeIntervalTest, NonexistentAndRepeatedLocalTimesInBerlin) {
  const char* two_am = R"({"times": [{"start_time": "02:00", "end_time": "03:00"}],
                           "location": "Europe/Berlin"})";
  // 02:00-03:00 does not exist on 2026-03-29: 01:59:59 CET is followed by 03:00 CEST.
  EXPECT_FALSE(In(two_am, "2026-03-29T00:59:59Z"));
  EXPECT_FALSE(In(two_am, "2026-03-29T01:00:00Z"));
  EXPECT_EQ(Next(two_am, "2026-03-28T12:00:00Z"), "2026-03-30T00:00:00Z");
  // 02:30 happens twice on 2026-10-25, first in CEST, then in CET; both match.
  EXPECT_TRUE(In(two_am, "2026-10-25T00:30:00Z"));
  EXPECT_TRUE(In(two_am, "2026-10-25T01:30:00Z"));
  EXPECT_FALSE(In(two_am, "2026-10-25T02:00:00Z"));
  EXPECT_EQ(Next(two_am, "2026-10-24T23:00:00Z"), "2026-10-25T00:00:00Z");
  EXPECT_EQ(Next(two_am, "2026-10-25T00:10:00Z"), "2026-10-25T02:00:00Z");
}

TEST_F(TimeIntervalTest, DstInNewYork) {
  const char* business = R"({"times": [{"start_time": "09:00", "end_time": "17:00"}],
                             "location": "America/New_York"})";
  EXPECT_TRUE(In(business, "2026-03-07T14:00:00Z"));  // EST
  EXPECT_FALSE(In(business, "2026-03-07T13:59:00Z"));
  EXPECT_TRUE(In(business, "2026-03-08T13:00:00Z"));  // EDT from 02:00 that morning
  EXPECT_FALSE(In(business, "2026-03-08T21:00:00Z"));
  EXPECT_TRUE(In(business, "2026-11-01T14:00:00Z"));  // EST again from 02:00 EDT
  EXPECT_FALSE(In(business, "2026-11-01T13:59:00Z"));
  EXPECT_EQ(Next(business, "2026-03-07T22:00:00Z"), "2026-03-08T13:00:00Z");
  EXPECT_EQ(Next(business, "2026-10-31T20:00:00Z"), "2026-10-31T21:00:00Z");
  EXPECT_EQ(Next(business, "2026-10-31T21:00:00Z"), "2026-11-01T14:00:00Z");

  const char* half_past_two = R"({"times": [{"start_time": "02:30", "end_time": "02:31"}],
                                  "location": "America/New_York"})";
  EXPECT_FALSE(In(half_past_two, "2026-03-08T07:30:00Z"));  // 03:30 EDT; 02:30 was skipped
  EXPECT_EQ(Next(half_past_two, "2026-03-08T05:00:00Z"), "2026-03-09T06:30:00Z");
  const char* half_past_one = R"({"times": [{"start_time": "01:30", "end_time": "01:31"}],
                                  "location": "America/New_York"})";
  EXPECT_TRUE(In(half_past_one, "2026-11-01T05:30:00Z"));   // 01:30 EDT
  EXPECT_TRUE(In(half_past_one, "2026-11-01T06:30:00Z"));   // 01:30 EST
  EXPECT_FALSE(In(half_past_one, "2026-11-01T06:00:00Z"));  // 01:00 EST
  EXPECT_EQ(Next(half_past_one, "2026-11-01T05:31:00Z"), "2026-11-01T06:30:00Z");
  EXPECT_EQ(Next(half_past_one, "2026-11-01T06:30:00Z"), "2026-11-01T06:31:00Z");
}

// "-1" is the month's last calendar day in every zone, also in a month that loses an hour to DST
// (where Alertmanager 0.25 counts 30 days and matches the 30th).
TEST_F(TimeIntervalTest, DaysOfMonthCountTheCalendarAcrossDst) {
  const char* last = R"({"days_of_month": ["-1"], "location": "Europe/Berlin"})";
  EXPECT_FALSE(In(last, "2026-03-30T12:00:00Z"));
  EXPECT_TRUE(In(last, "2026-03-31T12:00:00Z"));
  EXPECT_TRUE(In(last, "2026-10-31T12:00:00Z"));
  EXPECT_FALSE(In(last, "2026-10-30T12:00:00Z"));
  EXPECT_TRUE(
      In(R"({"days_of_month": ["31"], "location": "Europe/Berlin"})", "2026-03-31T12:00:00Z"));
  EXPECT_TRUE(In(R"({"days_of_month": ["31"]})", "2026-03-31T12:00:00Z"));
  EXPECT_FALSE(
      In(R"({"days_of_month": ["-1"], "location": "America/New_York"})", "2026-03-30T16:00:00Z"));
  EXPECT_TRUE(
      In(R"({"days_of_month": ["-1"], "location": "America/New_York"})", "2026-03-31T16:00:00Z"));
  EXPECT_TRUE(In(R"({"days_of_month": ["-1"]})", "2026-03-31T12:00:00Z"));
}

// ---------------------------------------------------------------------------------------------
// NextChange

TEST_F(TimeIntervalTest, NextChangeOfBusinessHours) {
  const char* ti = R"({"times": [{"start_time": "09:00", "end_time": "17:00"}],
                       "weekdays": ["monday:friday"]})";
  EXPECT_EQ(Next(ti, "2026-05-08T08:00:00Z"), "2026-05-08T09:00:00Z");  // Friday
  EXPECT_EQ(Next(ti, "2026-05-08T09:00:00Z"), "2026-05-08T17:00:00Z");
  EXPECT_EQ(Next(ti, "2026-05-08T16:59:59.500Z"), "2026-05-08T17:00:00Z");
  EXPECT_EQ(Next(ti, "2026-05-08T17:00:00Z"), "2026-05-11T09:00:00Z");  // Monday
  EXPECT_EQ(Next(ti, "2026-05-09T12:00:00Z"), "2026-05-11T09:00:00Z");
}

TEST_F(TimeIntervalTest, NextChangeAcrossMidnight) {
  const char* night = R"({"times": [{"start_time": "22:00", "end_time": "24:00"},
                                    {"start_time": "00:00", "end_time": "02:00"}]})";
  EXPECT_EQ(Next(night, "2026-05-05T23:00:00Z"), "2026-05-06T02:00:00Z");
  EXPECT_EQ(Next(night, "2026-05-06T01:00:00Z"), "2026-05-06T02:00:00Z");
  EXPECT_EQ(Next(night, "2026-05-06T02:00:00Z"), "2026-05-06T22:00:00Z");
  const char* evening = R"({"times": [{"start_time": "20:00", "end_time": "24:00"}]})";
  EXPECT_EQ(Next(evening, "2026-05-05T21:00:00Z"), "2026-05-06T00:00:00Z");
  // Saturday and Sunday form one stretch.
  EXPECT_EQ(Next(R"({"weekdays": ["saturday", "sunday"]})", "2026-05-09T10:00:00Z"),
            "2026-05-11T00:00:00Z");
}

TEST_F(TimeIntervalTest, NextChangeAtMonthEnds) {
  const char* last = R"({"days_of_month": ["-1"]})";
  EXPECT_EQ(Next(last, "2026-01-30T12:00:00Z"), "2026-01-31T00:00:00Z");
  EXPECT_EQ(Next(last, "2026-01-31T05:00:00Z"), "2026-02-01T00:00:00Z");
  EXPECT_EQ(Next(last, "2026-02-01T00:00:00Z"), "2026-02-28T00:00:00Z");
  EXPECT_EQ(Next(last, "2028-02-01T00:00:00Z"), "2028-02-29T00:00:00Z");
  // The end of a month and the start of the next form one stretch.
  EXPECT_EQ(Next(R"({"days_of_month": ["-1", "1"]})", "2026-04-30T08:00:00Z"),
            "2026-05-02T00:00:00Z");
  // In Berlin, March 31st starts at 22:00 UTC on the 30th (summer time).
  EXPECT_EQ(
      Next(R"({"days_of_month": ["-1"], "location": "Europe/Berlin"})", "2026-03-30T10:00:00Z"),
      "2026-03-30T22:00:00Z");
}

TEST_F(TimeIntervalTest, NextChangeAcrossDstInBerlin) {
  const char* ti = R"({"times": [{"start_time": "09:00", "end_time": "17:00"}],
                       "location": "Europe/Berlin"})";
  EXPECT_EQ(Next(ti, "2026-03-28T16:00:00Z"), "2026-03-29T07:00:00Z");
  EXPECT_EQ(Next(ti, "2026-03-29T07:00:00Z"), "2026-03-29T15:00:00Z");
  EXPECT_EQ(Next(ti, "2026-10-24T15:00:00Z"), "2026-10-25T08:00:00Z");
  EXPECT_EQ(Next(ti, "2026-10-25T08:00:00Z"), "2026-10-25T16:00:00Z");
  // A whole local day in Berlin lasts 23 hours in spring.
  EXPECT_EQ(
      Next(R"({"weekdays": ["sunday"], "location": "Europe/Berlin"})", "2026-03-29T12:00:00Z"),
      "2026-03-29T22:00:00Z");
}

TEST_F(TimeIntervalTest, NextChangeSkipsMonthsAndYears) {
  const char* year = R"({"years": ["2026"]})";
  EXPECT_EQ(Next(year, "2026-06-01T00:00:00Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(Next(R"({"years": ["2027"]})", "2026-06-01T00:00:00Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(Next(R"({"months": ["december"], "days_of_month": ["25"]})", "2026-01-10T00:00:00Z"),
            "2026-12-25T00:00:00Z");
  // A leap day is four years away: beyond the default horizon, found with a longer one.
  const char* leap_day = R"({"months": ["february"], "days_of_month": ["29"]})";
  EXPECT_EQ(Next(leap_day, "2024-03-01T00:00:00Z"), "none");
  EXPECT_EQ(S(NextChange({Parse(leap_day)}, T("2024-03-01T00:00:00Z"), std::chrono::days(1500))),
            "2028-02-29T00:00:00Z");
}

TEST_F(TimeIntervalTest, NextChangeIsNoneWhenNothingChanges) {
  EXPECT_EQ(Next("{}", "2026-05-05T12:00:00Z"), "none");
  EXPECT_EQ(Next(R"({"years": ["2020:2022"]})", "2026-05-05T12:00:00Z"), "none");
  EXPECT_EQ(Next(R"({"weekdays": []})", "2026-05-05T12:00:00Z"), "none");
  EXPECT_EQ(Next(R"({"years": ["2030"]})", "2026-05-05T12:00:00Z"), "none");  // beyond horizon
  EXPECT_EQ(S(NextChange({}, T("2026-05-05T12:00:00Z"))), "none");
  // A change exactly at the horizon is found; one a second later is not.
  EXPECT_EQ(S(NextChange({Parse(R"({"days_of_month": ["10"]})")}, T("2026-05-05T00:00:00Z"),
                         std::chrono::days(5))),
            "2026-05-10T00:00:00Z");
  EXPECT_EQ(S(NextChange({Parse(R"({"days_of_month": ["10"]})")}, T("2026-05-04T23:59:59Z"),
                         std::chrono::days(5))),
            "none");
}

TEST_F(TimeIntervalTest, NextChangeOfSeveralIntervals) {
  std::vector<TimeInterval> intervals = {
      Parse(R"({"times": [{"start_time": "09:00", "end_time": "12:00"}]})"),
      Parse(R"({"times": [{"start_time": "11:00", "end_time": "13:00"}],
                 "location": "Europe/London"})"),
  };
  // 11:00-13:00 London is 10:00-12:00 UTC in summer: the union is 09:00-12:00 UTC.
  EXPECT_EQ(S(NextChange(intervals, T("2026-07-01T09:30:00Z"))), "2026-07-01T12:00:00Z");
  // In winter London is UTC: 09:00-13:00 UTC.
  EXPECT_EQ(S(NextChange(intervals, T("2026-01-05T09:30:00Z"))), "2026-01-05T13:00:00Z");
  EXPECT_EQ(S(NextChange(intervals, T("2026-01-05T13:00:00Z"))), "2026-01-06T09:00:00Z");
}

// NextChange agrees with stepping ContainsAny minute by minute around DST transitions.
TEST_F(TimeIntervalTest, NextChangeAgreesWithContainsAny) {
  const std::vector<std::vector<TimeInterval>> sets = {
      {Parse(R"({"times": [{"start_time": "01:30", "end_time": "02:45"},
                            {"start_time": "23:00", "end_time": "24:00"}],
                 "location": "Europe/Berlin"})")},
      {Parse(R"({"times": [{"start_time": "00:00", "end_time": "03:00"}],
                 "weekdays": ["sunday"], "location": "America/New_York"})"),
       Parse(R"({"days_of_month": ["-1", "1"], "times": [{"start_time": "12:00",
                 "end_time": "12:05"}], "location": "Australia/Lord_Howe"})")},
  };
  const TimePoint starts[] = {T("2026-03-28T20:00:00Z"), T("2026-10-24T20:00:00Z"),
                              T("2026-11-01T00:00:00Z"), T("2026-03-07T20:00:00Z"),
                              T("2026-04-04T12:00:00Z"), T("2026-09-30T12:00:00Z")};
  for (const auto& intervals : sets) {
    for (const TimePoint& start : starts) {
      for (TimePoint from = start; from < start + 36h; from += 89min) {
        const bool before = ContainsAny(intervals, from);
        const std::optional<TimePoint> next = NextChange(intervals, from);
        ASSERT_TRUE(next.has_value()) << S(from);
        TimePoint expected = from + 1min;
        while (ContainsAny(intervals, expected) == before && expected < from + 8 * 24h) {
          expected += 1min;
        }
        EXPECT_EQ(S(next), S(expected)) << "from " << S(from);
      }
    }
  }
}

}  // namespace
}  // namespace platops::alerting
