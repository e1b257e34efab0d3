// Fuzzes the Alertmanager API v2 alert intake: the JSON body reader, then the store's
// normalisation, validation and merge. Whatever is accepted must keep the store's contracts:
// a start and an end, the end not before the start, the fingerprint of the labels.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "alerting/alert_store.h"
#include "api/alertmanager_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using platops::Timestamp;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = platops::api::ParsePostableAlerts(body);
  if (parsed.error) {
    if (!parsed.alerts.empty() && parsed.error->http_status == 422) std::abort();
    return 0;
  }
  const Timestamp now{std::chrono::milliseconds(1'767'225'600'000)};
  platops::alerting::AlertStore store;
  std::vector<platops::alerting::Alert> valid;
  for (auto& a : parsed.alerts) {
    platops::alerting::Normalize(a, now, std::chrono::minutes(5));
    if (!platops::alerting::Validate(a).ok()) continue;
    valid.push_back(a);
  }
  // Twice: the second put merges every alert into itself.
  store.Put(valid, now);
  for (const auto& a : store.Put(valid, now + std::chrono::seconds(1))) {
    if (!a.starts_at || !a.ends_at || *a.ends_at < *a.starts_at) std::abort();
    if (a.fingerprint != platops::alerting::Fingerprint(a.labels)) std::abort();
    std::string out;
    platops::api::AppendGettableAlert(out, a, {});
    if (out.empty() || out.front() != '{' || out.back() != '}') std::abort();
  }
  return 0;
}
