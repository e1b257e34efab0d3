#include "alerting/time_interval.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <exception>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include "alerting/yaml_scalar.h"
#include "base/json_reader.h"
#include "base/time_util.h"

namespace platops::alerting {

namespace {

namespace json = boost::json;
using std::chrono::days;
using std::chrono::seconds;

constexpr std::array<std::string_view, 7> kWeekdayNames = {
    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
constexpr std::array<std::string_view, 12> kMonthNames = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

constexpr int kMinutesPerDay = 24 * 60;
constexpr int64_t kSecondsPerDay = int64_t{24} * 60 * 60;

// ---------------------------------------------------------------------------------------------
// Parsing

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The text a YAML scalar would have given Alertmanager (booleans are not numbers here).
Result<std::string> NumberOrText(const json::value& v, const std::string& field) {
  return ScalarText(v, field, /*allow_bool=*/false);
}

// Go's strconv.Atoi on a 64-bit platform, with its error text. Only the message is meaningful.
Result<int64_t> GoAtoi(std::string_view s) {
  auto error = [&](std::string_view what) {
    return InvalidArgument(fmt::format("strconv.Atoi: parsing \"{}\": {}", s, what));
  };
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty()) return error("invalid syntax");
  constexpr uint64_t kLimit = uint64_t{1} << 63;  // |INT64_MIN|
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return error("invalid syntax");
    const auto digit = static_cast<uint64_t>(c - '0');
    if (n > (kLimit - digit) / 10) return error("value out of range");
    n = n * 10 + digit;
  }
  if (negative) return n == kLimit ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(n);
  if (n == kLimit) return error("value out of range");
  return static_cast<int64_t>(n);
}

Result<int64_t> WeekdayMember(std::string_view s) {
  for (size_t i = 0; i < kWeekdayNames.size(); ++i) {
    if (kWeekdayNames[i] == s) return static_cast<int64_t>(i);
  }
  return InvalidArgument(fmt::format("{} is not a valid weekday", s));
}

Result<int64_t> MonthMember(std::string_view s) {
  for (size_t i = 0; i < kMonthNames.size(); ++i) {
    if (kMonthNames[i] == s) return static_cast<int64_t>(i + 1);
  }
  auto n = GoAtoi(s);
  if (!n.ok()) return InvalidArgument(fmt::format("{} is not a valid month", s));
  return n;
}

Result<int64_t> NumberMember(std::string_view s) { return GoAtoi(s); }

using MemberParser = Result<int64_t> (*)(std::string_view);

// "a" or "a:b" (already lower-cased) into [a, b] / [a, a]. Errors carry only a message.
Result<InclusiveRange> ParseRangeText(const std::string& in, MemberParser member) {
  const size_t colon = in.find(':');
  if (colon == std::string::npos) {
    PLATOPS_ASSIGN_OR_RETURN(int64_t value, member(in));
    return InclusiveRange{value, value};
  }
  if (in.find(':', colon + 1) != std::string::npos) {
    return InvalidArgument(fmt::format("couldn't parse range {}, invalid format", in));
  }
  PLATOPS_ASSIGN_OR_RETURN(int64_t begin, member(std::string_view(in).substr(0, colon)));
  PLATOPS_ASSIGN_OR_RETURN(int64_t end, member(std::string_view(in).substr(colon + 1)));
  return InclusiveRange{begin, end};
}

Status ValidateWeekdays(const InclusiveRange& r, const std::string& text) {
  if (r.begin > r.end) return InvalidArgument("start day cannot be before end day");
  if (r.begin < 0 || r.begin > 6 || r.end < 0 || r.end > 6) {
    return InvalidArgument(fmt::format("{} is not a valid day of the week: out of range", text));
  }
  return Status::Ok();
}

Status ValidateDaysOfMonth(const InclusiveRange& r, const std::string&) {
  auto out_of_range = [](int64_t d) { return d == 0 || d < -31 || d > 31; };
  if (out_of_range(r.begin)) {
    return InvalidArgument(
        fmt::format("{} is not a valid day of the month: out of range", r.begin));
  }
  if (out_of_range(r.end)) {
    return InvalidArgument(fmt::format("{} is not a valid day of the month: out of range", r.end));
  }
  if (r.begin < 0 && r.end > 0) {
    return InvalidArgument("end day must be negative if start day is negative");
  }
  // Negative days are checked against the shortest month (28 days): only ranges that are empty
  // in every month are rejected.
  const int64_t check_begin = r.begin < 0 ? 28 + r.begin : r.begin;
  const int64_t check_end = r.end < 0 ? 28 + r.end : r.end;
  if (check_begin > check_end) {
    return InvalidArgument(fmt::format("end day {} is always before start day {}", r.end, r.begin));
  }
  return Status::Ok();
}

// Alertmanager names the months of a reversed range, leaving a number outside 1..12 blank.
std::string_view MonthName(int64_t m) {
  return m >= 1 && m <= 12 ? kMonthNames[static_cast<size_t>(m - 1)] : std::string_view();
}

Status ValidateMonths(const InclusiveRange& r, const std::string&) {
  if (r.begin > r.end) {
    return InvalidArgument(
        fmt::format("end month {} is before start month {}", MonthName(r.end), MonthName(r.begin)));
  }
  return Status::Ok();
}

Status ValidateYears(const InclusiveRange& r, const std::string&) {
  if (r.begin > r.end) {
    return InvalidArgument(fmt::format("end year {} is before start year {}", r.end, r.begin));
  }
  return Status::Ok();
}

using RangeValidator = Status (*)(const InclusiveRange&, const std::string&);

// A list of ranges under `name`: nullopt when absent or null, else every item parsed.
Result<std::optional<std::vector<InclusiveRange>>> ParseRangeList(JsonReader& reader,
                                                                  const char* name,
                                                                  MemberParser member,
                                                                  RangeValidator validate) {
  const json::value* raw = reader.Raw(name);
  if (!reader.ok()) return reader.status();
  if (raw == nullptr) return std::optional<std::vector<InclusiveRange>>();
  if (!raw->is_array()) return InvalidArgument("must be a list", name);
  std::vector<InclusiveRange> out;
  const json::array& items = raw->get_array();
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string field = std::string(name) + "[" + std::to_string(i) + "]";
    PLATOPS_ASSIGN_OR_RETURN(std::string text, NumberOrText(items[i], field));
    auto range = ParseRangeText(ToLower(text), member);
    if (!range.ok()) return InvalidArgument(range.status().message(), field);
    Status valid = validate(*range, text);
    if (!valid.ok()) return InvalidArgument(valid.message(), field);
    out.push_back(*range);
  }
  return std::optional<std::vector<InclusiveRange>>(std::move(out));
}

