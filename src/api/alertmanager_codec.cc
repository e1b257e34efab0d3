#include "api/alertmanager_codec.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "alerting/go_json.h"
#include "alerting/time_interval.h"
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

namespace {

AmBodyError SilenceUnreadable(std::string why) {
  return {400, 400, "parsing silence body from \"\" failed, because " + std::move(why)};
}

AmBodyError Required(const std::string& name) {
  return {422, 602, name + " in body is required"};
}

}  // namespace

ParsedSilence ParsePostableSilence(std::string_view body) {
  ParsedSilence r;
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) {
    r.error = SilenceUnreadable(body.empty() ? "EOF" : ec.message());
    return r;
  }
  if (!doc.is_object()) {
    r.error = SilenceUnreadable(std::string("json: cannot unmarshal ") + GoKind(doc) +
                                " into Go value of type models.PostableSilence");
    return r;
  }
  const json::object& o = doc.as_object();
  const json::value null;
  auto field = [&](const json::object& obj, const char* name) -> const json::value& {
    const json::value* v = obj.if_contains(name);
    return v != nullptr ? *v : null;
  };
  auto string_field = [&](const json::object& obj, const char* name, const char* go_field,
                          std::string& out) -> bool {
    const json::value& v = field(obj, name);
    if (v.is_null()) return true;
    if (!v.is_string()) {
      r.error = SilenceUnreadable(std::string("json: cannot unmarshal ") + GoKind(v) +
                                  " into Go struct field " + go_field + " of type string");
      return false;
    }
    out = std::string(v.as_string());
    return true;
  };
  alerting::Silence& s = r.silence;
  if (!string_field(o, "id", "PostableSilence.id", s.id)) return r;
  if (!string_field(o, "createdBy", "PostableSilence.createdBy", s.created_by)) return r;
  if (!string_field(o, "comment", "PostableSilence.comment", s.comment)) return r;
  std::optional<Timestamp> starts, ends;
  {
    // The alert reader's time rules and words apply to silences too.
    const json::value& sv = field(o, "startsAt");
    const json::value& ev = field(o, "endsAt");
    for (auto [v, name, out] : {std::tuple{&sv, "startsAt", &starts}, {&ev, "endsAt", &ends}}) {
      if (v->is_null()) continue;
      if (!v->is_string()) {
        r.error = SilenceUnreadable(std::string("json: cannot unmarshal ") + GoKind(*v) +
                                    " into Go struct field PostableSilence." + name +
                                    " of type strfmt.DateTime");
        return r;
      }
      auto t = ParseRfc3339(v->as_string());
      if (!t.ok()) {
        r.error = SilenceUnreadable("parsing time \"" + std::string(v->as_string()) +
                                    "\" as \"2006-01-02T15:04:05.000Z07:00\": " +
                                    t.status().message());
        return r;
      }
      *out = *t;
    }
  }
  const json::value& matchers = field(o, "matchers");
  if (!matchers.is_null() && !matchers.is_array()) {
    r.error = SilenceUnreadable(std::string("json: cannot unmarshal ") + GoKind(matchers) +
                                " into Go struct field PostableSilence.matchers of type "
                                "models.Matchers");
    return r;
  }
  struct RawMatcher {
    std::string name, value;
    bool has_name = false, has_value = false, has_regex = false;
    bool is_regex = false, is_equal = true;
  };
  std::vector<RawMatcher> raw;
  if (matchers.is_array()) {
    for (const auto& m : matchers.as_array()) {
      if (!m.is_object()) {
        r.error = SilenceUnreadable(std::string("json: cannot unmarshal ") + GoKind(m) +
                                    " into Go value of type models.Matcher");
        return r;
      }
      RawMatcher rm;
      const json::object& mo = m.as_object();
      if (!string_field(mo, "name", "Matcher.name", rm.name)) return r;
      if (!string_field(mo, "value", "Matcher.value", rm.value)) return r;
      rm.has_name = mo.contains("name") && !field(mo, "name").is_null();
      rm.has_value = mo.contains("value") && !field(mo, "value").is_null();
      for (auto [key, out, present] :
           {std::tuple{"isRegex", &rm.is_regex, &rm.has_regex},
            {"isEqual", &rm.is_equal, static_cast<bool*>(nullptr)}}) {
        const json::value& b = field(mo, key);
        if (b.is_null()) continue;
        if (!b.is_bool()) {
          r.error = SilenceUnreadable(std::string("json: cannot unmarshal ") + GoKind(b) +
                                      " into Go struct field Matcher." + key + " of type bool");
          return r;
        }
        *out = b.as_bool();
        if (present != nullptr) *present = true;
      }
      raw.push_back(std::move(rm));
    }
  }
  // platops's recurrence.
  const json::value& rec = field(o, "recurrence");
  if (!rec.is_null()) {
    if (!rec.is_object()) {
      r.invalid = InvalidArgument("recurrence: must be an object", "recurrence");
      return r;
    }
    alerting::RecurringSchedule schedule;
    const json::value& intervals = field(rec.as_object(), "timeIntervals");
    if (!intervals.is_array()) {
      r.invalid = InvalidArgument("recurrence: timeIntervals must be a list of time intervals",
                                  "recurrence.timeIntervals");
      return r;
    }
    for (size_t i = 0; i < intervals.as_array().size(); ++i) {
      auto ti = alerting::ParseTimeInterval(intervals.as_array()[i]);
      if (!ti.ok()) {
        r.invalid = InvalidArgument("recurrence.timeIntervals[" + std::to_string(i) +
                                        "]: " + ti.status().message(),
                                    "recurrence.timeIntervals[" + std::to_string(i) + "]");
        return r;
      }
      schedule.intervals.push_back(std::move(*ti));
    }
    const json::value& expires = field(rec.as_object(), "expiresAt");
    if (!expires.is_null()) {
      auto t = expires.is_string() ? ParseRfc3339(expires.as_string())
                                   : Result<Timestamp>(InvalidArgument("must be a string"));
      if (!t.ok()) {
        r.invalid = InvalidArgument("recurrence.expiresAt: " + t.status().message(),
                                    "recurrence.expiresAt");
        return r;
      }
      schedule.expires_at = *t;
    }
    for (const auto& [key, value] : rec.as_object()) {
      if (key != "timeIntervals" && key != "expiresAt") {
        r.invalid = InvalidArgument("recurrence." + std::string(key) + ": unknown field",
                                    "recurrence." + std::string(key));
        return r;
      }
    }
    s.recurrence = std::move(schedule);
    r.recurrence_json = json::serialize(rec);
  }
  // The schema: required fields, then at least one matcher with its required fields.
  if (matchers.is_null()) {
    r.error = Required("matchers");
    return r;
  }
  if (!starts) {
    r.error = Required("startsAt");
    return r;
  }
  if (!ends) {
    r.error = Required("endsAt");
    return r;
  }
  if (!o.contains("createdBy") || field(o, "createdBy").is_null()) {
    r.error = Required("createdBy");
    return r;
  }
  if (!o.contains("comment") || field(o, "comment").is_null()) {
    r.error = Required("comment");
    return r;
  }
  if (raw.empty()) {
    r.error = AmBodyError{422, 604, "matchers in body should have at least 1 items"};
    return r;
  }
  for (size_t i = 0; i < raw.size(); ++i) {
    const std::string prefix = "matchers." + std::to_string(i) + ".";
    if (!raw[i].has_name) {
      r.error = Required(prefix + "name");
      return r;
    }
    if (!raw[i].has_value) {
      r.error = Required(prefix + "value");
      return r;
    }
    if (!raw[i].has_regex) {
      r.error = Required(prefix + "isRegex");
      return r;
    }
  }
  s.starts_at = *starts;
  s.ends_at = *ends;
  for (size_t i = 0; i < raw.size(); ++i) {
    const RawMatcher& rm = raw[i];
    const alerting::MatchType type =
        rm.is_regex ? (rm.is_equal ? alerting::MatchType::kRegex : alerting::MatchType::kNotRegex)
                    : (rm.is_equal ? alerting::MatchType::kEqual : alerting::MatchType::kNotEqual);
    auto m = alerting::MakeSilenceMatcher(i, type, rm.name, rm.value);
    if (!m.ok()) {
      r.invalid = m.status();
      return r;
    }
    s.matchers.push_back(std::move(*m));
  }
  return r;
}

