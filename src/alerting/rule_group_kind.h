#pragma once
// `kind: RuleGroup`: a Prometheus rule group kept in the store and managed by apply/export like
// every other object. A document is one group exactly as a rule file writes it (`name`,
// `interval`, `query_offset`, `limit`, `labels`, `rules`), validated by ParseRuleFile with the
// rule templates checked, so it is accepted exactly when `promtool check rules` accepts it as
// the only group of a file. Owns table `rule_groups`; appends `rule_group.created|updated|deleted`
// events (subject type `rule_group`, subject id the group name).
//
// The key is the group name, unique among stored RuleGroups. Each stored group reaches the rule
// manager with file "RuleGroup/<name>", and Prometheus identifies a group by file and name, so a
// stored group may share its name with a group of a rule file on disk: they are two groups, with
// separate schedules and alert state.
// Thread-safety: RuleGroupStore is thread-safe.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "alerting/rule_file.h"
#include "base/clock.h"
#include "base/status.h"
#include "store/store.h"

namespace platops::config {
class KindRegistry;
}
namespace platops::events {
class EventLog;
}

namespace platops::alerting {

// The `file` of every stored group: "RuleGroup/<name>".
std::string RuleGroupFile(const std::string& name);

class RuleGroupStore {
 public:
  // Module "alerting_rule_groups": table `rule_groups (name TEXT PRIMARY KEY, doc TEXT NOT NULL,
  // version INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`, `doc`
  // the normalised document as JSON text, times in milliseconds since the epoch.
  static std::vector<store::Migration> Migrations();

  // `store`, `log` and `clock` must outlive this object.
  RuleGroupStore(store::Store& store, const events::EventLog& log, const Clock& clock);

  // Reads the stored groups into memory. A stored group that no longer validates (a stricter
  // release) is left out of Specs() with a warning logged, but still lists, so an apply can fix
  // or delete it. Non-OK only when the store fails.
  Status Load();

  // The stored groups as of the last commit, in name order, each with file RuleGroupFile(name)
  // and rule lines 0 (they come from no file).
  std::vector<RuleGroupSpec> Specs() const;

  // Sets the listener called (on the committing thread, without any lock of this object) after a
  // commit that created, changed or deleted a group; Specs() then includes that change. A commit
  // changing N groups calls it N times, the last time with the whole commit applied. Set it at
  // start-up, before the first write.
  void OnChange(std::function<void()> f);

  // The stored documents, name -> normalised document (JSON object text), for apply's list.
  Result<std::map<std::string, std::string>> Docs(store::Tx& tx) const;
  // Creates (`create`) or updates the group a normalised document describes, inside `tx`, with
  // its event; memory follows after the commit. An update to an identical document writes
  // nothing. kConflict when creating an existing name, kNotFound when updating a missing one.
  Status Put(store::Tx& tx, const std::string& actor, const std::string& doc, bool create);
  // kNotFound when there is no such group.
  Status Delete(store::Tx& tx, const std::string& actor, const std::string& name);

 private:
  // Applies a committed change to memory (nullopt: deleted) and tells the listener.
  void Changed(const std::string& name, std::optional<RuleGroupSpec> spec);

  store::Store& store_;
  const events::EventLog& log_;
  const Clock& clock_;
  std::mutex change_mu_;
  std::function<void()> on_change_;  // GUARDED_BY(change_mu_)
  mutable std::mutex mu_;
  std::map<std::string, RuleGroupSpec> groups_;  // GUARDED_BY(mu_)
};

// Registers `kind: RuleGroup` (order 80, write role 3 operator, no references). Decode errors
// are InvalidArgument with promtool's message for the problem, without its file and line:col
// (which would point into a synthetic file), and the field the position maps to
// (`rules[1].expr`), prefixed with the registry's path. `groups` must outlive the registry.
void RegisterRuleGroupKind(config::KindRegistry& registry, RuleGroupStore& groups);

}  // namespace platops::alerting
