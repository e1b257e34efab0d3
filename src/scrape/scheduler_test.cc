// Tests of the scrape runtime: real HTTP targets on 127.0.0.1, a FakeClock for the schedule, the
// in-memory store for what was written.

#include "scrape/scheduler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "metrics/db.h"
#include "metrics/mem_storage.h"
#include "scrape/test_http_server.h"
#include "scrape/test_util.h"
#include "testing/temp_store.h"

namespace platops::scrape {
namespace {

using namespace std::chrono_literals;
using metrics::Sample;
using std::chrono::milliseconds;

constexpr int64_t kT0 = 1767225600000;

Timestamp At(int64_t ms) { return Timestamp(milliseconds(ms)); }
int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }

std::shared_ptr<const ingest::ScrapeConfig> Config(
    const std::string& job, const std::vector<std::string>& targets,
    const std::function<void(ingest::ScrapeConfig&)>& tweak = {}) {
  auto c = std::make_shared<ingest::ScrapeConfig>();
  c->job_name = job;
  c->scrape_interval = 15s;
  c->scrape_timeout = 10s;
  if (!targets.empty()) {
    ingest::TargetGroup g;
    g.targets = targets;
    g.source = "test";
    c->static_configs.push_back(std::move(g));
  }
  if (tweak) tweak(*c);
  return c;
}

JobSpec Spec(std::shared_ptr<const ingest::ScrapeConfig> config,
             JobSource source = JobSource::kPrometheusConfig) {
  JobSpec s;
  s.source = source;
  s.config = std::move(config);
  return s;
}

TestResponse Text(std::string body) {
  TestResponse r;
  r.body = std::move(body);
  r.headers = {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}};
  return r;
}

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest()
      : clock_(At(kT0)),
        storage_(OpenDb(dir_)),
        scheduler_(clock_, SchedulerOptions{.workers = 0, .self_registry = &self_}, &metrics_) {
    scheduler_.AttachStorage(*storage_);
  }
  // The real store: it refuses out-of-order and duplicate samples, which end-of-run stale markers
  // rely on.
  static std::unique_ptr<metrics::Db> OpenDb(const testing::TempDir& dir) {
    metrics::DbOptions o;
    o.wal_sync = false;
    auto db = metrics::Db::Open((dir.path() / "metrics").string(), o);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return std::move(db.value());
  }

  // Runs the schedule from now until `d` later, stopping at every due time.
  void RunFor(milliseconds d) {
    const Timestamp end = clock_.Now() + d;
    for (;;) {
      const Timestamp next = scheduler_.Tick(clock_.Now());
      ASSERT_TRUE(scheduler_.RunUntilIdle(10s));
      if (next > end) break;
      clock_.Set(next);
    }
    clock_.Set(end);
    scheduler_.Tick(end);
    ASSERT_TRUE(scheduler_.RunUntilIdle(10s));
  }
  std::vector<Sample> Samples(const std::string& series) { return ReadAll(*storage_)[series]; }
  const TargetStatus* Find(const TargetsSnapshot& snap, const std::string& job) {
    for (const auto& t : snap.active)
      if (t.job == job) return &t;
    return nullptr;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  MetricsRegistry metrics_;
  MetricsRegistry self_;
  std::unique_ptr<metrics::Db> storage_;
  ScrapeScheduler scheduler_;
};

