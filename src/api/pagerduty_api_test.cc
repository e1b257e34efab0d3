// POST /integrations/pagerduty/v2/enqueue and the integration keys, over a real HTTP server.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/api.h"
#include "api/api_test_fixture.h"

namespace platops::api {
namespace {

using http::Method;
using ::testing::HasSubstr;

constexpr const char* kAdminToken = "pagerduty-api-admin-token-0123456789abc";

class PagerDutyApiTest : public ApiServerTest<SystemClock> {
 protected:
  PagerDutyApiTest() : ApiServerTest(kAdminToken) {}
  void SetUp() override {
    StartServer(1, 2);
    ASSERT_EQ(Call(Method::kPost, "/api/v1/services",
                   R"({"slug":"payments","name":"Payments","team":"core"})")
                  .status,
              201);
  }

  std::string NewKey() {
    auto r = Call(Method::kPost, "/api/v1/services/payments/integration-keys",
                  R"({"name":"grafana"})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(Json(r).at("routing_key"));
  }

  http::ClientResponse Enqueue(const std::string& body) {
    return Call(Method::kPost, "/integrations/pagerduty/v2/enqueue", body, "");
  }
};

TEST_F(PagerDutyApiTest, AnEventWithAServicesKeyRaisesAnAlertOnThatService) {
  const std::string key = NewKey();
  EXPECT_EQ(key.size(), 32u);
  auto r = Enqueue(R"({"routing_key":")" + key +
                   R"(","event_action":"trigger","dedup_key":"cpu-1",)"
                   R"("payload":{"summary":"CPU high","source":"db-1","severity":"warning"}})");
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.body, R"({"status":"success","message":"Event processed","dedup_key":"cpu-1"})");
  auto alerts = core_->alerting().ListAlerts({});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].alert().labels.Get("service"), "payments");
  EXPECT_EQ(alerts[0].alert().labels.Get("severity"), "warning");

  r = Enqueue(R"({"routing_key":")" + key + R"(","event_action":"resolve","dedup_key":"cpu-1"})");
  EXPECT_EQ(r.status, 202);
  EXPECT_TRUE(core_->alerting().ListAlerts({}).empty());
}

TEST_F(PagerDutyApiTest, InvalidEventsGetPagerDutysAnswer) {
  auto r = Enqueue(R"({"event_action":"trigger"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr(R"("status":"invalid event","message":"Event object is invalid")"));
  EXPECT_THAT(r.body, HasSubstr("routing_key"));
  r = Enqueue(R"({"routing_key":"0123456789abcdef0123456789abcdef","event_action":"trigger",)"
              R"("payload":{"summary":"x","source":"y","severity":"info"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("not an integration key"));
  EXPECT_TRUE(core_->alerting().ListAlerts({}).empty());
}

TEST_F(PagerDutyApiTest, KeysAreListedWithoutTheKeyAndCanBeDeleted) {
  const std::string key = NewKey();
  auto list = Call(Method::kGet, "/api/v1/services/payments/integration-keys");
  ASSERT_EQ(list.status, 200);
  EXPECT_THAT(list.body, ::testing::Not(HasSubstr(key)));
  auto items = Json(list).at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(Str(items[0].at("name")), "grafana");
  EXPECT_EQ(Str(items[0].at("hint")), "…" + key.substr(28));
  const std::string id = Str(items[0].at("id"));

  // Unknown service, bad body, viewer may not create.
  EXPECT_EQ(Call(Method::kPost, "/api/v1/services/nope/integration-keys", R"({"name":"x"})")
                .status,
            404);
  auto bad = Call(Method::kPost, "/api/v1/services/payments/integration-keys", R"({"name":5})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ErrorField(bad), "name");
  EXPECT_EQ(Call(Method::kPost, "/api/v1/services/payments/integration-keys",
                 R"({"name":"x"})", MakeToken("viewer"))
                .status,
            403);

  EXPECT_EQ(Call(Method::kDelete, "/api/v1/integration-keys/" + id).status, 204);
  EXPECT_EQ(Call(Method::kDelete, "/api/v1/integration-keys/" + id).status, 404);
  auto r = Enqueue(R"({"routing_key":")" + key +
                   R"(","event_action":"trigger","payload":{"summary":"x","source":"y",)"
                   R"("severity":"info"}})");
  EXPECT_EQ(r.status, 400);
}

TEST_F(PagerDutyApiTest, DeletingTheServiceRevokesItsKeys) {
  const std::string key = NewKey();
  ASSERT_EQ(Call(Method::kDelete, "/api/v1/services/payments").status, 204);
  ASSERT_TRUE(core_->bus().DeliverPending().ok());
  EXPECT_FALSE(core_->integration_keys().Lookup(key).has_value());
}

}  // namespace
}  // namespace platops::api
