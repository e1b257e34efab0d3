#pragma once
// Prometheus relabeling (relabel_configs, metric_relabel_configs, ...): the rule, its YAML/JSON
// form and the engine, with the semantics of Prometheus 2.42+ / 3.x (model/relabel). Label names
// follow the legacy scheme [a-zA-Z_][a-zA-Z0-9_]*, as everywhere in platops. Thread-safety: a
// compiled RelabelConfig is immutable; Relabel may run on any number of threads.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "metrics/labels.h"

namespace boost::json {
class value;
}

namespace platops::ingest {

enum class RelabelAction {
  kReplace,
  kKeep,
  kDrop,
  kKeepEqual,
  kDropEqual,
  kHashMod,
  kLabelMap,
  kLabelDrop,
  kLabelKeep,
  kLowercase,
  kUppercase,
};

// The configuration spelling: "replace", "keepequal", "hashmod", ...
std::string_view RelabelActionName(RelabelAction action);
// Case-insensitive, as Prometheus reads it ("Replace" is accepted); nullopt when unknown.
std::optional<RelabelAction> ParseRelabelAction(std::string_view name);

// The compiled form of a rule (regex and templates); defined in relabel.cc.
struct CompiledRelabel;

// One rule. Defaults are Prometheus's.
struct RelabelConfig {
  std::vector<std::string> source_labels;
  std::string separator = ";";
  // RE2 syntax, matched fully anchored with `.` matching newlines: ^(?s:regex)$.
  std::string regex = "(.*)";
  // hashmod only; must be > 0 there.
  uint64_t modulus = 0;
  // replace may use $1, ${1}, $name, ${name} (Go regexp Expand); other actions take a plain name.
  std::string target_label;
  std::string replacement = "$1";
  RelabelAction action = RelabelAction::kReplace;

  // Set by Compile(); shared by copies, so copying a compiled rule is cheap.
  std::shared_ptr<const CompiledRelabel> compiled;

  // Validates the rule as Prometheus does and compiles it; Relabel requires this. Errors are
  // InvalidArgument naming the offending field ("target_label", "regex", ...).
  Status Compile();
};

// Applies `configs` in order to `labels`. Returns false when a rule dropped the set (keep, drop,
// keepequal, dropequal); `labels` is then unspecified. On true, `labels` is sorted, names unique,
// no empty values (a rule that writes an empty value removes the label).
// REQUIRES: every config is compiled (a programmer error otherwise: std::logic_error).
bool Relabel(std::span<const RelabelConfig> configs, metrics::Labels& labels);

// Parses and compiles one rule from its YAML-as-JSON form (keys source_labels, separator, regex,
// modulus, target_label, replacement, action). Errors name the field under `path`, e.g.
// "scrape_configs[0].metric_relabel_configs[2].action: unknown action \"foo\"". As in Prometheus,
// unknown keys are errors and a null value is the field's zero value (regex: null matches "").
Result<RelabelConfig> ParseRelabelConfig(const boost::json::value& rule, std::string_view path);
// A list of rules (null is an empty list); element paths are `path[i]`.
Result<std::vector<RelabelConfig>> ParseRelabelConfigs(const boost::json::value& rules,
                                                       std::string_view path);

// [a-zA-Z_][a-zA-Z0-9_]*
bool IsValidLabelName(std::string_view name);
// A scalar as Go's YAML decoder hands it to a string field: strings as they are, integers and
// booleans as written in JSON, doubles in their shortest form, null as "". nullopt for arrays and
// objects.
std::optional<std::string> ScalarText(const boost::json::value& v);

}  // namespace platops::ingest
