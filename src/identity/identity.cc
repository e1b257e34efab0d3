#include "identity/identity.h"

#include <boost/json.hpp>

#include <regex>

#include "base/crypto.h"
#include "base/json_reader.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "identity/codec.h"

namespace platops::identity {

namespace json = boost::json;

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kResponder:
      return "responder";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

Result<Role> ParseRole(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "responder") return Role::kResponder;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return InvalidArgument("must be one of viewer, responder, operator, admin, got \"" +
                         Abbreviate(name) + "\"");
}

std::string Principal::Actor() const {
  if (token_name.empty()) return user;
  return user + " (token " + token_name + ")";
}

namespace {

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto lower_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_digit(s[0])) return false;
  for (char c : s)
    if (!lower_digit(c) && c != '-' && c != '.' && c != '_') return false;
  return true;
}

constexpr const char* kUserColumns =
    "name, email, time_zone, role, version, created_at, updated_at";
constexpr const char* kTokenColumns =
    "id, name, user_name, role, created_at, expires_at, last_used_at, revoked_at";

std::optional<Timestamp> OptTime(const store::Row& r, size_t i) {
  if (r.IsNull(i)) return std::nullopt;
  return ParseStoredTimestamp(r.Text(i));
}

store::Value OptTimeValue(const std::optional<Timestamp>& t) {
  if (!t) return std::monostate{};
  return FormatRfc3339(*t);
}

User UserFromRow(const store::Row& r) {
  User u;
  u.name = r.Text(0);
  u.email = r.Text(1);
  u.time_zone = r.Text(2);
  auto role = ParseRole(r.Text(3));
  u.role = role.ok() ? *role : Role::kViewer;
  u.version = r.Int(4);
  u.created_at = ParseStoredTimestamp(r.Text(5));
  u.updated_at = ParseStoredTimestamp(r.Text(6));
  return u;
}

Token TokenFromRow(const store::Row& r) {
  Token t;
  t.id = r.Text(0);
  t.name = r.Text(1);
  t.user = r.Text(2);
  auto role = ParseRole(r.Text(3));
  t.role = role.ok() ? *role : Role::kViewer;
  t.created_at = ParseStoredTimestamp(r.Text(4));
  t.expires_at = OptTime(r, 5);
  t.last_used_at = OptTime(r, 6);
  t.revoked_at = OptTime(r, 7);
  return t;
}

}  // namespace

Status ValidateUser(const User& u) {
  if (!IsName(u.name))
    return InvalidArgument(
        "must match ^[a-z0-9][a-z0-9._-]{0,62}$, got \"" + Abbreviate(u.name) + "\"", "name");
  if (u.email.size() > 254 || std::count(u.email.begin(), u.email.end(), '@') != 1 ||
      u.email.front() == '@' || u.email.back() == '@')
    return InvalidArgument(
        "must be an email address like ops@example.com, got \"" + Abbreviate(u.email) + "\"",
        "email");
  if (!IsValidTimeZone(u.time_zone))
    return InvalidArgument(
        "must be an IANA time zone like Europe/Berlin, got \"" + Abbreviate(u.time_zone) + "\"",
        "time_zone");
  return Status::Ok();
}

IdentityService::IdentityService(store::Store& store, const events::EventLog& log,
                                 const Clock& clock)
    : store_(store), log_(log), clock_(clock) {}