// "HH:MM" (00:00 to 23:59) or "24:00" into minutes of the day.
Result<int> ParseTimeOfDay(const std::string& in) {
  auto digit = [&](size_t i) { return in[i] - '0'; };
  auto is_digit = [&](size_t i) { return in[i] >= '0' && in[i] <= '9'; };
  if (in == "24:00") return kMinutesPerDay;
  const bool ok = in.size() == 5 && is_digit(0) && is_digit(1) && in[2] == ':' && is_digit(3) &&
                  is_digit(4) && digit(0) * 10 + digit(1) < 24 && digit(3) < 6;
  if (!ok) return InvalidArgument(fmt::format("couldn't parse timestamp {}, invalid format", in));
  return (digit(0) * 10 + digit(1)) * 60 + digit(3) * 10 + digit(4);
}

Result<TimeRange> ParseTimeRange(const json::value& v, const std::string& path) {
  JsonReader reader(v, path);
  if (!reader.ok()) return reader.status();
  std::array<std::string, 2> texts;
  const std::array<const char*, 2> names = {"start_time", "end_time"};
  for (size_t i = 0; i < 2; ++i) {
    const json::value* raw = reader.Raw(names[i]);
    if (raw == nullptr) continue;
    PLATOPS_ASSIGN_OR_RETURN(texts[i], NumberOrText(*raw, path + "." + names[i]));
  }
  PLATOPS_RETURN_IF_ERROR(reader.Finish());
  if (texts[0].empty() || texts[1].empty()) {
    return InvalidArgument("both start and end times must be provided", path);
  }
  TimeRange range;
  const std::array<int*, 2> minutes = {&range.start_minute, &range.end_minute};
  for (size_t i = 0; i < 2; ++i) {
    auto parsed = ParseTimeOfDay(texts[i]);
    if (!parsed.ok()) return InvalidArgument(parsed.status().message(), path + "." + names[i]);
    *minutes[i] = *parsed;
  }
  if (range.start_minute >= range.end_minute) {
    return InvalidArgument("start time cannot be equal or greater than end time", path);
  }
  return range;
}

