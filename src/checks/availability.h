#pragma once
// Uptime maths over hard-state histories: outages, availability percentages for a check or a
// service, and the monthly SLA report as CSV. Pure: the caller passes the window and `now`.
// Thread-safety: pure functions.
//
// A check is down while its hard state is CRITICAL (WARNING and UNKNOWN count as up). Its first
// history entry marks when monitoring began; time before it is not monitored. `now` caps the
// window's end so no future time is counted. Maintenance intervals are excluded from monitored
// and down time; outages keep their full (clipped) extent, but only their part outside
// maintenance counts as down.

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "checks/maintenance_schedule.h"
#include "probe/probe.h"

namespace platops::checks {

// One entry of a check's hard-state history (ascending by `at`).
struct StateChange {
  Timestamp at{};
  probe::Outcome hard_state = probe::Outcome::kOk;
  std::string message;  // the result message that caused the change
};

struct Outage {
  Timestamp start{}, end{};  // clipped to the report window
  std::string cause;         // the message that started it ("check: message" for services)
  bool ongoing = false;      // not over at the end of the window (`to`, capped by `now`)
};

struct AvailabilityReport {
  Timestamp from{}, to{};  // the window; `to` is already capped by `now` (and never < from)
  // Time in [from, to) the subject existed (from its first history entry on), maintenance
  // excluded.
  std::chrono::milliseconds monitored{0};
  std::chrono::milliseconds maintenance{0};  // maintenance time while the subject existed
  std::chrono::milliseconds down{0};         // down time outside maintenance
  std::optional<double> uptime_percent;      // 100 * (monitored - down) / monitored; nullopt if 0
  std::vector<Outage> outages;               // clipped to [from, to), ascending
};

// The CRITICAL spans of `history` clipped to [from, to), ascending. Consecutive CRITICAL entries
// form one outage whose cause is the first one's message; ongoing when it has not ended by `to`.
std::vector<Outage> DownIntervals(const std::vector<StateChange>& history, Timestamp from,
                                  Timestamp to);

// REQUIRES: history ascending. `maintenance` may be unsorted or overlapping.
AvailabilityReport Availability(const std::vector<StateChange>& history,
                                const std::vector<Interval>& maintenance, Timestamp from,
                                Timestamp to, Timestamp now);

// A service is down while any of its checks is down: outages are the union of the checks'
// outages (overlapping or touching ones merge; cause joins "check: message" parts with "; ").
// Monitored time is the union of the checks' monitored spans. `checks` maps check id -> history.
AvailabilityReport ServiceAvailability(
    const std::vector<std::pair<std::string, std::vector<StateChange>>>& checks,
    const std::vector<Interval>& maintenance, Timestamp from, Timestamp to, Timestamp now);

// The SLA report as RFC 4180 CSV (CRLF line ends, fields quoted when they hold a comma, quote,
// CR or LF). Columns: subject, kind, start, end, duration_seconds, ongoing, cause,
// monitored_seconds, maintenance_seconds, down_seconds, uptime_percent. One "outage" row per
// outage, then one "summary" row for the window. Times are RFC 3339 UTC; seconds keep millisecond
// precision ("2580", "0.25"); uptime has four decimals rounded down, so it never overstates
// ("99.9004"), and is empty when nothing was monitored.
std::string AvailabilityCsv(const std::string& subject, const AvailabilityReport& r);

}  // namespace platops::checks
