#include "checks/monitor.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "base/json_reader.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "checks/codec.h"

namespace platops::checks {

namespace json = boost::json;
using probe::Outcome;
using std::chrono::milliseconds;

namespace {

constexpr const char* kSystemActor = "system";

int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp FromMs(int64_t ms) { return Timestamp(milliseconds(ms)); }


std::string EncodeRecent(const std::vector<Outcome>& recent) {
  std::string out;
  for (Outcome o : recent) out += static_cast<char>('0' + static_cast<int>(o));
  return out;
}

std::vector<Outcome> DecodeRecent(std::string_view s) {
  std::vector<Outcome> out;
  for (char c : s)
    if (c >= '0' && c <= '3') out.push_back(static_cast<Outcome>(c - '0'));
  return out;
}

Outcome OutcomeFromInt(int64_t v) {
  return v >= 0 && v <= 3 ? static_cast<Outcome>(v) : Outcome::kUnknown;
}

StatePolicy PolicyOf(const CheckDef& d) {
  StatePolicy p;
  p.max_attempts = d.max_attempts;
  p.recovery_attempts = d.recovery_attempts;
  p.flap_detection = d.flap_detection;
  p.flap_low = d.flap_low;
  p.flap_high = d.flap_high;
  return p;
}

std::string Details(const probe::Result& r) {
  json::object o = ProbeResultToJson(r);
  o.erase("outcome");
  o.erase("message");
  o.erase("started");
  o.erase("duration_seconds");
  return JsonToString(o);
}

}  // namespace

struct Monitor::Entry {
  CheckDef def;
  StatePolicy policy;
  CheckState st;
  std::optional<probe::Result> last;
  bool last_in_maintenance = false;
  std::string suppressed_by;
  uint64_t run = 0;       // bumped by every definition change
  uint64_t plan_gen = 0;  // bumped by every re-plan; stale queue entries are skipped
  std::optional<Timestamp> next_due;
  Timestamp scheduled{};  // the due time of the run in flight or last started
  bool in_flight = false;
  int64_t skipped = 0;
  RollupAccumulator rollup;
  std::optional<Timestamp> rollup_mark;  // time up to which state time is attributed
  // Heartbeats.
  std::optional<CronSchedule> cron;
  Timestamp hb_base{};  // the last sign of life (or when the check was created)
  std::optional<Timestamp> last_ping, last_start;
  std::optional<milliseconds> last_job;
  bool hb_late_reported = false;
};

Monitor::Monitor(store::Store& store, const events::EventLog& log, const Clock& clock,
                 probe::ProbeEngine& engine, const MonitorOptions& options,
                 MetricsRegistry* metrics)
    : store_(store), log_(log), clock_(clock), engine_(engine), options_(options) {
  if (metrics) RegisterMetrics(*metrics);
}

Monitor::~Monitor() { Stop(); }

std::vector<store::Migration> Monitor::Migrations() {
  std::string rollup_buckets;
  for (size_t i = 0; i <= kResponseBucketsMs.size(); ++i)
    rollup_buckets += ", b" + std::to_string(i) + " INTEGER NOT NULL DEFAULT 0";
  return {{"checks_runtime", 1,
           "CREATE TABLE check_state ("
           " check_id TEXT PRIMARY KEY, pending INTEGER NOT NULL, state INTEGER NOT NULL,"
           " hard INTEGER NOT NULL, attempt INTEGER NOT NULL, hard_state INTEGER NOT NULL,"
           " since INTEGER NOT NULL, hard_since INTEGER NOT NULL,"
           " recovery_count INTEGER NOT NULL, flapping INTEGER NOT NULL,"
           " flap_percent REAL NOT NULL, recent TEXT NOT NULL, suppressed_by TEXT NOT NULL,"
           " last_at INTEGER, last_outcome INTEGER, last_message TEXT, last_duration_us INTEGER,"
           " last_in_maintenance INTEGER, rollup_mark INTEGER,"
           " hb_base INTEGER, last_ping INTEGER, last_start INTEGER, last_job_ms INTEGER);"
           "CREATE TABLE check_results ("
           " check_id TEXT NOT NULL, at INTEGER NOT NULL, outcome INTEGER NOT NULL,"
           " duration_us INTEGER NOT NULL, message TEXT NOT NULL,"
           " in_maintenance INTEGER NOT NULL, details TEXT NOT NULL);"
           "CREATE INDEX check_results_by_check ON check_results (check_id, at);"
           "CREATE INDEX check_results_by_time ON check_results (at);"
           "CREATE TABLE check_history ("
           " check_id TEXT NOT NULL, at INTEGER NOT NULL, hard_state INTEGER NOT NULL,"
           " message TEXT NOT NULL, in_maintenance INTEGER NOT NULL,"
           " suppressed_by TEXT NOT NULL);"
           "CREATE INDEX check_history_by_check ON check_history (check_id, at);"
           "CREATE TABLE check_rollups ("
           " check_id TEXT NOT NULL, hour INTEGER NOT NULL,"
           " n_ok INTEGER NOT NULL, n_warning INTEGER NOT NULL, n_critical INTEGER NOT NULL,"
           " n_unknown INTEGER NOT NULL, ms_ok INTEGER NOT NULL, ms_warning INTEGER NOT NULL,"
           " ms_critical INTEGER NOT NULL, ms_unknown INTEGER NOT NULL,"
           " ms_maintenance INTEGER NOT NULL, ms_monitored INTEGER NOT NULL,"
           " rt_count INTEGER NOT NULL, rt_sum REAL NOT NULL, rt_min REAL NOT NULL,"
           " rt_max REAL NOT NULL" +
               rollup_buckets + ", PRIMARY KEY (check_id, hour));"}};
}

// ---- definitions -------------------------------------------------------------------------------

Status Monitor::Load(const std::vector<CheckDef>& defs,
                     const std::vector<MaintenanceWindow>& windows,
                     const std::map<std::string, std::vector<std::string>>& hard_deps) {
  std::map<std::string, store::Row> rows;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto rs,
        tx.Query("SELECT check_id, pending, state, hard, attempt, hard_state, since, hard_since,"
                 " recovery_count, flapping, flap_percent, recent, suppressed_by, last_at,"
                 " last_outcome, last_message, last_duration_us, last_in_maintenance,"
                 " rollup_mark, hb_base, last_ping, last_start, last_job_ms FROM check_state"));
    for (auto& r : rs) rows.emplace(r.Text(0), std::move(r));
    return Status::Ok();
  }));
  for (const auto& w : windows) UpsertWindow(w);
  {
    std::lock_guard lock(mu_);
    hard_deps_ = hard_deps;
  }
  for (const auto& d : defs) Upsert(d);
  std::lock_guard lock(mu_);
  for (auto& [id, e] : entries_) {
    auto it = rows.find(id);
    if (it == rows.end()) continue;
    const store::Row& r = it->second;
    e->st.pending = r.Int(1) != 0;
    e->st.state = OutcomeFromInt(r.Int(2));
    e->st.hard = r.Int(3) != 0;
    e->st.attempt = static_cast<int>(r.Int(4));
    e->st.hard_state = OutcomeFromInt(r.Int(5));
    e->st.since = FromMs(r.Int(6));
    e->st.hard_since = FromMs(r.Int(7));
    e->st.recovery_count = static_cast<int>(r.Int(8));
    e->st.flapping = r.Int(9) != 0;
    e->st.flap_percent = r.Double(10);
    e->st.recent = DecodeRecent(r.Text(11));
    e->suppressed_by = r.Text(12);
    if (!r.IsNull(13)) {
      probe::Result last;
      last.started = FromMs(r.Int(13));
      last.outcome = OutcomeFromInt(r.Int(14));
      last.message = r.Text(15);
      last.duration = std::chrono::microseconds(r.Int(16));
      e->last = std::move(last);
      e->last_in_maintenance = r.Int(17) != 0;
    }
    if (!r.IsNull(18)) e->rollup_mark = FromMs(r.Int(18));
    if (!r.IsNull(19)) e->hb_base = FromMs(r.Int(19));
    if (!r.IsNull(20)) e->last_ping = FromMs(r.Int(20));
    if (!r.IsNull(21)) e->last_start = FromMs(r.Int(21));
    if (!r.IsNull(22)) e->last_job = milliseconds(r.Int(22));
    if (e->def.type == CheckType::kHeartbeat && e->def.enabled) PlanHeartbeat(*e, clock_.Now());
  }
  return Status::Ok();
}

