// Tests of ScrapeManager: ScrapeTarget definitions in the store (CRUD, events, references,
// apply/export), the prometheus.yml source and its name clashes, and the self target.

#include "scrape/scrape.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/json_reader.h"
#include "catalog/kinds.h"
#include "config/kind_registry.h"
#include "config/yaml_json.h"
#include "identity/kinds.h"
#include "metrics/mem_storage.h"
#include "scrape/codec.h"
#include "scrape/test_http_server.h"
#include "scrape/test_util.h"
#include "testing/temp_store.h"

namespace platops::scrape {
namespace {

using namespace std::chrono_literals;

std::vector<store::Migration> AllMigrations() {
  auto m = events::EventLog::Migrations();
  for (auto& x : identity::IdentityService::Migrations()) m.push_back(x);
  for (auto& x : catalog::CatalogService::Migrations()) m.push_back(x);
  for (auto& x : ScrapeManager::Migrations()) m.push_back(x);
  return m;
}

ScrapeTargetDef Def(const std::string& json) {
  auto v = ParseJson(json);
  EXPECT_TRUE(v.ok());
  auto def = ScrapeTargetFromJson(*v);
  EXPECT_TRUE(def.ok()) << def.status().ToString();
  return def.ok() ? def.value() : ScrapeTargetDef{};
}

class ScrapeManagerTest : public ::testing::Test {
 protected:
  ScrapeManagerTest()
      : db_(AllMigrations()),
        identity_(db_.store(), log_, clock_),
        catalog_(db_.store(), log_, clock_, identity_),
        bus_(db_.store(), log_) {
    identity::RegisterKinds(kinds_, identity_);
    catalog::RegisterKinds(kinds_, catalog_);
  }

