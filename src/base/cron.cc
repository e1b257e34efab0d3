#include "base/cron.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <vector>

namespace platops {

namespace {

using std::chrono::ceil;
using std::chrono::floor;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using LocalMinutes = date::local_time<minutes>;
using LocalSeconds = date::local_seconds;
using LocalMs = date::local_time<milliseconds>;

// Far enough for Feb 29 across a skipped leap year (2096 -> 2104); bounds impossible expressions.
constexpr date::days kSearchSpan{9 * 366};
// Zone segments visited per search; real zones change offset a few times a year at most.
constexpr int kMaxSegments = 400;

constexpr date::sys_days kEarliest = date::sys_days(date::year(1800) / 1 / 1);
constexpr date::sys_days kLatest = date::sys_days(date::year(9000) / 1 / 1);

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

struct FieldSpec {
  std::string_view name;
  int min, max;
  const std::string_view* names;  // value `names_base + i` for names[i], or null
  int name_count, names_base;
  std::string_view name_kind;
};

constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0, 0, ""},
    {"hour", 0, 23, nullptr, 0, 0, ""},
    {"day of month", 1, 31, nullptr, 0, 0, ""},
    {"month", 1, 12, kMonthNames.data(), 12, 1, "month name"},
    {"day of week", 0, 7, kDayNames.data(), 7, 0, "day name"},
};

struct Macro {
  std::string_view name, expansion;
};
constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// The token as quoted in an error message, cut short so hostile input stays readable.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 32;
  return "\"" + std::string(s.substr(0, kMax)) + (s.size() > kMax ? "...\"" : "\"");
}

