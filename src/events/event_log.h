#pragma once
// EventLog: the append-only, hash-chained log of every domain change. It is at once the audit
// trail and the source of every timeline. Events are appended inside the transaction of the write
// that caused them, so an event exists exactly when its change does.
// Thread-safety: thread-safe (all state is in the store).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/store.h"

namespace platops::events {

struct Event {
  int64_t seq = 0;
  Timestamp time{};
  std::string actor;         // "admin", "token:ci-deploy", "system"
  std::string action;        // "service.created"
  std::string subject_type;  // "service"
  std::string subject_id;    // "payments-api"
  std::string payload;       // JSON text: the change
  std::string prev_hash;     // hash of seq-1; 64 zeros for the first event
  std::string hash;          // SHA-256 over the canonical encoding (docs/event-log-format.md)
};

struct EventDraft {
  std::string actor;
  std::string action;
  std::string subject_type;
  std::string subject_id;
  std::string payload = "{}";
};

struct EventQuery {
  std::string subject_type;   // empty: any
  std::string subject_id;     // empty: any
  std::string action_prefix;  // empty: any
  int64_t after_seq = 0;
  int limit = 100;  // 1..1000
};

struct VerifyReport {
  int64_t checked = 0;
  std::optional<int64_t> first_broken_seq;
  std::string reason;  // why that event is broken
};

class EventLog {
 public:
  EventLog(const Clock& clock) : clock_(clock) {}  // NOLINT(google-explicit-constructor)

  static std::vector<store::Migration> Migrations();
  static constexpr const char* kGenesisHash =
      "0000000000000000000000000000000000000000000000000000000000000000";

  // Appends inside `tx` (a write transaction) and returns the new seq. After the transaction
  // commits, the commit listener (the bus) is told.
  Result<int64_t> Append(store::Tx& tx, const EventDraft& draft) const;

  Result<std::vector<Event>> List(store::Tx& tx, const EventQuery& query) const;
  // The seq of the newest event, 0 when empty.
  Result<int64_t> LastSeq(store::Tx& tx) const;
  // Recomputes the chain from the first event; stops at the first broken one.
  Result<VerifyReport> Verify(store::Store& store) const;

  // Called on the committing thread after a transaction that appended events commits.
  void SetCommitListener(std::function<void()> listener) { listener_ = std::move(listener); }

  static std::string ComputeHash(const Event& e);

 private:
  const Clock& clock_;
  std::function<void()> listener_;
};

}  // namespace platops::events
