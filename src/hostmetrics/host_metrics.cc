#include "hostmetrics/host_metrics.h"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "base/metrics_registry.h"
#include "base/time_util.h"

namespace platops::hostmetrics {

namespace {
using Samples = std::vector<std::pair<LabelValues, double>>;
}  // namespace

HostMetrics::HostMetrics(HostMetricsOptions options, const Clock& clock)
    : options_(std::move(options)),
      shared_(std::make_shared<Shared>()),
      collector_(options_.collector, clock) {}

HostMetrics::~HostMetrics() { Stop(); }

Status HostMetrics::Start() {
  if (options_.interval <= std::chrono::milliseconds::zero())
    return InvalidArgument("must be positive, got " + FormatDuration(options_.interval),
                           "interval");
  if (thread_.joinable()) return Internal("host metrics: already started");
  PLATOPS_RETURN_IF_ERROR(CollectNow());
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void HostMetrics::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HostMetrics::Run() {
  // Deadlines are on the monotonic clock: a wall-clock step must not stall or burst collections.
  auto next = std::chrono::steady_clock::now() + options_.interval;
  std::unique_lock lock(mu_);
  while (!cv_.wait_until(lock, next, [this] { return stopping_; })) {
    lock.unlock();
    Status status = CollectNow();  // failures are logged there and keep the previous snapshot
    (void)status;
    // Fixed rate; after an overrun (a slow statfs) skip the missed slots instead of bursting.
    next += options_.interval;
    auto now = std::chrono::steady_clock::now();
    if (next <= now) next = now + options_.interval;
    lock.lock();
  }
}

Status HostMetrics::CollectNow() {
  std::lock_guard collect_lock(collect_mu_);
  auto start = std::chrono::steady_clock::now();
  Result<Snapshot> snap = collector_.Collect();
  auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - start);
  if (!snap.ok()) {
    std::string failure = snap.status().ToString();
    if (failure != last_failure_) spdlog::warn("host metrics: collection failed: {}", failure);
    last_failure_ = std::move(failure);
    return snap.status();
  }
  last_failure_.clear();
  LogErrorChanges(*snap);
  auto shared = std::make_shared<const Snapshot>(std::move(snap).value());
  std::lock_guard lock(shared_->mu);
  shared_->snapshot = std::move(shared);
  shared_->duration = took;
  return Status::Ok();
}

void HostMetrics::LogErrorChanges(const Snapshot& snap) {
  std::map<std::string, std::string> failing;
  for (const CollectorError& e : snap.errors) {
    std::string message = e.status.ToString();
    auto it = failing_.find(e.collector);
    if (it == failing_.end() || it->second != message)
      spdlog::warn("host metrics: collector {} failed: {}", e.collector, message);
    failing.emplace(e.collector, std::move(message));
  }
  for (const auto& [collector, message] : failing_) {
    if (!failing.contains(collector))
      spdlog::info("host metrics: collector {} recovered", collector);
  }
  failing_ = std::move(failing);
}

std::shared_ptr<const Snapshot> HostMetrics::Latest() const {
  std::lock_guard lock(shared_->mu);
  return shared_->snapshot;
}

std::chrono::nanoseconds HostMetrics::LastDuration() const {
  std::lock_guard lock(shared_->mu);
  return shared_->duration;
}

void HostMetrics::Register(MetricsRegistry& registry) {
  std::shared_ptr<const Snapshot> first = Latest();
  if (!first) {
    Status status = CollectNow();  // logged there; only the duration gauge is registered then
    (void)status;
    first = Latest();
  }
  if (first) {
    for (size_t i = 0; i < first->families.size(); ++i) {
      const Family& f = first->families[i];
      // Families keep their order between snapshots, so index `i` usually finds the family
      // without a search.
      registry.Gauge(
          f.name, f.help, f.label_names,
          [shared = shared_, name = f.name, i]() -> Samples {
            std::shared_ptr<const Snapshot> snap;
            {
              std::lock_guard lock(shared->mu);
              snap = shared->snapshot;
            }
            const Family* family = i < snap->families.size() && snap->families[i].name == name
                                       ? &snap->families[i]
                                       : snap->Find(name);
            return family ? family->samples : Samples{};
          },
          f.counter);
    }
  }
  registry.Gauge("platops_host_collection_duration_seconds",
                 "Duration of the last host metrics collection in seconds.", {},
                 [shared = shared_]() -> Samples {
                   std::lock_guard lock(shared->mu);
                   return {{{}, std::chrono::duration<double>(shared->duration).count()}};
                 });
}

}  // namespace platops::hostmetrics
