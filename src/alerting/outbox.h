#pragma once
// The persistent notification outbox: a notification is committed to the store before anything
// tries to send it, and OutboxSender delivers every pending row at least once, across restarts,
// retrying with capped exponential backoff and full jitter until a maximum age. Every attempt is
// recorded for GET /api/v1/notifications. Tables: notification_outbox, notification_attempts
// (module "alerting_outbox").

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/secret_box.h"
#include "base/status.h"
#include "http/client.h"
#include "store/store.h"

namespace platops::alerting {

enum class NotificationState { kPending, kDelivered, kFailed };
enum class AttemptOutcome { kOk, kRetry, kFailed };

// "pending" | "delivered" | "failed", as stored and as the API shows them.
std::string_view NotificationStateName(NotificationState state);
std::optional<NotificationState> ParseNotificationState(std::string_view name);
// "ok" | "retry" | "failed".
std::string_view AttemptOutcomeName(AttemptOutcome outcome);
std::optional<AttemptOutcome> ParseAttemptOutcome(std::string_view name);

// What the dispatcher hands to the outbox: one message to one integration of one receiver.
struct OutgoingNotification {
  // Unique per notification; repeated enqueues with the same key are one notification. Also
  // sent as the Idempotency-Key header so that receivers can drop duplicate deliveries.
  std::string idempotency_key;
  std::string receiver;     // the Alertmanager receiver name
  std::string integration;  // which of its integrations, e.g. "webhook[0]"
  std::string kind;         // "webhook" | "slack" | "email"
  // URL or address. Stored and shown by the API as given, so it must not embed a secret that the
  // API may not show.
  std::string target;
  std::string request;  // the body to send
  // Webhook and Slack: extra HTTP headers, e.g. the body's signature. Email: the SMTP session's
  // parameters (see smtp.h), not message headers.
  std::map<std::string, std::string> headers;
  // "" or a DeliverySecret sealed by SecretBox ("sbx1:..."); Enqueue refuses anything else, so no
  // plaintext secret reaches the store. Never shown by an API.
  std::string sealed_secret;
  // Non-empty: the notification could not be built (a template failed to render), and this says
  // why. Enqueue stores it failed at once, with one failed attempt carrying the reason, so that
  // the notifications API and the failure metric show it instead of a log line only.
  std::string error;
};

// What a row's sealed_secret holds once opened: the JSON object {"url": ..., "password": ...,
// "authorization": ...}, each member present only when non-empty.
struct DeliverySecret {
  std::string url;       // sent to instead of the row's redacted target (Slack's webhook URL)
  std::string password;  // the SMTP AUTH password (or CRAM-MD5 secret)
  // Webhook and Slack: the Authorization header's value ("Basic ...", "Bearer ...").
  std::string authorization;
};

// A row's boolean setting `name` in `headers`: "true" or "false", `fallback` when absent; anything
// else is kInvalidArgument naming "headers.<name>".
Result<bool> BoolHeader(const std::map<std::string, std::string>& headers, const char* name,
                        bool fallback);

// How a webhook or Slack row is sent: its receiver's http_config, less the secrets. Kept in the
// row's headers under names starting with ':' (never a valid HTTP header name, so never sent),
// so that a retry after a restart goes out exactly as the first attempt did.
struct HttpTransport {
  std::string proxy_url;
  bool follow_redirects = true;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool insecure_skip_verify = false;

  // Adds the non-default fields to `headers`.
  void AddTo(std::map<std::string, std::string>& headers) const;
  // Reads the fields from `headers` (unset ones keep their defaults); a malformed value is
  // kInvalidArgument naming the header.
  static Result<HttpTransport> From(const std::map<std::string, std::string>& headers);
};

std::string SealDeliverySecret(const SecretBox& box, const DeliverySecret& secret);
// `box` may be null only when `sealed` is empty (nothing to open: an empty secret).
Result<DeliverySecret> OpenDeliverySecret(const SecretBox* box, std::string_view sealed);

struct OutboxRow {
  int64_t id = 0;
  std::string idempotency_key;
  std::string receiver;
  std::string integration;
  std::string kind;
  std::string target;
  std::string request;
  std::map<std::string, std::string> headers;
  // Loaded by Get and for delivery; always "" in ListNotifications pages, which is what an API
  // lists from, so a handler cannot show it by accident.
  std::string sealed_secret;
  Timestamp created_at{};
  Timestamp next_attempt_at{};
  int64_t attempts = 0;
  NotificationState state = NotificationState::kPending;
  std::string last_error;                 // empty until an attempt fails
  std::optional<Timestamp> delivered_at;  // set once delivered
};

struct AttemptRow {
  int64_t id = 0;
  int64_t outbox_id = 0;
  std::string receiver;
  Timestamp at{};  // when the attempt started
  AttemptOutcome outcome = AttemptOutcome::kOk;
  int status_code = 0;  // 0: no HTTP response
  std::chrono::milliseconds latency{0};
  std::string error;
};

// Empty / unset fields match everything.
struct AttemptFilter {
  std::string receiver;
  std::optional<int64_t> outbox_id;
  std::optional<AttemptOutcome> outcome;
  std::optional<Timestamp> from;  // at >= from
  std::optional<Timestamp> to;    // at < to
};

struct NotificationFilter {
  std::string receiver;
  std::optional<NotificationState> state;
};

// Newest first. `next_cursor` is passed back as `cursor` for the next page; nullopt at the end.
template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<int64_t> next_cursor;
};

