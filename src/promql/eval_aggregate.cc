// Aggregations (sum, avg, min, max, group, count, stddev, stdvar, quantile, count_values, topk,
// bottomk, limitk, limit_ratio) with by/without, as Prometheus 3 evaluates them.

#include <algorithm>
#include <climits>
#include <limits>
#include <thread>

#include "promql/eval_internal.h"

namespace platops::promql::eval {
namespace {

// Largest/smallest float64 convertible to int64 without overflow (Prometheus's maxInt64/minInt64).
constexpr double kMaxInt64 = 9223372036854774784.0;
constexpr double kMinInt64 = -9223372036854775808.0;

// Maps input series to output groups by their grouping labels.
class Grouper {
 public:
  Grouper(std::vector<std::string> grouping, bool without)
      : grouping_(std::move(grouping)), without_(without) {
    std::sort(grouping_.begin(), grouping_.end());
  }
  // The group of a series with `labels`; creates it when new.
  size_t GroupOf(const Labels& labels) {
    key_.clear();
    for (const Label& l : labels) {
      const bool listed = std::binary_search(grouping_.begin(), grouping_.end(), l.name);
      if (without_ ? (listed || l.name == metrics::kMetricName) : !listed) continue;
      key_ += l.name;
      key_ += '\xff';
      key_ += l.value;
      key_ += '\xff';
    }
    auto [it, inserted] = index_.emplace(key_, labels_.size());
    if (inserted) labels_.push_back(GroupLabels(labels));
    return it->second;
  }
  Labels GroupLabels(const Labels& labels) const {
    if (without_) {
      Labels out = DropLabels(labels, grouping_);
      DelLabel(out, metrics::kMetricName);
      return out;
    }
    if (grouping_.empty()) return {};
    return KeepLabels(labels, grouping_);
  }
  size_t size() const { return labels_.size(); }
  Labels& labels(size_t g) { return labels_[g]; }

 private:
  std::vector<std::string> grouping_;
  bool without_;
  std::string key_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<Labels> labels_;
};

// Per-group accumulators of the streaming aggregations, one cell per step over the span of steps
// the group has samples in (so short-lived groups stay small).
struct GroupAcc {
  size_t base = 0;            // Step index of cell 0.
  size_t span = 0;            // Number of cells.
  std::vector<double> value;  // sum, min, max, stdvar's M2; avg's running sum
  std::vector<double> aux;    // Kahan compensation (sum, avg), mean (stddev, stdvar)
  std::vector<double> mean;   // avg's incremental mean
  std::vector<double> count;
  std::vector<uint8_t> seen;
  std::vector<uint8_t> incremental;  // avg switched to incremental mean (sum overflowed)
  bool drop_name = false;

  // Extends the cells to cover steps [lo, hi]; returns the number of cells added.
  size_t Cover(size_t lo, size_t hi) {
    if (span == 0) base = lo;
    const size_t new_lo = std::min(base, lo);
    const size_t new_hi = span == 0 ? hi : std::max(base + span - 1, hi);
    const size_t new_span = new_hi - new_lo + 1;
    if (new_span == span) return 0;
    const size_t front = base - new_lo;
    auto grow = [&](auto& v) {
      if (v.empty()) return;  // Not used by this aggregation (used ones start with one cell).
      v.insert(v.begin(), front, 0);
      v.resize(new_span, 0);
    };
    grow(value);
    grow(aux);
    grow(mean);
    grow(count);
    grow(seen);
    grow(incremental);
    const size_t added = new_span - span;
    base = new_lo;
    span = new_span;
    return added;
  }

  // Sizes the arrays `op` uses to one cell, so that Cover grows them.
  void Init(AggregateOp op) {
    seen.resize(1);
    if (op != AggregateOp::kGroup && op != AggregateOp::kCount) value.resize(1);
    if (op == AggregateOp::kSum || op == AggregateOp::kAvg || op == AggregateOp::kStddev ||
        op == AggregateOp::kStdvar) {
      aux.resize(1);
    }
    if (op == AggregateOp::kAvg || op == AggregateOp::kCount || op == AggregateOp::kStddev ||
        op == AggregateOp::kStdvar) {
      count.resize(1);
    }
    if (op == AggregateOp::kAvg) {
      mean.resize(1);
      incremental.resize(1);
    }
  }