TEST_F(SchedulerTest, ScrapesOnAStableGridWithPrometheusHeaders) {
  TestHttpServer target([](const TestRequest&) { return Text("m 1\n"); });
  scheduler_.SetJob("node", Spec(Config("node", {target.address()},
                                        [](auto& c) { c.params["module"] = {"x"}; })));
  RunFor(46s);
  const std::string labels = "{instance=\"" + target.address() + "\",job=\"node\"}";
  auto m = Samples("m" + labels);
  ASSERT_GE(m.size(), 3u);
  EXPECT_GE(m[0].t, kT0);
  EXPECT_LT(m[0].t, kT0 + 15000) << "the first scrape is within one interval";
  for (size_t i = 1; i < m.size(); ++i) EXPECT_EQ(m[i].t - m[i - 1].t, 15000) << "no drift";
  EXPECT_EQ(Samples("up" + labels).size(), m.size());

  auto requests = target.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/metrics?module=x");
  EXPECT_EQ(requests[0].headers["accept"], std::string(kAcceptHeader));
  EXPECT_EQ(requests[0].headers["x-prometheus-scrape-timeout-seconds"], "10");
  EXPECT_NE(requests[0].headers["accept-encoding"].find("gzip"), std::string::npos);

  auto snap = scheduler_.Targets();
  const TargetStatus* t = Find(snap, "node");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->health, Health::kUp);
  EXPECT_EQ(t->url, "http://" + target.address() + "/metrics?module=x");
  EXPECT_EQ(Ms(*t->last_scrape), m.back().t);
  EXPECT_EQ(Ms(*t->next_scrape), m.back().t + 15000);
  EXPECT_NE(metrics_.Render().find("platops_scrape_scrapes_total{job=\"node\"} " +
                                   std::to_string(m.size())),
            std::string::npos);
}

TEST_F(SchedulerTest, OffsetsComeFromTheTargetAndSurviveARestart) {
  TestHttpServer a([](const TestRequest&) { return Text("m 1\n"); });
  scheduler_.SetJob("j", Spec(Config("j", {a.address()})));
  scheduler_.Tick(clock_.Now());
  auto first = scheduler_.Targets().active.at(0).next_scrape;
  ScrapeScheduler other(clock_, SchedulerOptions{.workers = 0}, nullptr);
  other.AttachStorage(*storage_);
  other.SetJob("j", Spec(Config("j", {a.address()})));
  other.Tick(clock_.Now());
  EXPECT_EQ(other.Targets().active.at(0).next_scrape, first);
}

TEST_F(SchedulerTest, OpenMetricsIsNegotiatedByContentType) {
  TestHttpServer target([](const TestRequest&) {
    TestResponse r;
    r.headers = {{"Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8"}};
    r.body = "# TYPE m counter\nm_total 1 1767225600.5\n# EOF\n";
    return r;
  });
  scheduler_.SetJob("om", Spec(Config("om", {target.address()})));
  RunFor(16s);
  EXPECT_EQ(Samples("m_total{instance=\"" + target.address() + "\",job=\"om\"}"),
            (std::vector<Sample>{{1767225600500, 1}}));
}

TEST_F(SchedulerTest, GzipBodiesAreDecoded) {
  TestHttpServer target([](const TestRequest&) {
    TestResponse r = Text("zipped 42\n");
    r.gzip = true;
    return r;
  });
  scheduler_.SetJob("z", Spec(Config("z", {target.address()})));
  RunFor(16s);
  auto s = Samples("zipped{instance=\"" + target.address() + "\",job=\"z\"}");
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back().v, 42);
}