void AppendGettableSilence(std::string& out, const alerting::Silence& silence, Timestamp now,
                           std::string_view recurrence_json, size_t matched_alerts) {
  out += "{\"id\":";
  alerting::AppendGoJsonString(out, silence.id);
  out += ",\"status\":{\"state\":";
  alerting::AppendGoJsonString(out,
                               alerting::SilenceStateString(alerting::StateAt(silence, now)));
  out += "},\"updatedAt\":\"";
  out += FormatAmTime(silence.updated_at);
  out += "\",\"comment\":";
  alerting::AppendGoJsonString(out, silence.comment);
  out += ",\"createdBy\":";
  alerting::AppendGoJsonString(out, silence.created_by);
  out += ",\"endsAt\":\"";
  out += FormatAmTime(silence.ends_at);
  out += "\",\"matchers\":[";
  for (size_t i = 0; i < silence.matchers.size(); ++i) {
    const alerting::Matcher& m = silence.matchers[i];
    if (i > 0) out += ',';
    const bool equal =
        m.type() == alerting::MatchType::kEqual || m.type() == alerting::MatchType::kRegex;
    const bool regex =
        m.type() == alerting::MatchType::kRegex || m.type() == alerting::MatchType::kNotRegex;
    out += "{\"isEqual\":";
    out += equal ? "true" : "false";
    out += ",\"isRegex\":";
    out += regex ? "true" : "false";
    out += ",\"name\":";
    alerting::AppendGoJsonString(out, m.name());
    out += ",\"value\":";
    alerting::AppendGoJsonString(out, m.value());
    out += '}';
  }
  out += "],\"startsAt\":\"";
  out += FormatAmTime(silence.starts_at);
  out += '"';
  if (!recurrence_json.empty()) {
    out += ",\"recurrence\":";
    out += recurrence_json;
    out += ",\"muting\":";
    out += alerting::IsMuting(silence, now) ? "true" : "false";
  }
  out += ",\"matchedAlerts\":";
  out += std::to_string(matched_alerts);
  out += '}';
}

}  // namespace platops::api
