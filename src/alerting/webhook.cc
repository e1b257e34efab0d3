#include "alerting/webhook.h"

#include <sodium.h>

#include <cstdio>

#include "alerting/go_json.h"
#include "base/time_util.h"

namespace platops::alerting {
namespace {

bool Firing(const Alert& a, Timestamp now) { return !a.Resolved(now); }

LabelSet Common(const std::vector<Alert>& alerts, LabelSet Alert::*field) {
  if (alerts.empty()) return {};
  LabelSet common = alerts.front().*field;
  for (size_t i = 1; i < alerts.size() && !common.empty(); ++i) {
    const LabelSet& other = alerts[i].*field;
    std::vector<std::string> drop;
    for (const Label& l : common) {
      if (!other.Has(l.name) || other.Get(l.name) != l.value) drop.push_back(l.name);
    }
    for (const auto& name : drop) common.Erase(name);
  }
  return common;
}

}  // namespace

std::string GoTimeJson(const std::optional<Timestamp>& t) {
  if (!t) return "0001-01-01T00:00:00Z";
  std::string s = FormatRfc3339(*t);  // "...05Z" or "...05.120Z"
  // Go's RFC3339Nano drops trailing zeros of the fraction.
  const size_t dot = s.find('.');
  if (dot != std::string::npos) {
    size_t end = s.size() - 1;  // The 'Z'.
    size_t last = end;
    while (last > dot + 1 && s[last - 1] == '0') --last;
    s.erase(last, end - last);
  }
  return s;
}

std::string_view NotificationStatus(const NotificationData& data) {
  for (const Alert& a : data.alerts) {
    if (Firing(a, data.now)) return "firing";
  }
  return "resolved";
}

LabelSet CommonLabels(const std::vector<Alert>& alerts) { return Common(alerts, &Alert::labels); }

LabelSet CommonAnnotations(const std::vector<Alert>& alerts) {
  return Common(alerts, &Alert::annotations);
}

std::string WebhookPayload(const NotificationData& data, size_t max_alerts) {
  const size_t shown =
      max_alerts > 0 ? std::min(max_alerts, data.alerts.size()) : data.alerts.size();
  std::string out;
  out.reserve(512 + shown * 512);
  // Alertmanager's webhook.Message: template.Data's fields, then version, groupKey and
  // truncatedAlerts. Common labels and annotations are taken over every alert of the group.
  out += "{\"receiver\":";
  AppendGoJsonString(out, data.receiver);
  out += ",\"status\":";
  AppendGoJsonString(out, NotificationStatus(data));
  out += ",\"alerts\":[";
  for (size_t i = 0; i < shown; ++i) {
    const Alert& a = data.alerts[i];
    if (i > 0) out += ',';
    out += "{\"status\":";
    AppendGoJsonString(out, Firing(a, data.now) ? "firing" : "resolved");
    out += ",\"labels\":";
    AppendLabelSetJson(out, a.labels);
    out += ",\"annotations\":";
    AppendLabelSetJson(out, a.annotations);
    out += ",\"startsAt\":\"";
    out += GoTimeJson(a.starts_at);
    // A firing alert's end is not known yet: Alertmanager sends the zero time.
    out += "\",\"endsAt\":\"";
    out += GoTimeJson(Firing(a, data.now) ? std::nullopt : a.ends_at);
    out += "\",\"generatorURL\":";
    AppendGoJsonString(out, a.generator_url);
    out += ",\"fingerprint\":\"";
    out += FingerprintString(a.fingerprint);
    out += "\"}";
  }
  out += "],\"groupLabels\":";
  AppendLabelSetJson(out, data.group_labels);
  out += ",\"commonLabels\":";
  AppendLabelSetJson(out, CommonLabels(data.alerts));
  out += ",\"commonAnnotations\":";
  AppendLabelSetJson(out, CommonAnnotations(data.alerts));
  out += ",\"externalURL\":";
  AppendGoJsonString(out, data.external_url);
  out += ",\"version\":\"4\",\"groupKey\":";
  AppendGoJsonString(out, data.group_key);
  out += ",\"truncatedAlerts\":";
  out += std::to_string(data.alerts.size() - shown);
  out += '}';
  return out;
}

std::string WebhookSignature(std::string_view secret, std::string_view body) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
  return std::string("sha256=") + hex;
}

}  // namespace platops::alerting
