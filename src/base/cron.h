#pragma once
// CronSchedule: 5-field cron expressions ("*/5 9-17 * * 1-5") and the @hourly-style macros,
// evaluated in an IANA time zone with the DST rules cron users expect (Vixie cron / systemd):
// a local time skipped by a spring-forward transition fires once at the first instant after
// the gap; a local time repeated by a fall-back transition fires once, at its first occurrence.
// Those two rules apply when the hour field is restricted ("30 2 * * *"). When it covers every
// hour ("*/15 * * * *", "0 * * * *") the schedule follows real time instead, as Vixie cron does
// for wildcard jobs: skipped local times do not fire and a repeated hour fires at each
// occurrence, so "0 * * * *" fires every real hour across both transitions.
// Fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-7
// (0 and 7 are Sunday) or SUN-SAT; lists, ranges, steps (*/n, a-b/n, a/n); when both day of
// month and day of week are restricted (do not cover their whole range), a day matching either
// fires (POSIX).
// Macros: @yearly @annually @monthly @weekly @daily @midnight @hourly.
// Supported instants: years 1800 to 9000; outside them Next/Prev report no firing. Zone rules
// come from the system tz database (transitions the OS files list, in practice up to 2037).
// Thread-safety: immutable after Parse; safe to share.

#include <bitset>
#include <chrono>
#include <optional>
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

  // The first firing time strictly after `after` (whole local minutes). Exists within ~9 years
  // for a valid expression (enough for Feb 29 across 2100); returns Timestamp::max() when the
  // expression can never fire (e.g. "0 0 30 2 *").
  Timestamp Next(Timestamp after) const;
  // The last firing time at or before `at`; Timestamp::min() when none within ~9 years.
  Timestamp Prev(Timestamp at) const;

  const std::string& expression() const { return expr_; }
  const std::string& time_zone() const { return tz_; }

 private:
  // Local wall-clock search, in minutes/seconds since the local epoch: the first matching
  // minute in [lo, hi) and the last matching minute in [lo, hi].
  std::optional<std::chrono::minutes> NextLocal(std::chrono::minutes lo,
                                                std::chrono::seconds hi) const;
  std::optional<std::chrono::minutes> PrevLocal(std::chrono::seconds lo,
                                                std::chrono::minutes hi) const;
  bool DayMatches(unsigned day_of_month, unsigned weekday) const;

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
