// Fuzzes the WAL record decoders, which read what is on disk after a crash: arbitrary bytes must
// decode or fail cleanly, and whatever decodes must re-encode and decode to the same entries,
// bit-exactly, with the re-encoding stable.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/wal_records.h"

namespace {

using platops::metrics::WalRecordType;

void CheckSeries(std::string_view bytes) {
  std::vector<platops::metrics::WalSeries> series;
  if (!platops::metrics::DecodeSeriesRecordInto(bytes, series).ok()) return;
  if (platops::metrics::GetWalRecordType(bytes).value() != WalRecordType::kSeries) std::abort();
  for (const auto& s : series) {
    for (size_t i = 0; i < s.labels.size(); ++i) {
      if (s.labels[i].name.empty()) std::abort();
      if (i > 0 && s.labels[i - 1].name >= s.labels[i].name) std::abort();
    }
  }
  const std::string again = platops::metrics::EncodeSeriesRecord(series);
  auto round_trip = platops::metrics::DecodeSeriesRecord(again);
  if (!round_trip.ok() || round_trip.value() != series) std::abort();
  if (platops::metrics::EncodeSeriesRecord(round_trip.value()) != again) std::abort();
}

void CheckSamples(std::string_view bytes) {
  std::vector<platops::metrics::WalSample> samples;
  if (!platops::metrics::DecodeSamplesRecordInto(bytes, samples).ok()) return;
  if (platops::metrics::GetWalRecordType(bytes).value() != WalRecordType::kSamples) std::abort();
  const std::string again = platops::metrics::EncodeSamplesRecord(samples);
  auto round_trip = platops::metrics::DecodeSamplesRecord(again);
  if (!round_trip.ok() || round_trip.value() != samples) std::abort();
  if (platops::metrics::EncodeSamplesRecord(round_trip.value()) != again) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Both decoders see every input, so each also meets the other's records and pure garbage.
  CheckSeries(bytes);
  CheckSamples(bytes);
  return 0;
}
