#pragma once
// AlertStore: the current alerts, identified by the fingerprint of their label set, with
// Alertmanager's intake rules (missing times filled in, resolve_timeout, validation) and its
// merge of an alert sent again into the one held. Sharded by fingerprint, one lock per shard,
// so intake from many connections does not serialise. Thread-safe. Time is an argument.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "alerting/label_set.h"
#include "base/clock.h"
#include "base/status.h"

namespace platops::alerting {

struct Alert {
  LabelSet labels;
  LabelSet annotations;
  // Unset start or end: filled in by Normalize.
  std::optional<Timestamp> starts_at;
  std::optional<Timestamp> ends_at;
  Timestamp updated_at{};
  std::string generator_url;
  // The end was set by resolve_timeout, not by the sender (Alertmanager's Timeout).
  bool timeout = false;
  uint64_t fingerprint = 0;

  // Resolved at `now`: it has an end and the end has passed.
  bool Resolved(Timestamp now) const { return ends_at && *ends_at <= now; }
};

// Alertmanager's handling of a posted alert before it is stored: updated_at = now; a missing
// start becomes the end (or now); a missing end becomes now + resolve_timeout with `timeout` set;
// labels with empty values are dropped; the fingerprint is computed.
void Normalize(Alert& alert, Timestamp now, std::chrono::milliseconds resolve_timeout);

// Alertmanager's validation of a normalized alert, with its words: "start time missing",
// "end time missing", "start time must be before end time", the label set's errors, and
// "invalid annotations: ...".
Status Validate(const Alert& alert);

// Alertmanager's merge of two versions of one alert: the younger (by updated_at) wins, keeping
// the earliest start; a resolved younger alert keeps the latest explicit end if both are
// resolved; otherwise the older one's end wins when later and not a timeout.
Alert Merge(const Alert& older, const Alert& younger, Timestamp now);

class AlertStore {
 public:
  // Stores each alert (Normalize()d and valid), merging it into the one held when their active
  // ranges overlap, as Alertmanager does. Returns the alerts as stored.
  std::vector<Alert> Put(std::vector<Alert> alerts, Timestamp now);

  std::optional<Alert> Get(uint64_t fingerprint) const;
  // Whether an alert is held (without copying it).
  bool Contains(uint64_t fingerprint) const;
  // Every alert, sorted by fingerprint.
  std::vector<Alert> List() const;
  // The same without copying: the alerts as held now (a later Put replaces an alert with a new
  // version and leaves these as they are).
  std::vector<std::shared_ptr<const Alert>> Snapshot() const;
  // Calls `f` on every alert, shard by shard, under the shard's lock: `f` must not call back.
  void ForEach(const std::function<void(const Alert&)>& f) const;
  size_t size() const;

  // Removes the alerts resolved at `now`; returns them.
  std::vector<Alert> GC(Timestamp now);

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    // Versions shared with snapshots, which never see them change: Put swaps in a new one while
    // a snapshot holds the old, and updates in place only an alert no snapshot holds. Each is
    // made as a non-const Alert, so that in-place update is well defined.
    std::unordered_map<uint64_t, std::shared_ptr<const Alert>> alerts;  // GUARDED_BY(mu)
  };
  Shard& ShardOf(uint64_t fingerprint) const { return shards_[fingerprint % kShards]; }

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace platops::alerting