void Monitor::Upsert(const CheckDef& def) {
  const Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  const std::string id = def.id();
  auto& slot = entries_[id];
  const bool fresh = !slot;
  if (fresh) {
    slot = std::make_unique<Entry>();
    slot->hb_base = now;
  }
  Entry& e = *slot;
  const bool replan = fresh || e.def.interval != def.interval || e.def.enabled != def.enabled ||
                      e.def.type != def.type || e.def.doc != def.doc;
  // A heartbeat that was off (or was another type) is not late for the time it was off.
  if (!fresh && def.type == CheckType::kHeartbeat && def.enabled &&
      (!e.def.enabled || e.def.type != CheckType::kHeartbeat)) {
    e.hb_base = now;
    e.hb_late_reported = false;
  }
  if (!e.def.heartbeat.token.empty()) tokens_.erase(e.def.heartbeat.token);
  e.def = def;
  e.policy = PolicyOf(def);
  if (def.type == CheckType::kHeartbeat) {
    tokens_[def.heartbeat.token] = id;
    e.cron.reset();
    if (!def.heartbeat.cron.empty()) {
      auto c = CronSchedule::Parse(def.heartbeat.cron, def.heartbeat.time_zone);
      if (c.ok()) e.cron = std::move(c.value());
    }
  }
  checks_by_service_[def.service].insert(id);
  if (!replan) return;
  e.run = ++runs_issued_;  // unique across incarnations of the same id
  if (e.in_flight) {
    // The running probe belongs to the old definition; its result will be dropped.
    e.in_flight = false;
  }
  e.next_due.reset();
  ++e.plan_gen;
  if (!def.enabled) return;
  if (def.type == CheckType::kHeartbeat) {
    PlanHeartbeat(e, now);
  } else {
    e.scheduled = now;
    PlanNext(e, now, false);
  }
  WakeScheduler();
}

void Monitor::Remove(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (!it->second->def.heartbeat.token.empty()) tokens_.erase(it->second->def.heartbeat.token);
  auto svc = checks_by_service_.find(it->second->def.service);
  if (svc != checks_by_service_.end()) svc->second.erase(id);
  entries_.erase(it);
  dirty_.erase(id);
  // Nothing buffered for it may land under a check created again with the same id.
  std::erase_if(pending_results_, [&](const PendingResult& r) { return r.check_id == id; });
  std::erase_if(pending_history_, [&](const PendingHistory& h) { return h.check_id == id; });
  std::erase_if(failed_rollups_, [&](const auto& kv) { return kv.first.first == id; });
}

void Monitor::UpsertWindow(const MaintenanceWindow& w) {
  auto schedule = MaintenanceSchedule::Compile(w.timing);
  if (!schedule.ok()) {
    spdlog::error("maintenance window {}: {}", w.name, schedule.status().ToString());
    return;
  }
  std::lock_guard lock(mu_);
  windows_.insert_or_assign(w.name, std::make_pair(w, std::move(schedule.value())));
}

