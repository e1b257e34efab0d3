#include "alerting/pagerduty.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "alerting/go_json.h"
#include "base/strings.h"
#include "base/time_util.h"

namespace platops::alerting {
namespace {

namespace json = boost::json;

constexpr size_t kRoutingKeyLength = 32;
constexpr size_t kMaxDedupKey = 255;
constexpr size_t kMaxSummary = 1024;

// A string field: absent or null leaves `out` empty; another type is an error.
bool ReadString(const json::object& o, std::string_view name, std::string_view path,
                std::string& out, std::vector<std::string>& errors) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_string()) {
    std::string message = "'";  // Built in steps: GCC 12 warns falsely on "'" + string.
    message += path;
    message += "' must be a string";
    errors.push_back(std::move(message));
    return false;
  }
  out = std::string(v->as_string());
  return true;
}

bool Blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

// Cuts at most `max` code points without splitting one.
std::string CutUtf8(std::string s, size_t max) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (count == max) {
        s.resize(i);
        break;
      }
      ++count;
    }
  }
  return s;
}

}  // namespace

PdParsed ParsePagerDutyEvent(std::string_view body) {
  PdParsed r;
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) {
    r.errors.push_back("Event object is not valid JSON");
    return r;
  }
  const json::object& o = doc.as_object();
  PdEvent e;
  auto& errors = r.errors;

  ReadString(o, "routing_key", "routing_key", e.routing_key, errors);
  if (Blank(e.routing_key)) {
    errors.push_back("'routing_key' is missing or blank");
  } else if (e.routing_key.size() != kRoutingKeyLength) {
    errors.push_back("Length of 'routing_key' is incorrect (should be 32 characters)");
  }
  std::string action;
  ReadString(o, "event_action", "event_action", action, errors);
  if (Blank(action)) {
    errors.push_back("'event_action' is missing or blank");
  } else if (action == "trigger") {
    e.action = PdAction::kTrigger;
  } else if (action == "acknowledge") {
    e.action = PdAction::kAcknowledge;
  } else if (action == "resolve") {
    e.action = PdAction::kResolve;
  } else {
    errors.push_back(
        "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or "
        "'resolve')");
  }
  ReadString(o, "dedup_key", "dedup_key", e.dedup_key, errors);
  if (e.dedup_key.size() > kMaxDedupKey) {
    errors.push_back("'dedup_key' is too long (maximum is 255 characters)");
  }
  if (!action.empty() && e.action != PdAction::kTrigger && Blank(e.dedup_key)) {
    errors.push_back("'dedup_key' is missing or blank");
  }
  ReadString(o, "client", "client", e.client, errors);
  ReadString(o, "client_url", "client_url", e.client_url, errors);

  if (action == "trigger") {
    const json::value* p = o.if_contains("payload");
    if (p == nullptr || p->is_null()) {
      errors.push_back("'payload' is missing or blank");
    } else if (!p->is_object()) {
      errors.push_back("'payload' must be an object");
    } else {
      const json::object& po = p->as_object();
      ReadString(po, "summary", "payload.summary", e.summary, errors);
      if (Blank(e.summary)) errors.push_back("'payload.summary' is missing or blank");
      e.summary = CutUtf8(std::move(e.summary), kMaxSummary);
      ReadString(po, "source", "payload.source", e.source, errors);
      if (Blank(e.source)) errors.push_back("'payload.source' is missing or blank");
      ReadString(po, "severity", "payload.severity", e.severity, errors);
      if (Blank(e.severity)) {
        errors.push_back("'payload.severity' is missing or blank");
      } else if (e.severity != "critical" && e.severity != "error" && e.severity != "warning" &&
                 e.severity != "info") {
        errors.push_back(
            "'payload.severity' is invalid (must be one of the following: 'critical', "
            "'warning', 'error' or 'info')");
      }
      std::string timestamp;
      ReadString(po, "timestamp", "payload.timestamp", timestamp, errors);
      if (!timestamp.empty()) {
        // PagerDuty takes ISO 8601 with an offset, also written without a colon (+0000).
        std::string fixed = timestamp;
        const size_t n = fixed.size();
        if (n > 5 && (fixed[n - 5] == '+' || fixed[n - 5] == '-') &&
            fixed.find(':', n - 5) == std::string::npos) {
          fixed = fixed.substr(0, n - 2) + ':' + fixed.substr(n - 2);
        }
        auto t = ParseRfc3339(fixed);
        if (t.ok()) {
          e.timestamp = *t;
        } else {
          errors.push_back("'payload.timestamp' is invalid (must be an ISO 8601 timestamp)");
        }
      }
      ReadString(po, "component", "payload.component", e.component, errors);
      ReadString(po, "group", "payload.group", e.group, errors);
      ReadString(po, "class", "payload.class", e.event_class, errors);
      if (const json::value* d = po.if_contains("custom_details"); d != nullptr && !d->is_null()) {
        e.custom_details = json::serialize(*d);
      }
    }
  }
  if (const json::value* links = o.if_contains("links"); links != nullptr && !links->is_null()) {
    if (!links->is_array()) {
      errors.push_back("'links' must be an array");
    } else {
      for (const auto& l : links->as_array()) {
        if (!l.is_object()) {
          errors.push_back("'links' must hold objects");
          break;
        }
        PdLink link;
        ReadString(l.as_object(), "href", "links.href", link.href, errors);
        ReadString(l.as_object(), "text", "links.text", link.text, errors);
        if (Blank(link.href)) errors.push_back("'links.href' is missing or blank");
        e.links.push_back(std::move(link));
      }
    }
  }
  if (const json::value* images = o.if_contains("images");
      images != nullptr && !images->is_null()) {
    if (!images->is_array()) {
      errors.push_back("'images' must be an array");
    } else {
      for (const auto& i : images->as_array()) {
        if (!i.is_object()) {
          errors.push_back("'images' must hold objects");
          break;
        }
        PdImage image;
        ReadString(i.as_object(), "src", "images.src", image.src, errors);
        ReadString(i.as_object(), "href", "images.href", image.href, errors);
        ReadString(i.as_object(), "alt", "images.alt", image.alt, errors);
        if (Blank(image.src)) errors.push_back("'images.src' is missing or blank");
        e.images.push_back(std::move(image));
      }
    }
  }
  if (errors.empty()) r.event = std::move(e);
  return r;
}

std::string PdAcceptedJson(std::string_view dedup_key) {
  std::string out = R"({"status":"success","message":"Event processed","dedup_key":)";
  AppendGoJsonString(out, dedup_key);
  out += '}';
  return out;
}

std::string PdInvalidJson(const std::vector<std::string>& errors) {
  std::string out = R"({"status":"invalid event","message":"Event object is invalid","errors":[)";
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) out += ',';
    AppendGoJsonString(out, errors[i]);
  }
  out += "]}";
  return out;
}

}  // namespace platops::alerting
