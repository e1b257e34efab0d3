#include "scrape/scrape.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <algorithm>

#include "base/json_reader.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "scrape/codec.h"

namespace platops::scrape {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

constexpr const char* kColumns = "job, doc, version, created_at, updated_at";

Result<ScrapeTargetDef> FromRow(const store::Row& r) {
  auto doc = ParseJson(r.Text(1));
  if (!doc.ok())
    return Internal("stored scrape target " + r.Text(0) + ": " + doc.status().message());
  auto def = ScrapeTargetFromJson(*doc);
  if (!def.ok())
    return Unprocessable("stored scrape target " + r.Text(0) +
                         " is no longer valid: " + def.status().ToString());
  ScrapeTargetDef d = std::move(def.value());
  d.version = r.Int(2);
  d.created_at = ParseStoredTimestamp(r.Text(3));
  d.updated_at = ParseStoredTimestamp(r.Text(4));
  return d;
}

json::object DocObject(const std::string& doc) {
  auto v = ParseJson(doc);
  if (v.ok() && v->is_object()) return v->get_object();
  return {};
}

JobSpec SpecFor(const ScrapeTargetDef& def) {
  JobSpec spec;
  spec.source = JobSource::kScrapeTarget;
  spec.config = std::make_shared<const ingest::ScrapeConfig>(ToScrapeConfig(def));
  for (const auto& [name, value] : def.labels) spec.group_labels.push_back({name, value});
  spec.group_labels = metrics::Normalize(std::move(spec.group_labels));
  return spec;
}

}  // namespace

ScrapeManager::ScrapeManager(store::Store& store, const events::EventLog& log, const Clock& clock,
                             catalog::CatalogService& catalog, ScrapeOptions options,
                             MetricsRegistry* metrics)
    : store_(store),
      log_(log),
      clock_(clock),
      catalog_(catalog),
      options_(std::move(options)),
      metrics_(metrics),
      scheduler_(clock,
                 SchedulerOptions{.workers = std::clamp(options_.workers, 0, 16),
                                  .file_sd_check = options_.file_sd_check,
                                  .self_registry = metrics},
                 metrics) {}

ScrapeManager::~ScrapeManager() { Stop(); }

std::vector<store::Migration> ScrapeManager::Migrations() {
  return {{"scrape", 1,
           "CREATE TABLE scrape_targets ("
           " job TEXT PRIMARY KEY, service TEXT, doc TEXT NOT NULL, version INTEGER NOT NULL,"
           " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
           "CREATE INDEX scrape_targets_by_service ON scrape_targets (service, job)"}};
}

bool ScrapeManager::self_enabled() const {
  return options_.self_interval.count() > 0 && metrics_ != nullptr;
}

Status ScrapeManager::Load(events::EventBus& bus) {
  std::vector<ScrapeTargetDef> defs;
  std::set<std::string> kind_jobs;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query(std::string("SELECT ") + kColumns +
                                                 " FROM scrape_targets ORDER BY job"));
    for (const auto& r : rows) {
      kind_jobs.insert(r.Text(0));
      auto def = FromRow(r);
      if (!def.ok()) {
        // One broken definition must not stop the others.
        spdlog::error("scrape: not scraping job {}: {}", r.Text(0), def.status().ToString());
        continue;
      }
      defs.push_back(std::move(def.value()));
    }
    return Status::Ok();
  }));
  if (!options_.prometheus_config.empty()) {
    PLATOPS_ASSIGN_OR_RETURN(ingest::PromConfig prom, ReadPromConfig(kind_jobs));
    ApplyPromConfig(std::move(prom));
  }
  for (const auto& def : defs) scheduler_.SetJob(def.job, SpecFor(def));
  if (self_enabled()) {
    ingest::ScrapeConfig self;
    self.job_name = std::string(kSelfJob);
    self.scrape_interval = options_.self_interval;
    self.scrape_timeout = std::min(kDefaultTimeout, options_.self_interval);
    ingest::TargetGroup group;
    group.targets = {options_.self_instance};
    group.source = "self";
    self.static_configs.push_back(std::move(group));
    JobSpec spec;
    spec.source = JobSource::kSelf;
    spec.config = std::make_shared<const ingest::ScrapeConfig>(std::move(self));
    scheduler_.SetJob(std::string(kSelfJob), std::move(spec));
  }

  // A deleted service takes its scrape targets along, as it does its checks.
  bus.Subscribe("scrape.catalog", "service.", [this](store::Tx& tx, const events::Event& ev) {
    if (ev.action != "service.deleted") return Status::Ok();
    PLATOPS_ASSIGN_OR_RETURN(auto current, catalog_.FindService(tx, ev.subject_id));
    if (current) return Status::Ok();  // Created again since.
    PLATOPS_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT job FROM scrape_targets WHERE service = $1", {ev.subject_id}));
    for (const auto& r : rows) PLATOPS_RETURN_IF_ERROR(DeleteTarget(tx, "system", r.Text(0)));
    return Status::Ok();
  });
  return Status::Ok();
}

