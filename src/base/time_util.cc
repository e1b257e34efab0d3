#include "base/time_util.h"

#include <date/date.h>
#include <date/tz.h>

#include <cctype>
#include <cstdio>

namespace platops {

std::string FormatRfc3339(Timestamp t) {
  // Digits written by hand: this runs three times per alert listed, and snprintf was a tenth of
  // listing 100,000 alerts.
  auto day = std::chrono::floor<date::days>(t);
  date::year_month_day ymd(day);
  date::hh_mm_ss<std::chrono::milliseconds> hms(t - day);
  const int year = static_cast<int>(ymd.year());
  const int ms = static_cast<int>(hms.subseconds().count());
  if (year < 0 || year > 9999) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year,
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()), ms);
    std::string out = buf;
    if (ms == 0) out.erase(out.size() - 5, 4);  // no fraction
    return out;
  }
  char buf[24] = "0000-00-00T00:00:00.000";
  auto put = [&buf](int at, int value, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      buf[at + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, year, 4);
  put(5, static_cast<int>(static_cast<unsigned>(ymd.month())), 2);
  put(8, static_cast<int>(static_cast<unsigned>(ymd.day())), 2);
  put(11, static_cast<int>(hms.hours().count()), 2);
  put(14, static_cast<int>(hms.minutes().count()), 2);
  put(17, static_cast<int>(hms.seconds().count()), 2);
  if (ms == 0) return std::string(buf, 19) + "Z";
  put(20, ms, 3);
  return std::string(buf, 23) + "Z";
}

namespace {

bool ReadInt(std::string_view s, size_t& pos, size_t digits, int& out) {
  if (pos + digits > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < digits; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += digits;
  out = v;
  return true;
}

bool Expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || (s[pos] != c && std::tolower(static_cast<unsigned char>(s[pos])) != c))
    return false;
  ++pos;
  return true;
}

}  // namespace

Result<Timestamp> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return InvalidArgument("must be an RFC 3339 timestamp like 2026-01-02T15:04:05Z, got \"" +
                           std::string(s.substr(0, 64)) + "\"");
  };
  size_t pos = 0;
  int y, mo, d, h, mi, sec;
  if (!ReadInt(s, pos, 4, y) || !Expect(s, pos, '-') || !ReadInt(s, pos, 2, mo) ||
      !Expect(s, pos, '-') || !ReadInt(s, pos, 2, d) || !Expect(s, pos, 't') ||
      !ReadInt(s, pos, 2, h) || !Expect(s, pos, ':') || !ReadInt(s, pos, 2, mi) ||
      !Expect(s, pos, ':') || !ReadInt(s, pos, 2, sec))
    return bad();
  int ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int scale = 100;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (scale > 0) ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '+' ? 1 : -1;
    ++pos;
    int oh, om;
    if (!ReadInt(s, pos, 2, oh) || !Expect(s, pos, ':') || !ReadInt(s, pos, 2, om)) return bad();
    if (oh > 23 || om > 59) return bad();
    offset_min = sign * (oh * 60 + om);
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(mo)),
                           date::day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return bad();
  auto tp = date::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
            std::chrono::seconds(sec) + std::chrono::milliseconds(ms) -
            std::chrono::minutes(offset_min);
  return Timestamp(std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()));
}

namespace {

// Prometheus duration units, largest first.
struct DurationUnit {
  std::string_view name;
  long long ms;
};
constexpr DurationUnit kUnits[] = {{"y", 365LL * 86400000},
                                   {"w", 7LL * 86400000},
                                   {"d", 86400000},
                                   {"h", 3600000},
                                   {"m", 60000},
                                   {"s", 1000},
                                   {"ms", 1}};

}  // namespace

Timestamp ParseStoredTimestamp(std::string_view s) {
  auto t = ParseRfc3339(s);
  return t.ok() ? *t : Timestamp{};
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view s) {
  auto bad = [&](std::string why) {
    return InvalidArgument("must be a duration like 30s, 5m or 1h30m (" + why + "), got \"" +
                           std::string(s.substr(0, 64)) + "\"");
  };
  if (s.empty()) return bad("empty");
  if (s == "0") return std::chrono::milliseconds(0);
  long long total = 0;
  size_t pos = 0;
  int last_unit = -1;
  while (pos < s.size()) {
    size_t start = pos;
    long long n = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      n = n * 10 + (s[pos] - '0');
      if (n > 1000000000000LL) return bad("too large");
      ++pos;
    }
    if (pos == start) return bad("expected a number");
    size_t ustart = pos;
    while (pos < s.size() && std::isalpha(static_cast<unsigned char>(s[pos]))) ++pos;
    std::string_view unit = s.substr(ustart, pos - ustart);
    int idx = -1;
    for (int i = 0; i < static_cast<int>(std::size(kUnits)); ++i)
      if (kUnits[i].name == unit) idx = i;
    if (idx < 0) return bad("unknown unit \"" + std::string(unit) + "\"");
    if (idx <= last_unit) return bad("units must go from largest to smallest");
    last_unit = idx;
    total += n * kUnits[idx].ms;
    if (total > 100LL * 365 * 86400000) return bad("too large");
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  for (const auto& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.name;
      ms %= u.ms;
    }
  }
  return out;
}

bool IsValidTimeZone(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  try {
    return date::locate_zone(name) != nullptr;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace platops
