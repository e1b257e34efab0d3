#include "alerting/integration_keys.h"

#include <boost/json.hpp>

#include <algorithm>
#include <tuple>

#include "base/crypto.h"
#include "base/time_util.h"

namespace platops::alerting {

namespace {

namespace json = boost::json;

constexpr const char* kColumns = "id, service, name, kind, key_hash, hint, created_by, created_at";

IntegrationKey FromRow(const store::Row& r, std::string* hash) {
  IntegrationKey k;
  k.id = r.Text(0);
  k.service = r.Text(1);
  k.name = r.Text(2);
  k.kind = r.Text(3);
  if (hash != nullptr) *hash = r.Text(4);
  k.hint = r.Text(5);
  k.created_by = r.Text(6);
  k.created_at = Timestamp(std::chrono::milliseconds(r.Int(7)));
  return k;
}

std::string Payload(const IntegrationKey& k) {
  json::object p;
  p["id"] = k.id;
  p["service"] = k.service;
  p["name"] = k.name;
  p["kind"] = k.kind;
  return json::serialize(p);
}

}  // namespace

std::vector<store::Migration> IntegrationKeys::Migrations() {
  return {{"alerting_integrations", 1,
           "CREATE TABLE integration_keys ("
           " id TEXT PRIMARY KEY, service TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,"
           " key_hash TEXT NOT NULL UNIQUE, hint TEXT NOT NULL, created_by TEXT NOT NULL,"
           " created_at INTEGER NOT NULL);"
           "CREATE INDEX integration_keys_service ON integration_keys (service, created_at)"}};
}

IntegrationKeys::IntegrationKeys(store::Store& store, const events::EventLog& log,
                                 const Clock& clock)
    : store_(store), log_(log), clock_(clock) {}

Status IntegrationKeys::Load() {
  std::map<std::string, IntegrationKey> keys;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto rows, tx.Query(std::string("SELECT ") + kColumns + " FROM integration_keys"));
    for (const auto& r : rows) {
      std::string hash;
      IntegrationKey k = FromRow(r, &hash);
      keys.emplace(std::move(hash), std::move(k));
    }
    return Status::Ok();
  }));
  std::lock_guard lock(mu_);
  by_hash_ = std::move(keys);
  return Status::Ok();
}

Result<IntegrationKey> IntegrationKeys::Create(const std::string& actor,
                                               const std::string& service,
                                               const std::string& name) {
  if (service.empty()) return InvalidArgument("is required", "service");
  if (name.empty() || name.size() > 100) {
    return InvalidArgument("must be 1 to 100 characters", "name");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return InvalidArgument("must not contain control characters", "name");
  }
  IntegrationKey k;
  k.id = "ik_" + RandomHex(8);
  k.service = service;
  k.name = name;
  k.created_by = actor;
  k.created_at = clock_.Now();
  k.routing_key = RandomHex(16);
  k.hint = k.routing_key.substr(k.routing_key.size() - 4);
  const std::string hash = Sha256Hex(k.routing_key);
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec(std::string("INSERT INTO integration_keys (") + kColumns +
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                {k.id, k.service, k.name, k.kind, hash, k.hint, k.created_by,
                 static_cast<int64_t>(k.created_at.time_since_epoch().count())})
            .status());
    IntegrationKey stored = k;
    stored.routing_key.clear();
    // Usable once committed, in commit order with a deletion of its service.
    tx.AfterCommit([this, hash, stored = std::move(stored)] {
      std::lock_guard lock(mu_);
      by_hash_[hash] = stored;
    });
    return log_.Append(tx, {actor, "integration_key.created", "integration_key", k.id, Payload(k)})
        .status();
  }));
  return k;
}

std::vector<IntegrationKey> IntegrationKeys::List(const std::string& service) const {
  std::vector<IntegrationKey> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [hash, k] : by_hash_) {
      if (service.empty() || k.service == service) out.push_back(k);
    }
  }
  std::sort(out.begin(), out.end(), [](const IntegrationKey& a, const IntegrationKey& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  return out;
}

Status IntegrationKeys::Delete(const std::string& actor, const std::string& id) {
  std::optional<IntegrationKey> found;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto row, tx.QueryOne(std::string("SELECT ") + kColumns +
                                  " FROM integration_keys WHERE id = $1",
                              {id}));
    if (!row) return NotFound("no integration key \"" + id + "\"");
    found = FromRow(*row, nullptr);
    PLATOPS_RETURN_IF_ERROR(tx.Exec("DELETE FROM integration_keys WHERE id = $1", {id}).status());
    tx.AfterCommit([this, id] {
      std::lock_guard lock(mu_);
      std::erase_if(by_hash_, [&](const auto& e) { return e.second.id == id; });
    });
    return log_.Append(tx, {actor, "integration_key.deleted", "integration_key", id,
                            Payload(*found)})
        .status();
  }));
  return Status::Ok();
}

Status IntegrationKeys::DeleteForService(store::Tx& tx, const std::string& service) {
  PLATOPS_ASSIGN_OR_RETURN(
      auto rows, tx.Query(std::string("SELECT ") + kColumns +
                              " FROM integration_keys WHERE service = $1",
                          {service}));
  for (const auto& r : rows) {
    IntegrationKey k = FromRow(r, nullptr);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM integration_keys WHERE id = $1", {k.id}).status());
    PLATOPS_RETURN_IF_ERROR(
        log_.Append(tx, {"system", "integration_key.deleted", "integration_key", k.id,
                         Payload(k)})
            .status());
  }
  tx.AfterCommit([this, service] {
    std::lock_guard lock(mu_);
    std::erase_if(by_hash_, [&](const auto& e) { return e.second.service == service; });
  });
  return Status::Ok();
}

std::optional<IntegrationKey> IntegrationKeys::Lookup(const std::string& routing_key) const {
  const std::string hash = Sha256Hex(routing_key);
  std::lock_guard lock(mu_);
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

}  // namespace platops::alerting
