#include "testing/apply_yaml.h"

#include "config/yaml_json.h"

namespace platops::testing {

Result<config::ApplyResult> ApplyYaml(store::Store& store, const config::KindRegistry& kinds,
                                      const std::string& yaml, bool prune,
                                      const std::string& file, const std::string& actor) {
  PLATOPS_ASSIGN_OR_RETURN(auto parsed, config::YamlToJson(yaml));
  std::vector<config::Document> docs;
  for (size_t i = 0; i < parsed.size(); ++i) {
    docs.push_back({parsed[i], file, static_cast<int>(i)});
  }
  config::ApplyOptions options;
  options.prune = prune;
  return config::Apply(store, kinds, docs, options, actor);
}

std::vector<std::string> PlanLines(const config::ApplyResult& result) {
  std::vector<std::string> out;
  for (const auto& item : result.plan) {
    out.push_back(std::string(config::PlanActionName(item.action)) + " " + item.kind + " " +
                  item.key);
  }
  return out;
}

}  // namespace platops::testing
