// Tests of the checks routes over a real HTTP server on a loopback port, a real store and a
// FakeClock. The probe engine is never started: checks stay PENDING unless a heartbeat is pinged.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "api/api.h"
#include "api/api_test_fixture.h"
#include "base/json_reader.h"
#include "base/time_util.h"
#include "http/client.h"
#include "http/server.h"
#include "server/core.h"
#include "testing/temp_store.h"

namespace platops::api {
namespace {

namespace json = boost::json;
using http::Method;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kAdminToken = "checks-api-admin-token-0123456789";
constexpr const char* kHttpCheck =
    R"({"service":"web","name":"home","type":"http","interval":"30s","timeout":"5s",)"
    R"("http":{"url":"http://127.0.0.1:1/health"}})";

class ChecksApiTest : public ApiServerTest<FakeClock> {
 protected:
  ChecksApiTest() : ApiServerTest(kAdminToken) {}
  void SetUp() override {
    StartServer(1, 2);
    for (const char* slug : {"web", "db"}) {
      auto r = Call(Method::kPost, "/api/v1/services",
                    std::string(R"({"slug":")") + slug + R"(","name":"S","team":"core"})");
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }
  http::ClientResponse Ping(Method m, const std::string& path) { return Call(m, path, "", ""); }
  std::vector<std::string> Ids(const http::ClientResponse& r) {
    const json::value page = Json(r);
    std::vector<std::string> out;
    for (const auto& item : page.at("items").as_array()) out.push_back(Str(item.at("id")));
    return out;
  }
  std::vector<std::string> EventActions(const std::string& type, const std::string& id) {
    auto r = Call(Method::kGet, "/api/v1/events?subject_type=" + type + "&subject_id=" + id);
    const json::value page = Json(r);
    std::vector<std::string> out;
    for (const auto& e : page.at("items").as_array()) out.push_back(Str(e.at("action")));
    return out;
  }
};

TEST_F(ChecksApiTest, CheckLifecycle) {
  auto created = Call(Method::kPost, "/api/v1/checks", kHttpCheck);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.headers.Get("Location").value_or(""), "/api/v1/checks/web.home");
  EXPECT_EQ(created.headers.Get("ETag").value_or(""), "\"1\"");

  auto got = Call(Method::kGet, "/api/v1/checks/web.home");
  ASSERT_EQ(got.status, 200) << got.body;
  json::value check = Json(got);
  EXPECT_EQ(Str(check.at("id")), "web.home");
  EXPECT_EQ(check.at("version").as_int64(), 1);
  EXPECT_EQ(Str(check.at("interval")), "30s");
  EXPECT_EQ(Str(check.at("http").at("url")), "http://127.0.0.1:1/health");
  EXPECT_EQ(Str(check.at("status").at("state")), "PENDING");
  EXPECT_EQ(Str(check.at("created_at")), FormatRfc3339(clock_.Now()));

  // A GET body can be sent back: read-only fields are ignored, the version is the precondition.
  json::object edited = check.as_object();
  edited["interval"] = "1m";
  auto put = Call(Method::kPut, "/api/v1/checks/web.home", json::serialize(edited));
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Json(put).at("version").as_int64(), 2);
  EXPECT_EQ(Str(Json(put).at("interval")), "1m");
  EXPECT_EQ(put.headers.Get("ETag").value_or(""), "\"2\"");

  // The same body again names version 1 through If-Match: stale.
  auto stale = Call(Method::kPut, "/api/v1/checks/web.home",
                    R"({"type":"http","http":{"url":"http://127.0.0.1:1/"}})", kAdminToken,
                    {{"If-Match", "\"1\""}});
  EXPECT_EQ(stale.status, 409) << stale.body;
  EXPECT_EQ(ErrorCode(stale), "conflict");
  EXPECT_EQ(ErrorField(stale), "version");