void Monitor::RemoveWindow(const std::string& name) {
  std::lock_guard lock(mu_);
  windows_.erase(name);
}

void Monitor::SetHardDependencies(const std::string& service, std::vector<std::string> deps) {
  std::lock_guard lock(mu_);
  if (deps.empty())
    hard_deps_.erase(service);
  else
    hard_deps_[service] = std::move(deps);
}

// ---- planning ----------------------------------------------------------------------------------

void Monitor::PlanNext(Entry& e, Timestamp now, bool retry) {
  const int64_t interval = std::max<int64_t>(e.def.interval.count(), 1);
  int64_t next;
  if (retry) {
    next = Ms(e.scheduled) + e.def.effective_retry().count();
    if (next <= Ms(now)) next = Ms(now) + 1;
  } else {
    // The grid of this check: offset + k * interval. No drift: the next run follows the grid,
    // not the time the last run finished.
    const int64_t offset = static_cast<int64_t>(Fnv1a64(e.def.id()) % interval);
    // Grid points already past were missed (a run outlasted its interval): the next is ahead.
    int64_t base = std::max(Ms(e.scheduled), Ms(now));
    int64_t k = (base - offset) / interval + 1;
    if (base - offset < 0) k = 0;
    next = offset + k * interval;
    while (next <= base) next += interval;
  }
  e.next_due = FromMs(next);
  ++e.plan_gen;
  due_.emplace(FromMs(next), e.def.id(), e.plan_gen);
}

void Monitor::PlanHeartbeat(Entry& e, Timestamp now) {
  const HeartbeatSpec& hb = e.def.heartbeat;
  Timestamp deadline;
  e.next_due.reset();
  ++e.plan_gen;
  if (e.cron) {
    Timestamp expected = e.cron->Next(e.hb_base);
    if (expected == Timestamp::max()) return;
    deadline = expected + hb.grace;
  } else {
    if (hb.period.count() <= 0) return;  // refused by validation; never spin on it
    deadline = e.hb_base + hb.period + hb.grace;
  }
  // Once late, re-check every period (or cron occurrence) so the result stream keeps going.
  while (e.hb_late_reported && deadline <= now) {
    if (e.cron) {
      Timestamp expected = e.cron->Next(deadline);
      if (expected == Timestamp::max()) return;
      deadline = expected + hb.grace;
    } else {
      deadline += hb.period;
    }
  }
  e.next_due = deadline;
  due_.emplace(deadline, e.def.id(), e.plan_gen);
}

bool Monitor::InMaintenance(const Entry& e, Timestamp t) const {
  for (const auto& [name, w] : windows_)
    if (Covers(w.first, e.def) && w.second.ActiveAt(t)) return true;
  return false;
}

std::string Monitor::SuppressedBy(const Entry& e) const {
  auto deps = hard_deps_.find(e.def.service);
  if (deps == hard_deps_.end()) return {};
  for (const auto& dep : deps->second) {
    auto ids = checks_by_service_.find(dep);
    if (ids == checks_by_service_.end()) continue;
    for (const auto& id : ids->second) {
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;
      const Entry& other = *it->second;
      if (other.def.enabled && !other.st.pending && other.st.hard_state == Outcome::kCritical)
        return other.suppressed_by.empty() ? id : other.suppressed_by;
    }
  }
  return {};
}

void Monitor::MarkDirty(Entry& e) { dirty_.insert(e.def.id()); }

// ---- results -----------------------------------------------------------------------------------

void Monitor::ProcessResult(Entry& e, probe::Result r, Timestamp now) {
  const bool in_maint = InMaintenance(e, now);
  const std::string id = e.def.id();

  // Time since the previous result counts toward the hard state it was in.
  if (e.rollup_mark && *e.rollup_mark < now && !e.st.pending)
    e.rollup.AddTime(*e.rollup_mark, now, e.st.hard_state, in_maint);
  e.rollup_mark = now;
  std::optional<std::chrono::microseconds> rt;
  if (e.def.type != CheckType::kHeartbeat && r.outcome != Outcome::kUnknown) rt = r.duration;
  e.rollup.AddResult(now, r.outcome, rt);

  Transition t = ApplyResult(e.st, r.outcome, now, e.policy);
  if (r.outcome == Outcome::kOk && e.st.hard_state == Outcome::kOk) {
    e.suppressed_by.clear();
  } else if (t.hard_changed || t.first_result) {
    e.suppressed_by = SuppressedBy(e);
  }

  if (runs_)
    runs_->Add({std::string(CheckTypeName(e.def.type)), std::string(probe::OutcomeName(r.outcome))});

  if (t.first_result || t.hard_changed) {
    pending_history_.push_back(
        {id, now, e.st.hard_state, r.message, in_maint, e.suppressed_by});
  }
  auto base_payload = [&] {
    json::object p;
    p["check"] = id;
    p["service"] = e.def.service;
    p["name"] = e.def.name;
    p["type"] = CheckTypeName(e.def.type);
    p["severity"] = SeverityName(e.def.severity);
    json::object labels;
    for (const auto& [k, v] : e.def.labels) labels[k] = v;
    p["labels"] = std::move(labels);
    p["at"] = FormatRfc3339(now);
    p["in_maintenance"] = in_maint;
    return p;
  };
  if (t.hard_changed) {
    json::object p = base_payload();
    p["from"] = t.first_result ? "PENDING" : probe::OutcomeName(t.old_hard_state);
    p["to"] = probe::OutcomeName(t.new_hard_state);
    p["state_type"] = "hard";
    p["attempt"] = e.st.attempt;
    p["message"] = r.message;
    p["flapping"] = e.st.flapping;
    p["suppressed_by"] =
        e.suppressed_by.empty() ? json::value(nullptr) : json::value(e.suppressed_by);
    pending_events_.push_back(
        {{kSystemActor, "check.state_changed", "check", id, JsonToString(p)}});
  }
  if (t.flapping_started || t.flapping_stopped) {
    json::object p = base_payload();
    p["percent"] = std::round(e.st.flap_percent * 100) / 100;
    p["state"] = probe::OutcomeName(e.st.state);
    pending_events_.push_back({{kSystemActor,
                                t.flapping_started ? "check.flapping_started"
                                                   : "check.flapping_stopped",
                                "check", id, JsonToString(p)}});
  }

  if (pending_results_.size() >= options_.max_buffered_results) {
    pending_results_.pop_front();
    ++dropped_results_;
  }
  pending_results_.push_back({0, id, r, in_maint});
  e.last = std::move(r);
  e.last_in_maintenance = in_maint;
  MarkDirty(e);
  if (e.def.type != CheckType::kHeartbeat && e.def.enabled) PlanNext(e, now, t.retry);
}

