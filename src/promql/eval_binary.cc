// Binary operators: arithmetic, comparisons (with and without `bool`), set operators, and vector
// matching (on/ignoring, group_left/group_right), as Prometheus 3 evaluates them.

#include <algorithm>

#include "promql/eval_internal.h"

namespace platops::promql::eval {
namespace {

// Arithmetic operators change the meaning of a metric, so the result loses its name.
bool ChangesMetricSchema(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kPow:
    case BinaryOp::kMod:
    case BinaryOp::kAtan2:
      return true;
    default:
      return false;
  }
}

// The value of `lhs op rhs` between two samples and whether the element is kept (comparisons
// keep the left value when true).
std::pair<double, bool> ElemBinop(BinaryOp op, double lhs, double rhs) {
  switch (op) {
    case BinaryOp::kAdd:
      return {lhs + rhs, true};
    case BinaryOp::kSub:
      return {lhs - rhs, true};
    case BinaryOp::kMul:
      return {lhs * rhs, true};
    case BinaryOp::kDiv:
      return {lhs / rhs, true};
    case BinaryOp::kPow:
      return {std::pow(lhs, rhs), true};
    case BinaryOp::kMod:
      return {std::fmod(lhs, rhs), true};
    case BinaryOp::kAtan2:
      return {std::atan2(lhs, rhs), true};
    case BinaryOp::kEql:
      return {lhs, lhs == rhs};
    case BinaryOp::kNeq:
      return {lhs, lhs != rhs};
    case BinaryOp::kGtr:
      return {lhs, lhs > rhs};
    case BinaryOp::kLss:
      return {lhs, lhs < rhs};
    case BinaryOp::kGte:
      return {lhs, lhs >= rhs};
    case BinaryOp::kLte:
      return {lhs, lhs <= rhs};
    default:
      return {0, false};
  }
}

double ScalarBinop(BinaryOp op, double lhs, double rhs) {
  auto [v, keep] = ElemBinop(op, lhs, rhs);
  if (IsComparison(op)) return keep ? 1 : 0;
  return v;
}

// Prometheus's labels.MatchLabels: the labels a series is matched on.
Labels MatchLabels(const Labels& labels, const VectorMatching& m) {
  Labels out;
  for (const Label& l : labels) {
    const bool listed = std::find(m.matching_labels.begin(), m.matching_labels.end(), l.name) !=
                        m.matching_labels.end();
    if (m.on == listed && (m.on || l.name != metrics::kMetricName)) out.push_back(l);
  }
  return out;
}

// Signature ordinals shared by both sides: equal ordinals mean the series match.
struct Signatures {
  std::vector<uint32_t> lhs;
  std::vector<uint32_t> rhs;
  uint32_t count = 0;
};

Signatures ComputeSignatures(const SeriesSet& lhs, const SeriesSet& rhs, const VectorMatching& m) {
  std::vector<std::string> names = m.matching_labels;
  std::sort(names.begin(), names.end());
  Signatures sig;
  std::unordered_map<std::string, uint32_t> ordinals;
  std::string key;
  auto ordinal = [&](const Labels& labels) {
    SignatureKey(labels, names, m.on, key);
    auto [it, inserted] = ordinals.emplace(key, sig.count);
    if (inserted) ++sig.count;
    return it->second;
  };
  sig.lhs.reserve(lhs.size());
  for (const auto& s : lhs) sig.lhs.push_back(ordinal(s.labels));
  sig.rhs.reserve(rhs.size());
  for (const auto& s : rhs) sig.rhs.push_back(ordinal(s.labels));
  return sig;
}

// One bit per (signature ordinal, step): where a side of a set operation has a sample.
class Presence {
 public:
  Presence(size_t ordinals, size_t steps) : steps_(steps), bits_((ordinals * steps + 63) / 64) {}
  void Mark(const SeriesSet& set, const std::vector<uint32_t>& sig, const StepRange& r) {
    for (size_t i = 0; i < set.size(); ++i) {
      ForEachStep(set[i], r, [&](size_t k, const Sample&) { Set(sig[i], k); });
    }
  }
  void Set(size_t ord, size_t k) {
    const size_t b = ord * steps_ + k;
    bits_[b / 64] |= uint64_t{1} << (b % 64);
  }
  bool Get(size_t ord, size_t k) const {
    const size_t b = ord * steps_ + k;
    return (bits_[b / 64] >> (b % 64)) & 1;
  }
  // Calls fn(step index, point) for each point of a series (points sit at step times).
  template <typename Fn>
  static void ForEachStep(const EvalSeries& s, const StepRange& r, Fn&& fn) {
    size_t k = 0;
    int64_t step_time = r.start;
    for (const Sample& p : s.points) {
      while (step_time < p.t) {
        ++k;
        step_time += r.interval;
      }
      fn(k, p);
    }
  }

