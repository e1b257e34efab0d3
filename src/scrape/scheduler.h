#pragma once
// ScrapeScheduler: the scrape runtime. It keeps the jobs (scrape pools) it is given, turns their
// target groups (static and file_sd) into targets with ingest::BuildTargets, and scrapes each
// target on its grid: its interval plus a stable offset from a hash of the target, so targets
// spread over the interval and nothing drifts. One scheduler thread drives every HTTP scrape on one
// libcurl multi handle (Fetcher) and polls file_sd; a small worker pool parses and appends the
// bodies (Ingester). A job of source kSelf renders the server's own MetricsRegistry in-process
// instead of fetching. A target that goes away (or whose cache must be rebuilt) gets Prometheus's
// end-of-run stale markers, written two intervals later so that a target that is back wins.
// Thread-safety: thread-safe. Tick and RunUntilIdle are what the scheduler thread runs; tests call
// them directly with a FakeClock and without Start.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "base/clock.h"
#include "base/metrics_registry.h"
#include "ingest/file_sd.h"
#include "ingest/prom_config.h"
#include "metrics/labels.h"
#include "metrics/storage.h"
#include "scrape/fetcher.h"
#include "scrape/ingester.h"

namespace platops::scrape {

// Prometheus 2.x's Accept header: OpenMetrics 1.0.0 first, then 0.0.1, then text 0.0.4.
inline constexpr std::string_view kAcceptHeader =
    "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;"
    "q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

enum class JobSource { kScrapeTarget, kPrometheusConfig, kSelf };
// "scrape_target", "prometheus_config", "self".
std::string_view JobSourceName(JobSource source);

struct JobSpec {
  JobSource source = JobSource::kScrapeTarget;
  std::shared_ptr<const ingest::ScrapeConfig> config;  // Required.
  // Added to every file_sd group that lacks them (a ScrapeTarget's `labels`).
  metrics::Labels group_labels;
};

struct SchedulerOptions {
  // Threads that parse and append bodies; 0 runs that work on the scheduler thread. Default 1.
  int workers = 1;
  // How often file_sd files are checked for changes. Default 5s.
  std::chrono::milliseconds file_sd_check{5000};
  // What kSelf jobs render (platops's own /metrics); null: kSelf targets fail.
  const MetricsRegistry* self_registry = nullptr;
};

enum class Health { kUnknown, kUp, kDown };
std::string_view HealthName(Health health);  // "unknown", "up", "down"

// One active target as the targets API shows it.
struct TargetStatus {
  std::string job;
  std::string url;
  metrics::Labels labels;             // What every series of the target gets.
  metrics::Labels discovered_labels;  // Before relabeling.
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds timeout{0};
  Health health = Health::kUnknown;
  std::string last_error;
  std::optional<Timestamp> last_scrape;
  double last_duration_seconds = 0;
  int64_t last_samples = 0;  // scrape_samples_scraped of the last scrape.
  std::optional<Timestamp> next_scrape;
};

struct DroppedTarget {
  std::string job;
  metrics::Labels discovered_labels;
};

struct TargetsSnapshot {
  std::vector<TargetStatus> active;    // By job, then URL.
  std::vector<DroppedTarget> dropped;  // At most keep_dropped_targets per job when that is set.
  std::map<std::string, size_t> dropped_counts;  // Every job, all dropped targets counted.
};

struct JobStatus {
  JobSource source = JobSource::kScrapeTarget;
  size_t targets = 0;
  size_t up = 0;
  size_t down = 0;
  size_t unknown = 0;
  size_t dropped = 0;
  // Targets that could not be built and file_sd files that could not be read.
  std::vector<std::string> errors;
};

class ScrapeScheduler {
 public:
  ScrapeScheduler(const Clock& clock, SchedulerOptions options, MetricsRegistry* metrics);
  ~ScrapeScheduler();
  ScrapeScheduler(const ScrapeScheduler&) = delete;
  ScrapeScheduler& operator=(const ScrapeScheduler&) = delete;