void Monitor::StartProbe(Entry& e, Timestamp now) {
  e.in_flight = true;
  ++in_flight_;
  (void)now;
  starts_.push_back({e.def.probe, e.def.timeout, e.def.id(), e.run});
}

Timestamp Monitor::Tick(Timestamp now) {
  std::vector<Completion> done;
  {
    std::lock_guard lock(completions_mu_);
    done.swap(completions_);
  }
  std::vector<ProbeStart> starts;
  Timestamp next;
  {
    std::lock_guard lock(mu_);
    next = TickLocked(now, done);
    starts.swap(starts_);
  }
  // Probes are handed to the engine outside the lock: the engine takes its own locks and may
  // call back at once.
  for (auto& st : starts) {
    engine_.Run(std::move(st.spec), st.timeout,
                [this, id = std::move(st.id), run = st.run](probe::Result r) {
                  {
                    std::lock_guard lock(completions_mu_);
                    completions_.push_back({id, run, std::move(r)});
                  }
                  WakeScheduler();
                });
  }
  return next;
}

Timestamp Monitor::TickLocked(Timestamp now, std::vector<Completion>& done) {
  // The wall clock stepped back (NTP): re-plan everything from now, or checks would wait out
  // the step.
  if (last_tick_ != Timestamp{} && now + std::chrono::seconds(1) < last_tick_) {
    spdlog::warn("checks: the clock stepped back by {} ms; re-planning every check",
                 (last_tick_ - now).count());
    for (auto& [id, e] : entries_) {
      if (!e->def.enabled) continue;
      if (e->def.type == CheckType::kHeartbeat) {
        e->hb_base = std::min(e->hb_base, now);
        PlanHeartbeat(*e, now);
      } else {
        e->scheduled = now;
        PlanNext(*e, now, false);
      }
    }
  }
  last_tick_ = now;
  for (auto& c : done) {
    --in_flight_;
    auto it = entries_.find(c.id);
    if (it == entries_.end()) continue;
    Entry& e = *it->second;
    if (c.run != e.run) continue;  // a result of a superseded definition
    e.in_flight = false;
    if (stopped_) continue;  // cancelled by shutdown: not a result about the target
    ProcessResult(e, std::move(c.result), now);
  }
  if (stopped_) return now + std::chrono::seconds(1);
  // Due checks that cannot start for the concurrency cap wait here and go back afterwards, so
  // heartbeats and stale entries behind them are still handled.
  std::vector<Due> blocked;
  while (!due_.empty()) {
    auto [due, id, gen] = due_.top();
    if (due > now) break;
    due_.pop();
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second->plan_gen != gen) continue;
    Entry& e = *it->second;
    if (!e.def.enabled) continue;
    if (e.def.type == CheckType::kHeartbeat) {
      probe::Result r;
      r.outcome = Outcome::kCritical;
      r.started = now;
      r.message = e.last_ping ? "late: no ping since " + FormatRfc3339(*e.last_ping) +
                                    " (expected by " + FormatRfc3339(due) + ")"
                              : "late: no ping yet (expected by " + FormatRfc3339(due) + ")";
      e.hb_late_reported = true;
      ProcessResult(e, std::move(r), now);
      PlanHeartbeat(e, now);
      continue;
    }
    if (e.in_flight) {
      // The previous run is still going: this one is skipped, the grid goes on.
      ++e.skipped;
      if (skipped_) skipped_->Add({"in_flight"});
      const Timestamp running = e.scheduled;
      e.scheduled = due;
      PlanNext(e, now, false);
      e.scheduled = running;
      continue;
    }
    if (in_flight_ >= options_.max_concurrent) {
      blocked.emplace_back(due, id, gen);
      continue;
    }
    e.scheduled = due;
    if (lateness_) lateness_->Observe({}, std::chrono::duration<double>(now - due).count());
    StartProbe(e, now);
    // The next run is planned now, so a run that outlasts its interval is seen as skipped; the
    // result may re-plan it (a retry).
    PlanNext(e, now, false);
  }
  for (auto& b : blocked) due_.push(std::move(b));
  // Blocked checks start when a probe finishes (that wakes the scheduler), not by polling.
  if (!blocked.empty()) return now + std::chrono::seconds(1);
  if (due_.empty()) return now + std::chrono::seconds(1);
  return std::max(now, std::get<0>(due_.top()));
}

