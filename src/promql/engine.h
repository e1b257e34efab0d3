#pragma once
// The PromQL evaluator: instant and range queries over a metrics::Storage with Prometheus 3.x
// semantics for float samples (native histograms are not supported).
// Thread-safety: an Engine is shared by any number of threads; each query runs on its caller's
// thread, and at most max_concurrent run at once (the rest wait, within their timeout).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "metrics/labels.h"
#include "metrics/sample.h"
#include "metrics/storage.h"
#include "promql/ast.h"

namespace platops::promql {

struct EngineOptions {
  std::chrono::milliseconds lookback_delta{std::chrono::minutes(5)};
  // Most samples held in memory at once by one query (Prometheus's query.max-samples).
  int64_t max_samples = 50'000'000;
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  int max_concurrent = 20;
  // Threads one query may use to read and transform large selections; 0: the number of cores.
  int parallelism = 0;
};

// Prometheus's API error types, in its wording ("bad_data", "execution", ...).
enum class ErrorType { kNone, kBadData, kExecution, kTimeout, kCanceled, kInternal };
std::string_view ErrorTypeName(ErrorType type);

struct ScalarValue {
  int64_t t = 0;
  double v = 0;
};
struct StringValue {
  int64_t t = 0;
  std::string v;
};
// One element of an instant vector.
struct VectorElement {
  metrics::Labels metric;
  int64_t t = 0;
  double v = 0;
};
using Vector = std::vector<VectorElement>;
// One series of a range vector or of a range query's result.
struct MatrixSeries {
  metrics::Labels metric;
  std::vector<metrics::Sample> samples;
};
using Matrix = std::vector<MatrixSeries>;

using Value = std::variant<ScalarValue, Vector, Matrix, StringValue>;
// "scalar", "vector", "matrix", "string": the resultType of the query API.
std::string_view ResultTypeName(const Value& value);

struct QueryResult {
  ErrorType error = ErrorType::kNone;
  std::string error_message;  // Prometheus's wording, e.g. "1:5: parse error: unexpected ...".
  Value value;  // Valid when error == kNone. A range query always returns a Matrix.
  std::vector<std::string> warnings;  // "PromQL warning: ..." annotations.
  std::vector<std::string> infos;     // "PromQL info: ..." annotations.
  // What the query read (its querier and selected series), kept until the result is dropped, so
  // a caller can answer first and free it afterwards (see http::Response::release_after_send).
  std::shared_ptr<void> retained;
  bool ok() const { return error == ErrorType::kNone; }
};

// Per-query control from the caller.
struct QueryContext {
  // Set to true (from any thread) to stop the query, e.g. when the HTTP client went away; the
  // query then fails with kCanceled.
  const std::atomic<bool>* canceled = nullptr;
  // Overrides EngineOptions::timeout when > 0 (the API's `timeout` parameter).
  std::chrono::milliseconds timeout{0};
};

class Engine {
 public:
  // `storage` and `clock` must outlive the engine. The clock measures timeouts only.
  Engine(EngineOptions options, metrics::Storage& storage, const Clock& clock);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Evaluates `query` at `t` (Unix ms). Result types: scalar, vector, matrix (a range-vector
  // expression), string.
  QueryResult InstantQuery(std::string_view query, int64_t t,
                           const QueryContext& ctx = QueryContext{});
  // Evaluates `query` at start, start+step, ... <= end; the expression must be a scalar or an
  // instant vector (else bad_data, as in Prometheus). REQUIRES step > 0, end >= start (the API
  // validates these with Prometheus's messages).
  QueryResult RangeQuery(std::string_view query, int64_t start, int64_t end, int64_t step,
                         const QueryContext& ctx = QueryContext{});

  const EngineOptions& options() const { return options_; }

 private:
  struct Impl;
  EngineOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace platops::promql
