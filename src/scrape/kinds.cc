// `kind: ScrapeTarget`: configuration as code for the scrape module.

#include <boost/json.hpp>

#include "base/json_reader.h"
#include "scrape/codec.h"
#include "scrape/scrape.h"

namespace platops::scrape {

namespace json = boost::json;

void RegisterKinds(config::KindRegistry& registry, ScrapeManager& scrape) {
  config::KindHandler kind;
  kind.kind = "ScrapeTarget";
  kind.order = 80;  // after Service (30): a job may name its service
  kind.write_role = 3;
  kind.decode = [](const json::value& doc, const std::string& path) -> Result<json::object> {
    PLATOPS_ASSIGN_OR_RETURN(ScrapeTargetDef def, ScrapeTargetFromJson(doc, path));
    return ScrapeTargetDocJson(def);
  };
  kind.key = [](const json::object& spec) { return std::string(spec.at("job").get_string()); };
  kind.references = [](const json::object& spec) {
    std::vector<config::Reference> refs;
    if (auto it = spec.find("service"); it != spec.end() && it->value().is_string())
      refs.push_back({"Service", std::string(it->value().get_string()), "service"});
    return refs;
  };
  kind.list = [&scrape](store::Tx& tx) -> Result<std::map<std::string, json::object>> {
    PLATOPS_ASSIGN_OR_RETURN(auto docs, scrape.AllTargetDocs(tx));
    std::map<std::string, json::object> out;
    for (auto& [job, doc] : docs) {
      auto v = ParseJson(doc);
      if (!v.ok() || !v->is_object())
        return Internal("stored scrape target " + job + " is not a JSON object");
      out.emplace(job, std::move(v->get_object()));
    }
    return out;
  };
  kind.put = [&scrape](store::Tx& tx, const std::string& actor, const json::object& spec,
                       bool create) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(ScrapeTargetDef def, ScrapeTargetFromJson(json::value(spec)));
    return scrape.PutTarget(tx, actor, std::move(def), create);
  };
  kind.remove = [&scrape](store::Tx& tx, const std::string& actor, const std::string& key) {
    return scrape.DeleteTarget(tx, actor, key);
  };
  registry.Register(std::move(kind));
}

}  // namespace platops::scrape
