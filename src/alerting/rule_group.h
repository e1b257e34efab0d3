#pragma once
// RuleGroup: evaluates one group of rules in order at a given time, as Prometheus's rule manager
// does: each rule's expression through the PromQL engine at (time - query_offset), recording
// rules written back as their own series, alerting rules advanced through AlertingRule with
// their ALERTS and ALERTS_FOR_STATE series written, stale markers for series a rule no longer
// produces, and per-rule health for the rules API. The schedule (when to call Evaluate) belongs
// to the caller. Externally synchronized.

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "alerting/alerting_rule.h"
#include "alerting/rule_file.h"
#include "base/clock.h"
#include "metrics/labels.h"

namespace platops::metrics {
class Storage;
}
namespace platops::promql {
class Engine;
}

namespace platops::alerting {

struct RuleGroupOptions {
  // Used when the group sets none: Prometheus's global evaluation_interval (default 1m) and
  // rule_query_offset (default 0).
  std::chrono::milliseconds default_interval{std::chrono::minutes(1)};
  std::chrono::milliseconds default_query_offset{0};
  // How often a firing alert is re-sent to the notifier (Prometheus's
  // --rules.alert.resend-delay, default 1m).
  std::chrono::milliseconds resend_delay{std::chrono::minutes(1)};
  // Expands alert label and annotation templates; unset: used as written.
  TemplateExpander expand;
};

// What the rules API shows of one rule.
struct RuleHealth {
  std::string health = "unknown";  // "unknown" until evaluated, then "ok" or "err".
  std::string last_error;
  std::optional<Timestamp> last_evaluation;
  std::chrono::microseconds evaluation_time{0};
};

class RuleGroup {
 public:
  // `engine` and `storage` must outlive the group.
  RuleGroup(RuleGroupSpec spec, RuleGroupOptions options, promql::Engine& engine,
            metrics::Storage& storage);
  ~RuleGroup();

  // Evaluates every rule at `t` and returns the alerts to hand to the notifier. A rule's error
  // is kept in its health and the next rule still runs.
  std::vector<OutgoingAlert> Evaluate(Timestamp t);

  const RuleGroupSpec& spec() const { return spec_; }
  std::chrono::milliseconds interval() const { return interval_; }
  std::chrono::milliseconds query_offset() const { return query_offset_; }
  size_t size() const { return rules_.size(); }
  const RuleHealth& health(size_t i) const { return rules_[i].health; }
  // Null for a recording rule.
  const AlertingRule* alerting(size_t i) const { return rules_[i].alerting.get(); }
  const RuleSpec& rule(size_t i) const { return spec_.rules[i]; }
  std::optional<Timestamp> last_evaluation() const { return last_evaluation_; }
  // Takes over the state of a group loaded before (alerts, health, series written), matching
  // rules by name and by position among rules of that name, as Prometheus does on reload.
  void CopyStateFrom(const RuleGroup& old);
  std::chrono::microseconds evaluation_time() const { return evaluation_time_; }

 private:
  struct Rule {
    std::unique_ptr<AlertingRule> alerting;
    RuleHealth health;
    std::set<metrics::Labels> written;  // Series written at the last evaluation.
  };
  Status EvaluateRule(size_t i, Timestamp t, std::vector<OutgoingAlert>& to_send);
  Status Write(Rule& rule, const std::vector<RuleSample>& samples, int64_t t);

  RuleGroupSpec spec_;
  RuleGroupOptions options_;
  promql::Engine& engine_;
  metrics::Storage& storage_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds query_offset_;
  std::vector<Rule> rules_;
  std::optional<Timestamp> last_evaluation_;
  std::chrono::microseconds evaluation_time_{0};
};

}  // namespace platops::alerting
