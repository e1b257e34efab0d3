#include "alerting/outbox.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>

#include "base/strings.h"

namespace platops::alerting {
namespace {

using std::chrono::milliseconds;

// Every column but sealed_secret, which only Get and delivery read (as a 15th column).
constexpr std::string_view kOutboxColumns =
    "id, idempotency_key, receiver, integration, kind, target, request, headers, created_at,"
    " next_attempt_at, attempts, state, last_error, delivered_at";
constexpr std::string_view kAttemptColumns =
    "id, outbox_id, receiver, at, outcome, status_code, latency_ms, error";
// Longest response body excerpt kept in an attempt's error.
constexpr size_t kMaxErrorBody = 256;

int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp FromMs(int64_t ms) { return Timestamp(milliseconds(ms)); }

std::string HeadersToJson(const std::map<std::string, std::string>& headers) {
  boost::json::object obj;
  for (const auto& [name, value] : headers) obj[name] = value;
  return boost::json::serialize(obj);
}

std::map<std::string, std::string> HeadersFromJson(const std::string& text) {
  std::map<std::string, std::string> out;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& [name, value] : v.get_object()) {
    if (value.is_string()) out[std::string(name)] = std::string(value.get_string());
  }
  return out;
}

OutboxRow RowToOutbox(const store::Row& r) {
  OutboxRow o;
  o.id = r.Int(0);
  o.idempotency_key = r.Text(1);
  o.receiver = r.Text(2);
  o.integration = r.Text(3);
  o.kind = r.Text(4);
  o.target = r.Text(5);
  o.request = r.Text(6);
  o.headers = HeadersFromJson(r.Text(7));
  o.created_at = FromMs(r.Int(8));
  o.next_attempt_at = FromMs(r.Int(9));
  o.attempts = r.Int(10);
  o.state = ParseNotificationState(r.Text(11)).value_or(NotificationState::kPending);
  o.last_error = r.Text(12);
  if (!r.IsNull(13)) o.delivered_at = FromMs(r.Int(13));
  if (r.size() > 14) o.sealed_secret = r.Text(14);
  return o;
}

AttemptRow RowToAttempt(const store::Row& r) {
  AttemptRow a;
  a.id = r.Int(0);
  a.outbox_id = r.Int(1);
  a.receiver = r.Text(2);
  a.at = FromMs(r.Int(3));
  a.outcome = ParseAttemptOutcome(r.Text(4)).value_or(AttemptOutcome::kFailed);
  a.status_code = static_cast<int>(r.Int(5));
  a.latency = milliseconds(r.Int(6));
  a.error = r.Text(7);
  return a;
}

bool IsHeaderToken(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

Status Validate(const OutgoingNotification& n) {
  if (n.idempotency_key.empty()) return InvalidArgument("must not be empty", "idempotency_key");
  if (n.receiver.empty()) return InvalidArgument("must not be empty", "receiver");
  if (n.kind != "webhook" && n.kind != "slack" && n.kind != "email") {
    return InvalidArgument("must be webhook, slack or email, got " + QuoteForMessage(n.kind),
                           "kind");
  }
  if (n.target.empty()) return InvalidArgument("must not be empty", "target");
  if (!n.sealed_secret.empty() && !SecretBox::LooksSealed(n.sealed_secret)) {
    return InvalidArgument("must be sealed with SecretBox (" + std::string(SecretBox::kPrefix) +
                               "...); a plaintext secret is never stored",
                           "sealed_secret");
  }
  for (const auto& [name, value] : n.headers) {
    // ":name": a transport setting (HttpTransport), not sent as a header.
    const std::string_view token = name.starts_with(':') ? std::string_view(name).substr(1) : name;
    if (!IsHeaderToken(token)) {
      return InvalidArgument("not a valid header name: " + QuoteForMessage(name), "headers");
    }
    if (EqualsIgnoreCase(name, "Authorization")) {
      return InvalidArgument("must be sealed (DeliverySecret.authorization); a plaintext secret "
                             "is never stored",
                             "headers.Authorization");
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return InvalidArgument("must not contain CR, LF or NUL", "headers." + name);
    }
  }
  return Status::Ok();
}

// Appends " AND <column> <op> $N" and its parameter.
void AddCondition(std::string& sql, store::Params& params, std::string_view condition,
                  store::Value value) {
  params.push_back(std::move(value));
  sql += fmt::format(" AND {} ${}", condition, params.size());
}

template <typename T>
Page<T> MakePage(std::vector<T> items, int limit) {
  Page<T> page;
  if (static_cast<int>(items.size()) > limit) {
    items.resize(static_cast<size_t>(limit));
    page.next_cursor = items.back().id;
  }
  page.items = std::move(items);
  return page;
}

Status CheckLimit(int limit) {
  if (limit < 1 || limit > Outbox::kMaxPageSize) {
    return InvalidArgument(fmt::format("must be 1..{}, got {}", Outbox::kMaxPageSize, limit),
                           "limit");
  }
  return Status::Ok();
}

}  // namespace

std::string_view NotificationStateName(NotificationState state) {
  switch (state) {
    case NotificationState::kPending:
      return "pending";
    case NotificationState::kDelivered:
      return "delivered";
    case NotificationState::kFailed:
      return "failed";
  }
  return "pending";
}

std::optional<NotificationState> ParseNotificationState(std::string_view name) {
  if (name == "pending") return NotificationState::kPending;
  if (name == "delivered") return NotificationState::kDelivered;
  if (name == "failed") return NotificationState::kFailed;
  return std::nullopt;
}

std::string_view AttemptOutcomeName(AttemptOutcome outcome) {
  switch (outcome) {
    case AttemptOutcome::kOk:
      return "ok";
    case AttemptOutcome::kRetry:
      return "retry";
    case AttemptOutcome::kFailed:
      return "failed";
  }
  return "failed";
}

std::optional<AttemptOutcome> ParseAttemptOutcome(std::string_view name) {
  if (name == "ok") return AttemptOutcome::kOk;
  if (name == "retry") return AttemptOutcome::kRetry;
  if (name == "failed") return AttemptOutcome::kFailed;
  return std::nullopt;
}

std::string SealDeliverySecret(const SecretBox& box, const DeliverySecret& secret) {
  boost::json::object obj;
  if (!secret.url.empty()) obj["url"] = secret.url;
  if (!secret.password.empty()) obj["password"] = secret.password;
  if (!secret.authorization.empty()) obj["authorization"] = secret.authorization;
  return box.Seal(boost::json::serialize(obj));
}

Result<DeliverySecret> OpenDeliverySecret(const SecretBox* box, std::string_view sealed) {
  if (sealed.empty()) return DeliverySecret{};
  if (box == nullptr) return Internal("no secret box configured to open the sealed secret");
  PLATOPS_ASSIGN_OR_RETURN(std::string text, box->Open(sealed));
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return Internal("the sealed secret opened, but is not a JSON object");
  DeliverySecret out;
  for (const auto& [name, value] : v.get_object()) {
    if (!value.is_string()) {
      return Internal("the sealed secret's " + std::string(name) + " is not a string");
    }
    if (name == "url") out.url = std::string(value.get_string());
    if (name == "password") out.password = std::string(value.get_string());
    if (name == "authorization") out.authorization = std::string(value.get_string());
  }
  return out;
}

namespace {
constexpr const char* kProxyUrl = ":proxy-url";
constexpr const char* kFollowRedirects = ":follow-redirects";
constexpr const char* kCaFile = ":tls-ca-file";
constexpr const char* kCertFile = ":tls-cert-file";
constexpr const char* kKeyFile = ":tls-key-file";
constexpr const char* kInsecureSkipVerify = ":tls-insecure-skip-verify";

}  // namespace

Result<bool> BoolHeader(const std::map<std::string, std::string>& headers, const char* name,
                        bool fallback) {
  auto it = headers.find(name);
  if (it == headers.end()) return fallback;
  if (it->second == "true") return true;
  if (it->second == "false") return false;
  return InvalidArgument("must be true or false, got " + QuoteForMessage(it->second),
                         std::string("headers.") + name);
}

void HttpTransport::AddTo(std::map<std::string, std::string>& headers) const {
  if (!proxy_url.empty()) headers[kProxyUrl] = proxy_url;
  if (!follow_redirects) headers[kFollowRedirects] = "false";
  if (!ca_file.empty()) headers[kCaFile] = ca_file;
  if (!cert_file.empty()) headers[kCertFile] = cert_file;
  if (!key_file.empty()) headers[kKeyFile] = key_file;
  if (insecure_skip_verify) headers[kInsecureSkipVerify] = "true";
}

Result<HttpTransport> HttpTransport::From(const std::map<std::string, std::string>& headers) {
  HttpTransport t;
  auto text = [&](const char* name) {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  };
  t.proxy_url = text(kProxyUrl);
  t.ca_file = text(kCaFile);
  t.cert_file = text(kCertFile);
  t.key_file = text(kKeyFile);
  PLATOPS_ASSIGN_OR_RETURN(t.follow_redirects, BoolHeader(headers, kFollowRedirects, true));
  PLATOPS_ASSIGN_OR_RETURN(t.insecure_skip_verify, BoolHeader(headers, kInsecureSkipVerify, false));
  return t;
}

// ---- Outbox ------------------------------------------------------------------------------------

namespace {

// One row of notification_attempts for outbox row `outbox_id`.
Status InsertAttempt(store::Tx& tx, int64_t outbox_id, const std::string& receiver,
                     const AttemptRow& attempt) {
  PLATOPS_ASSIGN_OR_RETURN(
      auto next, tx.QueryOne("SELECT COALESCE(MAX(id), 0) + 1 FROM notification_attempts"));
  return tx
      .Exec(fmt::format("INSERT INTO notification_attempts ({}) VALUES ($1, $2, $3, $4, $5, $6,"
                        " $7, $8)",
                        kAttemptColumns),
            {next->Int(0), outbox_id, receiver, Ms(attempt.at),
             std::string(AttemptOutcomeName(attempt.outcome)), int64_t{attempt.status_code},
             static_cast<int64_t>(attempt.latency.count()), attempt.error})
      .status();
}

}  // namespace

Outbox::Outbox(store::Store& store) : store_(store) {}

std::vector<store::Migration> Outbox::Migrations() {
  return {{"alerting_outbox", 1,
           "CREATE TABLE notification_outbox ("
           " id INTEGER PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE,"
           " receiver TEXT NOT NULL, integration TEXT NOT NULL, kind TEXT NOT NULL,"
           " target TEXT NOT NULL, request TEXT NOT NULL, headers TEXT NOT NULL,"
           " created_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,"
           " attempts INTEGER NOT NULL, state TEXT NOT NULL, last_error TEXT NOT NULL,"
           " delivered_at INTEGER);"
           "CREATE INDEX notification_outbox_due"
           " ON notification_outbox (state, next_attempt_at);"
           "CREATE INDEX notification_outbox_receiver_due"
           " ON notification_outbox (state, receiver, next_attempt_at);"
           "CREATE INDEX notification_outbox_receiver ON notification_outbox (receiver, id);"
           "CREATE TABLE notification_attempts ("
           " id INTEGER PRIMARY KEY,"
           " outbox_id INTEGER NOT NULL REFERENCES notification_outbox (id) ON DELETE CASCADE,"
           " receiver TEXT NOT NULL, at INTEGER NOT NULL, outcome TEXT NOT NULL,"
           " status_code INTEGER NOT NULL, latency_ms INTEGER NOT NULL, error TEXT NOT NULL);"
           "CREATE INDEX notification_attempts_outbox ON notification_attempts (outbox_id);"
           "CREATE INDEX notification_attempts_receiver ON notification_attempts (receiver, id);"
           "CREATE INDEX notification_attempts_at ON notification_attempts (at);"},
          {"alerting_outbox", 2,
           "ALTER TABLE notification_outbox ADD COLUMN sealed_secret TEXT NOT NULL DEFAULT ''"}};
}

Result<int64_t> Outbox::Enqueue(const OutgoingNotification& n, Timestamp now) {
  PLATOPS_RETURN_IF_ERROR(Validate(n));
  int64_t id = 0;
  bool added = false;
  AttemptRow failed_attempt;  // with `error`: the one attempt it is stored with
  failed_attempt.receiver = n.receiver;
  failed_attempt.at = now;
  failed_attempt.outcome = AttemptOutcome::kFailed;
  failed_attempt.error = n.error;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto existing, tx.QueryOne("SELECT id FROM notification_outbox WHERE idempotency_key = $1",
                                   {n.idempotency_key}));
    if (existing) {
      id = existing->Int(0);
      return Status::Ok();
    }
    // Ids are chosen here (not by the database) so PostgreSQL runs the same statements; writes
    // are serialised, so MAX + 1 is free.
    PLATOPS_ASSIGN_OR_RETURN(
        auto next, tx.QueryOne("SELECT COALESCE(MAX(id), 0) + 1 FROM notification_outbox"));
    id = next->Int(0);
    const bool failed = !n.error.empty();
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec(fmt::format("INSERT INTO notification_outbox ({}, sealed_secret) VALUES ($1, $2,"
                            " $3, $4, $5, $6, $7, $8, $9, $9, $11, $12, $13, NULL, $10)",
                            kOutboxColumns),
                {id, n.idempotency_key, n.receiver, n.integration, n.kind, n.target, n.request,
                 HeadersToJson(n.headers), Ms(now), n.sealed_secret, int64_t{failed ? 1 : 0},
                 std::string(failed ? "failed" : "pending"), n.error})
            .status());
    if (failed) {
      failed_attempt.outbox_id = id;
      PLATOPS_RETURN_IF_ERROR(InsertAttempt(tx, id, n.receiver, failed_attempt));
    }
    added = true;
    return Status::Ok();
  }));
  if (added && n.error.empty()) {
    std::lock_guard lock(hook_mu_);
    if (hook_) hook_();
  } else if (added) {
    OutboxRow row;
    row.id = id;
    row.idempotency_key = n.idempotency_key;
    row.receiver = n.receiver;
    row.integration = n.integration;
    row.kind = n.kind;
    row.target = n.target;
    row.created_at = now;
    row.next_attempt_at = now;
    row.attempts = 1;
    row.state = NotificationState::kFailed;
    row.last_error = n.error;
    std::lock_guard lock(hook_mu_);
    if (failed_hook_) failed_hook_(row, failed_attempt);
  }
  return id;
}

