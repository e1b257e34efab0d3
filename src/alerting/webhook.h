#pragma once
// The notification a webhook receiver gets: Alertmanager's webhook payload, version 4, field
// for field and in its field order, so that every existing consumer of Alertmanager webhooks
// works unchanged; and the optional HMAC-SHA256 signature of the body. Pure functions;
// thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/alert_store.h"
#include "base/clock.h"

namespace platops::alerting {

// One notification of an aggregation group, as Alertmanager's template data holds it.
struct NotificationData {
  std::string receiver;
  std::string group_key;       // The aggregation group's key.
  LabelSet group_labels;
  std::string external_url;    // Where platops's UI is reached.
  std::vector<Alert> alerts;   // In the group's order; firing and resolved.
  Timestamp now{};             // Decides which alerts are resolved.
};

// "firing" when any alert is firing at `data.now`, else "resolved".
std::string_view NotificationStatus(const NotificationData& data);

// The labels (or annotations) every alert has with the same value.
LabelSet CommonLabels(const std::vector<Alert>& alerts);
LabelSet CommonAnnotations(const std::vector<Alert>& alerts);

// The JSON body. With `max_alerts` > 0 only the first max_alerts alerts are sent and
// `truncatedAlerts` says how many were left out (Alertmanager's webhook_config.max_alerts).
std::string WebhookPayload(const NotificationData& data, size_t max_alerts = 0);

// The value of the signature header for `body`: "sha256=" and the hex HMAC-SHA256 under
// `secret`, as GitHub and most webhook consumers verify it.
std::string WebhookSignature(std::string_view secret, std::string_view body);

// Go's time.Time JSON form: RFC 3339 with as many fraction digits as needed, in UTC;
// "0001-01-01T00:00:00Z" for an unset time.
std::string GoTimeJson(const std::optional<Timestamp>& t);

}  // namespace platops::alerting
