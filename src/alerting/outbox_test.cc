#include "alerting/outbox.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/strings.h"
#include "http/router.h"
#include "http/server.h"
#include "testing/temp_store.h"

namespace platops::alerting {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Answers per receiver with a scripted result (default: delivered) and records every call. A
// receiver marked blocked holds its deliveries until Unblock().
class FakeDeliverer final : public Deliverer {
 public:
  Result<DeliveryResult> Deliver(const OutboxRow& row) override {
    std::unique_lock lock(mu_);
    calls_.push_back(row);
    cv_.notify_all();
    cv_.wait(lock, [&] { return !blocked_.count(row.receiver); });
    auto it = results_.find(row.receiver);
    if (it == results_.end()) return DeliveryResult{AttemptOutcome::kOk, 200, milliseconds(35), ""};
    return it->second;
  }

  void Answer(const std::string& receiver, DeliveryResult r) {
    std::lock_guard lock(mu_);
    results_[receiver] = std::move(r);
  }
  void Block(const std::string& receiver) {
    std::lock_guard lock(mu_);
    blocked_.insert(receiver);
  }
  void Unblock(const std::string& receiver) {
    std::lock_guard lock(mu_);
    blocked_.erase(receiver);
    cv_.notify_all();
  }
  // Waits (bounded) until `receiver` has been called `n` times.
  bool WaitForCalls(const std::string& receiver, int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, seconds(10), [&] { return CallsLocked(receiver) >= n; });
  }
  int Calls(const std::string& receiver) {
    std::lock_guard lock(mu_);
    return CallsLocked(receiver);
  }
  std::vector<OutboxRow> AllCalls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  int CallsLocked(const std::string& receiver) const {
    int n = 0;
    for (const auto& c : calls_) n += c.receiver == receiver;
    return n;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<OutboxRow> calls_;                   // GUARDED_BY(mu_)
  std::map<std::string, DeliveryResult> results_;  // GUARDED_BY(mu_)
  std::set<std::string> blocked_;                  // GUARDED_BY(mu_)
};

OutgoingNotification Note(const std::string& key, const std::string& receiver = "team-a") {
  OutgoingNotification n;
  n.idempotency_key = key;
  n.receiver = receiver;
  n.integration = "webhook[0]";
  n.kind = "webhook";
  n.target = "http://hooks.example/" + receiver;
  n.request = R"({"key":")" + key + R"("})";
  n.headers = {{"X-Platops-Signature", "sha256=abc"}};
  return n;
}

DeliveryResult Retry(int code = 503) {
  return {AttemptOutcome::kRetry, code, milliseconds(10), "HTTP " + std::to_string(code)};
}

class OutboxTest : public ::testing::Test {
 protected:
  OutboxTest() : db_(Outbox::Migrations()) { Reset(); }

  // A new Outbox and sender on the current store (what a restarted process builds).
  void Reset() {
    sender_.reset();
    outbox_ = std::make_unique<Outbox>(db_.store());
    sender_ = std::make_unique<OutboxSender>(*outbox_, deliverer_, clock_, options_);
  }
  void SetOptions(OutboxSenderOptions options) {
    options_ = std::move(options);
    Reset();
  }

  int64_t Enqueue(const OutgoingNotification& n) {
    auto id = outbox_->Enqueue(n, clock_.Now());
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }
  RunCounts Run() {
    auto c = sender_->RunOnce(clock_.Now());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : RunCounts{};
  }
  OutboxRow Row(int64_t id) {
    auto r = outbox_->Get(id);
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : OutboxRow{};
  }
  std::vector<AttemptRow> Attempts(int64_t id) {
    AttemptFilter f;
    f.outbox_id = id;
    auto page = outbox_->ListAttempts(f, 1000);
    EXPECT_TRUE(page.ok());
    std::vector<AttemptRow> oldest_first(page->items.rbegin(), page->items.rend());
    return oldest_first;
  }

  static OutboxSenderOptions DefaultOptions() {
    OutboxSenderOptions o;
    o.jitter = [] { return 1.0; };
    return o;
  }

  testing::TempStore db_;
  FakeClock clock_;
  FakeDeliverer deliverer_;
  OutboxSenderOptions options_ = DefaultOptions();
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<OutboxSender> sender_;
};

TEST_F(OutboxTest, EnqueueCommitsAndDeduplicatesByKey) {
  const Timestamp t0 = clock_.Now();
  int64_t id = Enqueue(Note("k1"));
  EXPECT_GT(id, 0);

  // Another instance on the same store sees the committed row.
  Outbox other(db_.store());
  auto row = other.Get(id);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->idempotency_key, "k1");
  EXPECT_EQ((*row)->receiver, "team-a");
  EXPECT_EQ((*row)->integration, "webhook[0]");
  EXPECT_EQ((*row)->kind, "webhook");
  EXPECT_EQ((*row)->target, "http://hooks.example/team-a");
  EXPECT_EQ((*row)->request, R"({"key":"k1"})");
  EXPECT_EQ((*row)->headers.at("X-Platops-Signature"), "sha256=abc");
  EXPECT_EQ((*row)->created_at, t0);
  EXPECT_EQ((*row)->next_attempt_at, t0);
  EXPECT_EQ((*row)->attempts, 0);
  EXPECT_EQ((*row)->state, NotificationState::kPending);
  EXPECT_FALSE((*row)->delivered_at.has_value());