std::string Shown(std::string_view s) {
  constexpr size_t kMax = 32;
  return std::string(s.substr(0, kMax)) + (s.size() > kMax ? "..." : "");
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

std::vector<std::string_view> SplitWhitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !IsSpace(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::string FieldError(const FieldSpec& spec, std::string_view what) {
  return std::string(spec.name) + ": " + std::string(what);
}

std::string RangeText(int lo, int hi) { return std::to_string(lo) + "-" + std::to_string(hi); }

// A number or (for month and day of week) a three-letter name.
Result<int> ParseValue(std::string_view tok, const FieldSpec& spec) {
  if (tok.empty()) return InvalidArgument(FieldError(spec, "missing value"));
  if (std::all_of(tok.begin(), tok.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int v = 0;
    for (char c : tok) {
      v = v * 10 + (c - '0');
      if (v > 100000) break;
    }
    if (v < spec.min || v > spec.max) {
      return InvalidArgument(
          FieldError(spec, Shown(tok) + " is out of range " + RangeText(spec.min, spec.max)));
    }
    return v;
  }
  for (int i = 0; i < spec.name_count; ++i) {
    if (EqualsIgnoreCase(tok, spec.names[i])) return spec.names_base + i;
  }
  std::string expected = spec.names ? "a number or " + std::string(spec.name_kind) : "a number";
  return InvalidArgument(FieldError(spec, Quote(tok) + " is not " + expected));
}

// One comma-separated element: "*", "a", "a-b", each optionally followed by "/step".
Status ParseElement(std::string_view elem, const FieldSpec& spec, std::bitset<64>& bits) {
  if (elem.empty()) return InvalidArgument(FieldError(spec, "empty list element"));
  std::string_view base = elem;
  int step = 1;
  bool has_step = false;
  if (size_t slash = elem.find('/'); slash != std::string_view::npos) {
    base = elem.substr(0, slash);
    std::string_view step_text = elem.substr(slash + 1);
    if (step_text.empty() || !std::all_of(step_text.begin(), step_text.end(),
                                          [](char c) { return c >= '0' && c <= '9'; }))
      return InvalidArgument(FieldError(spec, "step " + Quote(step_text) + " is not a number"));
    int max_step = spec.max;
    step = 0;
    for (char c : step_text) {
      step = step * 10 + (c - '0');
      if (step > 100000) break;
    }
    if (step < 1 || step > max_step) {
      return InvalidArgument(FieldError(
          spec, "step " + Shown(step_text) + " is out of range " + RangeText(1, max_step)));
    }
    has_step = true;
  }
  int lo, hi;
  if (base == "*") {
    lo = spec.min;
    hi = spec.name == "day of week" ? 6 : spec.max;
  } else if (size_t dash = base.find('-'); dash != std::string_view::npos) {
    PLATOPS_ASSIGN_OR_RETURN(lo, ParseValue(base.substr(0, dash), spec));
    PLATOPS_ASSIGN_OR_RETURN(hi, ParseValue(base.substr(dash + 1), spec));
    if (lo > hi) {
      return InvalidArgument(
          FieldError(spec, "range " + Shown(base) + " is reversed (start after end)"));
    }
  } else {
    PLATOPS_ASSIGN_OR_RETURN(lo, ParseValue(base, spec));
    hi = has_step ? spec.max : lo;
  }
  for (int v = lo; v <= hi; v += step) bits.set(static_cast<size_t>(v));
  return Status::Ok();
}

Result<std::bitset<64>> ParseField(std::string_view text, const FieldSpec& spec) {
  std::bitset<64> bits;
  for (std::string_view elem : Split(text, ',')) {
    PLATOPS_RETURN_IF_ERROR(ParseElement(elem, spec, bits));
  }
  return bits;
}

template <size_t N>
std::bitset<N> Narrow(const std::bitset<64>& bits) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i) out[i] = bits[i];
  return out;
}

const date::time_zone* LocateZone(std::string_view name) {
  if (name.empty() || name.size() > 64) return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

LocalMs ToLocal(Timestamp t, seconds offset) { return LocalMs(t.time_since_epoch() + offset); }

LocalSeconds ToLocal(date::sys_seconds t, seconds offset) {
  return LocalSeconds(t.time_since_epoch() + offset);
}

Timestamp ToSys(LocalMinutes l, seconds offset) {
  return Timestamp(std::chrono::duration_cast<milliseconds>(l.time_since_epoch() - offset));
}

Timestamp ToTimestamp(date::sys_seconds t) {
  return Timestamp(std::chrono::duration_cast<milliseconds>(t.time_since_epoch()));
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view expr, std::string_view tz) {
  std::vector<std::string_view> fields = SplitWhitespace(expr);
  if (fields.empty()) return InvalidArgument("cron: expression is empty");
  if (fields.size() == 1 && fields[0].front() == '@') {
    const Macro* found = nullptr;
    for (const Macro& m : kMacros) {
      if (EqualsIgnoreCase(fields[0], m.name)) found = &m;
    }
    if (found == nullptr) {
      return InvalidArgument("cron: unknown macro " + Quote(fields[0]) +
                             " (expected @yearly, @annually, @monthly, @weekly, @daily, "
                             "@midnight or @hourly)");
    }
    fields = SplitWhitespace(found->expansion);
  }
  if (fields.size() != 5) {
    return InvalidArgument("cron: expected 5 fields, got " + std::to_string(fields.size()));
  }
  CronSchedule s;
  std::bitset<64> bits[5];
  for (size_t i = 0; i < 5; ++i) {
    PLATOPS_ASSIGN_OR_RETURN(bits[i], ParseField(fields[i], kFields[i]));
  }
  if (bits[4][7]) {
    bits[4].set(0);
    bits[4].reset(7);
  }
  s.minutes_ = Narrow<60>(bits[0]);
  s.hours_ = Narrow<24>(bits[1]);
  s.days_of_month_ = Narrow<32>(bits[2]);
  s.months_ = Narrow<13>(bits[3]);
  s.days_of_week_ = Narrow<7>(bits[4]);
  s.dom_restricted_ = s.days_of_month_.count() != 31;
  s.dow_restricted_ = !s.days_of_week_.all();
  const date::time_zone* zone = LocateZone(tz);
  if (zone == nullptr) return InvalidArgument("unknown time zone " + Quote(tz));
  s.zone_ = zone;
  // The expression as written, with runs of whitespace collapsed.
  std::vector<std::string_view> words = SplitWhitespace(expr);
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) s.expr_ += ' ';
    s.expr_ += words[i];
  }
  s.tz_ = std::string(tz);
  return s;
}

bool CronSchedule::DayMatches(unsigned day_of_month, unsigned weekday) const {
  bool dom = days_of_month_[day_of_month];
  bool dow = days_of_week_[weekday];
  return dom_restricted_ && dow_restricted_ ? (dom || dow) : (dom && dow);
}

std::optional<minutes> CronSchedule::NextLocal(minutes lo, seconds hi) const {
  LocalMinutes t(lo);
  const LocalSeconds end(hi);
  while (t < end) {
    const date::local_days day = floor<date::days>(t);
    const date::year_month_day ymd(day);
    if (!months_[static_cast<unsigned>(ymd.month())]) {
      t = date::local_days((ymd.year() / ymd.month() / 1) + date::months(1));
      continue;
    }
    if (!DayMatches(static_cast<unsigned>(ymd.day()), date::weekday(day).c_encoding())) {
      t = day + date::days(1);
      continue;
    }
    const auto into_day = (t - day).count();
    const int hour = static_cast<int>(into_day / 60);
    if (!hours_[static_cast<size_t>(hour)]) {
      t = day + hours(hour + 1);
      continue;
    }
    int minute = static_cast<int>(into_day % 60);
    while (minute < 60 && !minutes_[static_cast<size_t>(minute)]) ++minute;
    if (minute == 60) {
      t = day + hours(hour + 1);
      continue;
    }
    t = day + hours(hour) + minutes(minute);
    if (t >= end) return std::nullopt;
    return t.time_since_epoch();
  }
  return std::nullopt;
}

