#include <boost/json.hpp>

#include "api/common.h"
#include "base/json_reader.h"
#include "base/strings.h"
#include "config/yaml_json.h"

namespace platops::api {

namespace json = boost::json;

namespace {

// Accepts {"documents": [...], "sources": [{"file","index"}], "dry_run", "prune"} as JSON, or a
// YAML stream of documents (Content-Type application/yaml) with dry_run/prune as query params.
struct ApplyRequest {
  std::vector<config::Document> docs;
  config::ApplyOptions options;
};

Result<ApplyRequest> DecodeApply(const http::Request& req) {
  ApplyRequest out;
  PLATOPS_ASSIGN_OR_RETURN(out.options.dry_run, BoolParam(req, "dry_run", false));
  PLATOPS_ASSIGN_OR_RETURN(out.options.prune, BoolParam(req, "prune", false));
  std::string type(req.headers.Get("Content-Type").value_or("application/json"));
  if (type.find("yaml") != std::string::npos) {
    PLATOPS_ASSIGN_OR_RETURN(auto docs, config::YamlToJson(req.body));
    for (size_t i = 0; i < docs.size(); ++i)
      out.docs.push_back({std::move(docs[i]), "", static_cast<int>(i)});
    return out;
  }
  PLATOPS_ASSIGN_OR_RETURN(auto body, JsonBody(req));
  JsonReader r(body);
  if (auto v = r.Bool("dry_run")) out.options.dry_run = *v;
  if (auto v = r.Bool("prune")) out.options.prune = *v;
  std::vector<std::pair<std::string, int>> sources;
  r.ObjectList("sources", [&](JsonReader& item, size_t) {
    std::string file = item.String("file").value_or("");
    int index = static_cast<int>(item.Int("index").value_or(0));
    sources.emplace_back(file, index);
  });
  r.Ignore("documents");
  PLATOPS_RETURN_IF_ERROR(r.Finish());
  auto it = body.get_object().find("documents");
  if (it == body.get_object().end() || !it->value().is_array())
    return InvalidArgument("is required: a list of documents", "documents");
  const auto& arr = it->value().get_array();
  if (!sources.empty() && sources.size() != arr.size())
    return InvalidArgument("must have one entry per document", "sources");
  if (arr.size() > 10000) return InvalidArgument("at most 10000 documents per apply", "documents");
  for (size_t i = 0; i < arr.size(); ++i) {
    config::Document d{arr[i], "", static_cast<int>(i)};
    if (!sources.empty()) {
      d.file = sources[i].first;
      d.index = sources[i].second;
    }
    out.docs.push_back(std::move(d));
  }
  return out;
}

json::object ErrorJson(const config::DocumentError& e) {
  json::object o;
  o["file"] = e.file;
  o["document"] = e.index;
  o["kind"] = e.kind;
  o["key"] = e.key;
  o["field"] = e.status.field();
  o["code"] = StatusCodeName(e.status.code());
  o["message"] = e.status.message();
  return o;
}

}  // namespace

void RegisterApplyApi(http::Router& router, ApiDeps& deps) {
  router.Add(http::Method::kPost, "/api/v1/apply",
             Protect(deps, identity::Role::kOperator,
                     [&deps](http::Request& req, const identity::Principal& p) {
                       auto decoded = DecodeApply(req);
                       if (!decoded.ok()) return http::Response::Error(decoded.status());
                       for (const auto& d : decoded->docs) {
                         if (!d.body.is_object()) continue;
                         const auto* h = deps.kinds.Find(deps.kinds.KindOf(d.body.get_object()));
                         if (h && static_cast<int>(p.role) < h->write_role)
                           return http::Response::Error(
                               Status(StatusCode::kPermissionDenied,
                                      "applying kind " + h->kind + " needs a higher role than " +
                                          std::string(identity::RoleName(p.role))));
                       }
                       auto result = config::Apply(deps.store, deps.kinds, decoded->docs,
                                                   decoded->options, req.actor);
                       if (!result.ok()) return http::Response::Error(result.status());
                       if (!result->errors.empty()) {
                         json::array details;
                         for (const auto& e : result->errors) details.push_back(ErrorJson(e));
                         const Status& first = result->errors.front().status;
                         return ErrorWithDetails(
                             Status(first.code(),
                                    std::to_string(result->errors.size()) +
                                        " document(s) failed; nothing was changed. First: " +
                                        first.ToString(),
                                    first.field()),
                             std::move(details));
                       }
                       json::array plan;
                       std::map<std::string, int64_t> summary{
                           {"create", 0}, {"update", 0}, {"delete", 0}, {"unchanged", 0}};
                       for (const auto& item : result->plan) {
                         json::object o;
                         o["kind"] = item.kind;
                         o["key"] = item.key;
                         o["action"] = config::PlanActionName(item.action);
                         if (item.action == config::PlanAction::kUpdate) {
                           json::array fields;
                           for (const auto& f : item.changed_fields) fields.emplace_back(f);
                           o["changed_fields"] = std::move(fields);
                         }
                         plan.push_back(std::move(o));
                         ++summary[std::string(config::PlanActionName(item.action))];
                       }
                       json::object o;
                       o["dry_run"] = decoded->options.dry_run;
                       o["applied"] = result->applied;
                       json::object sum;
                       for (const auto& [k, v] : summary) sum[k] = v;
                       o["summary"] = std::move(sum);
                       o["plan"] = std::move(plan);
                       return JsonReply(o);
                     }));

  // One object deleted, as `apply --prune` would delete it; the only way to delete a kind with
  // a single object (AlertmanagerConfig, Route), which no prune can leave out.
  router.Add(http::Method::kDelete, "/api/v1/objects/{kind}/{key}",
             Protect(deps, identity::Role::kOperator,
                     [&deps](http::Request& req, const identity::Principal& p) {
                       const std::string kind = req.PathParam("kind");
                       const auto* h = config::FindIgnoringCase(deps.kinds, kind);
                       if (h && static_cast<int>(p.role) < h->write_role) {
                         return http::Response::Error(
                             Status(StatusCode::kPermissionDenied,
                                    "deleting kind " + h->kind + " needs a higher role than " +
                                        std::string(identity::RoleName(p.role))));
                       }
                       Status st = config::Delete(deps.store, deps.kinds, kind,
                                                  req.PathParam("key"), req.actor);
                       if (!st.ok()) return http::Response::Error(st);
                       return http::Response::NoContent();
                     }));

  router.Add(http::Method::kGet, "/api/v1/export",
             Protect(deps, identity::Role::kViewer, [&deps](http::Request& req, const auto&) {
               auto docs = config::Export(deps.store, deps.kinds);
               if (!docs.ok()) return http::Response::Error(docs.status());
               std::string format = req.Query("format").value_or("json");
               if (format == "yaml") {
                 std::vector<json::value> values(docs->begin(), docs->end());
                 return http::Response::Text(200, config::JsonToYaml(values),
                                             "application/yaml; charset=utf-8");
               }
               if (format != "json")
                 return http::Response::Error(InvalidArgument(
                     "must be json or yaml, got \"" + Abbreviate(format) + "\"", "format"));
               json::array arr(docs->begin(), docs->end());
               json::object o;
               o["documents"] = std::move(arr);
               return JsonReply(o);
             }));
}

}  // namespace platops::api
