#include "base/metrics_registry.h"

#include <fmt/format.h>

#include <cmath>

namespace platops {

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string FormatSampleValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

namespace {

void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const LabelValues& values, const char* extra_name = nullptr,
                  const std::string& extra_value = {}) {
  if (names.empty() && !extra_name) return;
  out += '{';
  bool first = true;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (extra_name) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void AppendHeader(std::string& out, const std::string& name, const std::string& help,
                  const char* type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void CounterFamily::Add(const LabelValues& labels, double v) {
  std::lock_guard lock(mu_);
  values_[labels] += v;
}

double CounterFamily::Get(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0 : it->second;
}

void CounterFamily::Render(std::string& out) const {
  AppendHeader(out, name_, help_, "counter");
  std::lock_guard lock(mu_);
  for (const auto& [labels, v] : values_) {
    out += name_;
    AppendLabels(out, label_names_, labels);
    out += ' ';
    out += FormatSampleValue(v);
    out += '\n';
  }
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

void HistogramFamily::Observe(const LabelValues& labels, double v) {
  std::lock_guard lock(mu_);
  auto& s = series_[labels];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size(), 0);
  for (size_t i = 0; i < bounds_.size(); ++i)
    if (v <= bounds_[i]) ++s.buckets[i];
  ++s.count;
  s.sum += v;
}

uint64_t HistogramFamily::Count(const LabelValues& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.count;
}

void HistogramFamily::Render(std::string& out) const {
  AppendHeader(out, name_, help_, "histogram");
  std::lock_guard lock(mu_);
  for (const auto& [labels, s] : series_) {
    for (size_t i = 0; i < bounds_.size(); ++i) {
      out += name_ + "_bucket";
      AppendLabels(out, label_names_, labels, "le", FormatSampleValue(bounds_[i]));
      out += ' ' + std::to_string(s.buckets[i]) + '\n';
    }
    out += name_ + "_bucket";
    AppendLabels(out, label_names_, labels, "le", "+Inf");
    out += ' ' + std::to_string(s.count) + '\n';
    out += name_ + "_sum";
    AppendLabels(out, label_names_, labels);
    out += ' ' + FormatSampleValue(s.sum) + '\n';
    out += name_ + "_count";
    AppendLabels(out, label_names_, labels);
    out += ' ' + std::to_string(s.count) + '\n';
  }
}

CounterFamily& MetricsRegistry::Counter(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  counters_.push_back(std::make_unique<CounterFamily>(name, help, std::move(label_names)));
  return *counters_.back();
}

HistogramFamily& MetricsRegistry::Histogram(const std::string& name, const std::string& help,
                                            std::vector<std::string> label_names,
                                            std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  histograms_.push_back(
      std::make_unique<HistogramFamily>(name, help, std::move(label_names), std::move(bounds)));
  return *histograms_.back();
}

void MetricsRegistry::Gauge(const std::string& name, const std::string& help,
                            std::vector<std::string> label_names, GaugeFn fn, bool is_counter) {
  std::lock_guard lock(mu_);
  gauges_.push_back({name, help, std::move(label_names), std::move(fn), is_counter});
}

std::string MetricsRegistry::Render() const {
  std::string out;
  // Gauge functions may read the store: call them on a copy, without holding the lock.
  std::vector<GaugeEntry> gauges;
  {
    std::lock_guard lock(mu_);
    gauges = gauges_;
  }
  for (const auto& g : gauges) {
    AppendHeader(out, g.name, g.help, g.is_counter ? "counter" : "gauge");
    for (const auto& [labels, v] : g.fn()) {
      out += g.name;
      AppendLabels(out, g.label_names, labels);
      out += ' ' + FormatSampleValue(v) + '\n';
    }
  }
  std::lock_guard lock(mu_);
  for (const auto& c : counters_) c->Render(out);
  for (const auto& h : histograms_) h->Render(out);
  return out;
}

std::vector<double> MetricsRegistry::DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace platops