std::vector<store::Migration> IdentityService::Migrations() {
  return {{"identity", 1, R"sql(
CREATE TABLE users (
  name TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  role TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  user_name TEXT NOT NULL REFERENCES users (name),
  role TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  last_used_at TEXT,
  revoked_at TEXT
);
CREATE INDEX tokens_user ON tokens (user_name);
)sql"}};
}

Result<std::optional<User>> IdentityService::FindUser(store::Tx& tx,
                                                      const std::string& name) const {
  PLATOPS_ASSIGN_OR_RETURN(
      auto row,
      tx.QueryOne(std::string("SELECT ") + kUserColumns + " FROM users WHERE name = $1", {name}));
  if (!row) return std::optional<User>();
  return std::optional<User>(UserFromRow(*row));
}

Result<std::vector<User>> IdentityService::AllUsers(store::Tx& tx) const {
  PLATOPS_ASSIGN_OR_RETURN(
      auto rows, tx.Query(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY name"));
  std::vector<User> out;
  for (const auto& r : rows) out.push_back(UserFromRow(r));
  return out;
}

Result<User> IdentityService::PutUser(store::Tx& tx, const std::string& actor, User user,
                                      std::optional<int64_t> expected_version, bool create) {
  PLATOPS_RETURN_IF_ERROR(ValidateUser(user));
  PLATOPS_ASSIGN_OR_RETURN(auto existing, FindUser(tx, user.name));
  Timestamp now = clock_.Now();
  events::EventDraft ev{actor, "", "user", user.name, "{}"};
  if (create) {
    if (existing) return Conflict("user \"" + user.name + "\" already exists", "name");
    user.version = 1;
    user.created_at = user.updated_at = now;
    ev.action = "user.created";
    json::object payload;
    payload["after"] = UserToJson(user);
    ev.payload = JsonToString(payload);
  } else {
    if (!existing) return NotFound("user \"" + user.name + "\" not found");
    if (expected_version && *expected_version != existing->version)
      return StaleVersion(*expected_version, existing->version);
    user.created_at = existing->created_at;
    user.version = existing->version;
    user.updated_at = existing->updated_at;
    auto changes = JsonChanges(UserToJson(*existing), UserToJson(user));
    if (changes.empty()) return *existing;  // nothing to do: no write, no event
    user.version = existing->version + 1;
    user.updated_at = now;
    ev.action = "user.updated";
    json::object payload;
    payload["changes"] = std::move(changes);
    ev.payload = JsonToString(payload);
  }
  store::Params params{user.name,
                       user.email,
                       user.time_zone,
                       std::string(RoleName(user.role)),
                       user.version,
                       FormatRfc3339(user.created_at),
                       FormatRfc3339(user.updated_at)};
  if (create) {
    PLATOPS_RETURN_IF_ERROR(tx.Exec("INSERT INTO users (name, email, time_zone, role, version, "
                                    "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                    params)
                                .status());
  } else {
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("UPDATE users SET email = $2, time_zone = $3, role = $4, "
                "version = $5, created_at = $6, updated_at = $7 WHERE name = $1",
                params)
            .status());
    if (existing->role == Role::kAdmin && user.role != Role::kAdmin)
      PLATOPS_RETURN_IF_ERROR(CheckAnotherAdmin(tx, user.name));
    // A token never holds more than its user: lowering a user's role lowers their tokens.
    PLATOPS_ASSIGN_OR_RETURN(auto tokens,
                             tx.Query(std::string("SELECT ") + kTokenColumns +
                                          " FROM tokens WHERE user_name = $1 ORDER BY id",
                                      {user.name}));
    for (const auto& row : tokens) {
      Token t = TokenFromRow(row);
      if (t.role <= user.role) continue;
      PLATOPS_RETURN_IF_ERROR(tx.Exec("UPDATE tokens SET role = $2 WHERE id = $1",
                                      {t.id, std::string(RoleName(user.role))})
                                  .status());
      json::object change{{"from", RoleName(t.role)}, {"to", RoleName(user.role)}};
      json::object payload{{"changes", json::object{{"role", std::move(change)}}},
                           {"reason", "the role of user " + user.name + " was lowered"}};
      PLATOPS_RETURN_IF_ERROR(
          log_.Append(tx, {actor, "token.updated", "token", t.id, JsonToString(payload)}).status());
    }
    InvalidateTokens(tx);
  }
  PLATOPS_RETURN_IF_ERROR(log_.Append(tx, ev).status());
  return user;
}

Status IdentityService::DeleteUser(store::Tx& tx, const std::string& actor,
                                   const std::string& name) {
  PLATOPS_ASSIGN_OR_RETURN(auto existing, FindUser(tx, name));
  if (!existing) return NotFound("user \"" + name + "\" not found");
  for (const auto& guard : delete_guards_) PLATOPS_RETURN_IF_ERROR(guard(tx, name));
  if (existing->role == Role::kAdmin) PLATOPS_RETURN_IF_ERROR(CheckAnotherAdmin(tx, name));
  PLATOPS_ASSIGN_OR_RETURN(
      auto tokens,
      tx.Query(std::string("SELECT ") + kTokenColumns +
                   " FROM tokens WHERE user_name = $1 AND revoked_at IS NULL ORDER BY id",
               {name}));
  for (const auto& row : tokens) {
    json::object payload{{"token", TokenToJson(TokenFromRow(row))},
                         {"reason", "user " + name + " was deleted"}};
    PLATOPS_RETURN_IF_ERROR(
        log_.Append(tx, {actor, "token.revoked", "token", row.Text(0), JsonToString(payload)})
            .status());
  }
  PLATOPS_RETURN_IF_ERROR(tx.Exec("DELETE FROM tokens WHERE user_name = $1", {name}).status());
  PLATOPS_RETURN_IF_ERROR(tx.Exec("DELETE FROM users WHERE name = $1", {name}).status());
  json::object payload;
  payload["before"] = UserToJson(*existing);
  PLATOPS_RETURN_IF_ERROR(
      log_.Append(tx, {actor, "user.deleted", "user", name, JsonToString(payload)}).status());
  InvalidateTokens(tx);
  return Status::Ok();
}

Status IdentityService::CheckAnotherAdmin(store::Tx& tx, const std::string& name) const {
  PLATOPS_ASSIGN_OR_RETURN(
      auto row,
      tx.QueryOne("SELECT count(*) FROM users WHERE role = 'admin' AND name <> $1", {name}));
  if (row->Int(0) == 0)
    return Conflict("user \"" + name + "\" is the last admin; make another admin first", "role");
  return Status::Ok();
}

void IdentityService::InvalidateTokens(store::Tx& tx) {
  tx.AfterCommit([this] { token_generation_.fetch_add(1); });
}

Result<User> IdentityService::CreateUser(const std::string& actor, User user) {
  std::optional<User> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, PutUser(tx, actor, user, std::nullopt, true));
    return Status::Ok();
  }));
  return *out;
}

