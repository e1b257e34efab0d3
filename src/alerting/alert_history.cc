#include "alerting/alert_history.h"

#include <fmt/format.h>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace platops::alerting {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kColumns =
    "id, at, fingerprint, state, labels, annotations, starts_at, ends_at, source, flapping";
// Rows read per statement while matchers filter a page: twice the page at first, doubling up to
// kMaxScanBatch while too few match.
constexpr int kMinScanBatch = 64;
constexpr int kMaxScanBatch = 1024;

int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp FromMs(int64_t ms) { return Timestamp(milliseconds(ms)); }

AlertTransition TransitionOf(const Alert& a, TransitionState state, Timestamp at,
                             std::string source) {
  AlertTransition t;
  t.at = at;
  t.fingerprint = a.fingerprint;
  t.labels = a.labels;
  t.state = state;
  t.starts_at = a.starts_at.value_or(at);
  t.ends_at = a.ends_at;
  t.source = std::move(source);
  t.annotations = a.annotations;
  return t;
}

std::string LabelsToJson(const LabelSet& labels) {
  boost::json::object obj;
  obj.reserve(labels.size());
  for (const auto& l : labels) obj[l.name] = l.value;
  return boost::json::serialize(obj);
}

// A set as LabelsToJson wrote it; unreadable text (altered by hand) reads as the empty set.
LabelSet LabelsFromJson(const std::string& text) {
  LabelSet out;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& [name, value] : v.get_object()) {
    if (value.is_string()) out.Set(std::string(name), std::string(value.get_string()));
  }
  return out;
}

// Columns of kColumns from 1 on; labels already parsed by the caller.
AlertTransition RowToTransition(const store::Row& r, LabelSet labels) {
  AlertTransition t;
  t.at = FromMs(r.Int(1));
  t.fingerprint = ParseFingerprint(r.Text(2)).value_or(0);
  t.state = ParseTransitionState(r.Text(3)).value_or(TransitionState::kFiring);
  t.labels = std::move(labels);
  t.annotations = LabelsFromJson(r.Text(5));
  t.starts_at = FromMs(r.Int(6));
  if (!r.IsNull(7)) t.ends_at = FromMs(r.Int(7));
  t.source = r.Text(8);
  t.flapping = r.Int(9) != 0;
  return t;
}

}  // namespace

std::optional<uint64_t> ParseFingerprint(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return v;
}

std::string_view TransitionStateName(TransitionState state) {
  return state == TransitionState::kResolved ? "resolved" : "firing";
}

std::optional<TransitionState> ParseTransitionState(std::string_view name) {
  if (name == "firing") return TransitionState::kFiring;
  if (name == "resolved") return TransitionState::kResolved;
  return std::nullopt;
}

// ---- TransitionTracker -------------------------------------------------------------------------

void TransitionTracker::Unschedule(uint64_t, const Entry&) {
  // Lazy: a heap item that no longer matches its entry is skipped when it comes up.
}

void TransitionTracker::Schedule(uint64_t fingerprint, const Entry& e) {
  if (!e.firing || !e.ends_at) return;
  due_.emplace_back(*e.ends_at, fingerprint);
  std::push_heap(due_.begin(), due_.end(), std::greater<>());
  if (due_.size() > 2 * entries_.size() + 64) {
    // Mostly stale items (alerts sent again with new ends): rebuild from the entries.
    due_.clear();
    for (const auto& [fp, entry] : entries_) {
      if (entry.firing && entry.ends_at) due_.emplace_back(*entry.ends_at, fp);
    }
    std::make_heap(due_.begin(), due_.end(), std::greater<>());
  }
}

std::optional<AlertTransition> TransitionTracker::Observe(const Alert& merged,
                                                          std::string_view source, Timestamp now) {
  const bool firing = !merged.Resolved(now);
  auto [it, added] = entries_.try_emplace(merged.fingerprint);
  Entry& e = it->second;
  if (!added && merged.updated_at < e.updated_at) return std::nullopt;
  const bool was_firing = e.firing;
  const bool reschedule = added || firing != was_firing || e.ends_at != merged.ends_at;
  e.firing = firing;
  e.ends_at = merged.ends_at;
  e.updated_at = merged.updated_at;
  if (e.source != source) e.source = std::string(source);
  e.restored.reset();
  // An unchanged firing entry keeps its heap item (it is not due yet, or Sweep would have
  // resolved it).
  if (reschedule) Schedule(merged.fingerprint, e);
  if (added ? !firing : firing == was_firing) return std::nullopt;
  return TransitionOf(merged, firing ? TransitionState::kFiring : TransitionState::kResolved, now,
                      e.source);
}