void Outbox::OnStoredFailed(std::function<void(const OutboxRow&, const AttemptRow&)> f) {
  std::lock_guard lock(hook_mu_);
  failed_hook_ = std::move(f);
}

Result<std::optional<OutboxRow>> Outbox::Get(int64_t id) const {
  std::optional<OutboxRow> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto row,
        tx.QueryOne(fmt::format("SELECT {}, sealed_secret FROM notification_outbox WHERE id = $1",
                                kOutboxColumns),
                    {id}));
    if (row) out = RowToOutbox(*row);
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<OutboxRow>> Outbox::LoadIfDue(int64_t id, Timestamp now) const {
  std::optional<OutboxRow> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto row, tx.QueryOne(fmt::format("SELECT {}, sealed_secret FROM notification_outbox"
                                          " WHERE id = $1 AND state = 'pending'"
                                          " AND next_attempt_at <= $2",
                                          kOutboxColumns),
                              {id, Ms(now)}));
    if (row) out = RowToOutbox(*row);
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<Timestamp>> Outbox::NextDueAfter(Timestamp now) const {
  std::optional<Timestamp> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto row,
                             tx.QueryOne("SELECT MIN(next_attempt_at) FROM notification_outbox"
                                         " WHERE state = 'pending' AND next_attempt_at > $1",
                                         {Ms(now)}));
    if (row && !row->IsNull(0)) out = FromMs(row->Int(0));
    return Status::Ok();
  }));
  return out;
}

