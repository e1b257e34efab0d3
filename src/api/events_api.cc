#include <boost/json.hpp>

#include "api/common.h"
#include "base/json_reader.h"
#include "base/time_util.h"

namespace platops::api {

namespace json = boost::json;

json::object EventToJson(const events::Event& e) {
  json::object o;
  o["seq"] = e.seq;
  o["time"] = FormatRfc3339(e.time);
  o["actor"] = e.actor;
  o["action"] = e.action;
  json::object subject;
  subject["type"] = e.subject_type;
  subject["id"] = e.subject_id;
  o["subject"] = std::move(subject);
  auto payload = ParseJson(e.payload);
  o["payload"] = payload.ok() ? *payload : json::value(e.payload);
  o["prev_hash"] = e.prev_hash;
  o["hash"] = e.hash;
  return o;
}

void RegisterEventsApi(http::Router& router, ApiDeps& deps) {
  router.Add(http::Method::kGet, "/api/v1/events",
             Protect(deps, identity::Role::kViewer, [&deps](http::Request& req, const auto&) {
               auto limit = LimitParam(req);
               if (!limit.ok()) return http::Response::Error(limit.status());
               events::EventQuery q;
               q.limit = *limit;
               q.subject_type = req.Query("subject_type").value_or("");
               q.subject_id = req.Query("subject_id").value_or("");
               q.action_prefix = req.Query("action").value_or("");
               // after_seq, or the opaque cursor of a previous page (the same number).
               std::string after =
                   req.Query("after_seq").value_or(req.Query("cursor").value_or("0"));
               char* end = nullptr;
               long long seq = std::strtoll(after.c_str(), &end, 10);
               if (after.empty() || *end != '\0' || seq < 0)
                 return http::Response::Error(
                     InvalidArgument("must be a non-negative integer", "after_seq"));
               q.after_seq = seq;
               std::vector<events::Event> evs;
               Status st = deps.store.Read([&](store::Tx& tx) -> Status {
                 PLATOPS_ASSIGN_OR_RETURN(evs, deps.log.List(tx, q));
                 return Status::Ok();
               });
               if (!st.ok()) return http::Response::Error(st);
               json::array items;
               for (const auto& e : evs) items.push_back(EventToJson(e));
               std::string next =
                   static_cast<int>(evs.size()) == q.limit ? std::to_string(evs.back().seq) : "";
               return JsonReply(PageJson(std::move(items), next));
             }));
}

}  // namespace platops::api
