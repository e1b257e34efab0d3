#include "alerting/dispatch.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace platops::alerting {
namespace {

// Whether every element of sorted `subset` is in sorted `set`.
bool IsSubset(const std::vector<uint64_t>& subset, const std::vector<uint64_t>& set) {
  return std::includes(set.begin(), set.end(), subset.begin(), subset.end());
}

void SortUnique(std::vector<uint64_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// prometheus/common's LabelSet.Before.
bool LabelSetBefore(const LabelSet& a, const LabelSet& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  const std::vector<Label>& la = a.labels();
  const std::vector<Label>& lb = b.labels();
  for (size_t i = 0; i < la.size(); ++i) {
    // The smaller name is missing from the other set, and a set missing a name sorts first.
    if (la[i].name != lb[i].name) return la[i].name > lb[i].name;
    if (la[i].value != lb[i].value) return la[i].value < lb[i].value;
  }
  return false;
}

}  // namespace

bool NeedsNotification(const std::optional<NotificationLogEntry>& last,
                       const std::vector<uint64_t>& firing, const std::vector<uint64_t>& resolved,
                       std::chrono::milliseconds repeat_interval, bool send_resolved,
                       Timestamp now) {
  if (!last) return !firing.empty();
  if (!IsSubset(firing, last->firing_alerts)) return true;
  // All resolved: notify (whatever send_resolved says) only if the receiver was told of
  // firing alerts, so that the log forgets them; alerts that fired and resolved between two
  // flushes were never shown to the receiver.
  if (firing.empty()) return !last->firing_alerts.empty();
  if (send_resolved && !IsSubset(resolved, last->resolved_alerts)) return true;
  return last->timestamp < now - repeat_interval;
}

bool AlertOrderBefore(const LabelSet& a, const LabelSet& b) {
  static constexpr std::array<std::string_view, 2> kOverrideKeys = {"job", "instance"};
  for (std::string_view key : kOverrideKeys) {
    const bool a_has = a.Has(key);
    const bool b_has = b.Has(key);
    if (!a_has && !b_has) continue;
    if (!a_has) return false;
    if (!b_has) return true;
    const std::string_view a_value = a.Get(key);
    const std::string_view b_value = b.Get(key);
    if (a_value != b_value) return a_value < b_value;
  }
  return LabelSetBefore(a, b);
}

AggregationGroup::AggregationGroup(std::string group_key, LabelSet group_labels,
                                   AggregationGroupOptions options)
    : group_key_(std::move(group_key)), group_labels_(std::move(group_labels)), options_(options) {}

void AggregationGroup::Insert(GroupAlert alert, Timestamp now) {
  if (!next_flush_) next_flush_ = now + options_.group_wait;
  if (!has_flushed_ && alert.starts_at + options_.group_wait < now) next_flush_ = now;
  alerts_.insert_or_assign(alert.fingerprint, std::move(alert));
}

std::optional<Notification> AggregationGroup::Flush(Timestamp now, const MutePredicate& muted) {
  next_flush_ = now + options_.group_interval;
  has_flushed_ = true;
  if (alerts_.empty()) return std::nullopt;

  std::vector<GroupAlert> snapshot;
  snapshot.reserve(alerts_.size());
  std::vector<std::pair<uint64_t, Timestamp>> flushed_resolved;
  for (const auto& [fingerprint, alert] : alerts_) {
    GroupAlert copy = alert;
    if (copy.Resolved(now)) {
      flushed_resolved.emplace_back(fingerprint, copy.updated_at);
    } else {
      copy.ends_at.reset();  // an end still ahead must not resolve the alert downstream
    }
    snapshot.push_back(std::move(copy));
  }
  std::stable_sort(snapshot.begin(), snapshot.end(), [](const GroupAlert& a, const GroupAlert& b) {
    return AlertOrderBefore(a.labels, b.labels);
  });

  Notification notification;
  std::vector<uint64_t> firing;
  std::vector<uint64_t> resolved;
  for (GroupAlert& alert : snapshot) {
    if (muted && muted(alert)) continue;
    if (alert.ends_at) {
      resolved.push_back(alert.fingerprint);
      notification.resolved.push_back(std::move(alert));
    } else {
      firing.push_back(alert.fingerprint);
      notification.firing.push_back(std::move(alert));
    }
  }
  SortUnique(firing);
  SortUnique(resolved);

  // Everything muted, or nothing new: the flush succeeds without a notification.
  if ((firing.empty() && resolved.empty()) ||
      !NeedsNotification(log_, firing, resolved, options_.repeat_interval, options_.send_resolved,
                         now)) {
    DropUnchangedResolved(flushed_resolved);
    return std::nullopt;
  }
  // Only resolved alerts and the receiver does not want them: nothing goes out, but the log
  // records the resolution so that it is not decided again.
  if (firing.empty() && !options_.send_resolved) {
    log_ = NotificationLogEntry{std::move(firing), std::move(resolved), now};
    DropUnchangedResolved(flushed_resolved);
    return std::nullopt;
  }

  if (!options_.send_resolved) notification.resolved.clear();
  notification.flush_id = ++last_flush_id_;
  notification.group_key = group_key_;
  notification.group_labels = group_labels_;
  notification.flushed_at = now;
  pending_ = PendingFlush{notification.flush_id, std::move(firing), std::move(resolved),
                          std::move(flushed_resolved)};
  return notification;
}

Status AggregationGroup::Delivered(uint64_t flush_id, Timestamp now) {
  if (!pending_ || pending_->id != flush_id) {
    return Conflict("notification " + std::to_string(flush_id) + " of group " + group_key_ +
                    " is not the pending one");
  }
  log_ = NotificationLogEntry{std::move(pending_->firing), std::move(pending_->resolved), now};
  DropUnchangedResolved(pending_->flushed_resolved);
  pending_.reset();
  return Status::Ok();
}

void AggregationGroup::DropUnchangedResolved(
    const std::vector<std::pair<uint64_t, Timestamp>>& flushed_resolved) {
  for (const auto& [fingerprint, updated_at] : flushed_resolved) {
    auto it = alerts_.find(fingerprint);
    if (it != alerts_.end() && it->second.updated_at == updated_at) alerts_.erase(it);
  }
}

std::vector<GroupAlert> AggregationGroup::Alerts() const {
  std::vector<GroupAlert> alerts;
  alerts.reserve(alerts_.size());
  for (const auto& [fingerprint, alert] : alerts_) alerts.push_back(alert);
  return alerts;
}

void AggregationGroup::RestoreNotificationLog(NotificationLogEntry entry) {
  SortUnique(entry.firing_alerts);
  SortUnique(entry.resolved_alerts);
  log_ = std::move(entry);
}

}  // namespace platops::alerting
