#pragma once
// AlertingRule: the state of one alerting rule across evaluations, with Prometheus's semantics
// (rules/alerting.go): inactive -> pending -> firing after `for`, `keep_firing_for`, resolved
// alerts kept and re-sent for 15 minutes, the group's `limit`, the ALERTS and ALERTS_FOR_STATE
// series, and the resend rule for notifications. A pure state machine: the caller evaluates the
// expression and passes its result and the evaluation time. Externally synchronized.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/rule_file.h"
#include "base/clock.h"
#include "base/status.h"

namespace platops::alerting {

enum class RuleAlertState { kInactive, kPending, kFiring };
// "inactive", "pending", "firing": the `alertstate` label and the API's word.
std::string_view RuleAlertStateName(RuleAlertState s);

// One sample of the rule expression's result.
struct RuleSample {
  StringPairs labels;  // Sorted by name; may hold __name__.
  double value = 0;
};

struct RuleAlert {
  StringPairs labels;       // The sample's labels without __name__, the rule's, and alertname.
  StringPairs annotations;  // Expanded at the latest evaluation that produced the alert.
  RuleAlertState state = RuleAlertState::kPending;
  double value = 0;
  Timestamp active_at{};                      // First evaluation that produced it.
  std::optional<Timestamp> fired_at;          // When it went firing.
  std::optional<Timestamp> resolved_at;       // When it went inactive.
  std::optional<Timestamp> last_sent_at;      // Last hand-over to the notifier.
  std::optional<Timestamp> keep_firing_since; // First evaluation without it while kept firing.
  Timestamp valid_until{};                    // endsAt of a firing alert sent to the notifier.
};

// An alert as handed to the notifier (Prometheus's notifier.Alert).
struct OutgoingAlert {
  StringPairs labels;
  StringPairs annotations;
  Timestamp starts_at{};  // When it went firing.
  Timestamp ends_at{};    // Resolved time, or valid_until for a firing alert.
  std::string expr;       // The rule's expression, for the alert's generator URL.
};

// Expands one label or annotation template for an alert: `labels` are the sample's labels
// without __name__, `value` its value, `t` the evaluation time (for the query functions).
// Returns the text, or an error whose message Prometheus would put in place of the text.
using TemplateExpander =
    std::function<Result<std::string>(std::string_view name, std::string_view text,
                                      const StringPairs& labels, double value, Timestamp t)>;

class AlertingRule {
 public:
  static constexpr std::chrono::minutes kResolvedRetention{15};

  // `group_labels` are added under the rule's own labels; a label whose value expands to "" is
  // removed. Without `expand`, templates are used as written.
  AlertingRule(RuleSpec spec, StringPairs group_labels, TemplateExpander expand = nullptr);

  // Applies the result of one evaluation at `t`. `limit` > 0 caps the alerts pending or firing;
  // beyond it every alert is dropped and the error says so, as Prometheus does. A result with two
  // samples that become the same alert is an error, and the state is left unchanged.
  Status Apply(const std::vector<RuleSample>& result, Timestamp t, int limit = 0);

  // The ALERTS and ALERTS_FOR_STATE samples for the pending and firing alerts, at the time of the
  // last Apply: {labels with __name__ (and alertstate for ALERTS), value}.
  std::vector<RuleSample> SeriesSamples() const;

  // The alerts to hand to the notifier at `t`, marking them sent: firing alerts not sent within
  // `resend_delay`, and alerts resolved since they were last sent. A firing alert is valid for
  // 4 x max(resend_delay, group interval).
  std::vector<OutgoingAlert> TakeAlertsToSend(Timestamp t, std::chrono::milliseconds resend_delay,
                                              std::chrono::milliseconds group_interval);

  // The alerts pending, firing, or resolved within the retention, by labels.
  const std::map<StringPairs, RuleAlert>& active() const { return active_; }
  const RuleSpec& spec() const { return spec_; }
  // The labels each alert gets from the rule and its group (templates unexpanded).
  const StringPairs& labels() const { return labels_; }
  // The highest state among the alerts: what the rules API shows for the rule.
  RuleAlertState State() const;
  // Takes over the alerts of the same rule before a reload.
  void CopyStateFrom(const AlertingRule& old) { active_ = old.active_; }

 private:
  std::string Expand(std::string_view text, const StringPairs& labels, double value,
                     Timestamp t) const;

  RuleSpec spec_;
  StringPairs labels_;
  TemplateExpander expand_;
  std::map<StringPairs, RuleAlert> active_;
  Timestamp last_eval_{};
};

}  // namespace platops::alerting
