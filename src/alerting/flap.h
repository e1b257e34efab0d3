#pragma once
// Flap damping: an alert that changes between firing and resolved more than `max_transitions`
// times within `window` is flapping; while it flaps its resolves are held back (it stays firing
// for notifications) instead of notifying on every change, until it has been quiet for `settle`.
// Icinga and Nagios weigh a percent state change over the last 21 checks; alerts arrive at no
// fixed rate, so here the rule is a count of changes in a time window, which a user can check by
// reading the alert's history.
// Thread-safety: externally synchronized (a value type; time is an argument).

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/clock.h"

namespace platops::alerting {

struct FlapOptions {
  // More changes than this within `window` make an alert flapping. Default 4; 0 disables flap
  // damping (no alert ever flaps); negative values act as 0.
  int max_transitions = 4;
  // How far back changes are counted. Default 30 min; must be > 0 (0 disables, like
  // max_transitions 0).
  std::chrono::milliseconds window{std::chrono::minutes(30)};
  // A flapping alert stops flapping after this long without a change. Default 0: the window.
  std::chrono::milliseconds settle{0};
};

struct FlapVerdict {
  bool flapping = false;  // the alert is flapping after this change
  bool started = false;   // this change made it flapping
  // This change is a resolve that must be held back: the alert is flapping, so notifications
  // keep showing it firing until Expire ends the flapping.
  bool hold_firing = false;
};

// An alert that stopped flapping, with its state at its last change: when `firing` is false the
// caller now lets the held resolve through.
struct FlapEnded {
  uint64_t fingerprint = 0;
  bool firing = false;
  Timestamp last_change{};
};

// Change times per alert fingerprint. Memory: at most max_transitions + 1 times per alert with a
// change within the window or still flapping; Expire drops the rest.
class FlapDetector {
 public:
  explicit FlapDetector(FlapOptions options = {});

  // Records one change of the alert to `firing` (true) or resolved (false) at `now`. Feed it
  // real changes only (TransitionTracker's output), in time order per alert.
  FlapVerdict Observe(uint64_t fingerprint, bool firing, Timestamp now);

  // Ends the flapping of alerts without a change for `settle` and returns them, in fingerprint
  // order; forgets alerts with no change within the window. Call it periodically (e.g. each
  // dispatch tick); a flapping alert's last change plus settle is NextExpiry().
  std::vector<FlapEnded> Expire(Timestamp now);

  // Whether the alert is flapping now.
  bool Flapping(uint64_t fingerprint) const;
  // The earliest time Expire would end a flapping alert, or nullopt when none flaps.
  std::optional<Timestamp> NextExpiry() const;
  // Alerts with an entry (for tests and metrics).
  size_t size() const { return alerts_.size(); }
  size_t flapping_count() const;

  const FlapOptions& options() const { return options_; }

 private:
  struct Entry {
    // Oldest first, within the window, at most max + 1. A vector, not a deque: most alerts hold
    // one change, and a deque's first chunk costs ~600 bytes per alert.
    std::vector<Timestamp> changes;
    Timestamp last_change{};
    bool firing = false;
    bool flapping = false;
  };

  bool Enabled() const;
  std::chrono::milliseconds Settle() const;

  FlapOptions options_;
  std::unordered_map<uint64_t, Entry> alerts_;
};

}  // namespace platops::alerting