std::optional<std::string> Monitor::CheckForToken(const std::string& token) const {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

Status Monitor::Ping(const std::string& token, PingKind kind,
                              std::optional<int> exit_code) {
  const Timestamp now = clock_.Now();
  std::lock_guard lock(mu_);
  auto tok = tokens_.find(token);
  if (tok == tokens_.end()) return NotFound("no check has this ping token");
  auto it = entries_.find(tok->second);
  if (it == entries_.end() || !it->second->def.enabled)
    return NotFound("no check has this ping token");
  Entry& e = *it->second;
  if (kind == PingKind::kStart) {
    e.last_start = now;
    MarkDirty(e);
    return Status::Ok();
  }
  bool success = kind == PingKind::kSuccess || (kind == PingKind::kExitCode && exit_code == 0);
  probe::Result r;
  r.started = now;
  r.outcome = success ? Outcome::kOk : Outcome::kCritical;
  if (e.last_start && (!e.last_ping || *e.last_start > *e.last_ping)) {
    e.last_job = std::chrono::duration_cast<milliseconds>(now - *e.last_start);
    r.duration = std::chrono::duration_cast<std::chrono::microseconds>(*e.last_job);
  }
  if (success) {
    r.message = e.last_job ? "ping received; job took " + FormatDuration(*e.last_job)
                           : "ping received";
  } else if (kind == PingKind::kExitCode) {
    r.message = "job reported exit code " + std::to_string(exit_code.value_or(-1));
    r.exit_code = exit_code.value_or(-1);
  } else {
    r.message = "job reported failure";
  }
  e.last_ping = now;
  e.last_start.reset();
  e.hb_base = now;
  e.hb_late_reported = false;
  ProcessResult(e, std::move(r), now);
  PlanHeartbeat(e, now);
  WakeScheduler();
  return Status::Ok();
}

std::optional<CheckStatus> Monitor::StatusOf(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  const Entry& e = *it->second;
  CheckStatus s;
  s.state = e.st;
  s.last = e.last;
  s.last_in_maintenance = e.last_in_maintenance;
  s.in_maintenance = InMaintenance(e, clock_.Now());
  s.suppressed_by = e.suppressed_by;
  s.skipped_in_flight = e.skipped;
  if (e.def.type == CheckType::kHeartbeat) {
    s.last_ping = e.last_ping;
    s.last_start = e.last_start;
    s.last_job_duration = e.last_job;
    if (e.def.enabled) s.ping_deadline = e.next_due;
  } else if (e.def.enabled) {
    s.next_run = e.next_due;
  }
  return s;
}

std::vector<Monitor::HardView> Monitor::HardStates() const {
  std::lock_guard lock(mu_);
  const Timestamp now = clock_.Now();
  std::vector<HardView> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) {
    HardView v;
    v.def = e->def;
    v.hard_state = e->st.hard_state;
    v.hard_since = e->st.hard_since;
    v.pending = e->st.pending;
    if (e->last) v.message = e->last->message;
    v.in_maintenance = InMaintenance(*e, now);
    v.suppressed_by = e->suppressed_by;
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<std::string> Monitor::WindowsCovering(const std::string& service,
                                                  const std::map<std::string, std::string>& labels,
                                                  Timestamp t) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, w] : windows_) {
    const MaintenanceWindow& mw = w.first;
    if (std::find(mw.services.begin(), mw.services.end(), service) == mw.services.end()) continue;
    bool labels_match = true;
    for (const auto& [k, v] : mw.check_labels) {
      auto it = labels.find(k);
      if (it == labels.end() || it->second != v) {
        labels_match = false;
        break;
      }
    }
    if (labels_match && w.second.ActiveAt(t)) out.push_back(name);
  }
  return out;
}

size_t Monitor::buffered() const {
  std::lock_guard lock(mu_);
  return pending_results_.size();
}

// ---- persistence -------------------------------------------------------------------------------

