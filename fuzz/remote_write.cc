// Fuzzes the remote-write decoder twice per input: as a snappy body, and as the protobuf inside
// one (the input compressed here, so mutations reach the protobuf reader). Every error has a known
// prefix; a decoded request re-encodes to one that decodes to the same series; a sample limit
// rejects exactly the requests over it; appending keeps every sample accounted for and hands the
// Appender only Normalize()d label sets with a metric name.

#include "ingest/remote_write.h"
#include "base/strings.h"

#include <snappy.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using platops::ingest::RemoteWriteLimits;
using platops::ingest::WriteRequest;
using platops::metrics::AppendError;
using platops::metrics::Labels;
using platops::metrics::Sample;

using SeriesList = std::vector<std::pair<Labels, std::vector<Sample>>>;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool HasPrefix(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

SeriesList ToList(const WriteRequest& r) {
  SeriesList out;
  uint32_t next_label = 0, next_sample = 0;
  int64_t samples = 0;
  for (const auto& s : r.series()) {
    Check(s.labels_begin == next_label && s.samples_begin == next_sample);
    next_label += s.num_labels;
    next_sample += s.num_samples;
    samples += s.num_samples;
    Labels labels;
    for (const auto& l : r.labels(s)) labels.push_back({std::string(l.name), std::string(l.value)});
    auto ss = r.samples(s);
    out.emplace_back(std::move(labels), std::vector<Sample>(ss.begin(), ss.end()));
  }
  Check(samples == r.num_samples());
  return out;
}

// Accepts every sample except those at odd timestamps, checking each label set it gets.
class CheckingAppender : public platops::metrics::Appender {
 public:
  AppendError Append(platops::metrics::SeriesRef& ref, const Labels& labels, int64_t t,
                     double) override {
    Check(!labels.empty());
    bool has_name = false;
    for (size_t i = 0; i < labels.size(); ++i) {
      Check(!labels[i].name.empty() && !labels[i].value.empty());
      Check(platops::IsValidUtf8(labels[i].name) && platops::IsValidUtf8(labels[i].value));
      if (i > 0) Check(labels[i - 1].name < labels[i].name);
      has_name |= labels[i].name == platops::metrics::kMetricName;
    }
    Check(has_name);
    Check(ref == 0 || ref == 1);
    if (t % 2 != 0) return AppendError::kOutOfOrder;
    ref = 1;
    ++appended;
    return AppendError::kNone;
  }
  platops::Status Commit() override { return platops::Status::Ok(); }
  void Rollback() override {}
  int64_t appended = 0;
};

void CheckDecoded(const WriteRequest& r, std::string_view body) {
  const SeriesList list = ToList(r);
  // Re-encoding loses exemplars, histograms and metadata only.
  auto again = platops::ingest::DecodeWriteRequest(platops::ingest::EncodeWriteRequest(list));
  Check(again.ok());
  Check(ToList(again.value()) == list);

  // A limit of 3 samples rejects exactly the requests with more.
  RemoteWriteLimits small;
  small.max_samples = 3;
  WriteRequest limited;
  platops::Status s = limited.Decode(body, small);
  if (r.num_samples() > 3) {
    Check(s.code() == platops::StatusCode::kPayloadTooLarge && HasPrefix(s.message(), "limit: "));
  } else {
    Check(s.ok() && ToList(limited) == list);
  }

  CheckingAppender appender;
  RemoteWriteLimits tight;
  tight.max_labels_per_series = 4;
  tight.max_label_name_bytes = 16;
  tight.max_label_value_bytes = 16;
  for (const RemoteWriteLimits& limits : {RemoteWriteLimits{}, tight}) {
    appender.appended = 0;
    auto summary = platops::ingest::AppendWriteRequest(r, appender, limits);
    Check(summary.samples == r.num_samples());
    Check(summary.samples_appended == appender.appended);
    Check(summary.samples_appended + summary.rejected_total() == summary.samples);
    Check(summary.rejected[0] == 0);
    Check(summary.rejected_total() == 0 || !summary.first_error.empty());
    Check(summary.histograms_dropped == r.num_histograms());
    const int status = platops::ingest::ReplyForAppend(summary, platops::Status::Ok()).http_status;
    Check(status == 204 || status == 200 || status == 400);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto as_body = platops::ingest::DecodeWriteRequest(input);
  if (as_body.ok()) {
    CheckDecoded(as_body.value(), input);
  } else {
    const std::string& m = as_body.status().message();
    Check(HasPrefix(m, "snappy: ") || HasPrefix(m, "protobuf: ") || HasPrefix(m, "limit: "));
  }

  std::string body;
  snappy::Compress(input.data(), input.size(), &body);
  auto as_proto = platops::ingest::DecodeWriteRequest(body);
  if (as_proto.ok()) {
    CheckDecoded(as_proto.value(), body);
  } else {
    const std::string& m = as_proto.status().message();
    Check(HasPrefix(m, "protobuf: ") || HasPrefix(m, "limit: "));
    Check(m.find(" at byte ") != std::string::npos || HasPrefix(m, "limit: "));
  }
  return 0;
}
