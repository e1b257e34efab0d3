#pragma once
// Alertmanager time intervals: the `time_intervals` definitions that routes reference through
// `mute_time_intervals` / `active_time_intervals` and that recurring silences reuse. Parsing,
// matching and the next change are those of Alertmanager 0.25's `timeinterval` package, quirks
// included (see Contains). Thread-safety: value types and pure functions; safe to share.

#include <boost/json/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace platops::alerting {

using TimePoint = std::chrono::system_clock::time_point;

// Minutes of the local day [start_minute, end_minute): 0 <= start < end <= 1440 ("24:00").
struct TimeRange {
  int start_minute = 0;
  int end_minute = 0;
  bool operator==(const TimeRange&) const = default;
};

// An inclusive range [begin, end] of weekdays (0 Sunday .. 6 Saturday), days of the month (1..31,
// or -31..-1 counting back from the month's last day, -1), months (1 January .. 12 December;
// numbers outside 1..12 are accepted, as Alertmanager does, and simply never match) or years.
struct InclusiveRange {
  int64_t begin = 0;
  int64_t end = 0;
  bool operator==(const InclusiveRange&) const = default;
};

// One interval: a time matches when every present field matches it (each field matches when any
// of its ranges does). An absent field (nullopt) matches everything; a present but empty list
// (`weekdays: []`) matches nothing, as in Alertmanager.
struct TimeInterval {
  std::optional<std::vector<TimeRange>> times;
  std::optional<std::vector<InclusiveRange>> weekdays;
  std::optional<std::vector<InclusiveRange>> days_of_month;
  std::optional<std::vector<InclusiveRange>> months;
  std::optional<std::vector<InclusiveRange>> years;
  // IANA zone the fields are read in. ParseTimeInterval stores a valid name; an unknown name
  // set by hand reads as UTC.
  std::string location = "UTC";
  bool operator==(const TimeInterval&) const = default;
};

// A `time_intervals` entry of the configuration: active when any of its intervals contains the
// time (never when the list is empty).
struct NamedTimeInterval {
  std::string name;
  std::vector<TimeInterval> intervals;
};

struct TimeIntervalParseOptions {
  // The zone `location: Local` stands for. Alertmanager uses the host's zone; platops takes it
  // from the caller so parsing stays a pure function. Must be a valid IANA name. Default "UTC".
  std::string local_time_zone = "UTC";
};

// Parses one interval from the JSON form of its YAML. List items may be strings or numbers (YAML
// `days_of_month: [1, -1]`); names are case-insensitive. Errors carry Alertmanager's message and
// the field path ("weekdays[1]: start day cannot be before end day"); unknown fields are rejected
// by name. `location` accepts "" and "UTC" (UTC), "Local" (see the options) and IANA names.
Result<TimeInterval> ParseTimeInterval(const boost::json::value& v,
                                       const TimeIntervalParseOptions& options = {});

// Parses `{name, time_intervals: [...]}`; the name is required ("missing name in time interval").
Result<NamedTimeInterval> ParseNamedTimeInterval(const boost::json::value& v,
                                                 const TimeIntervalParseOptions& options = {});

// Parses the configuration's `time_intervals:` list; names must be unique within it
// ("[1].name: time interval \"x\" is not unique"). Uniqueness against `mute_time_intervals` is
// the caller's check.
Result<std::vector<NamedTimeInterval>> ParseNamedTimeIntervals(
    const boost::json::value& v, const TimeIntervalParseOptions& options = {});

// True when `t`, read in the interval's location, matches every present field. Times compare the
// local minute (seconds ignored): the end minute is excluded. A nonexistent local time (spring
// forward) never occurs; a repeated one (fall back) matches both times it occurs.
// Days of the month count back from the month's length as Alertmanager computes it: whole days
// elapsed between the local midnights starting this month and the next, so a month that loses
// an hour to daylight saving (March in Europe/Berlin and America/New_York) counts one day less.
// There, -1 means the 30th and 31 never matches.
bool Contains(const TimeInterval& interval, TimePoint t);
// True when any interval contains `t` (false for an empty list).
bool ContainsAny(const std::vector<TimeInterval>& intervals, TimePoint t);

// How far NextChange looks ahead by default: a year, plus slack for a leap day and time zones.
inline constexpr std::chrono::days kNextChangeHorizon{367};

// The first instant after `from` at which ContainsAny(intervals, .) differs from its value at
// `from`; nullopt when it stays the same throughout (from, from + horizon] (horizon capped at 100
// years), so a caller should look again at from + horizon. Boundaries are whole seconds (local
// minutes mapped through the zone). Cost grows with the number of days in matching months and
// years, not with minutes: non-matching years and months are skipped whole.
std::optional<TimePoint> NextChange(const std::vector<TimeInterval>& intervals, TimePoint from,
                                    std::chrono::days horizon = kNextChangeHorizon);

}  // namespace platops::alerting
