#pragma once
// Email delivery through libcurl's SMTP client, and the deliverer that picks HTTP or SMTP by a
// row's kind.
//
// An email row (kind "email", built by EmailNotification in email.h) holds: target
// "smtp://host:port" ("smtps://host:port" for port 465: implicit TLS); request the RFC 5322
// message; headers the SmtpSession below (the envelope and session settings, so that a row can
// be sent after the configuration that made it has changed); sealed_secret {"password": ...}.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "alerting/outbox.h"
#include "base/secret_box.h"
#include "base/status.h"

namespace platops::alerting {

// The SMTP session of one email row, stored as row headers:
//   Mail-From                      envelope sender address
//   Rcpt-To                        envelope recipients, an address list ("a@x, b@y")
//   Smtp-Hello                     the EHLO name (omitted: "localhost")
//   Smtp-Auth-Username             AUTH user (omitted: no AUTH)
//   Smtp-Auth-Identity             PLAIN authorization identity (omitted: none)
//   Smtp-Require-Tls               "true" | "false" (omitted: true)
//   Smtp-Tls-Insecure-Skip-Verify  "true" | "false" (omitted: false)
//   Smtp-Tls-Ca-File               PEM bundle replacing the system roots (omitted: system roots)
struct SmtpSession {
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string hello = "localhost";
  std::string auth_username;
  std::string auth_identity;
  bool require_tls = true;
  bool insecure_skip_verify = false;
  std::string ca_file;

  std::map<std::string, std::string> ToHeaders() const;
  // kInvalidArgument naming the header when one is missing or malformed.
  static Result<SmtpSession> FromHeaders(const std::map<std::string, std::string>& headers);
};

struct SmtpDelivererOptions {
  // The whole session, connect to QUIT. Default 30 s.
  std::chrono::milliseconds timeout{30000};
  // Opens rows' sealed_secret (the AUTH password); must outlive the deliverer. Null: a row with a
  // sealed secret fails.
  const SecretBox* secret_box = nullptr;
};

// Sends an email row: connects to the smarthost (port 465: TLS from the start); then STARTTLS,
// required when the row's require_tls is set, else used when offered (a stricter choice than
// Alertmanager, which then sends in clear); AUTH (PLAIN, LOGIN or CRAM-MD5, whichever the server
// offers and libcurl prefers) with the user and sealed password when both are set; credentials
// go only over TLS or to a loopback host (as Go's smtp.PlainAuth insists), so a password makes
// STARTTLS required on any other host. Certificates are verified against the row's CA file or
// the system roots unless insecure_skip_verify.
// Outcomes: the final 250 → kOk; a 4xx reply, no connection, a timeout or a TLS failure →
// kRetry; a 5xx reply → kFailed (permanent). status_code holds the last SMTP reply code (0: no
// reply) and the error the command and the server's reply text: "RCPT TO: 550 5.1.1 no such
// user". Thread-safety: thread-safe (one libcurl handle per delivery).
class SmtpDeliverer final : public Deliverer {
 public:
  explicit SmtpDeliverer(SmtpDelivererOptions options = {});
  Result<DeliveryResult> Deliver(const OutboxRow& row) override;

 private:
  SmtpDelivererOptions options_;
};

// Dispatches by OutboxRow::kind: "webhook" and "slack" to `http`, "email" to `smtp`; any other
// kind fails for good. Thread-safety: as the deliverers it holds.
class RoutingDeliverer final : public Deliverer {
 public:
  // Both must outlive this deliverer.
  RoutingDeliverer(Deliverer& http, Deliverer& smtp) : http_(http), smtp_(smtp) {}
  Result<DeliveryResult> Deliver(const OutboxRow& row) override;

 private:
  Deliverer& http_;
  Deliverer& smtp_;
};

}  // namespace platops::alerting