Status Monitor::Flush() {
  std::lock_guard flush_lock(flush_mu_);
  std::deque<PendingResult> results;
  std::vector<PendingEvent> evs;
  std::vector<PendingHistory> history;
  std::vector<std::pair<std::string, HourRollup>> rollups;
  std::vector<store::Params> states;
  std::set<std::string> dirty;
  {
    std::lock_guard lock(mu_);
    results.swap(pending_results_);
    evs.swap(pending_events_);
    history.swap(pending_history_);
    dirty.swap(dirty_);
    for (auto& [key, h] : failed_rollups_) rollups.emplace_back(key.first, std::move(h));
    failed_rollups_.clear();
    for (const auto& id : dirty) {
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;
      Entry& e = *it->second;
      for (auto& h : e.rollup.Drain()) rollups.emplace_back(id, std::move(h));
      const CheckState& s = e.st;
      store::Params p{id,
                      int64_t{s.pending},
                      int64_t{static_cast<int>(s.state)},
                      int64_t{s.hard},
                      int64_t{s.attempt},
                      int64_t{static_cast<int>(s.hard_state)},
                      Ms(s.since),
                      Ms(s.hard_since),
                      int64_t{s.recovery_count},
                      int64_t{s.flapping},
                      s.flap_percent,
                      EncodeRecent(s.recent),
                      e.suppressed_by};
      if (e.last) {
        p.push_back(Ms(e.last->started));
        p.push_back(int64_t{static_cast<int>(e.last->outcome)});
        p.push_back(e.last->message);
        p.push_back(static_cast<int64_t>(e.last->duration.count()));
        p.push_back(int64_t{e.last_in_maintenance});
      } else {
        for (int i = 0; i < 5; ++i) p.push_back(std::monostate{});
      }
      p.push_back(e.rollup_mark ? store::Value(Ms(*e.rollup_mark)) : store::Value());
      p.push_back(Ms(e.hb_base));
      p.push_back(e.last_ping ? store::Value(Ms(*e.last_ping)) : store::Value());
      p.push_back(e.last_start ? store::Value(Ms(*e.last_start)) : store::Value());
      p.push_back(e.last_job ? store::Value(static_cast<int64_t>(e.last_job->count()))
                             : store::Value());
      states.push_back(std::move(p));
    }
  }
  if (results.empty() && evs.empty() && history.empty() && rollups.empty() && states.empty())
    return Status::Ok();

  Status st = store_.Write([&](store::Tx& tx) -> Status {
    // Rows are written only while the check exists: a check deleted since its results were
    // buffered leaves nothing behind.
    for (const auto& r : results) {
      PLATOPS_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO check_results (check_id, at, outcome, duration_us, message,"
                  " in_maintenance, details) SELECT $1, $2, $3, $4, $5, $6, $7"
                  " WHERE EXISTS (SELECT 1 FROM checks WHERE id = $1)",
                  {r.check_id, Ms(r.result.started),
                   int64_t{static_cast<int>(r.result.outcome)},
                   static_cast<int64_t>(r.result.duration.count()), r.result.message,
                   int64_t{r.in_maintenance}, Details(r.result)})
              .status());
    }
    for (const auto& h : history) {
      PLATOPS_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO check_history (check_id, at, hard_state, message, in_maintenance,"
                  " suppressed_by) SELECT $1, $2, $3, $4, $5, $6"
                  " WHERE EXISTS (SELECT 1 FROM checks WHERE id = $1)",
                  {h.check_id, Ms(h.at), int64_t{static_cast<int>(h.hard_state)}, h.message,
                   int64_t{h.in_maintenance}, h.suppressed_by})
              .status());
    }
    for (const auto& p : states) {
      PLATOPS_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO check_state (check_id, pending, state, hard, attempt, hard_state,"
                  " since, hard_since, recovery_count, flapping, flap_percent, recent,"
                  " suppressed_by, last_at, last_outcome, last_message, last_duration_us,"
                  " last_in_maintenance, rollup_mark, hb_base, last_ping, last_start,"
                  " last_job_ms) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
                  " $14, $15, $16, $17, $18, $19, $20, $21, $22, $23"
                  " WHERE EXISTS (SELECT 1 FROM checks WHERE id = $1)"
                  " ON CONFLICT (check_id) DO UPDATE SET pending = excluded.pending,"
                  " state = excluded.state, hard = excluded.hard, attempt = excluded.attempt,"
                  " hard_state = excluded.hard_state, since = excluded.since,"
                  " hard_since = excluded.hard_since, recovery_count = excluded.recovery_count,"
                  " flapping = excluded.flapping, flap_percent = excluded.flap_percent,"
                  " recent = excluded.recent, suppressed_by = excluded.suppressed_by,"
                  " last_at = excluded.last_at, last_outcome = excluded.last_outcome,"
                  " last_message = excluded.last_message,"
                  " last_duration_us = excluded.last_duration_us,"
                  " last_in_maintenance = excluded.last_in_maintenance,"
                  " rollup_mark = excluded.rollup_mark, hb_base = excluded.hb_base,"
                  " last_ping = excluded.last_ping, last_start = excluded.last_start,"
                  " last_job_ms = excluded.last_job_ms",
                  p)
              .status());
    }
    static const std::string rollup_sql = [] {
      std::string cols, vals, sets;
      int n = 16;
      for (size_t i = 0; i <= kResponseBucketsMs.size(); ++i) {
        const std::string b = "b" + std::to_string(i);
        cols += ", " + b;
        vals += ", $" + std::to_string(++n);
        sets += ", " + b + " = check_rollups." + b + " + excluded." + b;
      }
      std::string sql =
          "INSERT INTO check_rollups (check_id, hour, n_ok, n_warning, n_critical, n_unknown,"
          " ms_ok, ms_warning, ms_critical, ms_unknown, ms_maintenance, ms_monitored, rt_count,"
          " rt_sum, rt_min, rt_max" +
          cols +
          ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16" + vals +
          " WHERE EXISTS (SELECT 1 FROM checks WHERE id = $1)"
          " ON CONFLICT (check_id, hour) DO UPDATE SET"
          " n_ok = check_rollups.n_ok + excluded.n_ok,"
          " n_warning = check_rollups.n_warning + excluded.n_warning,"
          " n_critical = check_rollups.n_critical + excluded.n_critical,"
          " n_unknown = check_rollups.n_unknown + excluded.n_unknown,"
          " ms_ok = check_rollups.ms_ok + excluded.ms_ok,"
          " ms_warning = check_rollups.ms_warning + excluded.ms_warning,"
          " ms_critical = check_rollups.ms_critical + excluded.ms_critical,"
          " ms_unknown = check_rollups.ms_unknown + excluded.ms_unknown,"
          " ms_maintenance = check_rollups.ms_maintenance + excluded.ms_maintenance,"
          " ms_monitored = check_rollups.ms_monitored + excluded.ms_monitored,"
          " rt_min = CASE WHEN excluded.rt_count = 0 THEN check_rollups.rt_min"
          "  WHEN check_rollups.rt_count = 0 OR excluded.rt_min < check_rollups.rt_min"
          "  THEN excluded.rt_min ELSE check_rollups.rt_min END,"
          " rt_max = CASE WHEN excluded.rt_count = 0 THEN check_rollups.rt_max"
          "  WHEN check_rollups.rt_count = 0 OR excluded.rt_max > check_rollups.rt_max"
          "  THEN excluded.rt_max ELSE check_rollups.rt_max END,"
          " rt_count = check_rollups.rt_count + excluded.rt_count,"
          " rt_sum = check_rollups.rt_sum + excluded.rt_sum" +
          sets;
      return sql;
    }();
    for (const auto& [id, h] : rollups) {
      store::Params p{id, Ms(h.hour)};
      for (int i = 0; i < 4; ++i) p.push_back(h.results[i]);
      for (int i = 0; i < 4; ++i) p.push_back(h.ms_in_state[i]);
      p.push_back(h.ms_in_maintenance);
      p.push_back(h.ms_monitored);
      p.push_back(h.rt_count);
      p.push_back(h.rt_sum_ms);
      p.push_back(h.rt_min_ms);
      p.push_back(h.rt_max_ms);
      for (int64_t b : h.rt_buckets) p.push_back(b);
      PLATOPS_RETURN_IF_ERROR(tx.Exec(rollup_sql, p).status());
    }
    for (const auto& ev : evs) PLATOPS_RETURN_IF_ERROR(log_.Append(tx, ev.draft).status());
    return Status::Ok();
  });
  if (st.ok()) return st;

  // Keep everything for the next attempt, in order, ahead of what arrived meanwhile.
  if (store_errors_) store_errors_->Add({});
  std::lock_guard lock(mu_);
  for (auto it = results.rbegin(); it != results.rend(); ++it) {
    if (pending_results_.size() >= options_.max_buffered_results) {
      ++dropped_results_;
      continue;
    }
    pending_results_.push_front(std::move(*it));
  }
  evs.insert(evs.end(), std::make_move_iterator(pending_events_.begin()),
             std::make_move_iterator(pending_events_.end()));
  pending_events_ = std::move(evs);
  history.insert(history.end(), std::make_move_iterator(pending_history_.begin()),
                 std::make_move_iterator(pending_history_.end()));
  pending_history_ = std::move(history);
  for (auto& [id, h] : rollups) {
    auto [it, fresh] = failed_rollups_.try_emplace({id, Ms(h.hour)}, h);
    if (!fresh) MergeInto(it->second, h);
  }
  for (const auto& id : dirty) dirty_.insert(id);
  return st;
}

