#pragma once
// ApplyYaml: YAML documents applied through config::Apply as `platops apply -f` applies them, for
// the tests of a kind. For tests only.

#include <string>
#include <vector>

#include "base/status.h"
#include "config/kind_registry.h"
#include "store/store.h"

namespace platops::testing {

// Every document of `yaml` (named `file`, numbered from 0) applied by `actor`.
Result<config::ApplyResult> ApplyYaml(store::Store& store, const config::KindRegistry& kinds,
                                      const std::string& yaml, bool prune = false,
                                      const std::string& file = "test.yaml",
                                      const std::string& actor = "admin");

// The plan as "<action> <kind> <key>" lines, e.g. "create RuleGroup g".
std::vector<std::string> PlanLines(const config::ApplyResult& result);

}  // namespace platops::testing
