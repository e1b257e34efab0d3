#pragma once
// The outbox rows of webhook integrations, and the part of a receiver's `http_config` that every
// HTTP integration (webhook, Slack) carries into its row. Pure functions; thread-safe.

#include <cstddef>
#include <string>

#include "alerting/am_config.h"
#include "alerting/outbox.h"
#include "alerting/webhook.h"
#include "base/secret_box.h"

namespace platops::alerting {

// Puts `http`'s transport settings (proxy, redirects, TLS) into `row.headers` and its
// Authorization value (basic_auth or authorization/bearer_token) into `secret`, which the
// caller seals.
void ApplyHttpConfig(const HttpConfig& http, OutgoingNotification& row, DeliverySecret& secret);

// The outbox row for webhook_configs[`index`] of receiver `data.receiver`: integration
// "webhook[i]", the version 4 payload (cut to max_alerts), X-Platops-Signature when the entry
// has a signing secret, and its http_config. With `box`, the URL (which often carries a token)
// and the Authorization are sealed and `target` shows the URL without its path; without one the
// URL is the target, and an entry whose http_config has credentials is refused.
Result<OutgoingNotification> WebhookNotification(const WebhookConfig& config, size_t index,
                                                 const NotificationData& data,
                                                 const SecretBox* box,
                                                 std::string idempotency_key);

}  // namespace platops::alerting
