#include "catalog/kinds.h"

#include <boost/json.hpp>

#include "catalog/codec.h"

namespace platops::catalog {

namespace json = boost::json;

namespace {

json::object Strip(json::object o) {
  o.erase("version");
  o.erase("created_at");
  o.erase("updated_at");
  return o;
}

std::string Key(const json::object& spec) { return std::string(spec.at("slug").get_string()); }

}  // namespace

void RegisterKinds(config::KindRegistry& registry, CatalogService& catalog) {
  config::KindHandler team;
  team.kind = "Team";
  team.order = 20;
  team.write_role = 4;  // admin: teams are identity and access
  team.decode = [](const json::value& doc, const std::string& path) -> Result<json::object> {
    PLATOPS_ASSIGN_OR_RETURN(Team t, TeamFromJson(doc, path));
    PLATOPS_RETURN_IF_ERROR(ValidateTeam(t).WithFieldPrefix(path));
    return Strip(TeamToJson(t));
  };
  team.key = Key;
  team.references = [](const json::object& spec) {
    std::vector<config::Reference> refs;
    const auto& members = spec.at("members").get_array();
    for (size_t i = 0; i < members.size(); ++i)
      refs.push_back(
          {"User", std::string(members[i].get_string()), "members[" + std::to_string(i) + "]"});
    return refs;
  };
  team.list = [&catalog](store::Tx& tx) -> Result<std::map<std::string, json::object>> {
    PLATOPS_ASSIGN_OR_RETURN(auto teams, catalog.AllTeams(tx));
    std::map<std::string, json::object> out;
    for (const auto& t : teams) out.emplace(t.slug, Strip(TeamToJson(t)));
    return out;
  };
  team.put = [&catalog](store::Tx& tx, const std::string& actor, const json::object& spec,
                        bool create) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(Team t, TeamFromJson(json::value(spec)));
    return catalog.PutTeam(tx, actor, t, std::nullopt, create, RefCheck::kDeferred).status();
  };
  team.remove = [&catalog](store::Tx& tx, const std::string& actor, const std::string& key) {
    return catalog.DeleteTeam(tx, actor, key);
  };
  registry.Register(std::move(team));

  config::KindHandler svc;
  svc.kind = "Service";
  svc.order = 30;
  svc.decode = [](const json::value& doc, const std::string& path) -> Result<json::object> {
    PLATOPS_ASSIGN_OR_RETURN(Service s, ServiceFromJson(doc, path));
    PLATOPS_RETURN_IF_ERROR(ValidateService(s).WithFieldPrefix(path));
    return Strip(ServiceToJson(s));
  };
  svc.key = Key;
  svc.references = [](const json::object& spec) {
    std::vector<config::Reference> refs;
    refs.push_back({"Team", std::string(spec.at("team").get_string()), "team"});
    const auto& deps = spec.at("depends_on").get_array();
    for (size_t i = 0; i < deps.size(); ++i)
      refs.push_back({"Service", std::string(deps[i].at("service").get_string()),
                      "depends_on[" + std::to_string(i) + "].service"});
    return refs;
  };
  svc.list = [&catalog](store::Tx& tx) -> Result<std::map<std::string, json::object>> {
    PLATOPS_ASSIGN_OR_RETURN(auto services, catalog.AllServices(tx));
    std::map<std::string, json::object> out;
    for (const auto& s : services) out.emplace(s.slug, Strip(ServiceToJson(s)));
    return out;
  };
  svc.put = [&catalog](store::Tx& tx, const std::string& actor, const json::object& spec,
                       bool create) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(Service s, ServiceFromJson(json::value(spec)));
    return catalog.PutService(tx, actor, s, std::nullopt, create, RefCheck::kDeferred).status();
  };
  // Under prune every remaining service was validated against the final set, so edges into a
  // deleted service come only from services deleted in the same apply.
  svc.remove = [&catalog](store::Tx& tx, const std::string& actor, const std::string& key) {
    return catalog.DeleteService(tx, actor, key, /*force=*/true);
  };
  registry.Register(std::move(svc));
}

}  // namespace platops::catalog