struct PruneCounts {
  int64_t notifications = 0;
  int64_t attempts = 0;
};

// The store side of the outbox. Thread-safety: thread-safe.
class Outbox {
 public:
  static constexpr std::chrono::hours kDefaultRetention{24 * 30};
  static constexpr int kMaxPageSize = 1000;

  // `store` must outlive the outbox and have Migrations() applied.
  explicit Outbox(store::Store& store);
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  static std::vector<store::Migration> Migrations();

  // Commits the notification, due at `now`, before returning its id. A key already in the outbox
  // returns the existing id and changes nothing. kInvalidArgument names a bad field.
  Result<int64_t> Enqueue(const OutgoingNotification& notification, Timestamp now);
  // Called after Enqueue stored a notification failed at once (`error` set), with its row and
  // attempt; for metrics. Must be quick; called without the store's lock.
  void OnStoredFailed(std::function<void(const OutboxRow&, const AttemptRow&)> f);

  Result<std::optional<OutboxRow>> Get(int64_t id) const;
  // REQUIRES: 1 <= limit <= kMaxPageSize. `cursor` 0 starts at the newest.
  Result<Page<AttemptRow>> ListAttempts(const AttemptFilter& filter, int limit,
                                        int64_t cursor = 0) const;
  Result<Page<OutboxRow>> ListNotifications(const NotificationFilter& filter, int limit,
                                            int64_t cursor = 0) const;

  // Deletes delivered and failed notifications created before now - retention (with their
  // attempts) and every attempt older than that. Pending rows are never pruned.
  Result<PruneCounts> Prune(Timestamp now, std::chrono::milliseconds retention = kDefaultRetention);

  // Called after every enqueue that added a row (OutboxSender's wake-up); null clears it. The
  // hook runs with an internal lock held so that once it is cleared it is no longer running; it
  // must be quick and must not call back into the outbox.
  void SetEnqueueHook(std::function<void()> hook);

 private:
  friend class OutboxSender;

  // The row if it is still pending and due at `now`.
  Result<std::optional<OutboxRow>> LoadIfDue(int64_t id, Timestamp now) const;
  // The earliest next_attempt_at of a pending row after `now`.
  Result<std::optional<Timestamp>> NextDueAfter(Timestamp now) const;
  // Records one attempt and the row's new state in one transaction.
  Status RecordAttempt(const OutboxRow& row, const AttemptRow& attempt, NotificationState state,
                       Timestamp next_attempt_at, const std::string& last_error,
                       std::optional<Timestamp> delivered_at);

  store::Store& store_;
  std::mutex hook_mu_;
  std::function<void()> hook_;  // GUARDED_BY(hook_mu_)
  std::function<void(const OutboxRow&, const AttemptRow&)> failed_hook_;  // GUARDED_BY(hook_mu_)
};

struct DeliveryResult {
  AttemptOutcome outcome = AttemptOutcome::kOk;  // kOk delivered, kRetry, kFailed (permanent)
  int status_code = 0;                           // 0: no response
  std::chrono::milliseconds latency{0};
  std::string error;  // why it was not delivered
};

// Sends one notification. Thread-safety: implementations are thread-safe (called from several
// workers at once). A non-OK Result means the attempt could not be made and counts as a retry.
class Deliverer {
 public:
  virtual ~Deliverer() = default;
  virtual Result<DeliveryResult> Deliver(const OutboxRow& row) = 0;
};

struct HttpDelivererOptions {
  // Whole request, connect to last byte. Default 10 s.
  std::chrono::milliseconds timeout{10000};
  // Verify the receiver's TLS certificate. Default true.
  bool verify_tls = true;
  // Makes the clients; default http::NewCurlClient.
  std::function<std::unique_ptr<http::Client>()> make_client;
  // Opens rows' sealed_secret; must outlive the deliverer. Null: a row with a sealed secret fails.
  const SecretBox* secret_box = nullptr;
};