  // PUT without service and name takes them from the path; without a version it is refused.
  EXPECT_EQ(ErrorField(Call(Method::kPut, "/api/v1/checks/web.home",
                            R"({"type":"http","http":{"url":"http://127.0.0.1:1/"}})")),
            "version");
  auto renamed = Call(Method::kPut, "/api/v1/checks/web.home",
                      R"({"service":"web","name":"other","type":"http","version":2,)"
                      R"("http":{"url":"http://127.0.0.1:1/"}})");
  EXPECT_EQ(renamed.status, 400) << renamed.body;
  EXPECT_EQ(ErrorField(renamed), "id");

  // PATCH merges into what is stored.
  auto patch = Call(Method::kPatch, "/api/v1/checks/web.home",
                    R"({"labels":{"env":"prod"},"http":{"body_contains":"ok"}})", kAdminToken,
                    {{"If-Match", "2"}});
  ASSERT_EQ(patch.status, 200) << patch.body;
  json::value patched = Json(patch);
  EXPECT_EQ(patched.at("version").as_int64(), 3);
  EXPECT_EQ(Str(patched.at("labels").at("env")), "prod");
  EXPECT_EQ(Str(patched.at("http").at("body_contains")), "ok");
  EXPECT_EQ(Str(patched.at("http").at("url")), "http://127.0.0.1:1/health");
  EXPECT_EQ(Str(patched.at("interval")), "1m");
  auto bad_patch = Call(Method::kPatch, "/api/v1/checks/web.home", R"({"timeout":"2m"})",
                        kAdminToken, {{"If-Match", "3"}});
  EXPECT_EQ(bad_patch.status, 400) << bad_patch.body;
  EXPECT_EQ(ErrorField(bad_patch), "timeout");

  EXPECT_EQ(Call(Method::kDelete, "/api/v1/checks/web.home").status, 204);
  auto gone = Call(Method::kGet, "/api/v1/checks/web.home");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(ErrorCode(gone), "not_found");
  EXPECT_EQ(Call(Method::kDelete, "/api/v1/checks/web.home").status, 404);

  EXPECT_EQ(EventActions("check", "web.home"),
            (std::vector<std::string>{"check.created", "check.updated", "check.updated",
                                      "check.deleted"}));
}

TEST_F(ChecksApiTest, ListFiltersByServiceAndPages) {
  for (const char* id : {"web.c", "web.a", "db.a", "web.b"}) {
    std::string s(id);
    std::string service = s.substr(0, s.find('.')), name = s.substr(s.find('.') + 1);
    auto r = Call(Method::kPost, "/api/v1/checks",
                  R"({"service":")" + service + R"(","name":")" + name +
                      R"(","type":"tcp","tcp":{"host":"127.0.0.1","port":1}})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  EXPECT_EQ(Ids(Call(Method::kGet, "/api/v1/checks")),
            (std::vector<std::string>{"db.a", "web.a", "web.b", "web.c"}));

  auto first = Call(Method::kGet, "/api/v1/checks?service=web&limit=2");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Ids(first), (std::vector<std::string>{"web.a", "web.b"}));
  EXPECT_EQ(Str(Json(first).at("items").at(0).at("status").at("state")), "PENDING");
  std::string cursor = Str(Json(first).at("next_cursor"));
  auto second = Call(Method::kGet, "/api/v1/checks?service=web&limit=2&cursor=" + cursor);
  EXPECT_EQ(Ids(second), (std::vector<std::string>{"web.c"}));
  EXPECT_TRUE(Json(second).at("next_cursor").is_null());

  EXPECT_TRUE(Ids(Call(Method::kGet, "/api/v1/checks?service=nothing")).empty());
  EXPECT_EQ(ErrorField(Call(Method::kGet, "/api/v1/checks?limit=0")), "limit");
}

TEST_F(ChecksApiTest, BadChecksAreRefusedNamingTheField) {
  struct Case {
    std::string body;
    int status;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"service":"web","name":"x","type":"http","colour":"red",)"
       R"("http":{"url":"http://127.0.0.1:1/"}})",
       400, "colour"},
      {R"({"service":"web","name":"x","type":"http","interval":"10s","timeout":"10s",)"
       R"("http":{"url":"http://127.0.0.1:1/"}})",
       400, "timeout"},
      {R"({"service":"web","name":"x","type":"http",)"
       R"("http":{"url":"http://127.0.0.1:1/","body_regex":"(unclosed"}})",
       400, "http.body_regex"},
      {R"({"service":"web","name":"x","type":"http","http":{"url":"ftp://127.0.0.1/"}})", 400,
       "http.url"},
      {R"({"service":"web","name":"x","type":"http"})", 400, "http"},
      {R"({"service":"web","name":"x","type":"ping","http":{"url":"http://127.0.0.1:1/"}})", 400,
       "type"},
      {R"({"service":"web","name":"Bad Name","type":"tcp","tcp":{"host":"h","port":1}})", 400,
       "name"},
      {R"({"service":"web","name":"x","type":"tcp","tcp":{"host":"h","port":70000}})", 400,
       "tcp.port"},
      {R"({"service":"nope","name":"x","type":"tcp","tcp":{"host":"h","port":1}})", 422, "service"},
      {R"({"id":"web.y","service":"web","name":"x","type":"tcp","tcp":{"host":"h","port":1}})", 400,
       "id"},
      {R"({"service":"web","name":"x","type":"heartbeat","interval":"1m",)"
       R"("heartbeat":{"period":"1h"}})",
       400, "interval"},
      {R"({"service":"web","name":"x","type":"heartbeat","heartbeat":{"period":"1h",)"
       R"("token":"short"}})",
       400, "heartbeat.token"},
      {R"(["not an object"])", 400, ""},
  };
  for (const auto& c : cases) {
    auto r = Call(Method::kPost, "/api/v1/checks", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_EQ(ErrorField(r), c.field) << c.body << " -> " << r.body;
  }
  EXPECT_TRUE(Ids(Call(Method::kGet, "/api/v1/checks")).empty());
  EXPECT_EQ(ErrorCode(Call(Method::kPost, "/api/v1/checks", "{not json")), "validation_failed");
}

TEST_F(ChecksApiTest, ChecksNeedATokenAndOperatorToWrite) {
  EXPECT_EQ(Call(Method::kGet, "/api/v1/checks", "", "").status, 401);
  const std::string viewer = MakeToken("viewer");
  EXPECT_EQ(Call(Method::kGet, "/api/v1/checks", "", viewer).status, 200);
  auto denied = Call(Method::kPost, "/api/v1/checks", kHttpCheck, viewer);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(ErrorCode(denied), "forbidden");
  EXPECT_EQ(Call(Method::kPost, "/api/v1/checks", kHttpCheck, MakeToken("operator")).status, 201);
  EXPECT_EQ(Call(Method::kGet, "/api/v1/checks/web.home/results", "", "").status, 401);
}

TEST_F(ChecksApiTest, ResultsAndAvailabilityOfANewCheck) {
  ASSERT_EQ(Call(Method::kPost, "/api/v1/checks", kHttpCheck).status, 201);

  auto results = Call(Method::kGet, "/api/v1/checks/web.home/results");
  ASSERT_EQ(results.status, 200) << results.body;
  EXPECT_EQ(Str(Json(results).at("check")), "web.home");
  EXPECT_TRUE(Json(results).at("items").as_array().empty());
  EXPECT_EQ(Call(Method::kGet, "/api/v1/checks/web.nope/results").status, 404);
  EXPECT_EQ(ErrorField(Call(Method::kGet, "/api/v1/checks/web.home/results?limit=1001")), "limit");
  EXPECT_EQ(ErrorField(Call(Method::kGet, "/api/v1/checks/web.home/results?to=yesterday")), "to");
  auto reversed = Call(Method::kGet,
                       "/api/v1/checks/web.home/results?from=2026-01-01T00:00:00Z"
                       "&to=2026-01-01T00:00:00Z");
  EXPECT_EQ(reversed.status, 400);
  EXPECT_EQ(ErrorField(reversed), "from");

  // The default window is the last 30 days; nothing was monitored in it yet.
  auto avail = Call(Method::kGet, "/api/v1/checks/web.home/availability");
  ASSERT_EQ(avail.status, 200) << avail.body;
  json::value a = Json(avail);
  EXPECT_EQ(Str(a.at("subject")), "web.home");
  EXPECT_EQ(Str(a.at("to")), FormatRfc3339(clock_.Now()));
  EXPECT_EQ(Str(a.at("from")), FormatRfc3339(clock_.Now() - std::chrono::hours(24 * 30)));
  EXPECT_TRUE(a.at("uptime_percent").is_null());
  EXPECT_TRUE(a.at("outages").as_array().empty());
  EXPECT_EQ(Call(Method::kGet, "/api/v1/checks/web.nope/availability").status, 404);
  EXPECT_EQ(ErrorField(Call(Method::kGet, "/api/v1/checks/web.home/availability?format=xml")),
            "format");
  auto avail_reversed = Call(Method::kGet,
                             "/api/v1/checks/web.home/availability?from=2026-02-01T00:00:00Z"
                             "&to=2026-01-01T00:00:00Z");
  EXPECT_EQ(avail_reversed.status, 400);
  EXPECT_EQ(ErrorField(avail_reversed), "from");

  auto csv = Call(Method::kGet, "/api/v1/checks/web.home/availability?format=csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.headers.Get("Content-Type").value_or(""), "text/csv; charset=utf-8");
  EXPECT_EQ(csv.headers.Get("Content-Disposition").value_or(""),
            "attachment; filename=\"web.home-availability.csv\"");
  EXPECT_EQ(csv.body.rfind("subject,kind,start,end,duration_seconds,", 0), 0u) << csv.body;
  EXPECT_NE(csv.body.find("\r\nweb.home,summary,"), std::string::npos) << csv.body;

  auto service = Call(Method::kGet, "/api/v1/services/web/availability");
  ASSERT_EQ(service.status, 200) << service.body;
  EXPECT_EQ(Str(Json(service).at("subject")), "web");
  auto service_csv = Call(Method::kGet, "/api/v1/services/db/availability?format=csv");
  EXPECT_EQ(service_csv.headers.Get("Content-Disposition").value_or(""),
            "attachment; filename=\"db-availability.csv\"");
  EXPECT_EQ(Call(Method::kGet, "/api/v1/services/nope/availability").status, 404);
}

TEST_F(ChecksApiTest, HeartbeatPingsDriveTheState) {
  auto created = Call(Method::kPost, "/api/v1/checks",
                      R"({"service":"web","name":"nightly","type":"heartbeat",)"
                      R"("heartbeat":{"period":"1h","grace":"5m"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  json::value check = Json(created);
  EXPECT_EQ(check.at("max_attempts").as_int64(), 1);
  const std::string ping_url = Str(check.at("ping_url"));
  ASSERT_EQ(ping_url.rfind("/ping/", 0), 0u) << ping_url;
  ASSERT_GE(ping_url.size(), 6u + 16u);
  auto state = [&] { return Json(Call(Method::kGet, "/api/v1/checks/web.nightly")).at("status"); };
  EXPECT_EQ(Str(state().at("state")), "PENDING");

  const Timestamp t0 = clock_.Now();
  auto ok = Ping(Method::kPost, ping_url);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "OK\n");
  EXPECT_EQ(ok.headers.Get("Content-Type").value_or(""), "text/plain; charset=utf-8");
  EXPECT_EQ(Str(state().at("state")), "OK");
  EXPECT_EQ(Str(state().at("last_ping")), FormatRfc3339(t0));

  clock_.Advance(minutes(10));
  EXPECT_EQ(Ping(Method::kGet, ping_url + "/start").status, 200);
  EXPECT_EQ(Str(state().at("last_start")), FormatRfc3339(clock_.Now()));
  clock_.Advance(seconds(30));
  EXPECT_EQ(Ping(Method::kGet, ping_url + "/fail").body, "OK\n");
  json::value failed = state();
  EXPECT_EQ(Str(failed.at("state")), "CRITICAL");
  EXPECT_EQ(Str(failed.at("state_type")), "hard");
  EXPECT_EQ(Str(failed.at("last_job_duration")), "30s");

  clock_.Advance(minutes(5));
  EXPECT_EQ(Ping(Method::kGet, ping_url + "/3").status, 200);
  EXPECT_EQ(Str(state().at("state")), "CRITICAL");
  clock_.Advance(minutes(1));
  auto head = Ping(Method::kHead, ping_url + "/0");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(Str(state().at("state")), "OK");

  // Unknown tokens and paths: 404 without touching any check.
  auto unknown = Ping(Method::kPost, "/ping/no-such-token-0123456789");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, "not found\n");
  EXPECT_EQ(unknown.headers.Get("Content-Type").value_or(""), "text/plain; charset=utf-8");
  EXPECT_EQ(Ping(Method::kGet, "/ping/no-such-token-0123456789/fail").status, 404);
  for (const char* suffix : {"/256", "/-1", "/abc", "/1x"}) {
    auto r = Ping(Method::kGet, ping_url + suffix);
    EXPECT_EQ(r.status, 404) << suffix;
    EXPECT_EQ(ErrorCode(r), "not_found") << suffix;
  }
  EXPECT_EQ(Ping(Method::kPut, ping_url).status, 405);
  EXPECT_EQ(Str(state().at("state")), "OK");

  // The pings are results; the failure is a 6-minute outage, up to the next success.
  ASSERT_TRUE(core_->checks().monitor().Flush().ok());
  clock_.Advance(seconds(1));
  auto results = Json(Call(Method::kGet, "/api/v1/checks/web.nightly/results"));
  std::vector<std::string> outcomes;
  for (const auto& r : results.at("items").as_array()) outcomes.push_back(Str(r.at("outcome")));
  EXPECT_EQ(outcomes, (std::vector<std::string>{"OK", "CRITICAL", "CRITICAL", "OK"}));
  EXPECT_EQ(Str(results.at("items").at(1).at("message")), "job reported exit code 3");
  auto newest = Json(Call(Method::kGet, "/api/v1/checks/web.nightly/results?limit=1"));
  EXPECT_EQ(newest.at("items").as_array().size(), 1u);

  const std::string range = "?from=" + FormatRfc3339(t0) + "&to=" + FormatRfc3339(t0 + minutes(20));
  auto avail = Json(Call(Method::kGet, "/api/v1/checks/web.nightly/availability" + range));
  EXPECT_EQ(avail.at("down_seconds").to_number<double>(), 360.0) << json::serialize(avail);
  ASSERT_EQ(avail.at("outages").as_array().size(), 1u) << json::serialize(avail);
  EXPECT_EQ(Str(avail.at("outages").at(0).at("cause")), "job reported failure");
  auto service = Json(Call(Method::kGet, "/api/v1/services/web/availability" + range));
  EXPECT_EQ(service.at("down_seconds").to_number<double>(), 360.0) << json::serialize(service);

  // A disabled heartbeat no longer accepts pings.
  auto disabled = Call(Method::kPatch, "/api/v1/checks/web.nightly", R"({"enabled":false})",
                       kAdminToken, {{"If-Match", "1"}});
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_EQ(Str(Json(disabled).at("ping_url")), ping_url);
  EXPECT_EQ(Ping(Method::kGet, ping_url).status, 404);
}

TEST_F(ChecksApiTest, HeartbeatWithANamedToken) {
  auto created = Call(Method::kPost, "/api/v1/checks",
                      R"({"service":"db","name":"backup","type":"heartbeat",)"
                      R"("heartbeat":{"cron":"0 3 * * *","time_zone":"Europe/Berlin",)"
                      R"("token":"db-backup-0123456789"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Str(Json(created).at("ping_url")), "/ping/db-backup-0123456789");
  EXPECT_EQ(Ping(Method::kGet, "/ping/db-backup-0123456789").status, 200);
  auto again = Call(Method::kPost, "/api/v1/checks",
                    R"({"service":"web","name":"other","type":"heartbeat",)"
                    R"("heartbeat":{"period":"1h","token":"db-backup-0123456789"}})");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(ErrorField(again), "heartbeat.token");
}

TEST_F(ChecksApiTest, MaintenanceWindows) {
  ASSERT_EQ(Call(Method::kPost, "/api/v1/checks", kHttpCheck).status, 201);
  auto created =
      Call(Method::kPost, "/api/v1/maintenance-windows",
           R"({"name":"sunday-patching","services":["web"],"time_zone":"Europe/Berlin",)"
           R"("weekly":[{"day":"sun","start":"02:00","end":"04:00"}],"reason":"OS updates"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.headers.Get("Location").value_or(""),
            "/api/v1/maintenance-windows/sunday-patching");
  json::value w = Json(created);
  EXPECT_EQ(Str(w.at("created_by")), "admin (token bootstrap)");
  EXPECT_EQ(Str(w.at("weekly").at(0).at("end_day")), "sun");
  EXPECT_EQ(w.at("version").as_int64(), 1);

  auto patch = Call(Method::kPatch, "/api/v1/maintenance-windows/sunday-patching",
                    R"({"reason":"kernel updates"})", kAdminToken, {{"If-Match", "1"}});
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(Str(Json(patch).at("reason")), "kernel updates");
  EXPECT_EQ(Str(Json(patch).at("time_zone")), "Europe/Berlin");
  EXPECT_EQ(Json(patch).at("version").as_int64(), 2);
  auto stale = Call(Method::kPatch, "/api/v1/maintenance-windows/sunday-patching",
                    R"({"reason":"x"})", kAdminToken, {{"If-Match", "1"}});
  EXPECT_EQ(stale.status, 409);

  // A one-off window covering now puts the service's checks in maintenance at once.
  const std::string start = FormatRfc3339(clock_.Now() - minutes(5));
  const std::string end = FormatRfc3339(clock_.Now() + minutes(55));
  auto now_window = Call(
      Method::kPost, "/api/v1/maintenance-windows",
      R"({"name":"deploy","services":["web"],"start":")" + start + R"(","end":")" + end + R"("})");
  ASSERT_EQ(now_window.status, 201) << now_window.body;
  EXPECT_TRUE(Json(Call(Method::kGet, "/api/v1/checks/web.home"))
                  .at("status")
                  .at("in_maintenance")
                  .as_bool());

  auto list = Json(Call(Method::kGet, "/api/v1/maintenance-windows?limit=1"));
  ASSERT_EQ(list.at("items").as_array().size(), 1u);
  EXPECT_EQ(Str(list.at("items").at(0).at("name")), "deploy");
  EXPECT_EQ(Str(list.at("next_cursor")), "deploy");

  EXPECT_EQ(Call(Method::kDelete, "/api/v1/maintenance-windows/deploy").status, 204);
  EXPECT_FALSE(Json(Call(Method::kGet, "/api/v1/checks/web.home"))
                   .at("status")
                   .at("in_maintenance")
                   .as_bool());
  EXPECT_EQ(Call(Method::kGet, "/api/v1/maintenance-windows/deploy").status, 404);
  EXPECT_EQ(EventActions("maintenance_window", "sunday-patching"),
            (std::vector<std::string>{"maintenance_window.created", "maintenance_window.updated"}));
}

TEST_F(ChecksApiTest, BadMaintenanceWindowsAreRefusedNamingTheField) {
  struct Case {
    std::string body;
    int status;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"name":"w","services":["nope"],"cron":"0 2 * * 0","duration":"2h"})", 422,
       "services[0]"},
      {R"({"name":"w","services":[],"cron":"0 2 * * 0","duration":"2h"})", 400, "services"},
      {R"({"name":"w","services":["web"],"cron":"0 2 * * 0","duration":"2h","colour":1})", 400,
       "colour"},
      {R"({"name":"w","services":["web"],"weekly":[{"day":"someday","start":"02:00",)"
       R"("end":"04:00"}]})",
       400, "weekly[0].day"},
      {R"({"name":"w","services":["web"],"weekly":[{"day":"sun","start":"02:00","end":"25:00"}]})",
       400, "weekly[0].end"},
      {R"({"name":"w","services":["web"],"cron":"0 2 * * 0","duration":"2h",)"
       R"("time_zone":"Mars/Olympus"})",
       400, "time_zone"},
      {R"({"name":"w","services":["web"],"start":"2026-01-02T00:00:00Z",)"
       R"("end":"2026-01-01T00:00:00Z"})",
       400, "end"},
  };
  for (const auto& c : cases) {
    auto r = Call(Method::kPost, "/api/v1/maintenance-windows", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_EQ(ErrorField(r), c.field) << c.body << " -> " << r.body;
  }
  EXPECT_TRUE(
      Json(Call(Method::kGet, "/api/v1/maintenance-windows")).at("items").as_array().empty());
}

TEST_F(ChecksApiTest, OpenApiDescribesTheCheckRoutes) {
  auto r = Call(Method::kGet, "/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200);
  const json::value doc = Json(r);
  const auto& paths = doc.at("paths").as_object();
  int documented = 0;
  for (const auto& route : router_.routes()) {
    if (route.path_template.rfind("/ping/", 0) == 0) {
      EXPECT_FALSE(paths.contains(route.path_template)) << route.path_template;
      continue;
    }
    if (route.path_template.find("checks") == std::string::npos &&
        route.path_template.find("maintenance-windows") == std::string::npos &&
        route.path_template.find("availability") == std::string::npos)
      continue;
    std::string method(http::MethodName(route.method));
    for (auto& c : method) c = static_cast<char>(std::tolower(c));
    ASSERT_TRUE(paths.contains(route.path_template)) << route.path_template;
    EXPECT_TRUE(paths.at(route.path_template).as_object().contains(method))
        << method << " " << route.path_template;
    ++documented;
  }
  EXPECT_EQ(documented, 15);
  const auto& csv = paths.at("/api/v1/checks/{id}/availability")
                        .at("get")
                        .at("responses")
                        .at("200")
                        .at("content");
  EXPECT_TRUE(csv.as_object().contains("text/csv"));
}

}  // namespace
}  // namespace platops::api
