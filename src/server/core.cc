#include "server/core.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "alerting/am_config.h"
#include "alerting/am_config_kind.h"
#include "alerting/email.h"
#include "alerting/notify_template.h"
#include "alerting/rule_group_kind.h"
#include "alerting/rule_templates.h"
#include "alerting/smtp.h"
#include "catalog/kinds.h"
#include "ingest/prom_config.h"
#include "config/yaml_json.h"
#include "identity/kinds.h"
#include "store/sqlite_store.h"

namespace platops::server {

namespace fs = std::filesystem;

std::vector<store::Migration> AllMigrations() {
  std::vector<store::Migration> all;
  for (auto& m : events::EventLog::Migrations()) all.push_back(m);
  for (auto& m : identity::IdentityService::Migrations()) all.push_back(m);
  for (auto& m : catalog::CatalogService::Migrations()) all.push_back(m);
  for (auto& m : checks::ChecksService::Migrations()) all.push_back(m);
  for (auto& m : scrape::ScrapeManager::Migrations()) all.push_back(m);
  for (auto& m : alerting::AlertingService::Migrations()) all.push_back(m);
  for (auto& m : alerting::Outbox::Migrations()) all.push_back(m);
  for (auto& m : alerting::IntegrationKeys::Migrations()) all.push_back(m);
  for (auto& m : alerting::AlertHistory::Migrations()) all.push_back(m);
  for (auto& m : alerting::RuleGroupStore::Migrations()) all.push_back(m);
  for (auto& m : alerting::AlertmanagerConfigStore::Migrations()) all.push_back(m);
  for (auto& m : alerting::RouteStore::Migrations()) all.push_back(m);
  for (auto& m : alerting::PagerDutyIntake::Migrations()) all.push_back(m);
  return all;
}

Result<std::unique_ptr<Core>> Core::Open(const std::string& data_dir,
                                         const ServerConfig::Store& options,
                                         MetricsRegistry* metrics, const Clock& clock,
                                         const ServerConfig::Checks& checks,
                                         const scrape::ScrapeOptions& scrape) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return Unavailable("cannot create data dir " + data_dir + ": " + ec.message());
  std::unique_ptr<Core> core(new Core(clock));
  core->data_dir_ = data_dir;
  core->metrics_ = metrics;
  store::SqliteOptions so;
  so.path = (fs::path(data_dir) / "platops.db").string();
  so.readers = options.readers;
  so.busy_timeout = options.busy_timeout;
  so.sync_full = options.sync_full;
  so.metrics = metrics;
  PLATOPS_ASSIGN_OR_RETURN(core->store_, store::OpenSqliteStore(so));
  PLATOPS_RETURN_IF_ERROR(core->store_->Migrate(AllMigrations()));
  core->bus_ = std::make_unique<events::EventBus>(*core->store_, core->log_);
  core->log_.SetCommitListener([bus = core->bus_.get()] { bus->Notify(); });
  core->identity_ = std::make_unique<identity::IdentityService>(*core->store_, core->log_, clock);
  core->catalog_ =
      std::make_unique<catalog::CatalogService>(*core->store_, core->log_, clock, *core->identity_);
  probe::EngineOptions eo;
  eo.curl_threads = checks.probe_threads;
  eo.max_exec_in_flight = checks.max_exec;
  core->engine_ = probe::ProbeEngine::Create(eo, clock);
  checks::MonitorOptions mo;
  mo.max_concurrent = checks.max_concurrent;
  mo.results_retention = checks.results_retention;
  mo.rollup_retention = checks.rollup_retention;
  core->checks_ = std::make_unique<checks::ChecksService>(
      *core->store_, core->log_, clock, *core->catalog_, *core->engine_, mo, metrics);
  identity::RegisterKinds(core->kinds_, *core->identity_);
  catalog::RegisterKinds(core->kinds_, *core->catalog_);
  checks::RegisterKinds(core->kinds_, *core->checks_);
  PLATOPS_RETURN_IF_ERROR(core->checks_->Load(*core->bus_));
  core->scrape_ = std::make_unique<scrape::ScrapeManager>(*core->store_, core->log_, clock,
                                                          *core->catalog_, scrape, metrics);
  scrape::RegisterKinds(core->kinds_, *core->scrape_);
  PLATOPS_RETURN_IF_ERROR(core->scrape_->Load(*core->bus_));
  core->alerting_ = std::make_unique<alerting::AlertingService>(*core->store_, clock);
  PLATOPS_RETURN_IF_ERROR(core->alerting_->Load());
  core->alert_history_ = std::make_unique<alerting::AlertHistory>(*core->store_);
  // Receiver secrets (in the outbox and in an applied Alertmanager configuration) are sealed
  // with this key.
  PLATOPS_ASSIGN_OR_RETURN(auto box, SecretBox::LoadOrCreate(data_dir + "/secret.key"));
  core->secret_box_ = std::make_unique<SecretBox>(std::move(box));
  core->am_configs_ = std::make_unique<alerting::AlertmanagerConfigStore>(
      *core->store_, core->log_, clock, *core->secret_box_);
  PLATOPS_RETURN_IF_ERROR(core->am_configs_->Load());
  alerting::RegisterAlertmanagerConfigKind(core->kinds_, *core->am_configs_);
  core->routes_ = std::make_unique<alerting::RouteStore>(*core->store_, core->log_, clock);
  PLATOPS_RETURN_IF_ERROR(core->routes_->Load());
  alerting::RegisterRouteKind(core->kinds_, *core->routes_);
  // An apply that changes either must leave a routing tree whose receivers exist.
  core->am_configs_->SetCheck([c = core.get()](store::Tx& tx) { return c->CheckRouting(tx); });
  core->routes_->SetCheck([c = core.get()](store::Tx& tx) { return c->CheckRouting(tx); });
  core->rule_groups_ =
      std::make_unique<alerting::RuleGroupStore>(*core->store_, core->log_, clock);
  PLATOPS_RETURN_IF_ERROR(core->rule_groups_->Load());
  alerting::RegisterRuleGroupKind(core->kinds_, *core->rule_groups_);
  core->integration_keys_ =
      std::make_unique<alerting::IntegrationKeys>(*core->store_, core->log_, clock);
  PLATOPS_RETURN_IF_ERROR(core->integration_keys_->Load());
  core->bus_->Subscribe(
      "alerting.integration_keys", "service.deleted",
      [core = core.get()](store::Tx& tx, const events::Event& ev) -> Status {
        PLATOPS_ASSIGN_OR_RETURN(auto current, core->catalog_->FindService(tx, ev.subject_id));
        if (current) return Status::Ok();  // Created again since.
        PLATOPS_RETURN_IF_ERROR(core->integration_keys_->DeleteForService(tx, ev.subject_id));
        // The keys' open PagerDuty alerts are resolved once the deletion is committed (from
        // another thread: this one holds the store's write transaction).
        tx.AfterCommit([core] { core->pagerduty_->WakeRevoke(); });
        return Status::Ok();
      });
  core->pagerduty_ = std::make_unique<alerting::PagerDutyIntake>(
      *core->store_, *core->integration_keys_, *core->alerting_, clock);
  core->check_alerts_ = std::make_unique<alerting::CheckAlerts>(core->checks_->monitor(),
                                                                *core->alerting_, clock);
  core->check_alerts_->Subscribe(*core->bus_);
  // Alerts in a maintenance window of their service are not notified.
  core->alerting_->SetMaintenanceLookup(
      [monitor = &core->checks_->monitor()](const std::string& service,
                                            const alerting::LabelSet& labels, Timestamp t) {
        std::map<std::string, std::string> m;
        for (const auto& l : labels) m.emplace(l.name, l.value);
        return monitor->WindowsCovering(service, m, t);
      });
  return core;
}