// Go's time.LoadLocation, with its error texts; "Local" maps to `local_zone`.
Result<std::string> ParseLocation(const std::string& name, const std::string& local_zone) {
  if (name.empty() || name == "UTC") return std::string("UTC");
  if (name == "Local") {
    if (!IsValidTimeZone(local_zone)) {
      return InvalidArgument(
          fmt::format("Local stands for unknown time zone {}", local_zone.substr(0, 64)),
          "location");
    }
    return local_zone;
  }
  if (name.find("..") != std::string::npos || name.front() == '/' || name.front() == '\\') {
    return InvalidArgument("time: invalid location name", "location");
  }
  if (!IsValidTimeZone(name)) {
    return InvalidArgument(fmt::format("unknown time zone {}", name.substr(0, 64)), "location");
  }
  return name;
}

// ---------------------------------------------------------------------------------------------
// Matching

// The zone named `name`, or nullptr for UTC (and for an unknown name).
const date::time_zone* FindZone(const std::string& name) {
  if (name.empty() || name == "UTC") return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

date::sys_seconds ToSys(date::local_seconds local, seconds offset) {
  return date::sys_seconds(local.time_since_epoch() - offset);
}

// The month's calendar length. (Alertmanager 0.25 counts the whole days between two local
// midnights, so a 31-day month that loses an hour to DST has 30 and "-1" falls on the 30th;
// platops counts the calendar, as a user reading "-1" expects.)
int64_t DaysInMonth(date::year_month ym) {
  return static_cast<unsigned>((ym / date::last).day());
}

bool InAnyRange(const std::vector<InclusiveRange>& ranges, int64_t value) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const InclusiveRange& r) { return value >= r.begin && value <= r.end; });
}

bool DayOfMonthMatches(const std::vector<InclusiveRange>& ranges,
                       const date::year_month_day& ymd) {
  if (ranges.empty()) return false;
  const int64_t dim = DaysInMonth(ymd.year() / ymd.month());
  const auto day = static_cast<int64_t>(static_cast<unsigned>(ymd.day()));
  for (const InclusiveRange& r : ranges) {
    int64_t begin = r.begin < 0 ? dim + r.begin + 1 : r.begin;
    int64_t end = r.end < 0 ? dim + r.end + 1 : r.end;
    if (begin > dim) continue;
    begin = std::clamp(begin, -dim, dim);
    end = std::clamp(end, -dim, dim);
    if (day >= begin && day <= end) return true;
  }
  return false;
}

bool YearMatches(const TimeInterval& ti, const date::year_month_day& ymd) {
  return !ti.years || InAnyRange(*ti.years, static_cast<int>(ymd.year()));
}

bool MonthMatches(const TimeInterval& ti, const date::year_month_day& ymd) {
  return !ti.months || InAnyRange(*ti.months, static_cast<unsigned>(ymd.month()));
}

// Every field but `times` for the local date `day`.
bool DateMatches(const TimeInterval& ti, date::local_days day) {
  const date::year_month_day ymd(day);
  if (!YearMatches(ti, ymd) || !MonthMatches(ti, ymd)) return false;
  if (ti.weekdays && !InAnyRange(*ti.weekdays, date::weekday(day).c_encoding())) return false;
  if (ti.days_of_month && !DayOfMonthMatches(*ti.days_of_month, ymd)) return false;
  return true;
}

bool MinuteMatches(const TimeInterval& ti, int minute_of_day) {
  if (!ti.times) return true;
  return std::any_of(ti.times->begin(), ti.times->end(), [&](const TimeRange& r) {
    return minute_of_day >= r.start_minute && minute_of_day < r.end_minute;
  });
}

date::local_seconds ToLocal(const date::time_zone* zone, date::sys_seconds t) {
  if (zone == nullptr) return date::local_seconds(t.time_since_epoch());
  return zone->to_local(t);
}

bool ContainsInZone(const TimeInterval& ti, const date::time_zone* zone, date::sys_seconds t) {
  const date::local_seconds local = ToLocal(zone, t);
  const date::local_days day = std::chrono::floor<days>(local);
  const auto minute = static_cast<int>((local - day).count() / 60);
  return MinuteMatches(ti, minute) && DateMatches(ti, day);
}

// ---------------------------------------------------------------------------------------------
// Next change

struct Span {
  date::sys_seconds start, end;
};

// The first day of the month after `day`'s, or of the year after when `whole_year`.
date::local_days SkipPast(date::local_days day, bool whole_year) {
  const date::year_month_day ymd(day);
  if (whole_year) return date::local_days((ymd.year() + date::years(1)) / date::January / 1);
  return date::local_days((ymd.year() / ymd.month() + date::months(1)) / 1);
}