  OutgoingNotification again = Note("k1");
  again.request = "changed";
  clock_.Advance(seconds(5));
  EXPECT_EQ(Enqueue(again), id);
  EXPECT_EQ(Row(id).request, R"({"key":"k1"})");
  auto all = outbox_->ListNotifications({}, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 1u);

  EXPECT_NE(Enqueue(Note("k2")), id);
}

TEST_F(OutboxTest, EnqueueRejectsInvalidNotifications) {
  OutgoingNotification n = Note("");
  auto r = outbox_->Enqueue(n, clock_.Now());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "idempotency_key");

  n = Note("k");
  n.kind = "pager";
  EXPECT_EQ(outbox_->Enqueue(n, clock_.Now()).status().field(), "kind");

  n = Note("k");
  n.headers["X-Evil"] = "a\r\nInjected: 1";
  EXPECT_EQ(outbox_->Enqueue(n, clock_.Now()).status().field(), "headers.X-Evil");

  n = Note("k");
  n.headers["Bad Name"] = "v";
  EXPECT_EQ(outbox_->Enqueue(n, clock_.Now()).status().field(), "headers");

  auto all = outbox_->ListNotifications({}, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->items.empty());
}

TEST_F(OutboxTest, EnqueueHookRunsOnlyForNewRows) {
  int calls = 0;
  outbox_->SetEnqueueHook([&] { ++calls; });
  Enqueue(Note("k1"));
  Enqueue(Note("k1"));
  Enqueue(Note("k2"));
  EXPECT_EQ(calls, 2);
  outbox_->SetEnqueueHook(nullptr);
  Enqueue(Note("k3"));
  EXPECT_EQ(calls, 2);
}

TEST_F(OutboxTest, ANotificationThatCouldNotBeBuiltIsStoredFailedAndNeverSent) {
  std::vector<std::pair<OutboxRow, AttemptRow>> reported;
  outbox_->OnStoredFailed(
      [&](const OutboxRow& row, const AttemptRow& attempt) { reported.emplace_back(row, attempt); });
  int wakes = 0;
  outbox_->SetEnqueueHook([&] { ++wakes; });
  OutgoingNotification n = Note("k-broken");
  n.request = "";
  n.error = "could not be built: slack_configs[0].title: no such template \"nope\"";
  const int64_t id = Enqueue(n);
  EXPECT_EQ(Enqueue(n), id);  // once per key, like any notification
  OutboxRow row = Row(id);
  EXPECT_EQ(row.state, NotificationState::kFailed);
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(row.last_error, n.error);
  auto attempts = Attempts(id);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(attempts[0].error, n.error);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].first.id, id);
  EXPECT_EQ(reported[0].first.state, NotificationState::kFailed);
  EXPECT_EQ(reported[0].second.outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(wakes, 0);  // nothing for the sender to do
  clock_.Advance(std::chrono::hours(1));
  EXPECT_EQ(Run().attempted, 0);
  EXPECT_TRUE(deliverer_.AllCalls().empty());
}

TEST_F(OutboxTest, SuccessfulDeliveryIsRecordedAndMarksDelivered) {
  int64_t id = Enqueue(Note("k1"));
  const Timestamp t0 = clock_.Now();
  RunCounts c = Run();
  EXPECT_EQ(c.attempted, 1);
  EXPECT_EQ(c.delivered, 1);
  EXPECT_EQ(c.retried, 0);
  EXPECT_EQ(c.failed, 0);

  ASSERT_EQ(deliverer_.AllCalls().size(), 1u);
  EXPECT_EQ(deliverer_.AllCalls()[0].id, id);
  EXPECT_EQ(deliverer_.AllCalls()[0].request, R"({"key":"k1"})");

  OutboxRow row = Row(id);
  EXPECT_EQ(row.state, NotificationState::kDelivered);
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(row.delivered_at, t0);
  EXPECT_EQ(row.last_error, "");

  auto attempts = Attempts(id);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].receiver, "team-a");
  EXPECT_EQ(attempts[0].outcome, AttemptOutcome::kOk);
  EXPECT_EQ(attempts[0].status_code, 200);
  EXPECT_EQ(attempts[0].latency, milliseconds(35));
  EXPECT_EQ(attempts[0].at, t0);

  // Nothing is sent twice.
  clock_.Advance(hours(1));
  EXPECT_EQ(Run().attempted, 0);
  EXPECT_EQ(deliverer_.AllCalls().size(), 1u);
}

