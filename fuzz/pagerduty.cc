// Fuzzes the PagerDuty Events API v2 intake: any body is read without crashing; an accepted
// event is complete for its action and its answer is well-formed.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "alerting/pagerduty.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using platops::alerting::PdAction;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = platops::alerting::ParsePagerDutyEvent(body);
  if (!r.event) {
    if (r.errors.empty()) std::abort();
    (void)platops::alerting::PdInvalidJson(r.errors);
    return 0;
  }
  const auto& e = *r.event;
  if (e.routing_key.size() != 32) std::abort();
  if (e.action == PdAction::kTrigger && (e.summary.empty() || e.source.empty())) std::abort();
  if (e.action != PdAction::kTrigger && e.dedup_key.empty()) std::abort();
  if (e.summary.size() > 4 * 1024) std::abort();
  (void)platops::alerting::PdAcceptedJson(e.dedup_key);
  return 0;
}