Result<ingest::PromConfig> ScrapeManager::ReadPromConfig(
    const std::set<std::string>& kind_jobs) const {
  const std::string& path = options_.prometheus_config;
  auto loaded = ingest::LoadPromConfigFile(path);
  if (!loaded.ok()) {
    const Status& st = loaded.status();
    return Status(st.code(),
                  path + ": " + (st.field().empty() ? "" : st.field() + ": ") + st.message());
  }
  ingest::PromConfig config = std::move(loaded.value());
  for (size_t i = 0; i < config.scrape_configs.size(); ++i) {
    const std::string& job = config.scrape_configs[i].job_name;
    const std::string where =
        path + ": scrape_configs[" + std::to_string(i) + "].job_name: job \"" + job + "\" ";
    if (kind_jobs.count(job))
      return InvalidArgument(where + "is also defined by ScrapeTarget \"" + job +
                             "\"; rename one of them");
    if (self_enabled() && job == kSelfJob)
      return InvalidArgument(where +
                             "is the built-in self-scrape job; rename it or turn "
                             "self-scrape off (metrics.self_scrape_interval: 0)");
  }
  return config;
}

void ScrapeManager::ApplyPromConfig(ingest::PromConfig config) {
  std::set<std::string> jobs;
  for (const auto& w : config.warnings) spdlog::warn("{}: {}", options_.prometheus_config, w);
  for (auto& c : config.scrape_configs) {
    if (!c.http.tls.server_name.empty())
      spdlog::warn("{}: job {}: tls_config.server_name is not supported by platops; ignored",
                   options_.prometheus_config, c.job_name);
    jobs.insert(c.job_name);
    JobSpec spec;
    spec.source = JobSource::kPrometheusConfig;
    const std::string name = c.job_name;
    spec.config = std::make_shared<const ingest::ScrapeConfig>(std::move(c));
    scheduler_.SetJob(name, std::move(spec));
  }
  std::set<std::string> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& j : prom_jobs_)
      if (!jobs.count(j)) gone.insert(j);
    prom_jobs_ = std::move(jobs);
    prom_warnings_ = std::move(config.warnings);
  }
  for (const auto& j : gone) scheduler_.RemoveJob(j);
}

Status ScrapeManager::ReloadPromConfig() {
  if (options_.prometheus_config.empty()) return Status::Ok();
  std::set<std::string> kind_jobs;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT job FROM scrape_targets"));
    for (const auto& r : rows) kind_jobs.insert(r.Text(0));
    return Status::Ok();
  }));
  PLATOPS_ASSIGN_OR_RETURN(ingest::PromConfig prom, ReadPromConfig(kind_jobs));
  ApplyPromConfig(std::move(prom));
  return Status::Ok();
}