Status Monitor::Prune(Timestamp now) {
  const int64_t results_cutoff = Ms(now - options_.results_retention);
  const int64_t rollup_cutoff = Ms(now - options_.rollup_retention);
  return store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM check_results WHERE at < $1", {results_cutoff}).status());
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM check_rollups WHERE hour < $1", {rollup_cutoff}).status());
    // Keep the newest history row before the cutoff: it says what state the check was in.
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM check_history WHERE at < $1 AND at < (SELECT MAX(h2.at) FROM"
                " check_history h2 WHERE h2.check_id = check_history.check_id AND h2.at < $1)",
                {rollup_cutoff})
            .status());
    return Status::Ok();
  });
}

// ---- threads -----------------------------------------------------------------------------------

void Monitor::Start() {
  std::lock_guard lock(thread_mu_);
  if (scheduler_.joinable()) return;
  stopping_ = false;
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  writer_ = std::thread([this] { WriterLoop(); });
}

void Monitor::Stop() {
  {
    std::lock_guard lock(thread_mu_);
    if (!scheduler_.joinable()) return;
    stopping_ = true;
  }
  scheduler_cv_.notify_all();
  writer_cv_.notify_all();
  scheduler_.join();
  writer_.join();
  {
    std::lock_guard lock(mu_);
    stopped_ = true;  // results still in flight are the engine's cancellations: dropped
  }
  Status st = Flush();
  if (!st.ok()) spdlog::error("checks: final flush failed: {}", st.ToString());
}

void Monitor::WakeScheduler() {
  {
    std::lock_guard lock(thread_mu_);
    // One wake-up is enough for everything that arrives before the scheduler runs again.
    if (woken_) return;
    woken_ = true;
  }
  scheduler_cv_.notify_one();
}

