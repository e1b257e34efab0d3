#pragma once
// Core: the store and the domain services without any HTTP, as `platops serve` runs them and as
// the offline admin commands (`platops token create --data-dir`, `platops audit verify`) open a
// data directory directly. Thread-safety: the services inside are thread-safe.

#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alerting/am_config.h"
#include "alerting/am_config_kind.h"
#include "alerting/check_alerts.h"
#include "alerting/integration_keys.h"
#include "alerting/outbox.h"
#include "alerting/pagerduty_intake.h"
#include "alerting/route_kind.h"
#include "alerting/rule_group_kind.h"
#include "alerting/rule_manager.h"
#include "alerting/service.h"
#include "alerting/smtp.h"
#include "base/clock.h"
#include "base/deadline_loop.h"
#include "base/metrics_registry.h"
#include "base/secret_box.h"
#include "catalog/catalog.h"
#include "checks/checks.h"
#include "config/kind_registry.h"
#include "events/event_bus.h"
#include "events/event_log.h"
#include "identity/identity.h"
#include "metrics/db.h"
#include "promql/engine.h"
#include "scrape/scrape.h"
#include "probe/probe.h"
#include "server/config.h"
#include "store/store.h"

namespace platops::server {

// Every module's migrations, in layer order.
std::vector<store::Migration> AllMigrations();

class Core {
 public:
  // Opens (creating) DATA_DIR/platops.db, applies migrations, builds the services and registers
  // their kinds. `metrics` may be null.
  static Result<std::unique_ptr<Core>> Open(const std::string& data_dir,
                                            const ServerConfig::Store& options,
                                            MetricsRegistry* metrics, const Clock& clock,
                                            const ServerConfig::Checks& checks = {},
                                            const scrape::ScrapeOptions& scrape = {});
  ~Core();

  const Clock& clock() const { return clock_; }
  store::Store& store() { return *store_; }
  events::EventLog& log() { return log_; }
  events::EventBus& bus() { return *bus_; }
  identity::IdentityService& identity() { return *identity_; }
  catalog::CatalogService& catalog() { return *catalog_; }
  config::KindRegistry& kinds() { return kinds_; }
  checks::ChecksService& checks() { return *checks_; }
  scrape::ScrapeManager& scrape() { return *scrape_; }
  alerting::AlertingService& alerting() { return *alerting_; }

  // Opens the metrics store (DATA_DIR/metrics) and the PromQL engine over it. Serve only: the
  // store's WAL belongs to one process, so offline commands never open it.
  Status OpenMetrics(const ServerConfig::Metrics& options);
  // Null until OpenMetrics.
  metrics::Db* tsdb() { return tsdb_.get(); }
  promql::Engine* promql() { return promql_.get(); }

  // Loads the Alertmanager configuration and the rule files and starts evaluating the rules
  // (serve only, after OpenMetrics). A bad file is an error naming it and the problem;
  // unsupported parts are logged by name.
  Status OpenAlerting(const ServerConfig& config);
  // Puts the Alertmanager configuration in effect: the applied one (kind: AlertmanagerConfig),
  // else alerting.alertmanager_config's file, else one receiver "default" that sends nothing.
  Status ReloadAmConfig();
  // Null until OpenAlerting.
  alerting::RuleManager* rules() { return rules_.get(); }
  alerting::Outbox* outbox() { return outbox_.get(); }
  alerting::IntegrationKeys& integration_keys() { return *integration_keys_; }
  alerting::AlertHistory& alert_history() { return *alert_history_; }
  alerting::PagerDutyIntake& pagerduty() { return *pagerduty_; }

  // Starts the probe engine and the checks' scheduler (serve only; offline commands never probe).
  void StartChecks();
  void StopChecks();

  // Reads every *.yaml / *.yml file under `dir` (sorted by path) and applies them as one apply
  // with actor `actor`.
  Result<config::ApplyResult> ApplyDirectory(const std::string& dir, const std::string& actor);

