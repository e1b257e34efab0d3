// Alertmanager's API v2 at /alertmanager/api/v2/, with its paths, parameters, shapes, status
// codes and error bodies, so that Prometheus (alerting.alertmanagers[].path_prefix:
// /alertmanager) and amtool (--alertmanager.url=http://HOST:9470/alertmanager) work unchanged.
// Every route needs a token, as every platops API does: reads a viewer, posting alerts an
// operator (a machine), silences a responder.

#include <string>
#include <variant>

#include "alerting/go_json.h"
#include "alerting/service.h"
#include "api/alertmanager_codec.h"
#include "api/common.h"
#include "base/time_util.h"
#include "http/router.h"

namespace platops::api {
namespace {

using identity::Role;
using M = http::Method;

constexpr std::string_view kPrefix = "/alertmanager/api/v2";

http::Response JsonText(int status, std::string body) {
  return http::Response::Json(status, std::move(body));
}

// Alertmanager answers most errors with the message as a JSON string.
http::Response StringError(int status, std::string_view message) {
  std::string body;
  alerting::AppendGoJsonString(body, message);
  return JsonText(status, std::move(body));
}

http::Response BodyError(const AmBodyError& e) { return JsonText(e.http_status, e.Json()); }

// A boolean query parameter with its default; nullopt (and `error` set) when malformed.
std::optional<bool> BoolParam(const http::Request& req, const char* name, bool fallback,
                              std::optional<http::Response>& error) {
  auto v = req.Query(name);
  if (!v) return fallback;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  std::string message = std::string(name) + " in query must be of type boolean: \"" + *v + "\"";
  error = JsonText(400, AmBodyError{400, 400, std::move(message)}.Json());
  return std::nullopt;
}

// Repeated `filter` parameters, each one matcher in Alertmanager's syntax.
Result<std::vector<alerting::Matcher>> FilterParam(const http::Request& req) {
  std::vector<alerting::Matcher> out;
  auto [begin, end] = req.query.equal_range("filter");
  for (auto it = begin; it != end; ++it) {
    PLATOPS_ASSIGN_OR_RETURN(auto m, alerting::ParseMatcher(it->second));
    out.push_back(std::move(m));
  }
  return out;
}

Result<alerting::AlertFilter> AlertFilterParams(const http::Request& req,
                                                std::optional<http::Response>& error) {
  alerting::AlertFilter f;
  auto active = BoolParam(req, "active", true, error);
  auto silenced = BoolParam(req, "silenced", true, error);
  auto inhibited = BoolParam(req, "inhibited", true, error);
  (void)BoolParam(req, "unprocessed", true, error);  // Every alert is processed on arrival.
  if (error) return InvalidArgument("bad parameter");
  f.active = *active;
  f.silenced = *silenced;
  f.inhibited = *inhibited;
  PLATOPS_ASSIGN_OR_RETURN(f.matchers, FilterParam(req));
  if (auto r = req.Query("receiver"); r && !r->empty()) {
    PLATOPS_ASSIGN_OR_RETURN(auto m,
                             alerting::Matcher::Create(alerting::MatchType::kRegex, "receiver", *r));
    f.receiver = std::move(m);
  }
  return f;
}

// The filter of GET /alerts and /alerts/groups, or the answer refusing it.
std::variant<alerting::AlertFilter, http::Response> AlertFilterOf(const http::Request& req) {
  std::optional<http::Response> error;
  auto filter = AlertFilterParams(req, error);
  if (error) return *error;
  if (!filter.ok()) return StringError(400, filter.status().message());
  return std::move(filter).value();
}

AlertStatusView StatusOf(const alerting::AlertView& v) {
  AlertStatusView s;
  s.state = v.suppressed() ? "suppressed" : "active";
  s.silenced_by = v.silenced_by;
  s.inhibited_by = v.inhibited_by;
  s.receivers = v.receivers;
  return s;
}

http::Response GetAlerts(alerting::AlertingService& service, const http::Request& req) {
  auto filter = AlertFilterOf(req);
  if (auto* refused = std::get_if<http::Response>(&filter)) return *refused;
  const auto& f = std::get<alerting::AlertFilter>(filter);
  const auto alerts = service.ListAlerts(f);
  std::string out = "[";
  out.reserve(alerts.size() * 640 + 2);  // a typical alert's JSON, so the body grows once
  bool first = true;
  for (const auto& v : alerts) {
    if (!first) out += ',';
    first = false;
    AppendGettableAlert(out, v.alert(), StatusOf(v));
  }
  out += ']';
  return JsonText(200, std::move(out));
}

http::Response GetAlertGroups(alerting::AlertingService& service, const http::Request& req) {
  auto filter = AlertFilterOf(req);
  if (auto* refused = std::get_if<http::Response>(&filter)) return *refused;
  const auto& f = std::get<alerting::AlertFilter>(filter);
  std::string out = "[";
  bool first = true;
  for (const auto& g : service.ListAlertGroups(f)) {
    if (!first) out += ',';
    first = false;
    out += "{\"alerts\":[";
    for (size_t i = 0; i < g.alerts.size(); ++i) {
      if (i > 0) out += ',';
      AppendGettableAlert(out, g.alerts[i].alert(), StatusOf(g.alerts[i]));
    }
    out += "],\"labels\":";
    alerting::AppendLabelSetJson(out, g.labels);
    out += ",\"receiver\":{\"name\":";
    alerting::AppendGoJsonString(out, g.receiver);
    out += "}}";
  }
  out += ']';
  return JsonText(200, std::move(out));
}

http::Response PostAlerts(alerting::AlertingService& service, const http::Request& req) {
  ParsedAlerts parsed = ParsePostableAlerts(req.body);
  if (parsed.error) return BodyError(*parsed.error);
  Status st = service.PostAlerts(std::move(parsed.alerts));
  if (st.code() == StatusCode::kResourceExhausted) return StringError(429, st.message());
  if (!st.ok()) return StringError(400, st.message());
  return JsonText(200, "");
}

http::Response GetSilences(alerting::AlertingService& service, const http::Request& req) {
  auto filter = FilterParam(req);
  if (!filter.ok()) return StringError(400, filter.status().message());
  const Timestamp now = service.Now();
  std::string out = "[";
  bool first = true;
  for (const auto& v : service.ListSilences(*filter)) {
    if (!first) out += ',';
    first = false;
    AppendGettableSilence(out, v.silence, now, v.recurrence_json, v.matched_alerts);
  }
  out += ']';
  return JsonText(200, std::move(out));
}

http::Response PostSilence(alerting::AlertingService& service, const http::Request& req) {
  ParsedSilence parsed = ParsePostableSilence(req.body);
  if (parsed.error) return BodyError(*parsed.error);
  if (!parsed.invalid.ok()) return StringError(400, parsed.invalid.message());
  auto id = service.SetSilence(std::move(parsed.silence), std::move(parsed.recurrence_json));
  if (!id.ok()) {
    return StringError(id.status().code() == StatusCode::kNotFound ? 404 : 400,
                       id.status().message());
  }
  std::string out = "{\"silenceID\":";
  alerting::AppendGoJsonString(out, *id);
  out += '}';
  return JsonText(200, std::move(out));
}

http::Response GetSilence(alerting::AlertingService& service, const http::Request& req) {
  auto v = service.GetSilence(req.PathParam("id"));
  if (!v.ok()) return JsonText(404, "");
  std::string out;
  AppendGettableSilence(out, v->silence, service.Now(), v->recurrence_json, v->matched_alerts);
  return JsonText(200, std::move(out));
}

http::Response DeleteSilence(alerting::AlertingService& service, const http::Request& req) {
  Status st = service.ExpireSilence(req.PathParam("id"));
  if (st.code() == StatusCode::kNotFound) return StringError(404, st.message());
  if (!st.ok()) return StringError(500, st.message());
  return JsonText(200, "");
}

http::Response GetStatus(alerting::AlertingService& service, const ApiDeps& deps,
                         Timestamp started) {
  std::string out = R"({"cluster":{"name":"","peers":[],"status":"disabled"},"config":{"original":)";
  alerting::AppendGoJsonString(out, service.ConfigText());
  out += "},\"uptime\":\"";
  out += FormatAmTime(started);
  // The version is the Alertmanager API platops speaks, so amtool does not warn of a mismatch;
  // platops's own version is in `revision`.
  out += "\",\"versionInfo\":{\"branch\":\"\",\"buildDate\":\"\",\"buildUser\":\"\","
         "\"goVersion\":\"\",\"revision\":";
  alerting::AppendGoJsonString(out, "platops " + deps.version);
  out += ",\"version\":\"0.25.0\"}}";
  return JsonText(200, std::move(out));
}

http::Response GetReceivers(alerting::AlertingService& service) {
  std::string out = "[";
  bool first = true;
  for (const auto& name : service.Receivers()) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    alerting::AppendGoJsonString(out, name);
    out += '}';
  }
  out += ']';
  return JsonText(200, std::move(out));
}

}  // namespace