TEST_F(SchedulerTest, FailuresMakeTheTargetDownWithPrometheusErrors) {
  TestHttpServer slow([](const TestRequest&) {
    TestResponse r = Text("m 1\n");
    r.delay = 5s;
    return r;
  });
  TestHttpServer broken([](const TestRequest&) {
    TestResponse r = Text("oops");
    r.status = 503;
    r.reason = "Service Unavailable";
    return r;
  });
  TestHttpServer big([](const TestRequest&) { return Text("a_long_metric_name 1\n"); });
  scheduler_.SetJob(
      "slow", Spec(Config("slow", {slow.address()}, [](auto& c) { c.scrape_timeout = 300ms; })));
  scheduler_.SetJob("broken", Spec(Config("broken", {broken.address()})));
  scheduler_.SetJob("refused", Spec(Config("refused", {"127.0.0.1:1"})));
  scheduler_.SetJob(
      "big", Spec(Config("big", {big.address()}, [](auto& c) { c.limits.body_size_limit = 10; })));
  const auto started = std::chrono::steady_clock::now();
  RunFor(16s);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s) << "the timeout cut the slow target";
  auto snap = scheduler_.Targets();
  struct Want {
    const char* job;
    std::string error;
  };
  const Want wants[] = {
      {"slow", "Get \"http://" + slow.address() + "/metrics\": context deadline exceeded"},
      {"broken", "server returned HTTP status 503 Service Unavailable"},
      {"refused", "Get \"http://127.0.0.1:1/metrics\": "},
      {"big", "body size limit exceeded"},
  };
  for (const auto& w : wants) {
    const TargetStatus* t = Find(snap, w.job);
    ASSERT_NE(t, nullptr) << w.job;
    EXPECT_EQ(t->health, Health::kDown) << w.job;
    EXPECT_EQ(t->last_error.substr(0, w.error.size()), w.error) << w.job;
    auto up = ReadAll(*storage_);
    bool found = false;
    for (const auto& [series, samples] : up) {
      if (series.rfind("up{", 0) == 0 &&
          series.find("job=\"" + std::string(w.job) + "\"") != std::string::npos) {
        found = true;
        ASSERT_FALSE(samples.empty());
        for (const auto& s : samples) EXPECT_EQ(s.v, 0) << w.job;
      }
    }
    EXPECT_TRUE(found) << w.job;
  }
  EXPECT_NE(
      metrics_.Render().find("platops_scrape_failures_total{job=\"slow\",reason=\"timeout\"} "),
      std::string::npos);
}

TEST_F(SchedulerTest, RemovedTargetGetsStaleMarkersTwoIntervalsLater) {
  TestHttpServer a([](const TestRequest&) { return Text("m 1\n"); });
  TestHttpServer b([](const TestRequest&) { return Text("m 2\n"); });
  scheduler_.SetJob("j", Spec(Config("j", {a.address(), b.address()})));
  RunFor(16s);
  const std::string b_series = "m{instance=\"" + b.address() + "\",job=\"j\"}";
  const size_t scraped = Samples(b_series).size();
  ASSERT_GE(scraped, 1u);
  scheduler_.SetJob("j", Spec(Config("j", {a.address()})));
  RunFor(16s);
  EXPECT_EQ(Samples(b_series).size(), scraped) << "not scraped, not marked before two intervals";
  RunFor(20s);
  auto s = Samples(b_series);
  ASSERT_EQ(s.size(), scraped + 1);
  EXPECT_TRUE(IsStale(s.back().v));
  EXPECT_TRUE(IsStale(Samples("up{instance=\"" + b.address() + "\",job=\"j\"}").back().v));
  EXPECT_FALSE(IsStale(Samples("m{instance=\"" + a.address() + "\",job=\"j\"}").back().v));
  EXPECT_EQ(scheduler_.Targets().active.size(), 1u);
}

TEST_F(SchedulerTest, RemovedJobIsMarkedStaleToo) {
  TestHttpServer a([](const TestRequest&) { return Text("m 1\n"); });
  scheduler_.SetJob("j", Spec(Config("j", {a.address()})));
  RunFor(16s);
  scheduler_.RemoveJob("j");
  RunFor(40s);
  EXPECT_FALSE(scheduler_.StatusOf("j"));
  auto s = Samples("m{instance=\"" + a.address() + "\",job=\"j\"}");
  ASSERT_GE(s.size(), 2u);
  EXPECT_TRUE(IsStale(s.back().v));
  for (size_t i = 0; i + 1 < s.size(); ++i) EXPECT_FALSE(IsStale(s[i].v));
}

