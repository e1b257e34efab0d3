#include "checks/monitor.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "base/json_reader.h"
#include "base/time_util.h"
#include "catalog/catalog.h"
#include "checks/checks.h"
#include "checks/codec.h"
#include "events/event_bus.h"
#include "identity/identity.h"
#include "testing/temp_store.h"

namespace platops::checks {
namespace {

using namespace std::chrono_literals;
using probe::Outcome;

std::vector<store::Migration> AllMigrations() {
  auto m = events::EventLog::Migrations();
  for (auto& x : identity::IdentityService::Migrations()) m.push_back(x);
  for (auto& x : catalog::CatalogService::Migrations()) m.push_back(x);
  for (auto& x : ChecksService::Migrations()) m.push_back(x);
  return m;
}

// A probe engine whose probes finish when the test says so.
class FakeEngine final : public probe::ProbeEngine {
 public:
  struct Call {
    std::shared_ptr<const probe::Spec> spec;
    std::chrono::milliseconds timeout;
    probe::Callback done;
  };
  void Run(std::shared_ptr<const probe::Spec> spec, std::chrono::milliseconds timeout,
           probe::Callback done) override {
    calls.push_back({std::move(spec), timeout, std::move(done)});
  }
  void Start() override {}
  void Stop() override {}
  // Finishes the oldest unfinished probe.
  void Finish(Outcome o, Timestamp started, std::string message = "msg") {
    ASSERT_LT(finished, calls.size());
    probe::Result r;
    r.outcome = o;
    r.started = started;
    r.duration = 12ms;
    r.message = std::move(message);
    calls[finished++].done(std::move(r));
  }
  size_t unfinished() const { return calls.size() - finished; }
  std::vector<Call> calls;
  size_t finished = 0;
};

// Wraps a store and fails every Write while `fail` is set.
class FlakyStore final : public store::Store {
 public:
  explicit FlakyStore(store::Store& inner) : inner_(inner) {}
  Status Write(const std::function<Status(store::Tx&)>& fn) override {
    if (fail) return Unavailable("disk on fire");
    return inner_.Write(fn);
  }
  Status Read(const std::function<Status(store::Tx&)>& fn) const override {
    return inner_.Read(fn);
  }
  Status Migrate(const std::vector<store::Migration>& m) override { return inner_.Migrate(m); }
  bool ready() const override { return inner_.ready(); }
  void Close() override {}
  bool fail = false;

 private:
  store::Store& inner_;
};

class MonitorTest : public ::testing::Test {
 protected:
  MonitorTest()
      : db_(AllMigrations()),
        flaky_(db_.store()),
        identity_(flaky_, log_, clock_),
        catalog_(flaky_, log_, clock_, identity_) {}

  void SetUp() override {
    ASSERT_TRUE(catalog_.CreateTeam("admin", {.slug = "core", .name = "Core"}).ok());
    ASSERT_TRUE(catalog_.CreateService("admin", Svc("db")).ok());
    ASSERT_TRUE(catalog_
                    .CreateService("admin", Svc("api", {{"db", catalog::DependencyKind::kHard}}))
                    .ok());
    NewService();
  }

  void NewService(MonitorOptions options = {}) {
    checks_.reset();
    bus_ = std::make_unique<events::EventBus>(flaky_, log_);
    checks_ = std::make_unique<ChecksService>(flaky_, log_, clock_, catalog_, engine_, options,
                                              nullptr);
    ASSERT_TRUE(checks_->Load(*bus_).ok());
  }

  static catalog::Service Svc(std::string slug, std::vector<catalog::Dependency> deps = {}) {
    catalog::Service s;
    s.slug = slug;
    s.name = slug;
    s.team = "core";
    s.depends_on = std::move(deps);
    return s;
  }

