#include "server/core.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/yaml_json.h"
#include "testing/temp_store.h"

namespace platops::server {
namespace {

std::string DemoDir() {
  const char* src = std::getenv("PLATOPS_SOURCE_DIR");
  return std::string(src ? src : ".") + "/examples/demo";
}

std::string ExportYaml(Core& core) {
  auto docs = config::Export(core.store(), core.kinds());
  EXPECT_TRUE(docs.ok());
  std::vector<boost::json::value> values(docs->begin(), docs->end());
  return config::JsonToYaml(values);
}

TEST(CoreTest, DemoLoadsAndIsIdempotent) {
  testing::TempDir dir;
  SystemClock clock;
  auto core = Core::Open(dir.path().string(), {}, nullptr, clock);
  ASSERT_TRUE(core.ok()) << core.status().ToString();
  auto first = (*core)->ApplyDirectory(DemoDir(), "demo");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->errors.empty()) << first->errors[0].status.ToString();
  int services = 0, teams = 0;
  for (const auto& item : first->plan) {
    services += item.kind == "Service";
    teams += item.kind == "Team";
    EXPECT_EQ(item.action, config::PlanAction::kCreate) << item.kind << " " << item.key;
  }
  EXPECT_EQ(teams, 4);
  EXPECT_GE(services, 12);
  auto second = (*core)->ApplyDirectory(DemoDir(), "demo");
  ASSERT_TRUE(second.ok());
  for (const auto& item : second->plan)
    EXPECT_EQ(item.action, config::PlanAction::kUnchanged) << item.kind << " " << item.key;
  // The payments database's blast radius reaches the edge.
  auto radius = (*core)->catalog().Dependents("payments-db", true);
  ASSERT_TRUE(radius.ok());
  bool reaches_edge = false;
  for (const auto& n : *radius) reaches_edge |= n.slug == "edge-proxy";
  EXPECT_TRUE(reaches_edge);
}

TEST(CoreTest, ExportApplyExportRoundTrip) {
  SystemClock clock;
  testing::TempDir a_dir, b_dir, export_dir;
  auto a = Core::Open(a_dir.path().string(), {}, nullptr, clock);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->identity().Bootstrap(std::nullopt).ok());
  ASSERT_TRUE((*a)->ApplyDirectory(DemoDir(), "demo").ok());
  std::string exported = ExportYaml(**a);
  {
    std::ofstream out(export_dir.path() / "all.yaml");
    out << exported;
  }
  auto b = Core::Open(b_dir.path().string(), {}, nullptr, clock);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->identity().Bootstrap(std::nullopt).ok());
  auto applied = (*b)->ApplyDirectory(export_dir.path().string(), "test");
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  ASSERT_TRUE(applied->errors.empty()) << applied->errors[0].status.ToString();
  EXPECT_EQ(ExportYaml(**b), exported);
}

TEST(CoreTest, MigrationsAreRecordedOnce) {
  testing::TempDir dir;
  SystemClock clock;
  { ASSERT_TRUE(Core::Open(dir.path().string(), {}, nullptr, clock).ok()); }
  auto core = Core::Open(dir.path().string(), {}, nullptr, clock);
  ASSERT_TRUE(core.ok());
  int64_t n = 0;
  ASSERT_TRUE((*core)
                  ->store()
                  .Read([&](store::Tx& tx) -> Status {
                    PLATOPS_ASSIGN_OR_RETURN(auto row,
                                             tx.QueryOne("SELECT count(*) FROM schema_migrations"));
                    n = row->Int(0);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(n, static_cast<int64_t>(AllMigrations().size()));
}

}  // namespace
}  // namespace platops::server

namespace platops::server {
namespace {

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto core = Core::Open(dir_.path().string(), {}, nullptr, clock_);
    ASSERT_TRUE(core.ok());
    core_ = std::move(*core);
  }
  Result<config::ApplyResult> Apply(const std::string& yaml, config::ApplyOptions opts = {}) {
    auto docs = config::YamlToJson(yaml);
    EXPECT_TRUE(docs.ok()) << docs.status().ToString();
    std::vector<config::Document> in;
    for (size_t i = 0; i < docs->size(); ++i)
      in.push_back({(*docs)[i], "test.yaml", static_cast<int>(i)});
    return config::Apply(core_->store(), core_->kinds(), in, opts, "tester");
  }
  std::string Plan(const config::ApplyResult& r) {
    std::string out;
    for (const auto& item : r.plan) {
      out += std::string(config::PlanActionName(item.action)) + " " + item.kind + "/" + item.key;
      for (const auto& f : item.changed_fields) out += " " + f;
      out += "\n";
    }
    return out;
  }

  SystemClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<Core> core_;
};

constexpr const char* kBase = R"(
kind: Service
slug: web
name: Web
team: core
depends_on: [{service: db}]
---
kind: Team
slug: core
name: Core
---
kind: Service
slug: db
name: DB
team: core
)";