TEST_F(SchedulerTest, ChangedMetricRelabelingRebuildsTheCache) {
  TestHttpServer a([](const TestRequest&) { return Text("keep 1\ngo 1\n"); });
  scheduler_.SetJob("j", Spec(Config("j", {a.address()})));
  RunFor(16s);
  ingest::RelabelConfig drop;
  drop.source_labels = {"__name__"};
  drop.regex = "go";
  drop.action = ingest::RelabelAction::kDrop;
  ASSERT_TRUE(drop.Compile().ok());
  scheduler_.SetJob(
      "j", Spec(Config("j", {a.address()}, [&](auto& c) { c.metric_relabel_configs = {drop}; })));
  RunFor(60s);
  const std::string labels = "{instance=\"" + a.address() + "\",job=\"j\"}";
  auto go = Samples("go" + labels);
  ASSERT_GE(go.size(), 2u);
  EXPECT_TRUE(IsStale(go.back().v)) << "dropped from the next scrape on, then marked stale";
  EXPECT_LE(go[go.size() - 2].t, kT0 + 16000) << "not scraped after the change";
  auto keep = Samples("keep" + labels);
  ASSERT_GE(keep.size(), 4u);
  for (const auto& s : keep) EXPECT_FALSE(IsStale(s.v)) << "the old cache's marker lost to data";
}

TEST_F(SchedulerTest, FileSdChangesArePickedUp) {
  testing::TempDir dir;
  TestHttpServer a([](const TestRequest&) { return Text("m 1\n"); });
  TestHttpServer b([](const TestRequest&) { return Text("m 2\n"); });
  const std::string file = (dir.path() / "targets.json").string();
  auto write = [&](const std::string& addr, const std::string& team) {
    std::ofstream(file) << R"([{"targets": [")" << addr << R"("], "labels": {"team": ")" << team
                        << R"("}}])";
  };
  write(a.address(), "a");
  JobSpec spec = Spec(Config("sd", {}, [&](auto& c) {
    c.file_sd_configs.push_back({{(dir.path() / "*.json").string()}, 5min});
  }));
  spec.group_labels = {{"env", "test"}, {"team", "ignored"}};
  scheduler_.SetJob("sd", spec);
  RunFor(16s);
  auto snap = scheduler_.Targets();
  ASSERT_EQ(snap.active.size(), 1u);
  EXPECT_EQ(metrics::ToString(snap.active[0].labels),
            "{env=\"test\",instance=\"" + a.address() + "\",job=\"sd\",team=\"a\"}")
      << "group labels fill in, the file's own win";
  EXPECT_FALSE(
      Samples("m{env=\"test\",instance=\"" + a.address() + "\",job=\"sd\",team=\"a\"}").empty());

  write(b.address(), "bb");
  RunFor(6s);
  snap = scheduler_.Targets();
  ASSERT_EQ(snap.active.size(), 1u);
  EXPECT_EQ(snap.active[0].url, "http://" + b.address() + "/metrics");
}

TEST_F(SchedulerTest, SelfTargetReadsTheRegistryInProcess) {
  self_.Counter("demo_events_total", "Demo.").Add({}, 3);
  ingest::ScrapeConfig c;
  c.job_name = "platops";
  c.scrape_interval = 15s;
  c.scrape_timeout = 10s;
  c.static_configs.push_back({{"localhost:9470"}, {}, "self"});
  scheduler_.SetJob("platops",
                    Spec(std::make_shared<const ingest::ScrapeConfig>(c), JobSource::kSelf));
  RunFor(16s);
  auto s = Samples("demo_events_total{instance=\"localhost:9470\",job=\"platops\"}");
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back().v, 3);
  EXPECT_EQ(Samples("up{instance=\"localhost:9470\",job=\"platops\"}").at(0).v, 1);
  EXPECT_EQ(scheduler_.StatusOf("platops")->source, JobSource::kSelf);
}

