#include "server/core.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "catalog/kinds.h"
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
  if (scrape_) scrape_->Stop();
  promql_.reset();
  if (tsdb_) (void)tsdb_->Close();
  StopChecks();
  if (bus_) bus_->Stop();
  if (store_) store_->Close();
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
