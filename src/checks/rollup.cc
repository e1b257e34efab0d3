#include "checks/rollup.h"

#include <algorithm>
#include <cmath>

namespace platops::checks {

Timestamp HourStart(Timestamp t) { return std::chrono::floor<std::chrono::hours>(t); }

HourRollup& RollupAccumulator::Hour(Timestamp t) {
  const Timestamp hour = HourStart(t);
  auto [it, inserted] = hours_.try_emplace(hour);
  if (inserted) it->second.hour = hour;
  return it->second;
}

void RollupAccumulator::AddResult(Timestamp at, probe::Outcome state,
                                  std::optional<std::chrono::microseconds> response_time) {
  HourRollup& r = Hour(at);
  ++r.results[static_cast<size_t>(state)];
  if (!response_time) return;
  const double ms = std::max<double>(0, static_cast<double>(response_time->count()) / 1000.0);
  r.rt_min_ms = r.rt_count == 0 ? ms : std::min(r.rt_min_ms, ms);
  r.rt_max_ms = r.rt_count == 0 ? ms : std::max(r.rt_max_ms, ms);
  ++r.rt_count;
  r.rt_sum_ms += ms;
  // The first bound >= ms: bounds are inclusive upper limits.
  const auto bucket = std::lower_bound(kResponseBucketsMs.begin(), kResponseBucketsMs.end(), ms);
  ++r.rt_buckets[static_cast<size_t>(bucket - kResponseBucketsMs.begin())];
}

void RollupAccumulator::AddTime(Timestamp from, Timestamp to, probe::Outcome hard_state,
                                bool in_maintenance) {
  for (Timestamp cur = from; cur < to;) {
    HourRollup& r = Hour(cur);
    const Timestamp end = std::min<Timestamp>(r.hour + std::chrono::hours(1), to);
    const int64_t ms = (end - cur).count();
    r.ms_in_state[static_cast<size_t>(hard_state)] += ms;
    r.ms_monitored += ms;
    if (in_maintenance) r.ms_in_maintenance += ms;
    cur = end;
  }
}

std::vector<HourRollup> RollupAccumulator::Drain() {
  std::vector<HourRollup> out;
  out.reserve(hours_.size());
  for (auto& [hour, r] : hours_) out.push_back(r);
  hours_.clear();
  return out;
}

void MergeInto(HourRollup& into, const HourRollup& from) {
  for (size_t i = 0; i < into.results.size(); ++i) {
    into.results[i] += from.results[i];
    into.ms_in_state[i] += from.ms_in_state[i];
  }
  into.ms_in_maintenance += from.ms_in_maintenance;
  into.ms_monitored += from.ms_monitored;
  if (from.rt_count > 0) {
    into.rt_min_ms = into.rt_count == 0 ? from.rt_min_ms : std::min(into.rt_min_ms, from.rt_min_ms);
    into.rt_max_ms = into.rt_count == 0 ? from.rt_max_ms : std::max(into.rt_max_ms, from.rt_max_ms);
  }
  into.rt_count += from.rt_count;
  into.rt_sum_ms += from.rt_sum_ms;
  for (size_t i = 0; i < into.rt_buckets.size(); ++i) into.rt_buckets[i] += from.rt_buckets[i];
}

std::optional<double> QuantileMs(const HourRollup& r, double q) {
  int64_t total = 0;
  for (int64_t c : r.rt_buckets) total += c;
  if (total <= 0 || std::isnan(q)) return std::nullopt;
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(total);
  int64_t below = 0;
  for (size_t i = 0; i < r.rt_buckets.size(); ++i) {
    const int64_t count = r.rt_buckets[i];
    if (count == 0) continue;
    if (static_cast<double>(below + count) < rank && i + 1 < r.rt_buckets.size()) {
      below += count;
      continue;
    }
    // The bucket (low, high] holds the rank; the observed min/max narrow it.
    const double low = i == 0 ? 0 : kResponseBucketsMs[i - 1];
    const double high =
        i < kResponseBucketsMs.size() ? kResponseBucketsMs[i] : std::max(low, r.rt_max_ms);
    double lo = std::max(low, r.rt_min_ms);
    if (lo > high) lo = low;  // min/max inconsistent with the buckets: ignore them
    const double hi = std::max(lo, std::min(high, r.rt_max_ms));
    const double fraction =
        std::clamp((rank - static_cast<double>(below)) / static_cast<double>(count), 0.0, 1.0);
    return lo + (hi - lo) * fraction;
  }
  return std::nullopt;  // unreachable: total > 0 means some bucket is non-empty
}

std::optional<double> MeanMs(const HourRollup& r) {
  if (r.rt_count <= 0) return std::nullopt;
  return r.rt_sum_ms / static_cast<double>(r.rt_count);
}

}  // namespace platops::checks