TEST_F(OutboxTest, RetriesBackOffExponentiallyToTheCapThenFailAfterMaxAge) {
  OutboxSenderOptions o = DefaultOptions();
  o.max_backoff = seconds(5);
  o.max_age = seconds(20);
  SetOptions(o);
  deliverer_.Answer("team-a", Retry(503));
  const Timestamp t0 = clock_.Now();
  int64_t id = Enqueue(Note("k1"));

  // Attempts at 0, 1, 3, 7, 12, 17 s: delays 1, 2, 4, 5 (capped), 5; the next would be at 22 s,
  // past max_age (20 s), so the attempt at 17 s gives up.
  const std::vector<int> attempt_at = {0, 1, 3, 7, 12, 17};
  for (size_t i = 0; i < attempt_at.size(); ++i) {
    clock_.Set(t0 + seconds(attempt_at[i]) - milliseconds(1));
    if (i > 0) {
      EXPECT_EQ(Run().attempted, 0) << "attempt " << i << " ran early";
    }
    clock_.Set(t0 + seconds(attempt_at[i]));
    RunCounts c = Run();
    EXPECT_EQ(c.attempted, 1) << "attempt " << i;
    OutboxRow row = Row(id);
    EXPECT_EQ(row.attempts, static_cast<int64_t>(i + 1));
    if (i + 1 < attempt_at.size()) {
      EXPECT_EQ(c.retried, 1);
      EXPECT_EQ(row.state, NotificationState::kPending);
      EXPECT_EQ(row.next_attempt_at, t0 + seconds(attempt_at[i + 1]));
      EXPECT_EQ(row.last_error, "HTTP 503");
    } else {
      EXPECT_EQ(c.failed, 1);
      EXPECT_EQ(row.state, NotificationState::kFailed);
      EXPECT_NE(row.last_error.find("gave up after 6 attempts"), std::string::npos)
          << row.last_error;
      EXPECT_NE(row.last_error.find("HTTP 503"), std::string::npos) << row.last_error;
    }
  }
  auto attempts = Attempts(id);
  ASSERT_EQ(attempts.size(), 6u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(attempts[i].outcome, AttemptOutcome::kRetry);
    EXPECT_EQ(attempts[i].status_code, 503);
    EXPECT_EQ(attempts[i].at, t0 + seconds(attempt_at[i]));
  }
  EXPECT_EQ(attempts[5].outcome, AttemptOutcome::kFailed);
  EXPECT_NE(attempts[5].error.find("gave up"), std::string::npos);

  clock_.Advance(hours(1));
  EXPECT_EQ(Run().attempted, 0);
}

TEST_F(OutboxTest, RetryDelayAppliesTheInjectedJitter) {
  double fraction = 0.5;
  OutboxSenderOptions o;
  o.jitter = [&] { return fraction; };
  SetOptions(o);
  EXPECT_EQ(sender_->RetryDelay(1), milliseconds(500));
  EXPECT_EQ(sender_->RetryDelay(2), milliseconds(1000));
  EXPECT_EQ(sender_->RetryDelay(4), milliseconds(4000));
  EXPECT_EQ(sender_->RetryDelay(100), milliseconds(150000));  // half of the 5 min cap
  fraction = 0.0;
  EXPECT_EQ(sender_->RetryDelay(3), milliseconds(1));  // never due in the same pass
  fraction = 1.0;
  EXPECT_EQ(sender_->RetryDelay(9), milliseconds(256000));
  EXPECT_EQ(sender_->RetryDelay(10), milliseconds(300000));

  // The default source stays within [0, backoff].
  SetOptions(OutboxSenderOptions{});
  for (int i = 0; i < 50; ++i) {
    milliseconds d = sender_->RetryDelay(3);
    EXPECT_GE(d, milliseconds(1));
    EXPECT_LE(d, milliseconds(4000));
  }
}

TEST_F(OutboxTest, PermanentFailureIsNotRetried) {
  deliverer_.Answer("team-a", {AttemptOutcome::kFailed, 400, milliseconds(3), "HTTP 400: bad"});
  int64_t id = Enqueue(Note("k1"));
  RunCounts c = Run();
  EXPECT_EQ(c.failed, 1);
  OutboxRow row = Row(id);
  EXPECT_EQ(row.state, NotificationState::kFailed);
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(row.last_error, "HTTP 400: bad");
  auto attempts = Attempts(id);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(attempts[0].status_code, 400);

  clock_.Advance(hours(1));
  EXPECT_EQ(Run().attempted, 0);
  EXPECT_EQ(deliverer_.AllCalls().size(), 1u);
}

