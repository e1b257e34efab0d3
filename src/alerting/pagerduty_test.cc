#include "alerting/pagerduty.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/time_util.h"

namespace platops::alerting {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* kKey = "R0123456789abcdef0123456789abcde";  // 32 characters.

std::string Event(std::string_view fields) {
  return std::string("{\"routing_key\":\"") + kKey + "\"," + std::string(fields) + "}";
}

TEST(PagerDutyTest, ReadsATriggerWithEveryField) {
  auto r = ParsePagerDutyEvent(Event(R"(
    "event_action": "trigger", "dedup_key": "disk/db-1",
    "payload": {"summary": "Disk full on db-1", "source": "db-1", "severity": "critical",
                "timestamp": "2026-01-01T00:00:00.000+0100", "component": "postgres",
                "group": "prod-db", "class": "disk",
                "custom_details": {"free": "0%", "mounts": ["/", "/var"]}},
    "links": [{"href": "http://wiki/disk", "text": "Runbook"}],
    "images": [{"src": "http://grafana/disk.png", "href": "http://grafana/d", "alt": "Disk"}],
    "client": "Grafana", "client_url": "http://grafana")"));
  ASSERT_THAT(r.errors, IsEmpty());
  const PdEvent& e = *r.event;
  EXPECT_EQ(e.routing_key, kKey);
  EXPECT_EQ(e.action, PdAction::kTrigger);
  EXPECT_EQ(e.dedup_key, "disk/db-1");
  EXPECT_EQ(e.summary, "Disk full on db-1");
  EXPECT_EQ(e.source, "db-1");
  EXPECT_EQ(e.severity, "critical");
  EXPECT_EQ(e.timestamp, *ParseRfc3339("2025-12-31T23:00:00Z"));
  EXPECT_EQ(e.component, "postgres");
  EXPECT_EQ(e.group, "prod-db");
  EXPECT_EQ(e.event_class, "disk");
  EXPECT_EQ(e.custom_details, R"({"free":"0%","mounts":["/","/var"]})");
  ASSERT_EQ(e.links.size(), 1u);
  EXPECT_EQ(e.links[0].text, "Runbook");
  ASSERT_EQ(e.images.size(), 1u);
  EXPECT_EQ(e.images[0].alt, "Disk");
  EXPECT_EQ(e.client_url, "http://grafana");
}

TEST(PagerDutyTest, AcknowledgeAndResolveNeedOnlyTheKeyAndDedupKey) {
  for (const char* action : {"acknowledge", "resolve"}) {
    auto r = ParsePagerDutyEvent(
        Event(std::string("\"event_action\":\"") + action + "\",\"dedup_key\":\"k\""));
    ASSERT_THAT(r.errors, IsEmpty()) << action;
    EXPECT_EQ(r.event->action,
              std::string(action) == "resolve" ? PdAction::kResolve : PdAction::kAcknowledge);
  }
  auto missing = ParsePagerDutyEvent(Event("\"event_action\":\"resolve\""));
  EXPECT_THAT(missing.errors, ElementsAre("'dedup_key' is missing or blank"));
  EXPECT_FALSE(missing.event.has_value());
}

TEST(PagerDutyTest, InvalidEventsListEveryProblem) {
  auto r = ParsePagerDutyEvent(R"({"routing_key": "short", "event_action": "trigger",
                                   "payload": {"summary": " ", "severity": "fatal"}})");
  EXPECT_THAT(r.errors,
              ElementsAre("Length of 'routing_key' is incorrect (should be 32 characters)",
                          "'payload.summary' is missing or blank",
                          "'payload.source' is missing or blank",
                          "'payload.severity' is invalid (must be one of the following: "
                          "'critical', 'warning', 'error' or 'info')"));
  EXPECT_THAT(ParsePagerDutyEvent("{}").errors,
              ElementsAre("'routing_key' is missing or blank", "'event_action' is missing or blank"));
  EXPECT_THAT(ParsePagerDutyEvent(Event("\"event_action\":\"trigger\"")).errors,
              ElementsAre("'payload' is missing or blank"));
  EXPECT_THAT(ParsePagerDutyEvent(Event("\"event_action\":\"open\"")).errors,
              ElementsAre("'event_action' is invalid (must be one of the following: 'trigger', "
                          "'acknowledge' or 'resolve')"));
  EXPECT_THAT(ParsePagerDutyEvent("not json").errors, ElementsAre("Event object is not valid JSON"));
  EXPECT_THAT(ParsePagerDutyEvent(Event("\"event_action\":\"resolve\",\"dedup_key\":\"" +
                                        std::string(256, 'k') + "\""))
                  .errors,
              ElementsAre("'dedup_key' is too long (maximum is 255 characters)"));
  EXPECT_THAT(ParsePagerDutyEvent(Event(R"("event_action":"trigger","payload":{"summary":"s",
                 "source":"x","severity":"info","timestamp":"yesterday"})"))
                  .errors,
              ElementsAre("'payload.timestamp' is invalid (must be an ISO 8601 timestamp)"));
  EXPECT_THAT(ParsePagerDutyEvent(Event(R"("event_action":"resolve","dedup_key":7)")).errors,
              ElementsAre("'dedup_key' must be a string", "'dedup_key' is missing or blank"));
}

TEST(PagerDutyTest, ALongSummaryIsCutAtACharacterBoundary) {
  std::string summary;
  for (int i = 0; i < 1030; ++i) summary += "é";
  auto r = ParsePagerDutyEvent(Event(R"("event_action":"trigger","payload":{"summary":")" +
                                     summary + R"(","source":"x","severity":"info"})"));
  ASSERT_THAT(r.errors, IsEmpty());
  EXPECT_EQ(r.event->summary.size(), 2048u);  // 1024 two-byte characters.
}

TEST(PagerDutyTest, AnswersArePagerDutys) {
  EXPECT_EQ(PdAcceptedJson("disk/db-1"),
            R"({"status":"success","message":"Event processed","dedup_key":"disk/db-1"})");
  EXPECT_EQ(PdInvalidJson({"'payload' is missing or blank"}),
            R"({"status":"invalid event","message":"Event object is invalid","errors":["'payload' is missing or blank"]})");
}

}  // namespace
}  // namespace platops::alerting