std::vector<AlertTransition> TransitionTracker::Sweep(Timestamp now, const Lookup& lookup) {
  std::vector<AlertTransition> out;
  while (!due_.empty() && due_.front().first <= now) {
    std::pop_heap(due_.begin(), due_.end(), std::greater<>());
    const auto [due, fingerprint] = due_.back();
    due_.pop_back();
    auto it = entries_.find(fingerprint);
    if (it == entries_.end()) continue;
    Entry& e = it->second;
    if (!e.firing || e.ends_at != due) continue;  // A stale item.
    std::optional<Alert> held = lookup ? lookup(fingerprint) : std::nullopt;
    if (held && !held->Resolved(now)) {
      // A newer version than the tracker was fed: follow it.
      e.ends_at = held->ends_at;
      e.updated_at = std::max(e.updated_at, held->updated_at);
      Schedule(fingerprint, e);
      continue;
    }
    if (held) {
      out.push_back(TransitionOf(*held, TransitionState::kResolved, *held->ends_at, e.source));
      e.firing = false;
      e.ends_at = held->ends_at;
      e.restored.reset();
      continue;
    }
    if (e.restored) {
      AlertTransition t = std::move(*e.restored);
      t.state = TransitionState::kResolved;
      t.at = *e.ends_at;
      t.ends_at = e.ends_at;
      t.flapping = false;
      out.push_back(std::move(t));
    }
    // Nothing in the store to Forget later.
    entries_.erase(it);
  }
  return out;
}

std::optional<AlertTransition> TransitionTracker::Forget(const Alert& removed) {
  auto it = entries_.find(removed.fingerprint);
  if (it == entries_.end()) return std::nullopt;
  // Sent again between the store's GC and this call: the entry is the newer alert's.
  if (it->second.updated_at > removed.updated_at) return std::nullopt;
  Unschedule(removed.fingerprint, it->second);
  std::optional<AlertTransition> out;
  if (it->second.firing && removed.ends_at) {
    out = TransitionOf(removed, TransitionState::kResolved, *removed.ends_at, it->second.source);
  }
  entries_.erase(it);
  return out;
}

void TransitionTracker::Restore(std::vector<AlertTransition> firing, Timestamp now,
                                milliseconds grace) {
  for (AlertTransition& t : firing) {
    if (t.state != TransitionState::kFiring) continue;
    Entry& e = entries_[t.fingerprint];
    Unschedule(t.fingerprint, e);
    e.firing = true;
    e.ends_at = std::max(t.ends_at.value_or(now + grace), now + grace);
    e.updated_at = Timestamp{};
    e.source = t.source;
    const uint64_t fingerprint = t.fingerprint;
    e.restored = std::make_unique<AlertTransition>(std::move(t));
    Schedule(fingerprint, e);
  }
}

bool TransitionTracker::Firing(uint64_t fingerprint) const {
  auto it = entries_.find(fingerprint);
  return it != entries_.end() && it->second.firing;
}

std::optional<Timestamp> TransitionTracker::NextTimeout() const {
  // May be a stale item's time, which is earlier: one pass too many, never one too few.
  if (due_.empty()) return std::nullopt;
  return due_.front().first;
}

// ---- AlertHistory ------------------------------------------------------------------------------

AlertHistory::AlertHistory(store::Store& store, AlertHistoryOptions options)
    : store_(store), options_(options) {}

std::vector<store::Migration> AlertHistory::Migrations() {
  return {{"alerting_history", 1,
           "CREATE TABLE alert_history ("
           " id INTEGER PRIMARY KEY, at INTEGER NOT NULL, fingerprint TEXT NOT NULL,"
           " state TEXT NOT NULL, labels TEXT NOT NULL, annotations TEXT NOT NULL,"
           " starts_at INTEGER NOT NULL, ends_at INTEGER, source TEXT NOT NULL,"
           " flapping INTEGER NOT NULL);"
           "CREATE INDEX alert_history_at ON alert_history (at, id);"
           "CREATE INDEX alert_history_fingerprint ON alert_history (fingerprint, at, id);"}};
}