TEST_F(OutboxTest, DeliverErrorCountsAsRetry) {
  class Broken final : public Deliverer {
   public:
    Result<DeliveryResult> Deliver(const OutboxRow&) override {
      return Unavailable("no route to receiver");
    }
  } broken;
  OutboxSender sender(*outbox_, broken, clock_, DefaultOptions());
  int64_t id = Enqueue(Note("k1"));
  auto c = sender.RunOnce(clock_.Now());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->retried, 1);
  OutboxRow row = Row(id);
  EXPECT_EQ(row.state, NotificationState::kPending);
  EXPECT_EQ(row.next_attempt_at, clock_.Now() + seconds(1));
  EXPECT_NE(row.last_error.find("no route to receiver"), std::string::npos);
}

TEST_F(OutboxTest, DeadReceiverDoesNotDelayOthersInOnePass) {
  OutboxSenderOptions o = DefaultOptions();
  o.max_in_flight = 4;
  o.max_in_flight_per_receiver = 2;
  SetOptions(o);
  deliverer_.Answer("dead", Retry(503));
  deliverer_.Answer("dead2", Retry(503));
  for (int i = 0; i < 5; ++i) Enqueue(Note("d" + std::to_string(i), "dead"));
  for (int i = 0; i < 5; ++i) Enqueue(Note("e" + std::to_string(i), "dead2"));
  clock_.Advance(milliseconds(1));
  int64_t alive = Enqueue(Note("a0", "alive"));

  // Receivers take turns: the backlogs queued first do not fill the pass.
  RunCounts c = Run();
  EXPECT_EQ(c.attempted, 4);
  EXPECT_EQ(c.delivered, 1);
  EXPECT_EQ(c.retried, 3);
  EXPECT_EQ(Row(alive).state, NotificationState::kDelivered);
  EXPECT_EQ(deliverer_.Calls("dead"), 2);
  EXPECT_EQ(deliverer_.Calls("dead2"), 1);

  // With room to spare, each receiver still gets at most two per pass.
  o.max_in_flight = 8;
  SetOptions(o);
  c = Run();
  EXPECT_EQ(c.attempted, 4);
  EXPECT_EQ(deliverer_.Calls("dead"), 4);
  EXPECT_EQ(deliverer_.Calls("dead2"), 3);
}

TEST_F(OutboxTest, RowsLeftByAKilledProcessAreDeliveredAfterRestart) {
  // The first process commits and dies before sending: no sender ever ran.
  int64_t a = Enqueue(Note("k1"));
  int64_t b = Enqueue(Note("k2", "team-b"));
  sender_.reset();
  outbox_.reset();
  db_.Reopen(Outbox::Migrations());

  Reset();
  clock_.Advance(seconds(30));
  RunCounts c = Run();
  EXPECT_EQ(c.delivered, 2);
  EXPECT_EQ(Row(a).state, NotificationState::kDelivered);
  EXPECT_EQ(Row(b).state, NotificationState::kDelivered);
  // A re-enqueue by the restarted dispatcher is the same notification, not a second one.
  EXPECT_EQ(Enqueue(Note("k1")), a);
  EXPECT_EQ(Run().attempted, 0);
}

TEST_F(OutboxTest, ServiceDeliversOnEnqueueAndASlowReceiverDoesNotHoldUpOthers) {
  deliverer_.Block("slow");
  sender_->Start();
  int64_t slow = Enqueue(Note("s1", "slow"));
  ASSERT_TRUE(deliverer_.WaitForCalls("slow", 1));
  int64_t fast = Enqueue(Note("f1", "fast"));
  ASSERT_TRUE(deliverer_.WaitForCalls("fast", 1));

  // Stop waits for the in-flight slow delivery and records it.
  auto stopped = std::async(std::launch::async, [&] { sender_->Stop(); });
  EXPECT_EQ(stopped.wait_for(milliseconds(50)), std::future_status::timeout);
  deliverer_.Unblock("slow");
  stopped.get();
  EXPECT_EQ(Row(slow).state, NotificationState::kDelivered);
  EXPECT_EQ(Row(fast).state, NotificationState::kDelivered);
  EXPECT_EQ(deliverer_.Calls("slow"), 1);
  EXPECT_EQ(deliverer_.Calls("fast"), 1);

  // Stopped: an enqueue sends nothing until the next start, which resumes pending rows.
  int64_t later = Enqueue(Note("l1", "fast"));
  EXPECT_EQ(Row(later).state, NotificationState::kPending);
  sender_->Start();
  ASSERT_TRUE(deliverer_.WaitForCalls("fast", 2));
  sender_->Stop();
  EXPECT_EQ(Row(later).state, NotificationState::kDelivered);
}