  CheckDef Def(std::string service, std::string name, std::chrono::milliseconds interval = 10s) {
    CheckDef d;
    d.service = std::move(service);
    d.name = std::move(name);
    d.type = CheckType::kTcp;
    d.interval = interval;
    d.timeout = 1s;
    probe::TcpSpec tcp;
    tcp.host = "127.0.0.1";
    tcp.port = 9;
    d.probe = std::make_shared<const probe::Spec>(tcp);
    d.doc = JsonToString(CheckDocJson(d));
    return d;
  }

  CheckDef Heartbeat(std::string name) {
    CheckDef d;
    d.service = "api";
    d.name = std::move(name);
    d.type = CheckType::kHeartbeat;
    d.max_attempts = 1;
    d.heartbeat.period = 1h;
    d.heartbeat.grace = 5min;
    d.heartbeat.token = "heartbeat-token-0123456789";
    d.doc = JsonToString(CheckDocJson(d));
    return d;
  }

  Monitor& mon() { return checks_->monitor(); }

  // Creates the check with a document that matches its fields (as the codec would write it).
  Status Create(CheckDef d) {
    d.doc = JsonToString(CheckDocJson(d));
    return checks_->CreateCheck("admin", std::move(d)).status();
  }

  // Runs the scheduler at `t` and finishes every started probe with `o`.
  void RunAt(Timestamp t, Outcome o) {
    clock_.Set(t);
    mon().Tick(t);
    while (engine_.unfinished() > 0) engine_.Finish(o, t);
    mon().Tick(t);
  }

  std::vector<events::Event> Events(const std::string& prefix) {
    std::vector<events::Event> evs;
    EXPECT_TRUE(db_.store()
                    .Read([&](store::Tx& tx) -> Status {
                      events::EventQuery q;
                      q.action_prefix = prefix;
                      q.limit = 1000;
                      PLATOPS_ASSIGN_OR_RETURN(evs, log_.List(tx, q));
                      return Status::Ok();
                    })
                    .ok());
    return evs;
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(db_.store()
                    .Read([&](store::Tx& tx) -> Status {
                      PLATOPS_ASSIGN_OR_RETURN(auto row, tx.QueryOne(sql));
                      n = row ? row->Int(0) : -1;
                      return Status::Ok();
                    })
                    .ok());
    return n;
  }

  // The next time the check is due, from its status.
  Timestamp NextRun(const std::string& id) {
    auto s = mon().StatusOf(id);
    EXPECT_TRUE(s && s->next_run);
    return s && s->next_run ? *s->next_run : Timestamp{};
  }

