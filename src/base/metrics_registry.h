#pragma once
// MetricsRegistry: platops's own counters, gauges and histograms, rendered as Prometheus text
// format 0.0.4 on /metrics. Not the metrics store; this is self-observability.
// Thread-safety: thread-safe. Observations take one mutex per family, never across I/O.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace platops {

using LabelValues = std::vector<std::string>;

class CounterFamily {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);
  void Add(const LabelValues& labels, double v = 1);
  double Get(const LabelValues& labels) const;
  void Render(std::string& out) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<LabelValues, double> values_;  // GUARDED_BY(mu_)
};

class HistogramFamily {
 public:
  // `bounds` are the upper bounds of the buckets, ascending; +Inf is implicit.
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  void Observe(const LabelValues& labels, double v);
  uint64_t Count(const LabelValues& labels) const;
  void Render(std::string& out) const;

 private:
  struct Series {
    std::vector<uint64_t> buckets;
    uint64_t count = 0;
    double sum = 0;
  };
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<LabelValues, Series> series_;  // GUARDED_BY(mu_)
};

class MetricsRegistry {
 public:
  // Families live as long as the registry; the returned references stay valid.
  CounterFamily& Counter(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names = {});
  HistogramFamily& Histogram(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names, std::vector<double> bounds);
  // A value computed at scrape time: `fn` returns (label values, value) pairs.
  using GaugeFn = std::function<std::vector<std::pair<LabelValues, double>>()>;
  void Gauge(const std::string& name, const std::string& help, std::vector<std::string> label_names,
             GaugeFn fn, bool is_counter = false);

  // Prometheus text exposition format 0.0.4.
  std::string Render() const;

  static std::vector<double> DefaultLatencyBuckets();

 private:
  struct GaugeEntry {
    std::string name, help;
    std::vector<std::string> label_names;
    GaugeFn fn;
    bool is_counter;
  };
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<CounterFamily>> counters_;
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;
  std::vector<GaugeEntry> gauges_;
};

// Escapes a label value for the text format (backslash, quote, newline).
std::string EscapeLabelValue(const std::string& v);
// Formats a sample value the way Prometheus does (+Inf, -Inf, NaN, shortest round-trip).
std::string FormatSampleValue(double v);

}  // namespace platops