Status AlertHistory::Record(const std::vector<AlertTransition>& transitions) {
  if (transitions.empty()) return Status::Ok();
  return store_.Write([&](store::Tx& tx) -> Status {
    // Ids are chosen here so that PostgreSQL runs the same statements; writes are serialised.
    PLATOPS_ASSIGN_OR_RETURN(auto next,
                             tx.QueryOne("SELECT COALESCE(MAX(id), 0) + 1 FROM alert_history"));
    int64_t id = next->Int(0);
    const std::string insert = fmt::format(
        "INSERT INTO alert_history ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        kColumns);
    for (const AlertTransition& t : transitions) {
      PLATOPS_RETURN_IF_ERROR(
          tx.Exec(insert, {id++, Ms(t.at), FingerprintString(t.fingerprint),
                           std::string(TransitionStateName(t.state)), LabelsToJson(t.labels),
                           LabelsToJson(t.annotations), Ms(t.starts_at),
                           t.ends_at ? store::Value(Ms(*t.ends_at)) : store::Value(), t.source,
                           int64_t{t.flapping ? 1 : 0}})
              .status());
    }
    return Status::Ok();
  });
}

Result<HistoryPage> AlertHistory::Query(const HistoryFilter& filter, int limit,
                                        int64_t cursor) const {
  if (limit < 1 || limit > kMaxPageSize) {
    return InvalidArgument(fmt::format("must be 1..{}, got {}", kMaxPageSize, limit), "limit");
  }
  if (cursor < 0) return InvalidArgument("must be a cursor from a previous page", "cursor");

  // The filters SQL applies; the matchers are applied here, on the labels.
  std::string where = "1 = 1";
  store::Params params;
  auto add = [&](std::string_view condition, store::Value value) {
    params.push_back(std::move(value));
    where += fmt::format(" AND {} ${}", condition, params.size());
  };
  if (filter.from) add("at >=", Ms(*filter.from));
  if (filter.to) add("at <", Ms(*filter.to));
  if (filter.fingerprint) add("fingerprint =", FingerprintString(*filter.fingerprint));
  if (filter.state) add("state =", std::string(TransitionStateName(*filter.state)));

  const bool filtered = !filter.matchers.empty();
  const int max_scan = std::max(1, options_.max_scan);
  HistoryPage page;
  std::vector<int64_t> ids;  // of page.items
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    // Rows come in (at, id) descending order; the position is the last row read.
    std::optional<std::pair<int64_t, int64_t>> after;
    if (cursor > 0) {
      PLATOPS_ASSIGN_OR_RETURN(auto row,
                               tx.QueryOne("SELECT at FROM alert_history WHERE id = $1", {cursor}));
      // Pruned: so is everything older.
      if (!row) return Status::Ok();
      after = {row->Int(0), cursor};
    }
    int scanned = 0;
    int next_batch = std::min(std::max(2 * (limit + 1), kMinScanBatch), kMaxScanBatch);
    while (true) {
      const int batch = filtered ? std::min(next_batch, max_scan - scanned) : limit + 1;
      next_batch = std::min(2 * next_batch, kMaxScanBatch);
      store::Params p = params;
      std::string sql = fmt::format("SELECT {} FROM alert_history WHERE {}", kColumns, where);
      if (after) {
        p.push_back(after->first);
        p.push_back(after->second);
        sql += fmt::format(" AND (at < ${0} OR (at = ${0} AND id < ${1}))", p.size() - 1, p.size());
      }
      p.push_back(int64_t{batch});
      sql += fmt::format(" ORDER BY at DESC, id DESC LIMIT ${}", p.size());
      PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, p));
      for (const auto& r : rows) {
        ++scanned;
        after = {r.Int(1), r.Int(0)};
        LabelSet labels = LabelsFromJson(r.Text(4));
        if (filtered && !MatchesAll(filter.matchers, labels)) continue;
        page.items.push_back(RowToTransition(r, std::move(labels)));
        ids.push_back(r.Int(0));
        if (static_cast<int>(page.items.size()) > limit) break;
      }
      if (static_cast<int>(page.items.size()) > limit) {
        page.items.resize(static_cast<size_t>(limit));
        page.next_cursor = ids[static_cast<size_t>(limit) - 1];
        return Status::Ok();
      }
      if (static_cast<int>(rows.size()) < batch) return Status::Ok();  // no more rows
      if (scanned >= max_scan) {
        // Go on from the last row read, matching or not.
        page.next_cursor = after->second;
        return Status::Ok();
      }
    }
  }));
  return page;
}

Result<std::vector<AlertTransition>> AlertHistory::LastFiring() const {
  std::vector<AlertTransition> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query(fmt::format("SELECT {} FROM alert_history WHERE id IN (SELECT MAX(id) FROM"
                             " alert_history GROUP BY fingerprint) AND state = 'firing'"
                             " ORDER BY fingerprint",
                             kColumns)));
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(RowToTransition(r, LabelsFromJson(r.Text(4))));
    return Status::Ok();
  }));
  return out;
}

Result<int64_t> AlertHistory::Prune(Timestamp now, milliseconds retention) {
  int64_t deleted = 0;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        deleted,
        // An alert firing for longer than the retention keeps its firing row: after a restart
        // it is what says the alert is firing (LastFiring).
        tx.Exec("DELETE FROM alert_history WHERE at < $1 AND NOT (state = 'firing' AND id = "
                "(SELECT MAX(g.id) FROM alert_history g WHERE g.fingerprint ="
                " alert_history.fingerprint))",
                {Ms(now - retention)}));
    return Status::Ok();
  }));
  return deleted;
}

}  // namespace platops::alerting