Result<User> IdentityService::GetUser(const std::string& name) const {
  std::optional<User> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, FindUser(tx, name));
    return Status::Ok();
  }));
  if (!out) return NotFound("user \"" + Abbreviate(name) + "\" not found");
  return *out;
}

Result<Page<User>> IdentityService::ListUsers(const std::string& cursor, int limit) const {
  Page<User> page;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto rows,
                             tx.Query(std::string("SELECT ") + kUserColumns +
                                          " FROM users WHERE name > $1 ORDER BY name LIMIT $2",
                                      {cursor, static_cast<int64_t>(limit) + 1}));
    for (const auto& r : rows) page.items.push_back(UserFromRow(r));
    return Status::Ok();
  }));
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next_cursor = page.items.back().name;
  }
  return page;
}

Result<User> IdentityService::UpdateUser(const std::string& actor, User user,
                                         int64_t expected_version) {
  std::optional<User> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, PutUser(tx, actor, user, expected_version, false));
    return Status::Ok();
  }));
  return *out;
}

Status IdentityService::DeleteUser(const std::string& actor, const std::string& name) {
  return store_.Write([&](store::Tx& tx) { return DeleteUser(tx, actor, name); });
}

Result<CreatedToken> IdentityService::CreateToken(const std::string& actor, const std::string& user,
                                                  const std::string& name, Role role,
                                                  std::optional<std::chrono::milliseconds> ttl,
                                                  std::optional<std::string> secret) {
  if (name.empty() || name.size() > 100 || !IsValidUtf8(name))
    return InvalidArgument("must be 1..100 characters of UTF-8", "name");
  if (ttl && ttl->count() <= 0) return InvalidArgument("must be a positive duration", "expires_in");
  if (secret && secret->size() < 16)
    return InvalidArgument("a given token secret must be at least 16 characters", "secret");
  CreatedToken out;
  out.secret = secret ? *secret : "pla_" + RandomHex(32);
  Token& t = out.token;
  t.id = "tok_" + RandomHex(8);
  t.name = name;
  t.user = user;
  t.role = role;
  t.created_at = clock_.Now();
  if (ttl) t.expires_at = t.created_at + *ttl;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) { return InsertToken(tx, actor, out); }));
  return out;
}

Status IdentityService::InsertToken(store::Tx& tx, const std::string& actor,
                                    const CreatedToken& created) const {
  const Token& t = created.token;
  const std::string& user = t.user;
  const Role role = t.role;
  {
    PLATOPS_ASSIGN_OR_RETURN(auto owner, FindUser(tx, user));
    if (!owner) return Unprocessable("user \"" + Abbreviate(user) + "\" does not exist", "user");
    if (role > owner->role)
      return Unprocessable("role " + std::string(RoleName(role)) + " is above the user's role " +
                               std::string(RoleName(owner->role)),
                           "role");
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO tokens (id, name, user_name, role, hash, created_at, expires_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                {t.id, t.name, t.user, std::string(RoleName(t.role)), Sha256Hex(created.secret),
                 FormatRfc3339(t.created_at), OptTimeValue(t.expires_at)})
            .status());
    json::object payload;
    payload["after"] = TokenToJson(t);
    return log_.Append(tx, {actor, "token.created", "token", t.id, JsonToString(payload)}).status();
  }
}

Result<std::vector<Token>> IdentityService::ListTokens(const std::string& user) const {
  std::vector<Token> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    std::string sql = std::string("SELECT ") + kTokenColumns + " FROM tokens";
    store::Params params;
    if (!user.empty()) {
      sql += " WHERE user_name = $1";
      params.emplace_back(user);
    }
    sql += " ORDER BY created_at, id";
    PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, params));
    for (const auto& r : rows) out.push_back(TokenFromRow(r));
    return Status::Ok();
  }));
  return out;
}