// Appends the instants in [lo, hi) that `ti` contains, as spans in no particular order. Each
// stretch of constant UTC offset maps local times to instants one to one, so local ranges are
// shifted by that offset and clipped to the stretch.
void AppendActiveSpans(const TimeInterval& ti, const date::time_zone* zone, date::sys_seconds lo,
                       date::sys_seconds hi, std::vector<Span>& out) {
  std::vector<TimeRange> whole_day{{0, kMinutesPerDay}};
  const std::vector<TimeRange>& ranges = ti.times ? *ti.times : whole_day;
  if (ranges.empty()) return;
  for (date::sys_seconds t = lo; t < hi;) {
    date::sys_seconds stretch_end = hi;
    seconds offset(0);
    if (zone != nullptr) {
      const date::sys_info info = zone->get_info(t);
      stretch_end = std::min(hi, info.end);
      offset = info.offset;
    }
    const date::local_seconds local_lo(t.time_since_epoch() + offset);
    const date::local_seconds local_hi(stretch_end.time_since_epoch() + offset);
    for (date::local_days day = std::chrono::floor<days>(local_lo); day < local_hi;) {
      const date::year_month_day ymd(day);
      if (!YearMatches(ti, ymd)) {
        day = SkipPast(day, /*whole_year=*/true);
        continue;
      }
      if (!MonthMatches(ti, ymd)) {
        day = SkipPast(day, /*whole_year=*/false);
        continue;
      }
      if (DateMatches(ti, day)) {
        for (const TimeRange& r : ranges) {
          const date::sys_seconds start =
              std::max(t, ToSys(day + std::chrono::minutes(r.start_minute), offset));
          const date::sys_seconds end =
              std::min(stretch_end, ToSys(day + std::chrono::minutes(r.end_minute), offset));
          if (start < end) out.push_back({start, end});
        }
      }
      day += days(1);
    }
    t = stretch_end;
  }
}

// Sorted union of spans, touching ones merged.
std::vector<Span> MergeSpans(std::vector<Span> spans) {
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.start < b.start; });
  std::vector<Span> out;
  for (const Span& s : spans) {
    if (!out.empty() && s.start <= out.back().end) {
      out.back().end = std::max(out.back().end, s.end);
    } else {
      out.push_back(s);
    }
  }
  return out;
}

// Instants this far from the edges of TimePoint's range are not searched, so no sum overflows.
constexpr days kEdgeMargin{800};
// NextChange looks at most a century ahead, whatever it is asked.
constexpr days kMaxHorizon{36525};

}  // namespace

Result<TimeInterval> ParseTimeInterval(const json::value& v,
                                       const TimeIntervalParseOptions& options) {
  JsonReader reader(v);
  if (!reader.ok()) return reader.status();
  TimeInterval ti;
  if (const json::value* times = reader.Raw("times")) {
    if (!times->is_array()) return InvalidArgument("must be a list", "times");
    ti.times.emplace();
    const json::array& items = times->get_array();
    for (size_t i = 0; i < items.size(); ++i) {
      PLATOPS_ASSIGN_OR_RETURN(TimeRange range,
                               ParseTimeRange(items[i], "times[" + std::to_string(i) + "]"));
      ti.times->push_back(range);
    }
  }
  PLATOPS_ASSIGN_OR_RETURN(ti.weekdays,
                           ParseRangeList(reader, "weekdays", WeekdayMember, ValidateWeekdays));
  PLATOPS_ASSIGN_OR_RETURN(
      ti.days_of_month, ParseRangeList(reader, "days_of_month", NumberMember, ValidateDaysOfMonth));
  PLATOPS_ASSIGN_OR_RETURN(ti.months,
                           ParseRangeList(reader, "months", MonthMember, ValidateMonths));
  PLATOPS_ASSIGN_OR_RETURN(ti.years, ParseRangeList(reader, "years", NumberMember, ValidateYears));
  if (const json::value* location = reader.Raw("location")) {
    PLATOPS_ASSIGN_OR_RETURN(std::string name, NumberOrText(*location, "location"));
    PLATOPS_ASSIGN_OR_RETURN(ti.location, ParseLocation(name, options.local_time_zone));
  }
  PLATOPS_RETURN_IF_ERROR(reader.Finish());
  return ti;
}

