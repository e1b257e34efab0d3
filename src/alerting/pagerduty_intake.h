#pragma once
// PagerDuty Events API v2 intake (POST /integrations/pagerduty/v2/enqueue): an event's routing
// key names an integration key and so a service; a trigger raises an alert, a resolve resolves
// it, by `dedup_key` as PagerDuty does (a trigger for an open key is deduplicated into it; a
// resolve or acknowledge for an unknown key is accepted and changes nothing). Unlike a
// Prometheus alert, such an alert stays open until it is resolved: nothing re-sends it. So the
// open ones are stored (table `pagerduty_open`, module "alerting_pagerduty") before the event is
// answered, and posted again after a restart. Thread-safe.
//
// The alert: labels alertname="PagerDutyEvent", service (the key's), integration (the key's
// name), dedup_key, severity, and source/component/group/class when given; annotations summary,
// custom_details (JSON), links and images (JSON), client, client_url, and `acknowledged` once an
// acknowledge arrived; generatorURL the client_url.

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "alerting/alert_store.h"
#include "alerting/integration_keys.h"
#include "base/clock.h"
#include "base/deadline_loop.h"
#include "base/status.h"
#include "store/store.h"

namespace platops::alerting {

class AlertingService;

class PagerDutyIntake {
 public:
  static std::vector<store::Migration> Migrations();

  PagerDutyIntake(store::Store& store, IntegrationKeys& keys, AlertingService& alerting,
                  const Clock& clock);
  ~PagerDutyIntake();

  // Posts the stored open alerts again (after a restart). Call once before serving.
  Status Load();

  // One request body; the HTTP status and body to answer with (PagerDuty's shapes: 202 with the
  // dedup_key, 400 for an invalid event or an unknown routing key, 500 when the store fails).
  std::pair<int, std::string> Handle(std::string_view body);

  // Resolves the open alerts whose integration key was revoked (deleted, or its service was) and
  // forgets them. Load does it; call it after a key is deleted.
  Status ResolveRevoked();
  // ResolveRevoked on the intake's own thread, at once after WakeRevoke() and hourly; for
  // callers that must not write to the store themselves (event handlers). Start after Load.
  void Start();
  void Stop();
  void WakeRevoke() { revoke_loop_.Wake(); }

  size_t open_count() const;

 private:
  store::Store& store_;
  IntegrationKeys& keys_;
  AlertingService& alerting_;
  const Clock& clock_;
  mutable std::mutex mu_;  // serialises events (an event's store write and post are one step)
  std::map<std::pair<std::string, std::string>, Alert> open_;  // GUARDED_BY(mu_) (key id, dedup)
  DeadlineLoop revoke_loop_{clock_, [this](Timestamp now) {
                              (void)ResolveRevoked();
                              return now + std::chrono::hours(1);
                            }};
};

}  // namespace platops::alerting
