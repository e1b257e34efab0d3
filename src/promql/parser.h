#pragma once
// The PromQL parser: text to a type-checked AST (ast.h), accepting exactly what Prometheus 3.x
// accepts, with Prometheus's error wording. Thread-safety: pure functions.

#include <memory>
#include <string_view>

#include "base/status.h"
#include "promql/ast.h"

namespace platops::promql {

// Parses and type-checks one expression. Errors are InvalidArgument with the message
// "<line>:<col>: parse error: <what>" (1-based, columns in bytes).
Result<std::unique_ptr<Expr>> Parse(std::string_view input);

// Parses a Prometheus duration ("1h30m", "5m", "1d", "250ms"; units y w d h m s ms, each at most
// once, in that order); "0" is accepted as zero.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace platops::promql
