// The PagerDuty Events API v2 intake (POST /integrations/pagerduty/v2/enqueue, authenticated by
// the event's routing key as PagerDuty's is) and the integration keys that route its events to
// services: POST/GET /api/v1/services/{slug}/integration-keys, DELETE
// /api/v1/integration-keys/{id}.

#include <boost/json.hpp>

#include "alerting/integration_keys.h"
#include "alerting/pagerduty_intake.h"
#include "api/common.h"
#include "base/time_util.h"

namespace platops::api {

namespace json = boost::json;
using identity::Role;

namespace {

json::object KeyJson(const alerting::IntegrationKey& k) {
  json::object o;
  o["id"] = k.id;
  o["service"] = k.service;
  o["name"] = k.name;
  o["kind"] = k.kind;
  o["hint"] = "…" + k.hint;
  o["created_by"] = k.created_by;
  o["created_at"] = FormatRfc3339(k.created_at);
  return o;
}

}  // namespace

void RegisterPagerDutyApi(http::Router& router, ApiDeps& deps) {
  if (deps.integration_keys == nullptr || deps.pagerduty == nullptr) return;
  alerting::IntegrationKeys& keys = *deps.integration_keys;
  alerting::PagerDutyIntake& intake = *deps.pagerduty;

  router.Add(http::Method::kPost, "/integrations/pagerduty/v2/enqueue",
             [&intake](http::Request& req) {
               auto [status, body] = intake.Handle(req.body);
               return http::Response::Json(status, std::move(body));
             });

  router.Add(
      http::Method::kPost, "/api/v1/services/{slug}/integration-keys",
      Protect(deps, Role::kOperator, [&deps, &keys](http::Request& req, const auto&) {
        const std::string slug = req.PathParam("slug");
        auto service = deps.catalog.GetService(slug);
        if (!service.ok()) return http::Response::Error(service.status());
        auto body = JsonBody(req);
        if (!body.ok()) return http::Response::Error(body.status());
        if (!body->is_object()) {
          return http::Response::Error(InvalidArgument("must be a JSON object", "body"));
        }
        const json::value* name = body->as_object().if_contains("name");
        if (name == nullptr || !name->is_string()) {
          return http::Response::Error(InvalidArgument("must be a string", "name"));
        }
        auto created = keys.Create(req.actor, slug, std::string(name->as_string()));
        if (!created.ok()) return http::Response::Error(created.status());
        json::object o = KeyJson(*created);
        // Shown this once: the store keeps only its hash.
        o["routing_key"] = created->routing_key;
        o["enqueue_path"] = "/integrations/pagerduty/v2/enqueue";
        return JsonReply(o, 201);
      }));

  router.Add(http::Method::kGet, "/api/v1/services/{slug}/integration-keys",
             Protect(deps, Role::kViewer, [&deps, &keys](http::Request& req, const auto&) {
               const std::string slug = req.PathParam("slug");
               auto service = deps.catalog.GetService(slug);
               if (!service.ok()) return http::Response::Error(service.status());
               json::array items;
               for (const auto& k : keys.List(slug)) items.push_back(KeyJson(k));
               return JsonReply(json::object{{"items", std::move(items)}});
             }));

  router.Add(http::Method::kDelete, "/api/v1/integration-keys/{id}",
             Protect(deps, Role::kOperator, [&keys, &intake](http::Request& req, const auto&) {
               Status st = keys.Delete(req.actor, req.PathParam("id"));
               if (!st.ok()) return http::Response::Error(st);
               // Its open alerts can no longer be resolved by their sender: resolved now.
               (void)intake.ResolveRevoked();
               return http::Response::NoContent();
             }));
}

}  // namespace platops::api