  // Builds and loads the manager with `options`; workers 0 so tests drive it with Tick.
  Status Open(ScrapeOptions options = {}) {
    options.workers = 0;
    scrape_ =
        std::make_unique<ScrapeManager>(db_.store(), log_, clock_, catalog_, options, &metrics_);
    RegisterKinds(kinds_, *scrape_);
    scrape_->AttachStorage(storage_);
    return scrape_->Load(bus_);
  }
  void CreateService(const std::string& slug) {
    if (!catalog_.GetTeam("core").ok()) {
      catalog::Team team;
      team.slug = "core";
      team.name = "Core";
      ASSERT_TRUE(catalog_.CreateTeam("admin", team).ok());
    }
    catalog::Service s;
    s.slug = slug;
    s.name = slug;
    s.team = "core";
    auto r = catalog_.CreateService("admin", s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  std::vector<std::string> Actions(const std::string& job) {
    std::vector<std::string> out;
    Status st = db_.store().Read([&](store::Tx& tx) -> Status {
      events::EventQuery q;
      q.subject_type = "scrape_target";
      q.subject_id = job;
      PLATOPS_ASSIGN_OR_RETURN(auto evs, log_.List(tx, q));
      for (const auto& e : evs) out.push_back(e.action);
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok());
    return out;
  }
  Result<config::ApplyResult> ApplyYaml(const std::string& yaml) {
    auto docs_json = config::YamlToJson(yaml);
    if (!docs_json.ok()) return docs_json.status();
    std::vector<config::Document> docs;
    for (size_t i = 0; i < docs_json->size(); ++i)
      docs.push_back({(*docs_json)[i], "test.yaml", static_cast<int>(i)});
    return config::Apply(db_.store(), kinds_, docs, {}, "admin");
  }
  std::string ExportText() {
    auto out = config::Export(db_.store(), kinds_);
    EXPECT_TRUE(out.ok());
    std::string text;
    for (const auto& o : *out) text += JsonToString(o) + "\n";
    return text;
  }
  std::string WritePromConfig(const std::string& text) {
    const std::string path = (dir_.path() / "prometheus.yml").string();
    std::ofstream(path) << text;
    return path;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  testing::TempStore db_;
  events::EventLog log_{clock_};
  identity::IdentityService identity_;
  catalog::CatalogService catalog_;
  events::EventBus bus_;
  MetricsRegistry metrics_;
  metrics::MemStorage storage_;
  config::KindRegistry kinds_;
  std::unique_ptr<ScrapeManager> scrape_;
};

TEST_F(ScrapeManagerTest, CreateUpdateDeleteFollowTheRuntime) {
  ASSERT_TRUE(Open().ok());
  auto created = scrape_->CreateTarget(
      "admin", Def(R"({"job":"node","targets":["127.0.0.1:9100"],"labels":{"env":"prod"}})"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->version, 1);
  scrape_->scheduler().Tick(clock_.Now());
  auto status = scrape_->StatusOf("node");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->source, JobSource::kScrapeTarget);
  EXPECT_EQ(status->targets, 1u);
  EXPECT_EQ(metrics::ToString(scrape_->Targets().active.at(0).labels),
            R"({env="prod",instance="127.0.0.1:9100",job="node"})");

  EXPECT_EQ(
      scrape_->CreateTarget("admin", Def(R"({"job":"node","targets":["h:1"]})")).status().code(),
      StatusCode::kConflict);
  auto updated = scrape_->UpdateTarget(
      "admin", Def(R"({"job":"node","targets":["127.0.0.1:9100","127.0.0.1:9101"]})"), 1);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(
      scrape_->UpdateTarget("admin", Def(R"({"job":"node","targets":["h:1"]})"), 1).status().code(),
      StatusCode::kConflict)
      << "stale version";
  scrape_->scheduler().Tick(clock_.Now());
  EXPECT_EQ(scrape_->StatusOf("node")->targets, 2u);

  auto page = scrape_->ListTargets("", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].targets.size(), 2u);

  ASSERT_TRUE(scrape_->DeleteTarget("admin", "node").ok());
  scrape_->scheduler().Tick(clock_.Now());
  EXPECT_FALSE(scrape_->StatusOf("node"));
  EXPECT_EQ(scrape_->GetTarget("node").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Actions("node"),
            (std::vector<std::string>{"scrape_target.created", "scrape_target.updated",
                                      "scrape_target.deleted"}));
}

TEST_F(ScrapeManagerTest, ServiceMustExistAndTakesItsTargetsAlong) {
  ASSERT_TRUE(Open().ok());
  auto missing =
      scrape_->CreateTarget("admin", Def(R"({"job":"api","service":"web","targets":["h:1"]})"));
  EXPECT_EQ(missing.status().code(), StatusCode::kUnprocessable);
  EXPECT_EQ(missing.status().field(), "service");
  CreateService("web");
  ASSERT_TRUE(
      scrape_->CreateTarget("admin", Def(R"({"job":"api","service":"web","targets":["h:1"]})"))
          .ok());
  ASSERT_TRUE(scrape_->ListTargets("", 10, "web")->items.size() == 1);
  EXPECT_TRUE(scrape_->ListTargets("", 10, "other")->items.empty());
  ASSERT_TRUE(catalog_.DeleteService("admin", "web", false).ok());
  ASSERT_TRUE(bus_.DeliverPending().ok());
  EXPECT_EQ(scrape_->GetTarget("api").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Actions("api").back(), "scrape_target.deleted");
}

TEST_F(ScrapeManagerTest, ApplyExportApplyIsIdempotent) {
  ASSERT_TRUE(Open().ok());
  const std::string yaml = R"(kind: Team
slug: core
name: Core
---
kind: Service
slug: web
name: Web
team: core
---
kind: ScrapeTarget
job: web-app
service: web
targets: ["10.0.0.1:8080", "10.0.0.2:8080"]
interval: 30s
labels: {env: prod}
metric_relabel_configs:
  - source_labels: [__name__]
    regex: go_.*
    action: drop
)";
  auto r = ApplyYaml(yaml);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->errors.empty()) << r->errors[0].status.ToString();
  auto def = scrape_->GetTarget("web-app");
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->interval, 30s);
  EXPECT_EQ(def->metric_relabel_configs.size(), 1u);
  scrape_->scheduler().Tick(clock_.Now());
  EXPECT_EQ(scrape_->StatusOf("web-app")->targets, 2u) << "the runtime follows the apply";
  const std::string first = ExportText();
  auto again = ApplyYaml(yaml);
  ASSERT_TRUE(again.ok());
  for (const auto& item : again->plan)
    EXPECT_EQ(item.action, config::PlanAction::kUnchanged) << item.kind << " " << item.key;
  EXPECT_EQ(ExportText(), first);

  auto bad = ApplyYaml("kind: ScrapeTarget\njob: x\ntargets: [\"h:1\"]\ntimeout: 1m\n");
  ASSERT_TRUE(bad.ok());
  ASSERT_EQ(bad->errors.size(), 1u);
  EXPECT_EQ(bad->errors[0].status.field(), "timeout");
}

TEST_F(ScrapeManagerTest, PrometheusConfigJobsRunBesideTheKinds) {
  TestHttpServer target([](const TestRequest&) {
    TestResponse r;
    r.body = "node_load1 0.5\n";
    return r;
  });
  const std::string path = WritePromConfig(R"(global:
  scrape_interval: 10s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: [")" + target.address() + R"("]
        labels: {rack: r1}
)");
  ScrapeOptions o;
  o.prometheus_config = path;
  o.self_interval = 0ms;
  ASSERT_TRUE(Open(o).ok());
  scrape_->scheduler().Tick(clock_.Now());
  auto status = scrape_->StatusOf("node");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->source, JobSource::kPrometheusConfig);
  auto snap = scrape_->Targets();
  ASSERT_EQ(snap.active.size(), 1u);
  EXPECT_EQ(snap.active[0].interval, 10s);
  clock_.Set(*snap.active[0].next_scrape);
  scrape_->scheduler().Tick(clock_.Now());
  ASSERT_TRUE(scrape_->scheduler().RunUntilIdle(10s));
  auto all = ReadAll(storage_);
  EXPECT_EQ(
      all["node_load1{instance=\"" + target.address() + "\",job=\"node\",rack=\"r1\"}"].size(), 1u);