Result<NamedTimeInterval> ParseNamedTimeInterval(const json::value& v,
                                                 const TimeIntervalParseOptions& options) {
  JsonReader reader(v);
  if (!reader.ok()) return reader.status();
  NamedTimeInterval named;
  if (const json::value* name = reader.Raw("name")) {
    PLATOPS_ASSIGN_OR_RETURN(named.name, NumberOrText(*name, "name"));
  }
  if (const json::value* list = reader.Raw("time_intervals")) {
    if (!list->is_array()) return InvalidArgument("must be a list", "time_intervals");
    const json::array& items = list->get_array();
    for (size_t i = 0; i < items.size(); ++i) {
      auto interval = ParseTimeInterval(items[i], options);
      if (!interval.ok()) {
        return interval.status().WithFieldPrefix("time_intervals[" + std::to_string(i) + "]");
      }
      named.intervals.push_back(std::move(interval).value());
    }
  }
  PLATOPS_RETURN_IF_ERROR(reader.Finish());
  if (named.name.empty()) return InvalidArgument("missing name in time interval", "name");
  return named;
}

Result<std::vector<NamedTimeInterval>> ParseNamedTimeIntervals(
    const json::value& v, const TimeIntervalParseOptions& options) {
  if (!v.is_array()) return InvalidArgument("must be a list");
  std::vector<NamedTimeInterval> out;
  std::set<std::string> names;
  const json::array& items = v.get_array();
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string index = "[" + std::to_string(i) + "]";
    auto named = ParseNamedTimeInterval(items[i], options);
    if (!named.ok()) return named.status().WithFieldPrefix(index);
    if (!names.insert(named->name).second) {
      return InvalidArgument(fmt::format("time interval \"{}\" is not unique", named->name),
                             index + ".name");
    }
    out.push_back(std::move(named).value());
  }
  return out;
}

bool Contains(const TimeInterval& interval, TimePoint t) {
  return ContainsInZone(interval, FindZone(interval.location), std::chrono::floor<seconds>(t));
}

bool ContainsAny(const std::vector<TimeInterval>& intervals, TimePoint t) {
  return std::any_of(intervals.begin(), intervals.end(),
                     [&](const TimeInterval& ti) { return Contains(ti, t); });
}

std::optional<TimePoint> NextChange(const std::vector<TimeInterval>& intervals, TimePoint from,
                                    days horizon) {
  if (intervals.empty() || horizon <= days(0)) return std::nullopt;
  horizon = std::min(horizon, kMaxHorizon);
  if (from < TimePoint::min() + kEdgeMargin || from > TimePoint::max() - horizon - kEdgeMargin) {
    return std::nullopt;
  }
  std::vector<const date::time_zone*> zones;
  zones.reserve(intervals.size());
  for (const TimeInterval& ti : intervals) zones.push_back(FindZone(ti.location));

  const TimePoint limit = from + horizon;
  const date::sys_seconds search_end = std::chrono::floor<seconds>(limit) + seconds(1);
  // Windows grow, so a change in the next hours costs a day or two of spans, and a distant one
  // a handful of windows.
  date::sys_seconds lo = std::chrono::floor<seconds>(from);
  days window(2);
  std::optional<bool> active;  // the value at `from`, known after the first window
  std::optional<TimePoint> change;
  while (lo < search_end && !change) {
    const date::sys_seconds hi = std::min<date::sys_seconds>(search_end, lo + window);
    std::vector<Span> spans;
    for (size_t i = 0; i < intervals.size(); ++i) {
      AppendActiveSpans(intervals[i], zones[i], lo, hi, spans);
    }
    const std::vector<Span> merged = MergeSpans(std::move(spans));
    // The cursor: `from` in the first window, then each window's start. Spans are whole seconds,
    // so the span holding `from` also holds floor(from) == lo.
    const TimePoint cursor = active ? TimePoint(lo) : from;
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const Span& s) { return TimePoint(s.end) > cursor; });
    const bool covered = it != merged.end() && TimePoint(it->start) <= cursor;
    if (!active) {
      active = covered;
    } else if (covered != *active) {
      change = cursor;  // the run ended, or a new one began, exactly at the window's start
      break;
    }
    if (*active) {
      if (it->end < hi) change = TimePoint(it->end);
    } else if (it != merged.end()) {
      change = TimePoint(it->start);
    }
    lo = hi;
    window *= 4;
  }
  if (change && *change > limit) return std::nullopt;
  return change;
}

}  // namespace platops::alerting
