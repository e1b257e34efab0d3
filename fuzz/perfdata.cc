// Fuzzes the Nagios perfdata parser: every item it accepts must format back to text that parses to
// the same item, with nothing malformed.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "probe/probe.h"

namespace {

// Scientific notation always ends the number with its exponent, so no unit can extend it.
std::string Number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  if (ec != std::errc()) std::abort();
  return std::string(buf, end);
}

std::string Threshold(const std::optional<double>& v) { return v ? Number(*v) : std::string(); }

bool Same(const std::optional<double>& a, const std::optional<double>& b) {
  return a.has_value() == b.has_value() && (!a || *a == *b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto [items, malformed] = platops::probe::ParsePerfData(text);
  if (malformed < 0 || items.size() + static_cast<size_t>(malformed) > size) std::abort();
  std::string again;
  for (const auto& d : items) {
    if (d.label.empty() || !std::isfinite(d.value)) std::abort();
    again += '\'';
    for (char c : d.label) again += c == '\'' ? std::string("''") : std::string(1, c);
    again += "'=" + Number(d.value) + d.unit + ";" + Threshold(d.warn) + ";" + Threshold(d.crit) +
             ";" + Threshold(d.min) + ";" + Threshold(d.max) + " ";
  }
  auto [parsed, malformed_again] = platops::probe::ParsePerfData(again);
  if (malformed_again != 0 || parsed.size() != items.size()) std::abort();
  for (size_t i = 0; i < items.size(); ++i) {
    const auto &a = items[i], &b = parsed[i];
    if (a.label != b.label || a.value != b.value || a.unit != b.unit || !Same(a.warn, b.warn) ||
        !Same(a.crit, b.crit) || !Same(a.min, b.min) || !Same(a.max, b.max)) {
      std::abort();
    }
  }
  return 0;
}