void Core::StartChecks() {
  if (checks_started_) return;
  checks_started_ = true;
  engine_->Start();
  checks_->Start();
}

void Core::StopChecks() {
  if (!checks_started_) return;
  checks_started_ = false;
  checks_->Stop();
  engine_->Stop();
}

Status Core::OpenMetrics(const ServerConfig::Metrics& options) {
  if (tsdb_) return Status::Ok();
  metrics::DbOptions db;
  db.retention = options.retention;
  db.retention_bytes = static_cast<uint64_t>(options.retention_size);
  db.wal_sync = options.wal_sync;
  db.snapshot_interval = options.snapshot_interval;
  db.head.max_series = static_cast<size_t>(options.max_series);
  PLATOPS_ASSIGN_OR_RETURN(tsdb_, metrics::Db::Open(data_dir_ + "/metrics", db));
  promql::EngineOptions eo;
  eo.lookback_delta = options.lookback_delta;
  eo.max_samples = options.query_max_samples;
  eo.timeout = options.query_timeout;
  eo.max_concurrent = options.query_max_concurrent;
  promql_ = std::make_unique<promql::Engine>(eo, *tsdb_, clock_);
  if (metrics_ != nullptr) tsdb_->RegisterMetrics(*metrics_);
  scrape_->AttachStorage(*tsdb_);
  tsdb_->StartBackground();
  return Status::Ok();
}

