#include <boost/json.hpp>

#include "api/crud.h"
#include "catalog/codec.h"

namespace platops::api {

namespace json = boost::json;
using identity::Role;

void RegisterCatalogApi(http::Router& router, ApiDeps& deps) {
  catalog::CatalogService& cat = deps.catalog;

  CrudOps<catalog::Service> services;
  services.collection = "/api/v1/services";
  services.key_field = "slug";
  services.decode = [](const json::value& v) { return catalog::ServiceFromJson(v); };
  services.encode = catalog::ServiceToJson;
  services.key = [](const catalog::Service& s) { return s.slug; };
  services.list = [&cat](const std::string& c, int l) { return cat.ListServices(c, l); };
  services.get = [&cat](const std::string& k) { return cat.GetService(k); };
  services.create = [&cat](const std::string& a, catalog::Service s) {
    return cat.CreateService(a, std::move(s));
  };
  services.update = [&cat](const std::string& a, catalog::Service s, int64_t v) {
    return cat.UpdateService(a, std::move(s), v);
  };
  services.remove = [&cat](const std::string& a, const std::string& k,
                           const http::Request& req) -> Status {
    auto force = BoolParam(req, "force", false);
    if (!force.ok()) return force.status();
    return cat.DeleteService(a, k, *force);
  };
  RegisterCrud(router, deps, std::move(services));

  CrudOps<catalog::Team> teams;
  teams.collection = "/api/v1/teams";
  teams.key_field = "slug";
  teams.write_role = Role::kAdmin;  // teams belong to identity and access
  teams.decode = [](const json::value& v) { return catalog::TeamFromJson(v); };
  teams.encode = catalog::TeamToJson;
  teams.key = [](const catalog::Team& t) { return t.slug; };
  teams.list = [&cat](const std::string& c, int l) { return cat.ListTeams(c, l); };
  teams.get = [&cat](const std::string& k) { return cat.GetTeam(k); };
  teams.create = [&cat](const std::string& a, catalog::Team t) {
    return cat.CreateTeam(a, std::move(t));
  };
  teams.update = [&cat](const std::string& a, catalog::Team t, int64_t v) {
    return cat.UpdateTeam(a, std::move(t), v);
  };
  teams.remove = [&cat](const std::string& a, const std::string& k, const http::Request&) {
    return cat.DeleteTeam(a, k);
  };
  RegisterCrud(router, deps, std::move(teams));

  // The blast radius and its inverse.
  for (bool dependents : {true, false}) {
    std::string path =
        std::string("/api/v1/services/{slug}/") + (dependents ? "dependents" : "dependencies");
    router.Add(http::Method::kGet, path,
               Protect(deps, Role::kViewer, [&cat, dependents](http::Request& req, const auto&) {
                 auto transitive = BoolParam(req, "transitive", false);
                 if (!transitive.ok()) return http::Response::Error(transitive.status());
                 const std::string slug = req.PathParam("slug");
                 auto nodes = dependents ? cat.Dependents(slug, *transitive)
                                         : cat.Dependencies(slug, *transitive);
                 if (!nodes.ok()) return http::Response::Error(nodes.status());
                 json::array items;
                 for (const auto& n : *nodes) items.push_back(catalog::GraphNodeToJson(n));
                 json::object o;
                 o["service"] = slug;
                 o["transitive"] = *transitive;
                 o["items"] = std::move(items);
                 return JsonReply(o);
               }));
  }
}

}  // namespace platops::api
