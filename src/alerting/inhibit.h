#pragma once
// Inhibition as Alertmanager 0.25 decides it (inhibit/inhibit.go): a firing source alert mutes
// the target alerts of a rule when they agree on the rule's `equal` labels.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alerting/label_set.h"
#include "alerting/matcher.h"
#include "base/clock.h"
#include "base/status.h"

namespace platops::alerting {

// One `inhibit_rules` entry, its deprecated maps already folded into the matcher lists.
struct InhibitRule {
  // Alerts that inhibit; an empty list accepts every alert.
  std::vector<Matcher> source_matchers;
  // Alerts that are inhibited; an empty list accepts every alert.
  std::vector<Matcher> target_matchers;
  // Labels whose values must be equal in source and target; absent reads as "", so a label
  // absent from both counts as equal.
  std::vector<std::string> equal;
};

// Turns the deprecated `*_match` (equality) and `*_match_re` (regex) maps of a rule into
// matchers, equality matchers first, each group in name order; the config layer appends the
// rule's new-style matchers after them, as Alertmanager does. A name that is not a valid label
// name is an InvalidArgument (`invalid label name "0x"`, field = the name); a regex that does not
// compile fails as Matcher::Create does.
Result<std::vector<Matcher>> MatchersFromMaps(const std::map<std::string, std::string>& match,
                                              const std::map<std::string, std::string>& match_re);

// An alert as the inhibitor needs it.
struct InhibitorAlert {
  LabelSet labels;
  uint64_t fingerprint = 0;  // Fingerprint(labels)
  Timestamp starts_at{};
  std::optional<Timestamp> ends_at;  // unset: no end known, never resolved

  // Resolved at `now`: it has an end and the end is not after `now`.
  bool Resolved(Timestamp now) const { return ends_at && *ends_at <= now; }
};

// The current alerts and the inhibit rules; answers whether a label set is inhibited.
// Thread-safety: externally synchronized.
class Inhibitor {
 public:
  Inhibitor() = default;
  explicit Inhibitor(std::vector<InhibitRule> rules);

  // Replaces the rules (a configuration reload); the alerts held are re-indexed. Only possible
  // sources are held, so the caller feeds its current alerts again through Update.
  void SetRules(std::vector<InhibitRule> rules);
  const std::vector<InhibitRule>& rules() const { return rules_; }

  // Adds or replaces the alert with this fingerprint (resolved alerts too: they are skipped at
  // query time, as the state they are in depends on `now`). An alert no rule's source side
  // accepts is not held (it cannot inhibit), which keeps memory to the possible sources.
  void Update(const InhibitorAlert& alert);
  // Forgets an alert (it was garbage-collected from the alert store). Unknown fingerprints are
  // ignored.
  void Remove(uint64_t fingerprint);
  size_t size() const { return alerts_.size(); }

  // The fingerprint of an alert that inhibits `target` at `now`, or nullopt when none does.
  // Rules are tried in order; a rule applies when `target` matches its target matchers and some
  // source alert (one matching its source matchers) is not resolved at `now` and has the same
  // value as `target` for every `equal` label. When `target` also matches the rule's source
  // matchers, sources that also match its target matchers are skipped, so that alerts matching
  // both sides of a rule cannot inhibit one another (nor themselves). Among several inhibiting
  // sources of a rule the one with the smallest fingerprint is returned (Alertmanager returns an
  // arbitrary one).
  std::optional<uint64_t> InhibitedBy(const LabelSet& target, Timestamp now) const;

 private:
  void IndexAlert(const InhibitorAlert& alert);
  bool IsSource(const LabelSet& labels) const;

  std::vector<InhibitRule> rules_;
  std::map<uint64_t, InhibitorAlert> alerts_;
  // sources_[i]: the fingerprints of the alerts matching rules_[i].source_matchers.
  std::vector<std::set<uint64_t>> sources_;
};

}  // namespace platops::alerting
