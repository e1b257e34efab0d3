#include "alerting/inhibit.h"

#include <utility>

namespace platops::alerting {
namespace {

Status AppendMatchers(const std::map<std::string, std::string>& map, MatchType type,
                      std::vector<Matcher>& out) {
  for (const auto& [name, value] : map) {
    if (!IsValidLabelName(name)) {
      return InvalidArgument("invalid label name " + GoQuote(name), name);
    }
    Result<Matcher> matcher = Matcher::Create(type, name, value);
    if (!matcher.ok()) return matcher.status().WithFieldPrefix(name);
    out.push_back(std::move(matcher).value());
  }
  return Status::Ok();
}

// Whether `a` and `b` agree on every label in `names`, an absent label reading as "".
bool HasEqual(const std::vector<std::string>& names, const LabelSet& a, const LabelSet& b) {
  for (const std::string& name : names) {
    if (a.Get(name) != b.Get(name)) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<Matcher>> MatchersFromMaps(const std::map<std::string, std::string>& match,
                                              const std::map<std::string, std::string>& match_re) {
  std::vector<Matcher> matchers;
  matchers.reserve(match.size() + match_re.size());
  PLATOPS_RETURN_IF_ERROR(AppendMatchers(match, MatchType::kEqual, matchers));
  PLATOPS_RETURN_IF_ERROR(AppendMatchers(match_re, MatchType::kRegex, matchers));
  return matchers;
}

Inhibitor::Inhibitor(std::vector<InhibitRule> rules) { SetRules(std::move(rules)); }

void Inhibitor::SetRules(std::vector<InhibitRule> rules) {
  rules_ = std::move(rules);
  sources_.assign(rules_.size(), {});
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    IndexAlert(it->second);
    if (!IsSource(it->second.labels)) {
      it = alerts_.erase(it);
    } else {
      ++it;
    }
  }
}

bool Inhibitor::IsSource(const LabelSet& labels) const {
  for (const auto& rule : rules_) {
    if (MatchesAll(rule.source_matchers, labels)) return true;
  }
  return false;
}

void Inhibitor::Update(const InhibitorAlert& alert) {
  // Only a possible source is held: an alert no rule's source side accepts cannot inhibit.
  if (!IsSource(alert.labels)) {
    Remove(alert.fingerprint);
    return;
  }
  alerts_.insert_or_assign(alert.fingerprint, alert);
  IndexAlert(alert);
}

void Inhibitor::Remove(uint64_t fingerprint) {
  if (alerts_.erase(fingerprint) == 0) return;
  for (std::set<uint64_t>& sources : sources_) sources.erase(fingerprint);
}

void Inhibitor::IndexAlert(const InhibitorAlert& alert) {
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (MatchesAll(rules_[i].source_matchers, alert.labels)) {
      sources_[i].insert(alert.fingerprint);
    } else {
      sources_[i].erase(alert.fingerprint);
    }
  }
}

std::optional<uint64_t> Inhibitor::InhibitedBy(const LabelSet& target, Timestamp now) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const InhibitRule& rule = rules_[i];
    if (!MatchesAll(rule.target_matchers, target)) continue;
    // A target on both sides of the rule may only be inhibited by sources on the source side
    // alone; otherwise two such alerts (or one alert and itself) would mute each other.
    const bool exclude_two_sided = MatchesAll(rule.source_matchers, target);
    for (uint64_t fingerprint : sources_[i]) {
      const InhibitorAlert& source = alerts_.at(fingerprint);
      if (source.Resolved(now)) continue;
      if (!HasEqual(rule.equal, source.labels, target)) continue;
      if (exclude_two_sided && MatchesAll(rule.target_matchers, source.labels)) continue;
      return fingerprint;
    }
  }
  return std::nullopt;
}

}  // namespace platops::alerting
