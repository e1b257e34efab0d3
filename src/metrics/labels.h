#pragma once
// Labels and label matchers: the identity of a series and how queries select series. Shared by
// the metrics store, ingestion (scrape, remote write) and PromQL.
// Thread-safety: plain values.

#include <string>
#include <string_view>
#include <vector>

namespace platops::metrics {

struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
  auto operator<=>(const Label&) const = default;
};

// A label set sorted by name, names unique, no empty values (an empty value means "absent", as in
// Prometheus). The metric name is the label "__name__".
using Labels = std::vector<Label>;

inline constexpr std::string_view kMetricName = "__name__";

// Sorts by name; on duplicate names the last one wins; drops empty values.
Labels Normalize(Labels labels);
// The value of `name`, or "" when absent.
std::string_view Get(const Labels& labels, std::string_view name);
// Prometheus's text form: name{a="1",b="2"} (label values escaped), or {a="1"} without a name.
std::string ToString(const Labels& labels);

enum class MatchType { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

// One `name op "value"` of a selector. Regexes are RE2, fully anchored as in Prometheus.
struct Matcher {
  MatchType type = MatchType::kEqual;
  std::string name;
  std::string value;
  bool operator==(const Matcher&) const = default;
};

}  // namespace platops::metrics
