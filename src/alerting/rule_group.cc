#include "alerting/rule_group.h"

#include <bit>
#include <map>

#include "metrics/sample.h"
#include "metrics/storage.h"
#include "promql/engine.h"

namespace platops::alerting {
namespace {

StringPairs ToPairs(const metrics::Labels& labels) {
  StringPairs out;
  out.reserve(labels.size());
  for (const auto& l : labels) out.emplace_back(l.name, l.value);
  return out;
}

metrics::Labels ToLabels(const StringPairs& pairs) {
  metrics::Labels out;
  out.reserve(pairs.size());
  for (const auto& [name, value] : pairs) out.push_back({name, value});
  return out;
}

// The rule's expression at `t` as a vector, as Prometheus's rule query function gives it: a
// scalar becomes one sample without labels.
Result<std::vector<RuleSample>> Query(promql::Engine& engine, const std::string& expr, int64_t t) {
  promql::QueryResult r = engine.InstantQuery(expr, t, {});
  if (!r.ok()) return InvalidArgument(r.error_message);
  std::vector<RuleSample> out;
  if (const auto* v = std::get_if<promql::Vector>(&r.value)) {
    out.reserve(v->size());
    for (const auto& e : *v) out.push_back({ToPairs(e.metric), e.v});
  } else if (const auto* s = std::get_if<promql::ScalarValue>(&r.value)) {
    out.push_back({{}, s->v});
  } else {
    return InvalidArgument("rule result is not a vector or scalar");
  }
  return out;
}

}  // namespace

RuleGroup::RuleGroup(RuleGroupSpec spec, RuleGroupOptions options, promql::Engine& engine,
                     metrics::Storage& storage)
    : spec_(std::move(spec)),
      options_(std::move(options)),
      engine_(engine),
      storage_(storage),
      interval_(spec_.interval.count() > 0 ? spec_.interval : options_.default_interval),
      query_offset_(spec_.query_offset.value_or(options_.default_query_offset)) {
  rules_.resize(spec_.rules.size());
  for (size_t i = 0; i < spec_.rules.size(); ++i) {
    if (spec_.rules[i].alerting) {
      rules_[i].alerting =
          std::make_unique<AlertingRule>(spec_.rules[i], spec_.labels, options_.expand);
    }
  }
}

RuleGroup::~RuleGroup() = default;

void RuleGroup::CopyStateFrom(const RuleGroup& old) {
  std::map<std::pair<bool, std::string>, std::vector<size_t>> old_by_name;
  for (size_t i = 0; i < old.spec_.rules.size(); ++i) {
    old_by_name[{old.spec_.rules[i].alerting, old.spec_.rules[i].name}].push_back(i);
  }
  std::map<std::pair<bool, std::string>, size_t> seen;
  for (size_t i = 0; i < spec_.rules.size(); ++i) {
    const auto key = std::make_pair(spec_.rules[i].alerting, spec_.rules[i].name);
    const size_t nth = seen[key]++;
    auto it = old_by_name.find(key);
    if (it == old_by_name.end() || nth >= it->second.size()) continue;
    const Rule& from = old.rules_[it->second[nth]];
    rules_[i].health = from.health;
    rules_[i].written = from.written;
    if (rules_[i].alerting && from.alerting) rules_[i].alerting->CopyStateFrom(*from.alerting);
  }
  last_evaluation_ = old.last_evaluation_;
  evaluation_time_ = old.evaluation_time_;
}

std::vector<OutgoingAlert> RuleGroup::Evaluate(Timestamp t) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<OutgoingAlert> to_send;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const auto rule_start = std::chrono::steady_clock::now();
    Status st = EvaluateRule(i, t, to_send);
    RuleHealth& h = rules_[i].health;
    h.health = st.ok() ? "ok" : "err";
    h.last_error = st.ok() ? "" : st.message();
    h.last_evaluation = t;
    h.evaluation_time = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - rule_start);
  }
  last_evaluation_ = t;
  evaluation_time_ = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  return to_send;
}

Status RuleGroup::EvaluateRule(size_t i, Timestamp t, std::vector<OutgoingAlert>& to_send) {
  const RuleSpec& spec = spec_.rules[i];
  Rule& rule = rules_[i];
  const Timestamp at = t - query_offset_;
  const int64_t at_ms = at.time_since_epoch().count();
  auto result = Query(engine_, spec.expr, at_ms);
  if (!result.ok()) {
    // Nothing was produced: an alerting rule keeps its state, as in Prometheus.
    return result.status();
  }
  if (rule.alerting) {
    Status st = rule.alerting->Apply(*result, at, spec_.limit);
    PLATOPS_RETURN_IF_ERROR(Write(rule, rule.alerting->SeriesSamples(), at_ms));
    for (auto& a : rule.alerting->TakeAlertsToSend(t, options_.resend_delay, interval_)) {
      to_send.push_back(std::move(a));
    }
    return st;
  }
  // A recording rule: the result under the rule's name, with the group's and the rule's labels
  // (an empty value removes a label).
  std::vector<RuleSample> samples;
  samples.reserve(result->size());
  std::set<metrics::Labels> seen;
  for (auto& s : *result) {
    metrics::Labels labels = ToLabels(s.labels);
    labels.push_back({std::string(metrics::kMetricName), spec.name});
    for (const auto& [name, value] : spec_.labels) labels.push_back({name, value});
    for (const auto& [name, value] : spec.labels) labels.push_back({name, value});
    labels = metrics::Normalize(std::move(labels));
    if (!seen.insert(labels).second) {
      return InvalidArgument(
          "vector contains metrics with the same labelset after applying rule labels");
    }
    samples.push_back({ToPairs(labels), s.value});
  }
  if (spec_.limit > 0 && static_cast<int>(samples.size()) > spec_.limit) {
    // Nothing is written, so the series go stale.
    PLATOPS_RETURN_IF_ERROR(Write(rule, {}, at_ms));
    return InvalidArgument("exceeded limit of " + std::to_string(spec_.limit) + " with " +
                           std::to_string(samples.size()) + " series");
  }
  return Write(rule, samples, at_ms);
}

// Appends `samples` at `t` and stale markers for the series written last time and not now.
Status RuleGroup::Write(Rule& rule, const std::vector<RuleSample>& samples, int64_t t) {
  auto app = storage_.NewAppender();
  std::set<metrics::Labels> written;
  for (const auto& s : samples) {
    metrics::Labels labels = ToLabels(s.labels);
    metrics::SeriesRef ref = 0;
    // Out-of-order and duplicate samples (a clock step back, a second evaluation at the same
    // time) are dropped one by one, as Prometheus drops them.
    (void)app->Append(ref, labels, t, s.value);
    written.insert(std::move(labels));
  }
  const double stale = std::bit_cast<double>(metrics::kStaleNanBits);
  for (const auto& labels : rule.written) {
    if (written.contains(labels)) continue;
    metrics::SeriesRef ref = 0;
    (void)app->Append(ref, labels, t, stale);
  }
  PLATOPS_RETURN_IF_ERROR(app->Commit());
  rule.written = std::move(written);
  return Status::Ok();
}

}  // namespace platops::alerting
