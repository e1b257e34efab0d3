#include "events/event_log.h"

#include "base/crypto.h"
#include "base/time_util.h"

namespace platops::events {

std::vector<store::Migration> EventLog::Migrations() {
  return {{"events", 1, R"sql(
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject_type, subject_id, seq);
CREATE TABLE event_cursors (
  subscriber TEXT PRIMARY KEY,
  last_seq INTEGER NOT NULL
);
)sql"}};
}

namespace {

void Field(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
  out += '\n';
}

Event FromRow(const store::Row& r) {
  Event e;
  e.seq = r.Int(0);
  e.time = ParseStoredTimestamp(r.Text(1));
  e.actor = r.Text(2);
  e.action = r.Text(3);
  e.subject_type = r.Text(4);
  e.subject_id = r.Text(5);
  e.payload = r.Text(6);
  e.prev_hash = r.Text(7);
  e.hash = r.Text(8);
  return e;
}

constexpr const char* kColumns =
    "seq, time, actor, action, subject_type, subject_id, payload, prev_hash, hash";

}  // namespace

std::string EventLog::ComputeHash(const Event& e) {
  std::string canonical = "platops-event-v1\n";
  Field(canonical, std::to_string(e.seq));
  Field(canonical, FormatRfc3339(e.time));
  Field(canonical, e.actor);
  Field(canonical, e.action);
  Field(canonical, e.subject_type);
  Field(canonical, e.subject_id);
  Field(canonical, e.payload);
  Field(canonical, e.prev_hash);
  return Sha256Hex(canonical);
}

Result<int64_t> EventLog::Append(store::Tx& tx, const EventDraft& draft) const {
  PLATOPS_ASSIGN_OR_RETURN(auto last,
                           tx.QueryOne("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"));
  Event e;
  e.seq = last ? last->Int(0) + 1 : 1;
  e.prev_hash = last ? last->Text(1) : kGenesisHash;
  e.time = clock_.Now();
  e.actor = draft.actor.empty() ? "system" : draft.actor;
  e.action = draft.action;
  e.subject_type = draft.subject_type;
  e.subject_id = draft.subject_id;
  e.payload = draft.payload.empty() ? "{}" : draft.payload;
  e.hash = ComputeHash(e);
  PLATOPS_ASSIGN_OR_RETURN(
      auto n, tx.Exec("INSERT INTO events (seq, time, actor, action, subject_type, subject_id, "
                      "payload, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                      {e.seq, FormatRfc3339(e.time), e.actor, e.action, e.subject_type,
                       e.subject_id, e.payload, e.prev_hash, e.hash}));
  (void)n;
  if (listener_) tx.AfterCommit(listener_);
  return e.seq;
}

Result<std::vector<Event>> EventLog::List(store::Tx& tx, const EventQuery& q) const {
  std::string sql = std::string("SELECT ") + kColumns + " FROM events WHERE seq > $1";
  store::Params params{q.after_seq};
  if (!q.subject_type.empty()) {
    params.emplace_back(q.subject_type);
    sql += " AND subject_type = $" + std::to_string(params.size());
  }
  if (!q.subject_id.empty()) {
    params.emplace_back(q.subject_id);
    sql += " AND subject_id = $" + std::to_string(params.size());
  }
  if (!q.action_prefix.empty()) {
    // Prefix match without LIKE, whose escaping and case rules differ between SQLite and
    // PostgreSQL.
    params.emplace_back(q.action_prefix);
    sql += " AND substr(action, 1, " + std::to_string(q.action_prefix.size()) + ") = $" +
           std::to_string(params.size());
  }
  params.emplace_back(static_cast<int64_t>(q.limit));
  sql += " ORDER BY seq LIMIT $" + std::to_string(params.size());
  PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, params));
  std::vector<Event> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(FromRow(r));
  return out;
}

Result<int64_t> EventLog::LastSeq(store::Tx& tx) const {
  PLATOPS_ASSIGN_OR_RETURN(auto row,
                           tx.QueryOne("SELECT seq FROM events ORDER BY seq DESC LIMIT 1"));
  return row ? row->Int(0) : int64_t{0};
}

Result<VerifyReport> EventLog::Verify(store::Store& store) const {
  VerifyReport report;
  std::string prev = kGenesisHash;
  int64_t expected_seq = 1;
  constexpr int64_t kPage = 5000;
  while (!report.first_broken_seq) {
    std::vector<Event> page;
    Status st = store.Read([&](store::Tx& tx) -> Status {
      PLATOPS_ASSIGN_OR_RETURN(auto rows,
                               tx.Query(std::string("SELECT ") + kColumns +
                                            " FROM events WHERE seq >= $1 ORDER BY seq LIMIT $2",
                                        {expected_seq, kPage}));
      for (const auto& r : rows) page.push_back(FromRow(r));
      return Status::Ok();
    });
    PLATOPS_RETURN_IF_ERROR(st);
    if (page.empty()) break;
    for (const auto& e : page) {
      if (e.seq != expected_seq) {
        report.first_broken_seq = expected_seq;
        report.reason = "event " + std::to_string(expected_seq) + " is missing";
        break;
      }
      if (e.prev_hash != prev) {
        report.first_broken_seq = e.seq;
        report.reason = "prev_hash does not match the hash of the event before it";
        break;
      }
      if (ComputeHash(e) != e.hash) {
        report.first_broken_seq = e.seq;
        report.reason = "hash does not match the event's contents";
        break;
      }
      prev = e.hash;
      ++expected_seq;
      ++report.checked;
    }
  }
  return report;
}

}  // namespace platops::events
