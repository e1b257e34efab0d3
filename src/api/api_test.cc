// End-to-end tests of the REST API: a real HTTP server on a loopback port over a real store.

#include "api/api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <regex>
#include <thread>

#include "api/api_test_fixture.h"
#include "base/json_reader.h"
#include "http/client.h"
#include "http/server.h"
#include "server/core.h"
#include "server/process_metrics.h"
#include "testing/temp_store.h"

namespace platops::api {
namespace {

namespace json = boost::json;

constexpr const char* kAdminToken = "test-admin-token-0123456789";

class ApiTest : public ApiServerTest<SystemClock> {
 protected:
  ApiTest() : ApiServerTest(kAdminToken) {}
  void SetUp() override {
    server::RegisterProcessMetrics(metrics_, "test");
    StartServer(2, 4);
  }
  std::string ExportJson() { return Call(http::Method::kGet, "/api/v1/export").body; }
};

TEST_F(ApiTest, AuthenticationAndRoles) {
  auto none = Call(http::Method::kGet, "/api/v1/services", "", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(ErrorCode(none), "unauthenticated");
  EXPECT_EQ(Call(http::Method::kGet, "/api/v1/services", "", "wrong-token-000000").status, 401);
  // Basic auth with the token as password works too (Grafana, Prometheus).
  auto basic = Call(http::Method::kGet, "/api/v1/services", "", "",
                    {{"Authorization", "Basic dXNlcjp0ZXN0LWFkbWluLXRva2VuLTAxMjM0NTY3ODk="}});
  EXPECT_EQ(basic.status, 200) << basic.body;

  std::string viewer = MakeToken("viewer");
  std::string op = MakeToken("operator");
  EXPECT_EQ(Call(http::Method::kGet, "/api/v1/services", "", viewer).status, 200);
  auto denied = Call(http::Method::kPost, "/api/v1/services",
                     R"({"slug":"x","name":"X","team":"core"})", viewer);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(ErrorCode(denied), "forbidden");
  EXPECT_EQ(
      Call(http::Method::kPost, "/api/v1/services", R"({"slug":"x","name":"X","team":"core"})", op)
          .status,
      201);
  // Identity writes (users, teams, tokens) need admin.
  EXPECT_EQ(Call(http::Method::kPost, "/api/v1/teams", R"({"slug":"t2","name":"T2"})", op).status,
            403);
  EXPECT_EQ(
      Call(http::Method::kPost, "/api/v1/users", R"({"name":"z","email":"z@x.io"})", op).status,
      403);
  // Revoked tokens stop working.
  auto tokens = Json(Call(http::Method::kGet, "/api/v1/tokens?user=u-operator"));
  std::string id(tokens.at("items").at(0).at("id").get_string());
  EXPECT_EQ(Call(http::Method::kDelete, "/api/v1/tokens/" + id).status, 204);
  EXPECT_EQ(Call(http::Method::kGet, "/api/v1/services", "", op).status, 401);
}

TEST_F(ApiTest, ServiceLifecycle) {
  auto created = Call(http::Method::kPost, "/api/v1/services",
                      R"({"slug":"payments-api","name":"Payments","team":"core","tier":1,)"
                      R"("links":{"runbook":"https://wiki/x"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.headers.Get("Location").value_or(""), "/api/v1/services/payments-api");
  EXPECT_EQ(created.headers.Get("ETag").value_or(""), "\"1\"");
  auto got = Call(http::Method::kGet, "/api/v1/services/payments-api");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Json(got).at("tier").as_int64(), 1);

  // PUT without a version is refused; with a version it updates.
  EXPECT_EQ(ErrorField(Call(http::Method::kPut, "/api/v1/services/payments-api",
                            R"({"name":"Payments","team":"core","tier":2})")),
            "version");
  auto put = Call(http::Method::kPut, "/api/v1/services/payments-api",
                  R"({"name":"Payments","team":"core","tier":2,"version":1})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Json(put).at("version").as_int64(), 2);
  EXPECT_EQ(Json(put).at("links").as_object().size(), 0u);  // PUT replaces

  // PATCH merges, conditional on If-Match.
  auto patch = Call(http::Method::kPatch, "/api/v1/services/payments-api", R"({"tier":3})",
                    kAdminToken, {{"If-Match", "\"2\""}});
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(Json(patch).at("tier").as_int64(), 3);
  EXPECT_EQ(Json(patch).at("name").as_string(), "Payments");
  auto stale = Call(http::Method::kPatch, "/api/v1/services/payments-api", R"({"tier":1})",
                    kAdminToken, {{"If-Match", "2"}});
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(ErrorCode(stale), "conflict");

  EXPECT_EQ(Call(http::Method::kDelete, "/api/v1/services/payments-api").status, 204);
  auto gone = Call(http::Method::kGet, "/api/v1/services/payments-api");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(ErrorCode(gone), "not_found");

  auto events =
      Json(Call(http::Method::kGet, "/api/v1/events?subject_type=service&subject_id=payments-api"));
  std::vector<std::string> actions;
  for (const auto& e : events.at("items").as_array())
    actions.emplace_back(e.at("action").as_string());
  EXPECT_EQ(actions, (std::vector<std::string>{"service.created", "service.updated",
                                               "service.updated", "service.deleted"}));
  EXPECT_EQ(events.at("items").at(0).at("actor").as_string(), "admin (token bootstrap)");
}

TEST_F(ApiTest, BadInputIsRefusedAndChangesNothing) {
  ASSERT_EQ(
      Call(http::Method::kPost, "/api/v1/services", R"({"slug":"api","name":"API","team":"core"})")
          .status,
      201);
  const std::string before = ExportJson();
  struct Case {
    std::string body;
    int status;
    std::string field;
  };
  std::vector<Case> cases = {
      {R"({"slug":"x","name":)", 400, ""},                                      // malformed JSON
      {R"({"slug":"x","name":"X","team":"core","tier":"one"})", 400, "tier"},   // wrong type
      {R"({"slug":"x","name":"X","team":"core","owner":"me"})", 400, "owner"},  // unknown field
      {R"({"name":"X","team":"core"})", 400, "slug"},                           // missing required
      {"{\"slug\":\"x\",\"name\":\"\xC3\x28\",\"team\":\"core\"}", 400, ""},    // invalid UTF-8
      {R"({"slug":")" + std::string(100000, 'a') + R"(","name":"X","team":"core"})", 400, "slug"},
      {R"({"slug":"x","name":"X","team":"ghost"})", 422, "team"},
      {R"({"slug":"x","name":"X","team":"core","depends_on":[{"service":"ghost"}]})", 422,
       "depends_on[0].service"},
      {R"({"slug":"api","name":"Again","team":"core"})", 409, "slug"},  // already exists
      {R"([1,2,3])", 400, ""},
  };
  for (const auto& c : cases) {
    auto r = Call(http::Method::kPost, "/api/v1/services", c.body);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 80) << " -> " << r.body;
    if (!c.field.empty()) {
      EXPECT_EQ(ErrorField(r), c.field) << r.body;
    }
    EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/json");
  }
  auto big = Call(http::Method::kPost, "/api/v1/services", std::string(9 * 1024 * 1024, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(ErrorCode(big), "payload_too_large");
  auto unknown = Call(http::Method::kGet, "/api/v1/nothing-here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(ErrorCode(unknown), "not_found");
  auto method = Call(http::Method::kPatch, "/api/v1/services");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(ErrorCode(method), "method_not_allowed");
  EXPECT_EQ(Call(http::Method::kGet, "/api/v1/services?limit=0").status, 400);
  EXPECT_EQ(ExportJson(), before);
}

TEST_F(ApiTest, HostileStringsAreStoredVerbatim) {
  const std::string nasty =
      R"(Robert'); DROP TABLE services; -- "quotes" \\ back\\slash 'single' ; SELECT * FROM users)";
  json::object body{{"slug", "nasty"}, {"name", nasty}, {"team", "core"}, {"description", nasty}};
  auto r = Call(http::Method::kPost, "/api/v1/services", json::serialize(body));
  ASSERT_EQ(r.status, 201) << r.body;
  auto got = Json(Call(http::Method::kGet, "/api/v1/services/nasty"));
  EXPECT_EQ(got.at("name").as_string(), nasty);
  EXPECT_EQ(got.at("description").as_string(), nasty);
  EXPECT_EQ(Call(http::Method::kGet, "/api/v1/services").status, 200);
}

TEST_F(ApiTest, ConcurrentUpdatesWithOneVersionExactlyOneWins) {
  ASSERT_EQ(
      Call(http::Method::kPost, "/api/v1/services", R"({"slug":"api","name":"API","team":"core"})")
          .status,
      201);
  std::atomic<int> ok = 0, conflict = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto client = http::NewCurlClient();
      http::ClientRequest req;
      req.method = http::Method::kPut;
      req.url = base_ + "/api/v1/services/api";
      req.headers = {{"Authorization", std::string("Bearer ") + kAdminToken},
                     {"Content-Type", "application/json"}};
      req.body = R"({"name":"Writer )" + std::to_string(i) + R"(","team":"core","version":1})";
      auto r = client->Send(req);
      if (r.ok() && r->status == 200) ++ok;
      if (r.ok() && r->status == 409) ++conflict;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(conflict, 5);
  EXPECT_EQ(Json(Call(http::Method::kGet, "/api/v1/services/api")).at("version").as_int64(), 2);
}

TEST_F(ApiTest, DependencyGraphAndDeletes) {
  for (
      const char* body :
      {R"({"slug":"db","name":"DB","team":"core","tier":1})",
       R"({"slug":"api","name":"API","team":"core","depends_on":[{"service":"db"}]})",
       R"({"slug":"web","name":"Web","team":"core","depends_on":[{"service":"api","kind":"soft"}]})"}) {
    ASSERT_EQ(Call(http::Method::kPost, "/api/v1/services", body).status, 201) << body;
  }
  auto direct = Json(Call(http::Method::kGet, "/api/v1/services/db/dependents"));
  EXPECT_EQ(direct.at("items").as_array().size(), 1u);
  auto radius = Json(Call(http::Method::kGet, "/api/v1/services/db/dependents?transitive=true"));
  ASSERT_EQ(radius.at("items").as_array().size(), 2u);
  EXPECT_EQ(radius.at("items").at(1).at("slug").as_string(), "web");
  EXPECT_EQ(radius.at("items").at(1).at("depth").as_int64(), 2);
  auto deps = Json(Call(http::Method::kGet, "/api/v1/services/web/dependencies?transitive=true"));
  EXPECT_EQ(deps.at("items").as_array().size(), 2u);
  EXPECT_EQ(Call(http::Method::kGet, "/api/v1/services/nope/dependents").status, 404);

  EXPECT_EQ(Call(http::Method::kDelete, "/api/v1/services/db").status, 409);
  EXPECT_EQ(Call(http::Method::kDelete, "/api/v1/teams/core").status, 409);
  EXPECT_EQ(Call(http::Method::kDelete, "/api/v1/services/db?force=true").status, 204);
  EXPECT_EQ(
      Json(Call(http::Method::kGet, "/api/v1/services/api")).at("depends_on").as_array().size(),
      0u);
}

TEST_F(ApiTest, ListsPage) {
  for (int i = 0; i < 5; ++i)
    Call(http::Method::kPost, "/api/v1/services",
         R"({"slug":"s)" + std::to_string(i) + R"(","name":"S","team":"core"})");
  auto p1 = Json(Call(http::Method::kGet, "/api/v1/services?limit=3"));
  ASSERT_EQ(p1.at("items").as_array().size(), 3u);
  std::string cursor(p1.at("next_cursor").as_string());
  auto p2 = Json(Call(http::Method::kGet, "/api/v1/services?limit=3&cursor=" + cursor));
  ASSERT_EQ(p2.at("items").as_array().size(), 2u);
  EXPECT_TRUE(p2.at("next_cursor").is_null());
}

TEST_F(ApiTest, ApplyPlansAppliesAndIsIdempotent) {
  const std::string yaml = R"(kind: Service
slug: api
name: API
team: core
depends_on: [{service: db}]
---
kind: Service
slug: db
name: DB
team: core
tier: 1
)";
  auto apply = [&](const std::string& query) {
    return Call(http::Method::kPost, "/api/v1/apply" + query, yaml, kAdminToken,
                {{"Content-Type", "application/yaml"}});
  };
  auto dry = Json(apply("?dry_run=true"));
  EXPECT_EQ(dry.at("applied").as_bool(), false);
  EXPECT_EQ(dry.at("summary").at("create").as_int64(), 2);
  EXPECT_EQ(Call(http::Method::kGet, "/api/v1/services/api").status, 404);

  auto first = Json(apply(""));
  EXPECT_EQ(first.at("applied").as_bool(), true);
  EXPECT_EQ(Call(http::Method::kGet, "/api/v1/services/api").status, 200);
  auto seq_before =
      Json(Call(http::Method::kGet, "/api/v1/events?limit=1000")).at("items").as_array().size();
  auto second = Json(apply(""));
  EXPECT_EQ(second.at("summary").at("unchanged").as_int64(), 2);
  auto seq_after =
      Json(Call(http::Method::kGet, "/api/v1/events?limit=1000")).at("items").as_array().size();
  EXPECT_EQ(seq_after, seq_before);
}

TEST_F(ApiTest, DeleteObjectRemovesOneDocumentsObjectWithItsKindsRole) {
  auto applied = Call(http::Method::kPost, "/api/v1/apply",
                      "kind: Team\nslug: ops\nname: Ops\n", kAdminToken,
                      {{"Content-Type", "application/yaml"}});
  ASSERT_EQ(applied.status, 200) << applied.body;
  // Team documents need admin to change, so an operator may not delete one either.
  std::string op = MakeToken("operator");
  auto denied = Call(http::Method::kDelete, "/api/v1/objects/team/ops", "", op);
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(Call(http::Method::kGet, "/api/v1/teams/ops").status, 200);

  auto unknown = Call(http::Method::kDelete, "/api/v1/objects/Gadget/x");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("no kind"), std::string::npos) << unknown.body;
  EXPECT_EQ(Call(http::Method::kDelete, "/api/v1/objects/Team/nobody").status, 404);
  EXPECT_EQ(Call(http::Method::kDelete, "/api/v1/objects/team/ops").status, 204);
  EXPECT_EQ(Call(http::Method::kGet, "/api/v1/teams/ops").status, 404);
}

TEST_F(ApiTest, ApplyReportsEveryErrorAtOnce) {
  json::object req;
  req["documents"] = json::array{
      json::object{{"kind", "Service"}, {"slug", "ok"}, {"name", "OK"}, {"team", "core"}},
      json::object{
          {"kind", "Service"}, {"slug", "bad"}, {"name", "Bad"}, {"team", "core"}, {"tier", 9}},
      json::object{{"kind", "Gadget"}, {"slug", "g"}},
      json::object{{"kind", "Service"}, {"slug", "orphan"}, {"name", "O"}, {"team", "nobody"}}};
  req["sources"] = json::array{json::object{{"file", "a.yaml"}, {"index", 0}},
                               json::object{{"file", "a.yaml"}, {"index", 1}},
                               json::object{{"file", "b.yaml"}, {"index", 0}},
                               json::object{{"file", "b.yaml"}, {"index", 1}}};
  auto r = Call(http::Method::kPost, "/api/v1/apply", json::serialize(req));
  EXPECT_EQ(r.status, 400) << r.body;
  auto details = Json(r).at("error").at("details").as_array();
  ASSERT_EQ(details.size(), 3u) << r.body;
  EXPECT_EQ(details[0].at("file").as_string(), "a.yaml");
  EXPECT_EQ(details[0].at("document").as_int64(), 1);
  EXPECT_EQ(details[0].at("field").as_string(), "tier");
  EXPECT_EQ(details[1].at("field").as_string(), "kind");
  EXPECT_EQ(details[2].at("file").as_string(), "b.yaml");
  EXPECT_EQ(details[2].at("field").as_string(), "team");
  EXPECT_EQ(Call(http::Method::kGet, "/api/v1/services/ok").status, 404);  // nothing applied
}

TEST_F(ApiTest, OpenApiDocumentsEveryRoute) {
  auto r = Call(http::Method::kGet, "/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200);
  auto doc = Json(r);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.at("openapi").as_string(), "3.0.3");
  const auto& paths = doc.at("paths").as_object();
  int checked = 0;
  for (const auto& route : router_.routes()) {
    if (route.path_template.rfind("/api/v1/", 0) != 0) continue;
    std::string method(http::MethodName(route.method));
    for (auto& c : method) c = static_cast<char>(std::tolower(c));
    ASSERT_TRUE(paths.contains(route.path_template)) << route.path_template;
    EXPECT_TRUE(paths.at(route.path_template).as_object().contains(method))
        << method << " " << route.path_template;
    ++checked;
  }
  EXPECT_GE(checked, 25);
  // Every $ref points at a defined schema.
  const auto& schemas = doc.at("components").at("schemas").as_object();
  std::regex ref(R"re("\$ref":"#/components/schemas/([A-Za-z]+)")re");
  for (std::sregex_iterator it(r.body.begin(), r.body.end(), ref), end; it != end; ++it)
    EXPECT_TRUE(schemas.contains((*it)[1].str())) << (*it)[1].str();
}

TEST_F(ApiTest, SelfObservability) {
  EXPECT_EQ(Call(http::Method::kGet, "/healthz", "", "").body, "ok\n");
  EXPECT_EQ(Call(http::Method::kGet, "/readyz", "", "").status, 200);
  Call(http::Method::kGet, "/api/v1/services/missing");
  auto m = Call(http::Method::kGet, "/metrics", "", "");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.headers.Get("Content-Type").value_or("").find("version=0.0.4"), std::string::npos);
  for (const char* needle :
       {"platops_http_requests_total{route=\"/api/v1/services/"
        "{slug}\",method=\"GET\",code=\"404\"} 1",
        "platops_http_request_duration_seconds_bucket{route=\"/api/v1/services/{slug}\"",
        "platops_store_transaction_seconds_bucket{kind=\"write\"", "process_resident_memory_bytes ",
        "process_open_fds ", "process_cpu_seconds_total ", "process_start_time_seconds "}) {
    EXPECT_NE(m.body.find(needle), std::string::npos) << needle;
  }
}

}  // namespace
}  // namespace platops::api
