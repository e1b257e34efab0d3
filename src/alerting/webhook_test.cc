#include "alerting/webhook.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "alerting/go_json.h"
#include "base/time_util.h"

namespace platops::alerting {
namespace {

Timestamp T(std::string_view s) { return *ParseRfc3339(s); }

Alert MakeAlert(LabelSet labels, LabelSet annotations, Timestamp starts, Timestamp ends) {
  Alert a;
  a.labels = std::move(labels);
  a.annotations = std::move(annotations);
  a.starts_at = starts;
  a.ends_at = ends;
  a.generator_url = "http://prom:9090/graph?g0.expr=up&g0.tab=1";
  a.fingerprint = Fingerprint(a.labels);
  return a;
}

NotificationData Group() {
  NotificationData d;
  d.receiver = "team-x-hook";
  d.group_key = "{}/{team=\"x\"}:{alertname=\"InstanceDown\"}";
  d.group_labels = LabelSet{{"alertname", "InstanceDown"}};
  d.external_url = "http://platops:9470";
  d.now = T("2026-01-01T00:10:00Z");
  d.alerts.push_back(MakeAlert({{"alertname", "InstanceDown"}, {"instance", "a"}, {"job", "node"}},
                               {{"summary", "a down"}, {"runbook", "http://wiki/down"}},
                               T("2026-01-01T00:00:00.120Z"), T("2026-01-01T00:14:00Z")));
  d.alerts.push_back(MakeAlert({{"alertname", "InstanceDown"}, {"instance", "b"}, {"job", "node"}},
                               {{"summary", "b down"}, {"runbook", "http://wiki/down"}},
                               T("2026-01-01T00:01:00Z"), T("2026-01-01T00:05:00Z")));
  return d;
}

TEST(WebhookTest, PayloadIsAlertmanagersVersion4FieldForField) {
  const NotificationData d = Group();
  EXPECT_EQ(WebhookPayload(d),
            "{\"receiver\":\"team-x-hook\",\"status\":\"firing\",\"alerts\":["
            "{\"status\":\"firing\",\"labels\":{\"alertname\":\"InstanceDown\",\"instance\":\"a\","
            "\"job\":\"node\"},\"annotations\":{\"runbook\":\"http://wiki/down\",\"summary\":\"a "
            "down\"},\"startsAt\":\"2026-01-01T00:00:00.12Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
            "\"generatorURL\":\"http://prom:9090/graph?g0.expr=up\\u0026g0.tab=1\","
            "\"fingerprint\":\"" +
                FingerprintString(d.alerts[0].fingerprint) +
                "\"},"
                "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"InstanceDown\",\"instance\":"
                "\"b\",\"job\":\"node\"},\"annotations\":{\"runbook\":\"http://wiki/down\","
                "\"summary\":\"b down\"},\"startsAt\":\"2026-01-01T00:01:00Z\",\"endsAt\":"
                "\"2026-01-01T00:05:00Z\",\"generatorURL\":\"http://prom:9090/graph?g0.expr=up"
                "\\u0026g0.tab=1\",\"fingerprint\":\"" +
                FingerprintString(d.alerts[1].fingerprint) +
                "\"}],"
                "\"groupLabels\":{\"alertname\":\"InstanceDown\"},"
                "\"commonLabels\":{\"alertname\":\"InstanceDown\",\"job\":\"node\"},"
                "\"commonAnnotations\":{\"runbook\":\"http://wiki/down\"},"
                "\"externalURL\":\"http://platops:9470\",\"version\":\"4\","
                "\"groupKey\":\"{}/{team=\\\"x\\\"}:{alertname=\\\"InstanceDown\\\"}\","
                "\"truncatedAlerts\":0}");
}

TEST(WebhookTest, AllResolvedIsAResolvedNotification) {
  NotificationData d = Group();
  d.now = T("2026-01-01T00:20:00Z");
  const std::string body = WebhookPayload(d);
  EXPECT_THAT(body, ::testing::StartsWith("{\"receiver\":\"team-x-hook\",\"status\":\"resolved\""));
  EXPECT_THAT(body, ::testing::HasSubstr("\"endsAt\":\"2026-01-01T00:14:00Z\""));
}

TEST(WebhookTest, MaxAlertsTruncatesAndSaysHowMany) {
  const std::string body = WebhookPayload(Group(), 1);
  EXPECT_THAT(body, ::testing::EndsWith("\"truncatedAlerts\":1}"));
  EXPECT_THAT(body, ::testing::Not(::testing::HasSubstr("\"instance\":\"b\"")));
  // Common labels still describe the whole group.
  EXPECT_THAT(body, ::testing::HasSubstr("\"commonLabels\":{\"alertname\":\"InstanceDown\","
                                         "\"job\":\"node\"}"));
}

TEST(WebhookTest, SignatureIsHmacSha256InHex) {
  // RFC 4231, test case 2.
  EXPECT_EQ(WebhookSignature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookTest, GoTimesTrimTheirFraction) {
  EXPECT_EQ(GoTimeJson(std::nullopt), "0001-01-01T00:00:00Z");
  EXPECT_EQ(GoTimeJson(T("2026-01-01T00:00:00.100Z")), "2026-01-01T00:00:00.1Z");
  EXPECT_EQ(GoTimeJson(T("2026-01-01T00:00:00.123Z")), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(GoTimeJson(T("2026-01-01T00:00:00Z")), "2026-01-01T00:00:00Z");
}

TEST(WebhookTest, StringsAreEscapedAsGoDoes) {
  std::string out;
  AppendGoJsonString(out, "a<b>&\"\\\n\x01\xff\u2028ü");
  EXPECT_EQ(out, "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001\\ufffd\\u2028ü\"");
}

}  // namespace
}  // namespace platops::alerting
