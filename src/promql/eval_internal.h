#pragma once
// Internals of the PromQL evaluator, shared by engine.cc (tree walk, selectors, subqueries),
// functions.cc (function calls), eval_binary.cc (operators) and eval_aggregate.cc
// (aggregations). Not part of the public API.
// Thread-safety: an Evaluator belongs to one query and is used on that query's thread only.

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "metrics/labels.h"
#include "metrics/sample.h"
#include "metrics/storage.h"
#include "promql/ast.h"
#include "promql/engine.h"

namespace platops::promql::eval {

using metrics::Label;
using metrics::Labels;
using metrics::Sample;

// The default step of a subquery without one (`x[10m:]`): Prometheus's default global
// evaluation interval.
inline constexpr int64_t kDefaultSubqueryStepMs = 60'000;

// The evaluation times of one (sub)query: start, start+interval, ... <= end (Unix ms).
struct StepRange {
  int64_t start = 0;
  int64_t end = 0;
  int64_t interval = 1;
  size_t NumSteps() const {
    return end < start ? 0 : static_cast<size_t>((end - start) / interval) + 1;
  }
  int64_t Time(size_t k) const { return start + static_cast<int64_t>(k) * interval; }
  size_t Index(int64_t t) const { return static_cast<size_t>((t - start) / interval); }
};

// One series of an instant-vector expression over all steps (points at step times, ascending),
// or of a range vector (raw samples). Never empty once part of a SeriesSet.
struct EvalSeries {
  Labels labels;
  std::vector<Sample> points;
  // Prometheus 3's delayed name removal: __name__ stays in `labels` until the end of the query,
  // where it is dropped from the series flagged here.
  bool drop_name = false;
};
// Series with pairwise distinct label sets.
using SeriesSet = std::vector<EvalSeries>;

// The value of an expression over all steps of a StepRange.
struct EvalValue {
  ValueType type = ValueType::kVector;
  std::vector<double> scalar;  // kScalar: one value per step.
  SeriesSet series;            // kVector (step points) or kMatrix (raw samples).
  std::string str;             // kString.
};

// A read-only view of one series, handed to a SeriesSink while streaming.
struct SeriesView {
  const Labels& labels;
  bool drop_name;
  std::span<const Sample> points;
};
using SeriesSink = std::function<Status(const SeriesView&)>;

inline bool IsStaleNaN(double v) { return std::bit_cast<uint64_t>(v) == metrics::kStaleNanBits; }

// ---- Label helpers (labels are sorted by name, names unique) ----

std::string_view GetLabel(const Labels& labels, std::string_view name);
// Sets (or, for an empty value, removes) one label, keeping the set sorted.
void SetLabel(Labels& labels, std::string_view name, std::string_view value);
void DelLabel(Labels& labels, std::string_view name);
// Keeps only the labels named in `names` (any order).
Labels KeepLabels(const Labels& labels, std::span<const std::string> names);
// Drops the labels named in `names` (any order).
Labels DropLabels(const Labels& labels, std::span<const std::string> names);
Labels WithoutName(const Labels& labels);
// Prometheus's labels.String(): {__name__="a", b="c"}.
std::string LabelsString(const Labels& labels);
// A key identifying `labels` restricted to (on=true) or excluding (on=false) `names`; __name__ is
// always excluded when on=false. `names` must be sorted.
void SignatureKey(const Labels& labels, std::span<const std::string> names, bool on,
                  std::string& out);
// XXH64 of name\xff value\xff..., exactly Prometheus's labels.Hash().
uint64_t LabelsHash(const Labels& labels);
uint64_t XxHash64(std::string_view data, uint64_t seed = 0);
bool ValidLabelName(std::string_view name);
bool ValidUtf8(std::string_view s);

// ---- Numeric helpers ----

// Neumaier-compensated addition, as Prometheus's kahanSumInc.
inline void KahanSumInc(double inc, double& sum, double& c) {
  const double t = sum + inc;
  if (std::isinf(t)) {
    c = 0;
  } else if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}
// Prometheus's quantile over a set of values (sorted in place, NaN first).
double Quantile(double q, std::vector<double>& values);
// Go's strconv.FormatFloat(v, 'f', -1, 64), with "+Inf", "-Inf", "NaN".
std::string FormatFloatGo(double v);
// Go's strconv.ParseFloat for label values like le="0.1", "+Inf", "1e3".
std::optional<double> ParseFloatGo(std::string_view s);
// github.com/facette/natsort's Compare: true when a sorts before b.
bool NaturalLess(std::string_view a, std::string_view b);

// Orders `v` by value, NaN last, as Go's sort.Sort does with Prometheus's value orderings:
// insertion sort (stable, with Prometheus's exact comparisons) up to 12 elements, a stable sort
// with an equivalent strict ordering beyond.
template <typename T, typename ValueFn>
void SortByValue(std::vector<T>& v, ValueFn value, bool descending) {
  if (v.size() <= 12) {
    auto go_less = [&](const T& a, const T& b) {
      const double va = value(a);
      const double vb = value(b);
      return std::isnan(vb) || (descending ? vb < va : vb > va);
    };
    for (size_t i = 1; i < v.size(); ++i) {
      for (size_t j = i; j > 0 && go_less(v[j], v[j - 1]); --j) std::swap(v[j], v[j - 1]);
    }
    return;
  }
  std::stable_sort(v.begin(), v.end(), [&](const T& a, const T& b) {
    const double va = value(a);
    const double vb = value(b);
    if (std::isnan(va)) return false;
    if (std::isnan(vb)) return true;
    return descending ? va > vb : va < vb;
  });
}

// Collects output series keyed by label set; a second point for the same series at the same
// time is a duplicate labelset.
class SeriesCollector {
 public:
  // The index of the series with `labels`, created (with `drop_name`) when new.
  size_t Intern(Labels labels, bool drop_name);
  // False when the series already has a point at t.
  bool Append(size_t index, int64_t t, double v) {
    auto& pts = out_[index].points;
    if (!pts.empty() && pts.back().t == t) return false;
    pts.push_back(Sample{t, v});
    return true;
  }
  EvalSeries& series(size_t index) { return out_[index]; }
  size_t size() const { return out_.size(); }
  // The collected series that have points, in creation order.
  SeriesSet Take();

