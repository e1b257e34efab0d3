#pragma once
// Integration keys: the routing keys that senders of PagerDuty Events v2 put in their events,
// each created in platops and bound to one catalog service, so an event lands on the service its
// key names. A key is shown once, when it is created; the store keeps only its SHA-256 (like an
// API token) and the last four characters as a hint. Table `integration_keys` (module
// "alerting_integrations"); events `integration_key.created|deleted`. Thread-safe.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "events/event_log.h"
#include "store/store.h"

namespace platops::alerting {

struct IntegrationKey {
  std::string id;       // "ik_" + 16 hex characters
  std::string service;  // catalog service slug
  std::string name;     // what the sender is, e.g. "grafana"
  std::string kind = "pagerduty";
  std::string hint;     // the key's last four characters
  std::string created_by;
  Timestamp created_at{};
  std::string routing_key;  // only in Create's answer: 32 hex characters
};

class IntegrationKeys {
 public:
  static std::vector<store::Migration> Migrations();

  IntegrationKeys(store::Store& store, const events::EventLog& log, const Clock& clock);

  // Reads the keys into memory (lookups do not touch the store).
  Status Load();

  // A new key for `service` (which the caller has checked exists). `name`: 1-100 printable
  // characters.
  Result<IntegrationKey> Create(const std::string& actor, const std::string& service,
                                const std::string& name);
  // `service` empty: all keys. Oldest first; routing_key is never set.
  std::vector<IntegrationKey> List(const std::string& service) const;
  // NotFound when there is no such key.
  Status Delete(const std::string& actor, const std::string& id);
  // Deletes every key of `service` inside `tx` (a deleted service takes its keys with it); the
  // keys stop working once the transaction commits.
  Status DeleteForService(store::Tx& tx, const std::string& service);
  // The key a routing key belongs to, or nullopt.
  std::optional<IntegrationKey> Lookup(const std::string& routing_key) const;

 private:
  store::Store& store_;
  const events::EventLog& log_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, IntegrationKey> by_hash_;  // GUARDED_BY(mu_)
};

}  // namespace platops::alerting
