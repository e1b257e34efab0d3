// Tests of GET /api/v1/alerts/history over a real HTTP server on a loopback port and a real store.
// Transitions are recorded straight into AlertHistory at fixed times (no clock involved).

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cctype>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alerting/alert_history.h"
#include "api/api.h"
#include "api/api_test_fixture.h"
#include "base/time_util.h"

namespace platops::api {

// Defined in alert_history_api.cc; RegisterApi calls it.
void RegisterAlertHistoryApi(http::Router& router, ApiDeps& deps);

namespace {

namespace json = boost::json;
using alerting::AlertTransition;
using alerting::TransitionState;
using http::Method;
using std::chrono::minutes;

constexpr const char* kAdminToken = "alert-history-api-admin-token-0123456789";
const Timestamp kT0 = Timestamp(std::chrono::milliseconds(1767225600000));  // 2026-01-01

std::string Encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

AlertTransition At(Timestamp at, const std::string& name, TransitionState state,
                   const std::string& severity) {
  AlertTransition t;
  t.at = at;
  t.labels = {{"alertname", name}, {"severity", severity}};
  t.fingerprint = alerting::Fingerprint(t.labels);
  t.state = state;
  t.starts_at = at - minutes(2);
  if (state == TransitionState::kResolved) t.ends_at = at;
  t.source = "rule";
  t.annotations = {{"summary", name + " happened"}};
  return t;
}

class AlertHistoryApiTest : public ApiServerTest<FakeClock> {
 protected:
  AlertHistoryApiTest() : ApiServerTest(kAdminToken) {}