Status IdentityService::RevokeToken(const std::string& actor, const std::string& id_or_name) {
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto rows, tx.Query(std::string("SELECT ") + kTokenColumns +
                                " FROM tokens WHERE (id = $1 OR name = $1) AND revoked_at IS NULL",
                            {id_or_name}));
    if (rows.empty())
      return NotFound("no active token with id or name \"" + Abbreviate(id_or_name) + "\"");
    if (rows.size() > 1)
      return Conflict("several active tokens are named \"" + id_or_name + "\"; revoke by id");
    Token t = TokenFromRow(rows[0]);
    t.revoked_at = clock_.Now();
    PLATOPS_RETURN_IF_ERROR(tx.Exec("UPDATE tokens SET revoked_at = $2 WHERE id = $1",
                                    {t.id, FormatRfc3339(*t.revoked_at)})
                                .status());
    json::object payload;
    payload["token"] = TokenToJson(t);
    InvalidateTokens(tx);
    return log_.Append(tx, {actor, "token.revoked", "token", t.id, JsonToString(payload)}).status();
  }));
  return Status::Ok();
}

Result<Principal> IdentityService::Authenticate(const std::string& secret) {
  static constexpr auto kCacheTtl = std::chrono::seconds(5);
  static constexpr auto kLastUsedEvery = std::chrono::minutes(1);
  auto unauthenticated = [] {
    return Status(StatusCode::kUnauthenticated, "missing, unknown, revoked or expired token");
  };
  if (secret.empty() || secret.size() > 512) return unauthenticated();
  const std::string hash = Sha256Hex(secret);
  const Timestamp now = clock_.Now();
  bool write_last_used = false;
  std::optional<Principal> principal;
  // Read before the store: a revocation that commits meanwhile bumps it, so the entry this lookup
  // caches is ignored by the next one.
  const uint64_t generation = token_generation_.load();
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && it->second.generation == generation &&
        now - it->second.cached_at < kCacheTtl) {
      if (!it->second.principal) return unauthenticated();
      if (it->second.expires_at && *it->second.expires_at <= now) return unauthenticated();
      principal = it->second.principal;
      if (now - it->second.last_used_written >= kLastUsedEvery) {
        it->second.last_used_written = now;
        write_last_used = true;
      }
    }
  }
  if (!principal) {
    CachedPrincipal entry;
    entry.cached_at = now;
    entry.generation = generation;
    std::optional<Timestamp> previous_write;
    {
      std::lock_guard lock(cache_mu_);
      auto it = cache_.find(hash);
      if (it != cache_.end() && it->second.principal) previous_write = it->second.last_used_written;
    }
    PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
      PLATOPS_ASSIGN_OR_RETURN(
          auto row, tx.QueryOne(std::string("SELECT ") + kTokenColumns +
                                    " FROM tokens WHERE hash = $1 AND revoked_at IS NULL",
                                {hash}));
      if (row) {
        Token t = TokenFromRow(*row);
        entry.principal = Principal{t.user, t.role, t.id, t.name};
        entry.expires_at = t.expires_at;
      }
      return Status::Ok();
    }));
    write_last_used = !previous_write || now - *previous_write >= kLastUsedEvery;
    entry.last_used_written = write_last_used ? now : *previous_write;
    {
      std::lock_guard lock(cache_mu_);
      if (cache_.size() > 10000) cache_.clear();
      cache_[hash] = entry;
    }
    if (!entry.principal || (entry.expires_at && *entry.expires_at <= now))
      return unauthenticated();
    principal = entry.principal;
  }
  if (write_last_used) {
    // Best effort and at most once a minute per token: a busy store must not fail the request.
    Status st = store_.Write([&](store::Tx& tx) -> Status {
      return tx
          .Exec("UPDATE tokens SET last_used_at = $2 WHERE id = $1",
                {principal->token_id, FormatRfc3339(now)})
          .status();
    });
    (void)st;
  }
  return *principal;
}

Result<std::optional<std::string>> IdentityService::Bootstrap(std::optional<std::string> secret) {
  bool empty = false;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT count(*) FROM users"));
    empty = row->Int(0) == 0;
    return Status::Ok();
  }));
  if (!empty) return std::optional<std::string>();
  if (secret && secret->size() < 16)
    return InvalidArgument("a given token secret must be at least 16 characters", "secret");
  User admin;
  admin.name = "admin";
  admin.email = "admin@localhost";
  admin.role = Role::kAdmin;
  CreatedToken created;
  created.secret = secret ? *secret : "pla_" + RandomHex(32);
  created.token = {.id = "tok_" + RandomHex(8),
                   .name = "bootstrap",
                   .user = "admin",
                   .role = Role::kAdmin,
                   .created_at = clock_.Now()};
  // One transaction: a crash can never leave an admin without a token.
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_RETURN_IF_ERROR(PutUser(tx, "system", admin, std::nullopt, true).status());
    return InsertToken(tx, "system", created);
  }));
  return std::optional<std::string>(created.secret);
}

}  // namespace platops::identity
