#include "checks/maintenance_schedule.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "base/time_util.h"

namespace platops::checks {

namespace {

using std::chrono::days;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr int kMinutesPerDay = 24 * 60;
constexpr int kMinutesPerWeek = 7 * kMinutesPerDay;
constexpr minutes kMinDuration{1};
constexpr minutes kMaxDuration = days(31);
// How far ActiveUntil and NextStart look ahead, and the step they look in.
constexpr days kHorizon{366};
constexpr days kChunk{7};

// Supported instants, as for CronSchedule: inputs are clamped here so no arithmetic overflows.
const Timestamp kEarliest{date::sys_days(date::year(1800) / 1 / 1).time_since_epoch()};
const Timestamp kLatest{date::sys_days(date::year(9000) / 1 / 1).time_since_epoch()};

const date::time_zone* LocateZone(const std::string& name) {
  if (!IsValidTimeZone(name)) return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

// The length of a weekly range in local wall-clock minutes (1 .. one week), or 0 when empty.
int WeeklyLength(const WeeklyRange& r) {
  int len = (r.end_day * kMinutesPerDay + r.end_minute) - (r.day * kMinutesPerDay + r.start_minute);
  if (len < 0) len += kMinutesPerWeek;
  return len;
}

// A local wall-clock time as an instant: a time skipped by a spring-forward gap resolves to the
// first instant after the gap, a time repeated by a fall-back to its earliest occurrence.
Timestamp ResolveLocal(const date::time_zone& zone, date::local_seconds local) {
  const date::local_info info = zone.get_info(local);
  date::sys_seconds sys;
  if (info.result == date::local_info::nonexistent) {
    sys = info.first.end;
  } else {
    sys = date::sys_seconds(local.time_since_epoch() - info.first.offset);
  }
  return Timestamp(std::chrono::duration_cast<milliseconds>(sys.time_since_epoch()));
}

std::string WeeklyField(size_t i, const char* name) {
  return "weekly[" + std::to_string(i) + "]." + name;
}

Status ValidateWeekly(const std::vector<WeeklyRange>& weekly) {
  for (size_t i = 0; i < weekly.size(); ++i) {
    const WeeklyRange& r = weekly[i];
    auto day_error = [](int d) {
      return "must be 0 (Sunday) to 6 (Saturday), got " + std::to_string(d);
    };
    if (r.day < 0 || r.day > 6) return InvalidArgument(day_error(r.day), WeeklyField(i, "day"));
    if (r.start_minute < 0 || r.start_minute >= kMinutesPerDay) {
      return InvalidArgument("must be 00:00 to 23:59 (0 to 1439 minutes after midnight), got " +
                                 std::to_string(r.start_minute),
                             WeeklyField(i, "start"));
    }
    if (r.end_day < 0 || r.end_day > 6) {
      return InvalidArgument(day_error(r.end_day), WeeklyField(i, "end_day"));
    }
    if (r.end_minute < 0 || r.end_minute > kMinutesPerDay) {
      return InvalidArgument("must be 00:00 to 24:00 (0 to 1440 minutes after midnight), got " +
                                 std::to_string(r.end_minute),
                             WeeklyField(i, "end"));
    }
    if (WeeklyLength(r) == 0) {
      return InvalidArgument("must differ from the start", WeeklyField(i, "end"));
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateTiming(const MaintenanceTiming& t) {
  if (!IsValidTimeZone(t.time_zone)) {
    return InvalidArgument("unknown time zone \"" + t.time_zone.substr(0, 64) + "\"", "time_zone");
  }
  const bool has_cron = !t.cron.empty();
  const bool has_weekly = !t.weekly.empty();
  if (has_cron && has_weekly) {
    return InvalidArgument("cannot be combined with cron; set one of them", "weekly");
  }
  if (!has_cron && t.duration != minutes(0)) {
    return InvalidArgument("is only valid with cron", "duration");
  }
  if (has_cron) {
    auto cron = CronSchedule::Parse(t.cron, t.time_zone);
    if (!cron.ok()) return InvalidArgument(cron.status().message(), "cron");
    if (t.duration < kMinDuration || t.duration > kMaxDuration) {
      return InvalidArgument("must be 1m to 31d, got " + FormatDuration(t.duration), "duration");
    }
  }
  if (has_weekly) PLATOPS_RETURN_IF_ERROR(ValidateWeekly(t.weekly));
  if (!has_cron && !has_weekly) {
    if (!t.start) {
      return InvalidArgument("is required for a one-off window (or set cron or weekly)", "start");
    }
    if (!t.end) return InvalidArgument("is required for a one-off window", "end");
  }
  if (t.start && t.end && *t.end <= *t.start) {
    return InvalidArgument("must be after start", "end");
  }
  return Status::Ok();
}

Result<MaintenanceSchedule> MaintenanceSchedule::Compile(const MaintenanceTiming& t) {
  PLATOPS_RETURN_IF_ERROR(ValidateTiming(t));
  MaintenanceSchedule s;
  s.start_ = t.start;
  s.end_ = t.end;
  if (!t.cron.empty()) {
    s.kind_ = Kind::kCron;
    PLATOPS_ASSIGN_OR_RETURN(s.cron_, CronSchedule::Parse(t.cron, t.time_zone));
    s.duration_ = t.duration;
  } else if (!t.weekly.empty()) {
    s.kind_ = Kind::kWeekly;
    s.weekly_ = t.weekly;
    s.zone_ = LocateZone(t.time_zone);
    if (s.zone_ == nullptr) return Internal("time zone \"" + t.time_zone + "\" failed to load");
  } else {
    s.kind_ = Kind::kOnce;
  }
  return s;
}

std::vector<Interval> MaintenanceSchedule::Occurrences(Timestamp from, Timestamp to) const {
  std::vector<Interval> out;
  switch (kind_) {
    case Kind::kOnce:
      out.push_back({*start_, *end_});
      break;
    case Kind::kCron: {
      // Firings are increasing and equally long, so overlapping ones merge as they come.
      for (Timestamp f = cron_.Next(from - duration_); f < to; f = cron_.Next(f)) {
        const Interval iv{f, f + duration_};
        if (!out.empty() && iv.start <= out.back().end) {
          out.back().end = std::max(out.back().end, iv.end);
        } else {
          out.push_back(iv);
        }
      }
      break;
    }
    case Kind::kWeekly: {
      const auto& zone = *static_cast<const date::time_zone*>(zone_);
      // Zone offsets are under a day and a range lasts at most a week of local time, so local
      // dates from 8 days before `from` to a day after `to` cover every overlapping occurrence.
      const date::sys_days first = std::chrono::floor<days>(from) - days(8);
      const date::sys_days last = std::chrono::floor<days>(to) + days(1);
      for (date::sys_days d = first; d <= last; d += days(1)) {
        const date::local_days local_day(d.time_since_epoch());
        const unsigned weekday = date::weekday(local_day).c_encoding();
        for (const WeeklyRange& r : weekly_) {
          if (static_cast<unsigned>(r.day) != weekday) continue;
          const date::local_seconds local_start = local_day + minutes(r.start_minute);
          const Interval iv{ResolveLocal(zone, local_start),
                            ResolveLocal(zone, local_start + minutes(WeeklyLength(r)))};
          if (iv.start < iv.end && iv.end > from && iv.start < to) out.push_back(iv);
        }
      }
      break;
    }
  }
  return out;
}

std::vector<Interval> MaintenanceSchedule::Intervals(Timestamp from, Timestamp to) const {
  from = std::max(from, kEarliest);
  to = std::min(to, kLatest);
  // One-off windows and recurrence bounds both clip.
  if (start_) from = std::max(from, *start_);
  if (end_) to = std::min(to, *end_);
  if (from >= to) return {};
  std::vector<Interval> occurrences = Occurrences(from, to);
  for (Interval& iv : occurrences) {
    iv.start = std::max(iv.start, from);
    iv.end = std::min(iv.end, to);
  }
  return UnionIntervals(std::move(occurrences));
}

bool MaintenanceSchedule::ActiveAt(Timestamp t) const {
  if (t < kEarliest || t >= kLatest) return false;
  return !Intervals(t, t + milliseconds(1)).empty();
}

std::optional<Timestamp> MaintenanceSchedule::ActiveUntil(Timestamp t) const {
  if (!ActiveAt(t)) return std::nullopt;
  const Timestamp horizon = t + kHorizon;
  Timestamp cursor = t;
  while (cursor < horizon) {
    const Timestamp chunk_end = std::min(cursor + kChunk, horizon);
    const std::vector<Interval> ivs = Intervals(cursor, chunk_end);
    if (ivs.empty() || ivs.front().start != cursor) return cursor;
    if (ivs.front().end < chunk_end) return ivs.front().end;
    cursor = chunk_end;
  }
  return horizon;
}

std::optional<Timestamp> MaintenanceSchedule::NextStart(Timestamp t) const {
  if (t < kEarliest || t >= kLatest) return std::nullopt;
  const Timestamp horizon = t + kHorizon;
  Timestamp cursor = t;
  // A window already open at the chunk's start is a continuation, not a start (and at t itself
  // a start would not be strictly after t).
  bool continuing = true;
  while (cursor < horizon) {
    if (end_ && cursor >= *end_) return std::nullopt;
    const Timestamp chunk_end = std::min(cursor + kChunk, horizon);
    const std::vector<Interval> ivs = Intervals(cursor, chunk_end);
    for (const Interval& iv : ivs) {
      if (iv.start == cursor && continuing) continue;
      return iv.start;
    }
    continuing = !ivs.empty() && ivs.back().end == chunk_end;
    cursor = chunk_end;
  }
  return std::nullopt;
}

std::vector<Interval> UnionIntervals(std::vector<Interval> v) {
  std::erase_if(v, [](const Interval& iv) { return iv.start >= iv.end; });
  std::sort(v.begin(), v.end(),
            [](const Interval& a, const Interval& b) { return a.start < b.start; });
  std::vector<Interval> out;
  for (const Interval& iv : v) {
    if (!out.empty() && iv.start <= out.back().end) {
      out.back().end = std::max(out.back().end, iv.end);
    } else {
      out.push_back(iv);
    }
  }
  return out;
}

milliseconds TotalLength(const std::vector<Interval>& v) {
  milliseconds total{0};
  for (const Interval& iv : UnionIntervals(v)) total += iv.end - iv.start;
  return total;
}

std::vector<Interval> IntersectIntervals(const std::vector<Interval>& a,
                                         const std::vector<Interval>& b) {
  const std::vector<Interval> ua = UnionIntervals(a), ub = UnionIntervals(b);
  std::vector<Interval> out;
  size_t i = 0, j = 0;
  while (i < ua.size() && j < ub.size()) {
    const Timestamp start = std::max(ua[i].start, ub[j].start);
    const Timestamp end = std::min(ua[i].end, ub[j].end);
    if (start < end) out.push_back({start, end});
    if (ua[i].end < ub[j].end) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

}  // namespace platops::checks
