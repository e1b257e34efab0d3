#pragma once
// PagerDuty Events API v2 intake (POST /integrations/pagerduty/v2/enqueue): the event body as
// PagerDuty reads it, with its validation and its answers, so that every tool that sends to
// PagerDuty can send to platops by changing the URL and the routing key. Pure functions;
// thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"

namespace platops::alerting {

enum class PdAction { kTrigger, kAcknowledge, kResolve };

struct PdLink {
  std::string href;
  std::string text;
};
struct PdImage {
  std::string src;
  std::string href;
  std::string alt;
};

struct PdEvent {
  std::string routing_key;
  PdAction action = PdAction::kTrigger;
  std::string dedup_key;  // Empty on a trigger that gave none: the intake makes one.
  // The payload (trigger only).
  std::string summary;   // At most 1024 characters; longer ones are cut, as PagerDuty does.
  std::string source;
  std::string severity;  // "critical", "error", "warning" or "info".
  std::optional<Timestamp> timestamp;
  std::string component;
  std::string group;
  std::string event_class;
  std::string custom_details;  // JSON text of `custom_details` (any JSON value), or empty.
  std::vector<PdLink> links;
  std::vector<PdImage> images;
  std::string client;
  std::string client_url;
};

struct PdParsed {
  std::optional<PdEvent> event;
  std::vector<std::string> errors;  // Non-empty: the event is refused (400).
};

// Reads and validates one event. Every problem is listed, in PagerDuty's words.
PdParsed ParsePagerDutyEvent(std::string_view body);

// The answers: 202 {"status":"success","message":"Event processed","dedup_key":"..."} and
// 400 {"status":"invalid event","message":"Event object is invalid","errors":[...]}.
std::string PdAcceptedJson(std::string_view dedup_key);
std::string PdInvalidJson(const std::vector<std::string>& errors);

}  // namespace platops::alerting
