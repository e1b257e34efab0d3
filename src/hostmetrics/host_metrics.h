#pragma once
// HostMetrics: a service that runs the host Collector every `interval` on its own thread, keeps
// the latest snapshot and exposes it on platops's /metrics through MetricsRegistry.
// Thread-safety: thread-safe; Start and Stop are called by the owner, not concurrently.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/status.h"
#include "hostmetrics/collector.h"

namespace platops {
class MetricsRegistry;
}  // namespace platops

namespace platops::hostmetrics {

struct HostMetricsOptions {
  CollectorOptions collector;
  // Time between collections; must be positive. Default 15 s, a common Prometheus scrape interval.
  std::chrono::milliseconds interval = std::chrono::seconds(15);
};

class HostMetrics {
 public:
  // `clock` must outlive this object; it stamps snapshots (node_time_seconds).
  HostMetrics(HostMetricsOptions options, const Clock& clock);
  // Stops the thread.
  ~HostMetrics();
  HostMetrics(const HostMetrics&) = delete;
  HostMetrics& operator=(const HostMetrics&) = delete;

  // Collects once on the calling thread, so the first scrape has data, then starts the thread
  // that collects every `interval`. Fails, starting nothing, on an invalid interval, a failed
  // first collection (proc_root is not a directory) or when already started.
  Status Start();
  // Wakes the thread at once, lets a collection in progress finish and joins. Idempotent.
  void Stop();

  // One collection on the calling thread; replaces the latest snapshot when it succeeds.
  Status CollectNow();
  // The latest snapshot; null before the first successful collection.
  std::shared_ptr<const Snapshot> Latest() const;
  // Wall time the last successful collection took.
  std::chrono::nanoseconds LastDuration() const;

  // Exposes each family of the latest snapshot (collecting first if there is none yet) and
  // platops_host_collection_duration_seconds. Values are as of the last collection. The family
  // list is fixed here: node_memory_* fields that first appear later are not exported, and if no
  // collection has succeeded only the duration gauge is. Call once per registry; the gauges stay
  // valid after this object is destroyed (they keep showing the last snapshot).
  void Register(MetricsRegistry& registry);

 private:
  // The latest result, shared with the registry's gauge functions.
  struct Shared {
    mutable std::mutex mu;
    std::shared_ptr<const Snapshot> snapshot;  // GUARDED_BY(mu)
    std::chrono::nanoseconds duration{0};      // GUARDED_BY(mu)
  };

  void Run();
  // Logs collector groups that started failing, changed error, or recovered.
  void LogErrorChanges(const Snapshot& snap);

  const HostMetricsOptions options_;
  std::shared_ptr<Shared> shared_;

  // Serializes collections: the Collector reuses its buffers. Held across the /proc reads, and
  // taken by nothing else.
  std::mutex collect_mu_;
  Collector collector_;                         // GUARDED_BY(collect_mu_)
  std::map<std::string, std::string> failing_;  // GUARDED_BY(collect_mu_): group -> error
  std::string last_failure_;                    // GUARDED_BY(collect_mu_)

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace platops::hostmetrics
