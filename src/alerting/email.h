#pragma once
// Email notifications: the RFC 5322 message of an `email_configs` entry, as Alertmanager 0.25
// builds it, and the outbox row that sends it through SmtpDeliverer (smtp.h). Pure functions of
// their inputs; thread-safe.
//
// The message: From, To, Subject (kDefaultEmailSubject when `headers` has none), Date, Message-Id
// and MIME-Version, then the other `headers` in name order (values are templates; a Date or
// Message-Id there replaces platops's), then a multipart/alternative body: text/plain (`text`,
// when set) before text/html (`html`, rendered with html=true), both UTF-8 and
// quoted-printable. CRLF line endings throughout; not dot-stuffed (libcurl does that). Header
// values that are not printable ASCII become RFC 2047 encoded-words (Q, utf-8); in address
// headers only the display names are encoded. The boundary and Message-Id are derived from a
// hash of the content, so the same notification at the same time builds the same message.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/am_config.h"
#include "alerting/notify_render.h"
#include "alerting/outbox.h"
#include "alerting/webhook.h"
#include "base/clock.h"
#include "base/secret_box.h"
#include "base/status.h"

namespace platops::alerting {

struct MailAddress {
  std::string name;     // display name, as written without quotes; "" when none
  std::string address;  // the addr-spec, "local@domain"
};

// An address list in the forms Go's mail.ParseAddressList reads: "a@x", "Name <a@x>",
// "\"Last, First\" <a@x>", "<a@x>", separated by commas. Groups, comments and obsolete routes
// are refused. kInvalidArgument says what is wrong with which entry.
Result<std::vector<MailAddress>> ParseAddressList(std::string_view text);

// An address as a header shows it: the bare addr-spec, or "Name <a@x>" with the name quoted or
// encoded as RFC 5322 and RFC 2047 need.
std::string FormatAddress(const MailAddress& address);

// RFC 2047 Q encoding ("=?utf-8?q?...?=", folded at 75 characters) when `value` has a byte that
// is not printable ASCII (tab allowed); otherwise `value` unchanged.
std::string EncodeHeaderValue(std::string_view value, bool force = false);

// "Name: value" as one header field, folded (RFC 5322 2.2.3: CRLF inserted before white space) so
// that no line is longer than 78 characters where white space allows; a value whose unbroken
// run would still make a line longer than 998 characters is sent as encoded-words instead.
// Without CRLF at the end.
std::string FoldedHeader(std::string_view name, std::string_view value);

// Quoted-printable (RFC 2045): lines of at most 76 characters with soft breaks, CRLF line ends
// (LF and CR alone become CRLF), trailing white space and a leading '.' encoded.
std::string QuotedPrintable(std::string_view text);

// Checks what can be checked before a notification exists: `from` is one address and `to` a
// list (when they are not templates), `smarthost` is host:port, `headers` leaves the MIME
// structure alone, and `text` or `html` is set. Errors name the field (`to`,
// `headers.Content-Type`).
Status ValidateEmailConfig(const EmailConfig& config);

struct EmailMessage {
  std::string envelope_from;            // MAIL FROM: the address of the rendered `from`
  std::vector<std::string> recipients;  // RCPT TO: the addresses of the rendered `to`, in order
  std::string message_id;               // "<hex@domain>", as in the Message-Id header
  std::string data;                     // the message
};

// Renders and assembles the message. `now` is its Date; `message_id_domain` the right-hand side
// of its Message-Id ("" = the from address's domain). Errors name the field: `from`, `to`,
// `headers.Subject`, `text`, `html`.
Result<EmailMessage> BuildEmail(const EmailConfig& config, const NotificationData& data,
                                const RenderFn& render, Timestamp now,
                                std::string_view message_id_domain);

// The outbox row for email_configs[`index`] of receiver `data.receiver`: integration "email[i]",
// kind "email", target "smtp://host:port" ("smtps://" for port 465), request the message, headers
// the SmtpSession, sealed_secret {"password": auth_password, or auth_secret when that is unset}
// ("" when neither is set). No secret is left in any other field. Errors carry the field path
// from `email_configs[i]` on.
Result<OutgoingNotification> EmailNotification(const EmailConfig& config, size_t index,
                                               const NotificationData& data, const RenderFn& render,
                                               const SecretBox& box, std::string idempotency_key,
                                               Timestamp now,
                                               std::string_view message_id_domain = "");

}  // namespace platops::alerting
