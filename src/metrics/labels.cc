#include "metrics/labels.h"

#include <algorithm>

#include "base/metrics_registry.h"

namespace platops::metrics {

Labels Normalize(Labels labels) {
  std::stable_sort(labels.begin(), labels.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  Labels out;
  out.reserve(labels.size());
  for (auto& l : labels) {
    if (!out.empty() && out.back().name == l.name) {
      out.back().value = std::move(l.value);
    } else {
      out.push_back(std::move(l));
    }
  }
  std::erase_if(out, [](const Label& l) { return l.value.empty(); });
  return out;
}

std::string_view Get(const Labels& labels, std::string_view name) {
  auto it = std::lower_bound(labels.begin(), labels.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != labels.end() && it->name == name) return it->value;
  return {};
}

std::string ToString(const Labels& labels) {
  std::string out(Get(labels, kMetricName));
  out += '{';
  bool first = true;
  for (const auto& l : labels) {
    if (l.name == kMetricName) continue;
    if (!first) out += ',';
    first = false;
    out += l.name;
    out += "=\"";
    out += EscapeLabelValue(l.value);
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace platops::metrics
