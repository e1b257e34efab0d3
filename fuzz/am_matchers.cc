// Fuzzes Alertmanager's matcher syntax ({a="b", c=~"d"}, as routes, silences, inhibition rules
// and amtool write it). A parsed matcher list must print to a string that parses back to the
// same list, and matching must not fail on any label set.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "alerting/matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = platops::alerting::ParseMatchers(text);
  if (!parsed.ok()) return 0;
  const std::string printed = platops::alerting::MatchersString(*parsed);
  auto again = platops::alerting::ParseMatchers(printed);
  if (!again.ok() || *again != *parsed) std::abort();
  const platops::alerting::LabelSet labels{{"alertname", "Down"}, {"job", "node"}};
  (void)platops::alerting::MatchesAll(*parsed, labels);
  (void)platops::alerting::MatchesAll(*parsed, {});
  return 0;
}
