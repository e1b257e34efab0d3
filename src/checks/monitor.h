#pragma once
// Monitor: the checks runtime. A deadline-ordered scheduler starts each enabled check at its
// interval on a stable per-check offset, hands the probe to the ProbeEngine, runs every result
// through the state machine (attempts, flapping, maintenance, dependency suppression), and keeps
// the outcome in memory. A writer thread persists results, states, hard-state history, hourly
// rollups and events in batches, so slow or failing storage never delays a probe and never
// turns into a failing check. Heartbeats are judged here too: pings arrive through Ping, lateness
// is found by the scheduler.
// Thread-safety: thread-safe. Tick and Flush are what the threads run; tests call them directly
// with a FakeClock and without Start.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/cron.h"
#include "base/metrics_registry.h"
#include "base/status.h"
#include "checks/model.h"
#include "checks/rollup.h"
#include "checks/state.h"
#include "events/event_log.h"
#include "probe/probe.h"
#include "store/store.h"

namespace platops::checks {

struct MonitorOptions {
  // Probes in flight at once, all kinds together; due checks beyond it wait. Default 2000.
  int max_concurrent = 2000;
  // How often buffered results are written. Default 1s.
  std::chrono::milliseconds flush_interval{1000};
  // Raw results kept (GET .../results). Default 48h.
  std::chrono::milliseconds results_retention{std::chrono::hours(48)};
  // Hourly rollups and hard-state history kept. Default 400 days.
  std::chrono::milliseconds rollup_retention{std::chrono::hours(24 * 400)};
  // How often old rows are pruned. Default 10 min.
  std::chrono::milliseconds prune_interval{std::chrono::minutes(10)};
  // Results buffered while the store fails; beyond this the oldest raw results are dropped
  // (counted), never states, history or events. Default 500,000.
  size_t max_buffered_results = 500000;
};

enum class PingKind { kSuccess, kStart, kFail, kExitCode };

// What the API shows about a check's runtime.
struct CheckStatus {
  CheckState state;
  std::optional<probe::Result> last;
  bool last_in_maintenance = false;
  bool in_maintenance = false;         // a window covers the check now
  std::string suppressed_by;           // the root-cause check while the problem is suppressed
  std::optional<Timestamp> next_run;   // nullopt: disabled, or a heartbeat
  int64_t skipped_in_flight = 0;       // runs skipped because the previous one was still going
  std::optional<Timestamp> last_ping, last_start;  // heartbeats
  std::optional<std::chrono::milliseconds> last_job_duration;
  std::optional<Timestamp> ping_deadline;          // heartbeats: late after this
};

class Monitor {
 public:
  Monitor(store::Store& store, const events::EventLog& log, const Clock& clock,
          probe::ProbeEngine& engine, const MonitorOptions& options, MetricsRegistry* metrics);
  ~Monitor();
  static std::vector<store::Migration> Migrations();

  // Loads saved states for `defs` (call before Start; also fine later for a fresh check).
  Status Load(const std::vector<CheckDef>& defs, const std::vector<MaintenanceWindow>& windows,
              const std::map<std::string, std::vector<std::string>>& hard_deps);

  // Definition changes (after their transaction committed). Upsert keeps the runtime state when
  // the check already exists; a changed interval re-plans its next run.
  void Upsert(const CheckDef& def);
  void Remove(const std::string& id);
  void UpsertWindow(const MaintenanceWindow& w);
  void RemoveWindow(const std::string& name);
  // The hard dependencies of a service (catalog), for suppression.
  void SetHardDependencies(const std::string& service, std::vector<std::string> deps);

  std::optional<CheckStatus> StatusOf(const std::string& id) const;
  // Every check's hard state as alerting reads it: the check's definition, its last HARD state,
  // whether a maintenance window covers it now and the check suppressing it.
  struct HardView {
    CheckDef def;
    probe::Outcome hard_state = probe::Outcome::kOk;
    Timestamp hard_since{};
    bool pending = true;  // no result yet
    std::string message;             // the last result's message
    bool in_maintenance = false;
    std::string suppressed_by;
  };
  std::vector<HardView> HardStates() const;
  // The maintenance windows active at `t` whose services include `service` and whose
  // check_labels all appear in `labels` (alerts muted by maintenance), by name.
  std::vector<std::string> WindowsCovering(const std::string& service,
                                           const std::map<std::string, std::string>& labels,
                                           Timestamp t) const;
  // kNotFound for an unknown or disabled heartbeat token.
  Status Ping(const std::string& token, PingKind kind, std::optional<int> exit_code);
  // The check id of a ping token.
  std::optional<std::string> CheckForToken(const std::string& token) const;

