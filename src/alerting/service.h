#pragma once
// AlertingService: the alerts platops holds and what decides their fate — the alert store
// (Alertmanager's intake and merge rules), silences (persisted in the store), inhibition and the
// routing tree — answering what Alertmanager's API v2 reads and writes. The HTTP shapes live in
// api/; this class has no JSON. Thread-safe; time comes from the injected clock.
//
// Tables: `silences`, `notification_log` (module "alerting"). Events: none yet.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alerting/alert_history.h"
#include "alerting/alert_store.h"
#include "alerting/am_config.h"
#include "alerting/dispatch.h"
#include "alerting/flap.h"
#include "alerting/inhibit.h"
#include "alerting/notify_template.h"
#include "alerting/outbox.h"
#include "alerting/route.h"
#include "alerting/silence.h"
#include "alerting/time_interval.h"
#include "base/clock.h"
#include "base/deadline_loop.h"
#include "base/metrics_registry.h"
#include "base/secret_box.h"
#include "base/status.h"
#include "store/store.h"

namespace platops::alerting {

class Outbox;

struct AlertingOptions {
  // How long a posted alert without an end stays firing (Alertmanager's resolve_timeout).
  std::chrono::milliseconds resolve_timeout{std::chrono::minutes(5)};
  // How long an expired silence is kept (Alertmanager's --data.retention).
  std::chrono::milliseconds silence_retention = kDefaultSilenceRetention;
  // Most labels an alert may carry; more is refused (a flood of labels is a bug upstream).
  size_t max_labels_per_alert = 100;
  // Most alerts held; intake beyond it is refused with ResourceExhausted (429).
  size_t max_alerts = 200'000;
};

// An alert with what the API shows about its fate.
struct AlertView {
  std::shared_ptr<const Alert> held;  // the alert as held when listed; never null
  const Alert& alert() const { return *held; }
  std::vector<std::string> silenced_by;   // Silence ids.
  std::vector<std::string> inhibited_by;  // Fingerprints of inhibiting alerts.
  std::vector<std::string> receivers;     // Of the matching routes, in route order.
  bool suppressed() const { return !silenced_by.empty() || !inhibited_by.empty(); }
};

// GET /api/v2/alerts's filters.
struct AlertFilter {
  bool active = true;
  bool silenced = true;
  bool inhibited = true;
  std::vector<Matcher> matchers;
  std::optional<Matcher> receiver;  // Regex on receiver names, Alertmanager's `receiver`.
};

// One aggregation group as GET /api/v2/alerts/groups shows it.
struct AlertGroupView {
  LabelSet labels;
  std::string receiver;
  std::vector<AlertView> alerts;
};

// A silence with what the API shows beside it.
struct SilenceView {
  Silence silence;
  std::string recurrence_json;
  size_t matched_alerts = 0;
};

// The end of a flush's idempotency keys: what the notification says (its firing and resolved
// alerts) and when the group was last notified. A flush decided again because storing it failed
// gets the same keys, so the integrations stored the first time are not notified twice; a
// changed group, or a repeat after a delivery, gets new ones.
std::string NotificationKeySeed(const Notification& n,
                                const std::optional<NotificationLogEntry>& last);

class AlertingService {
 public:
  static std::vector<store::Migration> Migrations();

  AlertingService(store::Store& store, const Clock& clock, AlertingOptions options = {});
  ~AlertingService();

  // Reads the persisted silences.
  Status Load();

  // The routing tree, the receiver names and the inhibition rules in effect. Until set, one
  // root route to a receiver named "default".
  void SetRouting(std::unique_ptr<Route> root, std::vector<std::string> receivers,
                  std::vector<InhibitRule> inhibit_rules);
  std::vector<std::string> Receivers() const;

  // Alertmanager's POST /alerts: each alert is normalized and validated; the valid ones are
  // stored even when others are refused. Returns the refusals, joined as Alertmanager joins them
  // ("; "), as InvalidArgument; ResourceExhausted when the store is full.
  // `source` labels the intake counters ("api", "rule").
  Status PostAlerts(std::vector<Alert> alerts, std::string_view source = "api");
  std::vector<AlertView> ListAlerts(const AlertFilter& filter) const;
  std::vector<AlertGroupView> ListAlertGroups(const AlertFilter& filter) const;

