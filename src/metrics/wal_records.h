#pragma once
// The records the metrics store writes to its WAL: new series (ref + labels) and samples. Each
// record starts with a type byte; layouts in docs/metrics-format.md ("WAL records"). Decoders
// accept any bytes: corrupt input gives kInvalidArgument with a reason, never UB.
// Thread-safety: stateless functions.

#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "metrics/labels.h"
#include "metrics/storage.h"

namespace platops::metrics {

enum class WalRecordType : uint8_t { kSeries = 1, kSamples = 2 };

// A series created in the head.
struct WalSeries {
  SeriesRef ref = 0;
  Labels labels;
  bool operator==(const WalSeries&) const = default;
};

// One sample of the series `ref`.
struct WalSample {
  SeriesRef ref = 0;
  int64_t t = 0;
  double v = 0;
  // Bit-exact on v, like Sample.
  bool operator==(const WalSample& o) const {
    return ref == o.ref && t == o.t && std::bit_cast<uint64_t>(v) == std::bit_cast<uint64_t>(o.v);
  }
};

// The type of a record, from its first byte; InvalidArgument when empty or unknown.
Result<WalRecordType> GetWalRecordType(std::string_view record);

// Series records. REQUIRES: each label set sorted by name with unique, non-empty names
// (Normalize()d); the decoder rejects anything else.
std::string EncodeSeriesRecord(std::span<const WalSeries> series);
// Replaces `out` with the record, keeping its capacity (the commit path reuses one buffer).
void EncodeSeriesRecordInto(std::span<const WalSeries> series, std::string& out);
// Builds the same record one series at a time: BeginSeriesRecord, then AppendSeriesEntry per
// series, so the head need not copy labels into WalSeries.
void BeginSeriesRecord(std::string& out);
void AppendSeriesEntry(SeriesRef ref, const Labels& labels, std::string& out);
Result<std::vector<WalSeries>> DecodeSeriesRecord(std::string_view record);
// Replaces the contents of `out` (an output parameter so that replay reuses the vector's and its
// strings' allocations from record to record). On error `out` holds unspecified entries.
Status DecodeSeriesRecordInto(std::string_view record, std::vector<WalSeries>& out);

// Samples records: any refs and timestamps, in any order.
std::string EncodeSamplesRecord(std::span<const WalSample> samples);
void EncodeSamplesRecordInto(std::span<const WalSample> samples, std::string& out);
Result<std::vector<WalSample>> DecodeSamplesRecord(std::string_view record);
// As DecodeSeriesRecordInto: reuses `out`'s allocation.
Status DecodeSamplesRecordInto(std::string_view record, std::vector<WalSample>& out);

}  // namespace platops::metrics
