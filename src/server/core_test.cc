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
  ASSERT_TRUE((*core)->store().Read([&](store::Tx& tx) -> Status {
                PLATOPS_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT count(*) FROM schema_migrations"));
                n = row->Int(0);
                return Status::Ok();
              }).ok());
  EXPECT_EQ(n, static_cast<int64_t>(AllMigrations().size()));
}

}  // namespace
}  // namespace platops::server
