#pragma once
// Runs PromQL test scripts: the format of Prometheus's promql/promqltest files (load, clear, eval
// instant/range, eval_fail, eval_ordered, expect ... lines), described in
// ../shared/conformance/promql/FORMAT.md and docs/promql.md. Evaluations that load or expect
// native histograms ({{...}}) are skipped and counted. Used by `platops promql test FILE...` and
// by the conformance test in make test.
// Thread-safety: pure functions; each run has its own storage and engine.

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace platops::promql {

struct ScriptFailure {
  int line = 0;             // 1-based line of the eval command.
  std::string message;      // What differed: "expected ... got ...", or the query error.
};

struct ScriptReport {
  int passed = 0;
  int failed = 0;
  int skipped = 0;
  std::vector<ScriptFailure> failures;
};

// Runs every command of `script` (the text of one file; `name` is used in messages only).
// A script that cannot be parsed (bad load line, unknown command) is InvalidArgument with
// "<name>:<line>: <reason>"; failing evaluations are counted in the report, not errors.
Result<ScriptReport> RunScript(std::string_view name, std::string_view script);

// "N passed, N failed, N skipped".
std::string FormatCounts(const ScriptReport& report);

}  // namespace platops::promql
