#pragma once
// The state of one check over time: Nagios Core's SOFT/HARD state machine with retry attempts,
// an optional recovery delay, and flap detection. Pure: every result comes with its time.
// Thread-safety: pure functions over caller-owned values; a CheckState is externally synchronized.
//
// Rules applied by ApplyResult (after Nagios Core's service check handling):
// - PENDING (no result yet) behaves as HARD OK. The first result clears it and sets `since` and
//   `hard_since` to its time; an OK first result is no state change and no hard change.
// - HARD OK + OK: nothing changes.
// - HARD OK + non-OK: attempt 1 of max_attempts. With max_attempts == 1 it is HARD at once (hard
//   change); otherwise SOFT with that state, and the check is retried.
// - SOFT problem + non-OK: attempt + 1, state follows the result (WARNING/CRITICAL/UNKNOWN may
//   alternate without restarting the count). At attempt == max_attempts the state becomes HARD
//   with the result's state (hard change). So max_attempts = 3 makes the 3rd consecutive non-OK
//   result HARD.
// - SOFT problem + OK: soft recovery. HARD OK at once, attempt 1, no hard change (hard_state was
//   OK throughout). Nagios logs this result as "OK SOFT" and hardens it on the next OK; nothing
//   depends on that extra step, so it is folded into this result.
// - HARD problem + the same non-OK state: nothing changes.
// - HARD problem + another non-OK state: HARD with the new state (hard change, e.g. WARNING ->
//   CRITICAL). No retries: the problem is already confirmed.
// - HARD problem + OK: with recovery_attempts == 1 HARD OK at once (hard change: the recovery).
//   Otherwise SOFT OK with recovery_count 1 (retried); each further OK adds one, and at
//   recovery_count == recovery_attempts the state becomes HARD OK (hard change).
// - SOFT OK (recovering) + non-OK: back to HARD with the result's state, recovery_count reset;
//   a hard change only when that state differs from hard_state.
// - `since` moves whenever state or state type changes; `hard_since` whenever hard_state changes.
// - `retry` is set exactly when the new state type is SOFT (a SOFT problem or a SOFT OK).
// - Attempt counts shrink gracefully when the policy changes between results: a count already at
//   or beyond the new limit completes at the next matching result.
// Flap detection (Nagios Core): every result is appended to `recent` (the last 21 kept), and
// FlapPercent weighs the state changes between consecutive entries. Flapping starts when the
// percentage is >= flap_high and stops when it is <= flap_low; in between it keeps its previous
// value (hysteresis). Like Nagios, the percentage is computed from the first result on: missing
// older history is taken to equal the oldest recorded state, so it adds no changes. With
// flap_detection off the history and percentage are still kept, but the check never flaps (and
// stops flapping if it was).

#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "probe/probe.h"

namespace platops::checks {

// How many results make a state HARD, and the flap thresholds. Limits are checked by
// ValidatePolicy; ApplyResult treats counts below 1 as 1.
struct StatePolicy {
  int max_attempts = 3;       // 1..10: consecutive non-OK results before a problem is HARD
  int recovery_attempts = 1;  // 1..10: consecutive OK results before a HARD problem returns to OK
  bool flap_detection = true;
  double flap_low = 20.0;   // percent, 0..100, < flap_high: flapping stops at <= this
  double flap_high = 30.0;  // percent, 0..100: flapping starts at >= this
};

// The number of results FlapPercent looks at (Nagios's MAX_STATE_HISTORY_ENTRIES).
inline constexpr int kFlapHistory = 21;

// Invariants kept by ApplyResult: HARD means state == hard_state; SOFT with a non-OK state is a
// problem being confirmed (hard_state OK); SOFT with state OK is a recovery being confirmed
// (hard_state non-OK).
struct CheckState {
  bool pending = true;  // no result yet (shown as PENDING; treated as HARD OK)
  probe::Outcome state = probe::Outcome::kOk;  // current state (soft or hard)
  bool hard = true;                            // state type
  // SOFT problem: the attempt 1..max_attempts; HARD problem: max_attempts; HARD OK: 1;
  // SOFT OK: recovery_count.
  int attempt = 1;
  probe::Outcome hard_state = probe::Outcome::kOk;  // the last HARD state
  Timestamp since{};                                // when `state`/type last changed
  Timestamp hard_since{};                           // when hard_state last changed
  int recovery_count = 0;  // consecutive OKs while recovering (recovery_attempts > 1)
  bool flapping = false;
  double flap_percent = 0;
  std::vector<probe::Outcome> recent;  // last <= kFlapHistory result states, oldest first
};

// What one result did to a CheckState.
struct Transition {
  probe::Outcome old_state = probe::Outcome::kOk, new_state = probe::Outcome::kOk;
  bool old_hard = true, new_hard = true;
  bool first_result = false;   // the state was PENDING before this result
  bool state_changed = false;  // state or type changed
  bool hard_changed = false;   // hard_state changed: the event alerting consumes
  probe::Outcome old_hard_state = probe::Outcome::kOk, new_hard_state = probe::Outcome::kOk;
  bool flapping_started = false, flapping_stopped = false;
  bool retry = false;  // schedule the next run at retry_interval (the new state type is SOFT)
};

// Applies one check result taken at `now` to `s` (see the rules above) and says what changed.
Transition ApplyResult(CheckState& s, probe::Outcome result, Timestamp now, const StatePolicy& p);

// Nagios's weighted percent state change over the last kFlapHistory entries of `recent` (oldest
// first): pair i of the 20 (0 = oldest) weighs 0.75 + i * 0.5 / 19, and the percentage is
// sum(weights of changed pairs) / 20 * 100. Shorter histories are padded on the old side with
// their oldest entry. 0 for fewer than two entries.
double FlapPercent(const std::vector<probe::Outcome>& recent);

// Checks the limits of every field; the error's field is the member name ("max_attempts").
Status ValidatePolicy(const StatePolicy& p);

}  // namespace platops::checks
