#include "api/alertmanager_codec.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "alerting/go_json.h"
#include "base/time_util.h"

namespace platops::api {
namespace {

namespace json = boost::json;

// The JSON kind as Go's encoding/json names it in unmarshal errors.
const char* GoKind(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      return "object";
    case json::kind::array:
      return "array";
    case json::kind::string:
      return "string";
    case json::kind::bool_:
      return "bool";
    case json::kind::null:
      return "null";
    default:
      return "number";
  }
}

AmBodyError Unreadable(std::string why) {
  return {400, 400, "parsing alerts body from \"\" failed, because " + std::move(why)};
}

// A label set field: an object of strings. Null leaves it empty, as Go does.
std::optional<AmBodyError> ReadLabelSet(const json::value& v, const char* field,
                                        alerting::LabelSet& out) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_object()) {
    return Unreadable(std::string("json: cannot unmarshal ") + GoKind(v) +
                      " into Go struct field PostableAlert." + field + " of type models.LabelSet");
  }
  for (const auto& kv : v.as_object()) {
    if (!kv.value().is_string()) {
      return Unreadable(std::string("json: cannot unmarshal ") + GoKind(kv.value()) +
                        " into Go struct field PostableAlert." + field + " of type string");
    }
    out.Set(std::string(kv.key()), std::string(kv.value().as_string()));
  }
  return std::nullopt;
}

std::optional<AmBodyError> ReadTime(const json::value& v, const char* field,
                                    std::optional<Timestamp>& out) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) {
    return Unreadable(std::string("json: cannot unmarshal ") + GoKind(v) +
                      " into Go struct field PostableAlert." + field + " of type strfmt.DateTime");
  }
  const std::string_view s = v.as_string();
  auto t = ParseRfc3339(s);
  if (!t.ok()) {
    return Unreadable("parsing time \"" + std::string(s.substr(0, 64)) +
                      "\" as \"2006-01-02T15:04:05.000Z07:00\": " + t.status().message());
  }
  // Go's zero time is how a client written in Go says "unset".
  static const Timestamp kGoZero = *ParseRfc3339("0001-01-01T00:00:00Z");
  if (*t != kGoZero) out = *t;
  return std::nullopt;
}

}  // namespace

std::string AmBodyError::Json() const {
  std::string out = "{\"code\":" + std::to_string(code) + ",\"message\":";
  alerting::AppendGoJsonString(out, message);
  out += '}';
  return out;
}

ParsedAlerts ParsePostableAlerts(std::string_view body) {
  ParsedAlerts r;
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) {
    r.error = Unreadable(body.empty() ? "EOF" : ec.message());
    return r;
  }
  if (!doc.is_array()) {
    r.error = Unreadable(std::string("json: cannot unmarshal ") + GoKind(doc) +
                         " into Go value of type models.PostableAlerts");
    return r;
  }
  const json::array& list = doc.as_array();
  r.alerts.reserve(list.size());
  std::optional<size_t> missing_labels;
  for (size_t i = 0; i < list.size(); ++i) {
    const json::value& item = list[i];
    if (!item.is_object()) {
      r.error = Unreadable(std::string("json: cannot unmarshal ") + GoKind(item) +
                           " into Go value of type models.PostableAlert");
      return r;
    }
    const json::object& o = item.as_object();
    alerting::Alert a;
    const json::value null;
    auto field = [&](const char* name) -> const json::value& {
      const json::value* v = o.if_contains(name);
      return v != nullptr ? *v : null;
    };
    if (auto e = ReadLabelSet(field("labels"), "labels", a.labels)) {
      r.error = *e;
      return r;
    }
    if (auto e = ReadLabelSet(field("annotations"), "annotations", a.annotations)) {
      r.error = *e;
      return r;
    }
    if (auto e = ReadTime(field("startsAt"), "startsAt", a.starts_at)) {
      r.error = *e;
      return r;
    }
    if (auto e = ReadTime(field("endsAt"), "endsAt", a.ends_at)) {
      r.error = *e;
      return r;
    }
    const json::value& url = field("generatorURL");
    if (url.is_string()) {
      a.generator_url = std::string(url.as_string());
    } else if (!url.is_null()) {
      r.error = Unreadable(std::string("json: cannot unmarshal ") + GoKind(url) +
                           " into Go struct field PostableAlert.generatorURL of type "
                           "strfmt.URI");
      return r;
    }
    // The schema requires `labels` (an empty object passes it; the label rules refuse it
    // later); it is checked once the whole body has been read, as the generated server does.
    if (!missing_labels && (o.if_contains("labels") == nullptr || field("labels").is_null())) {
      missing_labels = i;
    }
    r.alerts.push_back(std::move(a));
  }
  if (missing_labels) {
    r.alerts.clear();
    r.error = AmBodyError{422, 602, std::to_string(*missing_labels) + ".labels in body is required"};
  }
  return r;
}

std::string FormatAmTime(Timestamp t) {
  std::string s = FormatRfc3339(t);  // "...:05Z" or "...:05.120Z"
  if (s.size() >= 5 && s[s.size() - 5] != '.') s.insert(s.size() - 1, ".000");
  return s;
}

void AppendGettableAlert(std::string& out, const alerting::Alert& alert,
                         const AlertStatusView& status) {
  auto strings = [&](const std::vector<std::string>& list) {
    out += '[';
    for (size_t i = 0; i < list.size(); ++i) {
      if (i > 0) out += ',';
      alerting::AppendGoJsonString(out, list[i]);
    }
    out += ']';
  };
  out += "{\"annotations\":";
  alerting::AppendLabelSetJson(out, alert.annotations);
  out += ",\"endsAt\":\"";
  out += alert.ends_at ? FormatAmTime(*alert.ends_at) : FormatAmTime(Timestamp{});
  out += "\",\"fingerprint\":\"";
  out += alerting::FingerprintString(alert.fingerprint);
  out += "\",\"receivers\":[";
  for (size_t i = 0; i < status.receivers.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"name\":";
    alerting::AppendGoJsonString(out, status.receivers[i]);
    out += '}';
  }
  out += "],\"startsAt\":\"";
  out += alert.starts_at ? FormatAmTime(*alert.starts_at) : FormatAmTime(Timestamp{});
  out += "\",\"status\":{\"inhibitedBy\":";
  strings(status.inhibited_by);
  out += ",\"silencedBy\":";
  strings(status.silenced_by);
  out += ",\"state\":";
  alerting::AppendGoJsonString(out, status.state);
  out += "},\"updatedAt\":\"";
  out += FormatAmTime(alert.updated_at);
  out += '"';
  if (!alert.generator_url.empty()) {
    out += ",\"generatorURL\":";
    alerting::AppendGoJsonString(out, alert.generator_url);
  }
  out += ",\"labels\":";
  alerting::AppendLabelSetJson(out, alert.labels);
  out += '}';
}

}  // namespace platops::api