TEST_F(OutboxTest, ListFiltersAndPaginates) {
  deliverer_.Answer("b", Retry(500));
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Enqueue(Note("a" + std::to_string(i), "a")));
  ids.push_back(Enqueue(Note("b0", "b")));
  const Timestamp t0 = clock_.Now();
  Run();  // a0..a1 delivered (per-receiver limit 2), b0 retried
  clock_.Advance(seconds(10));
  Run();  // a2 delivered, b0 retried again

  // Attempts: newest first, filtered.
  AttemptFilter by_b;
  by_b.receiver = "b";
  auto b = outbox_->ListAttempts(by_b, 10);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->items.size(), 2u);
  EXPECT_GT(b->items[0].id, b->items[1].id);
  EXPECT_EQ(b->items[0].at, t0 + seconds(10));
  EXPECT_FALSE(b->next_cursor.has_value());

  AttemptFilter ok;
  ok.outcome = AttemptOutcome::kOk;
  auto oks = outbox_->ListAttempts(ok, 10);
  ASSERT_TRUE(oks.ok());
  EXPECT_EQ(oks->items.size(), 3u);
  for (const auto& a : oks->items) EXPECT_EQ(a.receiver, "a");

  AttemptFilter window;
  window.from = t0 + seconds(5);
  window.to = t0 + seconds(11);
  auto late = outbox_->ListAttempts(window, 10);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->items.size(), 2u);  // a2 and b0's second attempt

  // Pagination over all 5 attempts, 2 per page.
  std::vector<int64_t> seen;
  int64_t cursor = 0;
  for (int page = 0; page < 5; ++page) {
    auto p = outbox_->ListAttempts({}, 2, cursor);
    ASSERT_TRUE(p.ok());
    for (const auto& a : p->items) seen.push_back(a.id);
    if (!p->next_cursor) break;
    cursor = *p->next_cursor;
  }
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_TRUE(std::is_sorted(seen.rbegin(), seen.rend()));
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 5u);

  // Notifications by state and receiver.
  NotificationFilter pending;
  pending.state = NotificationState::kPending;
  auto p = outbox_->ListNotifications(pending, 10);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->items.size(), 1u);
  EXPECT_EQ(p->items[0].id, ids[3]);

  NotificationFilter a_delivered;
  a_delivered.receiver = "a";
  a_delivered.state = NotificationState::kDelivered;
  auto first = outbox_->ListNotifications(a_delivered, 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->items[0].id, ids[2]);
  EXPECT_EQ(first->items[1].id, ids[1]);
  ASSERT_TRUE(first->next_cursor.has_value());
  auto second = outbox_->ListNotifications(a_delivered, 2, *first->next_cursor);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].id, ids[0]);
  EXPECT_FALSE(second->next_cursor.has_value());

  EXPECT_EQ(outbox_->ListAttempts({}, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(outbox_->ListNotifications({}, Outbox::kMaxPageSize + 1).status().field(), "limit");
}

TEST_F(OutboxTest, PruneDropsFinishedRowsAndAttemptsPastRetention) {
  OutboxSenderOptions o = DefaultOptions();
  o.max_age = hours(24 * 365);
  SetOptions(o);
  deliverer_.Answer("failing", {AttemptOutcome::kFailed, 404, milliseconds(1), "HTTP 404"});
  deliverer_.Answer("retrying", Retry(502));
  const Timestamp t0 = clock_.Now();
  int64_t old_ok = Enqueue(Note("old-ok", "ok"));
  int64_t old_failed = Enqueue(Note("old-failed", "failing"));
  int64_t old_pending = Enqueue(Note("old-pending", "retrying"));
  Run();  // one attempt each
  clock_.Set(t0 + hours(24 * 31));
  int64_t new_ok = Enqueue(Note("new-ok", "ok"));
  Run();  // new-ok delivered, old-pending attempted again

  // Not yet past the retention: nothing goes.
  auto none = outbox_->Prune(clock_.Now(), hours(24 * 32));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->notifications, 0);
  EXPECT_EQ(none->attempts, 0);

  auto counts = outbox_->Prune(clock_.Now());  // the default 30 days
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->notifications, 2);  // old-ok, old-failed
  EXPECT_EQ(counts->attempts, 3);       // their attempts and old-pending's first one

  auto gone = outbox_->Get(old_ok);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  gone = outbox_->Get(old_failed);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  // A pending row is never pruned, however old; only its old attempts are.
  EXPECT_EQ(Row(old_pending).state, NotificationState::kPending);
  auto pending_attempts = Attempts(old_pending);
  ASSERT_EQ(pending_attempts.size(), 1u);
  EXPECT_EQ(pending_attempts[0].at, t0 + hours(24 * 31));
  EXPECT_EQ(Row(new_ok).state, NotificationState::kDelivered);
  EXPECT_EQ(Attempts(new_ok).size(), 1u);
}

// ---- Sealed secrets ----------------------------------------------------------------------------

SecretBox TestBox(char fill = 'k') { return SecretBox::FromKey(std::string(32, fill)).value(); }

