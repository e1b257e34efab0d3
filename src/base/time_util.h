#pragma once
// Time formats used on every wire and config surface: RFC 3339 timestamps (always UTC on output),
// Prometheus-style durations ("30s", "1h30m"), and IANA time-zone names.
// Thread-safety: pure functions.

#include <chrono>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"

namespace platops {

// "2026-11-27T04:32:25Z", or with milliseconds ("...25.120Z") when they are not zero.
std::string FormatRfc3339(Timestamp t);
// Accepts "Z" or "+hh:mm" offsets and up to nanosecond fractions (truncated to milliseconds).
Result<Timestamp> ParseRfc3339(std::string_view s);

// A timestamp the store wrote with FormatRfc3339; the epoch if it was altered beyond parsing.
Timestamp ParseStoredTimestamp(std::string_view s);

// Prometheus duration syntax: one or more <int><unit> with units y, w, d, h, m, s, ms in that
// order.
Result<std::chrono::milliseconds> ParseDuration(std::string_view s);
// The shortest Prometheus spelling: 90s -> "1m30s", 0 -> "0s".
std::string FormatDuration(std::chrono::milliseconds d);

// True when `name` is a known IANA zone ("Europe/Berlin", "UTC").
bool IsValidTimeZone(std::string_view name);

}  // namespace platops
