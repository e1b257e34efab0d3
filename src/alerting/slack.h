#pragma once
// Slack notifications: the incoming-webhook body of a `slack_configs` entry, and the outbox row
// that delivers it. Pure functions of their inputs; thread-safe.
//
// The body is Alertmanager 0.25's (channel, username, icon_emoji, icon_url, link_names and one
// legacy attachment, its fields in Alertmanager's order and with its omission rules) plus two
// top-level members: `text`, the rendered fallback (what Slack shows in notifications and
// screen readers; the title when the fallback renders empty), and `blocks`, one mrkdwn
// `section` holding "*<title_link|title>*\n" + text.
// Layout: title and text are sent once, in the section block, and left out of the attachment;
// Slack shows a block full width and in full, whereas an attachment's text is cut behind
// "Show more", and sending both would show everything twice. The attachment keeps what only it
// can carry: the colour bar, pretext, fields, action buttons, images, footer, fallback,
// callback_id and mrkdwn_in.

#include <cstddef>
#include <string>
#include <string_view>

#include "alerting/am_config.h"
#include "alerting/notify_render.h"
#include "alerting/outbox.h"
#include "alerting/webhook.h"
#include "base/secret_box.h"
#include "base/status.h"

namespace platops::alerting {

// Alertmanager's cut of the attachment title (Slack's legacy limit), in runes, "…" included.
inline constexpr size_t kSlackMaxTitleRunes = 1024;
// Slack's limit on a section block's text, in characters, "…" included.
inline constexpr size_t kSlackMaxSectionChars = 3000;

// The JSON body. Every template field (fields' and actions' string members too) is rendered
// with `render`; an error names the field: `title`, `fields[1].value`, `actions[0].confirm.text`.
Result<std::string> SlackPayload(const SlackConfig& config, const RenderFn& render);

// `url` with its user info, path, query and fragment replaced by "/<secret>":
// "https://hooks.slack.com/<secret>". "<secret>" when it is not an absolute URL.
std::string RedactSecretUrl(std::string_view url);

// The outbox row for slack_configs[`index`] of receiver `data.receiver`: integration "slack[i]",
// kind "slack", target the redacted API URL, the body above, and the API URL sealed in
// sealed_secret ({"url": ...}). Errors carry the field path from `slack_configs[i]` on.
Result<OutgoingNotification> SlackNotification(const SlackConfig& config, size_t index,
                                               const NotificationData& data, const RenderFn& render,
                                               const SecretBox& box, std::string idempotency_key);

}  // namespace platops::alerting