  // Where samples go. Until it is called, targets are built and listed but not scraped.
  void AttachStorage(metrics::Storage& storage);
  // Adds or replaces a job; takes effect at the next Tick. Targets that stay keep their cache
  // unless what turns samples into series changed.
  void SetJob(const std::string& name, JobSpec spec);
  // Removes a job at the next Tick; its targets get end-of-run stale markers.
  void RemoveJob(const std::string& name);

  // One scheduler step at `now`: applies job changes, polls file_sd, starts due scrapes, writes
  // due end-of-run stale markers. Returns when the next step is due.
  Timestamp Tick(Timestamp now);
  // Drives fetches and finishes scrapes until nothing is in flight; false when `max` passed
  // first. Tests use it after Tick; the scheduler thread does the same work continuously.
  bool RunUntilIdle(std::chrono::milliseconds max = std::chrono::seconds(30));

  // Starts the scheduler thread and the workers.
  void Start();
  // Stops starting scrapes, abandons fetches in flight, lets the workers finish the bodies they
  // hold, joins. Pending end-of-run stale markers are dropped, as Prometheus does on shutdown.
  void Stop();

  TargetsSnapshot Targets() const;
  std::optional<JobStatus> StatusOf(const std::string& job) const;

 private:
  struct Loop;
  struct Job;
  struct Retired;
  using Due = std::tuple<Timestamp, uint64_t, uint64_t>;  // (due, loop id, plan generation)

  void ApplyChanges(Timestamp now);
  void PollFileSd(Job& job, Timestamp now);
  void Rebuild(Job& job, Timestamp now);
  void PlanNext(Loop& loop, Timestamp now);                            // REQUIRES: mu_ held
  void Retire(Loop& loop, Timestamp now);                              // REQUIRES: mu_ held
  void RetireIngester(Loop& loop, Timestamp stale_time, bool report);  // REQUIRES: mu_ held
  void StartScrape(const std::shared_ptr<Loop>& loop);
  void Process(const std::shared_ptr<Loop>& loop);
  void Complete(const std::shared_ptr<Loop>& loop, const ScrapeResult& result);
  void Submit(std::function<void()> task);
  void WorkerLoop();
  void SchedulerLoop();
  void RegisterMetrics(MetricsRegistry& registry);

  const Clock& clock_;
  const SchedulerOptions options_;
  std::atomic<metrics::Storage*> storage_{nullptr};
  Fetcher fetcher_;  // Scheduler thread only.

  mutable std::mutex mu_;
  std::map<std::string, std::optional<JobSpec>> pending_;  // GUARDED_BY(mu_); nullopt = remove
  // The map's shape changes on the scheduler thread only (under mu_); readers take mu_.
  std::map<std::string, std::unique_ptr<Job>> jobs_;
  std::map<uint64_t, std::shared_ptr<Loop>> loops_by_id_;           // GUARDED_BY(mu_)
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;  // GUARDED_BY(mu_)
  std::vector<Retired> retired_;                                    // GUARDED_BY(mu_)
  uint64_t next_loop_id_ = 1;                                       // GUARDED_BY(mu_)
  std::atomic<int> busy_{0};  // Scrapes and stale writes started and not finished.

  std::mutex task_mu_;
  std::condition_variable task_cv_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(task_mu_)
  bool workers_running_ = false;             // GUARDED_BY(task_mu_)
  std::vector<std::thread> workers_;

  std::atomic<bool> stopping_{false};
  std::thread scheduler_;

  CounterFamily* scrapes_ = nullptr;
  CounterFamily* failures_ = nullptr;
  CounterFamily* samples_ = nullptr;
  CounterFamily* rejected_ = nullptr;
  CounterFamily* stale_markers_ = nullptr;
  CounterFamily* cache_hits_ = nullptr;
  CounterFamily* cache_misses_ = nullptr;
  CounterFamily* skipped_ = nullptr;
  CounterFamily* store_errors_ = nullptr;
  HistogramFamily* duration_ = nullptr;
};

}  // namespace platops::scrape
