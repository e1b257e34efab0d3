#include "checks/checks.h"

#include <gtest/gtest.h>

#include "base/json_reader.h"
#include "catalog/kinds.h"
#include "config/kind_registry.h"
#include "config/yaml_json.h"
#include "events/event_bus.h"
#include "identity/kinds.h"
#include "testing/temp_store.h"

namespace platops::checks {
namespace {

using namespace std::chrono_literals;

std::vector<store::Migration> AllMigrations() {
  auto m = events::EventLog::Migrations();
  for (auto& x : identity::IdentityService::Migrations()) m.push_back(x);
  for (auto& x : catalog::CatalogService::Migrations()) m.push_back(x);
  for (auto& x : ChecksService::Migrations()) m.push_back(x);
  return m;
}

class NullEngine final : public probe::ProbeEngine {
 public:
  void Run(std::shared_ptr<const probe::Spec>, std::chrono::milliseconds,
           probe::Callback) override {}
  void Start() override {}
  void Stop() override {}
};

constexpr const char* kConfig = R"(kind: Team
slug: core
name: Core
---
kind: Service
slug: api
name: API
team: core
---
kind: Check
service: api
name: health
type: http
interval: 30s
timeout: 5s
http:
  url: http://127.0.0.1:9470/healthz
  expected_status: [200]
---
kind: Check
service: api
name: nightly
type: heartbeat
heartbeat:
  cron: "0 3 * * *"
  time_zone: Europe/Berlin
  grace: 30m
---
kind: MaintenanceWindow
name: sunday
services: [api]
weekly:
  - {day: sun, start: "02:00", end: "04:00"}
time_zone: Europe/Berlin
reason: weekly patching
)";

class ChecksKindsTest : public ::testing::Test {
 protected:
  ChecksKindsTest()
      : db_(AllMigrations()),
        identity_(db_.store(), log_, clock_),
        catalog_(db_.store(), log_, clock_, identity_),
        bus_(db_.store(), log_),
        checks_(db_.store(), log_, clock_, catalog_, engine_, {}, nullptr) {
    identity::RegisterKinds(kinds_, identity_);
    catalog::RegisterKinds(kinds_, catalog_);
    RegisterKinds(kinds_, checks_);
  }
  void SetUp() override { ASSERT_TRUE(checks_.Load(bus_).ok()); }

  Result<config::ApplyResult> ApplyYaml(const std::string& yaml, bool prune = false) {
    auto docs_json = config::YamlToJson(yaml);
    if (!docs_json.ok()) return docs_json.status();
    std::vector<config::Document> docs;
    for (size_t i = 0; i < docs_json->size(); ++i)
      docs.push_back({(*docs_json)[i], "test.yaml", static_cast<int>(i)});
    config::ApplyOptions o;
    o.prune = prune;
    return config::Apply(db_.store(), kinds_, docs, o, "admin");
  }

  std::string ExportText() {
    auto out = config::Export(db_.store(), kinds_);
    EXPECT_TRUE(out.ok());
    std::string text;
    for (const auto& o : *out) text += JsonToString(o) + "\n";
    return text;
  }

  FakeClock clock_;
  testing::TempStore db_;
  events::EventLog log_{clock_};
  identity::IdentityService identity_;
  catalog::CatalogService catalog_;
  events::EventBus bus_;
  NullEngine engine_;
  ChecksService checks_;
  config::KindRegistry kinds_;
};

TEST_F(ChecksKindsTest, ApplyExportApplyIsIdempotent) {
  auto r = ApplyYaml(kConfig);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->errors.empty()) << r->errors[0].status.ToString();
  EXPECT_TRUE(r->applied);
  auto check = checks_.GetCheck("api.health");
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->interval, 30s);
  // The monitor follows the apply without a restart.
  ASSERT_TRUE(checks_.monitor().StatusOf("api.health"));
  auto hb = checks_.GetCheck("api.nightly");
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->heartbeat.token.size(), 32u) << "a generated token";
  EXPECT_TRUE(checks_.monitor().CheckForToken(hb->heartbeat.token));

  const std::string first = ExportText();
  auto again = ApplyYaml(kConfig);
  ASSERT_TRUE(again.ok());
  for (const auto& item : again->plan)
    EXPECT_EQ(item.action, config::PlanAction::kUnchanged) << item.kind << " " << item.key;
  EXPECT_EQ(ExportText(), first);
  EXPECT_EQ(checks_.GetCheck("api.nightly")->heartbeat.token, hb->heartbeat.token)
      << "re-applying keeps the generated ping token";
}

TEST_F(ChecksKindsTest, InvalidDocumentsApplyNothing) {
  std::string bad = std::string(kConfig) + R"(---
kind: Check
service: api
name: broken
type: tcp
interval: 10s
timeout: 10s
tcp: {host: 127.0.0.1, port: 5432}
)";
  auto r = ApplyYaml(bad);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].status.field(), "timeout");
  EXPECT_FALSE(r->applied);
  EXPECT_EQ(checks_.GetCheck("api.health").status().code(), StatusCode::kNotFound);
}

TEST_F(ChecksKindsTest, UnknownServiceIsReportedByReference) {
  auto r = ApplyYaml(R"(kind: Check
service: nowhere
name: x
type: tcp
tcp: {host: 127.0.0.1, port: 1}
)");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].status.field(), "service");
}

TEST_F(ChecksKindsTest, PruneDeletesChecksNotInTheInput) {
  ASSERT_TRUE(ApplyYaml(kConfig).ok());
  std::string without_health = kConfig;
  auto start = without_health.find("kind: Check\nservice: api\nname: health");
  auto end = without_health.find("---", start);
  without_health.erase(start, end + 4 - start);
  auto r = ApplyYaml(without_health, true);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->errors.empty()) << r->errors[0].status.ToString();
  EXPECT_EQ(checks_.GetCheck("api.health").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(checks_.monitor().StatusOf("api.health"));
  EXPECT_TRUE(checks_.GetCheck("api.nightly").ok());
}

}  // namespace
}  // namespace platops::checks