 private:
  size_t steps_;
  std::vector<uint64_t> bits_;
};

}  // namespace

Result<EvalValue> Evaluator::EvalBinary(const BinaryExpr& b, const StepRange& r) {
  PLATOPS_ASSIGN_OR_RETURN(EvalValue lhs, Eval(*b.lhs, r));
  PLATOPS_ASSIGN_OR_RETURN(EvalValue rhs, Eval(*b.rhs, r));
  const BinaryOp op = b.op;
  EvalValue out;
  out.type = b.type;

  if (lhs.type == ValueType::kScalar && rhs.type == ValueType::kScalar) {
    out.scalar.resize(lhs.scalar.size());
    for (size_t k = 0; k < lhs.scalar.size(); ++k) {
      out.scalar[k] = ScalarBinop(op, lhs.scalar[k], rhs.scalar[k]);
    }
    return out;
  }

  if (lhs.type == ValueType::kScalar || rhs.type == ValueType::kScalar) {
    const bool swap = lhs.type == ValueType::kScalar;
    SeriesSet& vec = swap ? rhs.series : lhs.series;
    const std::vector<double>& scalar = swap ? lhs.scalar : rhs.scalar;
    const bool drop = ChangesMetricSchema(op) || b.return_bool;
    for (auto& s : vec) {
      PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
      EvalSeries o;
      o.drop_name = s.drop_name || drop;
      o.points.reserve(s.points.size());
      for (const Sample& p : s.points) {
        const double sv = scalar[r.Index(p.t)];
        const double lf = swap ? sv : p.v;
        const double rf = swap ? p.v : sv;
        auto [val, keep] = ElemBinop(op, lf, rf);
        if (IsComparison(op) && swap) val = rf;
        if (b.return_bool) {
          val = keep ? 1 : 0;
          keep = true;
        }
        if (keep) o.points.push_back(Sample{p.t, val});
      }
      if (o.points.empty()) continue;
      o.labels = std::move(s.labels);
      out.series.push_back(std::move(o));
    }
    return out;
  }

  // Both operands are instant vectors.
  const VectorMatching kDefault{Cardinality::kOneToOne, {}, false, {}};
  const VectorMatching& m = b.matching ? *b.matching : kDefault;
  const Signatures sig = ComputeSignatures(lhs.series, rhs.series, m);
  const size_t steps = r.NumSteps();

  if (op == BinaryOp::kAnd || op == BinaryOp::kUnless) {
    Presence present(sig.count, steps);
    present.Mark(rhs.series, sig.rhs, r);
    for (size_t i = 0; i < lhs.series.size(); ++i) {
      EvalSeries& s = lhs.series[i];
      std::vector<Sample> kept;
      Presence::ForEachStep(s, r, [&](size_t k, const Sample& p) {
        if (present.Get(sig.lhs[i], k) == (op == BinaryOp::kAnd)) kept.push_back(p);
      });
      if (kept.empty()) continue;
      s.points = std::move(kept);
      out.series.push_back(std::move(s));
    }
    return out;
  }

  if (op == BinaryOp::kOr) {
    Presence present(sig.count, steps);
    present.Mark(lhs.series, sig.lhs, r);
    SeriesCollector col;
    for (auto& s : lhs.series) {
      const size_t idx = col.Intern(s.labels, s.drop_name);
      col.series(idx).points = std::move(s.points);
    }
    for (size_t j = 0; j < rhs.series.size(); ++j) {
      std::vector<Sample> kept;
      Presence::ForEachStep(rhs.series[j], r, [&](size_t k, const Sample& p) {
        if (!present.Get(sig.rhs[j], k)) kept.push_back(p);
      });
      if (kept.empty()) continue;
      const size_t idx = col.Intern(rhs.series[j].labels, rhs.series[j].drop_name);
      auto& pts = col.series(idx).points;
      // Equal labels mean equal signatures, so an lhs series with these labels has no point
      // at these steps: merging cannot collide.
      const bool sorted = pts.empty() || pts.back().t < kept.front().t;
      pts.insert(pts.end(), kept.begin(), kept.end());
      if (!sorted) {
        std::sort(pts.begin(), pts.end(),
                  [](const Sample& x, const Sample& y) { return x.t < y.t; });
      }
    }
    out.series = col.Take();
    return out;
  }

  // Arithmetic and comparisons: one-to-one or many-to-one (one-to-many swaps the sides).
  const bool swapped = m.card == Cardinality::kOneToMany;
  SeriesSet& many = swapped ? rhs.series : lhs.series;
  SeriesSet& one = swapped ? lhs.series : rhs.series;
  const std::vector<uint32_t>& many_sig = swapped ? sig.rhs : sig.lhs;
  const std::vector<uint32_t>& one_sig = swapped ? sig.lhs : sig.rhs;
  if (many.empty() || one.empty()) return out;

  SeriesCollector col;
  const bool drop = ChangesMetricSchema(op);
  std::unordered_map<uint64_t, size_t> pair_index;
  // The output series of a (many, one) pair; computes its labels once.
  auto result_index = [&](size_t i, size_t j) {
    const uint64_t key = static_cast<uint64_t>(i) * one.size() + j;
    auto it = pair_index.find(key);
    if (it != pair_index.end()) return it->second;
    Labels labels = many[i].labels;
    if (drop) DelLabel(labels, metrics::kMetricName);
    if (m.card == Cardinality::kOneToOne) {
      labels = m.on ? KeepLabels(labels, m.matching_labels) : DropLabels(labels, m.matching_labels);
    }
    for (const std::string& name : m.include) {
      SetLabel(labels, name, GetLabel(one[j].labels, name));
    }
    // A comparison keeps the series' own pending name drop (rate(a[5m]) > rate(b[5m]) has no
    // name, as without delayed name removal).
    const size_t idx = col.Intern(std::move(labels), b.return_bool || many[i].drop_name);
    pair_index.emplace(key, idx);
    return idx;
  };
  auto apply = [&](double many_v, double one_v) {
    const double fl = swapped ? one_v : many_v;
    const double fr = swapped ? many_v : one_v;
    auto res = ElemBinop(op, fl, fr);
    if (b.return_bool) {
      res.first = res.second ? 1 : 0;
      res.second = true;
    }
    return res;
  };

  // Fast path, series by series: when every signature has at most one series on the "one" side
  // (and, one-to-one, on the other side too), and no two pairs produce the same labels, no
  // matching error is possible and each pair is a merge of two point lists.
  {
    std::vector<uint32_t> one_count(sig.count, 0);
    std::vector<uint32_t> many_count(sig.count, 0);
    std::vector<size_t> one_of(sig.count, SIZE_MAX);
    for (size_t j = 0; j < one.size(); ++j) {
      ++one_count[one_sig[j]];
      one_of[one_sig[j]] = j;
    }
    for (size_t i = 0; i < many.size(); ++i) ++many_count[many_sig[i]];
    bool unique = true;
    for (uint32_t o = 0; o < sig.count && unique; ++o) {
      unique = one_count[o] <= 1 && (m.card != Cardinality::kOneToOne || many_count[o] <= 1);
    }
    std::vector<uint8_t> used;
    for (size_t i = 0; i < many.size() && unique; ++i) {
      const size_t j = one_of[many_sig[i]];
      if (j == SIZE_MAX) continue;
      const size_t before = col.size();
      const size_t idx = result_index(i, j);
      if (idx < before) unique = false;  // Two pairs share an output series.
    }
    if (unique) {
      for (size_t i = 0; i < many.size(); ++i) {
        if ((i & 255) == 0) PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
        const size_t j = one_of[many_sig[i]];
        if (j == SIZE_MAX) continue;
        auto& dst = col.series(result_index(i, j)).points;
        const auto& a = many[i].points;
        const auto& o = one[j].points;
        size_t x = 0;
        size_t y = 0;
        while (x < a.size() && y < o.size()) {
          if (a[x].t < o[y].t) {
            ++x;
          } else if (o[y].t < a[x].t) {
            ++y;
          } else {
            auto [val, keep] = apply(a[x].v, o[y].v);
            if (keep) dst.push_back(Sample{a[x].t, val});
            ++x;
            ++y;
          }
        }
      }
      out.series = col.Take();
      return out;
    }
  }

  // General path, step by step, with Prometheus's matching checks.
  col = SeriesCollector();
  pair_index.clear();
  const StepIndex one_idx(one, r);
  const StepIndex many_idx(many, r);
  std::vector<size_t> one_stamp(sig.count, SIZE_MAX);
  std::vector<size_t> one_at(sig.count, 0);
  std::vector<double> one_val(sig.count, 0);
  std::vector<size_t> matched_stamp(sig.count, SIZE_MAX);
  std::vector<size_t> out_stamp;
  std::vector<uint32_t> out_ord;
  for (size_t k = 0; k < steps; ++k) {
    if ((k & 63) == 0) PLATOPS_RETURN_IF_ERROR(CheckInterrupt());
    const int64_t ts = r.Time(k);
    for (const StepIndex::Entry& e : one_idx.At(k)) {
      const size_t j = e.series;
      const uint32_t ord = one_sig[j];
      if (one_stamp[ord] == k) {
        const Labels matched = MatchLabels(one[j].labels, m);
        return Fail(ErrorType::kExecution,
                    "found duplicate series for the match group " + LabelsString(matched) +
                        " on the " + (swapped ? "left" : "right") +
                        " hand-side of the operation: [" + LabelsString(one[j].labels) + ", " +
                        LabelsString(one[one_at[ord]].labels) +
                        "];many-to-many matching not allowed: matching labels must be unique on "
                        "one side");
      }
      one_stamp[ord] = k;
      one_at[ord] = j;
      one_val[ord] = e.v;
    }
    for (const StepIndex::Entry& e : many_idx.At(k)) {
      const size_t i = e.series;
      const uint32_t ord = many_sig[i];
      if (one_stamp[ord] != k) continue;
      auto [val, keep] = apply(e.v, one_val[ord]);
      const size_t idx = result_index(i, one_at[ord]);
      if (idx >= out_stamp.size()) {
        out_stamp.resize(idx + 1, SIZE_MAX);
        out_ord.resize(idx + 1, 0);
      }
      if (m.card == Cardinality::kOneToOne) {
        if (matched_stamp[ord] == k) {
          return Fail(ErrorType::kExecution,
                      "multiple matches for labels: many-to-one matching must be explicit "
                      "(group_left/group_right)");
        }
        matched_stamp[ord] = k;
      } else if (out_stamp[idx] == k && out_ord[idx] == ord) {
        return Fail(ErrorType::kExecution,
                    "multiple matches for labels: grouping labels must ensure unique matches");
      }
      out_stamp[idx] = k;
      out_ord[idx] = ord;
      if (!keep) continue;
      if (!col.Append(idx, ts, val)) {
        return Fail(ErrorType::kExecution, "vector cannot contain metrics with the same labelset");
      }
    }
  }
  out.series = col.Take();
  return out;
}

}  // namespace platops::promql::eval