Result<Page<AttemptRow>> Outbox::ListAttempts(const AttemptFilter& filter, int limit,
                                              int64_t cursor) const {
  PLATOPS_RETURN_IF_ERROR(CheckLimit(limit));
  std::string sql =
      fmt::format("SELECT {} FROM notification_attempts WHERE 1 = 1", kAttemptColumns);
  store::Params params;
  if (!filter.receiver.empty()) AddCondition(sql, params, "receiver =", filter.receiver);
  if (filter.outbox_id) AddCondition(sql, params, "outbox_id =", *filter.outbox_id);
  if (filter.outcome) {
    AddCondition(sql, params, "outcome =", std::string(AttemptOutcomeName(*filter.outcome)));
  }
  if (filter.from) AddCondition(sql, params, "at >=", Ms(*filter.from));
  if (filter.to) AddCondition(sql, params, "at <", Ms(*filter.to));
  if (cursor > 0) AddCondition(sql, params, "id <", cursor);
  params.push_back(int64_t{limit} + 1);
  sql += fmt::format(" ORDER BY id DESC LIMIT ${}", params.size());

  std::vector<AttemptRow> items;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, params));
    for (const auto& r : rows) items.push_back(RowToAttempt(r));
    return Status::Ok();
  }));
  return MakePage(std::move(items), limit);
}