TEST_F(OutboxTest, SealedSecretIsStoredReadForDeliveryAndNeverListed) {
  SecretBox box = TestBox();
  OutgoingNotification n = Note("k-secret");
  n.kind = "slack";
  n.target = "https://hooks.slack.com/<secret>";
  n.sealed_secret = SealDeliverySecret(box, {"https://hooks.slack.com/services/T/B/XYZ", ""});
  const int64_t id = Enqueue(n);

  // Get (the delivery side) returns it as stored...
  EXPECT_EQ(Row(id).sealed_secret, n.sealed_secret);
  auto opened = OpenDeliverySecret(&box, Row(id).sealed_secret);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->url, "https://hooks.slack.com/services/T/B/XYZ");
  // ...and so does the row a deliverer is handed.
  Run();
  ASSERT_EQ(deliverer_.AllCalls().size(), 1u);
  EXPECT_EQ(deliverer_.AllCalls()[0].sealed_secret, n.sealed_secret);
  // A listing, what an API shows, never carries it.
  auto page = outbox_->ListNotifications({}, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, id);
  EXPECT_EQ(page->items[0].sealed_secret, "");
}

TEST_F(OutboxTest, EnqueueRefusesAPlaintextSecret) {
  OutgoingNotification n = Note("k-plain");
  n.sealed_secret = R"({"password":"hunter2"})";
  auto r = outbox_->Enqueue(n, clock_.Now());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "sealed_secret");
  EXPECT_EQ(r.status().message(),
            "must be sealed with SecretBox (sbx1:...); a plaintext secret is never stored");

  OutgoingNotification auth = Note("k-auth");
  auth.headers["authorization"] = "Bearer hunter2";
  auto refused = outbox_->Enqueue(auth, clock_.Now());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().field(), "headers.Authorization");

  // Transport settings (":name") are accepted; ":" alone or a bad token after it is not.
  OutgoingNotification transport = Note("k-transport");
  transport.headers[":proxy-url"] = "http://p:3128";
  EXPECT_TRUE(outbox_->Enqueue(transport, clock_.Now()).ok());
  transport = Note("k-bad");
  transport.headers[":"] = "x";
  EXPECT_EQ(outbox_->Enqueue(transport, clock_.Now()).status().field(), "headers");
}

TEST(OutboxMigrationTest, RowsWrittenBeforeTheSealedSecretColumnReadAsEmpty) {
  const auto all = Outbox::Migrations();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].module, "alerting_outbox");
  EXPECT_EQ(all[1].version, 2);
  testing::TempStore db({all[0]});
  ASSERT_TRUE(db.store()
                  .Write([](store::Tx& tx) -> Status {
                    return tx
                        .Exec(
                            "INSERT INTO notification_outbox (id, idempotency_key,"
                            " receiver, integration, kind, target, request, headers,"
                            " created_at, next_attempt_at, attempts, state, last_error,"
                            " delivered_at) VALUES (1, 'old', 'team-a', 'webhook[0]',"
                            " 'webhook', 'http://h/', '{}', '{}', 5, 5, 0, 'pending', '',"
                            " NULL)")
                        .status();
                  })
                  .ok());
  db.Reopen(all);
  Outbox outbox(db.store());
  auto row = outbox.Get(1);
  ASSERT_TRUE(row.ok() && row->has_value()) << row.status().ToString();
  EXPECT_EQ((*row)->idempotency_key, "old");
  EXPECT_EQ((*row)->sealed_secret, "");
}

