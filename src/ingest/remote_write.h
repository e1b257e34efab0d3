#pragma once
// Prometheus remote-write 1.0 receiving: decoding the snappy-compressed protobuf WriteRequest a
// sender POSTs, appending its samples to a metrics::Appender, and the HTTP reply for the outcome.
// Plus an encoder for tests and benchmarks.
// Thread-safety: free functions over caller-owned data; a WriteRequest is a plain value (one
// thread at a time; const methods may be called from several threads).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "metrics/labels.h"
#include "metrics/sample.h"
#include "metrics/storage.h"

namespace platops::ingest {

// Bounds on one request.
struct RemoteWriteLimits {
  // Largest decompressed body, checked before decompressing; larger is kPayloadTooLarge (413).
  // Default 32 MiB; values above 2 GiB act as 2 GiB.
  size_t max_decompressed_bytes = size_t{32} << 20;
  // Most float samples in one request; more rejects the whole request (kPayloadTooLarge, 413)
  // before anything is appended. Default 1,000,000.
  int64_t max_samples = 1'000'000;
  // A series over any of these is not appended; its samples count as AppendError::kLimit.
  // Defaults: 64 labels (empty-valued ones included), 1024-byte names, 4096-byte values.
  size_t max_labels_per_series = 64;
  size_t max_label_name_bytes = 1024;
  size_t max_label_value_bytes = 4096;
};

// One Label of the request as sent: views into the request's decompressed body.
struct RemoteLabel {
  std::string_view name;
  std::string_view value;
};

// One TimeSeries of the request: where its labels and float samples sit in the request, and how
// many exemplars and native histogram samples it carried (their contents are not decoded).
struct RemoteSeries {
  uint32_t labels_begin = 0;
  uint32_t num_labels = 0;
  uint32_t samples_begin = 0;
  uint32_t num_samples = 0;
  uint32_t num_exemplars = 0;
  uint32_t num_histograms = 0;
};

// A decoded prometheus.WriteRequest. Labels are in wire order, unvalidated (possibly unsorted,
// duplicated, empty, not UTF-8): AppendWriteRequest validates them. Samples are in wire order.
// Move-only: the label views point into a buffer the request owns (moves keep them valid).
class WriteRequest {
 public:
  WriteRequest() = default;
  WriteRequest(WriteRequest&&) = default;
  WriteRequest& operator=(WriteRequest&&) = default;

  // Replaces the contents with the decoded `snappy_body` (snappy block format, not framed),
  // reusing this object's buffers. Errors (the contents are then empty):
  // kInvalidArgument "snappy: corrupt input" or "protobuf: timeseries[3].labels[1]: truncated
  // varint at byte 123" (byte offsets are into the decompressed body); kPayloadTooLarge when the
  // decompressed size or the sample count is over `limits`.
  Status Decode(std::string_view snappy_body, const RemoteWriteLimits& limits = {});

  std::span<const RemoteSeries> series() const { return series_; }
  std::span<const RemoteLabel> labels(const RemoteSeries& s) const {
    return std::span<const RemoteLabel>(labels_).subspan(s.labels_begin, s.num_labels);
  }
  std::span<const metrics::Sample> samples(const RemoteSeries& s) const {
    return std::span<const metrics::Sample>(samples_).subspan(s.samples_begin, s.num_samples);
  }
  int64_t num_samples() const { return static_cast<int64_t>(samples_.size()); }
  int64_t num_exemplars() const { return num_exemplars_; }
  int64_t num_histograms() const { return num_histograms_; }
  // MetricMetadata entries (field 3), ignored.
  int64_t num_metadata() const { return num_metadata_; }

 private:
  friend class WriteRequestParser;

  std::unique_ptr<char[]> buffer_;  // The decompressed body; label views point into it.
  size_t buffer_capacity_ = 0;
  std::vector<RemoteSeries> series_;
  std::vector<RemoteLabel> labels_;
  std::vector<metrics::Sample> samples_;
  int64_t num_exemplars_ = 0;
  int64_t num_histograms_ = 0;
  int64_t num_metadata_ = 0;
};

// WriteRequest::Decode into a fresh request.
Result<WriteRequest> DecodeWriteRequest(std::string_view snappy_body,
                                        const RemoteWriteLimits& limits = {});

// What AppendWriteRequest did with a request.
struct AppendSummary {
  int64_t series = 0;            // TimeSeries in the request.
  int64_t samples = 0;           // Float samples in the request.
  int64_t samples_appended = 0;  // Append returned kNone.
  // Samples not appended, indexed by AppendError (kNone stays 0). Samples of series rejected by
  // validation count as kInvalidLabels or kLimit; the rest are what the Appender returned.
  std::array<int64_t, 6> rejected{};
  int64_t series_invalid_labels = 0;  // Series skipped: bad labels (see AppendError).
  int64_t series_over_limit = 0;      // Series skipped: over a RemoteWriteLimits label bound.
  int64_t histograms_dropped = 0;     // Native histogram samples: not supported, dropped.
  int64_t exemplars_ignored = 0;
  int64_t metadata_ignored = 0;
  // The first problem, naming its place: `timeseries[3].labels[1]: label name is empty`.
  std::string first_error;

  int64_t rejected_total() const;
};

// Validates each series' labels (non-empty names, valid UTF-8, no duplicate names, a non-empty
// __name__, RemoteWriteLimits bounds; any order), builds Normalize()d Labels (sorted, empty values
// dropped) and appends every float sample of the valid series, going on past rejected samples.
// Series without float samples are not validated. Does not Commit or Rollback: the caller does.
AppendSummary AppendWriteRequest(const WriteRequest& request, metrics::Appender& appender,
                                 const RemoteWriteLimits& limits = {});

// The HTTP answer to a remote-write POST. 204 carries no body; otherwise `message` is the body.
struct RemoteWriteReply {
  int http_status = 204;
  std::string message;
};

// For a Decode error: 413 for kPayloadTooLarge, else 400 (senders do not retry either).
RemoteWriteReply ReplyForDecodeError(const Status& status);
// After AppendWriteRequest and the caller's Commit: a failed commit is 500, or 503 when
// kUnavailable (senders retry 5xx; a failed Commit stored nothing). Else any rejected sample gives
// 400 naming the counts and the first problem (the valid samples are stored; senders do not retry
// 4xx), dropped native histograms alone give 200 saying so, and a clean request 204.
RemoteWriteReply ReplyForAppend(const AppendSummary& summary, const Status& commit);

// The snappy-compressed protobuf WriteRequest of `series`, labels in the given order (proto3
// canonical: zero fields omitted, so -0.0 is kept but 0.0 is not written).
std::string EncodeWriteRequest(
    const std::vector<std::pair<metrics::Labels, std::vector<metrics::Sample>>>& series);

}  // namespace platops::ingest