Result<Page<OutboxRow>> Outbox::ListNotifications(const NotificationFilter& filter, int limit,
                                                  int64_t cursor) const {
  PLATOPS_RETURN_IF_ERROR(CheckLimit(limit));
  std::string sql = fmt::format("SELECT {} FROM notification_outbox WHERE 1 = 1", kOutboxColumns);
  store::Params params;
  if (!filter.receiver.empty()) AddCondition(sql, params, "receiver =", filter.receiver);
  if (filter.state) {
    AddCondition(sql, params, "state =", std::string(NotificationStateName(*filter.state)));
  }
  if (cursor > 0) AddCondition(sql, params, "id <", cursor);
  params.push_back(int64_t{limit} + 1);
  sql += fmt::format(" ORDER BY id DESC LIMIT ${}", params.size());

  std::vector<OutboxRow> items;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, params));
    for (const auto& r : rows) items.push_back(RowToOutbox(r));
    return Status::Ok();
  }));
  return MakePage(std::move(items), limit);
}

Result<PruneCounts> Outbox::Prune(Timestamp now, milliseconds retention) {
  const int64_t cutoff = Ms(now - retention);
  PruneCounts counts;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        int64_t owned,
        tx.Exec("DELETE FROM notification_attempts WHERE outbox_id IN (SELECT id FROM"
                " notification_outbox WHERE state <> 'pending' AND created_at < $1)",
                {cutoff}));
    PLATOPS_ASSIGN_OR_RETURN(
        counts.notifications,
        tx.Exec("DELETE FROM notification_outbox WHERE state <> 'pending' AND created_at < $1",
                {cutoff}));
    PLATOPS_ASSIGN_OR_RETURN(int64_t old,
                             tx.Exec("DELETE FROM notification_attempts WHERE at < $1", {cutoff}));
    counts.attempts = owned + old;
    return Status::Ok();
  }));
  return counts;
}