  // The prometheus.yml owns the name: a ScrapeTarget cannot take it.
  auto clash = scrape_->CreateTarget("admin", Def(R"({"job":"node","targets":["h:1"]})"));
  EXPECT_EQ(clash.status().code(), StatusCode::kConflict);
  EXPECT_NE(clash.status().message().find("Prometheus configuration"), std::string::npos);

  // A reload replaces the jobs.
  WritePromConfig(
      "scrape_configs:\n  - job_name: other\n    static_configs: [{targets: [\"h:1\"]}]\n");
  ASSERT_TRUE(scrape_->ReloadPromConfig().ok());
  scrape_->scheduler().Tick(clock_.Now());
  EXPECT_FALSE(scrape_->StatusOf("node"));
  EXPECT_TRUE(scrape_->StatusOf("other"));
  EXPECT_TRUE(scrape_->CreateTarget("admin", Def(R"({"job":"node","targets":["h:1"]})")).ok());
}

TEST_F(ScrapeManagerTest, NameClashesAreReportedAtLoad) {
  {
    ASSERT_TRUE(Open().ok());
    ASSERT_TRUE(scrape_->CreateTarget("admin", Def(R"({"job":"node","targets":["h:1"]})")).ok());
    EXPECT_EQ(scrape_->CreateTarget("admin", Def(R"({"job":"platops","targets":["h:1"]})"))
                  .status()
                  .code(),
              StatusCode::kConflict)
        << "the self job's name";
    scrape_.reset();
  }
  ScrapeOptions o;
  o.prometheus_config = WritePromConfig(
      "scrape_configs:\n  - job_name: node\n    static_configs: [{targets: [\"h:2\"]}]\n");
  config::KindRegistry fresh;
  kinds_ = std::move(fresh);
  Status st = Open(o);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("scrape_configs[0].job_name: job \"node\" is also defined by "
                              "ScrapeTarget \"node\""),
            std::string::npos)
      << st.ToString();

  o.prometheus_config = WritePromConfig(
      "scrape_configs:\n  - job_name: platops\n    static_configs: [{targets: [\"h:2\"]}]\n");
  kinds_ = config::KindRegistry();
  st = Open(o);
  EXPECT_NE(st.message().find("built-in self-scrape job"), std::string::npos) << st.ToString();

  o.prometheus_config = WritePromConfig("scrape_configs: [{job_name: a, scrape_interval: x}]\n");
  kinds_ = config::KindRegistry();
  st = Open(o);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("prometheus.yml: scrape_configs[0].scrape_interval"),
            std::string::npos)
      << st.ToString();
}

TEST_F(ScrapeManagerTest, SelfTargetIsOnByDefault) {
  metrics_.Counter("platops_demo_total", "Demo.").Add({}, 2);
  ScrapeOptions o;
  o.self_instance = "127.0.0.1:9470";
  ASSERT_TRUE(Open(o).ok());
  scrape_->scheduler().Tick(clock_.Now());
  auto snap = scrape_->Targets();
  ASSERT_EQ(snap.active.size(), 1u);
  EXPECT_EQ(snap.active[0].job, "platops");
  EXPECT_EQ(snap.active[0].interval, 15s);
  clock_.Set(*snap.active[0].next_scrape);
  scrape_->scheduler().Tick(clock_.Now());
  ASSERT_TRUE(scrape_->scheduler().RunUntilIdle(10s));
  auto all = ReadAll(storage_);
  EXPECT_EQ(all["platops_demo_total{instance=\"127.0.0.1:9470\",job=\"platops\"}"].size(), 1u);
  EXPECT_EQ(all["up{instance=\"127.0.0.1:9470\",job=\"platops\"}"].size(), 1u);
  // The next self-scrape sees the counters of the first.
  clock_.Advance(15s);
  scrape_->scheduler().Tick(clock_.Now());
  ASSERT_TRUE(scrape_->scheduler().RunUntilIdle(10s));
  auto misses = ReadAll(storage_)
      ["platops_scrape_cache_misses_total{instance=\"127.0.0.1:9470\","
       "job=\"platops\"}"];
  ASSERT_EQ(misses.size(), 1u);
  EXPECT_GT(misses[0].v, 0);
}

}  // namespace
}  // namespace platops::scrape
