#pragma once
// The glue between rules and the template engine: the check a rule file's templates pass at
// load (as promtool's), and the expander alerting rules use, with Prometheus's template data
// and the query functions answered by the PromQL engine at the evaluation time. Thread-safe.

#include <map>
#include <string>
#include <string_view>

#include "alerting/alerting_rule.h"
#include "base/status.h"

namespace platops::promql {
class Engine;
}

namespace platops::alerting {

// Parses `text` as an alert template named `name` (rule files use "__alert_<AlertName>").
Status CheckRuleTemplate(std::string_view name, std::string_view text);

// An expander for alert labels and annotations. Parsed templates are kept, so each text is
// parsed once. `engine` (may be null: `query` then fails) must outlive the expander.
TemplateExpander MakeRuleTemplateExpander(promql::Engine* engine,
                                          std::map<std::string, std::string> external_labels,
                                          std::string external_url);

}  // namespace platops::alerting