void Outbox::SetEnqueueHook(std::function<void()> hook) {
  std::lock_guard lock(hook_mu_);
  hook_ = std::move(hook);
}

Status Outbox::RecordAttempt(const OutboxRow& row, const AttemptRow& attempt,
                             NotificationState state, Timestamp next_attempt_at,
                             const std::string& last_error, std::optional<Timestamp> delivered_at) {
  return store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_RETURN_IF_ERROR(InsertAttempt(tx, row.id, row.receiver, attempt));
    // Only a pending row moves: another node's delivery is never undone.
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("UPDATE notification_outbox SET attempts = attempts + 1, state = $2,"
                " next_attempt_at = $3, last_error = $4, delivered_at = $5"
                " WHERE id = $1 AND state = 'pending'",
                {row.id, std::string(NotificationStateName(state)), Ms(next_attempt_at), last_error,
                 delivered_at ? store::Value(Ms(*delivered_at)) : store::Value()})
            .status());
    return Status::Ok();
  });
}

// ---- HttpDeliverer -----------------------------------------------------------------------------

HttpDeliverer::HttpDeliverer(HttpDelivererOptions options) : options_(std::move(options)) {
  if (!options_.make_client) options_.make_client = [] { return http::NewCurlClient(); };
}

Result<DeliveryResult> HttpDeliverer::Deliver(const OutboxRow& row) {
  if (row.kind != "webhook" && row.kind != "slack") {
    return DeliveryResult{AttemptOutcome::kFailed, 0, milliseconds(0),
                          "no HTTP delivery for kind " + QuoteForMessage(row.kind)};
  }
  Result<HttpTransport> transport = HttpTransport::From(row.headers);
  if (!transport.ok()) {
    return DeliveryResult{AttemptOutcome::kFailed, 0, milliseconds(0),
                          transport.status().ToString()};
  }
  http::ClientRequest req;
  req.method = http::Method::kPost;
  req.url = row.target;
  req.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "platops"},
                 {"Idempotency-Key", row.idempotency_key}};
  if (!row.sealed_secret.empty()) {
    Result<DeliverySecret> secret = OpenDeliverySecret(options_.secret_box, row.sealed_secret);
    if (!secret.ok()) {
      return DeliveryResult{AttemptOutcome::kFailed, 0, milliseconds(0), secret.status().message()};
    }
    if (!secret->url.empty()) req.url = std::move(secret->url);
    if (!secret->authorization.empty()) {
      req.headers.emplace_back("Authorization", std::move(secret->authorization));
    }
  }
  req.body = row.request;
  req.timeout = options_.timeout;
  req.verify_tls = options_.verify_tls && !transport->insecure_skip_verify;
  req.ca_file = transport->ca_file;
  req.cert_file = transport->cert_file;
  req.key_file = transport->key_file;
  req.proxy_url = transport->proxy_url;
  req.follow_redirects = transport->follow_redirects;
  // A stored header replaces a default of the same name; transport settings are not headers.
  for (const auto& extra : row.headers) {
    if (extra.first.starts_with(':')) continue;
    auto same = std::find_if(req.headers.begin(), req.headers.end(),
                             [&](const auto& h) { return EqualsIgnoreCase(h.first, extra.first); });
    if (same != req.headers.end()) {
      same->second = extra.second;
    } else {
      req.headers.emplace_back(extra);
    }
  }

  std::unique_ptr<http::Client> client;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      client = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!client) client = options_.make_client();

  auto start = std::chrono::steady_clock::now();
  Result<http::ClientResponse> resp = client->Send(req);
  auto latency = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(client));
  }

  DeliveryResult out;
  out.latency = latency;
  if (!resp.ok()) {
    out.outcome = AttemptOutcome::kRetry;
    out.error = resp.status().message();
    // The client names the URL in its errors; a sealed one is shown as the redacted target.
    if (req.url != row.target) {
      for (size_t at = out.error.find(req.url); at != std::string::npos;
           at = out.error.find(req.url, at + row.target.size())) {
        out.error.replace(at, req.url.size(), row.target);
      }
    }
    return out;
  }
  out.status_code = resp->status;
  if (resp->status >= 200 && resp->status < 300) {
    out.outcome = AttemptOutcome::kOk;
    return out;
  }
  out.outcome = (resp->status == 429 || resp->status >= 500) ? AttemptOutcome::kRetry
                                                             : AttemptOutcome::kFailed;
  out.error = fmt::format("HTTP {}", resp->status);
  if (!resp->body.empty()) out.error += ": " + Abbreviate(resp->body, kMaxErrorBody);
  return out;
}

