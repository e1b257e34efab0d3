#pragma once
// Maintenance-window schedules: a one-off window, or a recurring one (cron firings each opening a
// window of fixed length, or weekly local-time ranges) in an IANA zone. Recurring windows are
// computed on demand, never stored as rows. Also the interval helpers availability uses.
// Thread-safety: MaintenanceSchedule is immutable after Compile; safe to share.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/cron.h"
#include "base/status.h"

namespace platops::checks {

// An interval [start, end) of time.
struct Interval {
  Timestamp start{}, end{};
  bool operator==(const Interval&) const = default;
};

// A weekly range in local time: from `day` at `start_minute` (minutes after midnight, 0-1439) to
// the first following `end_day` at `end_minute` (0-1440; 1440 is the end of that day). Ranges may
// wrap over the week's end (Sat 22:00 - Mon 02:00); an end at or before the start on the same day
// wraps to the next week.
struct WeeklyRange {
  int day = 0;  // 0 Sunday .. 6 Saturday
  int start_minute = 0;
  int end_day = 0;
  int end_minute = 0;
};

struct MaintenanceTiming {
  // A one-off window [start, end); for recurring windows, optional bounds: the recurrence is in
  // effect only within [start, end) (windows are clipped to it).
  std::optional<Timestamp> start, end;
  std::string cron;                  // recurring: firing times...
  std::chrono::minutes duration{0};  // ...each opening a window this long (1 min .. 31 days)
  std::vector<WeeklyRange> weekly;   // recurring: weekly ranges
  std::string time_zone = "UTC";     // IANA zone of `cron` and `weekly`
};

// Validates: exactly one of {one-off start+end (start < end)}, {cron + duration}, {weekly
// non-empty}; for recurring, optional start/end bound the recurrence. Errors name the field as the
// document spells it: "start", "end", "cron", "duration", "weekly[2].end", "time_zone".
Status ValidateTiming(const MaintenanceTiming& t);

class MaintenanceSchedule {
 public:
  static Result<MaintenanceSchedule> Compile(const MaintenanceTiming& t);

  bool ActiveAt(Timestamp t) const;
  // The windows overlapping [from, to), clipped to it, sorted, overlapping or touching
  // occurrences merged. Cost grows with the number of cron firings in the range (a weekly
  // schedule costs one step per day).
  std::vector<Interval> Intervals(Timestamp from, Timestamp to) const;
  // The end of the window active at t (for "in maintenance until"), following merged
  // occurrences up to a year ahead; nullopt when not active.
  std::optional<Timestamp> ActiveUntil(Timestamp t) const;
  // The next start strictly after t (nullopt when none within ~1 year or the window is over).
  std::optional<Timestamp> NextStart(Timestamp t) const;

 private:
  enum class Kind { kOnce, kCron, kWeekly };
  MaintenanceSchedule() = default;

  // Occurrences overlapping [from, to), unclipped, in any order.
  std::vector<Interval> Occurrences(Timestamp from, Timestamp to) const;

  Kind kind_ = Kind::kOnce;
  std::optional<Timestamp> start_, end_;
  CronSchedule cron_;
  std::chrono::minutes duration_{0};
  std::vector<WeeklyRange> weekly_;
  const void* zone_ = nullptr;  // date::time_zone*, kept opaque so this header stays light
};

// Sorted union of intervals: empty ones dropped, overlapping or touching ones merged.
std::vector<Interval> UnionIntervals(std::vector<Interval> v);
// The length of the union of `v` (overlaps counted once).
std::chrono::milliseconds TotalLength(const std::vector<Interval>& v);
// The sorted, merged intersection of the unions of `a` and `b`.
std::vector<Interval> IntersectIntervals(const std::vector<Interval>& a,
                                         const std::vector<Interval>& b);

}  // namespace platops::checks