Core::~Core() {
  if (rules_) rules_->Stop();
  if (rule_groups_) rule_groups_->OnChange({});
  if (am_configs_) am_configs_->OnChange({});
  if (routes_) routes_->OnChange({});
  am_reload_.Stop();
  rules_.reset();
  if (check_alerts_) check_alerts_->Stop();
  if (pagerduty_) pagerduty_->Stop();
  if (alerting_) alerting_->Stop();
  if (sender_) sender_->Stop();
  sender_.reset();
  if (scrape_) scrape_->Stop();
  promql_.reset();
  if (tsdb_) (void)tsdb_->Close();
  StopChecks();
  if (bus_) bus_->Stop();
  if (store_) store_->Close();
}

namespace {

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every file a comma-separated list of globs matches, sorted.
std::vector<std::string> GlobList(const std::string& list) {
  ingest::PromConfig pc;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) pc.rule_files.push_back(item);
    start = comma + 1;
  }
  return ingest::RuleFilePaths(pc);
}

// The Go-style escaping of a PromQL expression in a graph link's query string.
std::string QueryEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

alerting::AmConfigOptions Core::AmOptions(const std::string& source, bool from_file) const {
  alerting::AmConfigOptions options;
  if (from_file) {
    options.directory = fs::path(source).parent_path().string();
    options.read_file = ReadWholeFile;
  }
  return options;
}

Result<Core::AmSource> Core::AmConfigSource(std::optional<std::string> applied) const {
  if (applied) return AmSource{std::move(*applied), "the applied AlertmanagerConfig", false};
  if (!am_path_.empty()) {
    PLATOPS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(am_path_));
    return AmSource{std::move(text), am_path_, true};
  }
  return AmSource{kDefaultAmConfig, "the default configuration", false};
}

Status Core::CheckRouting(store::Tx& tx) const {
  PLATOPS_ASSIGN_OR_RETURN(auto route, alerting::RouteStore::In(tx));
  if (!route) return Status::Ok();  // the configuration's own route was checked with it
  PLATOPS_ASSIGN_OR_RETURN(auto applied, am_configs_->In(tx));
  PLATOPS_ASSIGN_OR_RETURN(AmSource source, AmConfigSource(std::move(applied)));
  alerting::AmConfigOptions options = AmOptions(source.name, source.from_file);
  options.route = std::move(route);
  auto am = alerting::ParseAlertmanagerConfig(source.text, options);
  if (am.ok()) return Status::Ok();
  std::string field = am.status().field();
  if (field.starts_with("route.")) field = field.substr(6);
  if (field == "route") field.clear();
  return InvalidArgument("the Route does not fit " + source.name + ": " +
                             (field.empty() ? "" : field + ": ") + am.status().message(),
                         field);
}