void Monitor::SchedulerLoop() {
  std::unique_lock lock(thread_mu_);
  while (!stopping_) {
    lock.unlock();
    const Timestamp now = clock_.Now();
    const Timestamp next = Tick(now);
    lock.lock();
    if (stopping_) break;
    if (woken_) {
      woken_ = false;
      continue;
    }
    auto wait = std::chrono::duration_cast<milliseconds>(next - clock_.Now());
    if (wait.count() <= 0) continue;
    scheduler_cv_.wait_for(lock, std::min<milliseconds>(wait, std::chrono::seconds(1)),
                           [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

void Monitor::WriterLoop() {
  std::unique_lock lock(thread_mu_);
  Timestamp last_prune = clock_.Now();
  milliseconds backoff = options_.flush_interval;
  while (!stopping_) {
    writer_cv_.wait_for(lock, backoff, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Status st = Flush();
    if (!st.ok()) {
      spdlog::warn("checks: cannot write results ({} buffered), retrying: {}", buffered(),
                   st.ToString());
      backoff = std::min<milliseconds>(backoff * 2, std::chrono::seconds(30));
    } else {
      backoff = options_.flush_interval;
    }
    const Timestamp now = clock_.Now();
    if (st.ok() && now - last_prune >= options_.prune_interval) {
      last_prune = now;
      Status pst = Prune(now);
      if (!pst.ok()) spdlog::warn("checks: prune failed: {}", pst.ToString());
    }
    lock.lock();
  }
}

// ---- metrics -----------------------------------------------------------------------------------

void Monitor::RegisterMetrics(MetricsRegistry& registry) {
  runs_ = &registry.Counter("platops_check_runs_total", "Check results by type and outcome.",
                            {"type", "outcome"});
  skipped_ = &registry.Counter("platops_check_skipped_total",
                               "Check runs not started, by reason (in_flight: the previous run "
                               "of the check was still going).",
                               {"reason"});
  store_errors_ = &registry.Counter("platops_check_store_errors_total",
                                    "Failed writes of check results (they are retried).");
  lateness_ = &registry.Histogram(
      "platops_check_start_lateness_seconds",
      "How late checks start after their scheduled time.", {},
      {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  registry.Gauge("platops_check_in_flight", "Probes running now.", {}, [this] {
    std::lock_guard lock(mu_);
    return std::vector<std::pair<LabelValues, double>>{{{}, static_cast<double>(in_flight_)}};
  });
  registry.Gauge("platops_check_results_buffered", "Results waiting to be written.", {}, [this] {
    std::lock_guard lock(mu_);
    return std::vector<std::pair<LabelValues, double>>{
        {{}, static_cast<double>(pending_results_.size())}};
  });
  registry.Gauge(
      "platops_check_results_dropped_total",
      "Raw results dropped because the store failed for too long (states and events are kept).",
      {},
      [this] {
        std::lock_guard lock(mu_);
        return std::vector<std::pair<LabelValues, double>>{
            {{}, static_cast<double>(dropped_results_)}};
      },
      true);

  // One snapshot function per family; each walks the checks under the lock (cheap: no I/O).
  using Samples = std::vector<std::pair<LabelValues, double>>;
  auto per_check = [this](auto fn) {
    return [this, fn] {
      Samples out;
      std::lock_guard lock(mu_);
      for (const auto& [id, e] : entries_) {
        if (!e->def.enabled) continue;
        LabelValues base{e->def.service, e->def.name, std::string(CheckTypeName(e->def.type))};
        fn(*e, base, out);
      }
      return out;
    };
  };
  const std::vector<std::string> labels = {"service", "check", "kind"};
  registry.Gauge("probe_success", "Whether the last probe succeeded (1) or not (0).", labels,
                 per_check([](const Entry& e, const LabelValues& l, Samples& out) {
                   if (e.last) out.emplace_back(l, e.last->outcome == Outcome::kOk ? 1 : 0);
                 }));
  registry.Gauge("probe_duration_seconds", "How long the last probe took.", labels,
                 per_check([](const Entry& e, const LabelValues& l, Samples& out) {
                   if (e.last && e.def.type != CheckType::kHeartbeat)
                     out.emplace_back(l, std::chrono::duration<double>(e.last->duration).count());
                 }));
  std::vector<std::string> phase_labels = labels;
  phase_labels.push_back("phase");
  registry.Gauge("probe_http_duration_seconds", "Duration of the last HTTP probe by phase.",
                 phase_labels, per_check([](const Entry& e, const LabelValues& l, Samples& out) {
                   if (!e.last || !e.last->http_phases) return;
                   const auto& ph = *e.last->http_phases;
                   const std::pair<const char*, std::chrono::microseconds> phases[] = {
                       {"resolve", ph.resolve},
                       {"connect", ph.connect},
                       {"tls", ph.tls},
                       {"processing", ph.processing},
                       {"transfer", ph.transfer}};
                   for (const auto& [name, d] : phases) {
                     LabelValues v = l;
                     v.emplace_back(name);
                     out.emplace_back(std::move(v), std::chrono::duration<double>(d).count());
                   }
                 }));
  registry.Gauge("probe_http_status_code", "HTTP status code of the last HTTP probe.", labels,
                 per_check([](const Entry& e, const LabelValues& l, Samples& out) {
                   if (e.last && e.def.type == CheckType::kHttp)
                     out.emplace_back(l, e.last->http_status);
                 }));
  registry.Gauge("probe_ssl_earliest_cert_expiry",
                 "Expiry of the earliest certificate in the chain, in Unix seconds.", labels,
                 per_check([](const Entry& e, const LabelValues& l, Samples& out) {
                   if (e.last && e.last->cert_expiry)
                     out.emplace_back(l, static_cast<double>(Ms(*e.last->cert_expiry)) / 1000.0);
                 }));
  registry.Gauge("probe_dns_lookup_time_seconds", "DNS resolution time of the last DNS probe.",
                 labels, per_check([](const Entry& e, const LabelValues& l, Samples& out) {
                   if (e.last && e.last->dns_lookup)
                     out.emplace_back(l,
                                      std::chrono::duration<double>(*e.last->dns_lookup).count());
                 }));
  registry.Gauge("platops_check_state",
                 "Current state of the check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", labels,
                 per_check([](const Entry& e, const LabelValues& l, Samples& out) {
                   if (!e.st.pending) out.emplace_back(l, static_cast<int>(e.st.state));
                 }));
  registry.Gauge("platops_check_hard_state",
                 "Current HARD state of the check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", labels,
                 per_check([](const Entry& e, const LabelValues& l, Samples& out) {
                   if (!e.st.pending) out.emplace_back(l, static_cast<int>(e.st.hard_state));
                 }));
  registry.Gauge("platops_check_flapping", "Whether the check is flapping.", labels,
                 per_check([](const Entry& e, const LabelValues& l, Samples& out) {
                   out.emplace_back(l, e.st.flapping ? 1 : 0);
                 }));
  std::vector<std::string> perf_labels = labels;
  perf_labels.push_back("label");
  perf_labels.push_back("unit");
  registry.Gauge("platops_check_perfdata",
                 "Performance data of the last exec check result, by plugin label.", perf_labels,
                 per_check([](const Entry& e, const LabelValues& l, Samples& out) {
                   if (!e.last) return;
                   for (const auto& pd : e.last->perfdata) {
                     LabelValues v = l;
                     v.push_back(pd.label);
                     v.push_back(pd.unit);
                     out.emplace_back(std::move(v), pd.value);
                   }
                 }));
}

}  // namespace platops::checks
