#include "checks/state.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace platops::checks {

namespace {

using probe::Outcome;

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Status CheckCount(int v, const char* field) {
  if (v < 1 || v > 10) {
    return InvalidArgument(std::string(field) + ": must be 1..10, got " + std::to_string(v), field);
  }
  return Status::Ok();
}

Status CheckPercent(double v, const char* field) {
  if (!(v >= 0 && v <= 100)) {  // also rejects NaN
    return InvalidArgument(std::string(field) + ": must be 0..100, got " + FormatNumber(v), field);
  }
  return Status::Ok();
}

void SetHard(CheckState& s, Outcome state, int attempt) {
  s.state = state;
  s.hard = true;
  s.hard_state = state;
  s.attempt = attempt;
  s.recovery_count = 0;
}

}  // namespace

double FlapPercent(const std::vector<Outcome>& recent) {
  // Weight of pair i is 0.75 + i * 0.5 / 19 = (57 + 2i) / 76; summing the integer numerators
  // keeps the known values (100, 6.25, 3.75, ...) exact.
  constexpr int kPairs = kFlapHistory - 1;
  const size_t n = std::min(recent.size(), static_cast<size_t>(kFlapHistory));
  if (n < 2) return 0;
  const size_t first = recent.size() - n;
  const int offset = kPairs - static_cast<int>(n - 1);  // padded pairs never change
  int numerator = 0;
  for (size_t j = 1; j < n; ++j) {
    if (recent[first + j] != recent[first + j - 1]) {
      numerator += 57 + 2 * (offset + static_cast<int>(j) - 1);
    }
  }
  // sum / 20 * 100 with sum = numerator / 76.
  return numerator * 100.0 / (76.0 * kPairs);
}

Status ValidatePolicy(const StatePolicy& p) {
  PLATOPS_RETURN_IF_ERROR(CheckCount(p.max_attempts, "max_attempts"));
  PLATOPS_RETURN_IF_ERROR(CheckCount(p.recovery_attempts, "recovery_attempts"));
  PLATOPS_RETURN_IF_ERROR(CheckPercent(p.flap_low, "flap_low"));
  PLATOPS_RETURN_IF_ERROR(CheckPercent(p.flap_high, "flap_high"));
  if (p.flap_low >= p.flap_high) {
    return InvalidArgument("flap_low: must be below flap_high (" + FormatNumber(p.flap_high) +
                               "), got " + FormatNumber(p.flap_low),
                           "flap_low");
  }
  return Status::Ok();
}

Transition ApplyResult(CheckState& s, Outcome result, Timestamp now, const StatePolicy& p) {
  const int max_attempts = std::max(1, p.max_attempts);
  const int recovery_attempts = std::max(1, p.recovery_attempts);
  const bool ok = result == Outcome::kOk;

  Transition t;
  t.old_state = s.state;
  t.old_hard = s.hard;
  t.old_hard_state = s.hard_state;
  t.first_result = s.pending;
  if (s.pending) {
    s.pending = false;
    s.since = now;
    s.hard_since = now;
  }

  if (s.hard && s.state == Outcome::kOk) {  // HARD OK
    if (!ok) {
      if (max_attempts == 1) {
        SetHard(s, result, max_attempts);
      } else {
        s.state = result;
        s.hard = false;
        s.attempt = 1;
      }
    }
  } else if (!s.hard && s.state != Outcome::kOk) {  // SOFT problem
    if (ok) {
      SetHard(s, Outcome::kOk, 1);  // soft recovery: hard_state was OK throughout
    } else {
      s.state = result;
      if (++s.attempt >= max_attempts) SetHard(s, result, max_attempts);
    }
  } else if (s.hard) {  // HARD problem
    if (ok) {
      if (recovery_attempts == 1) {
        SetHard(s, Outcome::kOk, 1);
      } else {
        s.state = Outcome::kOk;
        s.hard = false;
        s.recovery_count = 1;
        s.attempt = 1;
      }
    } else if (result != s.state) {
      SetHard(s, result, max_attempts);
    }
  } else {  // SOFT OK: recovering from hard_state
    if (ok) {
      if (++s.recovery_count >= recovery_attempts) {
        SetHard(s, Outcome::kOk, 1);
      } else {
        s.attempt = s.recovery_count;
      }
    } else {
      SetHard(s, result, max_attempts);
    }
  }

  t.new_state = s.state;
  t.new_hard = s.hard;
  t.new_hard_state = s.hard_state;
  t.state_changed = t.old_state != t.new_state || t.old_hard != t.new_hard;
  t.hard_changed = t.old_hard_state != t.new_hard_state;
  if (t.state_changed) s.since = now;
  if (t.hard_changed) s.hard_since = now;
  t.retry = !s.hard;

  s.recent.push_back(result);
  if (s.recent.size() > static_cast<size_t>(kFlapHistory)) {
    s.recent.erase(s.recent.begin(), s.recent.end() - kFlapHistory);
  }
  s.flap_percent = FlapPercent(s.recent);
  const bool was_flapping = s.flapping;
  if (p.flap_detection && s.flap_percent >= p.flap_high) {
    s.flapping = true;
  } else if (!p.flap_detection || s.flap_percent <= p.flap_low) {
    s.flapping = false;
  }  // else: between the thresholds, unchanged
  t.flapping_started = !was_flapping && s.flapping;
  t.flapping_stopped = was_flapping && !s.flapping;
  return t;
}

}  // namespace platops::checks
