#pragma once
// ScrapeManager: the scrape module's entry class. It owns the ScrapeTarget definitions (table
// `scrape_targets`, events `scrape_target.*`) and feeds the scrape runtime (ScrapeScheduler) from
// three sources: the ScrapeTarget documents (followed as they change), the jobs of a loaded
// prometheus.yml, and the built-in self target (job "platops", the server's own metrics read
// in-process). Scraped samples go to a metrics::Storage with Prometheus's semantics.
// Thread-safety: thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/metrics_registry.h"
#include "base/status.h"
#include "catalog/catalog.h"
#include "config/kind_registry.h"
#include "events/event_bus.h"
#include "events/event_log.h"
#include "identity/identity.h"
#include "metrics/storage.h"
#include "scrape/model.h"
#include "scrape/scheduler.h"
#include "store/store.h"

namespace platops::scrape {

using identity::Page;

// The job name of the built-in self target.
inline constexpr std::string_view kSelfJob = "platops";

struct ScrapeOptions {
  // How often the server's own metrics (MetricsRegistry::Render, what /metrics serves) are
  // scraped in-process as job "platops"; 0 = off. Default 15s.
  std::chrono::milliseconds self_interval{15000};
  // The `instance` label of the self target; serve passes its listen address.
  std::string self_instance = "localhost:9470";
  // A prometheus.yml whose scrape_configs are scraped beside the ScrapeTarget documents; "" =
  // none. Its job names must not clash with ScrapeTargets' (or "platops" while self-scrape is on).
  std::string prometheus_config;
  // Threads that parse and append scraped bodies; 0 = the scheduler thread does it. 0..16,
  // default 1.
  int workers = 1;
  // How often file_sd files are checked for changes. Default 5s.
  std::chrono::milliseconds file_sd_check{5000};
};

class ScrapeManager {
 public:
  // `metrics` (may be null) gets platops_scrape_* and is what the self target renders.
  ScrapeManager(store::Store& store, const events::EventLog& log, const Clock& clock,
                catalog::CatalogService& catalog, ScrapeOptions options, MetricsRegistry* metrics);
  ~ScrapeManager();
  static std::vector<store::Migration> Migrations();

  // Reads the ScrapeTarget definitions and the prometheus.yml (an unreadable file, an invalid
  // one or a job name defined twice is an error naming it), sets up the self target and
  // subscribes to catalog events (a deleted service takes its scrape targets along). Call once.
  Status Load(events::EventBus& bus);
  // Reads the prometheus.yml again (SIGHUP); on error the running jobs stay as they were.
  Status ReloadPromConfig();
  // What the last load of prometheus.yml read but does not apply, one line each.
  std::vector<std::string> PromConfigWarnings() const;

  // Where samples go; nothing is scraped before it is called.
  void AttachStorage(metrics::Storage& storage);
  // Starts the scheduler thread and the workers.
  void Start();
  void Stop();
  ScrapeScheduler& scheduler() { return scheduler_; }

  // ScrapeTargets. Create/Update check the service reference and job name clashes with
  // prometheus.yml and the self job (409).
  Result<ScrapeTargetDef> CreateTarget(const std::string& actor, ScrapeTargetDef def);
  Result<ScrapeTargetDef> GetTarget(const std::string& job) const;
  // `service` empty: every job.
  Result<Page<ScrapeTargetDef>> ListTargets(const std::string& cursor, int limit,
                                            const std::string& service = {}) const;
  Result<ScrapeTargetDef> UpdateTarget(const std::string& actor, ScrapeTargetDef def,
                                       int64_t expected_version);
  Status DeleteTarget(const std::string& actor, const std::string& job);

  // Inside a caller's write transaction (apply). The runtime follows after commit.
  // job -> the stored normalised document.
  Result<std::map<std::string, std::string>> AllTargetDocs(store::Tx& tx) const;
  Status PutTarget(store::Tx& tx, const std::string& actor, ScrapeTargetDef def, bool create);
  Status DeleteTarget(store::Tx& tx, const std::string& actor, const std::string& job);

  // The runtime's view of every target (GET /prometheus/api/v1/targets).
  TargetsSnapshot Targets() const { return scheduler_.Targets(); }
  std::optional<JobStatus> StatusOf(const std::string& job) const {
    return scheduler_.StatusOf(job);
  }

 private:
  Result<ScrapeTargetDef> PutTargetTx(store::Tx& tx, const std::string& actor, ScrapeTargetDef def,
                                      std::optional<int64_t> expected_version, bool create);
  Status CheckJobName(const std::string& job) const;
  // Validates the prometheus.yml at options_.prometheus_config against `kind_jobs` and returns
  // its jobs.
  Result<ingest::PromConfig> ReadPromConfig(const std::set<std::string>& kind_jobs) const;
  void ApplyPromConfig(ingest::PromConfig config);
  bool self_enabled() const;

  store::Store& store_;
  const events::EventLog& log_;
  const Clock& clock_;
  catalog::CatalogService& catalog_;
  const ScrapeOptions options_;
  MetricsRegistry* metrics_;
  ScrapeScheduler scheduler_;

  mutable std::mutex mu_;
  std::set<std::string> prom_jobs_;         // GUARDED_BY(mu_)
  std::vector<std::string> prom_warnings_;  // GUARDED_BY(mu_)
};

// Registers `kind: ScrapeTarget`.
void RegisterKinds(config::KindRegistry& registry, ScrapeManager& scrape);

}  // namespace platops::scrape