// ---- OutboxSender ------------------------------------------------------------------------------

OutboxSender::OutboxSender(Outbox& outbox, Deliverer& deliverer, const Clock& clock,
                           OutboxSenderOptions options)
    : outbox_(outbox),
      deliverer_(deliverer),
      clock_(clock),
      options_(std::move(options)),
      rng_(std::random_device{}()) {}

OutboxSender::~OutboxSender() { Stop(); }

milliseconds OutboxSender::RetryDelay(int64_t failures) {
  const double cap = static_cast<double>(options_.max_backoff.count());
  double backoff = static_cast<double>(options_.initial_backoff.count());
  for (int64_t i = 1; i < failures && backoff < cap; ++i) backoff *= options_.backoff_factor;
  backoff = std::min(backoff, cap);
  double fraction = 0;
  {
    std::lock_guard lock(jitter_mu_);
    fraction = options_.jitter ? options_.jitter()
                               : std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  }
  fraction = std::clamp(fraction, 0.0, 1.0);
  // At least 1 ms, so a retry is never due in the pass that scheduled it.
  return milliseconds(std::max<int64_t>(1, std::llround(backoff * fraction)));
}

Result<std::vector<OutboxSender::Pick>> OutboxSender::Reserve(Timestamp now, int budget) {
  const int cap = std::max(1, options_.max_in_flight_per_receiver);
  std::map<std::string, int> busy;
  std::set<int64_t> taken;
  {
    std::lock_guard lock(mu_);
    busy = per_receiver_;
    taken = in_flight_;
  }
  // Candidates per receiver, receivers in order of their most overdue row.
  std::vector<std::vector<Pick>> lists;
  PLATOPS_RETURN_IF_ERROR(outbox_.store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto receivers,
        tx.Query("SELECT receiver, MIN(next_attempt_at) FROM notification_outbox"
                 " WHERE state = 'pending' AND next_attempt_at <= $1 GROUP BY receiver"
                 " ORDER BY MIN(next_attempt_at), receiver",
                 {Ms(now)}));
    for (const auto& r : receivers) {
      if (static_cast<int>(lists.size()) >= budget) break;
      std::string receiver = r.Text(0);
      int in_flight = busy.count(receiver) ? busy[receiver] : 0;
      if (in_flight >= cap) continue;
      PLATOPS_ASSIGN_OR_RETURN(auto ids,
                               tx.Query("SELECT id FROM notification_outbox WHERE state = 'pending'"
                                        " AND receiver = $1 AND next_attempt_at <= $2"
                                        " ORDER BY next_attempt_at, id LIMIT $3",
                                        {receiver, Ms(now), int64_t{cap}}));
      std::vector<Pick> list;
      for (const auto& id : ids) {
        if (static_cast<int>(list.size()) + in_flight >= cap) break;
        if (!taken.count(id.Int(0))) list.push_back({id.Int(0), receiver});
      }
      if (!list.empty()) lists.push_back(std::move(list));
    }
    return Status::Ok();
  }));

  // Receivers take turns, so one with a long backlog cannot use up the budget.
  std::vector<Pick> order;
  for (size_t round = 0; static_cast<int>(order.size()) < budget; ++round) {
    bool any = false;
    for (const auto& list : lists) {
      if (round >= list.size()) continue;
      any = true;
      if (static_cast<int>(order.size()) < budget) order.push_back(list[round]);
    }
    if (!any) break;
  }

  // The snapshot may be stale: re-check under the lock before reserving.
  std::vector<Pick> picks;
  std::lock_guard lock(mu_);
  for (auto& p : order) {
    int& n = per_receiver_[p.receiver];
    if (in_flight_.count(p.id) || n >= cap) {
      if (n == 0) per_receiver_.erase(p.receiver);
      continue;
    }
    ++n;
    in_flight_.insert(p.id);
    picks.push_back(std::move(p));
  }
  return picks;
}

