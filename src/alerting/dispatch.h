#pragma once
// The notification decisions of one aggregation group as Alertmanager 0.25 makes them: when the
// group flushes (dispatch/dispatch.go, aggrGroup), whether a flush notifies given the last
// notification-log entry (notify/notify.go, DedupStage.needsUpdate), what is sent (the mute,
// send_resolved and retry stages) and which resolved alerts leave the group afterwards.
// Pure: every call is given `now`; the dispatcher service owns the timers and the sending.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "alerting/label_set.h"
#include "base/clock.h"
#include "base/status.h"

namespace platops::alerting {

// An alert as an aggregation group holds it.
struct GroupAlert {
  LabelSet labels;
  uint64_t fingerprint = 0;  // Fingerprint(labels)
  Timestamp starts_at{};
  std::optional<Timestamp> ends_at;  // unset: no end known, never resolved
  // When the alert store last changed the alert; a resolved alert is only dropped after a
  // notification if it has not changed since the flush.
  Timestamp updated_at{};

  // Resolved at `now`: it has an end and the end is not after `now`.
  bool Resolved(Timestamp now) const { return ends_at && *ends_at <= now; }
  bool operator==(const GroupAlert&) const = default;
};

// The route options that drive a group (Alertmanager's defaults).
struct AggregationGroupOptions {
  // Wait before the first flush of a new group. Default 30s; >= 0.
  std::chrono::milliseconds group_wait{std::chrono::seconds(30)};
  // Wait between flushes. Default 5m; > 0.
  std::chrono::milliseconds group_interval{std::chrono::minutes(5)};
  // Minimum age of the last notification before an unchanged group is notified again.
  // Default 4h; > 0.
  std::chrono::milliseconds repeat_interval{std::chrono::hours(4)};
  // The receiver integration's send_resolved. Default true (the webhook's default).
  bool send_resolved = true;
};

// What the notification log remembers of the last successful notification of a group
// (Alertmanager's nflogpb.Entry for one receiver integration).
struct NotificationLogEntry {
  std::vector<uint64_t> firing_alerts;    // fingerprints, ascending, unique
  std::vector<uint64_t> resolved_alerts;  // fingerprints, ascending, unique
  Timestamp timestamp{};                  // when the notification was delivered
  bool operator==(const NotificationLogEntry&) const = default;
};

// A notification to deliver to the group's receiver.
struct Notification {
  uint64_t flush_id = 0;  // pass to AggregationGroup::Delivered on success
  std::string group_key;
  LabelSet group_labels;
  Timestamp flushed_at{};
  // Both in Alertmanager's order (AlertOrderBefore). Firing alerts carry no ends_at, as
  // Alertmanager clears the end of an alert not yet resolved at the flush.
  std::vector<GroupAlert> firing;
  std::vector<GroupAlert> resolved;  // always empty without send_resolved
};

// Whether an alert is left out of notifications (silenced, inhibited or time-muted).
using MutePredicate = std::function<bool(const GroupAlert&)>;

// DedupStage.needsUpdate: whether a group whose unmuted alerts are `firing` and `resolved`
// (fingerprints, ascending, unique) must notify at `now`, given the last entry. With no entry:
// iff something fires. Otherwise: when something fires that the entry did not list as firing;
// when nothing fires, iff the entry listed firing alerts; with send_resolved, when something is
// resolved that the entry did not list as resolved; else iff the entry is older than
// `repeat_interval` (strictly: an entry exactly repeat_interval old does not repeat yet).
bool NeedsNotification(const std::optional<NotificationLogEntry>& last,
                       const std::vector<uint64_t>& firing, const std::vector<uint64_t>& resolved,
                       std::chrono::milliseconds repeat_interval, bool send_resolved,
                       Timestamp now);

// Alertmanager's order of alerts in a notification (types.AlertSlice): by `job`, then by
// `instance`, an alert having the label before one lacking it; then by label count, then by the
// first differing label in name order, where the set lacking the smaller name comes first and
// equal names compare by value. Byte-wise string comparison throughout.
bool AlertOrderBefore(const LabelSet& a, const LabelSet& b);

// The alerts of one (route, group labels) pair and the schedule and log of its notifications.
// Thread-safety: externally synchronized.
class AggregationGroup {
 public:
  AggregationGroup(std::string group_key, LabelSet group_labels, AggregationGroupOptions options);

  const std::string& group_key() const { return group_key_; }
  const LabelSet& group_labels() const { return group_labels_; }
  const AggregationGroupOptions& options() const { return options_; }

  // Adds or replaces the alert with this fingerprint. The first insert schedules the first flush
  // at now + group_wait. Until the first flush, an alert that started more than group_wait before
  // `now` moves the flush to `now`. After the first flush the schedule is left alone: new alerts
  // wait for the next group_interval tick.
  void Insert(GroupAlert alert, Timestamp now);

  // When Flush is next due; nullopt before the first insert.
  std::optional<Timestamp> NextFlush() const { return next_flush_; }

  // The flush due at NextFlush(). Schedules the next one at now + group_interval, snapshots the
  // alerts as of `now`, leaves out those `muted` accepts (an empty predicate mutes nothing) and
  // decides with NeedsNotification against the last log entry. Returns the notification to
  // deliver, or nullopt when nothing is to be sent; then the flush is complete: resolved alerts
  // of the snapshot are dropped and, if the decision was to notify but send_resolved withholds
  // an all-resolved notification, the log records it as sent. A returned notification replaces
  // any earlier one not yet reported Delivered (that delivery counts as failed).
  std::optional<Notification> Flush(Timestamp now, const MutePredicate& muted = {});

  // Reports that the notification of `flush_id` was delivered at `now`: records it in the
  // notification log and drops the alerts that were resolved at the flush and have not been
  // updated since. Not calling it (a failed delivery) leaves log and alerts as they were, so the
  // next flush decides again. Conflict when `flush_id` is not the latest pending notification.
  Status Delivered(uint64_t flush_id, Timestamp now);

  // No alerts left: the dispatcher may drop the group.
  bool Empty() const { return alerts_.empty(); }
  // The alerts held, by fingerprint.
  std::vector<GroupAlert> Alerts() const;

  // The last notification-log entry, for persisting; nullopt when nothing was notified yet.
  const std::optional<NotificationLogEntry>& notification_log() const { return log_; }
  // Restores a persisted entry (sets are sorted and de-duplicated), so that a restarted server
  // does not repeat a notification already delivered.
  void RestoreNotificationLog(NotificationLogEntry entry);

 private:
  struct PendingFlush {
    uint64_t id = 0;
    std::vector<uint64_t> firing;
    std::vector<uint64_t> resolved;
    // Alerts resolved at the flush, with their updated_at then.
    std::vector<std::pair<uint64_t, Timestamp>> flushed_resolved;
  };

  void DropUnchangedResolved(const std::vector<std::pair<uint64_t, Timestamp>>& flushed_resolved);

  std::string group_key_;
  LabelSet group_labels_;
  AggregationGroupOptions options_;
  std::map<uint64_t, GroupAlert> alerts_;
  std::optional<Timestamp> next_flush_;
  bool has_flushed_ = false;
  std::optional<NotificationLogEntry> log_;
  std::optional<PendingFlush> pending_;
  uint64_t last_flush_id_ = 0;
};

}  // namespace platops::alerting
