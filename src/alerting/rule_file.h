#pragma once
// Prometheus rule files: groups of alerting and recording rules, read and validated as
// `promtool check rules` does, with Prometheus's error wording, so that a file Prometheus loads
// loads the same here. Pure functions; thread-safe.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace platops::alerting {

// Name/value pairs sorted by name, names unique.
using StringPairs = std::vector<std::pair<std::string, std::string>>;

struct RuleSpec {
  bool alerting = false;  // `alert:` (true) or `record:` (false).
  std::string name;       // The alert name or the recorded metric name.
  std::string expr;
  std::chrono::milliseconds for_duration{0};     // Alerting only.
  std::chrono::milliseconds keep_firing_for{0};  // Alerting only.
  StringPairs labels;                            // Templates for alerting rules.
  StringPairs annotations;                       // Templates; alerting only.
  int line = 0;                                  // 1-based, in the file.
};

struct RuleGroupSpec {
  std::string name;
  std::string file;                       // Where it was read from.
  std::chrono::milliseconds interval{0};  // 0: the global evaluation interval.
  std::optional<std::chrono::milliseconds> query_offset;  // Unset: the global one.
  int limit = 0;  // Most alerts or series a rule may produce per evaluation; 0: no limit.
  StringPairs labels;  // Added to every rule's result, the rule's own labels winning.
  std::vector<RuleSpec> rules;
};

struct RuleFileOptions {
  // Checks a label or annotation template of an alerting rule (parsed with Prometheus's
  // $labels/$externalLabels/$externalURL/$value variables defined); an error is reported as
  // Prometheus reports a bad template. Unset: templates are not checked.
  std::function<Status(std::string_view template_name, std::string_view text)> check_template;
};

// Reads a rule file's content. `file` names it in errors. Every problem is reported, one per
// line, each as `promtool check rules` prints it (`<file>: <line>:<col>: group "g", rule 2,
// "HighLatency": could not parse expression: ...`); the result is InvalidArgument then.
// An empty file holds no groups.
Result<std::vector<RuleGroupSpec>> ParseRuleFile(std::string_view content, std::string_view file,
                                                 const RuleFileOptions& options = {});

}  // namespace platops::alerting