void RegisterAlertmanagerApi(http::Router& router, ApiDeps& deps) {
  if (deps.alerting == nullptr) return;
  alerting::AlertingService& s = *deps.alerting;
  const Timestamp started = deps.clock.Now();
  auto add = [&](M method, std::string_view path, Role role,
                 std::function<http::Response(const http::Request&)> handler) {
    router.Add(method, std::string(kPrefix) + std::string(path),
               Protect(deps, role,
                       [handler = std::move(handler)](http::Request& req,
                                                      const identity::Principal&) {
                         return handler(req);
                       }));
  };
  add(M::kGet, "/status", Role::kViewer,
      [&s, &deps, started](const http::Request&) { return GetStatus(s, deps, started); });
  add(M::kGet, "/receivers", Role::kViewer, [&s](const http::Request&) { return GetReceivers(s); });
  add(M::kGet, "/alerts", Role::kViewer, [&s](const http::Request& r) { return GetAlerts(s, r); });
  add(M::kPost, "/alerts", Role::kOperator,
      [&s](const http::Request& r) { return PostAlerts(s, r); });
  add(M::kGet, "/alerts/groups", Role::kViewer,
      [&s](const http::Request& r) { return GetAlertGroups(s, r); });
  add(M::kGet, "/silences", Role::kViewer,
      [&s](const http::Request& r) { return GetSilences(s, r); });
  add(M::kPost, "/silences", Role::kResponder,
      [&s](const http::Request& r) { return PostSilence(s, r); });
  add(M::kGet, "/silence/{id}", Role::kViewer,
      [&s](const http::Request& r) { return GetSilence(s, r); });
  add(M::kDelete, "/silence/{id}", Role::kResponder,
      [&s](const http::Request& r) { return DeleteSilence(s, r); });
}

}  // namespace platops::api