  // Silences (see SilenceSet for the rules). The change is stored before it is visible.
  Result<std::string> SetSilence(Silence silence, std::string recurrence_json);
  Status ExpireSilence(const std::string& id);
  Result<SilenceView> GetSilence(const std::string& id) const;
  std::vector<SilenceView> ListSilences(const std::vector<Matcher>& filter) const;

  // Drops resolved alerts and silences expired beyond the retention.
  void GC();

  // Notifications. `receivers` are the integrations of each receiver and `time_intervals` the
  // named intervals routes mute or activate by; `outbox` (must outlive the service) stores every
  // notification before it is sent. Without an outbox nothing is dispatched.
  void SetIntegrations(std::vector<Receiver> receivers, std::vector<NamedTimeInterval> intervals,
                       std::string external_url);
  void AttachOutbox(Outbox* outbox);
  // Slack and email: the Alertmanager templates their fields are rendered with (the built-in
  // definitions until set) and the key their secrets are sealed with in the outbox (must outlive
  // the service). Without a key, Slack and email integrations send nothing and say so.
  void SetNotificationTemplates(std::shared_ptr<const NotificationTemplates> templates);
  void SetSecretBox(const SecretBox* box);
  // The maintenance windows active at a time for an alert's `service` label and labels (the
  // checks module's windows); an alert with a non-empty answer is not notified. Called with the
  // service's lock held: it must not call back into the service.
  using MaintenanceLookup = std::function<std::vector<std::string>(
      const std::string& service, const LabelSet& labels, Timestamp now)>;
  void SetMaintenanceLookup(MaintenanceLookup lookup);

  // Alert history and flap damping. Every firing/resolved transition is recorded in `history`
  // (which must outlive the service; written by the dispatcher thread, at most a second late)
  // and kept for `retention`. An alert that changes more often than `flap` allows is flapping:
  // its resolves are held back from notifications until it settles, and its notifications carry
  // the annotation flapping="true". Reads the alerts last seen firing, so that a restart records
  // no second firing for an alert sent again. Call once, after Load and before alerts arrive.
  Status AttachHistory(AlertHistory* history, FlapOptions flap = {},
                       std::chrono::milliseconds retention = AlertHistory::kDefaultRetention);
  // Writes the transitions not yet recorded (the dispatcher does this on each pass).
  Status FlushHistory();
  // Whether the alert is flapping now.
  bool Flapping(uint64_t fingerprint) const;
  // Flushes every aggregation group due at `now` into the outbox; returns when the next one is
  // due (`now` + 1 min when none). Start() runs this on a thread.
  Timestamp Dispatch(Timestamp now);
  void Start();
  void Stop();
  size_t group_count() const;

  // platops_alerts_received_total{source,status}, platops_alerts_invalid_total{source},
  // platops_alerts{state}, platops_alert_groups, platops_silences{state}. `registry` must
  // outlive the service.
  void RegisterMetrics(MetricsRegistry& registry);

  size_t alert_count() const { return alerts_.size(); }
  Timestamp Now() const { return clock_.Now(); }

  // Alertmanager's global.resolve_timeout.
  void SetResolveTimeout(std::chrono::milliseconds timeout);

  // The configuration in effect as Alertmanager's status shows it (secrets masked).
  void SetConfigText(std::string text);
  std::string ConfigText() const;

