// Fuzzes the Prometheus 0.0.4 and OpenMetrics 1.0 text parsers: every sample they accept is a
// well-formed series (sorted, unique, valid names, non-empty UTF-8 values), every error names its
// line, and each 0.0.4 sample formats back to a line that parses to the same sample.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/text_parser.h"

namespace {

using platops::ingest::Format;
using platops::ingest::Sample;

bool ValidName(std::string_view s, bool metric) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (metric && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void CheckLabels(const platops::metrics::Labels& labels, bool with_name) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& l = labels[i];
    if (l.value.empty()) std::abort();
    if (i > 0 && !(labels[i - 1].name < l.name)) std::abort();
    if (l.name == platops::metrics::kMetricName) {
      if (!ValidName(l.value, true)) std::abort();
    } else if (!ValidName(l.name, false)) {
      std::abort();
    }
  }
  if (with_name && platops::metrics::Get(labels, platops::metrics::kMetricName).empty()) {
    std::abort();
  }
}

bool SameValue(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
}

std::vector<Sample> ParseAll(Format format, std::string_view text, bool expect_ok) {
  std::vector<Sample> samples;
  auto r = platops::ingest::Parse(
      format, text,
      [&](Sample&& s) {
        CheckLabels(s.labels, true);
        if (s.has_exemplar) CheckLabels(s.exemplar.labels, false);
        if (s.has_exemplar && format != Format::kOpenMetrics1) std::abort();
        samples.push_back(std::move(s));
        return true;
      },
      [&](platops::ingest::MetricMeta&& m) {
        if (!ValidName(m.family, true) || m.type.empty()) std::abort();
      });
  if (!r.ok()) {
    if (expect_ok || r.status().message().rfind("line ", 0) != 0) std::abort();
  } else if (r->samples != static_cast<int64_t>(samples.size()) || r->stopped) {
    std::abort();
  }
  return samples;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseAll(Format::kOpenMetrics1, text, false);
  std::vector<Sample> samples = ParseAll(Format::kPrometheus004, text, false);
  std::string again;
  for (const auto& s : samples) again += platops::ingest::FormatSampleLine(s);
  std::vector<Sample> back = ParseAll(Format::kPrometheus004, again, true);
  if (back.size() != samples.size()) std::abort();
  for (size_t i = 0; i < samples.size(); ++i) {
    if (back[i].labels != samples[i].labels || !SameValue(back[i].value, samples[i].value) ||
        back[i].timestamp_ms != samples[i].timestamp_ms) {
      std::abort();
    }
  }
  // A callback that stops early ends the parse at once and successfully.
  int seen = 0;
  auto r =
      platops::ingest::Parse(Format::kPrometheus004, again, [&](Sample&&) { return ++seen < 2; });
  if (!r.ok() || seen != std::min<int>(2, static_cast<int>(samples.size()))) std::abort();
  return 0;
}
