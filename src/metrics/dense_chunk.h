#pragma once
// The dense encoding of an immutable (on-disk) chunk: timestamps as residuals from a regular grid
// or as delta-of-delta, values as decimal mantissas with a common exponent (delta from the most
// common step, or delta-of-delta) or, when that is not smaller, Gorilla XOR; integer streams are
// bit-packed or Exp-Golomb coded, whichever is smaller. Lossless for every double bit pattern.
// Layout: docs/metrics-format.md. Thread-safety: stateless functions.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "metrics/sample.h"

namespace platops::metrics {

// The most samples one dense chunk holds; bounds what a corrupt header can make us allocate.
inline constexpr size_t kMaxDenseSamples = 65535;

// REQUIRES: timestamps strictly increasing and samples.size() <= kMaxDenseSamples.
std::string EncodeDense(std::span<const Sample> samples);

// Decodes what EncodeDense wrote; corrupt or truncated input gives kInvalidArgument, never UB.
Result<std::vector<Sample>> DecodeDense(std::string_view bytes);
// The same, appending the samples to `out` (whose storage a reader reuses chunk after chunk);
// on error `out` is left as it was.
Status DecodeDenseAppend(std::string_view bytes, std::vector<Sample>& out);

}  // namespace platops::metrics
