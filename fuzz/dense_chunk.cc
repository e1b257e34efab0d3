// Fuzzes the dense chunk decoder, which reads chunks from disk: arbitrary bytes must decode or
// fail cleanly, and whatever decodes must re-encode and decode to the same samples, bit-exactly.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "metrics/dense_chunk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto samples = platops::metrics::DecodeDense(bytes);
  if (!samples.ok()) return 0;
  for (size_t i = 1; i < samples->size(); ++i) {
    if ((*samples)[i].t <= (*samples)[i - 1].t) std::abort();
  }
  const std::string again = platops::metrics::EncodeDense(samples.value());
  auto round_trip = platops::metrics::DecodeDense(again);
  if (!round_trip.ok() || round_trip.value() != samples.value()) std::abort();
  return 0;
}