std::vector<std::string> ScrapeManager::PromConfigWarnings() const {
  std::lock_guard lock(mu_);
  return prom_warnings_;
}

void ScrapeManager::AttachStorage(metrics::Storage& storage) { scheduler_.AttachStorage(storage); }
void ScrapeManager::Start() { scheduler_.Start(); }
void ScrapeManager::Stop() { scheduler_.Stop(); }

// ---- definitions ------------------------------------------------------------------------------

Status ScrapeManager::CheckJobName(const std::string& job) const {
  if (self_enabled() && job == kSelfJob)
    return Conflict("job \"platops\" is the built-in self-scrape job", "job");
  std::lock_guard lock(mu_);
  if (prom_jobs_.count(job))
    return Conflict("job \"" + job + "\" is defined in the Prometheus configuration " +
                        options_.prometheus_config,
                    "job");
  return Status::Ok();
}

Result<std::map<std::string, std::string>> ScrapeManager::AllTargetDocs(store::Tx& tx) const {
  PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT job, doc FROM scrape_targets ORDER BY job"));
  std::map<std::string, std::string> out;
  for (const auto& r : rows) out.emplace(r.Text(0), r.Text(1));
  return out;
}

Result<ScrapeTargetDef> ScrapeManager::PutTargetTx(store::Tx& tx, const std::string& actor,
                                                   ScrapeTargetDef def,
                                                   std::optional<int64_t> expected_version,
                                                   bool create) {
  PLATOPS_RETURN_IF_ERROR(CheckJobName(def.job));
  if (!def.service.empty()) {
    PLATOPS_ASSIGN_OR_RETURN(auto svc, catalog_.FindService(tx, def.service));
    if (!svc)
      return Unprocessable("service \"" + Abbreviate(def.service) + "\" does not exist", "service");
  }
  PLATOPS_ASSIGN_OR_RETURN(auto existing, tx.QueryOne(std::string("SELECT ") + kColumns +
                                                          " FROM scrape_targets WHERE job = $1",
                                                      {def.job}));
  const Timestamp now = clock_.Now();
  const store::Value service = def.service.empty() ? store::Value() : store::Value(def.service);
  json::object payload;
  std::string action;
  if (create) {
    if (existing) return Conflict("scrape target \"" + def.job + "\" already exists", "job");
    def.version = 1;
    def.created_at = def.updated_at = now;
    action = "scrape_target.created";
    payload["after"] = DocObject(def.doc);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO scrape_targets (job, service, doc, version, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                {def.job, service, def.doc, def.version, FormatRfc3339(now), FormatRfc3339(now)})
            .status());
  } else {
    if (!existing) return NotFound("scrape target \"" + Abbreviate(def.job) + "\" not found");
    const int64_t version = existing->Int(2);
    if (expected_version && *expected_version != version)
      return StaleVersion(*expected_version, version);
    auto changes = JsonChanges(DocObject(existing->Text(1)), DocObject(def.doc));
    def.created_at = ParseStoredTimestamp(existing->Text(3));
    if (changes.empty()) {
      def.version = version;
      def.updated_at = ParseStoredTimestamp(existing->Text(4));
      return def;
    }
    def.version = version + 1;
    def.updated_at = now;
    action = "scrape_target.updated";
    payload["changes"] = std::move(changes);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("UPDATE scrape_targets SET service = $2, doc = $3, version = $4, updated_at = $5"
                " WHERE job = $1",
                {def.job, service, def.doc, def.version, FormatRfc3339(now)})
            .status());
  }
  PLATOPS_RETURN_IF_ERROR(
      log_.Append(tx, {actor, action, "scrape_target", def.job, JsonToString(payload)}).status());
  tx.AfterCommit([this, job = def.job, spec = SpecFor(def)]() mutable {
    scheduler_.SetJob(job, std::move(spec));
  });
  return def;
}