Status Core::UseAmConfig(const std::string& text, const std::string& source, bool from_file,
                         std::optional<boost::json::object> route) {
  alerting::AmConfigOptions options = AmOptions(source, from_file);
  Result<alerting::AmConfig> am = Internal("not parsed");
  if (route) {
    // The applied Route replaces the configuration's route, unless it no longer fits (a file
    // edited since): then the file's own route is used, and the start log says why.
    alerting::AmConfigOptions with_route = options;
    with_route.route = std::move(route);
    am = alerting::ParseAlertmanagerConfig(text, with_route);
    if (am.ok()) {
      spdlog::info("alerting: the applied Route is the routing tree of {}", source);
    } else {
      spdlog::error("alerting: the applied Route does not fit {} ({}{}{}); its own route is used "
                    "until the Route is applied again or deleted",
                    source, am.status().field(), am.status().field().empty() ? "" : ": ",
                    am.status().message());
    }
  }
  if (!am.ok()) am = alerting::ParseAlertmanagerConfig(text, options);
  if (!am.ok()) {
    const std::string field = am.status().field();
    return InvalidArgument(source + ": " + (field.empty() ? "" : field + ": ") +
                           am.status().message());
  }
  // Everything is checked before anything changes.
  for (size_t r = 0; r < am->receivers.size(); ++r) {
    for (size_t i = 0; i < am->receivers[r].email_configs.size(); ++i) {
      Status valid = alerting::ValidateEmailConfig(am->receivers[r].email_configs[i]);
      if (!valid.ok()) {
        return InvalidArgument(fmt::format("{}: receivers[{}].email_configs[{}]{}{}: {}", source,
                                           r, i, valid.field().empty() ? "" : ".", valid.field(),
                                           valid.message()));
      }
    }
  }
  std::vector<alerting::NotificationTemplates::File> template_files;
  for (const auto& glob : am->templates) {
    for (const auto& path : GlobList(glob)) {
      PLATOPS_ASSIGN_OR_RETURN(std::string body, ReadWholeFile(path));
      template_files.push_back({path, std::move(body)});
    }
  }
  auto templates = alerting::NotificationTemplates::Load(template_files);
  if (!templates.ok()) {
    return InvalidArgument(source + ": templates: " + std::string(templates.status().message()));
  }
  for (const auto& u : am->unsupported) {
    spdlog::warn("alerting: {}: {}: {}", source, u.path, u.message);
  }
  std::vector<std::string> receivers;
  for (const auto& r : am->receivers) receivers.push_back(r.name);
  alerting_->SetResolveTimeout(am->global.resolve_timeout);
  alerting_->SetConfigText(alerting::ToRedactedJson(*am));
  alerting_->SetRouting(std::move(am->route), std::move(receivers), std::move(am->inhibit_rules));
  alerting_->SetNotificationTemplates(
      std::make_shared<const alerting::NotificationTemplates>(std::move(*templates)));
  alerting_->SetIntegrations(std::move(am->receivers), std::move(am->time_intervals),
                             external_url_);
  return Status::Ok();
}

Status Core::ReloadAmConfig() {
  auto applied = am_configs_->Current();
  if (applied && !am_path_.empty()) {
    spdlog::info("alerting: the applied AlertmanagerConfig is in effect; {} is not read",
                 am_path_);
  }
  const bool is_default = !applied && am_path_.empty();
  PLATOPS_ASSIGN_OR_RETURN(AmSource source, AmConfigSource(std::move(applied)));
  auto route = routes_->Current();
  const bool routed = route.has_value();
  PLATOPS_RETURN_IF_ERROR(UseAmConfig(source.text, source.name, source.from_file, std::move(route)));
  // As Alertmanager shows its own default: YAML.
  if (is_default && !routed) alerting_->SetConfigText(kDefaultAmConfig);
  return Status::Ok();
}