std::optional<minutes> CronSchedule::PrevLocal(seconds lo, minutes hi) const {
  LocalMinutes t(hi);
  const LocalSeconds start(lo);
  while (t >= start) {
    const date::local_days day = floor<date::days>(t);
    const date::year_month_day ymd(day);
    if (!months_[static_cast<unsigned>(ymd.month())]) {
      t = date::local_days(ymd.year() / ymd.month() / 1) - minutes(1);
      continue;
    }
    if (!DayMatches(static_cast<unsigned>(ymd.day()), date::weekday(day).c_encoding())) {
      t = day - minutes(1);
      continue;
    }
    const auto into_day = (t - day).count();
    const int hour = static_cast<int>(into_day / 60);
    if (!hours_[static_cast<size_t>(hour)]) {
      t = day + hours(hour) - minutes(1);
      continue;
    }
    int minute = static_cast<int>(into_day % 60);
    while (minute >= 0 && !minutes_[static_cast<size_t>(minute)]) --minute;
    if (minute < 0) {
      t = day + hours(hour) - minutes(1);
      continue;
    }
    t = day + hours(hour) + minutes(minute);
    if (t < start) return std::nullopt;
    return t.time_since_epoch();
  }
  return std::nullopt;
}

Timestamp CronSchedule::Next(Timestamp after) const {
  if (zone_ == nullptr || after < kEarliest || after >= kLatest) return Timestamp::max();
  const auto* zone = static_cast<const date::time_zone*>(zone_);
  // A wildcard hour follows real time; a restricted one gets the fixed-time DST rules.
  const bool real_time = hours_.all();
  date::sys_info info = zone->get_info(after);
  const LocalMinutes after_local = floor<minutes>(ToLocal(after, info.offset)) + minutes(1);
  const LocalSeconds limit = after_local + kSearchSpan;
  for (int segment = 0; segment < kMaxSegments; ++segment) {
    // Local times of this offset segment: [begin + offset, end + offset).
    LocalMinutes lo = ceil<minutes>(ToLocal(info.begin, info.offset));
    if (!real_time && info.begin > kEarliest) {
      // Local times repeated after a fall-back already fired in the previous segment.
      const date::sys_info prev = zone->get_info(info.begin - seconds(1));
      if (prev.offset > info.offset) lo = ceil<minutes>(ToLocal(info.begin, prev.offset));
    }
    if (segment == 0) lo = std::max(lo, after_local);
    const LocalSeconds seg_end = ToLocal(info.end, info.offset);
    const LocalSeconds hi = std::min(seg_end, limit);
    if (auto l = NextLocal(lo.time_since_epoch(), hi.time_since_epoch())) {
      return ToSys(LocalMinutes(*l), info.offset);
    }
    if (seg_end >= limit) return Timestamp::max();
    const date::sys_info next = zone->get_info(info.end);
    if (!real_time && next.offset > info.offset) {
      // A matching local time in the spring-forward gap fires at the first instant after it.
      const LocalSeconds gap_end = ToLocal(info.end, next.offset);
      if (NextLocal(ceil<minutes>(seg_end).time_since_epoch(), gap_end.time_since_epoch())) {
        return ToTimestamp(info.end);
      }
    }
    info = next;
  }
  return Timestamp::max();
}

Timestamp CronSchedule::Prev(Timestamp at) const {
  if (zone_ == nullptr || at < kEarliest || at >= kLatest) return Timestamp::min();
  const auto* zone = static_cast<const date::time_zone*>(zone_);
  const bool real_time = hours_.all();
  date::sys_info info = zone->get_info(at);
  LocalMinutes hi = floor<minutes>(ToLocal(at, info.offset));
  const LocalSeconds limit = hi - kSearchSpan;
  for (int segment = 0; segment < kMaxSegments; ++segment) {
    LocalSeconds lo = ToLocal(info.begin, info.offset);
    std::optional<date::sys_info> prev;
    if (info.begin > kEarliest) prev = zone->get_info(info.begin - seconds(1));
    if (!real_time && prev && prev->offset > info.offset) {
      lo = ToLocal(info.begin, prev->offset);
    }
    if (auto l = PrevLocal(std::max(lo, limit).time_since_epoch(), hi.time_since_epoch())) {
      return ToSys(LocalMinutes(*l), info.offset);
    }
    if (lo <= limit || !prev) return Timestamp::min();
    if (!real_time && prev->offset < info.offset) {
      const LocalSeconds gap_lo = ToLocal(info.begin, prev->offset);
      const LocalMinutes gap_hi = floor<minutes>(ToLocal(info.begin, info.offset) - seconds(1));
      if (PrevLocal(gap_lo.time_since_epoch(), gap_hi.time_since_epoch())) {
        return ToTimestamp(info.begin);
      }
    }
    info = *prev;
    hi = floor<minutes>(ToLocal(info.end, info.offset) - seconds(1));
  }
  return Timestamp::min();
}

}  // namespace platops
