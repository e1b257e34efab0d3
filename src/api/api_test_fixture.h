#pragma once
// ApiServerTest: the fixture of the API tests. A real Core in a temporary data dir, every route
// registered, a real HTTP server on a loopback port, and helpers to call it and read its answers.
// Test only. Thread-safety: one fixture per test.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/api.h"
#include "base/json_reader.h"
#include "http/client.h"
#include "http/server.h"
#include "server/core.h"
#include "testing/temp_store.h"

namespace platops::api {

template <typename ClockT>
class ApiServerTest : public ::testing::Test {
 protected:
  explicit ApiServerTest(std::string admin_token) : admin_token_(std::move(admin_token)) {}

  // Opens the Core, bootstraps the admin token, starts the server and creates team "core".
  void StartServer(int io_threads, int worker_threads) {
    auto core = server::Core::Open(dir_.path().string(), {}, &metrics_, clock_);
    ASSERT_TRUE(core.ok()) << core.status().ToString();
    core_ = std::move(*core);
    ASSERT_TRUE(core_->identity().Bootstrap(admin_token_).ok());
    deps_ = std::make_unique<ApiDeps>(ApiDeps{core_->store(), core_->log(), core_->identity(),
                                              core_->catalog(), core_->kinds(), metrics_, clock_,
                                              [] { return true; }, "test", &core_->checks()});
    ASSERT_TRUE(core_->OpenMetrics(metrics_options_).ok());
    deps_->tsdb = core_->tsdb();
    deps_->promql = core_->promql();
    deps_->anonymous_query = anonymous_query_;
    deps_->scrape = &core_->scrape();
    deps_->integration_keys = &core_->integration_keys();
    deps_->pagerduty = &core_->pagerduty();
    RegisterApi(router_, *deps_);
    http::ServerOptions opts;
    opts.port = 0;
    opts.io_threads = io_threads;
    opts.worker_threads = worker_threads;
    opts.access_log = false;
    server_ = std::make_unique<http::Server>(opts, router_, &metrics_);
    ASSERT_TRUE(server_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
    client_ = http::NewCurlClient();
    ASSERT_EQ(Call(http::Method::kPost, "/api/v1/teams", R"({"slug":"core","name":"Core"})").status,
              201);
  }

  void TearDown() override {
    if (server_) server_->Stop();
    core_.reset();
  }

  // `token` nullopt: the admin token; "": no Authorization header.
  http::ClientResponse Call(http::Method m, const std::string& path, const std::string& body = "",
                            std::optional<std::string> token = std::nullopt,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::ClientRequest req;
    req.method = m;
    req.url = base_ + path;
    req.body = body;
    req.headers = std::move(headers);
    const std::string t = token.value_or(admin_token_);
    if (!t.empty()) req.headers.emplace_back("Authorization", "Bearer " + t);
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : http::ClientResponse{};
  }

  static boost::json::value Json(const http::ClientResponse& r) {
    auto v = ParseJson(r.body);
    EXPECT_TRUE(v.ok()) << r.body;
    return v.ok() ? *v : boost::json::value();
  }
  static std::string Str(const boost::json::value& v) {
    return v.is_string() ? std::string(v.get_string()) : boost::json::serialize(v);
  }
  static std::string ErrorCode(const http::ClientResponse& r) {
    auto v = Json(r);
    if (!v.is_object() || !v.get_object().contains("error")) return "<no error body>";
    return Str(v.at("error").at("code"));
  }
  static std::string ErrorField(const http::ClientResponse& r) {
    auto v = Json(r);
    if (!v.is_object() || !v.get_object().contains("error")) return "<no error body>";
    const auto& e = v.at("error").get_object();
    return e.contains("field") ? Str(e.at("field")) : "";
  }
  // A token of a new user with `role`.
  std::string MakeToken(const std::string& role) {
    std::string user = "u-" + role;
    Call(http::Method::kPost, "/api/v1/users",
         R"({"name":")" + user + R"(","email":")" + user + R"(@example.com","role":")" + role +
             R"("})");
    auto r =
        Call(http::Method::kPost, "/api/v1/tokens", R"({"name":"t","user":")" + user + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(Json(r).at("secret"));
  }

  const std::string admin_token_;
  ClockT clock_;
  MetricsRegistry metrics_;
  // Set before StartServer to change the metrics store or the query API's anonymous access.
  server::ServerConfig::Metrics metrics_options_{.wal_sync = false};
  bool anonymous_query_ = false;
  testing::TempDir dir_;
  std::unique_ptr<server::Core> core_;
  std::unique_ptr<ApiDeps> deps_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Client> client_;
  std::string base_;
};

}  // namespace platops::api
