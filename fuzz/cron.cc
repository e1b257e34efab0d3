// Fuzzes cron parsing and evaluation: the first line of the input is the expression, the second
// (optional) the time zone, and a hash of the whole input picks a start time in 2000-2037.
// Whatever parses must step forward strictly, and Next and Prev must agree on the firing times.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using platops::Timestamp;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string_view expr = text.substr(0, text.find('\n'));
  std::string_view tz = "UTC";
  if (expr.size() < text.size()) {
    std::string_view rest = text.substr(expr.size() + 1);
    tz = rest.substr(0, rest.find('\n'));
  }
  auto cron = platops::CronSchedule::Parse(expr, tz);
  if (!cron.ok()) return 0;

  uint64_t hash = 1469598103934665603ULL;  // FNV-1a
  for (size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 1099511628211ULL;
  constexpr int64_t k2000 = 946684800000;           // 2000-01-01T00:00:00Z in ms
  constexpr int64_t kSpan = 38LL * 365 * 86400000;  // to 2037, the end of the zone data
  const Timestamp start(std::chrono::milliseconds(k2000 + static_cast<int64_t>(hash % kSpan)));

  const platops::CronSchedule& c = cron.value();
  Timestamp t = start;
  for (int i = 0; i < 8; ++i) {
    const Timestamp next = c.Next(t);
    if (next == Timestamp::max()) break;
    // Strictly after, on a whole local minute (offsets are whole seconds), and its own Prev.
    if (next <= t) std::abort();
    if (next.time_since_epoch() % std::chrono::seconds(1) != std::chrono::milliseconds(0))
      std::abort();
    if (c.Prev(next) != next) std::abort();
    if (c.Prev(next - std::chrono::milliseconds(1)) >= next) std::abort();
    t = next;
  }
  const Timestamp prev = c.Prev(start);
  if (prev != Timestamp::min()) {
    if (prev > start) std::abort();
    if (c.Next(prev) <= start) std::abort();  // nothing fires in (prev, start]
  }
  return 0;
}
