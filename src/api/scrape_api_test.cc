// Tests of the scrape routes over a real HTTP server on a loopback port: ScrapeTarget CRUD and
// Prometheus's target list. The scrape manager runs on the Core's store with a FakeClock and is
// driven by hand (Tick), never started.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/api.h"
#include "base/json_reader.h"
#include "http/client.h"
#include "http/server.h"
#include "metrics/mem_storage.h"
#include "scrape/scrape.h"
#include "server/core.h"
#include "testing/temp_store.h"

namespace platops::api {

void RegisterScrapeApi(http::Router& router, ApiDeps& deps);

namespace {

namespace json = boost::json;
using http::Method;
using namespace std::chrono_literals;

constexpr const char* kAdminToken = "scrape-api-admin-token-0123456789";

class ScrapeApiTest : public ::testing::Test {
 protected:
  void Start(bool anonymous_query = false) {
    auto core = server::Core::Open(dir_.path().string(), {}, &metrics_, clock_);
    ASSERT_TRUE(core.ok()) << core.status().ToString();
    core_ = std::move(*core);
    ASSERT_TRUE(core_->store().Migrate(scrape::ScrapeManager::Migrations()).ok());
    ASSERT_TRUE(core_->identity().Bootstrap(std::string(kAdminToken)).ok());
    scrape::ScrapeOptions o;
    o.workers = 0;
    o.self_interval = 0ms;
    scrape_ = std::make_unique<scrape::ScrapeManager>(core_->store(), core_->log(), clock_,
                                                      core_->catalog(), o, &metrics_);
    bus_ = std::make_unique<events::EventBus>(core_->store(), core_->log());
    ASSERT_TRUE(scrape_->Load(*bus_).ok());
    scrape_->AttachStorage(storage_);
    deps_ = std::make_unique<ApiDeps>(ApiDeps{core_->store(), core_->log(), core_->identity(),
                                              core_->catalog(), core_->kinds(), metrics_, clock_,
                                              [] { return true; }, "test"});
    deps_->scrape = scrape_.get();
    deps_->anonymous_query = anonymous_query;
    RegisterScrapeApi(router_, *deps_);
    http::ServerOptions opts;
    opts.port = 0;
    opts.io_threads = 1;
    opts.worker_threads = 2;
    opts.access_log = false;
    server_ = std::make_unique<http::Server>(opts, router_, &metrics_);
    ASSERT_TRUE(server_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
    client_ = http::NewCurlClient();
  }
  void TearDown() override {
    if (server_) server_->Stop();
    scrape_.reset();
    bus_.reset();
    core_.reset();
  }
  std::string Token(identity::Role role) {
    identity::User u;
    u.name = "u" + std::to_string(static_cast<int>(role));
    u.email = u.name + "@example.com";
    u.role = role;
    EXPECT_TRUE(core_->identity().CreateUser("admin", u).ok());
    auto t = core_->identity().CreateToken("admin", u.name, "t", role, std::nullopt);
    EXPECT_TRUE(t.ok());
    return t.ok() ? t->secret : "";
  }
  // `token` nullopt: the admin token; "": no Authorization header.
  http::ClientResponse Call(Method m, const std::string& path, const std::string& body = "",
                            std::optional<std::string> token = std::nullopt,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::ClientRequest req;
    req.method = m;
    req.url = base_ + path;
    req.body = body;
    req.headers = std::move(headers);
    const std::string t = token.value_or(kAdminToken);
    if (!t.empty()) req.headers.emplace_back("Authorization", "Bearer " + t);
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : http::ClientResponse{};
  }
  static json::value Json(const http::ClientResponse& r) {
    auto v = ParseJson(r.body);
    EXPECT_TRUE(v.ok()) << r.body;
    return v.ok() ? *v : json::value();
  }
  void Scrape() {
    scrape_->scheduler().Tick(clock_.Now());
    auto snap = scrape_->Targets();
    for (const auto& t : snap.active) {
      clock_.Set(*t.next_scrape);
      scrape_->scheduler().Tick(clock_.Now());
    }
    ASSERT_TRUE(scrape_->scheduler().RunUntilIdle(10s));
  }

  testing::TempDir dir_;
  FakeClock clock_;
  MetricsRegistry metrics_;
  metrics::MemStorage storage_;
  std::unique_ptr<server::Core> core_;
  std::unique_ptr<events::EventBus> bus_;
  std::unique_ptr<scrape::ScrapeManager> scrape_;
  std::unique_ptr<ApiDeps> deps_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Client> client_;
  std::string base_;
};

TEST_F(ScrapeApiTest, CrudFollowsTheHouseConventions) {
  Start();
  auto created = Call(Method::kPost, "/api/v1/scrape-targets",
                      R"({"job":"node","targets":["127.0.0.1:1"],"interval":"30s"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.headers.Get("Location").value_or(""), "/api/v1/scrape-targets/node");
  EXPECT_EQ(created.headers.Get("ETag").value_or(""), "\"1\"");
  json::value body = Json(created);
  EXPECT_EQ(body.at("interval").as_string(), "30s");
  EXPECT_EQ(body.at("timeout").as_string(), "10s");
  EXPECT_EQ(body.at("version").as_int64(), 1);

  scrape_->scheduler().Tick(clock_.Now());
  auto got = Call(Method::kGet, "/api/v1/scrape-targets/node");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Json(got).at("status").at("targets").to_number<int64_t>(), 1);
  EXPECT_EQ(Json(got).at("status").at("unknown").to_number<int64_t>(), 1);

  auto patched = Call(Method::kPatch, "/api/v1/scrape-targets/node", R"({"sample_limit":500})",
                      std::nullopt, {{"If-Match", "\"1\""}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(Json(patched).at("sample_limit").as_int64(), 500);
  EXPECT_EQ(Json(patched).at("version").as_int64(), 2);

  auto stale = Call(Method::kPut, "/api/v1/scrape-targets/node",
                    R"({"targets":["127.0.0.1:2"],"version":1})");
  EXPECT_EQ(stale.status, 409) << stale.body;

  auto list = Call(Method::kGet, "/api/v1/scrape-targets");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(Json(list).at("items").as_array().size(), 1u);

  auto bad = Call(Method::kPost, "/api/v1/scrape-targets",
                  R"({"job":"x","targets":["127.0.0.1:1"],"interval":"5s","timeout":"6s"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Json(bad).at("error").at("field").as_string(), "timeout");

  const std::string viewer = Token(identity::Role::kViewer);
  EXPECT_EQ(Call(Method::kGet, "/api/v1/scrape-targets/node", "", viewer).status, 200);
  EXPECT_EQ(Call(Method::kDelete, "/api/v1/scrape-targets/node", "", viewer).status, 403);
  EXPECT_EQ(Call(Method::kGet, "/api/v1/scrape-targets", "", "").status, 401);

  EXPECT_EQ(Call(Method::kDelete, "/api/v1/scrape-targets/node").status, 204);
  EXPECT_EQ(Call(Method::kGet, "/api/v1/scrape-targets/node").status, 404);
}

TEST_F(ScrapeApiTest, TargetsListsActiveAndDroppedTargetsLikePrometheus) {
  Start();
  auto created = Call(
      Method::kPost, "/api/v1/scrape-targets",
      R"({"job":"node","targets":["127.0.0.1:1","127.0.0.1:2"],"labels":{"env":"test"},)"
      R"("relabel_configs":[{"source_labels":["__address__"],"regex":".*:2","action":"drop"}]})");
  ASSERT_EQ(created.status, 201) << created.body;
  scrape_->scheduler().Tick(clock_.Now());

  auto before = Json(Call(Method::kGet, "/prometheus/api/v1/targets"));
  EXPECT_EQ(before.at("status").as_string(), "success");
  const auto& t0 = before.at("data").at("activeTargets").as_array().at(0);
  EXPECT_EQ(t0.at("health").as_string(), "unknown");
  EXPECT_EQ(t0.at("lastScrape").as_string(), "0001-01-01T00:00:00Z");

  Scrape();
  auto r = Call(Method::kGet, "/prometheus/api/v1/targets");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value v = Json(r);
  const auto& active = v.at("data").at("activeTargets").as_array();
  ASSERT_EQ(active.size(), 1u);
  const auto& t = active[0];
  EXPECT_EQ(t.at("scrapePool").as_string(), "node");
  EXPECT_EQ(t.at("scrapeUrl").as_string(), "http://127.0.0.1:1/metrics");
  EXPECT_EQ(t.at("globalUrl").as_string(), "http://127.0.0.1:1/metrics");
  EXPECT_EQ(t.at("health").as_string(), "down");
  EXPECT_NE(std::string(t.at("lastError").as_string()).find("Get \"http://127.0.0.1:1/metrics\""),
            std::string::npos);
  EXPECT_EQ(t.at("scrapeInterval").as_string(), "15s");
  EXPECT_EQ(t.at("scrapeTimeout").as_string(), "10s");
  EXPECT_GE(t.at("lastScrapeDuration").as_double(), 0);
  EXPECT_NE(t.at("lastScrape").as_string(), "0001-01-01T00:00:00Z");
  EXPECT_EQ(t.at("labels").at("env").as_string(), "test");
  EXPECT_EQ(t.at("labels").at("instance").as_string(), "127.0.0.1:1");
  EXPECT_EQ(t.at("discoveredLabels").at("__address__").as_string(), "127.0.0.1:1");
  EXPECT_EQ(t.at("discoveredLabels").at("__metrics_path__").as_string(), "/metrics");
  const auto& dropped = v.at("data").at("droppedTargets").as_array();
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].at("discoveredLabels").at("__address__").as_string(), "127.0.0.1:2");
  EXPECT_EQ(v.at("data").at("droppedTargetCounts").at("node").to_number<int64_t>(), 1);

  auto only_active = Json(Call(Method::kGet, "/prometheus/api/v1/targets?state=active"));
  EXPECT_EQ(only_active.at("data").at("activeTargets").as_array().size(), 1u);
  EXPECT_TRUE(only_active.at("data").at("droppedTargets").as_array().empty());
  auto only_dropped = Json(Call(Method::kGet, "/prometheus/api/v1/targets?state=Dropped"));
  EXPECT_TRUE(only_dropped.at("data").at("activeTargets").as_array().empty());
  EXPECT_EQ(only_dropped.at("data").at("droppedTargets").as_array().size(), 1u);
  auto other_pool = Json(Call(Method::kGet, "/prometheus/api/v1/targets?scrapePool=other"));
  EXPECT_TRUE(other_pool.at("data").at("activeTargets").as_array().empty());

  EXPECT_EQ(Call(Method::kGet, "/prometheus/api/v1/targets", "", "").status, 401);
}

TEST_F(ScrapeApiTest, TargetsAreReadableAnonymouslyWhenTheQueryApiIs) {
  Start(/*anonymous_query=*/true);
  auto r = Call(Method::kGet, "/prometheus/api/v1/targets", "", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Json(r).at("data").at("activeTargets").as_array().empty());
  EXPECT_EQ(Call(Method::kGet, "/api/v1/scrape-targets", "", "").status, 401)
      << "the documents still need a token";
}

}  // namespace
}  // namespace platops::api