TEST_F(ApplyTest, ForwardReferencesAndKindOrder) {
  auto r = Apply(kBase);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->errors.empty()) << r->errors[0].status.ToString();
  EXPECT_TRUE(r->applied);
  EXPECT_EQ(Plan(*r), "create Team/core\ncreate Service/web\ncreate Service/db\n");
  EXPECT_EQ((*core_->catalog().GetService("web")).depends_on[0].service, "db");
}

TEST_F(ApplyTest, DryRunChangesNothingAndUpdatesNameTheirFields) {
  ASSERT_TRUE(Apply(kBase).ok());
  std::string changed = std::string(kBase) + "tier: 1\ndescription: primary\n";
  auto dry = Apply(changed, {.dry_run = true});
  ASSERT_TRUE(dry.ok());
  EXPECT_FALSE(dry->applied);
  EXPECT_EQ(Plan(*dry),
            "unchanged Team/core\nunchanged Service/web\nupdate Service/db description tier\n");
  EXPECT_EQ(core_->catalog().GetService("db")->tier, 3);
  auto real = Apply(changed);
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(core_->catalog().GetService("db")->tier, 1);
  EXPECT_EQ(core_->catalog().GetService("db")->version, 2);
}

TEST_F(ApplyTest, PruneDeletesUnnamedObjectsOfTheKindsGiven) {
  ASSERT_TRUE(Apply(std::string(kBase) + R"(---
kind: Service
slug: legacy
name: Legacy
team: core
depends_on: [{service: db}]
---
kind: User
name: zoe
email: zoe@example.com
)")
                  .ok());
  // Only services are named: legacy goes, users are left alone, web stops depending on db.
  auto r = Apply(R"(
kind: Service
slug: web
name: Web
team: core
---
kind: Service
slug: db
name: DB
team: core
)",
                 {.prune = true});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->errors.empty()) << r->errors[0].status.ToString();
  EXPECT_EQ(Plan(*r),
            "update Service/web depends_on\nunchanged Service/db\ndelete Service/legacy\n");
  EXPECT_EQ(core_->catalog().GetService("legacy").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(core_->identity().GetUser("zoe").ok());
  EXPECT_TRUE(core_->catalog().GetTeam("core").ok());
}

TEST_F(ApplyTest, PruneRefusesToStrandReferences) {
  ASSERT_TRUE(Apply(kBase).ok());
  // Pruning db while web (kept, unchanged) still depends on it is an error naming web's field.
  auto r = Apply(R"(
kind: Service
slug: web
name: Web
team: core
depends_on: [{service: db}]
)",
                 {.prune = true});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].key, "web");
  EXPECT_EQ(r->errors[0].status.field(), "depends_on[0].service");
  EXPECT_TRUE(core_->catalog().GetService("db").ok());
}

TEST_F(ApplyTest, ErrorsCarryFileIndexAndField) {
  auto r = Apply(R"(
kind: Team
slug: core
name: Core
---
kind: Service
slug: Bad Slug
name: X
team: core
---
kind: Service
slug: twice
name: A
team: core
---
kind: Service
slug: twice
name: B
team: core
)");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 2u);
  EXPECT_EQ(r->errors[0].file, "test.yaml");
  EXPECT_EQ(r->errors[0].index, 1);
  EXPECT_EQ(r->errors[0].status.field(), "slug");
  EXPECT_EQ(r->errors[1].index, 3);
  EXPECT_NE(r->errors[1].status.message().find("defined twice"), std::string::npos);
  EXPECT_EQ(core_->catalog().GetTeam("core").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace platops::server
