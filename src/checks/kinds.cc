// `kind: Check` and `kind: MaintenanceWindow`: configuration as code for the checks module.

#include <boost/json.hpp>

#include "base/json_reader.h"
#include "checks/checks.h"
#include "checks/codec.h"

namespace platops::checks {

namespace json = boost::json;

namespace {

std::string Text(const json::object& spec, const char* field) {
  return std::string(spec.at(field).get_string());
}

}  // namespace

void RegisterKinds(config::KindRegistry& registry, ChecksService& checks) {
  config::KindHandler check;
  check.kind = "Check";
  check.order = 60;  // after Service (30): a check names its service
  check.write_role = 3;
  check.decode = [](const json::value& doc, const std::string& path) -> Result<json::object> {
    PLATOPS_ASSIGN_OR_RETURN(CheckDef def, CheckFromJson(doc, path));
    return CheckDocJson(def);
  };
  check.key = [](const json::object& spec) {
    return Text(spec, "service") + "." + Text(spec, "name");
  };
  check.references = [](const json::object& spec) {
    return std::vector<config::Reference>{{"Service", Text(spec, "service"), "service"}};
  };
  check.list = [&checks](store::Tx& tx) -> Result<std::map<std::string, json::object>> {
    // The stored documents as they are: a check whose probe no longer prepares on this host (an
    // exec command removed) still lists, so an apply can fix or delete it.
    PLATOPS_ASSIGN_OR_RETURN(auto docs, checks.AllCheckDocs(tx));
    std::map<std::string, json::object> out;
    for (auto& [id, doc] : docs) {
      auto v = ParseJson(doc);
      if (!v.ok() || !v->is_object()) return Internal("stored check " + id + " is not a JSON object");
      out.emplace(id, std::move(v->get_object()));
    }
    return out;
  };
  check.put = [&checks](store::Tx& tx, const std::string& actor, const json::object& spec,
                        bool create) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(CheckDef def, CheckFromJson(json::value(spec)));
    return checks.PutCheck(tx, actor, std::move(def), create);
  };
  check.remove = [&checks](store::Tx& tx, const std::string& actor, const std::string& key) {
    return checks.DeleteCheck(tx, actor, key);
  };
  registry.Register(std::move(check));

  config::KindHandler window;
  window.kind = "MaintenanceWindow";
  window.order = 70;
  window.write_role = 3;
  window.decode = [](const json::value& doc, const std::string& path) -> Result<json::object> {
    PLATOPS_ASSIGN_OR_RETURN(MaintenanceWindow w, WindowFromJson(doc, path));
    return WindowDocJson(w);
  };
  window.key = [](const json::object& spec) { return Text(spec, "name"); };
  window.references = [](const json::object& spec) {
    std::vector<config::Reference> refs;
    const auto& services = spec.at("services").get_array();
    for (size_t i = 0; i < services.size(); ++i) {
      refs.push_back({"Service", std::string(services[i].get_string()),
                      "services[" + std::to_string(i) + "]"});
    }
    return refs;
  };
  window.list = [&checks](store::Tx& tx) -> Result<std::map<std::string, json::object>> {
    PLATOPS_ASSIGN_OR_RETURN(auto windows, checks.AllWindows(tx));
    std::map<std::string, json::object> out;
    for (const auto& w : windows) out.emplace(w.name, WindowDocJson(w));
    return out;
  };
  window.put = [&checks](store::Tx& tx, const std::string& actor, const json::object& spec,
                         bool create) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(MaintenanceWindow w, WindowFromJson(json::value(spec)));
    return checks.PutWindow(tx, actor, std::move(w), create);
  };
  window.remove = [&checks](store::Tx& tx, const std::string& actor, const std::string& key) {
    return checks.DeleteWindow(tx, actor, key);
  };
  registry.Register(std::move(window));
}

}  // namespace platops::checks