TEST_F(SchedulerTest, TargetLimitFailsEveryTargetWithoutFetching) {
  TestHttpServer a([](const TestRequest&) { return Text("m 1\n"); });
  scheduler_.SetJob("j", Spec(Config("j", {a.address(), "127.0.0.1:2"},
                                     [](auto& c) { c.limits.target_limit = 1; })));
  RunFor(16s);
  EXPECT_TRUE(a.requests().empty());
  auto snap = scheduler_.Targets();
  ASSERT_EQ(snap.active.size(), 2u);
  for (const auto& t : snap.active) {
    EXPECT_EQ(t.health, Health::kDown);
    EXPECT_EQ(t.last_error, "target_limit exceeded (number of targets: 2, limit: 1)");
  }
}

TEST_F(SchedulerTest, CredentialsAreSent) {
  testing::TempDir dir;
  const std::string token_file = (dir.path() / "token").string();
  std::ofstream(token_file) << "s3cret\n";
  TestHttpServer basic([](const TestRequest&) { return Text("m 1\n"); });
  TestHttpServer bearer([](const TestRequest&) { return Text("m 1\n"); });
  scheduler_.SetJob("basic", Spec(Config("basic", {basic.address()}, [](auto& c) {
                      c.http.basic_auth = ingest::BasicAuth{"user", "", "pass", ""};
                    })));
  scheduler_.SetJob("bearer", Spec(Config("bearer", {bearer.address()}, [&](auto& c) {
                      c.http.authorization = ingest::Authorization{"Bearer", "", token_file};
                    })));
  RunFor(16s);
  ASSERT_FALSE(basic.requests().empty());
  EXPECT_EQ(basic.requests()[0].headers["authorization"], "Basic dXNlcjpwYXNz");
  ASSERT_FALSE(bearer.requests().empty());
  EXPECT_EQ(bearer.requests()[0].headers["authorization"], "Bearer s3cret");
}

TEST_F(SchedulerTest, DroppedTargetsAreListed) {
  ingest::RelabelConfig keep;
  keep.source_labels = {"__address__"};
  keep.regex = ".*:1";
  keep.action = ingest::RelabelAction::kKeep;
  ASSERT_TRUE(keep.Compile().ok());
  scheduler_.SetJob("j",
                    Spec(Config("j", {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}, [&](auto& c) {
                      c.relabel_configs = {keep};
                      c.limits.keep_dropped_targets = 1;
                    })));
  scheduler_.Tick(clock_.Now());
  auto snap = scheduler_.Targets();
  EXPECT_EQ(snap.active.size(), 1u);
  EXPECT_EQ(snap.dropped.size(), 1u) << "keep_dropped_targets";
  EXPECT_EQ(snap.dropped_counts["j"], 2u);
  EXPECT_EQ(scheduler_.StatusOf("j")->dropped, 2u);
}

TEST(SchedulerThreadsTest, StartScrapesAndStopJoins) {
  FakeClock clock(At(kT0));
  metrics::MemStorage storage;
  ScrapeScheduler scheduler(clock, SchedulerOptions{.workers = 1}, nullptr);
  scheduler.AttachStorage(storage);
  TestHttpServer target([](const TestRequest&) { return Text("m 1\n"); });
  scheduler.Start();
  scheduler.SetJob("j", Spec(Config("j", {target.address()})));
  // Give the scheduler thread the job, then move time past the first due scrape.
  for (int i = 0; i < 100 && scheduler.Targets().active.empty(); ++i)
    std::this_thread::sleep_for(10ms);
  clock.Advance(16s);
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    std::this_thread::sleep_for(10ms);
    auto snap = scheduler.Targets();
    up = !snap.active.empty() && snap.active[0].health == Health::kUp;
  }
  scheduler.Stop();
  EXPECT_TRUE(up);
  EXPECT_FALSE(ReadAll(storage)["m{instance=\"" + target.address() + "\",job=\"j\"}"].empty());
}

}  // namespace
}  // namespace platops::scrape
