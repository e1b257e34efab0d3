// PromQL function calls. Range-vector functions (rate, *_over_time, ...) run per series over
// windows that slide across the steps, reading each series' samples once; instant-vector
// functions run per series or per step on the evaluated argument.

#include <re2/re2.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <limits>
#include <numbers>

#include "metrics/matcher.h"
#include "promql/eval_internal.h"
#include "promql/ordered_parallel.h"

namespace platops::promql::eval {
namespace {

// ---------------------------------------------------------------------------------------------
// Range-vector functions: each computes one value from a window, or none.

using RangeFn = bool (*)(const RangeWindow& w, double& out);

double RangeSeconds(int64_t ms) {
  // Go's time.Duration.Seconds().
  return static_cast<double>(ms / 1000) + static_cast<double>((ms % 1000) * 1'000'000) / 1e9;
}

// Whether sampled * (first / result), the time a counter would take to fall to zero, is
// certainly not below to_start. Comparing products instead of dividing keeps a division off
// the common path; only a clear margin (far beyond the roundings of either form) decides, and
// anything else (overflow, subnormals) goes to the exact computation, so results are unchanged.
inline bool FarFromZero(double sampled, double first, double result, double to_start) {
  const double a = sampled * first;
  const double b = to_start * result;
  return a >= std::numeric_limits<double>::min() && b >= std::numeric_limits<double>::min() &&
         a <= std::numeric_limits<double>::max() && b * (1 + 1e-9) < a;
}

[[gnu::always_inline]] inline bool ExtrapolatedRate(const RangeWindow& w, bool counter, bool rate,
                                                    double& out) {
  const size_t n = w.hi - w.lo;
  if (n < 2) return false;
  const Sample* s = w.all.data();
  const Sample first = s[w.lo];
  const Sample last = s[w.hi - 1];
  double result = last.v - first.v;
  if (counter) {
    if (w.may_reset) {
      for (size_t j = w.lo + 1; j < w.hi; ++j) {
        if (s[j].v < s[j - 1].v) result += s[j - 1].v;
      }
    }
  }
  // Prometheus's arithmetic, operation for operation, so results are bit-identical; the part
  // that depends on the window's shape only is computed once per shape.
  RateShape& sh = w.shape;
  const int64_t to_start_ms = first.t - w.range_start;
  const int64_t to_end_ms = w.range_end - last.t;
  const int64_t sampled_ms = last.t - first.t;
  if (sh.n != n || sh.to_start_ms != to_start_ms || sh.to_end_ms != to_end_ms ||
      sh.sampled_ms != sampled_ms) {
    sh.n = n;
    sh.to_start_ms = to_start_ms;
    sh.to_end_ms = to_end_ms;
    sh.sampled_ms = sampled_ms;
    sh.to_start = static_cast<double>(to_start_ms) / 1000;
    sh.to_end = static_cast<double>(to_end_ms) / 1000;
    sh.sampled = static_cast<double>(sampled_ms) / 1000;
    const double avg = sh.sampled / static_cast<double>(n - 1);
    const double threshold = avg * 1.1;
    if (sh.to_start >= threshold) sh.to_start = avg / 2;
    if (sh.to_end >= threshold) sh.to_end = avg / 2;
    sh.factor = (sh.sampled + sh.to_start + sh.to_end) / sh.sampled;
    if (rate) sh.factor /= w.range_seconds;
  }
  double factor = sh.factor;
  if (counter && result > 0 && first.v >= 0 && !FarFromZero(sh.sampled, first.v, result, sh.to_start)) {
    // A counter cannot go below zero: do not extrapolate past the point where it would.
    const double to_zero = sh.sampled * (first.v / result);
    if (to_zero < sh.to_start) {
      factor = (sh.sampled + to_zero + sh.to_end) / sh.sampled;
      if (rate) factor /= w.range_seconds;
    }
  }
  out = result * factor;
  return true;
}

bool FnRate(const RangeWindow& w, double& out) { return ExtrapolatedRate(w, true, true, out); }
bool FnIncrease(const RangeWindow& w, double& out) { return ExtrapolatedRate(w, true, false, out); }
bool FnDelta(const RangeWindow& w, double& out) { return ExtrapolatedRate(w, false, false, out); }

bool InstantValue(const RangeWindow& w, bool rate, double& out) {
  if (w.hi - w.lo < 2) return false;
  const Sample a = w.all[w.hi - 2];
  const Sample b = w.all[w.hi - 1];
  const int64_t dt = b.t - a.t;
  if (dt == 0) return false;
  double result = b.v;
  if (!rate || !(b.v < a.v)) result = b.v - a.v;
  if (rate) result /= static_cast<double>(dt) / 1000;
  out = result;
  return true;
}
bool FnIrate(const RangeWindow& w, double& out) { return InstantValue(w, true, out); }
bool FnIdelta(const RangeWindow& w, double& out) { return InstantValue(w, false, out); }

// Least-squares fit of the window, with x in seconds relative to `intercept_time`.
std::pair<double, double> LinearRegression(std::span<const Sample> samples,
                                           int64_t intercept_time) {
  double n = 0;
  double sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0, c_x2 = 0;
  const double init_y = samples[0].v;
  bool const_y = true;
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    if (const_y && i > 0 && s.v != init_y) const_y = false;
    n += 1.0;
    const double x = static_cast<double>(s.t - intercept_time) / 1e3;
    KahanSumInc(x, sum_x, c_x);
    KahanSumInc(s.v, sum_y, c_y);
    KahanSumInc(x * s.v, sum_xy, c_xy);
    KahanSumInc(x * x, sum_x2, c_x2);
  }
  if (const_y) {
    if (std::isinf(init_y)) return {NAN, NAN};
    return {0, init_y};
  }
  sum_x += c_x;
  sum_y += c_y;
  sum_xy += c_xy;
  sum_x2 += c_x2;
  const double cov_xy = sum_xy - sum_x * sum_y / n;
  const double var_x = sum_x2 - sum_x * sum_x / n;
  const double slope = cov_xy / var_x;
  const double intercept = sum_y / n - slope * sum_x / n;
  return {slope, intercept};
}

bool FnDeriv(const RangeWindow& w, double& out) {
  const auto win = w.window();
  if (win.size() < 2) return false;
  out = LinearRegression(win, win[0].t).first;
  return true;
}

bool FnPredictLinear(const RangeWindow& w, double& out) {
  const auto win = w.window();
  if (win.size() < 2) return false;
  auto [slope, intercept] = LinearRegression(win, w.ts);
  out = slope * w.arg0 + intercept;
  return true;
}

bool FnResets(const RangeWindow& w, double& out) {
  const auto win = w.window();
  int n = 0;
  for (size_t i = 1; i < win.size(); ++i) {
    if (win[i].v < win[i - 1].v) ++n;
  }
  out = n;
  return true;
}

bool FnChanges(const RangeWindow& w, double& out) {
  const auto win = w.window();
  int n = 0;
  for (size_t i = 1; i < win.size(); ++i) {
    const double cur = win[i].v;
    const double prev = win[i - 1].v;
    if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) ++n;
  }
  out = n;
  return true;
}

