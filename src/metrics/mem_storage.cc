#include "metrics/mem_storage.h"

#include <algorithm>
#include <set>

#include "metrics/matcher.h"

namespace platops::metrics {

class MemAppender : public Appender {
 public:
  explicit MemAppender(MemStorage& storage) : storage_(storage) {}

  AppendError Append(SeriesRef& ref, const Labels& labels, int64_t t, double v) override {
    if (labels.empty() || Get(labels, kMetricName).empty()) return AppendError::kInvalidLabels;
    ref = 0;
    pending_.emplace_back(labels, Sample{t, v});
    return AppendError::kNone;
  }
  Status Commit() override {
    for (auto& [labels, sample] : pending_) storage_.Add(labels, sample);
    pending_.clear();
    return Status::Ok();
  }
  void Rollback() override { pending_.clear(); }

 private:
  MemStorage& storage_;
  std::vector<std::pair<Labels, Sample>> pending_;
};

namespace {

class VectorIterator : public SampleIterator {
 public:
  explicit VectorIterator(const std::vector<Sample>& samples) : samples_(samples) {}
  bool Next() override {
    if (pos_ == kBefore) {
      pos_ = 0;
    } else if (pos_ < samples_.size()) {
      ++pos_;
    }
    return pos_ < samples_.size();
  }
  bool Seek(int64_t t) override {
    if (pos_ == kBefore) pos_ = 0;
    while (pos_ < samples_.size() && samples_[pos_].t < t) ++pos_;
    return pos_ < samples_.size();
  }
  Sample At() const override { return samples_[pos_]; }
  Status status() const override { return Status::Ok(); }

 private:
  static constexpr size_t kBefore = static_cast<size_t>(-1);
  const std::vector<Sample>& samples_;
  size_t pos_ = kBefore;
};

class MemSeries : public Series {
 public:
  MemSeries(Labels labels, std::vector<Sample> samples)
      : labels_(std::move(labels)), samples_(std::move(samples)) {}
  const Labels& labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    return std::make_unique<VectorIterator>(samples_);
  }

 private:
  Labels labels_;
  std::vector<Sample> samples_;
};

bool AnyNonEmptyMatcher(std::span<const CompiledMatcher> matchers) {
  return std::any_of(matchers.begin(), matchers.end(),
                     [](const CompiledMatcher& m) { return !m.MatchesEmpty(); });
}

class MemQuerier : public Querier {
 public:
  MemQuerier(const std::map<Labels, std::vector<Sample>>& series, int64_t mint, int64_t maxt) {
    for (const auto& [labels, samples] : series) {
      auto lo = std::lower_bound(samples.begin(), samples.end(), mint,
                                 [](const Sample& s, int64_t t) { return s.t < t; });
      auto hi = std::upper_bound(samples.begin(), samples.end(), maxt,
                                 [](int64_t t, const Sample& s) { return t < s.t; });
      if (lo == hi) continue;
      series_.emplace_back(labels, std::vector<Sample>(lo, hi));
    }
  }

  Result<std::vector<std::unique_ptr<Series>>> Select(
      std::span<const Matcher> matchers) override {
    PLATOPS_ASSIGN_OR_RETURN(auto compiled, CompileMatchers(matchers));
    if (!AnyNonEmptyMatcher(compiled)) {
      return InvalidArgument("vector selector must contain at least one non-empty matcher");
    }
    std::vector<std::unique_ptr<Series>> out;
    for (const auto& [labels, samples] : series_) {
      if (MatchesAll(compiled, labels)) out.push_back(std::make_unique<MemSeries>(labels, samples));
    }
    return out;
  }

  Result<std::vector<std::string>> LabelNames(std::span<const Matcher> matchers) override {
    PLATOPS_ASSIGN_OR_RETURN(auto compiled, CompileMatchers(matchers));
    std::set<std::string> names;
    for (const auto& [labels, samples] : series_) {
      if (!MatchesAll(compiled, labels)) continue;
      for (const auto& l : labels) names.insert(l.name);
    }
    return std::vector<std::string>(names.begin(), names.end());
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               std::span<const Matcher> matchers) override {
    PLATOPS_ASSIGN_OR_RETURN(auto compiled, CompileMatchers(matchers));
    std::set<std::string> values;
    for (const auto& [labels, samples] : series_) {
      if (!MatchesAll(compiled, labels)) continue;
      std::string_view v = Get(labels, name);
      if (!v.empty()) values.emplace(v);
    }
    return std::vector<std::string>(values.begin(), values.end());
  }

 private:
  std::vector<std::pair<Labels, std::vector<Sample>>> series_;
};

}  // namespace

void MemStorage::Add(const Labels& labels, Sample sample) {
  std::lock_guard lock(mu_);
  auto& samples = series_[labels];
  auto it = std::lower_bound(samples.begin(), samples.end(), sample.t,
                             [](const Sample& s, int64_t t) { return s.t < t; });
  if (it != samples.end() && it->t == sample.t) {
    *it = sample;
  } else {
    samples.insert(it, sample);
  }
}

void MemStorage::Clear() {
  std::lock_guard lock(mu_);
  series_.clear();
}

size_t MemStorage::num_series() const {
  std::lock_guard lock(mu_);
  return series_.size();
}

std::unique_ptr<Appender> MemStorage::NewAppender() { return std::make_unique<MemAppender>(*this); }

Result<std::unique_ptr<Querier>> MemStorage::NewQuerier(int64_t mint, int64_t maxt) {
  std::lock_guard lock(mu_);
  return std::unique_ptr<Querier>(std::make_unique<MemQuerier>(series_, mint, maxt));
}

std::string_view AppendErrorName(AppendError error) {
  switch (error) {
    case AppendError::kNone: return "none";
    case AppendError::kOutOfOrder: return "out_of_order";
    case AppendError::kDuplicate: return "duplicate";
    case AppendError::kOutOfBounds: return "out_of_bounds";
    case AppendError::kInvalidLabels: return "invalid_labels";
    case AppendError::kLimit: return "limit";
  }
  return "unknown";
}

}  // namespace platops::metrics
