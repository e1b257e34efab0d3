#include "alerting/alerting_rule.h"

#include <algorithm>
#include <set>

namespace platops::alerting {
namespace {

// Sets `name` in a sorted pair list; an empty value removes it (Prometheus's labels.Builder).
void Set(StringPairs& pairs, std::string_view name, std::string value) {
  if (value.empty()) {
    std::erase_if(pairs, [&](const auto& p) { return p.first == name; });
    return;
  }
  auto it = std::lower_bound(pairs.begin(), pairs.end(), name,
                             [](const auto& p, std::string_view n) { return p.first < n; });
  if (it != pairs.end() && it->first == name) {
    it->second = std::move(value);
  } else {
    pairs.emplace(it, std::string(name), std::move(value));
  }
}

double UnixSeconds(Timestamp t) {
  // time.Time.Unix(): whole seconds, rounded down.
  const auto ms = t.time_since_epoch().count();
  return static_cast<double>(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
}

}  // namespace

std::string_view RuleAlertStateName(RuleAlertState s) {
  switch (s) {
    case RuleAlertState::kInactive:
      return "inactive";
    case RuleAlertState::kPending:
      return "pending";
    case RuleAlertState::kFiring:
      return "firing";
  }
  return "inactive";
}

AlertingRule::AlertingRule(RuleSpec spec, StringPairs group_labels, TemplateExpander expand)
    : spec_(std::move(spec)), labels_(std::move(group_labels)), expand_(std::move(expand)) {
  for (const auto& [name, value] : spec_.labels) Set(labels_, name, value);
  std::sort(spec_.annotations.begin(), spec_.annotations.end());
}

std::string AlertingRule::Expand(std::string_view text, const StringPairs& labels, double value,
                                 Timestamp t) const {
  if (!expand_ || text.find("{{") == std::string_view::npos) return std::string(text);
  auto r = expand_("__alert_" + spec_.name, text, labels, value, t);
  if (!r.ok()) return "<error expanding template: " + r.status().message() + ">";
  return std::move(r).value();
}

Status AlertingRule::Apply(const std::vector<RuleSample>& result, Timestamp t, int limit) {
  // The alerts this result makes, by their labels.
  std::map<StringPairs, RuleAlert> produced;
  for (const RuleSample& s : result) {
    StringPairs data_labels = s.labels;
    Set(data_labels, "__name__", "");
    StringPairs labels = data_labels;
    for (const auto& [name, text] : labels_) Set(labels, name, Expand(text, data_labels, s.value, t));
    Set(labels, "alertname", spec_.name);
    RuleAlert a;
    a.value = s.value;
    a.active_at = t;
    a.state = RuleAlertState::kPending;
    for (const auto& [name, text] : spec_.annotations) {
      a.annotations.emplace_back(name, Expand(text, data_labels, s.value, t));
    }
    a.labels = labels;
    if (!produced.emplace(std::move(labels), std::move(a)).second) {
      return InvalidArgument(
          "vector contains metrics with the same labelset after applying alert labels");
    }
  }
  last_eval_ = t;
  for (auto& [labels, a] : produced) {
    auto it = active_.find(labels);
    if (it != active_.end() && it->second.state != RuleAlertState::kInactive) {
      it->second.value = a.value;
      it->second.annotations = std::move(a.annotations);
      continue;
    }
    active_.insert_or_assign(labels, std::move(a));
  }
  int active_or_pending = 0;
  for (auto it = active_.begin(); it != active_.end();) {
    RuleAlert& a = it->second;
    if (!produced.contains(it->first)) {
      bool keep_firing = false;
      if (a.state == RuleAlertState::kFiring && spec_.keep_firing_for.count() > 0) {
        if (!a.keep_firing_since) a.keep_firing_since = t;
        keep_firing = t - *a.keep_firing_since < spec_.keep_firing_for;
      }
      // A resolved alert is kept (and re-sent as resolved) for a while, so the notifier hears
      // of the resolution even across a lost notification.
      if (a.state == RuleAlertState::kPending ||
          (a.resolved_at && t - *a.resolved_at > kResolvedRetention)) {
        it = active_.erase(it);
        continue;
      }
      if (!keep_firing) {
        if (a.state != RuleAlertState::kInactive) {
          a.state = RuleAlertState::kInactive;
          a.resolved_at = t;
        }
        ++it;
        continue;
      }
    } else {
      a.keep_firing_since.reset();
    }
    ++active_or_pending;
    if (a.state == RuleAlertState::kPending && t - a.active_at >= spec_.for_duration) {
      a.state = RuleAlertState::kFiring;
      a.fired_at = t;
    }
    ++it;
  }
  if (limit > 0 && active_or_pending > limit) {
    active_.clear();
    return InvalidArgument("exceeded limit of " + std::to_string(limit) + " with " +
                           std::to_string(active_or_pending) + " alerts");
  }
  return Status::Ok();
}

std::vector<RuleSample> AlertingRule::SeriesSamples() const {
  std::vector<RuleSample> out;
  for (const auto& [labels, a] : active_) {
    if (a.state == RuleAlertState::kInactive) continue;
    RuleSample alerts{labels, 1};
    Set(alerts.labels, "__name__", "ALERTS");
    Set(alerts.labels, "alertstate", std::string(RuleAlertStateName(a.state)));
    out.push_back(std::move(alerts));
    RuleSample for_state{labels, UnixSeconds(a.active_at)};
    Set(for_state.labels, "__name__", "ALERTS_FOR_STATE");
    out.push_back(std::move(for_state));
  }
  return out;
}

std::vector<OutgoingAlert> AlertingRule::TakeAlertsToSend(Timestamp t,
                                                          std::chrono::milliseconds resend_delay,
                                                          std::chrono::milliseconds group_interval) {
  std::vector<OutgoingAlert> out;
  const auto valid_for = 4 * std::max(resend_delay, group_interval);
  for (auto& [labels, a] : active_) {
    if (a.state == RuleAlertState::kPending) continue;
    const bool resolved_since_sent =
        a.resolved_at && (!a.last_sent_at || *a.resolved_at > *a.last_sent_at);
    const bool due = !a.last_sent_at || *a.last_sent_at + resend_delay < t;
    if (!resolved_since_sent && !due) continue;
    a.last_sent_at = t;
    a.valid_until = t + valid_for;
    OutgoingAlert o;
    o.labels = a.labels;
    o.annotations = a.annotations;
    o.starts_at = a.fired_at.value_or(a.active_at);
    o.expr = spec_.expr;
    o.ends_at = a.resolved_at ? *a.resolved_at : a.valid_until;
    out.push_back(std::move(o));
  }
  return out;
}

RuleAlertState AlertingRule::State() const {
  RuleAlertState best = RuleAlertState::kInactive;
  for (const auto& [labels, a] : active_) best = std::max(best, a.state);
  return best;
}

}  // namespace platops::alerting
