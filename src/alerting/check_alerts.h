#pragma once
// Alerts from checks, with no rule written: a check whose HARD state is not OK fires
// `alertname="CheckFailed"` (labels service, check, kind, severity, plus the check's own labels);
// its recovery, deletion or disabling resolves it.
// Level-triggered like a Prometheus rule: every check is looked at on each pass and firing alerts
// are re-sent with an end a few passes ahead, so a restart or a lost post heals itself. A check
// that fails while suppressed by a hard dependency or inside a maintenance window raises
// nothing; if it still fails once the window ends or the dependency recovers, it fires then (as
// Icinga notifies a problem that outlives its downtime). An alert already firing when a window
// starts stays firing; the window mutes its notifications (AlertingService's maintenance check).

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "alerting/alert_store.h"
#include "base/clock.h"
#include "base/deadline_loop.h"
#include "checks/monitor.h"

namespace platops::events {
class EventBus;
}

namespace platops::alerting {

class AlertingService;

struct CheckAlertOptions {
  // How often firing alerts are re-sent; each is sent with an end 4 intervals ahead (Prometheus's
  // rule: an alert not re-sent resolves by itself after that).
  std::chrono::milliseconds resend_interval{std::chrono::seconds(60)};
  // Where platops is reached; alerts link to their check under it.
  std::string external_url;
};

// The pure part: which alerts to post for the checks' states at a time. Not thread-safe.
class CheckAlertSync {
 public:
  explicit CheckAlertSync(CheckAlertOptions options = {}) : options_(std::move(options)) {}

  // Firing alerts for each check whose hard state is not OK (new ones only when neither in
  // maintenance nor suppressed); resolved ones (end = now) for each check alerted before that is
  // OK again, gone, or whose labels changed (its new labels fire anew).
  std::vector<Alert> Sync(const std::vector<checks::Monitor::HardView>& states, Timestamp now);

  size_t firing() const { return alerted_.size(); }
  void set_external_url(std::string url) { options_.external_url = std::move(url); }

 private:
  CheckAlertOptions options_;
  std::map<std::string, Alert> alerted_;  // by check id: the alert last sent as firing
};

// Runs CheckAlertSync against a Monitor on its own thread: every resend_interval, and at once
// after a check event. Thread-safety: Start/Stop from one thread.
class CheckAlerts {
 public:
  CheckAlerts(checks::Monitor& monitor, AlertingService& alerting, const Clock& clock,
              CheckAlertOptions options = {});
  ~CheckAlerts();

  // Wakes the loop on `check.*` events (durable cursor "alerting.check_alerts").
  void Subscribe(events::EventBus& bus);
  // Before Start.
  void set_external_url(std::string url) { sync_.set_external_url(std::move(url)); }
  // One pass; returns when the next is due.
  Timestamp Tick(Timestamp now);
  void Start();
  void Stop();

 private:
  checks::Monitor& monitor_;
  AlertingService& alerting_;
  CheckAlertOptions options_;
  CheckAlertSync sync_;  // Loop thread only (or the Tick caller).
  DeadlineLoop loop_;
};

}  // namespace platops::alerting
