#pragma once
// Identity: users, roles and API tokens. Owns tables `users` and `tokens`; appends `user.*` and
// `token.*` events. Entry class: IdentityService.
// Thread-safety: IdentityService is thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "events/event_log.h"
#include "store/store.h"

namespace platops::identity {

// Ordered: a higher role can do everything a lower one can.
enum class Role { kViewer = 1, kResponder = 2, kOperator = 3, kAdmin = 4 };
std::string_view RoleName(Role role);
Result<Role> ParseRole(std::string_view name);

struct User {
  std::string name;               // ^[a-z0-9][a-z0-9._-]{0,62}$, the key
  std::string email;              // required, must contain one '@'
  std::string time_zone = "UTC";  // IANA name
  Role role = Role::kViewer;
  int64_t version = 0;
  Timestamp created_at{}, updated_at{};
};

struct Token {
  std::string id;    // "tok_" + 16 hex
  std::string name;  // a label: "ci-deploy"
  std::string user;
  Role role = Role::kViewer;  // never above the user's role
  Timestamp created_at{};
  std::optional<Timestamp> expires_at, last_used_at, revoked_at;
};

// Who is calling, once a token has been checked.
struct Principal {
  std::string user;
  Role role = Role::kViewer;
  std::string token_id;
  std::string token_name;
  // The event log's actor: "alice" or "alice (token ci-deploy)".
  std::string Actor() const;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // empty on the last page
};

struct CreatedToken {
  Token token;
  std::string secret;  // shown once; only its hash is stored
};

// Returns OK or an InvalidArgument naming the field.
Status ValidateUser(const User& u);

class IdentityService {
 public:
  IdentityService(store::Store& store, const events::EventLog& log, const Clock& clock);
  static std::vector<store::Migration> Migrations();

  // Users. Updates need the current version (kConflict when stale).
  Result<User> CreateUser(const std::string& actor, User user);
  Result<User> GetUser(const std::string& name) const;
  Result<Page<User>> ListUsers(const std::string& cursor, int limit) const;
  Result<User> UpdateUser(const std::string& actor, User user, int64_t expected_version);
  // Fails when a delete guard refuses (a team still lists the user). Deletes the user's tokens.
  Status DeleteUser(const std::string& actor, const std::string& name);

  // Inside a caller's write transaction (apply). `expected_version` nullopt: unconditional.
  Result<std::optional<User>> FindUser(store::Tx& tx, const std::string& name) const;
  Result<std::vector<User>> AllUsers(store::Tx& tx) const;
  Result<User> PutUser(store::Tx& tx, const std::string& actor, User user,
                       std::optional<int64_t> expected_version, bool create);
  Status DeleteUser(store::Tx& tx, const std::string& actor, const std::string& name);

  // A module above identity that refers to users (teams) registers a check that refuses to delete a
  // user it still refers to. Register before use.
  void AddUserDeleteGuard(std::function<Status(store::Tx&, const std::string&)> guard) {
    delete_guards_.push_back(std::move(guard));
  }

  // Tokens.
  Result<CreatedToken> CreateToken(const std::string& actor, const std::string& user,
                                   const std::string& name, Role role,
                                   std::optional<std::chrono::milliseconds> ttl,
                                   std::optional<std::string> secret = std::nullopt);
  Result<std::vector<Token>> ListTokens(const std::string& user) const;  // empty: all users
  Status RevokeToken(const std::string& actor, const std::string& id_or_name);
  // kUnauthenticated for unknown, revoked or expired tokens.
  Result<Principal> Authenticate(const std::string& secret);

  // On an empty store: creates user "admin" (role admin) and a token named "bootstrap" whose
  // secret is `secret` when given (at least 16 characters), else generated. Returns the secret
  // when it created one, nullopt when users already exist.
  Result<std::optional<std::string>> Bootstrap(std::optional<std::string> secret);

 private:
  Status InsertToken(store::Tx& tx, const std::string& actor, const CreatedToken& created) const;
  // kConflict unless an admin other than `name` exists.
  Status CheckAnotherAdmin(store::Tx& tx, const std::string& name) const;
  // After commit, makes every cached token lookup stale.
  void InvalidateTokens(store::Tx& tx);

  struct CachedPrincipal {
    std::optional<Principal> principal;  // nullopt: known bad
    std::optional<Timestamp> expires_at;
    Timestamp cached_at;
    Timestamp last_used_written;
    uint64_t generation = 0;
  };

  store::Store& store_;
  const events::EventLog& log_;
  const Clock& clock_;
  std::vector<std::function<Status(store::Tx&, const std::string&)>> delete_guards_;
  std::atomic<uint64_t> token_generation_{1};
  mutable std::mutex cache_mu_;
  std::unordered_map<std::string, CachedPrincipal> cache_;  // GUARDED_BY(cache_mu_), by hash
};

}  // namespace platops::identity
