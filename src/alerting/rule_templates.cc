#include "alerting/rule_templates.h"

#include <memory>
#include <mutex>
#include <unordered_map>

#include "alerting/template.h"
#include "promql/engine.h"

namespace platops::alerting {

Status CheckRuleTemplate(std::string_view name, std::string_view text) {
  return Template::Parse(std::string(name), text).status();
}

TemplateExpander MakeRuleTemplateExpander(promql::Engine* engine,
                                          std::map<std::string, std::string> external_labels,
                                          std::string external_url) {
  struct Cache {
    std::mutex mu;
    std::unordered_map<std::string, Template> parsed;  // By name + '\0' + text.
  };
  auto cache = std::make_shared<Cache>();
  return [engine, cache, external_labels = std::move(external_labels),
          external_url = std::move(external_url)](
             std::string_view name, std::string_view text, const StringPairs& labels,
             double value, Timestamp t) -> Result<std::string> {
    std::string key(name);
    key += '\0';
    key += text;
    std::optional<Template> tmpl;
    {
      std::lock_guard lock(cache->mu);
      auto it = cache->parsed.find(key);
      if (it != cache->parsed.end()) tmpl = it->second;
    }
    if (!tmpl) {
      PLATOPS_ASSIGN_OR_RETURN(Template parsed, Template::Parse(std::string(name), text));
      std::lock_guard lock(cache->mu);
      tmpl = cache->parsed.emplace(std::move(key), std::move(parsed)).first->second;
    }
    TemplateData data;
    for (const auto& [n, v] : labels) data.labels.emplace(n, v);
    data.external_labels = external_labels;
    data.external_url = external_url;
    data.value = value;
    if (engine != nullptr) {
      data.query = [engine, t](std::string_view q) -> Result<std::vector<TemplateSample>> {
        promql::QueryResult r = engine->InstantQuery(q, t.time_since_epoch().count(), {});
        if (!r.ok()) return InvalidArgument(r.error_message);
        std::vector<TemplateSample> out;
        if (const auto* v = std::get_if<promql::Vector>(&r.value)) {
          for (const auto& e : *v) {
            TemplateSample s;
            for (const auto& l : e.metric) s.labels.emplace(l.name, l.value);
            s.value = e.v;
            out.push_back(std::move(s));
          }
        } else if (const auto* sc = std::get_if<promql::ScalarValue>(&r.value)) {
          out.push_back({{}, sc->v});
        } else {
          return InvalidArgument("query result is not a vector or scalar");
        }
        return out;
      };
    }
    return tmpl->Expand(data);
  };
}

}  // namespace platops::alerting
