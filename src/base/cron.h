#pragma once
// CronSchedule: 5-field cron expressions ("*/5 9-17 * * 1-5") and the @hourly-style macros,
// evaluated in an IANA time zone with the DST rules cron users expect (Vixie cron / systemd):
// a local time skipped by a spring-forward transition fires once at the first instant after
// the gap; a local time repeated by a fall-back transition fires once, at its first occurrence.
// Fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-7
// (0 and 7 are Sunday) or SUN-SAT; lists, ranges, steps (*/n, a-b/n, a/n); when both day of
// month and day of week are restricted, a day matching either fires (POSIX).
// Macros: @yearly @annually @monthly @weekly @daily @midnight @hourly.
// Thread-safety: immutable after Parse; safe to share.

#include <bitset>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"

namespace platops {

class CronSchedule {
 public:
  // `tz` is an IANA zone name ("Europe/Berlin", "UTC"). Errors say which field is wrong and why:
  // "hour: 24 is out of range 0-23".
  static Result<CronSchedule> Parse(std::string_view expr, std::string_view tz = "UTC");

  // The first firing time strictly after `after` (whole minutes). Always exists within ~5 years
  // for a valid expression; returns Timestamp::max() when the expression can never fire (e.g.
  // "0 0 30 2 *").
  Timestamp Next(Timestamp after) const;
  // The last firing time at or before `at`; Timestamp::min() when none within ~5 years.
  Timestamp Prev(Timestamp at) const;

  const std::string& expression() const { return expr_; }
  const std::string& time_zone() const { return tz_; }

 private:
  std::string expr_, tz_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1..31
  std::bitset<13> months_;         // 1..12
  std::bitset<7> days_of_week_;    // 0..6, Sunday 0
  bool dom_restricted_ = false, dow_restricted_ = false;
  const void* zone_ = nullptr;  // date::time_zone*, kept opaque so this header stays light
};

}  // namespace platops
