#include "checks/availability.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/time_util.h"

namespace platops::checks {
namespace {

using probe::Outcome;
using std::chrono::milliseconds;
using std::chrono::minutes;

class AvailabilityTest : public ::testing::Test {
 protected:
  static Timestamp T(const std::string& rfc3339) {
    Result<Timestamp> t = ParseRfc3339(rfc3339);
    EXPECT_TRUE(t.ok()) << rfc3339;
    return t.ok() ? t.value() : Timestamp{};
  }

  // April 2026: 30 days = 43200 minutes.
  const Timestamp from_ = T("2026-04-01T00:00:00Z");
  const Timestamp to_ = T("2026-05-01T00:00:00Z");
  const Timestamp after_ = T("2026-05-02T00:00:00Z");

  // Monitored since March; one 43-minute outage on April 10th.
  const std::vector<StateChange> one_outage_ = {
      {T("2026-03-15T08:00:00Z"), Outcome::kOk, "HTTP 200"},
      {T("2026-04-10T12:00:00Z"), Outcome::kCritical, "HTTP 503"},
      {T("2026-04-10T12:43:00Z"), Outcome::kOk, "HTTP 200"},
  };
};

TEST_F(AvailabilityTest, OneOutageInA30DayMonth) {
  AvailabilityReport r = Availability(one_outage_, {}, from_, to_, after_);
  EXPECT_EQ(r.from, from_);
  EXPECT_EQ(r.to, to_);
  EXPECT_EQ(r.monitored, minutes(43200));
  EXPECT_EQ(r.maintenance, milliseconds(0));
  EXPECT_EQ(r.down, minutes(43));
  ASSERT_TRUE(r.uptime_percent.has_value());
  EXPECT_NEAR(*r.uptime_percent, 99.9004629, 1e-7);  // 100 * 43157 / 43200
  ASSERT_EQ(r.outages.size(), 1u);
  EXPECT_EQ(r.outages[0].start, T("2026-04-10T12:00:00Z"));
  EXPECT_EQ(r.outages[0].end, T("2026-04-10T12:43:00Z"));
  EXPECT_EQ(r.outages[0].cause, "HTTP 503");
  EXPECT_FALSE(r.outages[0].ongoing);
}

TEST_F(AvailabilityTest, MaintenanceIsExcludedFromMonitoredAndDownTime) {
  // 12:30..13:30 maintenance covers the outage's last 13 minutes; given unsorted and
  // overlapping, plus one interval outside the month.
  std::vector<Interval> maintenance = {
      {T("2026-04-10T13:00:00Z"), T("2026-04-10T13:30:00Z")},
      {T("2026-04-10T12:30:00Z"), T("2026-04-10T13:10:00Z")},
      {T("2026-03-01T00:00:00Z"), T("2026-03-02T00:00:00Z")},
  };
  AvailabilityReport r = Availability(one_outage_, maintenance, from_, to_, after_);
  EXPECT_EQ(r.maintenance, minutes(60));
  EXPECT_EQ(r.monitored, minutes(43200 - 60));
  EXPECT_EQ(r.down, minutes(30));
  EXPECT_NEAR(*r.uptime_percent, 100.0 * (43140 - 30) / 43140, 1e-9);
  // The outage keeps its full extent.
  ASSERT_EQ(r.outages.size(), 1u);
  EXPECT_EQ(r.outages[0].start, T("2026-04-10T12:00:00Z"));
  EXPECT_EQ(r.outages[0].end, T("2026-04-10T12:43:00Z"));
}

TEST_F(AvailabilityTest, HistoryStartingMidRangeCountsFromItsFirstEntry) {
  std::vector<StateChange> history = {
      {T("2026-04-16T00:00:00Z"), Outcome::kOk, ""},
      {T("2026-04-20T00:00:00Z"), Outcome::kCritical, "connect: connection refused"},
      {T("2026-04-20T01:00:00Z"), Outcome::kOk, ""},
  };
  // Maintenance before the check existed is not counted.
  std::vector<Interval> maintenance = {{T("2026-04-05T00:00:00Z"), T("2026-04-05T02:00:00Z")}};
  AvailabilityReport r = Availability(history, maintenance, from_, to_, after_);
  EXPECT_EQ(r.monitored, minutes(15 * 24 * 60));
  EXPECT_EQ(r.maintenance, milliseconds(0));
  EXPECT_EQ(r.down, minutes(60));
  EXPECT_NEAR(*r.uptime_percent, 100.0 * (21600 - 60) / 21600, 1e-9);
}

TEST_F(AvailabilityTest, OngoingOutageIsCappedAtNow) {
  std::vector<StateChange> history = {
      {T("2026-01-01T00:00:00Z"), Outcome::kOk, ""},
      {T("2026-04-29T22:00:00Z"), Outcome::kCritical, "HTTP 500"},
  };
  const Timestamp now = T("2026-04-30T00:00:00Z");
  AvailabilityReport r = Availability(history, {}, from_, to_, now);
  EXPECT_EQ(r.to, now);
  EXPECT_EQ(r.monitored, minutes(29 * 24 * 60));
  EXPECT_EQ(r.down, minutes(120));
  ASSERT_EQ(r.outages.size(), 1u);
  EXPECT_EQ(r.outages[0].end, now);
  EXPECT_TRUE(r.outages[0].ongoing);
}

TEST_F(AvailabilityTest, OutagesAreClippedToTheWindow) {
  std::vector<StateChange> history = {
      {T("2026-03-01T00:00:00Z"), Outcome::kOk, ""},
      {T("2026-03-31T23:00:00Z"), Outcome::kCritical, "TLS: certificate expired"},
      {T("2026-04-01T01:00:00Z"), Outcome::kOk, ""},
      {T("2026-04-30T23:30:00Z"), Outcome::kCritical, "timeout"},
      {T("2026-05-01T00:30:00Z"), Outcome::kOk, ""},
  };
  AvailabilityReport r = Availability(history, {}, from_, to_, after_);
  ASSERT_EQ(r.outages.size(), 2u);
  EXPECT_EQ(r.outages[0].start, from_);
  EXPECT_EQ(r.outages[0].end, T("2026-04-01T01:00:00Z"));
  EXPECT_FALSE(r.outages[0].ongoing);
  EXPECT_EQ(r.outages[1].start, T("2026-04-30T23:30:00Z"));
  EXPECT_EQ(r.outages[1].end, to_);
  EXPECT_TRUE(r.outages[1].ongoing);  // still open at the end of the window
  EXPECT_EQ(r.down, minutes(90));
}

TEST_F(AvailabilityTest, OnlyCriticalIsDownAndCriticalRunsMerge) {
  std::vector<StateChange> history = {
      {T("2026-04-01T00:00:00Z"), Outcome::kOk, ""},
      {T("2026-04-02T00:00:00Z"), Outcome::kWarning, "slow"},
      {T("2026-04-02T01:00:00Z"), Outcome::kUnknown, "no data"},
      {T("2026-04-02T02:00:00Z"), Outcome::kCritical, "HTTP 502"},
      {T("2026-04-02T02:10:00Z"), Outcome::kCritical, "HTTP 504"},
      {T("2026-04-02T02:20:00Z"), Outcome::kWarning, "slow"},
      {T("2026-04-03T00:00:00Z"), Outcome::kCritical, "flash"},
      {T("2026-04-03T00:00:00Z"), Outcome::kOk, ""},  // zero-length: no outage
  };
  std::vector<Outage> outages = DownIntervals(history, from_, to_);
  ASSERT_EQ(outages.size(), 1u);
  EXPECT_EQ(outages[0].start, T("2026-04-02T02:00:00Z"));
  EXPECT_EQ(outages[0].end, T("2026-04-02T02:20:00Z"));
  EXPECT_EQ(outages[0].cause, "HTTP 502");
  EXPECT_FALSE(outages[0].ongoing);

  EXPECT_TRUE(DownIntervals(history, T("2026-04-05T00:00:00Z"), to_).empty());
  EXPECT_TRUE(DownIntervals({}, from_, to_).empty());
}

TEST_F(AvailabilityTest, NothingMonitoredHasNoUptime) {
  AvailabilityReport empty = Availability({}, {}, from_, to_, after_);
  EXPECT_EQ(empty.monitored, milliseconds(0));
  EXPECT_FALSE(empty.uptime_percent.has_value());
  EXPECT_TRUE(empty.outages.empty());

  // A window entirely in the future: `to` is capped to `from`.
  AvailabilityReport future = Availability(one_outage_, {}, from_, to_, T("2026-03-20T00:00:00Z"));
  EXPECT_EQ(future.to, from_);
  EXPECT_EQ(future.monitored, milliseconds(0));
  EXPECT_FALSE(future.uptime_percent.has_value());

  // Maintenance over the whole month.
  AvailabilityReport maint = Availability(one_outage_, {{from_, to_}}, from_, to_, after_);
  EXPECT_EQ(maint.maintenance, minutes(43200));
  EXPECT_EQ(maint.monitored, milliseconds(0));
  EXPECT_EQ(maint.down, milliseconds(0));
  EXPECT_FALSE(maint.uptime_percent.has_value());
  EXPECT_EQ(maint.outages.size(), 1u);
}

TEST_F(AvailabilityTest, ServiceIsDownWhileAnyCheckIsDown) {
  std::vector<std::pair<std::string, std::vector<StateChange>>> checks = {
      {"api.health",
       {
           {T("2026-04-10T00:00:00Z"), Outcome::kOk, ""},
           {T("2026-04-12T12:00:00Z"), Outcome::kCritical, "HTTP 503"},
           {T("2026-04-12T12:43:00Z"), Outcome::kOk, ""},
       }},
      {"db.ping",
       {
           {T("2026-04-11T00:00:00Z"), Outcome::kOk, ""},
           {T("2026-04-12T12:30:00Z"), Outcome::kCritical, "connect: connection refused"},
           {T("2026-04-12T13:00:00Z"), Outcome::kOk, ""},
           {T("2026-04-25T10:00:00Z"), Outcome::kCritical, "connect: connection refused"},
       }},
      {"never.ran", {}},
  };
  const Timestamp now = T("2026-04-25T11:00:00Z");
  AvailabilityReport r = ServiceAvailability(checks, {}, from_, to_, now);
  EXPECT_EQ(r.to, now);
  ASSERT_EQ(r.outages.size(), 2u);
  EXPECT_EQ(r.outages[0].start, T("2026-04-12T12:00:00Z"));
  EXPECT_EQ(r.outages[0].end, T("2026-04-12T13:00:00Z"));
  EXPECT_EQ(r.outages[0].cause, "api.health: HTTP 503; db.ping: connect: connection refused");
  EXPECT_FALSE(r.outages[0].ongoing);
  EXPECT_EQ(r.outages[1].start, T("2026-04-25T10:00:00Z"));
  EXPECT_EQ(r.outages[1].end, now);
  EXPECT_EQ(r.outages[1].cause, "db.ping: connect: connection refused");
  EXPECT_TRUE(r.outages[1].ongoing);

  // Monitored from api.health's first entry (April 10th) to now: 15 days 11 hours.
  EXPECT_EQ(r.monitored, minutes((15 * 24 + 11) * 60));
  EXPECT_EQ(r.down, minutes(60 + 60));
}

TEST_F(AvailabilityTest, ServiceOutagesTouchingEndToEndMerge) {
  std::vector<std::pair<std::string, std::vector<StateChange>>> checks = {
      {"a",
       {{T("2026-04-01T00:00:00Z"), Outcome::kOk, ""},
        {T("2026-04-02T00:00:00Z"), Outcome::kCritical, "x"},
        {T("2026-04-02T00:10:00Z"), Outcome::kOk, ""},
        {T("2026-04-02T00:15:00Z"), Outcome::kCritical, "x"},
        {T("2026-04-02T00:30:00Z"), Outcome::kOk, ""}}},
      {"b",
       {{T("2026-04-01T00:00:00Z"), Outcome::kOk, ""},
        {T("2026-04-02T00:10:00Z"), Outcome::kCritical, ""},
        {T("2026-04-02T00:20:00Z"), Outcome::kOk, ""}}},
  };
  std::vector<Interval> maintenance = {{T("2026-04-02T00:25:00Z"), T("2026-04-02T01:00:00Z")}};
  AvailabilityReport r = ServiceAvailability(checks, maintenance, from_, to_, after_);
  ASSERT_EQ(r.outages.size(), 1u);
  EXPECT_EQ(r.outages[0].start, T("2026-04-02T00:00:00Z"));
  EXPECT_EQ(r.outages[0].end, T("2026-04-02T00:30:00Z"));
  EXPECT_EQ(r.outages[0].cause, "a: x; b");  // a's second "x" is not repeated
  EXPECT_EQ(r.down, minutes(25));
  EXPECT_EQ(r.maintenance, minutes(35));
  EXPECT_EQ(r.monitored, minutes(43200 - 35));
}

TEST_F(AvailabilityTest, CsvHasOneRowPerOutageAndASummary) {
  std::vector<StateChange> history = one_outage_;
  history[1].message = "HTTP 503 \"Service Unavailable\"";
  AvailabilityReport r = Availability(history, {}, from_, to_, after_);
  EXPECT_EQ(AvailabilityCsv("Payments, EU", r),
            "subject,kind,start,end,duration_seconds,ongoing,cause,monitored_seconds,"
            "maintenance_seconds,down_seconds,uptime_percent\r\n"
            "\"Payments, EU\",outage,2026-04-10T12:00:00Z,2026-04-10T12:43:00Z,2580,false,"
            "\"HTTP 503 \"\"Service Unavailable\"\"\",,,,\r\n"
            "\"Payments, EU\",summary,2026-04-01T00:00:00Z,2026-05-01T00:00:00Z,2592000,,,"
            "2592000,0,2580,99.9004\r\n");
}

TEST_F(AvailabilityTest, CsvFormatsPartialSecondsOngoingAndEmptyUptime) {
  AvailabilityReport r;
  r.from = from_;
  r.to = from_ + milliseconds(3);
  r.monitored = milliseconds(3);
  r.down = milliseconds(1);
  r.outages.push_back({from_, from_ + milliseconds(250), "line1\nline2", true});
  EXPECT_EQ(AvailabilityCsv("api", r),
            "subject,kind,start,end,duration_seconds,ongoing,cause,monitored_seconds,"
            "maintenance_seconds,down_seconds,uptime_percent\r\n"
            "api,outage,2026-04-01T00:00:00Z,2026-04-01T00:00:00.250Z,0.25,true,"
            "\"line1\nline2\",,,,\r\n"
            // 66.66666...% is rounded down.
            "api,summary,2026-04-01T00:00:00Z,2026-04-01T00:00:00.003Z,0.003,,,0.003,0,0.001,"
            "66.6666\r\n");

  AvailabilityReport full = Availability(one_outage_, {}, from_, T("2026-04-02T00:00:00Z"), after_);
  EXPECT_NE(AvailabilityCsv("api", full).find(",86400,0,0,100.0000\r\n"), std::string::npos);

  AvailabilityReport none = Availability({}, {}, from_, to_, after_);
  EXPECT_EQ(AvailabilityCsv("api", none),
            "subject,kind,start,end,duration_seconds,ongoing,cause,monitored_seconds,"
            "maintenance_seconds,down_seconds,uptime_percent\r\n"
            "api,summary,2026-04-01T00:00:00Z,2026-05-01T00:00:00Z,2592000,,,0,0,0,\r\n");
}

}  // namespace
}  // namespace platops::checks
