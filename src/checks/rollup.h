#pragma once
// Per-check, per-UTC-hour rollups of results, time spent in each HARD state and response times:
// what availability charts and latency percentiles over long ranges are computed from.
// Thread-safety: RollupAccumulator is externally synchronized; the free functions are pure.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "probe/probe.h"

namespace platops::checks {

// Response-time bucket upper bounds in milliseconds (inclusive, like Prometheus's `le`); +Inf
// implicit. Fixed: changing them is a migration.
inline constexpr std::array<double, 14> kResponseBucketsMs = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000};

struct HourRollup {
  Timestamp hour{};                      // start of the UTC hour
  std::array<int64_t, 4> results{};      // count per Outcome, indexed by its value
  std::array<int64_t, 4> ms_in_state{};  // ms spent in each HARD state (maintenance time included)
  int64_t ms_in_maintenance = 0;
  int64_t ms_monitored = 0;                            // sum of ms_in_state (time covered by data)
  int64_t rt_count = 0;                                // results that carried a response time
  double rt_sum_ms = 0, rt_min_ms = 0, rt_max_ms = 0;  // min/max meaningful when rt_count > 0
  std::array<int64_t, kResponseBucketsMs.size() + 1> rt_buckets{};  // non-cumulative; last +Inf
};

// Collects one check's results and state time between flushes.
class RollupAccumulator {
 public:
  // Counts a result in the hour of `at`; `response_time` (when known) feeds the latency stats.
  void AddResult(Timestamp at, probe::Outcome state,
                 std::optional<std::chrono::microseconds> response_time);
  // Attributes [from, to) to `hard_state`, split across hour boundaries; with in_maintenance it
  // counts in ms_in_maintenance too. Empty or inverted ranges add nothing.
  void AddTime(Timestamp from, Timestamp to, probe::Outcome hard_state, bool in_maintenance);
  // The hours touched since the last Drain, one rollup per hour, oldest first; clears them.
  std::vector<HourRollup> Drain();
  bool empty() const { return hours_.empty(); }  // NOLINT(readability-identifier-naming)

 private:
  HourRollup& Hour(Timestamp t);

  std::map<Timestamp, HourRollup> hours_;
};

// The start of the UTC hour containing `t`.
Timestamp HourStart(Timestamp t);

// Adds `from`'s counts, times and buckets to `into` and widens its min/max; `into.hour` is kept.
void MergeInto(HourRollup& into, const HourRollup& from);

// Estimates the q-quantile (0..1, clamped) of the response times, interpolating linearly inside
// the bucket holding the rank like Prometheus's histogram_quantile. The bucket's range is narrowed
// to [rt_min_ms, rt_max_ms], so the +Inf bucket ends at the observed maximum, q = 0 is the minimum
// and q = 1 the maximum. nullopt when there are no observations.
std::optional<double> QuantileMs(const HourRollup& r, double q);

// The mean response time; nullopt when there are no observations.
std::optional<double> MeanMs(const HourRollup& r);

}  // namespace platops::checks
