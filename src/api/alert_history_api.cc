// GET /api/v1/alerts/history: every change of an alert between firing and resolved, newest
// first, filtered by time, Alertmanager matchers on the labels, fingerprint and state; what
// Alertmanager forgets once an alert is resolved.

#include <boost/json.hpp>

#include <cstdlib>
#include <string>
#include <string_view>

#include "alerting/alert_history.h"
#include "alerting/matcher.h"
#include "api/common.h"
#include "base/time_util.h"

namespace platops::api {

namespace json = boost::json;

namespace {

json::object LabelsJson(const alerting::LabelSet& labels) {
  json::object o;
  o.reserve(labels.size());
  for (const auto& l : labels) o[l.name] = l.value;
  return o;
}

json::object TransitionJson(const alerting::AlertTransition& t) {
  json::object o;
  o["at"] = FormatRfc3339(t.at);
  o["fingerprint"] = alerting::FingerprintString(t.fingerprint);
  o["state"] = std::string(alerting::TransitionStateName(t.state));
  o["labels"] = LabelsJson(t.labels);
  o["annotations"] = LabelsJson(t.annotations);
  o["starts_at"] = FormatRfc3339(t.starts_at);
  o["ends_at"] = t.ends_at ? json::value(FormatRfc3339(*t.ends_at)) : json::value(nullptr);
  o["source"] = t.source;
  o["flapping"] = t.flapping;
  return o;
}

// The query's filter; errors name the parameter.
Result<alerting::HistoryFilter> FilterParams(const http::Request& req) {
  alerting::HistoryFilter f;
  for (const char* name : {"from", "to"}) {
    auto v = req.Query(name);
    if (!v || v->empty()) continue;
    auto t = ParseRfc3339(*v);
    if (!t.ok()) return InvalidArgument(t.status().message(), name);
    (std::string_view(name) == "from" ? f.from : f.to) = *t;
  }
  if (f.from && f.to && *f.to <= *f.from) return InvalidArgument("must be after from", "to");
  // Each `matcher` is one matcher or a {...} list, in Alertmanager's syntax.
  auto [begin, end] = req.query.equal_range("matcher");
  for (auto it = begin; it != end; ++it) {
    auto parsed = alerting::ParseMatchers(it->second);
    if (!parsed.ok()) return InvalidArgument(parsed.status().message(), "matcher");
    for (auto& m : *parsed) f.matchers.push_back(std::move(m));
  }
  if (auto s = req.Query("state"); s && !s->empty()) {
    f.state = alerting::ParseTransitionState(*s);
    if (!f.state) {
      return InvalidArgument("must be firing or resolved, got \"" + *s + "\"", "state");
    }
  }
  if (auto fp = req.Query("fingerprint"); fp && !fp->empty()) {
    f.fingerprint = alerting::ParseFingerprint(*fp);
    if (!f.fingerprint) {
      return InvalidArgument("must be an alert fingerprint (16 hex digits), got \"" + *fp + "\"",
                             "fingerprint");
    }
  }
  return f;
}

}  // namespace

void RegisterAlertHistoryApi(http::Router& router, ApiDeps& deps) {
  if (deps.alert_history == nullptr) return;
  router.Add(http::Method::kGet, "/api/v1/alerts/history",
             Protect(deps, identity::Role::kViewer, [&deps](http::Request& req, const auto&) {
               auto filter = FilterParams(req);
               if (!filter.ok()) return http::Response::Error(filter.status());
               auto limit = LimitParam(req);
               if (!limit.ok()) return http::Response::Error(limit.status());
               int64_t cursor = 0;
               if (auto c = req.Query("cursor"); c && !c->empty()) {
                 char* end = nullptr;
                 cursor = std::strtoll(c->c_str(), &end, 10);
                 if (*end != '\0' || cursor <= 0) {
                   return http::Response::Error(
                       InvalidArgument("must be a cursor from a previous page", "cursor"));
                 }
               }
               auto page = deps.alert_history->Query(*filter, *limit, cursor);
               if (!page.ok()) return http::Response::Error(page.status());
               json::array items;
               items.reserve(page->items.size());
               for (const auto& t : page->items) items.push_back(TransitionJson(t));
               return JsonReply(PageJson(
                   std::move(items), page->next_cursor ? std::to_string(*page->next_cursor) : ""));
             }));
}

}  // namespace platops::api