Status ScrapeManager::PutTarget(store::Tx& tx, const std::string& actor, ScrapeTargetDef def,
                                bool create) {
  return PutTargetTx(tx, actor, std::move(def), std::nullopt, create).status();
}

Status ScrapeManager::DeleteTarget(store::Tx& tx, const std::string& actor,
                                   const std::string& job) {
  PLATOPS_ASSIGN_OR_RETURN(auto row,
                           tx.QueryOne("SELECT doc FROM scrape_targets WHERE job = $1", {job}));
  if (!row) return NotFound("scrape target \"" + Abbreviate(job) + "\" not found");
  PLATOPS_RETURN_IF_ERROR(tx.Exec("DELETE FROM scrape_targets WHERE job = $1", {job}).status());
  json::object payload;
  payload["before"] = DocObject(row->Text(0));
  PLATOPS_RETURN_IF_ERROR(
      log_.Append(tx, {actor, "scrape_target.deleted", "scrape_target", job, JsonToString(payload)})
          .status());
  tx.AfterCommit([this, job] { scheduler_.RemoveJob(job); });
  return Status::Ok();
}

Result<ScrapeTargetDef> ScrapeManager::CreateTarget(const std::string& actor, ScrapeTargetDef def) {
  std::optional<ScrapeTargetDef> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, PutTargetTx(tx, actor, std::move(def), std::nullopt, true));
    return Status::Ok();
  }));
  return std::move(*out);
}

Result<ScrapeTargetDef> ScrapeManager::UpdateTarget(const std::string& actor, ScrapeTargetDef def,
                                                    int64_t expected_version) {
  std::optional<ScrapeTargetDef> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, PutTargetTx(tx, actor, std::move(def), expected_version, false));
    return Status::Ok();
  }));
  return std::move(*out);
}

Status ScrapeManager::DeleteTarget(const std::string& actor, const std::string& job) {
  return store_.Write([&](store::Tx& tx) { return DeleteTarget(tx, actor, job); });
}

Result<ScrapeTargetDef> ScrapeManager::GetTarget(const std::string& job) const {
  std::optional<ScrapeTargetDef> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto row, tx.QueryOne(std::string("SELECT ") + kColumns +
                                                       " FROM scrape_targets WHERE job = $1",
                                                   {job}));
    if (!row) return Status::Ok();
    PLATOPS_ASSIGN_OR_RETURN(ScrapeTargetDef d, FromRow(*row));
    out = std::move(d);
    return Status::Ok();
  }));
  if (!out) return NotFound("scrape target \"" + Abbreviate(job) + "\" not found");
  return std::move(*out);
}

Result<Page<ScrapeTargetDef>> ScrapeManager::ListTargets(const std::string& cursor, int limit,
                                                         const std::string& service) const {
  Page<ScrapeTargetDef> page;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    std::vector<store::Row> rows;
    if (service.empty()) {
      PLATOPS_ASSIGN_OR_RETURN(
          rows, tx.Query(std::string("SELECT ") + kColumns +
                             " FROM scrape_targets WHERE job > $1 ORDER BY job LIMIT $2",
                         {cursor, static_cast<int64_t>(limit) + 1}));
    } else {
      PLATOPS_ASSIGN_OR_RETURN(rows,
                               tx.Query(std::string("SELECT ") + kColumns +
                                            " FROM scrape_targets WHERE service = $3 AND job > $1"
                                            " ORDER BY job LIMIT $2",
                                        {cursor, static_cast<int64_t>(limit) + 1, service}));
    }
    for (const auto& r : rows) {
      if (static_cast<int>(page.items.size()) == limit) {
        page.next_cursor = page.items.back().job;
        break;
      }
      auto d = FromRow(r);
      if (!d.ok()) {
        // A listing must not hide the rest; GET of this one names the problem.
        spdlog::warn("scrape: {}", d.status().ToString());
        continue;
      }
      page.items.push_back(std::move(d.value()));
    }
    return Status::Ok();
  }));
  return page;
}

}  // namespace platops::scrape