TEST(DeliverySecretTest, SealsJsonAndOpensOnlyWithTheKey) {
  SecretBox box = TestBox();
  const std::string sealed = SealDeliverySecret(box, {"https://x/y", "pw"});
  EXPECT_EQ(sealed.rfind("sbx1:", 0), 0u);
  EXPECT_EQ(*box.Open(sealed), R"({"url":"https://x/y","password":"pw"})");
  auto opened = OpenDeliverySecret(&box, sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->url, "https://x/y");
  EXPECT_EQ(opened->password, "pw");
  EXPECT_EQ(*box.Open(SealDeliverySecret(box, {"", "pw"})), R"({"password":"pw"})");

  auto empty = OpenDeliverySecret(nullptr, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->url, "");
  EXPECT_FALSE(OpenDeliverySecret(nullptr, sealed).ok());
  SecretBox other = TestBox('o');
  EXPECT_EQ(OpenDeliverySecret(&other, sealed).status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(OpenDeliverySecret(&box, box.Seal("not json")).ok());
}

// ---- HttpDeliverer against a loopback server ----------------------------------------------------

struct Received {
  http::Method method = http::Method::kGet;
  std::string path;
  std::map<std::string, std::string> headers;
  std::string body;
};

class HttpDelivererTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto handler = [this](http::Request& req) {
      Received r;
      r.method = req.method;
      r.path = req.path;
      for (const auto& [name, value] : req.headers.items()) r.headers[name] = value;
      r.body = req.body;
      {
        std::lock_guard lock(mu_);
        received_.push_back(r);
      }
      int status = std::stoi(req.PathParam("status"));
      return http::Response::Text(status, "answer " + std::to_string(status));
    };
    router_.Add(http::Method::kPost, "/hook/{status}", handler);
    // 307 keeps the method and body, as Go's client and libcurl both do.
    router_.Add(http::Method::kPost, "/moved", [](http::Request&) {
      http::Response r = http::Response::Text(307, "moved");
      r.headers.Set("Location", "/hook/200");
      return r;
    });
    http::ServerOptions options;
    options.port = 0;
    options.io_threads = 1;
    options.worker_threads = 1;
    options.access_log = false;
    server_ = std::make_unique<http::Server>(options, router_, nullptr);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override { server_->Stop(); }

  OutboxRow Row(const std::string& url) {
    OutboxRow row;
    row.id = 7;
    row.idempotency_key = "key-7";
    row.receiver = "team-a";
    row.kind = "webhook";
    row.target = url;
    row.request = R"({"status":"firing"})";
    row.headers = {{"X-Platops-Signature", "sha256=abc"}};
    return row;
  }
  std::string Url(int status) {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook/" +
           std::to_string(status);
  }

  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;
  std::vector<Received> received_;  // GUARDED_BY(mu_)
};

TEST_F(HttpDelivererTest, PostsTheBodyWithHeadersAndClassifiesAnswers) {
  HttpDeliverer deliverer;
  auto ok = deliverer.Deliver(Row(Url(204)));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->outcome, AttemptOutcome::kOk);
  EXPECT_EQ(ok->status_code, 204);
  EXPECT_EQ(ok->error, "");
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(received_.size(), 1u);
    const Received& r = received_[0];
    EXPECT_EQ(r.method, http::Method::kPost);
    EXPECT_EQ(r.path, "/hook/204");
    EXPECT_EQ(r.body, R"({"status":"firing"})");
    auto header = [&](const std::string& name) {
      for (const auto& [n, v] : r.headers) {
        if (EqualsIgnoreCase(n, name)) return v;
      }
      return std::string("<missing>");
    };
    EXPECT_EQ(header("Content-Type"), "application/json");
    EXPECT_EQ(header("User-Agent"), "platops");
    EXPECT_EQ(header("Idempotency-Key"), "key-7");
    EXPECT_EQ(header("X-Platops-Signature"), "sha256=abc");
  }

  auto retry = deliverer.Deliver(Row(Url(500)));
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->outcome, AttemptOutcome::kRetry);
  EXPECT_EQ(retry->status_code, 500);
  EXPECT_EQ(retry->error, "HTTP 500: answer 500");

  auto limited = deliverer.Deliver(Row(Url(429)));
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->outcome, AttemptOutcome::kRetry);

  auto bad = deliverer.Deliver(Row(Url(400)));
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(bad->status_code, 400);
  EXPECT_EQ(bad->error, "HTTP 400: answer 400");

  // Nothing listens on port 1: connection refused, retried.
  auto refused = deliverer.Deliver(Row("http://127.0.0.1:1/hook"));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->outcome, AttemptOutcome::kRetry);
  EXPECT_EQ(refused->status_code, 0);
  EXPECT_FALSE(refused->error.empty());

  OutboxRow email = Row(Url(200));
  email.kind = "email";
  auto unsupported = deliverer.Deliver(email);
  ASSERT_TRUE(unsupported.ok());
  EXPECT_EQ(unsupported->outcome, AttemptOutcome::kFailed);
  std::lock_guard lock(mu_);
  EXPECT_EQ(received_.size(), 4u);  // the email was never posted
}

TEST_F(HttpDelivererTest, SlackRowsArePostedToTheSealedUrlNotTheRedactedTarget) {
  SecretBox box = TestBox();
  OutboxRow row = Row("http://127.0.0.1:" + std::to_string(server_->port()) + "/<secret>");
  row.kind = "slack";
  row.sealed_secret = SealDeliverySecret(box, {Url(200), ""});

  HttpDelivererOptions options;
  options.secret_box = &box;
  HttpDeliverer deliverer(options);
  auto ok = deliverer.Deliver(row);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->outcome, AttemptOutcome::kOk) << ok->error;
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(received_.size(), 1u);
    EXPECT_EQ(received_[0].path, "/hook/200");
  }

  // Without the key, or with another, the row fails for good and nothing is posted.
  auto no_box = HttpDeliverer().Deliver(row);
  ASSERT_TRUE(no_box.ok());
  EXPECT_EQ(no_box->outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(no_box->error, "no secret box configured to open the sealed secret");
  SecretBox other = TestBox('o');
  options.secret_box = &other;
  auto wrong = HttpDeliverer(options).Deliver(row);
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(wrong->error.rfind("sealed secret does not open with this key", 0), 0u) << wrong->error;
  std::lock_guard lock(mu_);
  EXPECT_EQ(received_.size(), 1u);
}

