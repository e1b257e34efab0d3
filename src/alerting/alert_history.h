#pragma once
// Alert history: every change of an alert between firing and resolved, kept for a retention
// period (default 30 days) for GET /api/v1/alerts/history. TransitionTracker (pure) turns the
// alerts the store holds into transitions; AlertHistory stores and reads them.
// Table: alert_history (module "alerting_history"); format in docs/alerting.md.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alerting/alert_store.h"
#include "alerting/label_set.h"
#include "alerting/matcher.h"
#include "base/clock.h"
#include "base/status.h"
#include "store/store.h"

namespace platops::alerting {

enum class TransitionState { kFiring, kResolved };

// "firing" | "resolved", as stored and as the API shows them.
std::string_view TransitionStateName(TransitionState state);
std::optional<TransitionState> ParseTransitionState(std::string_view name);

// A fingerprint as FingerprintString prints it (1 to 16 hex digits, either case).
std::optional<uint64_t> ParseFingerprint(std::string_view text);

struct AlertTransition {
  // When the alert changed state: the intake time, or its end for a resolve by time-out.
  Timestamp at{};
  uint64_t fingerprint = 0;
  LabelSet labels;
  TransitionState state = TransitionState::kFiring;
  Timestamp starts_at{};
  // The alert's end as known at the change: for a firing alert, when it resolves unless sent
  // again.
  std::optional<Timestamp> ends_at;
  // Who sent the alert last: "api", "rule", "check", "pagerduty".
  std::string source;
  LabelSet annotations;
  // Set by the caller from FlapDetector: the alert was flapping at this change.
  bool flapping = false;

  bool operator==(const AlertTransition&) const = default;
};

// Finds the firing/resolved changes of the alerts held, one small entry per alert known.
// Thread-safety: externally synchronized. Calls for one fingerprint must follow the order in
// which AlertStore merged its versions.
class TransitionTracker {
 public:
  // The alert held now under a fingerprint, if any (e.g. AlertStore::Get).
  using Lookup = std::function<std::optional<Alert>(uint64_t fingerprint)>;

  // Feeds the merged alert AlertStore::Put returned. Returns a transition (at `now`) when the
  // alert is new and firing, when a firing one is resolved at `now` (ends_at <= now) and when a
  // resolved one fires again; nothing for an alert sent again in the same state, for an alert
  // first seen resolved, or for a version older (updated_at) than one already fed.
  std::optional<AlertTransition> Observe(const Alert& merged, std::string_view source,
                                         Timestamp now);

  // The alerts that resolved by time-out (their ends_at passed, at or before `now`, with no
  // newer version fed): a resolved transition at each one's ends_at, oldest first. Labels and
  // annotations come from `lookup`; an alert it no longer finds is forgotten without a
  // transition, unless it was Restore()d. Call it periodically and before AlertStore::GC.
  std::vector<AlertTransition> Sweep(Timestamp now, const Lookup& lookup);

  // The store dropped `removed` (AlertStore::GC). Forgets it; returns its resolve (at its end)
  // if the tracker still saw it firing, so that no resolve is lost when GC ran before Sweep.
  std::optional<AlertTransition> Forget(const Alert& removed);

  // After a restart: the alerts whose last recorded transition is firing
  // (AlertHistory::LastFiring), so that alerts sent again are not recorded as firing twice.
  // One not sent again (Observe) resolves by time-out at max(its ends_at, now + grace), since
  // the senders need a while to re-send what they hold. REQUIRES: called before any Observe.
  void Restore(std::vector<AlertTransition> firing, Timestamp now, std::chrono::milliseconds grace);

  // Alerts known.
  size_t size() const { return entries_.size(); }
  // Whether the tracker sees the alert firing.
  bool Firing(uint64_t fingerprint) const;
  // The earliest ends_at of a firing alert: when Sweep next has work.
  std::optional<Timestamp> NextTimeout() const;

 private:
  struct Entry {
    bool firing = false;
    std::optional<Timestamp> ends_at;
    Timestamp updated_at{};
    std::string source;
    // Set for a Restore()d alert until it is fed again; the store holds no copy of it.
    std::unique_ptr<AlertTransition> restored;
  };

  // Schedule after changing an entry's firing state or end (Unschedule is a no-op: stale heap
  // items are skipped when they come up).
  void Unschedule(uint64_t fingerprint, const Entry& e);
  void Schedule(uint64_t fingerprint, const Entry& e);

  std::unordered_map<uint64_t, Entry> entries_;
  // (ends_at, fingerprint) of every firing entry with an end.
  // A min-heap of (ends_at, fingerprint), pruned lazily (a push per change, no erase).
  std::vector<std::pair<Timestamp, uint64_t>> due_;
};

// Empty / unset fields match everything.
struct HistoryFilter {
  std::optional<Timestamp> from;  // at >= from
  std::optional<Timestamp> to;    // at < to
  std::vector<Matcher> matchers;  // all must match the labels
  std::optional<uint64_t> fingerprint;
  std::optional<TransitionState> state;
};

// Newest first. `next_cursor` is passed back as `cursor` for the next page; nullopt at the end.
// A page may hold fewer than `limit` items and still have a next cursor (see max_scan).
struct HistoryPage {
  std::vector<AlertTransition> items;
  std::optional<int64_t> next_cursor;
};

struct AlertHistoryOptions {
  // Most rows one Query reads to fill a page when matchers filter; it then returns what it
  // found with a cursor to go on from. Default 20,000; >= 1.
  int max_scan = 20000;
};

// The store side of the history. Thread-safety: thread-safe.
class AlertHistory {
 public:
  static constexpr std::chrono::hours kDefaultRetention{24 * 30};
  static constexpr int kMaxPageSize = 1000;

  // `store` must outlive the history and have Migrations() applied.
  explicit AlertHistory(store::Store& store, AlertHistoryOptions options = {});
  AlertHistory(const AlertHistory&) = delete;
  AlertHistory& operator=(const AlertHistory&) = delete;

  static std::vector<store::Migration> Migrations();

  // Appends the transitions, in order, in one transaction. An empty list writes nothing.
  Status Record(const std::vector<AlertTransition>& transitions);

  // REQUIRES: 1 <= limit <= kMaxPageSize (else kInvalidArgument naming "limit"). `cursor` 0
  // starts at the newest. Newest first, in the order recorded.
  Result<HistoryPage> Query(const HistoryFilter& filter, int limit, int64_t cursor = 0) const;

  // The last transition of each alert whose last transition is firing, by fingerprint: what
  // TransitionTracker::Restore takes after a restart.
  Result<std::vector<AlertTransition>> LastFiring() const;

  // Deletes the transitions older than now - retention; returns how many.
  Result<int64_t> Prune(Timestamp now, std::chrono::milliseconds retention = kDefaultRetention);

 private:
  store::Store& store_;
  const AlertHistoryOptions options_;
};

}  // namespace platops::alerting
