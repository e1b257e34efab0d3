#include "alerting/alert_store.h"

#include <algorithm>

#include "base/strings.h"

namespace platops::alerting {

void Normalize(Alert& alert, Timestamp now, std::chrono::milliseconds resolve_timeout) {
  alert.updated_at = now;
  if (!alert.starts_at) alert.starts_at = alert.ends_at ? *alert.ends_at : now;
  if (!alert.ends_at) {
    alert.timeout = true;
    alert.ends_at = now + resolve_timeout;
  }
  std::vector<std::string> empty;
  for (const Label& l : alert.labels) {
    if (l.value.empty()) empty.push_back(l.name);
  }
  for (const auto& name : empty) alert.labels.Erase(name);
  alert.fingerprint = Fingerprint(alert.labels);
}

Status Validate(const Alert& alert) {
  if (!alert.starts_at) return InvalidArgument("start time missing");
  if (!alert.ends_at) return InvalidArgument("end time missing");
  if (*alert.ends_at < *alert.starts_at) {
    return InvalidArgument("start time must be before end time");
  }
  PLATOPS_RETURN_IF_ERROR(alerting::Validate(alert.labels));
  for (const Label& l : alert.annotations) {
    if (!IsValidLabelName(l.name)) {
      return InvalidArgument("invalid annotations: invalid name " + GoQuote(l.name));
    }
    if (!IsValidUtf8(l.value)) {
      return InvalidArgument("invalid annotations: invalid value " + GoQuote(l.value));
    }
  }
  return Status::Ok();
}

Alert Merge(const Alert& older, const Alert& younger, Timestamp now) {
  if (younger.updated_at < older.updated_at) return Merge(younger, older, now);
  Alert res = younger;
  if (*older.starts_at < *younger.starts_at) res.starts_at = older.starts_at;
  if (younger.Resolved(now)) {
    if (older.Resolved(now) && *older.ends_at > *younger.ends_at) res.ends_at = older.ends_at;
  } else if (*older.ends_at > *younger.ends_at && !older.timeout) {
    res.ends_at = older.ends_at;
  }
  return res;
}

std::vector<Alert> AlertStore::Put(std::vector<Alert> alerts, Timestamp now) {
  for (Alert& alert : alerts) {
    Shard& shard = ShardOf(alert.fingerprint);
    std::lock_guard lock(shard.mu);
    auto it = shard.alerts.find(alert.fingerprint);
    if (it != shard.alerts.end()) {
      const Alert& old = *it->second;
      // Merged only when the active ranges overlap; otherwise the new alert replaces the old.
      if ((*alert.ends_at > *old.starts_at && *alert.ends_at < *old.ends_at) ||
          (*alert.starts_at > *old.starts_at && *alert.starts_at < *old.ends_at)) {
        alert = Merge(old, alert, now);
      }
      if (it->second.use_count() == 1) {
        // No snapshot holds this version, and none can be taken while the shard is locked:
        // updated in place (the objects are made non-const, see below), as cheap as before.
        *const_cast<Alert*>(it->second.get()) = alert;
      } else {
        // A snapshot holds it: a new version, and the snapshot keeps the one it has.
        it->second = std::make_shared<Alert>(alert);
      }
    } else {
      shard.alerts.emplace(alert.fingerprint, std::make_shared<Alert>(alert));
    }
  }
  return alerts;
}

std::optional<Alert> AlertStore::Get(uint64_t fingerprint) const {
  Shard& shard = ShardOf(fingerprint);
  std::lock_guard lock(shard.mu);
  auto it = shard.alerts.find(fingerprint);
  if (it == shard.alerts.end()) return std::nullopt;
  return *it->second;
}

bool AlertStore::Contains(uint64_t fingerprint) const {
  Shard& shard = ShardOf(fingerprint);
  std::lock_guard lock(shard.mu);
  return shard.alerts.count(fingerprint) > 0;
}

std::vector<std::shared_ptr<const Alert>> AlertStore::Snapshot() const {
  std::vector<std::shared_ptr<const Alert>> out;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [fp, alert] : shard.alerts) out.push_back(alert);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a->fingerprint < b->fingerprint; });
  return out;
}

std::vector<Alert> AlertStore::List() const {
  std::vector<Alert> out;
  for (const auto& a : Snapshot()) out.push_back(*a);
  return out;
}

void AlertStore::ForEach(const std::function<void(const Alert&)>& f) const {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [fp, alert] : shard.alerts) f(*alert);
  }
}

size_t AlertStore::size() const {
  size_t n = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.alerts.size();
  }
  return n;
}

std::vector<Alert> AlertStore::GC(Timestamp now) {
  std::vector<Alert> removed;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (auto it = shard.alerts.begin(); it != shard.alerts.end();) {
      if (it->second->Resolved(now)) {
        removed.push_back(*it->second);
        it = shard.alerts.erase(it);
      } else {
        ++it;
      }
    }
  }
  return removed;
}

}  // namespace platops::alerting