void OutboxSender::Release(const Pick& pick) {
  {
    std::lock_guard lock(mu_);
    in_flight_.erase(pick.id);
    auto it = per_receiver_.find(pick.receiver);
    if (it != per_receiver_.end() && --it->second <= 0) per_receiver_.erase(it);
    wake_ = true;
  }
  dispatch_cv_.notify_one();
}

void OutboxSender::Process(const Pick& pick, std::optional<Timestamp> now, RunCounts& counts) {
  const Timestamp start = now.value_or(clock_.Now());
  // Read after reserving, so a row delivered by a finished attempt is never sent again.
  auto loaded = outbox_.LoadIfDue(pick.id, start);
  if (!loaded.ok()) {
    spdlog::warn("outbox: reading notification {}: {}", pick.id, loaded.status().ToString());
    return;
  }
  if (!*loaded) return;
  const OutboxRow& row = **loaded;

  DeliveryResult result;
  try {
    Result<DeliveryResult> delivered = deliverer_.Deliver(row);
    if (delivered.ok()) {
      result = std::move(delivered).value();
    } else {
      result.outcome = AttemptOutcome::kRetry;
      result.error = delivered.status().ToString();
    }
  } catch (const std::exception& e) {
    result.outcome = AttemptOutcome::kRetry;
    result.error = std::string("delivery failed: ") + e.what();
  }
  const Timestamp end = now.value_or(clock_.Now());

  AttemptRow attempt;
  attempt.outbox_id = row.id;
  attempt.receiver = row.receiver;
  attempt.at = start;
  attempt.outcome = result.outcome;
  attempt.status_code = result.status_code;
  attempt.latency = result.latency;
  attempt.error = result.error;

  NotificationState state = NotificationState::kPending;
  Timestamp next = row.next_attempt_at;
  std::string last_error = result.error;
  std::optional<Timestamp> delivered_at;
  switch (result.outcome) {
    case AttemptOutcome::kOk:
      state = NotificationState::kDelivered;
      delivered_at = end;
      last_error.clear();
      break;
    case AttemptOutcome::kFailed:
      state = NotificationState::kFailed;
      break;
    case AttemptOutcome::kRetry: {
      const int64_t failures = row.attempts + 1;
      next = end + RetryDelay(failures);
      if (next > row.created_at + options_.max_age) {
        state = NotificationState::kFailed;
        attempt.outcome = AttemptOutcome::kFailed;
        last_error = fmt::format(
            "gave up after {} attempts over {} s (max_age {} s): {}", failures,
            std::chrono::duration_cast<std::chrono::seconds>(end - row.created_at).count(),
            std::chrono::duration_cast<std::chrono::seconds>(options_.max_age).count(),
            result.error);
        attempt.error = last_error;
      }
      break;
    }
  }

  ++counts.attempted;
  if (state == NotificationState::kDelivered) ++counts.delivered;
  if (state == NotificationState::kFailed) ++counts.failed;
  if (state == NotificationState::kPending) ++counts.retried;
  Status st = outbox_.RecordAttempt(row, attempt, state, next, last_error, delivered_at);
  if (st.ok() && options_.on_attempt) options_.on_attempt(row, attempt, state);
  if (!st.ok()) {
    // The row stays pending and due: it is attempted again (at least once, never lost).
    spdlog::error("outbox: recording attempt of notification {} ({}): {}", row.id, row.receiver,
                  st.ToString());
  } else if (state == NotificationState::kFailed) {
    spdlog::warn("outbox: notification {} to {} {} failed: {}", row.id, row.receiver,
                 row.integration, last_error);
  }
}