 private:
  // Puts `text` (an Alertmanager configuration from `source`) in effect once all of it checks
  // out; a file's `*_file` fields and templates are read relative to it.
  // The Alertmanager configuration in effect: `applied` (an AlertmanagerConfig's JSON), else
  // alerting.alertmanager_config's file, else the default.
  struct AmSource {
    std::string text;
    std::string name;  // for messages: the file, "the applied AlertmanagerConfig", ...
    bool from_file = false;
  };
  static constexpr const char* kDefaultAmConfig =
      "route:\n  receiver: default\nreceivers:\n  - name: default\n";
  Result<AmSource> AmConfigSource(std::optional<std::string> applied) const;
  alerting::AmConfigOptions AmOptions(const std::string& source, bool from_file) const;
  // `route`: an applied kind: Route, which replaces the configuration's own when it fits.
  Status UseAmConfig(const std::string& text, const std::string& source, bool from_file,
                     std::optional<boost::json::object> route = std::nullopt);
  // The check_state of AlertmanagerConfig and Route: the routing tree as `tx` leaves it loads.
  Status CheckRouting(store::Tx& tx) const;
  explicit Core(const Clock& clock) : clock_(clock), log_(clock) {}

  const Clock& clock_;
  std::unique_ptr<store::Store> store_;
  events::EventLog log_;
  std::unique_ptr<events::EventBus> bus_;
  std::unique_ptr<identity::IdentityService> identity_;
  std::unique_ptr<catalog::CatalogService> catalog_;
  std::unique_ptr<probe::ProbeEngine> engine_;
  std::unique_ptr<checks::ChecksService> checks_;
  std::unique_ptr<scrape::ScrapeManager> scrape_;
  std::unique_ptr<SecretBox> secret_box_;
  std::unique_ptr<alerting::AlertmanagerConfigStore> am_configs_;
  std::unique_ptr<alerting::RouteStore> routes_;
  std::string am_path_;       // alerting.alertmanager_config
  std::string external_url_;  // alerting.external_url or http://<listen>
  std::unique_ptr<alerting::AlertHistory> alert_history_;  // before alerting_: outlives it
  std::unique_ptr<alerting::RuleGroupStore> rule_groups_;
  std::unique_ptr<alerting::AlertingService> alerting_;
  std::unique_ptr<alerting::IntegrationKeys> integration_keys_;
  std::unique_ptr<alerting::PagerDutyIntake> pagerduty_;
  std::unique_ptr<alerting::CheckAlerts> check_alerts_;
  bool checks_started_ = false;
  std::string data_dir_;
  MetricsRegistry* metrics_ = nullptr;
  std::unique_ptr<metrics::Db> tsdb_;
  std::unique_ptr<promql::Engine> promql_;
  std::unique_ptr<alerting::RuleManager> rules_;
  std::unique_ptr<alerting::Outbox> outbox_;
  std::unique_ptr<alerting::HttpDeliverer> http_deliverer_;
  std::unique_ptr<alerting::SmtpDeliverer> smtp_deliverer_;
  std::unique_ptr<alerting::RoutingDeliverer> deliverer_;
  std::unique_ptr<alerting::OutboxSender> sender_;
  config::KindRegistry kinds_;
  // Re-applies the Alertmanager configuration after an apply changed it (last member: stopped
  // first, before what it calls goes away).
  std::atomic<bool> am_changed_{false};
  DeadlineLoop am_reload_{clock_, [this](Timestamp now) {
                            if (!am_changed_.exchange(false)) return now + std::chrono::hours(24);
                            if (Status st = ReloadAmConfig(); !st.ok()) {
                              spdlog::error("alerting: {}", st.message());
                            }
                            return now + std::chrono::hours(24);
                          }};
};

// The build's version ("0.1.0").
const char* Version();

// Runs `platops serve` until SIGTERM or SIGINT; returns the process exit code.
int Serve(const ServerConfig& config);

}  // namespace platops::server
