#pragma once
// Parsers of what a scrape target answers: the Prometheus text exposition format 0.0.4 and the
// OpenMetrics 1.0 text format. Streaming: samples and metadata go to callbacks as they are read.
// Thread-safety: free functions over caller-owned data; callbacks run on the calling thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "metrics/labels.h"

namespace platops::ingest {

enum class Format { kPrometheus004, kOpenMetrics1 };

// Chooses the parser by Content-Type as Prometheus does: application/openmetrics-text (any
// version, any parameters, case-insensitive) is OpenMetrics; text/plain, empty or unknown is 0.0.4.
Format FormatForContentType(std::string_view content_type);
// "prometheus-0.0.4" or "openmetrics-1.0".
std::string_view FormatName(Format format);

// An OpenMetrics exemplar: a label set (sorted, like a series), a value and an optional time.
struct Exemplar {
  metrics::Labels labels;
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

// One sample line. `labels` is sorted by name, names unique, "__name__" included, empty values
// dropped (metrics::Labels' contract).
struct Sample {
  metrics::Labels labels;
  double value = 0;
  // 0.0.4 gives milliseconds; OpenMetrics gives seconds, converted here (truncated to the ms).
  std::optional<int64_t> timestamp_ms;
  // OpenMetrics only: the exemplar after " # " on the line, when `has_exemplar`.
  bool has_exemplar = false;
  Exemplar exemplar;
};

// A family's metadata, as announced by its HELP / TYPE / UNIT lines.
struct MetricMeta {
  std::string family;
  // counter gauge histogram summary untyped (0.0.4) or unknown info stateset gaugehistogram (OM).
  // Without a TYPE line: "untyped" in 0.0.4, "unknown" in OpenMetrics.
  std::string type;
  std::string help;  // Unescaped.
  std::string unit;  // OpenMetrics only.
};

struct ParseOptions {
  // OpenMetrics: drop the `<family>_created` samples of counters, histograms and summaries instead
  // of passing them on as ordinary samples. Default false (passed on, as Prometheus 2.x stores
  // them).
  bool skip_created_series = false;
};

struct ParseStats {
  int64_t lines = 0;      // Lines read, including comments and metadata.
  int64_t samples = 0;    // Samples handed to on_sample (including the one that returned false).
  int64_t metadata = 0;   // MetricMeta handed to on_meta.
  int64_t exemplars = 0;  // Samples that carried an exemplar.
  bool stopped = false;   // on_sample returned false; the rest of the body was not read.
};

// Gets each sample; may move from it (its buffers are reused for the next one when left alone).
// Returns false to stop parsing (e.g. a sample limit was reached).
using SampleCallback = std::function<bool(Sample&&)>;
// Gets each family's metadata before that family's first sample. May be empty.
using MetaCallback = std::function<void(MetricMeta&&)>;

// Parses a whole scrape body. The first error stops parsing and is returned as kInvalidArgument
// with its 1-based line number: "line 12: expected '=' after label name". Samples already handed
// to `on_sample` stay handed: like Prometheus, a caller must drop the whole scrape on error.
// OpenMetrics bodies must end with "# EOF" (optionally followed by one line feed).
Result<ParseStats> Parse(Format format, std::string_view body, const SampleCallback& on_sample,
                         const MetaCallback& on_meta = {}, const ParseOptions& options = {});

// A float as the formats spell it: Go's strconv.ParseFloat without hex or underscores, as
// Prometheus accepts it ("1", "-1.5e-3", "+Inf", "-inf", "Infinity", "NaN"). nullopt when invalid
// or out of range.
std::optional<double> ParseFloatValue(std::string_view text);
// The text form of a value that ParseFloatValue reads back exactly: "+Inf", "-Inf", "NaN" or the
// shortest round-trip decimal.
std::string FormatFloatValue(double value);
// One 0.0.4 sample line, '\n'-terminated, with label values escaped; the inverse of Parse.
std::string FormatSampleLine(const Sample& sample);

}  // namespace platops::ingest