Result<RunCounts> OutboxSender::RunOnce(Timestamp now) {
  PLATOPS_ASSIGN_OR_RETURN(std::vector<Pick> picks,
                           Reserve(now, std::max(1, options_.max_in_flight)));
  RunCounts counts;
  for (const auto& p : picks) {
    Process(p, now, counts);
    Release(p);
  }
  return counts;
}

void OutboxSender::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  dispatch_cv_.notify_one();
}

void OutboxSender::Start() {
  {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
    stopping_ = false;
    wake_ = true;
  }
  const int workers = std::max(1, options_.max_in_flight);
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  dispatcher_ = std::thread([this] { DispatchLoop(); });
  outbox_.SetEnqueueHook([this] { Wake(); });
}

void OutboxSender::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
  }
  outbox_.SetEnqueueHook(nullptr);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    // Queued rows not yet started stay pending in the store for the next start.
    for (const auto& p : queue_) {
      in_flight_.erase(p.id);
      auto it = per_receiver_.find(p.receiver);
      if (it != per_receiver_.end() && --it->second <= 0) per_receiver_.erase(it);
    }
    queue_.clear();
  }
  dispatch_cv_.notify_all();
  work_cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  for (auto& t : workers_) t.join();
  workers_.clear();
  std::lock_guard lock(mu_);
  running_ = false;
  stopping_ = false;
}

void OutboxSender::DispatchLoop() {
  const int max_in_flight = std::max(1, options_.max_in_flight);
  while (true) {
    int budget = 0;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      wake_ = false;
      budget = max_in_flight - static_cast<int>(in_flight_.size());
    }
    const Timestamp now = clock_.Now();
    milliseconds wait = options_.max_idle;
    if (budget > 0) {
      auto picks = Reserve(now, budget);
      if (!picks.ok()) {
        spdlog::warn("outbox: reading due notifications: {}", picks.status().ToString());
        wait = std::min(wait, milliseconds(1000));
      } else if (!picks->empty()) {
        bool stopping = false;
        {
          std::lock_guard lock(mu_);
          stopping = stopping_;
          if (!stopping) {
            for (auto& p : *picks) queue_.push_back(std::move(p));
          }
        }
        if (stopping) {
          for (const auto& p : *picks) Release(p);
          return;
        }
        work_cv_.notify_all();
      }
    }
    auto next = outbox_.NextDueAfter(now);
    if (next.ok() && *next) {
      wait = std::clamp(std::chrono::duration_cast<milliseconds>(**next - clock_.Now()),
                        milliseconds(1), wait);
    }
    // Woken early by an enqueue, a finished delivery (capacity freed) or Stop.
    std::unique_lock lock(mu_);
    dispatch_cv_.wait_for(lock, wait, [&] { return stopping_ || wake_; });
  }
}

void OutboxSender::WorkerLoop() {
  while (true) {
    Pick pick;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      pick = std::move(queue_.front());
      queue_.pop_front();
    }
    RunCounts counts;
    Process(pick, std::nullopt, counts);
    Release(pick);
  }
}

}  // namespace platops::alerting