  void SetUp() override {
    // StartServer, with the history's table and ApiDeps::alert_history set before the routes.
    auto core = server::Core::Open(dir_.path().string(), {}, &metrics_, clock_);
    ASSERT_TRUE(core.ok()) << core.status().ToString();
    core_ = std::move(*core);
    ASSERT_TRUE(core_->store().Migrate(alerting::AlertHistory::Migrations()).ok());
    ASSERT_TRUE(core_->identity().Bootstrap(admin_token_).ok());
    history_ = std::make_unique<alerting::AlertHistory>(core_->store());
    deps_ = std::make_unique<ApiDeps>(ApiDeps{core_->store(), core_->log(), core_->identity(),
                                              core_->catalog(), core_->kinds(), metrics_, clock_,
                                              [] { return true; }, "test", &core_->checks()});
    deps_->alert_history = history_.get();
    RegisterApi(router_, *deps_);
    http::ServerOptions opts;
    opts.port = 0;
    opts.io_threads = 1;
    opts.worker_threads = 2;
    opts.access_log = false;
    server_ = std::make_unique<http::Server>(opts, router_, &metrics_);
    ASSERT_TRUE(server_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
    client_ = http::NewCurlClient();

    ASSERT_TRUE(
        history_
            ->Record({At(kT0, "DiskFull", TransitionState::kFiring, "critical"),
                      At(kT0 + minutes(1), "Down", TransitionState::kFiring, "warning"),
                      At(kT0 + minutes(2), "DiskFull", TransitionState::kResolved, "critical"),
                      At(kT0 + minutes(3), "Down", TransitionState::kResolved, "warning"),
                      At(kT0 + minutes(4), "Down", TransitionState::kFiring, "page")})
            .ok());
  }

  void TearDown() override {
    if (server_) server_->Stop();
    history_.reset();
    ApiServerTest::TearDown();
  }

  http::ClientResponse Get(const std::string& query, std::optional<std::string> token = {}) {
    return Call(Method::kGet, "/api/v1/alerts/history" + query, "", std::move(token));
  }
  // The `at` of each item.
  std::vector<std::string> Ats(const http::ClientResponse& r) {
    std::vector<std::string> out;
    const json::value page = Json(r);
    for (const auto& item : page.at("items").as_array()) out.push_back(Str(item.at("at")));
    return out;
  }
  static std::string T(std::chrono::minutes m) { return FormatRfc3339(kT0 + m); }

  std::unique_ptr<alerting::AlertHistory> history_;
};

TEST_F(AlertHistoryApiTest, ListsTransitionsNewestFirst) {
  auto r = Get("");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value page = Json(r);
  const auto& items = page.at("items").as_array();
  ASSERT_EQ(items.size(), 5u);
  EXPECT_TRUE(page.at("next_cursor").is_null());

  const auto& resolved = items[1].as_object();  // Down, resolved at +3 min
  EXPECT_EQ(Str(resolved.at("at")), "2026-01-01T00:03:00Z");
  EXPECT_EQ(Str(resolved.at("state")), "resolved");
  EXPECT_EQ(Str(resolved.at("fingerprint")),
            alerting::FingerprintString(
                alerting::Fingerprint({{"alertname", "Down"}, {"severity", "warning"}})));
  EXPECT_EQ(json::serialize(resolved.at("labels")), R"({"alertname":"Down","severity":"warning"})");
  EXPECT_EQ(json::serialize(resolved.at("annotations")), R"({"summary":"Down happened"})");
  EXPECT_EQ(Str(resolved.at("starts_at")), "2026-01-01T00:01:00Z");
  EXPECT_EQ(Str(resolved.at("ends_at")), "2026-01-01T00:03:00Z");
  EXPECT_EQ(Str(resolved.at("source")), "rule");
  EXPECT_EQ(resolved.at("flapping"), json::value(false));

  const auto& firing = items[0].as_object();
  EXPECT_EQ(Str(firing.at("state")), "firing");
  EXPECT_TRUE(firing.at("ends_at").is_null());
  EXPECT_EQ(Ats(r), (std::vector<std::string>{T(minutes(4)), T(minutes(3)), T(minutes(2)),
                                              T(minutes(1)), T(minutes(0))}));
}

TEST_F(AlertHistoryApiTest, FiltersByMatchersStateFingerprintAndTime) {
  // One matcher.
  EXPECT_EQ(Ats(Get("?matcher=" + Encode(R"(alertname="DiskFull")"))),
            (std::vector<std::string>{T(minutes(2)), T(minutes(0))}));
  // Repeated: all must match; a regex is anchored.
  EXPECT_EQ(Ats(Get("?matcher=" + Encode(R"(alertname="Down")") +
                    "&matcher=" + Encode(R"(severity=~"warn.*")"))),
            (std::vector<std::string>{T(minutes(3)), T(minutes(1))}));
  EXPECT_TRUE(Ats(Get("?matcher=" + Encode(R"(severity=~"warn")"))).empty());
  // The brace form.
  EXPECT_EQ(Ats(Get("?matcher=" + Encode(R"({alertname="Down",severity!="warning"})"))),
            (std::vector<std::string>{T(minutes(4))}));
  EXPECT_EQ(Ats(Get("?state=resolved")), (std::vector<std::string>{T(minutes(3)), T(minutes(2))}));
  const std::string fp = alerting::FingerprintString(
      alerting::Fingerprint({{"alertname", "DiskFull"}, {"severity", "critical"}}));
  EXPECT_EQ(Ats(Get("?fingerprint=" + fp)),
            (std::vector<std::string>{T(minutes(2)), T(minutes(0))}));
  EXPECT_EQ(Ats(Get("?from=" + Encode(T(minutes(1))) + "&to=" + Encode(T(minutes(3))))),
            (std::vector<std::string>{T(minutes(2)), T(minutes(1))}));
}

TEST_F(AlertHistoryApiTest, PagesFollowTheCursor) {
  const std::string filter = "&matcher=" + Encode(R"(alertname="Down")");
  auto r = Get("?limit=2" + filter);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Ats(r), (std::vector<std::string>{T(minutes(4)), T(minutes(3))}));
  const json::value first = Json(r);
  ASSERT_TRUE(first.at("next_cursor").is_string()) << r.body;
  r = Get("?limit=2" + filter + "&cursor=" + Str(first.at("next_cursor")));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Ats(r), (std::vector<std::string>{T(minutes(1))}));
  EXPECT_TRUE(Json(r).at("next_cursor").is_null());
}

TEST_F(AlertHistoryApiTest, RefusesBadParametersNamingThem) {
  struct Case {
    std::string query;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"?from=yesterday", "from"},
      {"?to=2026-13-01T00:00:00Z", "to"},
      {"?from=" + Encode(T(minutes(5))) + "&to=" + Encode(T(minutes(1))), "to"},
      {"?matcher=" + Encode("alertname"), "matcher"},
      {"?matcher=" + Encode(R"(severity=~"crit[")"), "matcher"},
      {"?matcher=" + Encode(R"(alertname="Down")") + "&matcher=" + Encode("{a=\"b\"=}"), "matcher"},
      {"?state=pending", "state"},
      {"?fingerprint=not-hex", "fingerprint"},
      {"?limit=0", "limit"},
      {"?limit=1001", "limit"},
      {"?limit=ten", "limit"},
      {"?cursor=abc", "cursor"},
      {"?cursor=-3", "cursor"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.query);
    auto r = Get(c.query);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(ErrorCode(r), "validation_failed");
    EXPECT_EQ(ErrorField(r), c.field);
  }
}

TEST_F(AlertHistoryApiTest, NeedsAViewerToken) {
  EXPECT_EQ(Get("", "").status, 401);
  EXPECT_EQ(Get("", "not-a-token").status, 401);
  const std::string viewer = MakeToken("viewer");
  auto r = Get("", viewer);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Ats(r).size(), 5u);
}

TEST_F(AlertHistoryApiTest, OpenApiDescribesTheRoute) {
  auto r = Call(Method::kGet, "/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200);
  const json::value doc = Json(r);
  const auto& op = doc.at("paths").at("/api/v1/alerts/history").at("get");
  EXPECT_EQ(Str(op.at("responses")
                    .at("200")
                    .at("content")
                    .at("application/json")
                    .at("schema")
                    .at("$ref")),
            "#/components/schemas/AlertTransitionPage");
  std::vector<std::string> params;
  for (const auto& p : op.at("parameters").as_array()) params.push_back(Str(p.at("name")));
  EXPECT_EQ(params, (std::vector<std::string>{"from", "to", "matcher", "state", "fingerprint",
                                              "limit", "cursor"}));
  EXPECT_TRUE(doc.at("components").at("schemas").as_object().contains("AlertTransition"));
}

TEST_F(AlertHistoryApiTest, IsNotRegisteredWithoutAHistory) {
  auto has_route = [](const http::Router& router) {
    for (const auto& r : router.routes()) {
      if (r.path_template == "/api/v1/alerts/history") return true;
    }
    return false;
  };
  EXPECT_TRUE(has_route(router_));
  ApiDeps deps = *deps_;
  deps.alert_history = nullptr;
  http::Router router;
  RegisterAlertHistoryApi(router, deps);
  EXPECT_FALSE(has_route(router));
}

}  // namespace
}  // namespace platops::api