 private:
  SeriesSet out_;
  std::unordered_map<uint64_t, std::vector<size_t>> index_;
};

// The points of a SeriesSet regrouped by step, for algorithms that work step by step: reading
// one contiguous list per step instead of one point from every series keeps them cache-friendly.
class StepIndex {
 public:
  struct Entry {
    uint32_t series;  // Index into the SeriesSet.
    double v;
  };
  StepIndex(const SeriesSet& set, const StepRange& r);
  // The series with a point at step k, in SeriesSet order.
  std::span<const Entry> At(size_t k) const {
    return {entries_.data() + offsets_[k], offsets_[k + 1] - offsets_[k]};
  }

 private:
  std::vector<size_t> offsets_;
  std::vector<Entry> entries_;
};

// Warnings and infos of one query, deduplicated, in first-seen order.
class Annotations {
 public:
  void Warn(std::string msg);
  void Info(std::string msg);
  std::vector<std::string> TakeWarnings() { return std::move(warnings_); }
  std::vector<std::string> TakeInfos() { return std::move(infos_); }

 private:
  std::vector<std::string> warnings_;
  std::vector<std::string> infos_;
  std::unordered_set<std::string> seen_;
};

// A reusable sample buffer, refilled for every series of a query; clearing keeps its storage.
class SampleBuffer {
 public:
  void clear() { data_.clear(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  std::span<const Sample> span() const { return data_; }
  std::vector<Sample>& vec() { return data_; }

 private:
  std::vector<Sample> data_;
};

// What rate(), increase() and delta() derive from a window's shape alone (its first and last
// samples' distances to the window's bounds and its sample count): regular series slide through
// windows of one shape, so the divisions are done once per shape, not once per window.
struct RateShape {
  int64_t to_start_ms = -1;
  int64_t to_end_ms = 0;
  int64_t sampled_ms = 0;
  size_t n = 0;
  double sampled = 0;   // Seconds from the first to the last sample.
  double to_start = 0;  // Seconds to extrapolate before the first sample, before the zero clamp.
  double to_end = 0;    // Seconds to extrapolate after the last sample.
  double factor = 0;    // The extrapolation factor (divided by the range for rate) without a clamp.
};

// One window of a range-vector function: samples all[lo, hi) of a series.
struct RangeWindow {
  std::span<const Sample> all;  // The series' samples over the whole evaluation (no stale NaNs).
  size_t lo = 0;
  size_t hi = 0;
  // For counter functions: false when no sample of the window is below its predecessor.
  bool may_reset = true;
  int64_t range_start = 0;  // Exclusive lower bound of the window (ref - range).
  int64_t range_end = 0;    // Inclusive upper bound (ref).
  int64_t range_ms = 0;
  double range_seconds = 0;  // range_ms as Go's Duration.Seconds() computes it.
  int64_t ts = 0;            // The evaluation step time.
  double arg0 = 0;           // Scalar arguments at this step (function-specific).
  double arg1 = 0;
  mutable int error = 0;  // Set by a function that rejects its arguments (function-specific).
  mutable RateShape shape;  // The last window shape a rate-like function saw.
  std::span<const Sample> window() const { return all.subspan(lo, hi - lo); }
};

// What one series' windows need besides its samples.
struct SlideParams {
  const StepRange* r = nullptr;
  std::optional<int64_t> at;
  int64_t offset = 0;
  int64_t range = 0;
  const double* arg0 = nullptr;  // Per-step scalar arguments, when the function has them.
  const double* arg1 = nullptr;
};
// Slides a range function's window across the steps of p.r over one series' samples and writes
// a point per step with a value; returns the number of points, or -(error code) when the
// function rejected its scalar arguments.
using SlideFn = int64_t (*)(std::span<const Sample>, const SlideParams&, Sample*);

// Selections of at least this many series are read on Options::parallelism threads.
inline constexpr size_t kParallelMinSeries = 64;
// How many series the reading threads may run ahead of the one evaluating.
inline constexpr size_t kParallelWindow = 256;

// Replaces the contents of `out` with the non-stale samples of one series, t in (mint, maxt].
// Safe to call from several threads on different buffers.
Status ReadSeriesRange(const metrics::Series& series, int64_t mint, int64_t maxt,
                       SampleBuffer& out);

// Hands each series of an evaluated value to `sink`; a scalar becomes one series without labels.
Status StreamValue(const EvalValue& v, const StepRange& r, const SeriesSink& sink);

class Evaluator {
 public:
  struct Options {
    int64_t lookback_ms = 300'000;
    int64_t max_samples = 50'000'000;
    int64_t query_start = 0;  // For @ start().
    int64_t query_end = 0;    // For @ end().
    const Clock* clock = nullptr;
    Timestamp deadline;
    const std::atomic<bool>* canceled = nullptr;
    std::string_view query;  // The query text, for annotation positions.
    int parallelism = 1;     // Threads that read large selections.
  };

  Evaluator(metrics::Querier& querier, Options options);

  // Evaluates `e` at every step of `r`.
  Result<EvalValue> Eval(const Expr& e, const StepRange& r);
  // Calls `sink` with each series of the instant-vector expression `e` over `r`, in the order
  // Eval would return them, without holding all of them in memory where the node allows it.
  Status ForEachSeries(const Expr& e, const StepRange& r, const SeriesSink& sink);

  // Records an error of Prometheus type `type`; the returned Status carries the message.
  Status Fail(ErrorType type, std::string message);
  // The type of the error a failed Eval returned (kNone: a storage error, see the Status code).
  ErrorType error_type() const { return error_type_; }
  // kTimeout/kCanceled when the query must stop.
  Status CheckInterrupt();
  // True when the query must stop (canceled or past its deadline). Unlike CheckInterrupt it
  // records nothing, so any thread of the query may ask.
  bool Interrupted() const;
  // Counts samples held in memory; fails past the max_samples limit.
  Status AddSamples(int64_t n);
  // The error AddSamples returns past the limit.
  Status TooManySamples();
  int64_t max_samples() const { return options_.max_samples; }
  int64_t current_samples() const { return current_samples_; }
  void set_current_samples(int64_t n) { current_samples_ = n; }
  Annotations& annotations() { return annotations_; }
  // "line:col" of a byte offset in the query text.
  std::string Position(size_t pos) const;
  int64_t lookback_ms() const { return options_.lookback_ms; }
  int parallelism() const { return options_.parallelism; }
  // The time of an @ modifier, if any.
  std::optional<int64_t> AtTime(const AtModifier& at) const;

  // The series of a selector, selected once per query.
  Result<const std::vector<std::unique_ptr<metrics::Series>>*> SelectSeries(
      const VectorSelector& vs);

  // The inner expression of a subquery over the subquery's own steps (aligned to multiples of
  // its step in absolute time), covering every window the outer steps of `outer` need.
  Result<SeriesSet> EvalSubqueryInner(const SubqueryExpr& sq, const StepRange& outer);

  // Node evaluators (engine.cc unless noted).
  Result<EvalValue> EvalCall(const Call& call, const StepRange& r);                 // functions.cc
  Result<EvalValue> EvalInfo(const Call& call, const StepRange& r);                 // functions.cc
  Status StreamCall(const Call& call, const StepRange& r, const SeriesSink& sink);  // functions.cc
  Result<EvalValue> EvalBinary(const BinaryExpr& b, const StepRange& r);        // eval_binary.cc
  Result<EvalValue> EvalAggregate(const AggregateExpr& a, const StepRange& r);  // eval_aggregate.cc

  // Streams the series of a vector selector over `r`; with `timestamps`, point values are the
  // sample timestamps in seconds (for timestamp()).
  Status StreamVectorSelector(const VectorSelector& vs, const StepRange& r, bool timestamps,
                              const SeriesSink& sink);
  // Hands over every selection made so far; the evaluator must not be used afterwards.
  std::vector<std::vector<std::unique_ptr<metrics::Series>>> TakeSelections();
  Status ReadRange(const metrics::Series& series, int64_t mint, int64_t maxt, SampleBuffer& out) {
    return ReadSeriesRange(series, mint, maxt, out);
  }

 private:
  Result<EvalValue> EvalNode(const Expr& e, const StepRange& r);
  Result<EvalValue> EvalMatrixSelector(const MatrixSelector& ms, const StepRange& r);

  metrics::Querier& querier_;
  Options options_;
  ErrorType error_type_ = ErrorType::kNone;
  int64_t current_samples_ = 0;
  Annotations annotations_;
  std::unordered_map<const VectorSelector*, std::vector<std::unique_ptr<metrics::Series>>>
      series_cache_;
  // Selectors the evaluator builds itself (info()); kept alive as series_cache_ keys.
  std::vector<std::unique_ptr<VectorSelector>> synthetic_selectors_;
};

// A range-vector function without scalar arguments applied to a matrix selector (rate(x[5m]),
// max_over_time(x[1h]), ...), prepared so that an aggregation over it can evaluate disjoint step
// ranges on several threads, each series' points going straight into that range's accumulators.
class RangeCall {
 public:
  // Null when `c` is not such a call. Selects the series.
  static Result<std::unique_ptr<RangeCall>> Prepare(Evaluator& ev, const Call& c);

  const std::vector<std::unique_ptr<metrics::Series>>& series() const { return *series_; }
  // Whether the output drops the metric name (all but last_over_time).
  bool drop_name() const { return drop_name_; }
  // Writes the points of series i at the steps of `r` to `out` (room for r.NumSteps() points)
  // and sets `count` to their number and `raw` to the samples read. Thread-safe: `buf` and
  // `out` are the caller's.
  Status Run(size_t i, const StepRange& r, SampleBuffer& buf, Sample* out, size_t& count,
             size_t& raw) const;
  // Adds the annotations a series with output earns (rate/increase of a non-counter name).
  void Annotate(Evaluator& ev, const Labels& labels) const;

 private:
  RangeCall() = default;
  const Call* call_ = nullptr;
  const std::vector<std::unique_ptr<metrics::Series>>* series_ = nullptr;
  SlideFn slide_ = nullptr;
  SlideParams params_;
  bool drop_name_ = true;
};

// Total number of points in a set.
int64_t TotalPoints(const SeriesSet& set);
// Unwraps parentheses.
const Expr& Unparen(const Expr& e);
// The labels absent()/absent_over_time() report for a selector argument.
Labels AbsentLabels(const Expr& arg);

}  // namespace platops::promql::eval
