#include "alerting/check_alerts.h"

#include <spdlog/spdlog.h>

#include "alerting/service.h"
#include "events/event_bus.h"
#include "probe/probe.h"

namespace platops::alerting {

namespace {

Alert CheckAlert(const checks::Monitor::HardView& v, const CheckAlertOptions& options,
                 Timestamp now) {
  Alert a;
  const std::string id = v.def.id();
  // The check's own labels first, so that the five below always win; they also let a
  // maintenance window's check_labels match the alert.
  for (const auto& [k, val] : v.def.labels) a.labels.Set(k, val);
  a.labels.Set("alertname", "CheckFailed");
  a.labels.Set("service", v.def.service);
  a.labels.Set("check", id);
  a.labels.Set("kind", std::string(checks::CheckTypeName(v.def.type)));
  a.labels.Set("severity", std::string(checks::SeverityName(v.def.severity)));
  const std::string state(probe::OutcomeName(v.hard_state));
  a.annotations.Set("summary", "Check " + id + " is " + state);
  if (!v.message.empty()) a.annotations.Set("description", v.message);
  a.annotations.Set("state", state);
  a.starts_at = v.hard_since;
  a.ends_at = now + 4 * options.resend_interval;
  if (!options.external_url.empty()) {
    a.generator_url = options.external_url + "/api/v1/checks/" + id;
  }
  return a;
}

}  // namespace

std::vector<Alert> CheckAlertSync::Sync(const std::vector<checks::Monitor::HardView>& states,
                                        Timestamp now) {
  std::vector<Alert> out;
  std::map<std::string, Alert> next;
  for (const auto& v : states) {
    // A disabled check keeps its last state but is not watched: it raises nothing.
    if (v.pending || !v.def.enabled || v.hard_state == probe::Outcome::kOk) continue;
    const std::string id = v.def.id();
    auto before = alerted_.find(id);
    Alert a = CheckAlert(v, options_, now);
    const bool firing_already = before != alerted_.end() && before->second.labels == a.labels;
    if (!firing_already && (v.in_maintenance || !v.suppressed_by.empty())) continue;
    out.push_back(a);
    next.emplace(id, std::move(a));
  }
  for (auto& [id, a] : alerted_) {
    auto now_firing = next.find(id);
    if (now_firing != next.end() && now_firing->second.labels == a.labels) continue;
    a.ends_at = now;
    out.push_back(std::move(a));
  }
  alerted_ = std::move(next);
  return out;
}

CheckAlerts::CheckAlerts(checks::Monitor& monitor, AlertingService& alerting, const Clock& clock,
                         CheckAlertOptions options)
    : monitor_(monitor),
      alerting_(alerting),
      options_(options),
      sync_(options),
      loop_(clock, [this](Timestamp now) { return Tick(now); }) {}

CheckAlerts::~CheckAlerts() { Stop(); }

void CheckAlerts::Subscribe(events::EventBus& bus) {
  bus.Subscribe("alerting.check_alerts", "check.", [this](store::Tx&, const events::Event&) {
    loop_.Wake();
    return Status::Ok();
  });
}

Timestamp CheckAlerts::Tick(Timestamp now) {
  auto alerts = sync_.Sync(monitor_.HardStates(), now);
  if (!alerts.empty()) {
    Status s = alerting_.PostAlerts(std::move(alerts), "check");
    if (!s.ok()) spdlog::warn("check alerts: {}", s.message());
  }
  return now + options_.resend_interval;
}

void CheckAlerts::Start() { loop_.Start(); }
void CheckAlerts::Stop() { loop_.Stop(); }

}  // namespace platops::alerting