TEST_F(HttpDelivererTest, SendsTheSealedAuthorizationAndFollowsRedirectsUnlessTold) {
  SecretBox box = TestBox();
  OutboxRow row = Row("http://127.0.0.1:" + std::to_string(server_->port()) + "/<secret>");
  row.sealed_secret = SealDeliverySecret(
      box, {.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/moved",
            .authorization = "Basic aG9vazpwdw=="});
  HttpDelivererOptions options;
  options.secret_box = &box;
  HttpDeliverer deliverer(options);
  auto ok = deliverer.Deliver(row);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->outcome, AttemptOutcome::kOk) << ok->error;
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(received_.size(), 1u);  // /moved is not recorded; its target is
    EXPECT_EQ(received_[0].path, "/hook/200");
    EXPECT_EQ(received_[0].body, R"({"status":"firing"})");
    std::string auth;
    for (const auto& [n, v] : received_[0].headers) {
      if (EqualsIgnoreCase(n, "Authorization")) auth = v;
      EXPECT_FALSE(n.starts_with(':')) << n;
    }
    EXPECT_EQ(auth, "Basic aG9vazpwdw==");
  }

  // follow_redirects: false answers with the redirect itself, which fails the row for good.
  HttpTransport no_follow;
  no_follow.follow_redirects = false;
  no_follow.AddTo(row.headers);
  auto moved = deliverer.Deliver(row);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->outcome, AttemptOutcome::kFailed);
  EXPECT_EQ(moved->status_code, 307);
  std::lock_guard lock(mu_);
  EXPECT_EQ(received_.size(), 1u);
}

TEST_F(HttpDelivererTest, GoesThroughTheRowsProxy) {
  // The "proxy" is the test server itself: it gets the request in absolute form for a host that
  // does not resolve, which only a proxied request can reach.
  OutboxRow row = Row("http://platops-receiver.invalid/hook/200");
  HttpTransport t;
  t.proxy_url = "http://127.0.0.1:" + std::to_string(server_->port());
  t.AddTo(row.headers);
  auto ok = HttpDeliverer().Deliver(row);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->outcome, AttemptOutcome::kOk) << ok->error;

  row.headers.clear();
  auto direct = HttpDeliverer().Deliver(row);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(direct->outcome, AttemptOutcome::kRetry);  // no such host without the proxy
}

TEST_F(HttpDelivererTest, MalformedTransportSettingFailsTheRowForGood) {
  OutboxRow row = Row(Url(200));
  row.headers[":follow-redirects"] = "sometimes";
  auto failed = HttpDeliverer().Deliver(row);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->outcome, AttemptOutcome::kFailed);
  EXPECT_NE(failed->error.find("headers.:follow-redirects"), std::string::npos) << failed->error;
  std::lock_guard lock(mu_);
  EXPECT_TRUE(received_.empty());
}

TEST(HttpTransportTest, RoundTripsThroughHeadersAndDefaultsAreLeftOut) {
  std::map<std::string, std::string> headers;
  HttpTransport{}.AddTo(headers);
  EXPECT_TRUE(headers.empty());
  HttpTransport t;
  t.proxy_url = "http://p:3128";
  t.follow_redirects = false;
  t.ca_file = "/ca";
  t.cert_file = "/c";
  t.key_file = "/k";
  t.insecure_skip_verify = true;
  t.AddTo(headers);
  auto back = HttpTransport::From(headers);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->proxy_url, "http://p:3128");
  EXPECT_FALSE(back->follow_redirects);
  EXPECT_EQ(back->ca_file, "/ca");
  EXPECT_EQ(back->cert_file, "/c");
  EXPECT_EQ(back->key_file, "/k");
  EXPECT_TRUE(back->insecure_skip_verify);
}

// A transport error names the URL; a sealed URL must not show up in the recorded error.
TEST_F(HttpDelivererTest, ErrorsNameTheRedactedTargetNotTheSealedUrl) {
  SecretBox box = TestBox();
  OutboxRow row = Row("http://127.0.0.1:1/<secret>");
  row.kind = "slack";
  row.sealed_secret = SealDeliverySecret(box, {"http://127.0.0.1:1/services/T0/B0/s3cr3t", ""});
  HttpDelivererOptions options;
  options.secret_box = &box;
  options.timeout = std::chrono::milliseconds(2000);
  auto failed = HttpDeliverer(options).Deliver(row);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->outcome, AttemptOutcome::kRetry);
  EXPECT_EQ(failed->error.find("s3cr3t"), std::string::npos) << failed->error;
}

}  // namespace
}  // namespace platops::alerting
