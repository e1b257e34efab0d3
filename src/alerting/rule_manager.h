#pragma once
// RuleManager: keeps the loaded rule groups and evaluates each at its interval, as Prometheus's
// rule manager does: evaluations on a grid offset by a stable hash of the group's file and
// name (so a thousand groups do not fire together), evaluated at the grid time, missed
// iterations skipped and counted, alert state carried over when a group is reloaded. Alerts to
// notify go to a sink. Thread-safe; Start() runs one scheduler thread, and Tick() is the same
// work driven by hand (tests use it with a fake time).

#include <atomic>
#include <optional>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "alerting/rule_group.h"
#include "base/clock.h"
#include "base/deadline_loop.h"
#include "base/metrics_registry.h"

namespace platops::alerting {

class RuleManager {
 public:
  using AlertSink = std::function<void(std::vector<OutgoingAlert>)>;

  // `engine`, `storage` and `clock` must outlive the manager. `sink` is called from the
  // evaluating thread, never under the manager's lock.
  RuleManager(RuleGroupOptions options, promql::Engine& engine, metrics::Storage& storage,
              const Clock& clock, AlertSink sink);
  ~RuleManager();

  // Replaces the groups. A group with the same file and name as a loaded one keeps its rules'
  // alert state (by rule position and name) and its schedule.
  void Update(std::vector<RuleGroupSpec> groups);
  // The same, done by the manager's own thread at its next pass (at once: it is woken), so the
  // caller never waits for an evaluation in progress (Update takes each group's lock). For
  // callers on threads that must not block, such as the store's writer. Requires Start().
  void UpdateLater(std::vector<RuleGroupSpec> groups);

  // Evaluates every group due at `now`; returns the time the next one is due (`now` + 1 h when
  // there are no groups).
  Timestamp Tick(Timestamp now);

  void Start();
  void Stop();

  // Calls `f` with each group, in load order, holding that group's lock.
  void ForEachGroup(const std::function<void(const RuleGroup&)>& f) const;
  // Evaluations skipped because the previous one ran past its slot.
  uint64_t missed_iterations() const { return missed_.load(); }
  uint64_t evaluations() const { return evaluations_.load(); }

  // platops_rule_group_evaluations_total, platops_rule_evaluation_failures_total and
  // platops_rule_group_iterations_missed_total {rule_group}, and
  // platops_rule_group_duration_seconds (histogram). `registry` must outlive the manager.
  void RegisterMetrics(MetricsRegistry& registry);

  // The first evaluation time of a group at or after `now`: the grid of `interval` shifted by
  // a stable hash of file and name.
  static Timestamp FirstEvaluation(const RuleGroupSpec& spec, std::chrono::milliseconds interval,
                                   Timestamp now);

 private:
  struct Entry {
    mutable std::mutex mu;
    std::unique_ptr<RuleGroup> group;  // GUARDED_BY(mu)
    Timestamp next{};                  // GUARDED_BY(mu)
  };

  RuleGroupOptions options_;
  promql::Engine& engine_;
  metrics::Storage& storage_;
  const Clock& clock_;
  AlertSink sink_;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Entry>> entries_;  // GUARDED_BY(mu_)
  std::mutex pending_mu_;
  std::optional<std::vector<RuleGroupSpec>> pending_;  // GUARDED_BY(pending_mu_)
  std::atomic<uint64_t> missed_{0};
  std::atomic<uint64_t> evaluations_{0};
  CounterFamily* evaluations_total_ = nullptr;  // Set once before Start.
  CounterFamily* failures_total_ = nullptr;
  CounterFamily* missed_total_ = nullptr;
  HistogramFamily* duration_ = nullptr;

  DeadlineLoop loop_{clock_, [this](Timestamp now) { return Tick(now); }};
};

}  // namespace platops::alerting
