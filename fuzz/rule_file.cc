// Fuzzes the Prometheus rule-file reader (groups, rules, durations, labels, expressions): any
// text is read without crashing; a file that loads holds only well-formed groups and rules.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "alerting/rule_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto groups = platops::alerting::ParseRuleFile(text, "fuzz.yml");
  if (!groups.ok()) {
    if (groups.status().message().empty()) std::abort();
    return 0;
  }
  for (const auto& g : *groups) {
    if (g.name.empty() || g.limit < 0 || g.interval.count() < 0) std::abort();
    for (const auto& r : g.rules) {
      if (r.name.empty() || r.expr.empty()) std::abort();
      if (!r.alerting && (!r.annotations.empty() || r.for_duration.count() != 0)) std::abort();
    }
  }
  return 0;
}
