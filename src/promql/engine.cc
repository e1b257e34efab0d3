#include "promql/engine.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "promql/eval_internal.h"
#include "promql/parser.h"

namespace platops::promql {

std::string_view ErrorTypeName(ErrorType type) {
  switch (type) {
    case ErrorType::kNone:
      return "";
    case ErrorType::kBadData:
      return "bad_data";
    case ErrorType::kExecution:
      return "execution";
    case ErrorType::kTimeout:
      return "timeout";
    case ErrorType::kCanceled:
      return "canceled";
    case ErrorType::kInternal:
      return "internal";
  }
  return "internal";
}

std::string_view ResultTypeName(const Value& value) {
  switch (value.index()) {
    case 0:
      return "scalar";
    case 1:
      return "vector";
    case 2:
      return "matrix";
    default:
      return "string";
  }
}

namespace eval {

Evaluator::Evaluator(metrics::Querier& querier, Options options)
    : querier_(querier), options_(std::move(options)) {}

Status Evaluator::Fail(ErrorType type, std::string message) {
  error_type_ = type;
  return Status(StatusCode::kUnprocessable, std::move(message));
}

Status Evaluator::CheckInterrupt() {
  if (options_.canceled != nullptr && options_.canceled->load(std::memory_order_relaxed)) {
    return Fail(ErrorType::kCanceled, "query was canceled in expression evaluation");
  }
  if (options_.clock != nullptr && options_.clock->Now() > options_.deadline) {
    return Fail(ErrorType::kTimeout, "query timed out in expression evaluation");
  }
  return Status::Ok();
}

bool Evaluator::Interrupted() const {
  return (options_.canceled != nullptr && options_.canceled->load(std::memory_order_relaxed)) ||
         (options_.clock != nullptr && options_.clock->Now() > options_.deadline);
}

Status Evaluator::AddSamples(int64_t n) {
  current_samples_ += n;
  if (current_samples_ > options_.max_samples) return TooManySamples();
  return Status::Ok();
}

Status Evaluator::TooManySamples() {
  return Fail(ErrorType::kExecution,
              "query processing would load too many samples into memory in query execution");
}

std::string Evaluator::Position(size_t pos) const {
  size_t line = 1;
  size_t col = 1;
  for (size_t i = 0; i < pos && i < options_.query.size(); ++i) {
    if (options_.query[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

std::optional<int64_t> Evaluator::AtTime(const AtModifier& at) const {
  switch (at.kind) {
    case AtModifier::Kind::kNone:
      return std::nullopt;
    case AtModifier::Kind::kTimestamp:
      return at.timestamp_ms;
    case AtModifier::Kind::kStart:
      return options_.query_start;
    case AtModifier::Kind::kEnd:
      return options_.query_end;
  }
  return std::nullopt;
}

Result<const std::vector<std::unique_ptr<metrics::Series>>*> Evaluator::SelectSeries(
    const VectorSelector& vs) {
  auto it = series_cache_.find(&vs);
  if (it != series_cache_.end()) return &it->second;
  auto selected = querier_.Select(vs.matchers);
  if (!selected.ok()) return selected.status();
  auto [pos, inserted] = series_cache_.emplace(&vs, std::move(selected).value());
  return &pos->second;
}

std::vector<std::vector<std::unique_ptr<metrics::Series>>> Evaluator::TakeSelections() {
  std::vector<std::vector<std::unique_ptr<metrics::Series>>> out;
  out.reserve(series_cache_.size());
  for (auto& [selector, series] : series_cache_) out.push_back(std::move(series));
  series_cache_.clear();
  return out;
}

Status ReadSeriesRange(const metrics::Series& series, int64_t mint, int64_t maxt,
                       SampleBuffer& out) {
  out.clear();
  if (maxt <= mint) return Status::Ok();
  auto it = series.Iterator();
  if (it->Seek(mint + 1)) {
    std::vector<Sample>& v = out.vec();
    it->AppendUntil(maxt, v);
    // Stale markers end a series for lookback; a range function ignores them.
    const auto stale = [](const Sample& s) { return IsStaleNaN(s.v); };
    auto first = std::find_if(v.begin(), v.end(), stale);
    if (first != v.end()) v.erase(std::remove_if(first, v.end(), stale), v.end());
  }
  return it->status();
}

Status Evaluator::StreamVectorSelector(const VectorSelector& vs, const StepRange& r,
                                       bool timestamps, const SeriesSink& sink) {
  PLATOPS_ASSIGN_OR_RETURN(const auto* series, SelectSeries(vs));
  const std::optional<int64_t> at = AtTime(vs.at);
  const int64_t offset = vs.offset.count();
  const int64_t lookback = options_.lookback_ms;
  const size_t steps = r.NumSteps();
  if (steps == 0) return Status::Ok();
  const int64_t first_ref = (at ? *at : r.start) - offset;
  std::vector<Sample> points;
  points.reserve(steps);
  for (const auto& s : *series) {
    PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
    points.clear();
    auto it = s->Iterator();
    bool has_next = it->Seek(first_ref - lookback + 1);
    Sample next = has_next ? it->At() : Sample{};
    bool has_prev = false;
    Sample prev;
    for (size_t k = 0; k < steps; ++k) {
      const int64_t ts = r.Time(k);
      const int64_t ref = (at ? *at : ts) - offset;
      while (has_next && next.t <= ref) {
        prev = next;
        has_prev = true;
        has_next = it->Next();
        if (has_next) next = it->At();
      }
      if (!has_prev || prev.t <= ref - lookback || IsStaleNaN(prev.v)) continue;
      points.push_back(Sample{ts, timestamps ? static_cast<double>(prev.t) / 1000 : prev.v});
    }
    PLATOPS_RETURN_IF_ERROR(it->status());
    if (points.empty()) continue;
    const auto n = static_cast<int64_t>(points.size());
    PLATOPS_RETURN_IF_ERROR(AddSamples(n));
    Status st = sink(SeriesView{s->labels(), timestamps, points});
    current_samples_ -= n;
    PLATOPS_RETURN_IF_ERROR(st);
  }
  return Status::Ok();
}

Result<EvalValue> Evaluator::EvalMatrixSelector(const MatrixSelector& ms, const StepRange& r) {
  const VectorSelector& vs = *ms.selector;
  PLATOPS_ASSIGN_OR_RETURN(const auto* series, SelectSeries(vs));
  const std::optional<int64_t> at = AtTime(vs.at);
  const int64_t ref = (at ? *at : r.start) - vs.offset.count();
  EvalValue out;
  out.type = ValueType::kMatrix;
  SampleBuffer buf;
  for (const auto& s : *series) {
    PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
    PLATOPS_RETURN_IF_ERROR(ReadRange(*s, ref - ms.range.count(), ref, buf));
    if (buf.empty()) continue;
    PLATOPS_RETURN_IF_ERROR(AddSamples(static_cast<int64_t>(buf.size())));
    out.series.push_back(EvalSeries{s->labels(), {buf.span().begin(), buf.span().end()}, false});
  }
  return out;
}

Result<SeriesSet> Evaluator::EvalSubqueryInner(const SubqueryExpr& sq, const StepRange& outer) {
  const std::optional<int64_t> at = AtTime(sq.at);
  const int64_t offset = sq.offset.count();
  const int64_t range = sq.range.count();
  StepRange inner;
  inner.interval = sq.step.count() > 0 ? sq.step.count() : kDefaultSubqueryStepMs;
  inner.end = (at ? *at : outer.end) - offset;
  const int64_t lo = (at ? *at : outer.start) - offset - range;
  // Steps are aligned to multiples of the subquery step in absolute time (Go's truncating
  // division, as Prometheus).
  inner.start = inner.interval * (lo / inner.interval);
  if (inner.start <= lo) inner.start += inner.interval;
  PLATOPS_ASSIGN_OR_RETURN(EvalValue v, Eval(*sq.expr, inner));
  if (v.type == ValueType::kScalar) {
    EvalSeries s;
    for (size_t k = 0; k < v.scalar.size(); ++k) s.points.push_back({inner.Time(k), v.scalar[k]});
    SeriesSet set;
    if (!s.points.empty()) set.push_back(std::move(s));
    return set;
  }
  return std::move(v.series);
}

Result<EvalValue> Evaluator::Eval(const Expr& e, const StepRange& r) {
  PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
  const int64_t base = current_samples_;
  auto v = EvalNode(e, r);
  if (v.ok()) {
    const EvalValue& val = v.value();
    current_samples_ =
        base + (val.type == ValueType::kScalar ? static_cast<int64_t>(val.scalar.size())
                                               : TotalPoints(val.series));
  }
  return v;
}

Result<EvalValue> Evaluator::EvalNode(const Expr& e, const StepRange& r) {
  EvalValue out;
  out.type = e.type;
  switch (e.kind) {
    case ExprKind::kNumber:
      out.scalar.assign(r.NumSteps(), static_cast<const NumberLiteral&>(e).value);
      return out;
    case ExprKind::kString:
      out.str = static_cast<const StringLiteral&>(e).value;
      return out;
    case ExprKind::kVectorSelector: {
      PLATOPS_RETURN_IF_ERROR(StreamVectorSelector(
          static_cast<const VectorSelector&>(e), r, false, [&](const SeriesView& v) {
            out.series.push_back(
                EvalSeries{v.labels, {v.points.begin(), v.points.end()}, v.drop_name});
            return AddSamples(static_cast<int64_t>(v.points.size()));
          }));
      return out;
    }
    case ExprKind::kMatrixSelector:
      return EvalMatrixSelector(static_cast<const MatrixSelector&>(e), r);
    case ExprKind::kSubquery: {
      PLATOPS_ASSIGN_OR_RETURN(out.series,
                               EvalSubqueryInner(static_cast<const SubqueryExpr&>(e), r));
      return out;
    }
    case ExprKind::kUnary: {
      const auto& u = static_cast<const UnaryExpr&>(e);
      PLATOPS_ASSIGN_OR_RETURN(EvalValue v, Eval(*u.expr, r));
      if (!u.negate) return v;
      for (double& x : v.scalar) x = -x;
      for (auto& s : v.series) {
        s.drop_name = true;
        for (auto& p : s.points) p.v = -p.v;
      }
      return v;
    }
    case ExprKind::kBinary:
      return EvalBinary(static_cast<const BinaryExpr&>(e), r);
    case ExprKind::kAggregate:
      return EvalAggregate(static_cast<const AggregateExpr&>(e), r);
    case ExprKind::kCall:
      return EvalCall(static_cast<const Call&>(e), r);
    case ExprKind::kParen:
      return Eval(*static_cast<const ParenExpr&>(e).expr, r);
  }
  return Fail(ErrorType::kInternal, "unhandled expression kind");
}

Status StreamValue(const EvalValue& v, const StepRange& r, const SeriesSink& sink) {
  if (v.type == ValueType::kScalar) {
    EvalSeries s;
    for (size_t k = 0; k < v.scalar.size(); ++k) s.points.push_back({r.Time(k), v.scalar[k]});
    if (s.points.empty()) return Status::Ok();
    return sink(SeriesView{s.labels, false, s.points});
  }
  for (const auto& s : v.series) {
    PLATOPS_RETURN_IF_ERROR(sink(SeriesView{s.labels, s.drop_name, s.points}));
  }
  return Status::Ok();
}

Status Evaluator::ForEachSeries(const Expr& e, const StepRange& r, const SeriesSink& sink) {
  switch (e.kind) {
    case ExprKind::kParen:
      return ForEachSeries(*static_cast<const ParenExpr&>(e).expr, r, sink);
    case ExprKind::kVectorSelector:
      return StreamVectorSelector(static_cast<const VectorSelector&>(e), r, false, sink);
    case ExprKind::kCall:
      return StreamCall(static_cast<const Call&>(e), r, sink);
    default:
      break;
  }
  PLATOPS_ASSIGN_OR_RETURN(EvalValue v, Eval(e, r));
  return StreamValue(v, r, sink);
}

}  // namespace eval

namespace {

using eval::EvalSeries;
using eval::SeriesSet;
using metrics::Sample;

// The earliest and latest sample time any selector of the query can read (Prometheus's
// FindMinMaxTime), so one querier covers the whole evaluation.
class TimeBounds {
 public:
  TimeBounds(int64_t start, int64_t end, int64_t lookback)
      : start_(start), end_(end), lookback_(lookback) {}

  void Walk(const Expr& e, int64_t subq_offset, int64_t subq_range,
            std::optional<int64_t> subq_at) {
    switch (e.kind) {
      case ExprKind::kVectorSelector:
        Selector(static_cast<const VectorSelector&>(e), 0, subq_offset, subq_range, subq_at);
        return;
      case ExprKind::kMatrixSelector: {
        const auto& ms = static_cast<const MatrixSelector&>(e);
        Selector(*ms.selector, ms.range.count(), subq_offset, subq_range, subq_at);
        return;
      }
      case ExprKind::kSubquery: {
        const auto& sq = static_cast<const SubqueryExpr&>(e);
        const auto at = At(sq.at);
        if (at) {
          Walk(*sq.expr, sq.offset.count(), sq.range.count(), at);
        } else {
          Walk(*sq.expr, subq_offset + sq.offset.count(), subq_range + sq.range.count(), subq_at);
        }
        return;
      }
      case ExprKind::kUnary:
        Walk(*static_cast<const UnaryExpr&>(e).expr, subq_offset, subq_range, subq_at);
        return;
      case ExprKind::kParen:
        Walk(*static_cast<const ParenExpr&>(e).expr, subq_offset, subq_range, subq_at);
        return;
      case ExprKind::kBinary: {
        const auto& b = static_cast<const BinaryExpr&>(e);
        Walk(*b.lhs, subq_offset, subq_range, subq_at);
        Walk(*b.rhs, subq_offset, subq_range, subq_at);
        return;
      }
      case ExprKind::kAggregate: {
        const auto& a = static_cast<const AggregateExpr&>(e);
        if (a.param) Walk(*a.param, subq_offset, subq_range, subq_at);
        Walk(*a.expr, subq_offset, subq_range, subq_at);
        return;
      }
      case ExprKind::kCall: {
        const auto& c = static_cast<const Call&>(e);
        for (const auto& arg : c.args) Walk(*arg, subq_offset, subq_range, subq_at);
        if (c.func->name == "info") {
          // info() selects its info series like an instant selector at each step.
          const VectorSelector plain(c.pos);
          Selector(plain, 0, subq_offset, subq_range, subq_at);
        }
        return;
      }
      case ExprKind::kNumber:
      case ExprKind::kString:
        return;
    }
  }

  bool any() const { return max_ != LLONG_MIN; }
  int64_t min() const { return min_; }
  int64_t max() const { return max_; }

 private:
  std::optional<int64_t> At(const AtModifier& at) const {
    switch (at.kind) {
      case AtModifier::Kind::kNone:
        return std::nullopt;
      case AtModifier::Kind::kTimestamp:
        return at.timestamp_ms;
      case AtModifier::Kind::kStart:
        return start_;
      case AtModifier::Kind::kEnd:
        return end_;
    }
    return std::nullopt;
  }

  void Selector(const VectorSelector& vs, int64_t range, int64_t subq_offset, int64_t subq_range,
                std::optional<int64_t> subq_at) {
    int64_t start = subq_at ? *subq_at : start_;
    int64_t end = subq_at ? *subq_at : end_;
    if (const auto at = At(vs.at)) {
      start = end = *at;
    } else {
      start -= subq_offset + subq_range;
      end -= subq_offset;
    }
    start -= (range == 0 ? lookback_ : range) - 1;
    start -= vs.offset.count();
    end -= vs.offset.count();
    min_ = std::min(min_, start);
    max_ = std::max(max_, end);
  }

  int64_t start_;
  int64_t end_;
  int64_t lookback_;
  int64_t min_ = LLONG_MAX;
  int64_t max_ = LLONG_MIN;
};

// Drops __name__ from the series flagged for it (delayed name removal) and merges series that
// now share a label set; overlapping points are an error.
Status CleanupMatrix(SeriesSet& set, bool instant_vector) {
  bool dropped = false;
  for (auto& s : set) {
    if (s.drop_name) {
      const size_t before = s.labels.size();
      eval::DelLabel(s.labels, metrics::kMetricName);
      dropped = dropped || s.labels.size() != before;
      s.drop_name = false;
    }
  }
  if (!dropped || set.size() < 2) return Status::Ok();
  std::unordered_map<uint64_t, std::vector<size_t>> by_hash;
  SeriesSet merged;
  merged.reserve(set.size());
  bool any_merge = false;
  for (auto& s : set) {
    auto& bucket = by_hash[eval::LabelsHash(s.labels)];
    size_t target = SIZE_MAX;
    for (size_t idx : bucket) {
      if (merged[idx].labels == s.labels) target = idx;
    }
    if (target == SIZE_MAX) {
      bucket.push_back(merged.size());
      merged.push_back(std::move(s));
      continue;
    }
    if (instant_vector) {
      return Status(StatusCode::kUnprocessable,
                    "vector cannot contain metrics with the same labelset");
    }
    any_merge = true;
    auto& dst = merged[target].points;
    dst.insert(dst.end(), s.points.begin(), s.points.end());
  }
  if (any_merge) {
    for (auto& s : merged) {
      std::stable_sort(s.points.begin(), s.points.end(),
                       [](const Sample& a, const Sample& b) { return a.t < b.t; });
      for (size_t i = 1; i < s.points.size(); ++i) {
        if (s.points[i].t == s.points[i - 1].t) {
          return Status(StatusCode::kUnprocessable,
                        "vector cannot contain metrics with the same labelset");
        }
      }
    }
  }
  set = std::move(merged);
  return Status::Ok();
}

Matrix ToMatrix(SeriesSet&& set) {
  Matrix m;
  m.reserve(set.size());
  for (auto& s : set) m.push_back(MatrixSeries{std::move(s.labels), std::move(s.points)});
  std::sort(m.begin(), m.end(),
            [](const MatrixSeries& a, const MatrixSeries& b) { return a.metric < b.metric; });
  return m;
}

ErrorType ErrorTypeFor(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
      return ErrorType::kBadData;
    case StatusCode::kDeadlineExceeded:
      return ErrorType::kTimeout;
    case StatusCode::kUnprocessable:
      return ErrorType::kExecution;
    default:
      return ErrorType::kInternal;
  }
}

QueryResult ErrorResult(ErrorType type, std::string message) {
  QueryResult r;
  r.error = type;
  r.error_message = std::move(message);
  return r;
}

}  // namespace

struct Engine::Impl {
  Impl(metrics::Storage& s, const Clock& c) : storage(s), clock(c) {}

  metrics::Storage& storage;
  const Clock& clock;
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;

  QueryResult Run(const EngineOptions& options, std::string_view query, int64_t start, int64_t end,
                  int64_t step, bool range, const QueryContext& ctx);
  // Waits for a free query slot; false when the wait ended by timeout or cancellation.
  bool Acquire(int max_concurrent, std::chrono::milliseconds timeout, const QueryContext& ctx,
               ErrorType& why);
  void Release() {
    {
      std::lock_guard lock(mu);
      --running;
    }
    cv.notify_one();
  }
};

bool Engine::Impl::Acquire(int max_concurrent, std::chrono::milliseconds timeout,
                           const QueryContext& ctx, ErrorType& why) {
  // The wait is measured on the steady clock: a condition variable cannot wait on the injected
  // Clock. Cancellation is polled at a short interval while waiting.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu);
  while (max_concurrent > 0 && running >= max_concurrent) {
    if (ctx.canceled != nullptr && ctx.canceled->load()) {
      why = ErrorType::kCanceled;
      return false;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      why = ErrorType::kTimeout;
      return false;
    }
    cv.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(50)));
  }
  ++running;
  return true;
}

QueryResult Engine::Impl::Run(const EngineOptions& options, std::string_view query, int64_t start,
                              int64_t end, int64_t step, bool range, const QueryContext& ctx) {
  const auto timeout = ctx.timeout.count() > 0 ? ctx.timeout : options.timeout;
  const Timestamp deadline = clock.Now() + timeout;
  ErrorType why = ErrorType::kNone;
  if (!Acquire(options.max_concurrent, timeout, ctx, why)) {
    return ErrorResult(why, why == ErrorType::kCanceled ? "query was canceled in query queue"
                                                        : "query timed out in query queue");
  }
  struct SlotGuard {
    Impl* impl;
    ~SlotGuard() { impl->Release(); }
  } guard{this};

  auto parsed = Parse(query);
  if (!parsed.ok()) return ErrorResult(ErrorType::kBadData, parsed.status().message());
  const Expr& expr = *parsed.value();
  if (range && expr.type != ValueType::kScalar && expr.type != ValueType::kVector) {
    return ErrorResult(ErrorType::kBadData,
                       "invalid expression type \"" + std::string(ValueTypeName(expr.type)) +
                           "\" for range query, must be Scalar or instant Vector");
  }
  const int64_t lookback = options.lookback_delta.count() > 0
                               ? options.lookback_delta.count()
                               : std::chrono::milliseconds(std::chrono::minutes(5)).count();
  TimeBounds bounds(start, end, lookback);
  bounds.Walk(expr, 0, 0, std::nullopt);
  auto querier =
      storage.NewQuerier(bounds.any() ? bounds.min() : 0, bounds.any() ? bounds.max() : 0);
  if (!querier.ok()) return ErrorResult(ErrorTypeFor(querier.status()), querier.status().message());

  eval::Evaluator::Options eo;
  eo.lookback_ms = lookback;
  eo.max_samples = options.max_samples;
  eo.query_start = start;
  eo.query_end = end;
  eo.clock = &clock;
  eo.deadline = deadline;
  eo.canceled = ctx.canceled;
  eo.query = query;
  eo.parallelism = options.parallelism > 0
                       ? options.parallelism
                       : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  eval::Evaluator ev(*querier.value(), eo);
  const eval::StepRange r{start, end, range ? step : 1};
  auto value = ev.Eval(expr, r);
  Status st = value.ok() ? ev.CheckInterrupt() : value.status();

  QueryResult result;
  auto fail = [&](const Status& s) {
    const ErrorType t = ev.error_type() != ErrorType::kNone ? ev.error_type() : ErrorTypeFor(s);
    return ErrorResult(t, s.message());
  };
  if (!st.ok()) return fail(st);
  eval::EvalValue& v = value.value();
  switch (v.type) {
    case ValueType::kScalar:
      if (range) {
        MatrixSeries s;
        for (size_t k = 0; k < v.scalar.size(); ++k) s.samples.push_back({r.Time(k), v.scalar[k]});
        Matrix m;
        if (!s.samples.empty()) m.push_back(std::move(s));
        result.value = std::move(m);
      } else {
        result.value = ScalarValue{start, v.scalar.empty() ? 0.0 : v.scalar[0]};
      }
      break;
    case ValueType::kString:
      result.value = StringValue{start, std::move(v.str)};
      break;
    case ValueType::kVector:
      if (range) {
        st = CleanupMatrix(v.series, false);
        if (!st.ok()) return ErrorResult(ErrorType::kExecution, st.message());
        result.value = ToMatrix(std::move(v.series));
      } else {
        st = CleanupMatrix(v.series, true);
        if (!st.ok()) return ErrorResult(ErrorType::kExecution, st.message());
        Vector vec;
        vec.reserve(v.series.size());
        for (auto& s : v.series) {
          vec.push_back(VectorElement{std::move(s.labels), start, s.points.front().v});
        }
        result.value = std::move(vec);
      }
      break;
    case ValueType::kMatrix:
      st = CleanupMatrix(v.series, false);
      if (!st.ok()) return ErrorResult(ErrorType::kExecution, st.message());
      result.value = ToMatrix(std::move(v.series));
      break;
  }
  result.warnings = ev.annotations().TakeWarnings();
  result.infos = ev.annotations().TakeInfos();
  // The series are destroyed before the querier that read them.
  struct Retained {
    std::unique_ptr<metrics::Querier> querier;
    std::vector<std::vector<std::unique_ptr<metrics::Series>>> series;
  };
  result.retained = std::make_shared<Retained>(
      Retained{std::move(querier).value(), ev.TakeSelections()});
  return result;
}

Engine::Engine(EngineOptions options, metrics::Storage& storage, const Clock& clock)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(storage, clock)) {}

Engine::~Engine() = default;

QueryResult Engine::InstantQuery(std::string_view query, int64_t t, const QueryContext& ctx) {
  return impl_->Run(options_, query, t, t, 0, false, ctx);
}

QueryResult Engine::RangeQuery(std::string_view query, int64_t start, int64_t end, int64_t step,
                               const QueryContext& ctx) {
  // The API validates these; the engine still refuses them rather than loop or divide by zero.
  if (step <= 0) {
    return ErrorResult(ErrorType::kBadData,
                       "zero or negative query resolution step widths are not accepted. Try a "
                       "positive integer");
  }
  if (end < start) {
    return ErrorResult(ErrorType::kBadData, "end timestamp must not be before start time");
  }
  return impl_->Run(options_, query, start, end, step, true, ctx);
}

}  // namespace platops::promql