  // Adds one input series' points (at step times of `r`, ascending, not empty); returns the
  // number of cells added.
  size_t Add(AggregateOp op, std::span<const Sample> points, const StepRange& r) {
    const size_t first = r.Index(points.front().t);
    const size_t added = Cover(first, r.Index(points.back().t));
    switch (op) {
      case AggregateOp::kSum:
        AddPoints<AggregateOp::kSum>(first, points, r);
        break;
      case AggregateOp::kAvg:
        AddPoints<AggregateOp::kAvg>(first, points, r);
        break;
      case AggregateOp::kMin:
        AddPoints<AggregateOp::kMin>(first, points, r);
        break;
      case AggregateOp::kMax:
        AddPoints<AggregateOp::kMax>(first, points, r);
        break;
      case AggregateOp::kCount:
        AddPoints<AggregateOp::kCount>(first, points, r);
        break;
      case AggregateOp::kGroup:
        AddPoints<AggregateOp::kGroup>(first, points, r);
        break;
      case AggregateOp::kStddev:
      case AggregateOp::kStdvar:
        AddPoints<AggregateOp::kStdvar>(first, points, r);
        break;
      default:
        break;
    }
    return added;
  }

  // Appends the aggregated value of every step with input, at the step's time.
  void AppendPoints(AggregateOp op, const StepRange& r, std::vector<Sample>& out) const {
    for (size_t k = 0; k < span; ++k) {
      if (!seen[k]) continue;
      double v = 0;
      switch (op) {
        case AggregateOp::kSum:
          v = value[k] + aux[k];
          break;
        case AggregateOp::kAvg:
          v = incremental[k] ? mean[k] + aux[k] : value[k] / count[k] + aux[k] / count[k];
          break;
        case AggregateOp::kMin:
        case AggregateOp::kMax:
          v = value[k];
          break;
        case AggregateOp::kCount:
          v = count[k];
          break;
        case AggregateOp::kGroup:
          v = 1;
          break;
        case AggregateOp::kStdvar:
          v = value[k] / count[k];
          break;
        case AggregateOp::kStddev:
          v = std::sqrt(value[k] / count[k]);
          break;
        default:
          break;
      }
      out.push_back(Sample{r.Time(base + k), v});
    }
  }