// Webhook-style delivery: POST the stored body to `target` (or to the sealed secret's url when it
// has one: Slack) with Content-Type: application/json, User-Agent: platops, Idempotency-Key, the
// sealed Authorization and the stored extra headers, through the row's HttpTransport. A sealed secret that does not open fails the row for good. 2xx
// delivered; 429, 5xx and no response retried; any other status failed for good. Thread-safety:
// thread-safe (a pool of clients, one per concurrent delivery).
class HttpDeliverer final : public Deliverer {
 public:
  explicit HttpDeliverer(HttpDelivererOptions options = {});
  Result<DeliveryResult> Deliver(const OutboxRow& row) override;

 private:
  HttpDelivererOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<http::Client>> idle_;  // GUARDED_BY(mu_)
};

struct OutboxSenderOptions {
  // Called after each recorded attempt (from a worker thread) with the row, the attempt as
  // recorded and the row's new state: the hook for metrics. Must be thread-safe and quick.
  std::function<void(const OutboxRow&, const AttemptRow&, NotificationState)> on_attempt;
  // Worker threads, and the most deliveries in flight at once. Default 8, >= 1.
  int max_in_flight = 8;
  // Most deliveries in flight to one receiver, so a slow one cannot take every worker. Default 2.
  int max_in_flight_per_receiver = 2;
  // Retry delay before jitter: initial * factor^(failures - 1), at most max_backoff.
  std::chrono::milliseconds initial_backoff{1000};  // default 1 s
  double backoff_factor = 2.0;                      // default 2, >= 1
  std::chrono::milliseconds max_backoff{300000};    // default 5 min
  // A row still undelivered this long after created_at is failed instead of retried. A row is
  // always attempted at least once, however old. Default 1 h.
  std::chrono::milliseconds max_age{3600000};
  // Longest sleep between looks at the table (rows written by another process). Default 30 s.
  std::chrono::milliseconds max_idle{30000};
  // Full jitter: the delay is backoff * jitter(), jitter() in [0, 1]. Default: uniform, seeded
  // from std::random_device. Called under a lock, never concurrently.
  std::function<double()> jitter;
};

// What one pass did.
struct RunCounts {
  int attempted = 0;
  int delivered = 0;
  int retried = 0;
  int failed = 0;
};

// Delivers the outbox's pending rows. Thread-safety: Start/Stop from one controlling thread;
// RunOnce is thread-safe and may run alongside the service.
class OutboxSender {
 public:
  // `outbox`, `deliverer` and `clock` must outlive the sender.
  OutboxSender(Outbox& outbox, Deliverer& deliverer, const Clock& clock,
               OutboxSenderOptions options = {});
  ~OutboxSender();
  OutboxSender(const OutboxSender&) = delete;
  OutboxSender& operator=(const OutboxSender&) = delete;

  // Starts the dispatcher and the workers; every pending row is picked up when due, including
  // those left by a previous process. Wakes at once on Enqueue.
  void Start();
  // Refuses new work, lets in-flight deliveries finish and be recorded, joins. Rows not yet
  // started stay pending for the next start. Idempotent.
  void Stop();

  // Synchronously attempts the rows due at `now` on the calling thread: per pass at most
  // max_in_flight rows, at most max_in_flight_per_receiver of one receiver, receivers taken in
  // turn. Attempts are recorded at `now` and retries scheduled from it.
  Result<RunCounts> RunOnce(Timestamp now);

  // The retry delay after `failures` failed attempts (>= 1), jitter included.
  std::chrono::milliseconds RetryDelay(int64_t failures);

 private:
  struct Pick {
    int64_t id = 0;
    std::string receiver;
  };

  // Chooses due rows under the concurrency limits and reserves them; `budget` caps the total.
  Result<std::vector<Pick>> Reserve(Timestamp now, int budget);
  void Release(const Pick& pick);
  // Attempts one reserved row; `now` is nullopt in service mode (read the clock).
  void Process(const Pick& pick, std::optional<Timestamp> now, RunCounts& counts);
  void Wake();
  void DispatchLoop();
  void WorkerLoop();

  Outbox& outbox_;
  Deliverer& deliverer_;
  const Clock& clock_;
  const OutboxSenderOptions options_;

  std::mutex jitter_mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(jitter_mu_)

  std::mutex mu_;
  std::condition_variable dispatch_cv_;
  std::condition_variable work_cv_;
  bool running_ = false;                     // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  bool wake_ = false;                        // GUARDED_BY(mu_)
  std::set<int64_t> in_flight_;              // GUARDED_BY(mu_)
  std::map<std::string, int> per_receiver_;  // GUARDED_BY(mu_)
  std::deque<Pick> queue_;                   // GUARDED_BY(mu_)
  std::thread dispatcher_;
  std::vector<std::thread> workers_;
};

}  // namespace platops::alerting