bool FnAvgOverTime(const RangeWindow& w, double& out) {
  const auto win = w.window();
  double sum = win[0].v;
  double count = 1;
  double mean = 0;
  double c = 0;
  bool incremental = false;
  for (size_t i = 1; i < win.size(); ++i) {
    const double f = win[i].v;
    count = static_cast<double>(i + 1);
    if (!incremental) {
      double new_sum = sum;
      double new_c = c;
      KahanSumInc(f, new_sum, new_c);
      if (!std::isinf(new_sum)) {
        sum = new_sum;
        c = new_c;
        continue;
      }
      // The sum would overflow: continue with an incremental mean.
      incremental = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    const double q = (count - 1) / count;
    mean *= q;
    c *= q;
    KahanSumInc(f / count, mean, c);
  }
  out = incremental ? mean + c : sum / count + c / count;
  return true;
}

bool FnSumOverTime(const RangeWindow& w, double& out) {
  double sum = 0;
  double c = 0;
  for (const Sample& s : w.window()) KahanSumInc(s.v, sum, c);
  out = std::isinf(sum) ? sum : sum + c;
  return true;
}

bool FnCountOverTime(const RangeWindow& w, double& out) {
  out = static_cast<double>(w.hi - w.lo);
  return true;
}

template <bool kMax, bool kTimestamp>
bool CompareOverTime(const RangeWindow& w, double& out) {
  const auto win = w.window();
  double best = win[0].v;
  int64_t best_t = win[0].t;
  for (const Sample& s : win) {
    bool take;
    if constexpr (kTimestamp) {
      take = (kMax ? s.v >= best : s.v <= best) || std::isnan(best);
    } else {
      take = (kMax ? s.v > best : s.v < best) || std::isnan(best);
    }
    if (take) {
      best = s.v;
      best_t = s.t;
    }
  }
  out = kTimestamp ? static_cast<double>(best_t) / 1000 : best;
  return true;
}

bool FnQuantileOverTime(const RangeWindow& w, double& out) {
  std::vector<double> values;
  values.reserve(w.hi - w.lo);
  for (const Sample& s : w.window()) values.push_back(s.v);
  out = Quantile(w.arg0, values);
  return true;
}

double Variance(std::span<const Sample> win) {
  double count = 0;
  double mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (const Sample& s : win) {
    count += 1;
    const double delta = s.v - (mean + c_mean);
    KahanSumInc(delta / count, mean, c_mean);
    KahanSumInc(delta * (s.v - (mean + c_mean)), aux, c_aux);
  }
  return (aux + c_aux) / count;
}
bool FnStddevOverTime(const RangeWindow& w, double& out) {
  out = std::sqrt(Variance(w.window()));
  return true;
}
bool FnStdvarOverTime(const RangeWindow& w, double& out) {
  out = Variance(w.window());
  return true;
}

bool FnLastOverTime(const RangeWindow& w, double& out) {
  out = w.all[w.hi - 1].v;
  return true;
}
bool FnTsOfLastOverTime(const RangeWindow& w, double& out) {
  out = static_cast<double>(w.all[w.hi - 1].t) / 1000;
  return true;
}
bool FnPresentOverTime(const RangeWindow&, double& out) {
  out = 1;
  return true;
}

bool FnMadOverTime(const RangeWindow& w, double& out) {
  std::vector<double> values;
  values.reserve(w.hi - w.lo);
  for (const Sample& s : w.window()) values.push_back(s.v);
  const double median = Quantile(0.5, values);
  values.clear();
  for (const Sample& s : w.window()) values.push_back(std::fabs(s.v - median));
  out = Quantile(0.5, values);
  return true;
}

bool FnDoubleExponentialSmoothing(const RangeWindow& w, double& out) {
  const double sf = w.arg0;
  const double tf = w.arg1;
  if (sf <= 0 || sf >= 1) {
    w.error = 1;
    return false;
  }
  if (tf <= 0 || tf >= 1) {
    w.error = 2;
    return false;
  }
  const auto win = w.window();
  if (win.size() < 2) return false;
  double s0 = 0;
  double s1 = win[0].v;
  double b = win[1].v - win[0].v;
  for (size_t i = 1; i < win.size(); ++i) {
    const double x = sf * win[i].v;
    if (i - 1 != 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const double y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  out = s1;
  return true;
}

// Slides the window across the steps and writes F's value at each step to `out` (room for one
// point per step); returns the number of points, or -(error code) when F rejected its arguments.
template <RangeFn F, bool kCounter = false>
int64_t Slide(std::span<const Sample> all, const SlideParams& p, Sample* out) {
  RangeWindow w;
  w.all = all;
  w.range_ms = p.range;
  w.range_seconds = RangeSeconds(p.range);
  // Counter functions: the index of the latest sample below its predecessor (0: none yet), so a
  // window [lo, hi) holds a reset exactly when that index is above lo.
  size_t last_reset = 0;
  const size_t steps = p.r->NumSteps();
  const size_t n = all.size();
  int64_t count = 0;
  size_t lo = 0;
  size_t hi = 0;
  int64_t ts = p.r->start;
  for (size_t k = 0; k < steps; ++k, ts += p.r->interval) {
    const int64_t ref = (p.at ? *p.at : ts) - p.offset;
    const int64_t start = ref - p.range;
    while (hi < n && all[hi].t <= ref) {
      if constexpr (kCounter) {
        if (hi > 0 && all[hi].v < all[hi - 1].v) last_reset = hi;
      }
      ++hi;
    }
    while (lo < hi && all[lo].t <= start) ++lo;
    if (lo == hi) continue;
    if constexpr (kCounter) w.may_reset = last_reset > lo;
    w.lo = lo;
    w.hi = hi;
    w.range_start = start;
    w.range_end = ref;
    w.ts = ts;
    if (p.arg0 != nullptr) w.arg0 = p.arg0[k];
    if (p.arg1 != nullptr) w.arg1 = p.arg1[k];
    double v;
    if (F(w, v)) out[count++] = Sample{ts, v};
    if (w.error != 0) return -w.error;
  }
  return count;
}

struct RangeFnInfo {
  std::string_view name;
  SlideFn slide;
};

constexpr RangeFnInfo kRangeFns[] = {
    {"absent_over_time", Slide<FnPresentOverTime>},
    {"avg_over_time", Slide<FnAvgOverTime>},
    {"changes", Slide<FnChanges>},
    {"count_over_time", Slide<FnCountOverTime>},
    {"delta", Slide<FnDelta>},
    {"deriv", Slide<FnDeriv>},
    {"double_exponential_smoothing", Slide<FnDoubleExponentialSmoothing>},
    {"idelta", Slide<FnIdelta>},
    {"increase", Slide<FnIncrease, true>},
    {"irate", Slide<FnIrate>},
    {"last_over_time", Slide<FnLastOverTime>},
    {"mad_over_time", Slide<FnMadOverTime>},
    {"max_over_time", Slide<CompareOverTime<true, false>>},
    {"min_over_time", Slide<CompareOverTime<false, false>>},
    {"predict_linear", Slide<FnPredictLinear>},
    {"present_over_time", Slide<FnPresentOverTime>},
    {"quantile_over_time", Slide<FnQuantileOverTime>},
    {"rate", Slide<FnRate, true>},
    {"resets", Slide<FnResets>},
    {"stddev_over_time", Slide<FnStddevOverTime>},
    {"stdvar_over_time", Slide<FnStdvarOverTime>},
    {"sum_over_time", Slide<FnSumOverTime>},
    {"ts_of_last_over_time", Slide<FnTsOfLastOverTime>},
    {"ts_of_max_over_time", Slide<CompareOverTime<true, true>>},
    {"ts_of_min_over_time", Slide<CompareOverTime<false, true>>},
};

const RangeFnInfo* FindRangeFn(std::string_view name) {
  for (const auto& f : kRangeFns) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

int MatrixArgIndex(const Call& c) {
  for (size_t i = 0; i < c.args.size(); ++i) {
    const ExprKind k = Unparen(*c.args[i]).kind;
    if (k == ExprKind::kMatrixSelector || k == ExprKind::kSubquery) return static_cast<int>(i);
  }
  return -1;
}

std::string StringArg(const Expr& e) {
  const Expr& u = Unparen(e);
  return u.kind == ExprKind::kString ? static_cast<const StringLiteral&>(u).value : "";
}

std::string FormatPercentF(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%f", v);
  return buf;
}

bool IsCounterFunction(std::string_view name) { return name == "rate" || name == "increase"; }

// Prometheus's info that rate()/increase() got a series whose name is not a counter's.
void NotCounterInfo(Evaluator& ev, const Expr& arg, const Labels& labels) {
  const std::string_view metric = GetLabel(labels, metrics::kMetricName);
  auto ends = [&](std::string_view suffix) {
    return metric.size() >= suffix.size() &&
           metric.substr(metric.size() - suffix.size()) == suffix;
  };
  if (!metric.empty() && !ends("_total") && !ends("_sum") && !ends("_count") &&
      !ends("_bucket")) {
    ev.annotations().Info(
        "PromQL info: metric might not be a counter, name does not end in "
        "_total/_sum/_count/_bucket: " +
        QuoteString(metric) + " (" + ev.Position(arg.pos) + ")");
  }
}

// Runs a range-vector function over every series of its matrix argument. `on_series` receives
// each input series' labels and its output points.
Status RunRangeFunction(
    Evaluator& ev, const Call& c, int mi, const StepRange& r,
    const std::function<Status(const Labels&, std::span<const Sample>)>& on_series) {
  const std::string_view name = c.func->name;
  const RangeFnInfo* info = FindRangeFn(name);
  if (info == nullptr) {
    return ev.Fail(ErrorType::kInternal, "unknown function " + std::string(name));
  }
  const size_t steps = r.NumSteps();

  // Scalar arguments, per step, in argument order.
  std::vector<std::vector<double>> scalars;
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (static_cast<int>(i) == mi || c.args[i]->type != ValueType::kScalar) continue;
    PLATOPS_ASSIGN_OR_RETURN(EvalValue v, ev.Eval(*c.args[i], r));
    v.scalar.resize(steps, NAN);
    scalars.push_back(std::move(v.scalar));
  }

  const Expr& marg = Unparen(*c.args[mi]);
  int64_t range = 0;
  int64_t offset = 0;
  std::optional<int64_t> at;
  const std::vector<std::unique_ptr<metrics::Series>>* selected = nullptr;
  SeriesSet inner;
  if (marg.kind == ExprKind::kMatrixSelector) {
    const auto& ms = static_cast<const MatrixSelector&>(marg);
    range = ms.range.count();
    offset = ms.selector->offset.count();
    at = ev.AtTime(ms.selector->at);
    PLATOPS_ASSIGN_OR_RETURN(selected, ev.SelectSeries(*ms.selector));
  } else {
    const auto& sq = static_cast<const SubqueryExpr&>(marg);
    range = sq.range.count();
    offset = sq.offset.count();
    at = ev.AtTime(sq.at);
    PLATOPS_ASSIGN_OR_RETURN(inner, ev.EvalSubqueryInner(sq, r));
  }
  auto ref_at = [&](size_t k) { return (at ? *at : r.Time(k)) - offset; };
  if (steps == 0) return Status::Ok();
  const int64_t read_lo = ref_at(0) - range;
  const int64_t read_hi = ref_at(steps - 1);

  SlideParams params;
  params.r = &r;
  params.at = at;
  params.offset = offset;
  params.range = range;
  params.arg0 = scalars.size() > 0 ? scalars[0].data() : nullptr;
  params.arg1 = scalars.size() > 1 ? scalars[1].data() : nullptr;
  const bool counter_info = IsCounterFunction(name);
  std::vector<Sample> out(steps);  // One point per step at most; filled anew for each series.
  bool any_output = false;

  // The part of a series' evaluation after the slide: errors, annotations, output.
  auto finish = [&](const Labels& labels, int64_t count, const std::vector<Sample>& out) -> Status {
    if (count < 0) {
      const int64_t error = -count;
      // double_exponential_smoothing's factors, reported at the first step that used them.
      const double* bad = error == 1 ? params.arg0 : params.arg1;
      double value = 0;
      for (size_t k = 0; k < steps; ++k) {
        if (bad[k] <= 0 || bad[k] >= 1) {
          value = bad[k];
          break;
        }
      }
      return ev.Fail(ErrorType::kExecution,
                     std::string(error == 1 ? "invalid smoothing factor. Expected: 0 < sf < 1"
                                            : "invalid trend factor. Expected: 0 < tf < 1") +
                         ", got: " + FormatPercentF(value));
    }
    if (count == 0) return Status::Ok();
    const std::span<const Sample> points(out.data(), static_cast<size_t>(count));
    any_output = true;
    if (counter_info) NotCounterInfo(ev, *c.args[mi], labels);
    PLATOPS_RETURN_IF_ERROR(ev.AddSamples(static_cast<int64_t>(points.size())));
    Status st = on_series(labels, points);
    ev.set_current_samples(ev.current_samples() - static_cast<int64_t>(points.size()));
    return st;
  };
  auto process = [&](const Labels& labels, std::span<const Sample> all) -> Status {
    if (all.empty()) return Status::Ok();
    return finish(labels, info->slide(all, params, out.data()), out);
  };

  if (selected != nullptr) {
    // Series are read and slid on worker threads, and finished here in selection order.
    struct Slot {
      Status status;
      size_t raw = 0;     // Samples read.
      int64_t count = 0;  // The slide's result.
      std::vector<Sample> points;
    };
    const int threads = selected->size() >= kParallelMinSeries ? ev.parallelism() : 1;
    std::vector<SampleBuffer> bufs(static_cast<size_t>(std::max(threads, 1)));
    PLATOPS_RETURN_IF_ERROR(OrderedParallel<Slot>(
        selected->size(), threads, kParallelWindow,
        [&](size_t i, Slot& slot, int worker) {
          SampleBuffer& b = bufs[static_cast<size_t>(worker)];
          slot.status = ReadSeriesRange(*(*selected)[i], read_lo, read_hi, b);
          slot.raw = b.size();
          slot.count = 0;
          if (!slot.status.ok() || b.empty()) return;
          if (slot.points.size() < steps) slot.points.resize(steps);
          slot.count = info->slide(b.span(), params, slot.points.data());
        },
        [&](size_t i, Slot& slot) -> Status {
          PLATOPS_RETURN_IF_ERROR(ev.CheckInterrupt());
          PLATOPS_RETURN_IF_ERROR(slot.status);
          PLATOPS_RETURN_IF_ERROR(ev.AddSamples(static_cast<int64_t>(slot.raw)));
          Status st = finish((*selected)[i]->labels(), slot.count, slot.points);
          ev.set_current_samples(ev.current_samples() - static_cast<int64_t>(slot.raw));
          return st;
        }));
  } else {
    for (const auto& s : inner) {
      PLATOPS_RETURN_IF_ERROR(ev.CheckInterrupt());
      PLATOPS_RETURN_IF_ERROR(process(s.labels, s.points));
    }
  }
  if (any_output && name == "quantile_over_time") {
    for (size_t k = 0; k < steps; ++k) {
      const double q = params.arg0[k];
      if (std::isnan(q) || q < 0 || q > 1) {
        ev.annotations().Warn("PromQL warning: quantile value should be between 0 and 1, got " +
                              FormatFloatGo(q) + " (" + ev.Position(c.args[0]->pos) + ")");
      }
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Instant-vector helpers.

using MathFn = double (*)(double);

double Sgn(double v) { return v < 0 ? -1 : v > 0 ? 1 : v; }
double Deg(double v) { return v * 180 / std::numbers::pi; }
double Rad(double v) { return v * std::numbers::pi / 180; }

struct MathFnInfo {
  std::string_view name;
  MathFn fn;
};

double Abs(double v) { return std::fabs(v); }
double Ceil(double v) { return std::ceil(v); }
double Floor(double v) { return std::floor(v); }
double Exp(double v) { return std::exp(v); }
double Sqrt(double v) { return std::sqrt(v); }
double Ln(double v) { return std::log(v); }
double Log2(double v) { return std::log2(v); }
double Log10(double v) { return std::log10(v); }
double Sin(double v) { return std::sin(v); }
double Cos(double v) { return std::cos(v); }
double Tan(double v) { return std::tan(v); }
double Asin(double v) { return std::asin(v); }
double Acos(double v) { return std::acos(v); }
double Atan(double v) { return std::atan(v); }
double Sinh(double v) { return std::sinh(v); }
double Cosh(double v) { return std::cosh(v); }
double Tanh(double v) { return std::tanh(v); }
double Asinh(double v) { return std::asinh(v); }
double Acosh(double v) { return std::acosh(v); }
double Atanh(double v) { return std::atanh(v); }

constexpr MathFnInfo kMathFns[] = {
    {"abs", Abs},   {"ceil", Ceil}, {"floor", Floor}, {"exp", Exp},     {"sqrt", Sqrt},
    {"ln", Ln},     {"log2", Log2}, {"log10", Log10}, {"sin", Sin},     {"cos", Cos},
    {"tan", Tan},   {"asin", Asin}, {"acos", Acos},   {"atan", Atan},   {"sinh", Sinh},
    {"cosh", Cosh}, {"tanh", Tanh}, {"asinh", Asinh}, {"acosh", Acosh}, {"atanh", Atanh},
    {"deg", Deg},   {"rad", Rad},   {"sgn", Sgn},
};

// Civil time (UTC) of a Unix second, as Go's time package computes it.
struct Civil {
  int64_t year;
  int month;
  int day;
  int hour;
  int minute;
  int weekday;  // 0 = Sunday
  int yday;     // 1-based
};

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Civil ToCivil(int64_t sec) {
  const int64_t days = FloorDiv(sec, 86400);
  const int64_t rem = sec - days * 86400;
  Civil c;
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>(rem % 3600 / 60);
  c.weekday = static_cast<int>(((days + 4) % 7 + 7) % 7);
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
  c.yday = static_cast<int>(days - DaysFromCivil(c.year, 1, 1) + 1);
  return c;
}

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2) {
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return leap ? 29 : 28;
  }
  return kDays[month - 1];
}

// Go's int64(f) on amd64: out-of-range values and NaN become the minimum int64.
int64_t GoInt64(double f) {
  if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(f);
}

double DateFn(std::string_view name, int64_t sec) {
  const Civil c = ToCivil(sec);
  if (name == "year") return static_cast<double>(c.year);
  if (name == "month") return c.month;
  if (name == "day_of_month") return c.day;
  if (name == "day_of_week") return c.weekday;
  if (name == "day_of_year") return c.yday;
  if (name == "hour") return c.hour;
  if (name == "minute") return c.minute;
  return DaysInMonth(c.year, c.month);  // days_in_month
}

bool IsDateFn(std::string_view name) {
  return name == "year" || name == "month" || name == "day_of_month" || name == "day_of_week" ||
         name == "day_of_year" || name == "hour" || name == "minute" || name == "days_in_month";
}

// Merges series that share a label set after a relabeling; overlapping points are an error.
Status MergeSameLabels(Evaluator& ev, SeriesSet& set) {
  std::unordered_map<uint64_t, std::vector<size_t>> index;
  SeriesSet out;
  out.reserve(set.size());
  bool merged = false;
  for (auto& s : set) {
    auto& bucket = index[LabelsHash(s.labels)];
    size_t target = SIZE_MAX;
    for (size_t i : bucket) {
      if (out[i].labels == s.labels) target = i;
    }
    if (target == SIZE_MAX) {
      bucket.push_back(out.size());
      out.push_back(std::move(s));
      continue;
    }
    merged = true;
    auto& dst = out[target].points;
    dst.insert(dst.end(), s.points.begin(), s.points.end());
  }
  if (merged) {
    for (auto& s : out) {
      std::stable_sort(s.points.begin(), s.points.end(),
                       [](const Sample& a, const Sample& b) { return a.t < b.t; });
      for (size_t i = 1; i < s.points.size(); ++i) {
        if (s.points[i].t == s.points[i - 1].t) {
          return ev.Fail(ErrorType::kExecution,
                         "vector cannot contain metrics with the same labelset");
        }
      }
    }
  }
  set = std::move(out);
  return Status::Ok();
}

// Go's regexp Expand for label_replace's replacement template.
void ExpandTemplate(const RE2& re, std::string_view tmpl, std::span<const re2::StringPiece> groups,
                    std::string& out) {
  const auto& named = re.NamedCapturingGroups();
  while (!tmpl.empty()) {
    const size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out += '$';
      tmpl.remove_prefix(1);
      continue;
    }
    std::string_view s = tmpl;
    const bool brace = !s.empty() && s[0] == '{';
    if (brace) s.remove_prefix(1);
    size_t i = 0;
    while (i < s.size()) {
      const auto ch = static_cast<unsigned char>(s[i]);
      const bool word = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || ch == '_' || ch >= 0x80;
      if (!word) break;
      ++i;
    }
    if (i == 0 || (brace && (i >= s.size() || s[i] != '}'))) {
      out += '$';
      continue;
    }
    const std::string_view gname = s.substr(0, i);
    tmpl = s.substr(brace ? i + 1 : i);
    int64_t num = 0;
    for (char ch : gname) {
      if (ch < '0' || ch > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (ch - '0');
    }
    if (gname.size() > 1 && gname[0] == '0') num = -1;
    if (num >= 0) {
      if (static_cast<size_t>(num) < groups.size() && groups[num].data() != nullptr) {
        out.append(groups[num].data(), groups[num].size());
      }
    } else {
      auto it = named.find(std::string(gname));
      if (it != named.end() && static_cast<size_t>(it->second) < groups.size() &&
          groups[it->second].data() != nullptr) {
        out.append(groups[it->second].data(), groups[it->second].size());
      }
    }
  }
  out.append(tmpl);
}

// ---------------------------------------------------------------------------------------------
// Classic histograms.

struct Bucket {
  double upper;
  double count;
};

bool AlmostEqual(double a, double b, double epsilon) {
  constexpr double kMinNormal = 2.2250738585072014e-308;
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  const double abs_sum = std::fabs(a) + std::fabs(b);
  const double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || abs_sum < kMinNormal) return diff < epsilon * kMinNormal;
  return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < epsilon;
}

// Sorts, merges equal bounds and makes counts monotonic; false unless the last bound is +Inf.
bool PrepareBuckets(std::vector<Bucket>& b, bool& forced) {
  std::stable_sort(b.begin(), b.end(),
                   [](const Bucket& x, const Bucket& y) { return x.upper < y.upper; });
  if (b.empty() || !std::isinf(b.back().upper) || b.back().upper < 0) return false;
  size_t i = 0;
  for (size_t j = 1; j < b.size(); ++j) {
    if (b[j].upper == b[i].upper) {
      b[i].count += b[j].count;
    } else {
      b[++i] = b[j];
    }
  }
  b.resize(i + 1);
  forced = false;
  double prev = b[0].count;
  for (size_t j = 1; j < b.size(); ++j) {
    const double cur = b[j].count;
    if (cur == prev) continue;
    if (AlmostEqual(prev, cur, 1e-12)) {
      b[j].count = prev;
      continue;
    }
    if (cur < prev) {
      b[j].count = prev;
      forced = true;
      continue;
    }
    prev = cur;
  }
  return true;
}

double BucketQuantile(double q, std::vector<Bucket>& b, bool& forced) {
  forced = false;
  if (std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  if (!PrepareBuckets(b, forced)) return NAN;
  if (b.size() < 2) return NAN;
  const double observations = b.back().count;
  if (observations == 0) return NAN;
  double rank = q * observations;
  size_t idx = 0;
  while (idx < b.size() - 1 && !(b[idx].count >= rank)) ++idx;
  if (idx == b.size() - 1) return b[b.size() - 2].upper;
  if (idx == 0 && b[0].upper <= 0) return b[0].upper;
  double start = 0;
  const double end = b[idx].upper;
  double count = b[idx].count;
  if (idx > 0) {
    start = b[idx - 1].upper;
    count -= b[idx - 1].count;
    rank -= b[idx - 1].count;
  }
  return start + (end - start) * (rank / count);
}

// The fraction of observations between lower and upper, interpolating linearly within buckets.
double BucketFraction(double lower, double upper, std::vector<Bucket>& b) {
  bool forced = false;
  if (!PrepareBuckets(b, forced)) return NAN;
  const double total = b.back().count;
  if (total == 0 || std::isnan(lower) || std::isnan(upper)) return NAN;
  if (lower >= upper) return 0;
  auto rank = [&](double x) {
    double prev_count = 0;
    for (size_t i = 0; i < b.size(); ++i) {
      const double hi = b[i].upper;
      const double lo = i == 0 ? (hi > 0 ? 0 : -INFINITY) : b[i - 1].upper;
      if (x > hi) {
        prev_count = b[i].count;
        continue;
      }
      if (x <= lo) return prev_count;
      if (std::isinf(hi)) return prev_count;
      if (std::isinf(lo)) return x >= hi ? b[i].count : prev_count;
      return prev_count + (b[i].count - prev_count) * (x - lo) / (hi - lo);
    }
    return total;
  };
  return (rank(upper) - rank(lower)) / total;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<RangeCall>> RangeCall::Prepare(Evaluator& ev, const Call& c) {
  if (c.args.size() != 1 || c.func->name == "absent_over_time") return {std::unique_ptr<RangeCall>()};
  const Expr& arg = Unparen(*c.args[0]);
  if (arg.kind != ExprKind::kMatrixSelector) return {std::unique_ptr<RangeCall>()};
  const RangeFnInfo* info = FindRangeFn(c.func->name);
  if (info == nullptr) return {std::unique_ptr<RangeCall>()};
  const auto& ms = static_cast<const MatrixSelector&>(arg);
  std::unique_ptr<RangeCall> rc(new RangeCall);
  PLATOPS_ASSIGN_OR_RETURN(rc->series_, ev.SelectSeries(*ms.selector));
  rc->call_ = &c;
  rc->slide_ = info->slide;
  rc->params_.range = ms.range.count();
  rc->params_.offset = ms.selector->offset.count();
  rc->params_.at = ev.AtTime(ms.selector->at);
  rc->drop_name_ = c.func->name != "last_over_time";
  return rc;
}

Status RangeCall::Run(size_t i, const StepRange& r, SampleBuffer& buf, Sample* out,
                      size_t& count, size_t& raw) const {
  count = 0;
  raw = 0;
  if (r.NumSteps() == 0) return Status::Ok();
  const SlideParams& p = params_;
  const int64_t lo = (p.at ? *p.at : r.start) - p.offset - p.range;
  const int64_t hi = (p.at ? *p.at : r.end) - p.offset;
  PLATOPS_RETURN_IF_ERROR(ReadSeriesRange(*(*series_)[i], lo, hi, buf));
  raw = buf.size();
  if (buf.empty()) return Status::Ok();
  SlideParams params = p;
  params.r = &r;
  // Without scalar arguments no function rejects its input.
  count = static_cast<size_t>(std::max<int64_t>(slide_(buf.span(), params, out), 0));
  return Status::Ok();
}

void RangeCall::Annotate(Evaluator& ev, const Labels& labels) const {
  if (IsCounterFunction(call_->func->name)) NotCounterInfo(ev, *call_->args[0], labels);
}

Status Evaluator::StreamCall(const Call& c, const StepRange& r, const SeriesSink& sink) {
  const int mi = MatrixArgIndex(c);
  if (mi >= 0 && c.func->name != "absent_over_time") {
    const bool drop = c.func->name != "last_over_time";
    return RunRangeFunction(*this, c, mi, r,
                            [&](const Labels& labels, std::span<const Sample> points) {
                              return sink(SeriesView{labels, drop, points});
                            });
  }
  PLATOPS_ASSIGN_OR_RETURN(EvalValue v, EvalCall(c, r));
  return StreamValue(v, r, sink);
}

Result<EvalValue> Evaluator::EvalInfo(const Call& c, const StepRange& r) {
  // Identifying labels shared by a series and its info series (Prometheus hard-codes these).
  static const std::vector<std::string> kIdentifying = {"instance", "job"};
  PLATOPS_ASSIGN_OR_RETURN(EvalValue base, Eval(*c.args[0], r));
  std::vector<metrics::Matcher> name_matchers;
  std::vector<metrics::Matcher> data_matchers;  // Data-label selector matchers, __name__ aside.
  if (c.args.size() > 1 && Unparen(*c.args[1]).kind == ExprKind::kVectorSelector) {
    for (const auto& m : static_cast<const VectorSelector&>(Unparen(*c.args[1])).matchers) {
      (m.name == metrics::kMetricName ? name_matchers : data_matchers).push_back(m);
    }
  }
  const bool default_name = name_matchers.empty();
  if (default_name) {
    name_matchers.push_back(
        {metrics::MatchType::kEqual, std::string(metrics::kMetricName), "target_info"});
  }
  PLATOPS_ASSIGN_OR_RETURN(auto compiled_names, metrics::CompileMatchers(name_matchers));
  PLATOPS_ASSIGN_OR_RETURN(auto compiled_data, metrics::CompileMatchers(data_matchers));
  auto is_info = [&](const Labels& labels) {
    const std::string_view n = GetLabel(labels, metrics::kMetricName);
    return std::any_of(compiled_names.begin(), compiled_names.end(),
                       [&](const metrics::CompiledMatcher& m) { return m.Matches(n); });
  };
  // Series without info data are dropped when a data-label matcher needs a non-empty value.
  const bool need_data = std::any_of(compiled_data.begin(), compiled_data.end(),
                                     [](const auto& m) { return !m.MatchesEmpty(); });

  // The info series: those whose identifying labels take values seen on the base series.
  std::vector<uint8_t> ignored(base.series.size(), 0);
  std::vector<std::vector<std::string>> id_values(kIdentifying.size());
  for (size_t i = 0; i < base.series.size(); ++i) {
    ignored[i] = is_info(base.series[i].labels) ? 1 : 0;
    if (ignored[i]) continue;
    for (size_t l = 0; l < kIdentifying.size(); ++l) {
      const std::string_view v = GetLabel(base.series[i].labels, kIdentifying[l]);
      if (!v.empty()) id_values[l].emplace_back(v);
    }
  }
  SeriesSet infos;
  if (std::any_of(id_values.begin(), id_values.end(), [](const auto& v) { return !v.empty(); })) {
    auto sel = std::make_unique<VectorSelector>(c.pos);
    for (size_t l = 0; l < kIdentifying.size(); ++l) {
      if (id_values[l].empty()) continue;
      std::sort(id_values[l].begin(), id_values[l].end());
      id_values[l].erase(std::unique(id_values[l].begin(), id_values[l].end()), id_values[l].end());
      std::string alternation;
      for (const auto& v : id_values[l]) {
        if (!alternation.empty()) alternation += '|';
        alternation += RE2::QuoteMeta(v);
      }
      sel->matchers.push_back({metrics::MatchType::kRegexMatch, kIdentifying[l], alternation});
    }
    sel->matchers.insert(sel->matchers.end(), name_matchers.begin(), name_matchers.end());
    sel->matchers.insert(sel->matchers.end(), data_matchers.begin(), data_matchers.end());
    // Point values are the info samples' own timestamps: the newest wins a conflict.
    PLATOPS_RETURN_IF_ERROR(StreamVectorSelector(*sel, r, true, [&](const SeriesView& v) {
      infos.push_back(EvalSeries{v.labels, {v.points.begin(), v.points.end()}, false});
      return AddSamples(static_cast<int64_t>(v.points.size()));
    }));
    synthetic_selectors_.push_back(std::move(sel));
  }

  // Matching signature: the info metric name plus the identifying labels present.
  auto signature = [&](std::string_view name, const Labels& labels) {
    std::string sig(name);
    sig += '\xff';
    for (const auto& l : kIdentifying) {
      const std::string_view v = GetLabel(labels, l);
      if (v.empty()) continue;
      sig += l;
      sig += '\xff';
      sig += v;
      sig += '\xff';
    }
    return sig;
  };
  std::vector<std::string> info_names;
  std::vector<std::string> info_sig(infos.size());
  for (size_t i = 0; i < infos.size(); ++i) {
    const std::string name(GetLabel(infos[i].labels, metrics::kMetricName));
    if (std::find(info_names.begin(), info_names.end(), name) == info_names.end()) {
      info_names.push_back(name);
    }
    info_sig[i] = signature(name, infos[i].labels);
  }
  // base_sig[i][n]: the signature base series i needs for info metric info_names[n].
  std::vector<std::vector<std::string>> base_sig(base.series.size());
  for (size_t i = 0; i < base.series.size(); ++i) {
    for (const auto& name : info_names) {
      base_sig[i].push_back(signature(name, base.series[i].labels));
    }
  }

  auto data_label_selected = [&](std::string_view name) {
    if (compiled_data.empty()) return true;
    return std::any_of(compiled_data.begin(), compiled_data.end(),
                       [&](const metrics::CompiledMatcher& m) { return m.name() == name; });
  };

  EvalValue out;
  out.type = ValueType::kVector;
  SeriesCollector col;
  const StepIndex info_idx(infos, r);
  const StepIndex base_idx(base.series, r);
  std::unordered_map<std::string, size_t> chosen;
  for (size_t k = 0; k < r.NumSteps(); ++k) {
    if ((k & 63) == 0) PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
    const int64_t ts = r.Time(k);
    chosen.clear();
    std::unordered_map<size_t, double> orig_t;
    for (const StepIndex::Entry& e : info_idx.At(k)) {
      auto [it, inserted] = chosen.emplace(info_sig[e.series], e.series);
      orig_t[e.series] = e.v;
      if (inserted) continue;
      const double existing = orig_t[it->second];
      if (existing < e.v) {
        it->second = e.series;
      } else if (existing == e.v) {
        return Fail(ErrorType::kExecution,
                    "found duplicate series for info metric " +
                        std::string(GetLabel(infos[e.series].labels, metrics::kMetricName)));
      }
    }
    for (const StepIndex::Entry& e : base_idx.At(k)) {
      const EvalSeries& bs = base.series[e.series];
      Labels labels = bs.labels;
      if (!ignored[e.series]) {
        Labels added;
        for (size_t n = 0; n < info_names.size(); ++n) {
          auto it = chosen.find(base_sig[e.series][n]);
          if (it == chosen.end()) continue;
          for (const Label& l : infos[it->second].labels) {
            if (l.name == metrics::kMetricName || !data_label_selected(l.name)) continue;
            const std::string_view prev = GetLabel(added, l.name);
            if (!prev.empty() && prev != l.value) {
              return Fail(ErrorType::kExecution, "conflicting label: " + l.name);
            }
            if (!GetLabel(bs.labels, l.name).empty()) continue;
            SetLabel(added, l.name, l.value);
          }
        }
        if (added.empty() && need_data) continue;
        for (const Label& l : added) SetLabel(labels, l.name, l.value);
      }
      const size_t idx = col.Intern(std::move(labels), bs.drop_name);
      if (!col.Append(idx, ts, e.v)) {
        return Fail(ErrorType::kExecution, "vector cannot contain metrics with the same labelset");
      }
    }
  }
  out.series = col.Take();
  return out;
}

Result<EvalValue> Evaluator::EvalCall(const Call& c, const StepRange& r) {
  const std::string_view name = c.func->name;
  const size_t steps = r.NumSteps();
  EvalValue out;
  out.type = c.type;
  const int mi = MatrixArgIndex(c);

  if (mi >= 0) {
    if (name == "absent_over_time") {
      std::vector<uint8_t> present(steps, 0);
      PLATOPS_RETURN_IF_ERROR(
          RunRangeFunction(*this, c, mi, r, [&](const Labels&, std::span<const Sample> points) {
            for (const Sample& p : points) present[r.Index(p.t)] = 1;
            return Status::Ok();
          }));
      EvalSeries s;
      s.labels = AbsentLabels(*c.args[0]);
      s.drop_name = true;
      for (size_t k = 0; k < steps; ++k) {
        if (!present[k]) s.points.push_back(Sample{r.Time(k), 1});
      }
      if (!s.points.empty()) out.series.push_back(std::move(s));
      return out;
    }
    const bool drop = name != "last_over_time";
    PLATOPS_RETURN_IF_ERROR(RunRangeFunction(
        *this, c, mi, r, [&](const Labels& labels, std::span<const Sample> points) {
          out.series.push_back(EvalSeries{labels, {points.begin(), points.end()}, drop});
          return AddSamples(static_cast<int64_t>(points.size()));
        }));
    return out;
  }

  if (name == "time") {
    out.scalar.resize(steps);
    for (size_t k = 0; k < steps; ++k) out.scalar[k] = static_cast<double>(r.Time(k)) / 1000;
    return out;
  }
  if (name == "pi") {
    out.scalar.assign(steps, std::numbers::pi);
    return out;
  }
  if (name == "label_replace" || name == "label_join") {
    const std::string dst = StringArg(*c.args[1]);
    if (name == "label_replace") {
      const std::string repl = StringArg(*c.args[2]);
      const std::string src = StringArg(*c.args[3]);
      const std::string regex = StringArg(*c.args[4]);
      RE2::Options opts;
      opts.set_log_errors(false);
      RE2 re("^(?s:" + regex + ")$", opts);
      if (!re.ok()) {
        return Fail(ErrorType::kExecution,
                    "invalid regular expression in label_replace(): " + regex);
      }
      if (!ValidLabelName(dst)) {
        return Fail(ErrorType::kExecution,
                    "invalid destination label name in label_replace(): " + dst);
      }
      PLATOPS_ASSIGN_OR_RETURN(out, Eval(*c.args[0], r));
      const int ngroups = re.NumberOfCapturingGroups() + 1;
      std::vector<re2::StringPiece> groups(static_cast<size_t>(ngroups));
      std::string res;
      for (auto& s : out.series) {
        const std::string src_val(GetLabel(s.labels, src));
        if (!re.Match(src_val, 0, src_val.size(), RE2::UNANCHORED, groups.data(), ngroups)) {
          continue;
        }
        res.clear();
        ExpandTemplate(re, repl, groups, res);
        SetLabel(s.labels, dst, res);
        if (dst == metrics::kMetricName) s.drop_name = false;
      }
    } else {
      const std::string sep = StringArg(*c.args[2]);
      std::vector<std::string> srcs;
      for (size_t i = 3; i < c.args.size(); ++i) {
        srcs.push_back(StringArg(*c.args[i]));
        if (!ValidLabelName(srcs.back())) {
          return Fail(ErrorType::kExecution,
                      "invalid source label name in label_join(): " + srcs.back());
        }
      }
      if (!ValidLabelName(dst)) {
        return Fail(ErrorType::kExecution,
                    "invalid destination label name in label_join(): " + dst);
      }
      PLATOPS_ASSIGN_OR_RETURN(out, Eval(*c.args[0], r));
      for (auto& s : out.series) {
        std::string joined;
        for (size_t i = 0; i < srcs.size(); ++i) {
          if (i > 0) joined += sep;
          joined += GetLabel(s.labels, srcs[i]);
        }
        SetLabel(s.labels, dst, joined);
        if (dst == metrics::kMetricName) s.drop_name = false;
      }
    }
    PLATOPS_RETURN_IF_ERROR(MergeSameLabels(*this, out.series));
    return out;
  }

  if (name == "info") return EvalInfo(c, r);
  if (name == "timestamp" && Unparen(*c.args[0]).kind == ExprKind::kVectorSelector) {
    // timestamp() of a selector reports the sample times, not the step times.
    PLATOPS_RETURN_IF_ERROR(StreamVectorSelector(
        static_cast<const VectorSelector&>(Unparen(*c.args[0])), r, true, [&](const SeriesView& s) {
          out.series.push_back(EvalSeries{s.labels, {s.points.begin(), s.points.end()}, true});
          return AddSamples(static_cast<int64_t>(s.points.size()));
        }));
    return out;
  }

  // The remaining functions take their arguments evaluated.
  std::vector<EvalValue> args;
  args.reserve(c.args.size());
  for (const auto& a : c.args) {
    if (a->type == ValueType::kString) {
      args.push_back(EvalValue{ValueType::kString, {}, {}, StringArg(*a)});
      continue;
    }
    PLATOPS_ASSIGN_OR_RETURN(EvalValue v, Eval(*a, r));
    if (v.type == ValueType::kScalar) v.scalar.resize(steps, NAN);
    args.push_back(std::move(v));
  }

  for (const auto& m : kMathFns) {
    if (m.name != name) continue;
    out.series = std::move(args[0].series);
    for (auto& s : out.series) {
      s.drop_name = true;
      for (auto& p : s.points) p.v = m.fn(p.v);
    }
    return out;
  }

  if (name == "timestamp") {
    out.series = std::move(args[0].series);
    for (auto& s : out.series) {
      s.drop_name = true;
      for (auto& p : s.points) p.v = static_cast<double>(p.t) / 1000;
    }
    return out;
  }
  if (name == "round") {
    out.series = std::move(args[0].series);
    for (auto& s : out.series) {
      s.drop_name = true;
      for (auto& p : s.points) {
        const double to_nearest = args.size() > 1 ? args[1].scalar[r.Index(p.t)] : 1.0;
        const double inverse = 1.0 / to_nearest;
        p.v = std::floor(p.v * inverse + 0.5) / inverse;
      }
    }
    return out;
  }
  if (name == "clamp" || name == "clamp_min" || name == "clamp_max") {
    for (auto& s : args[0].series) {
      EvalSeries o;
      o.drop_name = true;
      for (const Sample& p : s.points) {
        const size_t k = r.Index(p.t);
        double lo = -INFINITY;
        double hi = INFINITY;
        if (name == "clamp") {
          lo = args[1].scalar[k];
          hi = args[2].scalar[k];
        } else if (name == "clamp_min") {
          lo = args[1].scalar[k];
        } else {
          hi = args[1].scalar[k];
        }
        if (hi < lo) continue;
        // Go's math.Max/Min: NaN wins.
        double v = std::isnan(hi) || std::isnan(p.v) ? NAN : std::min(hi, p.v);
        v = std::isnan(lo) || std::isnan(v) ? NAN : std::max(lo, v);
        o.points.push_back(Sample{p.t, v});
      }
      if (o.points.empty()) continue;
      o.labels = std::move(s.labels);
      out.series.push_back(std::move(o));
    }
    return out;
  }
  if (name == "vector") {
    EvalSeries s;
    for (size_t k = 0; k < steps; ++k) s.points.push_back(Sample{r.Time(k), args[0].scalar[k]});
    if (!s.points.empty()) out.series.push_back(std::move(s));
    return out;
  }
  if (name == "scalar") {
    out.scalar.assign(steps, NAN);
    std::vector<uint32_t> count(steps, 0);
    for (const auto& s : args[0].series) {
      for (const Sample& p : s.points) {
        const size_t k = r.Index(p.t);
        out.scalar[k] = p.v;
        ++count[k];
      }
    }
    for (size_t k = 0; k < steps; ++k) {
      if (count[k] != 1) out.scalar[k] = NAN;
    }
    return out;
  }
  if (IsDateFn(name)) {
    if (args.empty()) {
      EvalSeries s;
      for (size_t k = 0; k < steps; ++k) {
        s.points.push_back(Sample{r.Time(k), DateFn(name, r.Time(k) / 1000)});
      }
      if (!s.points.empty()) out.series.push_back(std::move(s));
      return out;
    }
    out.series = std::move(args[0].series);
    for (auto& s : out.series) {
      s.drop_name = true;
      for (auto& p : s.points) p.v = DateFn(name, GoInt64(p.v));
    }
    return out;
  }
  if (name == "sort" || name == "sort_desc" || name == "sort_by_label" ||
      name == "sort_by_label_desc") {
    out.series = std::move(args[0].series);
    // Ordering only matters for instant queries; range results are sorted by labels.
    if (steps != 1) return out;
    auto value = [](const EvalSeries& s) { return s.points.front().v; };
    if (name == "sort" || name == "sort_desc") {
      SortByValue(out.series, value, name == "sort_desc");
    } else {
      std::vector<std::string> names;
      for (size_t i = 1; i < args.size(); ++i) names.push_back(args[i].str);
      const bool desc = name == "sort_by_label_desc";
      std::stable_sort(out.series.begin(), out.series.end(),
                       [&](const EvalSeries& a, const EvalSeries& b) {
                         for (const auto& n : names) {
                           const std::string_view va = GetLabel(a.labels, n);
                           const std::string_view vb = GetLabel(b.labels, n);
                           if (va == vb) continue;
                           return NaturalLess(va, vb) != desc;
                         }
                         return desc ? b.labels < a.labels : a.labels < b.labels;
                       });
    }
    return out;
  }
  if (name == "absent") {
    std::vector<uint8_t> present(steps, 0);
    for (const auto& s : args[0].series) {
      for (const Sample& p : s.points) present[r.Index(p.t)] = 1;
    }
    EvalSeries s;
    s.labels = AbsentLabels(*c.args[0]);
    for (size_t k = 0; k < steps; ++k) {
      if (!present[k]) s.points.push_back(Sample{r.Time(k), 1});
    }
    if (!s.points.empty()) out.series.push_back(std::move(s));
    return out;
  }
  if (name == "histogram_quantile" || name == "histogram_fraction") {
    const bool quantile = name == "histogram_quantile";
    const SeriesSet& in = args[quantile ? 1 : 2].series;
    // Group the bucket series by their labels without `le`.
    std::vector<size_t> group_of(in.size(), SIZE_MAX);
    std::vector<double> upper(in.size(), 0);
    std::vector<Labels> group_labels;
    std::unordered_map<std::string, size_t> groups;
    std::string key;
    for (size_t i = 0; i < in.size(); ++i) {
      const std::string_view le = GetLabel(in[i].labels, "le");
      const auto bound = ParseFloatGo(le);
      if (!bound) {
        annotations().Warn(
            "PromQL warning: bucket label \"le\" is missing or has a malformed "
            "value of " +
            QuoteString(le) + " for metric name " +
            QuoteString(GetLabel(in[i].labels, metrics::kMetricName)) + " (" +
            Position(c.args[quantile ? 1 : 2]->pos) + ")");
        continue;
      }
      upper[i] = *bound;
      key.clear();
      for (const Label& l : in[i].labels) {
        if (l.name == "le") continue;
        key += l.name;
        key += '\xff';
        key += l.value;
        key += '\xff';
      }
      auto [it, inserted] = groups.emplace(key, group_labels.size());
      if (inserted) {
        Labels gl = in[i].labels;
        // __name__ goes at the end of the query (delayed name removal), so histograms of
        // different names that end up with the same labels are reported as duplicates.
        DelLabel(gl, "le");
        group_labels.push_back(std::move(gl));
      }
      group_of[i] = it->second;
    }
    std::vector<std::vector<Bucket>> buckets(group_labels.size());
    std::vector<size_t> group_out(group_labels.size(), SIZE_MAX);
    SeriesCollector col;
    const StepIndex idx(in, r);
    const std::string qpos = " (" + Position(c.args[0]->pos) + ")";
    for (size_t k = 0; k < steps; ++k) {
      if ((k & 63) == 0) PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
      const int64_t ts = r.Time(k);
      for (auto& b : buckets) b.clear();
      for (const StepIndex::Entry& e : idx.At(k)) {
        if (group_of[e.series] == SIZE_MAX) continue;
        buckets[group_of[e.series]].push_back(Bucket{upper[e.series], e.v});
      }
      const double q = args[0].scalar[k];
      bool any = false;
      for (size_t g = 0; g < buckets.size(); ++g) {
        if (buckets[g].empty()) continue;
        any = true;
        double v;
        if (quantile) {
          bool forced = false;
          v = BucketQuantile(q, buckets[g], forced);
          if (forced) {
            annotations().Info(
                "PromQL info: input to histogram_quantile needed to be fixed for monotonicity "
                "(see https://prometheus.io/docs/prometheus/latest/querying/functions/"
                "#histogram_quantile) for metric name " +
                QuoteString(GetLabel(in[0].labels, metrics::kMetricName)) + " (" +
                Position(c.args[1]->pos) + ")");
          }
        } else {
          v = BucketFraction(args[0].scalar[k], args[1].scalar[k], buckets[g]);
        }
        if (group_out[g] == SIZE_MAX) group_out[g] = col.Intern(group_labels[g], true);
        col.Append(group_out[g], ts, v);
      }
      if (quantile && any && (std::isnan(q) || q < 0 || q > 1)) {
        annotations().Warn("PromQL warning: quantile value should be between 0 and 1, got " +
                           FormatFloatGo(q) + qpos);
      }
    }
    out.series = col.Take();
    return out;
  }
  if (name == "histogram_count" || name == "histogram_sum" || name == "histogram_avg" ||
      name == "histogram_stddev" || name == "histogram_stdvar") {
    // These read native histogram samples only; float samples are ignored.
    return out;
  }
  return Fail(ErrorType::kInternal, "unknown function " + std::string(name));
}

}  // namespace platops::promql::eval
