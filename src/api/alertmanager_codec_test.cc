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

TEST(AlertmanagerCodecTest, ReadsTheSilencesAmtoolPosts) {
  auto r = ParsePostableSilence(R"({"matchers":[{"name":"alertname","value":"Down","isRegex":false,
      "isEqual":true},{"name":"instance","value":"db-.*","isRegex":true}],
      "startsAt":"2026-01-01T00:00:00.000Z","endsAt":"2026-01-01T02:00:00.000Z",
      "createdBy":"alice","comment":"maintenance","id":""})");
  ASSERT_FALSE(r.error) << r.error->message;
  ASSERT_TRUE(r.invalid.ok()) << r.invalid.message();
  EXPECT_EQ(r.silence.created_by, "alice");
  EXPECT_EQ(r.silence.comment, "maintenance");
  EXPECT_EQ(r.silence.starts_at, T("2026-01-01T00:00:00Z"));
  EXPECT_EQ(r.silence.ends_at, T("2026-01-01T02:00:00Z"));
  ASSERT_EQ(r.silence.matchers.size(), 2u);
  EXPECT_EQ(r.silence.matchers[0].String(), "alertname=\"Down\"");
  EXPECT_EQ(r.silence.matchers[1].String(), "instance=~\"db-.*\"");  // isEqual defaults to true.
  EXPECT_FALSE(r.silence.recurrence.has_value());
  auto neg = ParsePostableSilence(R"({"matchers":[{"name":"a","value":"b","isRegex":true,
      "isEqual":false}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T01:00:00Z",
      "createdBy":"a","comment":""})");
  ASSERT_FALSE(neg.error);
  EXPECT_EQ(neg.silence.matchers[0].String(), "a!~\"b\"");
}

TEST(AlertmanagerCodecTest, SilenceSchemaErrorsAre422AndMatcherErrors400) {
  const std::string times = R"("startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T01:00:00Z")";
  auto schema = [](const std::string& body) {
    auto r = ParsePostableSilence(body);
    EXPECT_TRUE(r.error.has_value()) << body;
    return r.error.value_or(AmBodyError{}).Json();
  };
  EXPECT_EQ(schema("{" + times + R"(,"createdBy":"a","comment":"c"})"),
            R"({"code":602,"message":"matchers in body is required"})");
  EXPECT_EQ(schema("{\"matchers\":[]," + times + R"(,"createdBy":"a","comment":"c"})"),
            R"({"code":604,"message":"matchers in body should have at least 1 items"})");
  EXPECT_EQ(schema(R"({"matchers":[{"name":"a","value":"b","isRegex":false}],)" + times +
                   R"(,"comment":"c"})"),
            R"({"code":602,"message":"createdBy in body is required"})");
  EXPECT_EQ(schema(R"({"matchers":[{"name":"a","isRegex":false}],)" + times +
                   R"(,"createdBy":"a","comment":"c"})"),
            R"({"code":602,"message":"matchers.0.value in body is required"})");
  EXPECT_EQ(ParsePostableSilence("[1]").error->message,
            "parsing silence body from \"\" failed, because json: cannot unmarshal array into Go "
            "value of type models.PostableSilence");
  auto bad = ParsePostableSilence(R"({"matchers":[{"name":"a","value":"(","isRegex":true}],)" +
                                  times + R"(,"createdBy":"a","comment":"c"})");
  ASSERT_FALSE(bad.error);
  EXPECT_THAT(bad.invalid.message(),
              HasSubstr("silence invalid: invalid label matcher 0: invalid regular expression"));
}

TEST(AlertmanagerCodecTest, RecurringSilencesKeepTheirScheduleAsPosted) {
  auto r = ParsePostableSilence(R"({"matchers":[{"name":"job","value":"batch","isRegex":false}],
      "startsAt":"2026-01-01T00:00:00Z","endsAt":"2027-01-01T00:00:00Z","createdBy":"ops",
      "comment":"nightly batch","recurrence":{"timeIntervals":[{"times":[{"start_time":"01:00",
      "end_time":"03:00"}],"location":"Europe/Berlin"}],"expiresAt":"2026-06-01T00:00:00Z"}})");
  ASSERT_FALSE(r.error) << r.error->message;
  ASSERT_TRUE(r.invalid.ok()) << r.invalid.message();
  ASSERT_TRUE(r.silence.recurrence.has_value());
  EXPECT_EQ(r.silence.recurrence->intervals.size(), 1u);
  EXPECT_EQ(r.silence.recurrence->expires_at, T("2026-06-01T00:00:00Z"));
  EXPECT_THAT(r.recurrence_json, HasSubstr("\"location\":\"Europe/Berlin\""));
  auto bad = ParsePostableSilence(R"({"matchers":[{"name":"job","value":"b","isRegex":false}],
      "startsAt":"2026-01-01T00:00:00Z","endsAt":"2027-01-01T00:00:00Z","createdBy":"o",
      "comment":"c","recurrence":{"timeIntervals":[{"weekdays":["funday"]}]}})");
  EXPECT_EQ(bad.invalid.field(), "recurrence.timeIntervals[0]");
  EXPECT_THAT(bad.invalid.message(), HasSubstr("funday is not a valid weekday"));
}

TEST(AlertmanagerCodecTest, WritesGettableSilences) {
  auto r = ParsePostableSilence(R"({"matchers":[{"name":"a","value":"b<","isRegex":false}],
      "startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T01:00:00Z","createdBy":"al",
      "comment":"c"})");
  alerting::Silence s = r.silence;
  s.id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
  s.updated_at = T("2026-01-01T00:00:00Z");
  std::string out;
  AppendGettableSilence(out, s, T("2026-01-01T00:30:00Z"), "", 3);
  EXPECT_EQ(out,
            "{\"id\":\"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9\",\"status\":{\"state\":\"active\"},"
            "\"updatedAt\":\"2026-01-01T00:00:00.000Z\",\"comment\":\"c\",\"createdBy\":\"al\","
            "\"endsAt\":\"2026-01-01T01:00:00.000Z\",\"matchers\":[{\"isEqual\":true,\"isRegex\":"
            "false,\"name\":\"a\",\"value\":\"b\\u003c\"}],\"startsAt\":\"2026-01-01T00:00:00.000Z\","
            "\"matchedAlerts\":3}");
}

}  // namespace
}  // namespace platops::api
