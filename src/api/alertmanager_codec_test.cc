#include "api/alertmanager_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/time_util.h"

namespace platops::api {
namespace {

using ::testing::HasSubstr;

Timestamp T(std::string_view s) { return *ParseRfc3339(s); }

TEST(AlertmanagerCodecTest, ReadsWhatPrometheusSends) {
  // Prometheus's notifier: both times, generatorURL, annotations.
  auto r = ParsePostableAlerts(R"([
    {"labels": {"alertname": "InstanceDown", "instance": "a:9100", "job": "node"},
     "annotations": {"summary": "a:9100 down"},
     "startsAt": "2026-01-01T00:00:00.123456789Z",
     "endsAt": "2026-01-01T00:04:00Z",
     "generatorURL": "http://prom:9090/graph?g0.expr=up+%3D%3D+0"},
    {"labels": {"alertname": "Other"}, "startsAt": "2026-01-01T01:00:00+01:00"}
  ])");
  ASSERT_FALSE(r.error) << r.error->message;
  ASSERT_EQ(r.alerts.size(), 2u);
  const alerting::Alert& a = r.alerts[0];
  EXPECT_EQ(a.labels.Get("instance"), "a:9100");
  EXPECT_EQ(a.annotations.Get("summary"), "a:9100 down");
  EXPECT_EQ(a.starts_at, T("2026-01-01T00:00:00.123Z"));
  EXPECT_EQ(a.ends_at, T("2026-01-01T00:04:00Z"));
  EXPECT_EQ(a.generator_url, "http://prom:9090/graph?g0.expr=up+%3D%3D+0");
  EXPECT_EQ(r.alerts[1].starts_at, T("2026-01-01T00:00:00Z"));
  EXPECT_FALSE(r.alerts[1].ends_at.has_value());
}

TEST(AlertmanagerCodecTest, GoZeroTimesAndNullsLeaveTimesUnset) {
  // amtool and other Go clients send Go's zero time for "unset".
  auto r = ParsePostableAlerts(R"([{"labels": {"a": "b"}, "startsAt": "0001-01-01T00:00:00.000Z",
                                    "endsAt": null, "annotations": null, "generatorURL": null}])");
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_FALSE(r.alerts[0].starts_at.has_value());
  EXPECT_FALSE(r.alerts[0].ends_at.has_value());
  EXPECT_TRUE(r.alerts[0].annotations.empty());
  // An empty array is a valid post of nothing.
  auto none = ParsePostableAlerts("[]");
  EXPECT_FALSE(none.error);
  EXPECT_TRUE(none.alerts.empty());
}

TEST(AlertmanagerCodecTest, UnreadableBodiesAre400WithTheGeneratedServersWords) {
  auto error = [](std::string_view body) {
    auto r = ParsePostableAlerts(body);
    EXPECT_TRUE(r.error.has_value()) << body;
    EXPECT_TRUE(r.alerts.empty() || r.error);
    return r.error.value_or(AmBodyError{});
  };
  AmBodyError e = error("{\"labels\": {}}");
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.message,
            "parsing alerts body from \"\" failed, because json: cannot unmarshal object into Go "
            "value of type models.PostableAlerts");
  EXPECT_EQ(e.Json(),
            "{\"code\":400,\"message\":\"parsing alerts body from \\\"\\\" failed, because json: "
            "cannot unmarshal object into Go value of type models.PostableAlerts\"}");
  EXPECT_THAT(error("[{\"labels\": ").message,
              HasSubstr("parsing alerts body from \"\" failed, because"));
  EXPECT_EQ(error("").message, "parsing alerts body from \"\" failed, because EOF");
  EXPECT_EQ(error("[{\"labels\": [\"a\"]}]").message,
            "parsing alerts body from \"\" failed, because json: cannot unmarshal array into Go "
            "struct field PostableAlert.labels of type models.LabelSet");
  EXPECT_EQ(error("[{\"labels\": {\"a\": 1}}]").message,
            "parsing alerts body from \"\" failed, because json: cannot unmarshal number into Go "
            "struct field PostableAlert.labels of type string");
  EXPECT_THAT(error("[{\"labels\": {\"a\": \"b\"}, \"startsAt\": \"yesterday\"}]").message,
              HasSubstr("parsing time \"yesterday\""));
  EXPECT_EQ(error("[\"x\"]").message,
            "parsing alerts body from \"\" failed, because json: cannot unmarshal string into Go "
            "value of type models.PostableAlert");
}

TEST(AlertmanagerCodecTest, MissingLabelsAre422AfterTheWholeBodyIsRead) {
  auto r = ParsePostableAlerts(R"([{"labels": {"a": "b"}}, {"annotations": {}}])");
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->http_status, 422);
  EXPECT_EQ(r.error->Json(), "{\"code\":602,\"message\":\"1.labels in body is required\"}");
  EXPECT_TRUE(r.alerts.empty());
  // An unreadable later alert wins over a missing label set, as decoding comes first.
  auto both = ParsePostableAlerts(R"([{"annotations": {}}, {"labels": {"a": 1}}])");
  EXPECT_EQ(both.error->http_status, 400);
}

TEST(AlertmanagerCodecTest, WritesGettableAlertsInAlertmanagersShape) {
  alerting::Alert a;
  a.labels = alerting::LabelSet{{"alertname", "Down"}, {"job", "<node>"}};
  a.annotations = alerting::LabelSet{{"summary", "line\n\"two\""}};
  a.starts_at = T("2026-01-01T00:00:00Z");
  a.ends_at = T("2026-01-01T00:05:00.250Z");
  a.updated_at = T("2026-01-01T00:00:01Z");
  a.generator_url = "http://prom/graph?a&b";
  a.fingerprint = alerting::Fingerprint(a.labels);
  AlertStatusView status;
  status.state = "suppressed";
  status.silenced_by = {"5c3a5a29-bd28-4b4c-9c08-5b4a7d21b31c"};
  status.receivers = {"team-x", "default"};
  std::string out;
  AppendGettableAlert(out, a, status);
  EXPECT_EQ(out,
            "{\"annotations\":{\"summary\":\"line\\n\\\"two\\\"\"},"
            "\"endsAt\":\"2026-01-01T00:05:00.250Z\","
            "\"fingerprint\":\"" + alerting::FingerprintString(a.fingerprint) + "\","
            "\"receivers\":[{\"name\":\"team-x\"},{\"name\":\"default\"}],"
            "\"startsAt\":\"2026-01-01T00:00:00.000Z\","
            "\"status\":{\"inhibitedBy\":[],\"silencedBy\":[\"5c3a5a29-bd28-4b4c-9c08-"
            "5b4a7d21b31c\"],\"state\":\"suppressed\"},"
            "\"updatedAt\":\"2026-01-01T00:00:01.000Z\","
            "\"generatorURL\":\"http://prom/graph?a\\u0026b\","
            "\"labels\":{\"alertname\":\"Down\",\"job\":\"\\u003cnode\\u003e\"}}");
  EXPECT_EQ(alerting::FingerprintString(a.fingerprint).size(), 16u);
}

TEST(AlertmanagerCodecTest, TimesAreUtcWithMilliseconds) {
  EXPECT_EQ(FormatAmTime(T("2026-03-04T05:06:07Z")), "2026-03-04T05:06:07.000Z");
  EXPECT_EQ(FormatAmTime(T("2026-03-04T05:06:07.5+02:00")), "2026-03-04T03:06:07.500Z");
}

}  // namespace
}  // namespace platops::api