  // One scheduler step at `now`: processes finished probes, finds late heartbeats, starts due
  // checks. Returns when the next step is due.
  Timestamp Tick(Timestamp now);
  // Writes everything buffered in one transaction; on failure keeps it for the next try.
  Status Flush();
  // Deletes results, history and rollups past retention.
  Status Prune(Timestamp now);
  // Results waiting to be written.
  size_t buffered() const;

  // Starts the scheduler and writer threads.
  void Start();
  // Stops starting probes, joins the threads and writes what is buffered. Results of probes
  // still in flight are dropped: stop the engine after this (its cancellations are not results).
  void Stop();

 private:
  struct Entry;
  struct Completion {
    std::string id;
    uint64_t run = 0;  // the run it belongs to: a result for a superseded definition is dropped
    probe::Result result;
  };
  struct PendingResult {
    int64_t check_num = 0;
    std::string check_id;
    probe::Result result;
    bool in_maintenance = false;
  };
  struct PendingEvent {
    events::EventDraft draft;
  };
  struct PendingHistory {
    std::string check_id;
    Timestamp at{};
    probe::Outcome hard_state = probe::Outcome::kOk;
    std::string message;
    bool in_maintenance = false;
    std::string suppressed_by;
  };

  struct ProbeStart {
    std::shared_ptr<const probe::Spec> spec;
    std::chrono::milliseconds timeout{0};
    std::string id;
    uint64_t run = 0;
  };
  Timestamp TickLocked(Timestamp now, std::vector<Completion>& done);  // REQUIRES: mu_ held
  void ProcessResult(Entry& e, probe::Result r, Timestamp now);  // REQUIRES: mu_ held
  void StartProbe(Entry& e, Timestamp now);                       // REQUIRES: mu_ held
  void PlanNext(Entry& e, Timestamp now, bool retry);             // REQUIRES: mu_ held
  void PlanHeartbeat(Entry& e, Timestamp now);                    // REQUIRES: mu_ held
  bool InMaintenance(const Entry& e, Timestamp t) const;          // REQUIRES: mu_ held
  std::string SuppressedBy(const Entry& e) const;                 // REQUIRES: mu_ held
  void MarkDirty(Entry& e);                                       // REQUIRES: mu_ held
  void RegisterMetrics(MetricsRegistry& registry);
  void WakeScheduler();  // REQUIRES: thread_mu_ not held
  void SchedulerLoop();
  void WriterLoop();

  store::Store& store_;
  const events::EventLog& log_;
  const Clock& clock_;
  probe::ProbeEngine& engine_;
  const MonitorOptions options_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Entry>> entries_;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::string> tokens_;              // GUARDED_BY(mu_)
  std::map<std::string, std::pair<MaintenanceWindow, MaintenanceSchedule>> windows_;
  std::map<std::string, std::vector<std::string>> hard_deps_;          // GUARDED_BY(mu_)
  std::map<std::string, std::set<std::string>> checks_by_service_;     // GUARDED_BY(mu_)
  // (due, id, plan generation): a stale generation is skipped when popped.
  using Due = std::tuple<Timestamp, std::string, uint64_t>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;  // GUARDED_BY(mu_)
  int in_flight_ = 0;                                                // GUARDED_BY(mu_)
  std::deque<PendingResult> pending_results_;                        // GUARDED_BY(mu_)
  std::vector<PendingEvent> pending_events_;                         // GUARDED_BY(mu_)
  std::vector<PendingHistory> pending_history_;                      // GUARDED_BY(mu_)
  std::set<std::string> dirty_;                                      // GUARDED_BY(mu_)
  // Rollup deltas drained for a write that failed, kept for the next one.
  std::map<std::pair<std::string, int64_t>, HourRollup> failed_rollups_;  // GUARDED_BY(mu_)
  int64_t dropped_results_ = 0;                                      // GUARDED_BY(mu_)
  Timestamp last_tick_{};                                            // GUARDED_BY(mu_)
  uint64_t runs_issued_ = 0;                                         // GUARDED_BY(mu_)
  std::vector<ProbeStart> starts_;  // probes to hand to the engine after unlocking; GUARDED_BY(mu_)
  bool stopped_ = false;                                             // GUARDED_BY(mu_)

  std::mutex completions_mu_;
  std::vector<Completion> completions_;  // GUARDED_BY(completions_mu_)

  std::mutex flush_mu_;  // one Flush at a time

  std::mutex thread_mu_;
  std::condition_variable scheduler_cv_, writer_cv_;
  bool stopping_ = false;  // GUARDED_BY(thread_mu_)
  bool woken_ = false;     // GUARDED_BY(thread_mu_)
  std::thread scheduler_, writer_;

  CounterFamily* runs_ = nullptr;
  CounterFamily* skipped_ = nullptr;
  CounterFamily* store_errors_ = nullptr;
  HistogramFamily* lateness_ = nullptr;
};

}  // namespace platops::checks