Status Core::OpenAlerting(const ServerConfig& config) {
  const std::string external_url = config.alerting.external_url.empty()
                                       ? "http://" + config.listen
                                       : config.alerting.external_url;
  am_path_ = config.alerting.alertmanager_config;
  external_url_ = external_url;
  PLATOPS_RETURN_IF_ERROR(ReloadAmConfig());
  // An applied configuration (kind: AlertmanagerConfig) takes effect from another thread: the
  // store's writer, which announces it, must not wait for the alerting service.
  am_configs_->OnChange([this] {
    am_changed_ = true;
    am_reload_.Wake();
  });
  routes_->OnChange([this] {
    am_changed_ = true;
    am_reload_.Wake();
  });
  am_reload_.Start();
  // After the resolve timeout is known: it is the grace of alerts last seen firing.
  alerting::FlapOptions flap;
  flap.max_transitions = config.alerting.flap_max_transitions;
  flap.window = config.alerting.flap_window;
  PLATOPS_RETURN_IF_ERROR(alerting_->AttachHistory(alert_history_.get(), flap,
                                                   config.alerting.history_retention));
  // Notifications: stored in the outbox by the dispatcher, delivered by the sender.
  outbox_ = std::make_unique<alerting::Outbox>(*store_);
  alerting_->SetSecretBox(secret_box_.get());
  alerting::HttpDelivererOptions ho;
  ho.secret_box = secret_box_.get();
  http_deliverer_ = std::make_unique<alerting::HttpDeliverer>(ho);
  alerting::SmtpDelivererOptions mo;
  mo.secret_box = secret_box_.get();
  smtp_deliverer_ = std::make_unique<alerting::SmtpDeliverer>(mo);
  deliverer_ = std::make_unique<alerting::RoutingDeliverer>(*http_deliverer_, *smtp_deliverer_);
  alerting::OutboxSenderOptions so;
  if (metrics_ != nullptr) {
    alerting_->RegisterMetrics(*metrics_);
    CounterFamily& sent = metrics_->Counter(
        "platops_notifications_total", "Notifications delivered, by receiver and integration.",
        {"receiver", "integration"});
    CounterFamily& failed = metrics_->Counter(
        "platops_notifications_failed_total",
        "Notifications given up on (a permanent error or past their maximum age), by receiver "
        "and integration.",
        {"receiver", "integration"});
    CounterFamily& attempts = metrics_->Counter(
        "platops_notification_attempts_total", "Delivery attempts, by receiver and outcome.",
        {"receiver", "outcome"});
    HistogramFamily& latency = metrics_->Histogram(
        "platops_notification_latency_seconds",
        "Time from a notification's creation to its delivery, by receiver.", {"receiver"},
        {0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 3600});
    const Clock* clock = &clock_;
    so.on_attempt = [&sent, &failed, &attempts, &latency, clock](
                        const alerting::OutboxRow& row, const alerting::AttemptRow& attempt,
                        alerting::NotificationState state) {
      attempts.Add({row.receiver, std::string(alerting::AttemptOutcomeName(attempt.outcome))});
      if (state == alerting::NotificationState::kDelivered) {
        sent.Add({row.receiver, row.integration});
        latency.Observe({row.receiver},
                        static_cast<double>((clock->Now() - row.created_at).count()) / 1000);
      } else if (state == alerting::NotificationState::kFailed) {
        failed.Add({row.receiver, row.integration});
      }
    };
    // Notifications that could not be built are stored failed without an attempt to send.
    outbox_->OnStoredFailed([record = so.on_attempt](const alerting::OutboxRow& row,
                                                     const alerting::AttemptRow& attempt) {
      record(row, attempt, alerting::NotificationState::kFailed);
    });
  }
  sender_ = std::make_unique<alerting::OutboxSender>(*outbox_, *deliverer_, clock_, so);
  alerting_->AttachOutbox(outbox_.get());
  sender_->Start();
  alerting_->Start();
  PLATOPS_RETURN_IF_ERROR(pagerduty_->Load());
  pagerduty_->Start();
  check_alerts_->set_external_url(external_url);
  check_alerts_->Start();
  if (!promql_ || !tsdb_) return Status::Ok();

  std::vector<std::string> files;
  std::chrono::milliseconds evaluation_interval = std::chrono::minutes(1);
  std::chrono::milliseconds query_offset{0};
  std::map<std::string, std::string> external_labels;
  if (!config.metrics.prometheus_config.empty()) {
    PLATOPS_ASSIGN_OR_RETURN(ingest::PromConfig pc,
                             ingest::LoadPromConfigFile(config.metrics.prometheus_config));
    files = ingest::RuleFilePaths(pc);
    evaluation_interval = pc.global.evaluation_interval;
    query_offset = pc.global.rule_query_offset;
    for (const auto& l : pc.global.external_labels) external_labels[l.name] = l.value;
  }
  for (auto& f : GlobList(config.alerting.rule_files)) files.push_back(std::move(f));
  alerting::RuleFileOptions rule_options;
  rule_options.check_template = alerting::CheckRuleTemplate;
  std::vector<alerting::RuleGroupSpec> groups;
  std::vector<std::string> errors;
  for (const auto& f : files) {
    auto text = ReadWholeFile(f);
    if (!text.ok()) {
      errors.push_back(text.status().message());
      continue;
    }
    auto parsed = alerting::ParseRuleFile(*text, f, rule_options);
    if (!parsed.ok()) {
      errors.push_back(parsed.status().message());
      continue;
    }
    for (auto& g : *parsed) groups.push_back(std::move(g));
  }
  if (!errors.empty()) {
    std::string joined;
    for (const auto& e : errors) joined += (joined.empty() ? "" : "\n") + e;
    return InvalidArgument("rule files: " + joined);
  }
  alerting::RuleGroupOptions go;
  go.default_interval = evaluation_interval;
  go.default_query_offset = query_offset;
  go.expand = alerting::MakeRuleTemplateExpander(promql_.get(), external_labels, external_url);
  alerting::AlertingService* service = alerting_.get();
  rules_ = std::make_unique<alerting::RuleManager>(
      go, *promql_, *tsdb_, clock_,
      [service, external_url](std::vector<alerting::OutgoingAlert> out) {
        std::vector<alerting::Alert> alerts;
        alerts.reserve(out.size());
        for (auto& o : out) {
          alerting::Alert a;
          for (auto& [n, v] : o.labels) a.labels.Set(n, v);
          for (auto& [n, v] : o.annotations) a.annotations.Set(n, v);
          a.starts_at = o.starts_at;
          a.ends_at = o.ends_at;
          a.generator_url = external_url + "/graph?g0.expr=" + QueryEscape(o.expr) + "&g0.tab=1";
          alerts.push_back(std::move(a));
        }
        Status st = service->PostAlerts(std::move(alerts), "rule");
        if (!st.ok()) spdlog::warn("alerting: rule alerts refused: {}", st.message());
      });
  spdlog::info("alerting: {} rule groups from {} files, {} stored (kind: RuleGroup)",
               groups.size(), files.size(), rule_groups_->Specs().size());
  if (metrics_ != nullptr) rules_->RegisterMetrics(*metrics_);
  // Rule files and the stored `kind: RuleGroup` documents; an apply that changes one hands the
  // manager the new set (groups keep their state across an update).
  auto all_groups = [file_groups = std::move(groups), stored = rule_groups_.get()] {
    auto all = file_groups;
    for (auto& g : stored->Specs()) all.push_back(std::move(g));
    return all;
  };
  rules_->Update(all_groups());
  // Called on the store's writer thread: the manager's own thread applies it.
  rule_groups_->OnChange(
      [rules = rules_.get(), all_groups] { rules->UpdateLater(all_groups()); });
  rules_->Start();
  return Status::Ok();
}

Result<config::ApplyResult> Core::ApplyDirectory(const std::string& dir, const std::string& actor) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    auto ext = it->path().extension();
    const bool hidden = it->path().filename().string().front() == '.';
    if (hidden && it->is_directory()) it.disable_recursion_pending();
    if (!hidden && it->is_regular_file() && (ext == ".yaml" || ext == ".yml"))
      files.push_back(it->path());
  }
  if (ec) return InvalidArgument("cannot read " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<config::Document> docs;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in && !in.eof()) return InvalidArgument("cannot read " + f.string());
    auto parsed = config::YamlToJson(ss.str());
    if (!parsed.ok()) return InvalidArgument(f.string() + ": " + parsed.status().message());
    for (size_t i = 0; i < parsed->size(); ++i)
      docs.push_back({std::move((*parsed)[i]), f.string(), static_cast<int>(i)});
  }
  return config::Apply(*store_, kinds_, docs, {}, actor);
}

}  // namespace platops::server
