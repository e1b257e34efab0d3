#pragma once
// One sample of a series: a timestamp in Unix milliseconds and a double value.
// Thread-safety: plain value.

#include <bit>
#include <cstdint>

namespace platops::metrics {

struct Sample {
  int64_t t = 0;
  double v = 0;
  // Bit-exact: NaN payloads (the stale marker) compare equal to themselves, -0.0 != 0.0.
  bool operator==(const Sample& o) const {
    return t == o.t && std::bit_cast<uint64_t>(v) == std::bit_cast<uint64_t>(o.v);
  }
};

// Prometheus's stale marker: the NaN written when a series disappears from a scrape.
inline constexpr uint64_t kStaleNanBits = 0x7ff0000000000002ULL;

}  // namespace platops::metrics