  FakeClock clock_;
  testing::TempStore db_;
  FlakyStore flaky_;
  events::EventLog log_{clock_};
  identity::IdentityService identity_;
  catalog::CatalogService catalog_;
  std::unique_ptr<events::EventBus> bus_;
  FakeEngine engine_;
  std::unique_ptr<ChecksService> checks_;
};

TEST_F(MonitorTest, RunsOnAStableOffsetWithoutDrift) {
  ASSERT_TRUE(Create(Def("api", "a")).ok());
  ASSERT_TRUE(Create(Def("api", "b")).ok());
  const Timestamp t0 = clock_.Now();
  Timestamp a = NextRun("api.a"), b = NextRun("api.b");
  EXPECT_GT(a, t0);
  EXPECT_LE(a, t0 + 10s);
  EXPECT_NE(a, b) << "two checks with the same interval get different offsets";
  // The offset is a function of the id: the grid is the same after a restart.
  EXPECT_EQ(a.time_since_epoch().count() % 10000, NextRun("api.a").time_since_epoch().count() % 10000);

  mon().Tick(a - 1ms);
  EXPECT_EQ(engine_.calls.size(), b < a ? 1u : 0u);
  engine_.calls.clear();
  engine_.finished = 0;
  NewService();  // a fresh runtime re-plans on the same grid
  EXPECT_EQ(NextRun("api.a"), a);

  // A run that finishes late does not shift the grid.
  RunAt(a + 3s, Outcome::kOk);
  EXPECT_EQ(NextRun("api.a"), a + 10s);
  RunAt(a + 10s, Outcome::kOk);
  EXPECT_EQ(NextRun("api.a"), a + 20s);
}

TEST_F(MonitorTest, APreviousRunStillInFlightIsNotStartedTwice) {
  ASSERT_TRUE(Create(Def("api", "slow")).ok());
  Timestamp due = NextRun("api.slow");
  clock_.Set(due);
  mon().Tick(due);
  ASSERT_EQ(engine_.calls.size(), 1u);
  clock_.Set(due + 10s);
  mon().Tick(due + 10s);
  EXPECT_EQ(engine_.calls.size(), 1u);
  EXPECT_EQ(mon().StatusOf("api.slow")->skipped_in_flight, 1);
  EXPECT_EQ(NextRun("api.slow"), due + 20s);
}

TEST_F(MonitorTest, ConcurrencyCapDelaysDueChecks) {
  MonitorOptions o;
  o.max_concurrent = 1;
  NewService(o);
  ASSERT_TRUE(Create(Def("api", "a")).ok());
  ASSERT_TRUE(Create(Def("api", "b")).ok());
  Timestamp late = std::max(NextRun("api.a"), NextRun("api.b"));
  clock_.Set(late);
  mon().Tick(late);
  EXPECT_EQ(engine_.calls.size(), 1u);
  engine_.Finish(Outcome::kOk, late);
  mon().Tick(late + 5ms);
  EXPECT_EQ(engine_.calls.size(), 2u) << "the waiting check starts once a slot frees";
}

TEST_F(MonitorTest, SoftThenHardWithRetryIntervalAndOneEvent) {
  CheckDef d = Def("api", "web");
  d.retry_interval = 2s;
  ASSERT_TRUE(Create(d).ok());
  Timestamp t = NextRun("api.web");
  RunAt(t, Outcome::kOk);
  RunAt(t + 10s, Outcome::kCritical);
  auto s = mon().StatusOf("api.web");
  EXPECT_FALSE(s->state.hard);
  EXPECT_EQ(s->state.attempt, 1);
  EXPECT_EQ(NextRun("api.web"), t + 12s) << "a SOFT problem is re-checked at retry_interval";
  RunAt(t + 12s, Outcome::kCritical);
  RunAt(t + 14s, Outcome::kCritical);
  s = mon().StatusOf("api.web");
  EXPECT_TRUE(s->state.hard);
  EXPECT_EQ(s->state.hard_state, Outcome::kCritical);
  EXPECT_EQ(s->state.hard_since, t + 14s);
  EXPECT_EQ(NextRun("api.web"), t + 20s) << "back on the grid once HARD";

  ASSERT_TRUE(mon().Flush().ok());
  auto evs = Events("check.state_changed");
  ASSERT_EQ(evs.size(), 1u);
  auto p = ParseJson(evs[0].payload)->get_object();
  EXPECT_EQ(p["check"], "api.web");
  EXPECT_EQ(p["from"], "OK");
  EXPECT_EQ(p["to"], "CRITICAL");
  EXPECT_EQ(p["attempt"], 3);
  EXPECT_EQ(p["in_maintenance"], false);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM check_results WHERE check_id = 'api.web'"), 4);
  // The first result and the hard change.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM check_history WHERE check_id = 'api.web'"), 2);
  EXPECT_EQ(Count("SELECT SUM(n_critical) FROM check_rollups WHERE check_id = 'api.web'"), 3);
}

TEST_F(MonitorTest, AFailingStoreNeverChangesTheStateAndLosesNothing) {
  CheckDef d = Def("api", "web");
  d.max_attempts = 1;
  ASSERT_TRUE(Create(d).ok());
  Timestamp t = NextRun("api.web");
  flaky_.fail = true;
  RunAt(t, Outcome::kOk);
  RunAt(t + 10s, Outcome::kOk);
  EXPECT_FALSE(mon().Flush().ok());
  EXPECT_EQ(mon().StatusOf("api.web")->state.state, Outcome::kOk)
      << "storage trouble is not a failing check";
  RunAt(t + 20s, Outcome::kCritical);
  EXPECT_FALSE(mon().Flush().ok());
  EXPECT_EQ(mon().buffered(), 3u);
  flaky_.fail = false;
  ASSERT_TRUE(mon().Flush().ok());
  EXPECT_EQ(mon().buffered(), 0u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM check_results WHERE check_id = 'api.web'"), 3);
  EXPECT_EQ(Events("check.state_changed").size(), 1u);
  EXPECT_EQ(Count("SELECT SUM(n_ok) FROM check_rollups WHERE check_id = 'api.web'"), 2);
}

TEST_F(MonitorTest, StateSurvivesARestart) {
  CheckDef d = Def("api", "web");
  d.max_attempts = 1;
  ASSERT_TRUE(Create(d).ok());
  Timestamp t = NextRun("api.web");
  RunAt(t, Outcome::kCritical);
  ASSERT_TRUE(mon().Flush().ok());
  NewService();
  auto s = mon().StatusOf("api.web");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->state.pending);
  EXPECT_EQ(s->state.hard_state, Outcome::kCritical);
  ASSERT_TRUE(s->last);
  EXPECT_EQ(s->last->message, "msg");
  // Recovery after the restart is one hard change, not a fresh start.
  RunAt(NextRun("api.web"), Outcome::kOk);
  ASSERT_TRUE(mon().Flush().ok());
  auto evs = Events("check.state_changed");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(ParseJson(evs[1].payload)->get_object()["to"], "OK");
}

TEST_F(MonitorTest, ASymptomIsSuppressedByItsHardDependency) {
  CheckDef db = Def("db", "ping");
  db.max_attempts = 1;
  CheckDef api = Def("api", "health");
  api.max_attempts = 1;
  ASSERT_TRUE(Create(db).ok());
  ASSERT_TRUE(Create(api).ok());
  Timestamp t = std::max(NextRun("db.ping"), NextRun("api.health"));
  // db fails first, then api.
  clock_.Set(t);
  mon().Tick(t);
  ASSERT_EQ(engine_.calls.size(), 2u);
  // Calls are in due order; find which is which through the status after finishing them.
  engine_.Finish(Outcome::kCritical, t);
  engine_.Finish(Outcome::kCritical, t);
  mon().Tick(t);
  Timestamp t2 = t + 10s;
  RunAt(t2, Outcome::kCritical);
  auto s = mon().StatusOf("api.health");
  EXPECT_EQ(s->state.hard_state, Outcome::kCritical);
  EXPECT_EQ(s->suppressed_by, "db.ping");
  EXPECT_EQ(mon().StatusOf("db.ping")->suppressed_by, "");
  // Recovery clears it.
  RunAt(t2 + 10s, Outcome::kOk);
  EXPECT_EQ(mon().StatusOf("api.health")->suppressed_by, "");
}

TEST_F(MonitorTest, ResultsInAMaintenanceWindowAreMarked) {
  CheckDef d = Def("api", "web");
  d.max_attempts = 1;
  ASSERT_TRUE(Create(d).ok());
  Timestamp t = NextRun("api.web");
  MaintenanceWindow w;
  w.name = "upgrade";
  w.services = {"api"};
  w.timing.start = t - 1min;
  w.timing.end = t + 5s;
  w.doc = JsonToString(WindowDocJson(w));
  ASSERT_TRUE(checks_->CreateWindow("alice", w).ok());
  RunAt(t, Outcome::kCritical);
  EXPECT_TRUE(mon().StatusOf("api.web")->last_in_maintenance);
  ASSERT_TRUE(mon().Flush().ok());
  auto evs = Events("check.state_changed");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(ParseJson(evs[0].payload)->get_object()["in_maintenance"], true);
  EXPECT_EQ(Count("SELECT in_maintenance FROM check_results WHERE check_id = 'api.web'"), 1);
  // After the window: not marked.
  RunAt(t + 10s, Outcome::kCritical);
  EXPECT_FALSE(mon().StatusOf("api.web")->last_in_maintenance);
  EXPECT_EQ(checks_->GetWindow("upgrade")->created_by, "alice");
}

TEST_F(MonitorTest, HeartbeatGoesLateAndRecoversOnPing) {
  ASSERT_TRUE(Create(Heartbeat("nightly")).ok());
  const Timestamp t0 = clock_.Now();
  auto s = mon().StatusOf("api.nightly");
  ASSERT_TRUE(s->ping_deadline);
  EXPECT_EQ(*s->ping_deadline, t0 + 65min);
  mon().Tick(t0 + 64min);
  EXPECT_TRUE(mon().StatusOf("api.nightly")->state.pending);
  clock_.Set(t0 + 65min);
  mon().Tick(t0 + 65min);
  s = mon().StatusOf("api.nightly");
  EXPECT_EQ(s->state.hard_state, Outcome::kCritical);
  EXPECT_NE(s->last->message.find("late: no ping yet"), std::string::npos) << s->last->message;

  clock_.Set(t0 + 70min);
  ASSERT_TRUE(checks_->Ping("heartbeat-token-0123456789", PingKind::kStart, std::nullopt).ok());
  clock_.Set(t0 + 72min);
  ASSERT_TRUE(checks_->Ping("heartbeat-token-0123456789", PingKind::kSuccess, std::nullopt).ok());
  s = mon().StatusOf("api.nightly");
  EXPECT_EQ(s->state.hard_state, Outcome::kOk);
  EXPECT_EQ(*s->last_job_duration, 2min);
  EXPECT_EQ(*s->ping_deadline, t0 + 72min + 65min);

  clock_.Set(t0 + 80min);
  ASSERT_TRUE(checks_->Ping("heartbeat-token-0123456789", PingKind::kExitCode, 3).ok());
  s = mon().StatusOf("api.nightly");
  EXPECT_EQ(s->state.hard_state, Outcome::kCritical);
  EXPECT_EQ(s->last->message, "job reported exit code 3");
  EXPECT_EQ(checks_->Ping("no-such-token", PingKind::kSuccess, std::nullopt).code(),
            StatusCode::kNotFound);
}

TEST_F(MonitorTest, CronHeartbeatDeadlineFollowsTheSchedule) {
  CheckDef d = Heartbeat("backup");
  d.heartbeat.period = 0ms;
  d.heartbeat.cron = "0 3 * * *";
  d.heartbeat.time_zone = "UTC";
  d.heartbeat.grace = 30min;
  d.doc.clear();
  d.doc = JsonToString(CheckDocJson(d));
  ASSERT_TRUE(Create(d).ok());
  // The fake clock starts at 2026-01-01T00:00:00Z: due 03:00, late after 03:30.
  auto s = mon().StatusOf("api.backup");
  EXPECT_EQ(FormatRfc3339(*s->ping_deadline), "2026-01-01T03:30:00Z");
}

TEST_F(MonitorTest, DeletingTheServiceDeletesItsChecks) {
  ASSERT_TRUE(Create(Def("api", "web")).ok());
  RunAt(NextRun("api.web"), Outcome::kOk);
  ASSERT_TRUE(mon().Flush().ok());
  ASSERT_TRUE(catalog_.DeleteService("admin", "api", false).ok());
  ASSERT_TRUE(bus_->DeliverPending().ok());
  EXPECT_EQ(checks_->GetCheck("api.web").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(mon().StatusOf("api.web"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM check_results"), 0);
  EXPECT_EQ(Events("check.deleted").size(), 1u);
}

TEST_F(MonitorTest, ChangingADefinitionReplansAndDropsTheOldRunsResult) {
  ASSERT_TRUE(Create(Def("api", "web")).ok());
  Timestamp due = NextRun("api.web");
  clock_.Set(due);
  mon().Tick(due);
  ASSERT_EQ(engine_.calls.size(), 1u);
  CheckDef faster = Def("api", "web", 5s);
  faster.doc = JsonToString(CheckDocJson(faster));
  ASSERT_TRUE(checks_->UpdateCheck("admin", faster, 1).ok());
  engine_.Finish(Outcome::kCritical, due);
  mon().Tick(due + 1ms);
  EXPECT_TRUE(mon().StatusOf("api.web")->state.pending) << "the old definition's result is dropped";
  Timestamp next = NextRun("api.web");
  EXPECT_LE(next, due + 5s);
}

TEST_F(MonitorTest, AvailabilityFromHistoryAndRollups) {
  CheckDef d = Def("api", "web");
  d.max_attempts = 1;
  ASSERT_TRUE(Create(d).ok());
  Timestamp t = NextRun("api.web");
  RunAt(t, Outcome::kOk);
  RunAt(t + 10s, Outcome::kCritical);
  RunAt(t + 20s, Outcome::kCritical);
  RunAt(t + 30s, Outcome::kOk);
  ASSERT_TRUE(mon().Flush().ok());
  clock_.Set(t + 40s);
  auto a = checks_->CheckAvailability("api.web", t, t + 40s);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->report.outages.size(), 1u);
  EXPECT_EQ(a->report.outages[0].start, t + 10s);
  EXPECT_EQ(a->report.outages[0].end, t + 30s);
  ASSERT_TRUE(a->report.uptime_percent);
  EXPECT_DOUBLE_EQ(*a->report.uptime_percent, 50.0);
  EXPECT_EQ(a->response.count, 4);
  EXPECT_TRUE(a->response.p95_ms);

  auto svc = checks_->ServiceAvailability("api", t, t + 40s);
  ASSERT_TRUE(svc.ok()) << svc.status().ToString();
  EXPECT_DOUBLE_EQ(*svc->report.uptime_percent, 50.0);
  EXPECT_EQ(checks_->CheckAvailability("api.web", t + 1s, t).status().code(),
            StatusCode::kInvalidArgument);
}


TEST_F(MonitorTest, ADisabledHeartbeatIsNeverLate) {
  CheckDef d = Heartbeat("off");
  d.enabled = false;
  ASSERT_TRUE(Create(d).ok());
  NewService();  // a restart loads it disabled
  const Timestamp t0 = clock_.Now();
  clock_.Set(t0 + 3h);
  mon().Tick(t0 + 3h);
  EXPECT_TRUE(mon().StatusOf("api.off")->state.pending);
  EXPECT_EQ(checks_->Ping("heartbeat-token-0123456789", PingKind::kSuccess, std::nullopt).code(),
            StatusCode::kNotFound);
  // Enabled again: late only a period + grace after that, not for the time it was off.
  d.enabled = true;
  d.doc = JsonToString(CheckDocJson(d));
  ASSERT_TRUE(checks_->UpdateCheck("admin", d, 1).ok());
  EXPECT_EQ(*mon().StatusOf("api.off")->ping_deadline, t0 + 3h + 65min);
}

TEST_F(MonitorTest, HeartbeatsAreJudgedWhileTheConcurrencyCapIsReached) {
  MonitorOptions o;
  o.max_concurrent = 1;
  NewService(o);
  ASSERT_TRUE(Create(Def("api", "a", 1min)).ok());
  ASSERT_TRUE(Create(Def("api", "b", 1min)).ok());
  ASSERT_TRUE(Create(Heartbeat("hb")).ok());
  const Timestamp t = clock_.Now() + 2h;
  clock_.Set(t);
  Timestamp next = mon().Tick(t);
  EXPECT_EQ(engine_.calls.size(), 1u);
  EXPECT_EQ(mon().StatusOf("api.hb")->state.hard_state, Outcome::kCritical)
      << "a late heartbeat behind a blocked check is still found";
  EXPECT_EQ(next, t + 1s) << "blocked checks wait for a completion, not a busy loop";
}

TEST_F(MonitorTest, AResultOfADeletedCheckNeverReachesItsSuccessor) {
  ASSERT_TRUE(Create(Def("api", "web")).ok());
  Timestamp due = NextRun("api.web");
  clock_.Set(due);
  mon().Tick(due);
  ASSERT_EQ(engine_.calls.size(), 1u);
  ASSERT_TRUE(checks_->DeleteCheck("admin", "api.web").ok());
  ASSERT_TRUE(Create(Def("api", "web")).ok());
  engine_.Finish(Outcome::kCritical, due);
  mon().Tick(due + 1ms);
  EXPECT_TRUE(mon().StatusOf("api.web")->state.pending);
}

TEST_F(MonitorTest, ALateServiceDeletedEventSparesARecreatedService) {
  ASSERT_TRUE(catalog_.DeleteService("admin", "api", false).ok());
  ASSERT_TRUE(catalog_.CreateService("admin", Svc("api")).ok());
  ASSERT_TRUE(Create(Def("api", "web")).ok());
  ASSERT_TRUE(bus_->DeliverPending().ok());  // delivers the old service.deleted only now
  EXPECT_TRUE(checks_->GetCheck("api.web").ok());
}

TEST_F(MonitorTest, AClockSteppingBackReplansChecks) {
  ASSERT_TRUE(Create(Def("api", "web")).ok());
  Timestamp due = NextRun("api.web");
  RunAt(due, Outcome::kOk);
  const Timestamp back = due - 1h;
  clock_.Set(back);
  mon().Tick(back);
  EXPECT_LE(NextRun("api.web"), back + 10s);
  EXPECT_GT(NextRun("api.web"), back);
}


TEST_F(MonitorTest, PruneDropsRowsPastRetentionButKeepsTheLastKnownState) {
  MonitorOptions o;
  o.results_retention = 1h;
  o.rollup_retention = 24h;
  NewService(o);
  CheckDef d = Def("api", "web");
  d.max_attempts = 1;
  ASSERT_TRUE(Create(d).ok());
  Timestamp t = NextRun("api.web");
  RunAt(t, Outcome::kOk);
  RunAt(t + 10s, Outcome::kCritical);
  ASSERT_TRUE(mon().Flush().ok());
  ASSERT_TRUE(mon().Prune(t + 2h).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM check_results"), 0) << "raw results are past 1h";
  EXPECT_EQ(Count("SELECT COUNT(*) FROM check_history"), 2) << "history is kept 24h";
  ASSERT_TRUE(mon().Prune(t + 72h).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM check_rollups"), 0);
  // The newest history row stays: availability still knows the check was CRITICAL.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM check_history"), 1);
  EXPECT_EQ(Count("SELECT hard_state FROM check_history"), 2);
}

TEST_F(MonitorTest, ExportsBlackboxStyleMetrics) {
  MetricsRegistry registry;
  checks_.reset();
  bus_ = std::make_unique<events::EventBus>(flaky_, log_);
  checks_ = std::make_unique<ChecksService>(flaky_, log_, clock_, catalog_, engine_,
                                            MonitorOptions{}, &registry);
  ASSERT_TRUE(checks_->Load(*bus_).ok());
  CheckDef d = Def("api", "web");
  d.max_attempts = 1;
  ASSERT_TRUE(Create(d).ok());
  RunAt(NextRun("api.web"), Outcome::kCritical);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("probe_success{service=\"api\",check=\"web\",kind=\"tcp\"} 0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("platops_check_state{service=\"api\",check=\"web\",kind=\"tcp\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("probe_duration_seconds{service=\"api\",check=\"web\",kind=\"tcp\"} 0.012"),
            std::string::npos);
  EXPECT_NE(text.find("platops_check_runs_total{type=\"tcp\",outcome=\"CRITICAL\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace platops::checks
