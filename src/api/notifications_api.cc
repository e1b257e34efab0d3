// GET /api/v1/notifications: every delivery attempt of the notification outbox, newest first,
// with its outcome, HTTP status and latency, filtered by receiver, status (ok, retry, failed)
// and time; what Alertmanager's users miss when a notification went nowhere.

#include <boost/json.hpp>

#include "alerting/outbox.h"
#include "api/common.h"
#include "base/time_util.h"

namespace platops::api {

namespace json = boost::json;

void RegisterNotificationsApi(http::Router& router, ApiDeps& deps) {
  if (deps.outbox == nullptr) return;
  router.Add(
      http::Method::kGet, "/api/v1/notifications",
      Protect(deps, identity::Role::kViewer, [&deps](http::Request& req, const auto&) {
        auto limit = LimitParam(req);
        if (!limit.ok()) return http::Response::Error(limit.status());
        alerting::AttemptFilter filter;
        filter.receiver = req.Query("receiver").value_or("");
        if (auto status = req.Query("status"); status && !status->empty()) {
          filter.outcome = alerting::ParseAttemptOutcome(*status);
          if (!filter.outcome) {
            return http::Response::Error(
                InvalidArgument("must be ok, retry or failed, got \"" + *status + "\"", "status"));
          }
        }
        for (const char* name : {"from", "to"}) {
          auto v = req.Query(name);
          if (!v || v->empty()) continue;
          auto t = ParseRfc3339(*v);
          if (!t.ok()) return http::Response::Error(InvalidArgument(t.status().message(), name));
          (std::string_view(name) == "from" ? filter.from : filter.to) = *t;
        }
        int64_t cursor = 0;
        if (auto c = req.Query("cursor"); c && !c->empty()) {
          char* end = nullptr;
          cursor = std::strtoll(c->c_str(), &end, 10);
          if (*end != '\0' || cursor < 0) {
            return http::Response::Error(InvalidArgument("must be a cursor from a previous page",
                                                         "cursor"));
          }
        }
        auto page = deps.outbox->ListAttempts(filter, *limit, cursor);
        if (!page.ok()) return http::Response::Error(page.status());
        json::array items;
        for (const auto& a : page->items) {
          json::object o;
          o["id"] = a.id;
          o["notification_id"] = a.outbox_id;
          o["receiver"] = a.receiver;
          o["at"] = FormatRfc3339(a.at);
          o["status"] = std::string(alerting::AttemptOutcomeName(a.outcome));
          if (a.status_code != 0) o["status_code"] = a.status_code;
          o["latency_ms"] = a.latency.count();
          if (!a.error.empty()) o["error"] = a.error;
          items.push_back(std::move(o));
        }
        return JsonReply(PageJson(
            std::move(items), page->next_cursor ? std::to_string(*page->next_cursor) : ""));
      }));
}

}  // namespace platops::api