 private:
  // The per-point work of Add, one instance per aggregation so the hot loop has no switch.
  template <AggregateOp kOp>
  void AddPoints(size_t first, std::span<const Sample> points, const StepRange& r) {
    // Points are at step times, ascending: find each step index by walking, not dividing. The
    // cells are addressed through raw pointers so the hot loop keeps them in registers.
    size_t k = first - base;
    int64_t step_time = r.Time(first);
    uint8_t* seen_p = seen.data();
    double* value_p = value.data();
    double* aux_p = aux.data();
    double* mean_p = mean.data();
    double* count_p = count.data();
    uint8_t* incremental_p = incremental.data();
    for (const Sample& p : points) {
      while (step_time < p.t) {
        ++k;
        step_time += r.interval;
      }
      const double f = p.v;
      if (!seen_p[k]) {
        seen_p[k] = 1;
        if constexpr (kOp == AggregateOp::kSum || kOp == AggregateOp::kMin ||
                      kOp == AggregateOp::kMax) {
          value_p[k] = f;
        } else if constexpr (kOp == AggregateOp::kAvg) {
          value_p[k] = f;
          mean_p[k] = f;
          count_p[k] = 1;
        } else if constexpr (kOp == AggregateOp::kCount) {
          count_p[k] = 1;
        } else if constexpr (kOp == AggregateOp::kStdvar) {
          count_p[k] = 1;
          aux_p[k] = f;
          value_p[k] = (std::isnan(f) || std::isinf(f)) ? NAN : 0;
        }
        continue;
      }
      if constexpr (kOp == AggregateOp::kSum) {
        KahanSumInc(f, value_p[k], aux_p[k]);
      } else if constexpr (kOp == AggregateOp::kAvg) {
        double& n = count_p[k];
        n += 1;
        if (!incremental_p[k]) {
          double sum = value_p[k];
          double c = aux_p[k];
          KahanSumInc(f, sum, c);
          if (!std::isinf(sum)) {
            value_p[k] = sum;
            aux_p[k] = c;
            continue;
          }
          // The sum would overflow: continue with an incremental mean.
          incremental_p[k] = 1;
          mean_p[k] = value_p[k] / (n - 1);
          aux_p[k] /= n - 1;
        }
        const double q = (n - 1) / n;
        double m = q * mean_p[k];
        double c = q * aux_p[k];
        KahanSumInc(f / n, m, c);
        mean_p[k] = m;
        aux_p[k] = c;
      } else if constexpr (kOp == AggregateOp::kMax) {
        if (value_p[k] < f || std::isnan(value_p[k])) value_p[k] = f;
      } else if constexpr (kOp == AggregateOp::kMin) {
        if (value_p[k] > f || std::isnan(value_p[k])) value_p[k] = f;
      } else if constexpr (kOp == AggregateOp::kCount) {
        count_p[k] += 1;
      } else if constexpr (kOp == AggregateOp::kStdvar) {
        count_p[k] += 1;
        const double delta = f - aux_p[k];
        aux_p[k] += delta / count_p[k];
        value_p[k] += delta * (f - aux_p[k]);
      }
    }
  }
};

// Go's container/heap operations over a vector with a Less(i, j) predicate.
template <typename Less>
void HeapUp(std::vector<size_t>& h, size_t j, Less less) {
  while (j > 0) {
    const size_t i = (j - 1) / 2;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    j = i;
  }
}
template <typename Less>
bool HeapDown(std::vector<size_t>& h, size_t i0, size_t n, Less less) {
  size_t i = i0;
  for (;;) {
    const size_t j1 = 2 * i + 1;
    if (j1 >= n) break;
    size_t j = j1;
    if (j1 + 1 < n && less(h[j1 + 1], h[j1])) j = j1 + 1;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    i = j;
  }
  return i > i0;
}
template <typename Less>
void HeapPush(std::vector<size_t>& h, size_t x, Less less) {
  h.push_back(x);
  HeapUp(h, h.size() - 1, less);
}
template <typename Less>
void HeapFix(std::vector<size_t>& h, size_t i, Less less) {
  if (!HeapDown(h, i, h.size(), less)) HeapUp(h, i, less);
}
std::string FormatG(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return FormatFloatGo(v);
}

// A streaming aggregation of a range function over a selector (sum by (job) (rate(x[5m]))),
// evaluated on several threads with each series' points going straight into accumulators:
// - with many groups, each thread takes whole groups and reads their series;
// - with few, the steps are split into one contiguous range per thread and each thread reads
//   every series over its range into accumulators of its own.
// Either way every cell receives its inputs in series order, so the values are bit-identical
// to the one-thread evaluation, and the threads share nothing but the sample count until
// they are joined.
Result<EvalValue> AggregateRangeCall(Evaluator& ev, AggregateOp op,
                                     const std::vector<std::string>& grouping, bool without,
                                     const RangeCall& call, const StepRange& r) {
  EvalValue out;
  out.type = ValueType::kVector;
  const auto& series = call.series();
  const size_t n = series.size();
  const size_t steps = r.NumSteps();
  if (n == 0 || steps == 0) return out;
  Grouper grouper(grouping, without);
  std::vector<uint32_t> group_of(n);
  for (size_t i = 0; i < n; ++i) {
    group_of[i] = static_cast<uint32_t>(grouper.GroupOf(series[i]->labels()));
  }
  const size_t ngroups = grouper.size();
  const size_t threads =
      n >= kParallelMinSeries ? static_cast<size_t>(std::max(ev.parallelism(), 1)) : 1;
  const bool by_group = threads > 1 && ngroups >= 4 * threads;
  // One task per group (by_group) or per thread's step range.
  const size_t ntasks = by_group ? ngroups : std::min(threads, steps);

  struct Task {
    StepRange r;
    std::vector<uint32_t> members;  // by_group: the group's series, in order.
    std::vector<uint32_t> local;    // Group -> index into accs (UINT32_MAX: none yet).
    std::vector<GroupAcc> accs;
    std::vector<uint32_t> first;  // Per entry of accs: the first series with points.
  };
  std::vector<Task> tasks(ntasks);
  for (size_t t = 0; t < ntasks; ++t) {
    const size_t k0 = by_group ? 0 : steps * t / ntasks;
    const size_t k1 = by_group ? steps : steps * (t + 1) / ntasks;
    tasks[t].r = StepRange{r.Time(k0), r.Time(k1 - 1), r.interval};
    tasks[t].local.assign(by_group ? 1 : ngroups, UINT32_MAX);
  }
  if (by_group) {
    for (size_t i = 0; i < n; ++i) tasks[group_of[i]].members.push_back(static_cast<uint32_t>(i));
  }
  // Whether a series had points (by_group: each series belongs to one task; else per task).
  std::vector<std::vector<uint8_t>> has_points(by_group ? 1 : ntasks, std::vector<uint8_t>(n));
  std::vector<Status> status(threads);
  // Samples held by all threads; starts at what the query already holds.
  std::atomic<int64_t> held{ev.current_samples()};
  std::atomic<size_t> next_task{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> too_many{false};
  const int64_t max_samples = ev.max_samples();

  auto work = [&](size_t worker) {
    SampleBuffer buf;
    std::vector<Sample> points;
    size_t done = 0;
    for (size_t t = next_task++; t < ntasks; t = next_task++) {
      Task& task = tasks[t];
      std::vector<uint8_t>& had = has_points[by_group ? 0 : t];
      points.resize(task.r.NumSteps());
      const size_t count_i = by_group ? task.members.size() : n;
      for (size_t j = 0; j < count_i; ++j) {
        if ((done++ & 63) == 0 && (stop.load(std::memory_order_relaxed) || ev.Interrupted())) {
          stop = true;
          return;
        }
        const size_t i = by_group ? task.members[j] : j;
        size_t count = 0;
        size_t raw = 0;
        Status st = call.Run(i, task.r, buf, points.data(), count, raw);
        if (!st.ok()) {
          status[worker] = std::move(st);
          stop = true;
          return;
        }
        // As the one-thread evaluation counts: the samples read and the points made are held
        // while the series is added; the cells it adds stay.
        const auto transient = static_cast<int64_t>(raw + count);
        int64_t added = 0;
        if (count > 0) {
          had[i] = 1;
          const size_t g = by_group ? 0 : group_of[i];
          uint32_t& l = task.local[g];
          if (l == UINT32_MAX) {
            l = static_cast<uint32_t>(task.accs.size());
            task.accs.emplace_back().Init(op);
            task.first.push_back(static_cast<uint32_t>(i));
          }
          GroupAcc& acc = task.accs[l];
          acc.drop_name = call.drop_name();
          added = static_cast<int64_t>(
              acc.Add(op, std::span<const Sample>(points.data(), count), r));
        }
        if (held.fetch_add(transient + added, std::memory_order_relaxed) + transient + added >
            max_samples) {
          too_many = true;
          stop = true;
          return;
        }
        held.fetch_sub(transient, std::memory_order_relaxed);
      }
    }
  };
  std::vector<std::thread> pool;
  const size_t nthreads = std::min(threads, ntasks);
  pool.reserve(nthreads - 1);
  for (size_t w = 1; w < nthreads; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();

  PLATOPS_RETURN_IF_ERROR(ev.CheckInterrupt());
  for (const Status& st : status) PLATOPS_RETURN_IF_ERROR(st);
  if (too_many) return ev.TooManySamples();

  // Annotations in series order, as the one-thread evaluation makes them.
  for (size_t i = 0; i < n; ++i) {
    if (std::any_of(has_points.begin(), has_points.end(), [&](const auto& h) { return h[i]; })) {
      call.Annotate(ev, series[i]->labels());
    }
  }
  // Each group's accumulators in step order, and its first series with points.
  std::vector<std::vector<const GroupAcc*>> pieces(ngroups);
  std::vector<uint32_t> first(ngroups, UINT32_MAX);
  for (size_t t = 0; t < ntasks; ++t) {
    const Task& task = tasks[t];
    for (size_t l = 0; l < task.accs.size(); ++l) {
      const size_t g = by_group ? t : group_of[task.first[l]];
      pieces[g].push_back(&task.accs[l]);
      first[g] = std::min(first[g], task.first[l]);
    }
  }
  // Groups in the order of their first series with points.
  std::vector<std::pair<uint32_t, uint32_t>> order;
  for (size_t g = 0; g < ngroups; ++g) {
    if (first[g] != UINT32_MAX) order.emplace_back(first[g], static_cast<uint32_t>(g));
  }
  std::sort(order.begin(), order.end());
  for (const auto& [unused, g] : order) {
    EvalSeries s;
    for (const GroupAcc* acc : pieces[g]) {
      s.drop_name = s.drop_name || acc->drop_name;
      acc->AppendPoints(op, r, s.points);
    }
    if (s.points.empty()) continue;
    s.labels = std::move(grouper.labels(g));
    PLATOPS_RETURN_IF_ERROR(ev.AddSamples(static_cast<int64_t>(s.points.size())));
    out.series.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Result<EvalValue> Evaluator::EvalAggregate(const AggregateExpr& a, const StepRange& r) {
  const AggregateOp op = a.op;
  const size_t steps = r.NumSteps();
  EvalValue out;
  out.type = ValueType::kVector;
  std::vector<std::string> grouping = a.grouping;

  if (op == AggregateOp::kCountValues) {
    const Expr& p = Unparen(*a.param);
    const std::string value_label =
        p.kind == ExprKind::kString ? static_cast<const StringLiteral&>(p).value : "";
    if (!ValidLabelName(value_label)) {
      return Fail(ErrorType::kExecution, "invalid label name " + QuoteString(value_label));
    }
    if (!a.without) grouping.push_back(value_label);
    PLATOPS_ASSIGN_OR_RETURN(EvalValue in, Eval(*a.expr, r));
    Grouper grouper(grouping, a.without);
    SeriesCollector col;
    const StepIndex idx(in.series, r);
    std::vector<size_t> counts;
    std::vector<size_t> touched;
    std::vector<size_t> group_out;
    for (size_t k = 0; k < steps; ++k) {
      if ((k & 63) == 0) PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
      const int64_t ts = r.Time(k);
      touched.clear();
      for (const StepIndex::Entry& e : idx.At(k)) {
        Labels metric = in.series[e.series].labels;
        SetLabel(metric, value_label, FormatFloatGo(e.v));
        const size_t g = grouper.GroupOf(metric);
        if (g >= counts.size()) {
          counts.resize(g + 1, 0);
          group_out.resize(g + 1, SIZE_MAX);
        }
        if (counts[g] == 0) touched.push_back(g);
        ++counts[g];
      }
      for (size_t g : touched) {
        if (group_out[g] == SIZE_MAX) group_out[g] = col.Intern(grouper.labels(g), false);
        col.Append(group_out[g], ts, static_cast<double>(counts[g]));
        counts[g] = 0;
      }
    }
    out.series = col.Take();
    return out;
  }

  // The parameter of topk, bottomk, limitk, limit_ratio and quantile, per step.
  std::vector<double> param;
  if (a.param != nullptr) {
    PLATOPS_ASSIGN_OR_RETURN(EvalValue pv, Eval(*a.param, r));
    param = std::move(pv.scalar);
    param.resize(steps, NAN);
  }
  double pmin = std::numeric_limits<double>::max();
  double pmax = -std::numeric_limits<double>::max();
  bool pnan = false;
  for (double p : param) {
    // Go's math.Max/Min propagate NaN.
    pmax = (std::isnan(p) || std::isnan(pmax)) ? NAN : std::max(pmax, p);
    pmin = (std::isnan(p) || std::isnan(pmin)) ? NAN : std::min(pmin, p);
    pnan = pnan || std::isnan(p);
  }

  const bool k_op = op == AggregateOp::kTopk || op == AggregateOp::kBottomk ||
                    op == AggregateOp::kLimitk || op == AggregateOp::kLimitRatio;
  if (k_op) {
    if (op == AggregateOp::kLimitRatio) {
      if (pmax == 0 && pmin == 0) return out;
      if (pnan) return Fail(ErrorType::kExecution, "Ratio value is NaN");
      const std::string pos = " (" + Position(a.param->pos) + ")";
      if (pmax > 1.0) {
        annotations().Warn("PromQL warning: ratio value should be between -1 and 1, got " +
                           FormatG(pmax) + ", capping to 1" + pos);
      }
      if (pmin < -1.0) {
        annotations().Warn("PromQL warning: ratio value should be between -1 and 1, got " +
                           FormatG(pmin) + ", capping to -1" + pos);
      }
    } else {
      if (pmax < 1) return out;
      if (pnan) return Fail(ErrorType::kExecution, "Parameter value is NaN");
      if (pmin <= kMinInt64) {
        return Fail(ErrorType::kExecution, "Scalar value " + FormatG(pmin) + " underflows int64");
      }
      if (pmax >= kMaxInt64) {
        return Fail(ErrorType::kExecution, "Scalar value " + FormatG(pmax) + " overflows int64");
      }
    }
  }
  if (op == AggregateOp::kQuantile) {
    const std::string pos = " (" + Position(a.param->pos) + ")";
    auto warn = [&](double q) {
      annotations().Warn("PromQL warning: quantile value should be between 0 and 1, got " +
                         FormatG(q) + pos);
    };
    if (pnan) warn(NAN);
    if (pmax > 1) warn(pmax);
    if (pmin < 0) warn(pmin);
  }

  if (k_op || op == AggregateOp::kQuantile) {
    PLATOPS_ASSIGN_OR_RETURN(EvalValue in, Eval(*a.expr, r));
    const SeriesSet& input = in.series;
    Grouper grouper(grouping, a.without);
    std::vector<size_t> group_of(input.size());
    for (size_t i = 0; i < input.size(); ++i) group_of[i] = grouper.GroupOf(input[i].labels);
    const size_t ngroups = grouper.size();
    const StepIndex idx(input, r);
    std::vector<double> value(input.size(), 0);

    if (op == AggregateOp::kQuantile) {
      std::vector<std::vector<double>> vals(ngroups);
      std::vector<size_t> group_out(ngroups, SIZE_MAX);
      std::vector<uint8_t> drop(ngroups, 0);
      SeriesCollector col;
      for (size_t k = 0; k < steps; ++k) {
        if ((k & 63) == 0) PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
        const int64_t ts = r.Time(k);
        for (auto& v : vals) v.clear();
        for (const StepIndex::Entry& e : idx.At(k)) {
          vals[group_of[e.series]].push_back(e.v);
          drop[group_of[e.series]] |= input[e.series].drop_name ? 1 : 0;
        }
        for (size_t g = 0; g < ngroups; ++g) {
          if (vals[g].empty()) continue;
          if (group_out[g] == SIZE_MAX) group_out[g] = col.Intern(grouper.labels(g), false);
          col.series(group_out[g]).drop_name = drop[g] != 0;
          col.Append(group_out[g], ts, Quantile(param[k], vals[g]));
        }
      }
      out.series = col.Take();
      return out;
    }

    // topk, bottomk, limitk, limit_ratio: per step, a heap of input series indices per group.
    auto by_value = [&](size_t x, size_t y) { return std::isnan(value[x]) || value[x] < value[y]; };
    auto by_reverse_value = [&](size_t x, size_t y) {
      return std::isnan(value[x]) || value[x] > value[y];
    };
    std::vector<std::vector<size_t>> heaps(ngroups);
    std::vector<uint8_t> seen(ngroups);
    std::vector<size_t> out_index(input.size(), SIZE_MAX);
    std::vector<double> offsets;
    if (op == AggregateOp::kLimitRatio) {
      offsets.resize(input.size());
      for (size_t i = 0; i < input.size(); ++i) {
        offsets[i] = static_cast<double>(LabelsHash(input[i].labels)) /
                     static_cast<double>(std::numeric_limits<uint64_t>::max());
      }
    }
    SeriesCollector col;
    for (size_t k = 0; k < steps; ++k) {
      if ((k & 63) == 0) PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
      const int64_t ts = r.Time(k);
      const double fp = param[k];
      for (auto& h : heaps) h.clear();
      std::fill(seen.begin(), seen.end(), 0);
      bool empty_step = false;
      size_t groups_remaining = ngroups;
      std::vector<uint8_t> complete(ngroups, 0);
      int64_t kk = 0;
      double ratio = 0;
      for (const StepIndex::Entry& e : idx.At(k)) {
        if (empty_step || groups_remaining == 0) break;
        const size_t i = e.series;
        value[i] = e.v;
        if (op == AggregateOp::kLimitRatio) {
          if (fp == 0) {
            empty_step = true;
            continue;
          }
          ratio = fp < -1.0 ? -1.0 : fp > 1.0 ? 1.0 : fp;
        } else {
          kk = std::min(static_cast<int64_t>(fp), static_cast<int64_t>(input.size()));
          if (kk < 1) {
            empty_step = true;
            continue;
          }
        }
        const size_t g = group_of[i];
        auto& h = heaps[g];
        const bool first = !seen[g];
        seen[g] = 1;
        switch (op) {
          case AggregateOp::kLimitRatio: {
            const bool add =
                (ratio >= 0 && offsets[i] < ratio) || (ratio < 0 && offsets[i] >= 1.0 + ratio);
            if (add) HeapPush(h, i, by_value);
            break;
          }
          case AggregateOp::kLimitk:
            if (static_cast<int64_t>(h.size()) < kk) HeapPush(h, i, by_value);
            if (!complete[g] && static_cast<int64_t>(h.size()) == kk) {
              complete[g] = 1;
              --groups_remaining;
            }
            break;
          case AggregateOp::kTopk:
            if (first || static_cast<int64_t>(h.size()) < kk) {
              HeapPush(h, i, by_value);
            } else if (value[h[0]] < value[i] ||
                       (std::isnan(value[h[0]]) && !std::isnan(value[i]))) {
              h[0] = i;
              if (kk > 1) HeapFix(h, 0, by_value);
            }
            break;
          case AggregateOp::kBottomk:
            if (first || static_cast<int64_t>(h.size()) < kk) {
              HeapPush(h, i, by_reverse_value);
            } else if (value[h[0]] > value[i] ||
                       (std::isnan(value[h[0]]) && !std::isnan(value[i]))) {
              h[0] = i;
              if (kk > 1) HeapFix(h, 0, by_reverse_value);
            }
            break;
          default:
            break;
        }
      }
      if (empty_step) continue;
      for (size_t g = 0; g < ngroups; ++g) {
        auto& h = heaps[g];
        if (!seen[g] || h.empty()) continue;
        if (op == AggregateOp::kTopk && h.size() > 1) {
          SortByValue(h, [&](size_t x) { return value[x]; }, /*descending=*/true);
        } else if (op == AggregateOp::kBottomk && h.size() > 1) {
          SortByValue(h, [&](size_t x) { return value[x]; }, /*descending=*/false);
        }
        for (size_t i : h) {
          if (out_index[i] == SIZE_MAX) {
            out_index[i] = col.Intern(input[i].labels, input[i].drop_name);
          }
          col.Append(out_index[i], ts, value[i]);
        }
      }
    }
    out.series = col.Take();
    return out;
  }

  // Streaming aggregations: input series are consumed one at a time into per-group, per-step
  // accumulators, in input order (so floating-point results match step-wise evaluation).
  if (const Expr& arg = Unparen(*a.expr); arg.kind == ExprKind::kCall) {
    PLATOPS_ASSIGN_OR_RETURN(auto call,
                             RangeCall::Prepare(*this, static_cast<const Call&>(arg)));
    if (call != nullptr) return AggregateRangeCall(*this, op, grouping, a.without, *call, r);
  }
  Grouper grouper(grouping, a.without);
  std::vector<GroupAcc> accs;
  int64_t held = 0;
  Status st = ForEachSeries(*a.expr, r, [&](const SeriesView& s) -> Status {
    PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
    const size_t g = grouper.GroupOf(s.labels);
    if (g >= accs.size()) {
      accs.resize(g + 1);
      accs[g].Init(op);
    }
    GroupAcc& acc = accs[g];
    acc.drop_name = acc.drop_name || s.drop_name;
    if (s.points.empty()) return Status::Ok();
    const size_t added = acc.Add(op, s.points, r);
    held += static_cast<int64_t>(added);
    return AddSamples(static_cast<int64_t>(added));
  });
  PLATOPS_RETURN_IF_ERROR(st);
  current_samples_ -= held;

  for (size_t g = 0; g < accs.size(); ++g) {
    EvalSeries s;
    s.drop_name = accs[g].drop_name;
    accs[g].AppendPoints(op, r, s.points);
    if (s.points.empty()) continue;
    s.labels = std::move(grouper.labels(g));
    PLATOPS_RETURN_IF_ERROR(AddSamples(static_cast<int64_t>(s.points.size())));
    out.series.push_back(std::move(s));
  }
  return out;
}

}  // namespace platops::promql::eval