 private:
  // `matched`, when given, receives the routes the alert matches. REQUIRES: mu_ held.
  AlertView View(std::shared_ptr<const Alert> alert, Timestamp now,
                 std::vector<const Route*>* matched = nullptr) const;
  // Adds stored alerts to their aggregation groups. REQUIRES: mu_ held.
  void Group(const std::vector<Alert>& alerts, Timestamp now);
  bool Muted(const GroupAlert& a, const std::vector<std::string>& mute,
             const std::vector<std::string>& active, Timestamp now) const;  // REQUIRES: mu_.
  Timestamp Tick(Timestamp now);  // Dispatch, and GC every 30 minutes.
  // What rendering a flush needs, taken under mu_ so that the rendering runs without it.
  struct NotifyContext {
    std::string external_url;
    std::shared_ptr<const NotificationTemplates> templates;
    const SecretBox* secret_box = nullptr;
    std::set<uint64_t> flapping;  // fingerprints flapping at the flush
  };
  // The notifications of one flush of a group to `receiver`'s integrations. Called without mu_
  // (reads the alert store, which has its own locks).
  // `key_seed` (NotificationKeySeed) ends each notification's idempotency key.
  void BuildNotifications(const Receiver& receiver, const Notification& n,
                          const std::string& receiver_name, Timestamp now,
                          std::string_view key_seed, const NotifyContext& ctx,
                          std::vector<OutgoingNotification>& out) const;
  // Records the transitions of `alerts` (just stored) and returns the copies to group: a
  // resolve of a flapping alert is held firing until it settles. REQUIRES: mu_ held.
  std::vector<Alert> Observe(std::vector<Alert> alerts, std::string_view source, Timestamp now);
  // Alerts that resolved by time-out since the last pass. REQUIRES: mu_ held.
  void SweepHistory(Timestamp now);
  Status Persist(const SilenceSet& next, const std::vector<std::string>& ids);
  Status PersistLogs(
      const std::vector<std::pair<std::pair<std::string, std::string>, NotificationLogEntry>>&
          entries);

  store::Store& store_;
  const Clock& clock_;
  AlertingOptions options_;  // resolve_timeout GUARDED_BY(mu_)
  AlertStore alerts_;

  mutable std::mutex mu_;
  SilenceSet silences_;                                   // GUARDED_BY(mu_)
  std::map<std::string, std::string> recurrence_json_;    // GUARDED_BY(mu_) by silence id
  std::unique_ptr<Route> route_;                          // GUARDED_BY(mu_)
  std::vector<std::string> receivers_;                    // GUARDED_BY(mu_)
  Inhibitor inhibitor_;                                   // GUARDED_BY(mu_)
  std::string config_text_;                               // GUARDED_BY(mu_)

  struct GroupState {
    std::unique_ptr<AggregationGroup> group;
    std::string receiver;
    std::vector<std::string> mute_intervals;
    std::vector<std::string> active_intervals;
  };
  // By (group key, receiver). Rebuilt when the routing changes.
  std::map<std::pair<std::string, std::string>, GroupState> groups_;  // GUARDED_BY(mu_)
  std::map<std::string, Receiver> integrations_;                     // GUARDED_BY(mu_)
  // The last notification of each (group key, receiver), as stored: a group created anew
  // (after a restart or a reload) starts from it, so nothing is notified twice.
  std::map<std::pair<std::string, std::string>, NotificationLogEntry> logs_;  // GUARDED_BY(mu_)
  std::map<std::string, std::vector<TimeInterval>> intervals_;       // GUARDED_BY(mu_)
  std::string external_url_;                                         // GUARDED_BY(mu_)
  Outbox* outbox_ = nullptr;                                   // GUARDED_BY(mu_)
  MaintenanceLookup maintenance_;                              // GUARDED_BY(mu_)
  std::shared_ptr<const NotificationTemplates> templates_;     // GUARDED_BY(mu_)
  const SecretBox* secret_box_ = nullptr;                      // GUARDED_BY(mu_)
  AlertHistory* history_ = nullptr;                            // set once before use
  std::chrono::milliseconds history_retention_{AlertHistory::kDefaultRetention};
  TransitionTracker tracker_;                                  // GUARDED_BY(mu_)
  FlapDetector flap_;                                          // GUARDED_BY(mu_)
  std::vector<AlertTransition> pending_history_;               // GUARDED_BY(mu_)
  Timestamp last_flap_expire_{};                               // GUARDED_BY(mu_)
  std::mutex history_write_mu_;  // one history write at a time, in order

  Timestamp last_gc_{};  // Dispatcher thread only.
  CounterFamily* received_ = nullptr;  // Set once before use.
  CounterFamily* invalid_ = nullptr;
  DeadlineLoop loop_{clock_, [this](Timestamp now) { return Tick(now); }};};

}  // namespace platops::alerting
