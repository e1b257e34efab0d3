#include "alerting/flap.h"

#include <algorithm>
#include <iterator>

namespace platops::alerting {

namespace {

// Drops the changes at or before `cutoff` (outside a half-open window ending now).
void DropOlderThan(std::vector<Timestamp>& changes, Timestamp cutoff) {
  auto keep = std::find_if(changes.begin(), changes.end(), [&](Timestamp t) { return t > cutoff; });
  changes.erase(changes.begin(), keep);
}

}  // namespace

FlapDetector::FlapDetector(FlapOptions options) : options_(options) {}

bool FlapDetector::Enabled() const {
  return options_.max_transitions > 0 && options_.window.count() > 0;
}

std::chrono::milliseconds FlapDetector::Settle() const {
  return options_.settle.count() > 0 ? options_.settle : options_.window;
}

FlapVerdict FlapDetector::Observe(uint64_t fingerprint, bool firing, Timestamp now) {
  if (!Enabled()) return {};
  Entry& e = alerts_[fingerprint];
  e.changes.push_back(now);
  // A change counts while it is less than `window` old; only the last max + 1 matter.
  DropOlderThan(e.changes, now - options_.window);
  while (e.changes.size() > static_cast<size_t>(options_.max_transitions) + 1) {
    e.changes.erase(e.changes.begin());
  }
  e.last_change = now;
  e.firing = firing;
  FlapVerdict v;
  if (!e.flapping && e.changes.size() > static_cast<size_t>(options_.max_transitions)) {
    e.flapping = true;
    v.started = true;
  }
  v.flapping = e.flapping;
  v.hold_firing = e.flapping && !firing;
  return v;
}

std::vector<FlapEnded> FlapDetector::Expire(Timestamp now) {
  std::vector<FlapEnded> ended;
  const auto settle = Settle();
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    Entry& e = it->second;
    if (e.flapping) {
      if (now - e.last_change < settle) {
        ++it;
        continue;
      }
      // Ends with a clean slate: flapping again takes max + 1 new changes.
      ended.push_back({it->first, e.firing, e.last_change});
      it = alerts_.erase(it);
      continue;
    }
    DropOlderThan(e.changes, now - options_.window);
    it = e.changes.empty() ? alerts_.erase(it) : std::next(it);
  }
  std::sort(ended.begin(), ended.end(),
            [](const FlapEnded& a, const FlapEnded& b) { return a.fingerprint < b.fingerprint; });
  return ended;
}

bool FlapDetector::Flapping(uint64_t fingerprint) const {
  auto it = alerts_.find(fingerprint);
  return it != alerts_.end() && it->second.flapping;
}

std::optional<Timestamp> FlapDetector::NextExpiry() const {
  std::optional<Timestamp> next;
  for (const auto& [fingerprint, e] : alerts_) {
    if (!e.flapping) continue;
    const Timestamp at = e.last_change + Settle();
    if (!next || at < *next) next = at;
  }
  return next;
}

size_t FlapDetector::flapping_count() const {
  return static_cast<size_t>(std::count_if(alerts_.begin(), alerts_.end(),
                                           [](const auto& kv) { return kv.second.flapping; }));
}

}  // namespace platops::alerting
