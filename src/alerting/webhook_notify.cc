#include "alerting/webhook_notify.h"

#include <string_view>

#include "alerting/slack.h"

namespace platops::alerting {

void ApplyHttpConfig(const HttpConfig& http, OutgoingNotification& row, DeliverySecret& secret) {
  HttpTransport t;
  t.proxy_url = http.proxy_url;
  t.follow_redirects = http.follow_redirects;
  t.ca_file = http.tls_config.ca_file;
  t.cert_file = http.tls_config.cert_file;
  t.key_file = http.tls_config.key_file;
  t.insecure_skip_verify = http.tls_config.insecure_skip_verify;
  t.AddTo(row.headers);
  if (http.has_basic_auth) {
    secret.authorization =
        "Basic " + Base64Encode(http.basic_auth.username + ":" + http.basic_auth.password.value);
  } else if (http.has_authorization && !http.authorization.credentials.value.empty()) {
    secret.authorization = http.authorization.type + " " + http.authorization.credentials.value;
  }
}

Result<OutgoingNotification> WebhookNotification(const WebhookConfig& config, size_t index,
                                                 const NotificationData& data,
                                                 const SecretBox* box,
                                                 std::string idempotency_key) {
  OutgoingNotification o;
  o.integration = "webhook[" + std::to_string(index) + "]";
  o.idempotency_key = std::move(idempotency_key);
  o.receiver = data.receiver;
  o.kind = "webhook";
  o.request = WebhookPayload(data, config.max_alerts);
  if (!config.signing_secret.value.empty()) {
    o.headers["X-Platops-Signature"] = WebhookSignature(config.signing_secret.value, o.request);
  }
  DeliverySecret secret;
  ApplyHttpConfig(config.http_config, o, secret);
  if (box != nullptr) {
    // A webhook URL often carries a token (Alertmanager treats it as a secret): sealed, and the
    // row shows it without its path.
    o.target = RedactSecretUrl(config.url.value);
    secret.url = config.url.value;
    o.sealed_secret = SealDeliverySecret(*box, secret);
  } else {
    if (!secret.authorization.empty()) {
      return Internal("webhook_configs[" + std::to_string(index) +
                      "].http_config: credentials need the secret key to be stored");
    }
    o.target = config.url.value;
  }
  return o;
}

}  // namespace platops::alerting
