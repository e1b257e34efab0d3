#pragma once
// `kind: AlertmanagerConfig`: an Alertmanager configuration file applied like any platops
// document (`platops apply -f alertmanager.yml`; a document without `kind` that has `route` or
// `receivers` is read as one). One per platops, key "alertmanager". An applied configuration
// takes the place of the file named by alerting.alertmanager_config, at once and across
// restarts; deleting it (apply --prune, or an export without it) goes back to the file.
//
// Secrets (passwords, tokens, secret URLs: the fields ToRedactedJson masks) are stored sealed
// with the data directory's key, and listed and exported sealed ("sbx1:..."), so no API shows
// them; a sealed value applied back on the same platops opens to the same secret and changes
// nothing. Refused in an applied document: `templates` and `*_file` fields, which name files on
// the server.
//
// Table `alertmanager_config` (module "alerting_am_config"); events
// `alertmanager_config.created|updated|deleted` (secrets never in them). Thread-safe.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "base/clock.h"
#include "base/secret_box.h"
#include "base/status.h"
#include "config/kind_registry.h"
#include "events/event_log.h"
#include "store/store.h"

namespace platops::alerting {

class AlertmanagerConfigStore {
 public:
  static constexpr const char* kKey = "alertmanager";
  static std::vector<store::Migration> Migrations();

  // `box` seals the secrets; all must outlive the store.
  AlertmanagerConfigStore(store::Store& store, const events::EventLog& log, const Clock& clock,
                          const SecretBox& box);

  Status Load();

  // The applied configuration as Alertmanager YAML (JSON text) with its secrets opened, for
  // ParseAlertmanagerConfig; nullopt when none is applied.
  std::optional<std::string> Current() const;

  // The same as the transaction `tx` sees it.
  Result<std::optional<std::string>> In(store::Tx& tx) const;

  // Called after a commit that changed the configuration, on the store's writer thread: it must
  // not write to the store nor wait for anything that might.
  void OnChange(std::function<void()> f);
  // The KindHandler's check_state (see RouteStore::SetCheck): an applied Route must still find
  // its receivers. Set before the store is used.
  void SetCheck(std::function<Status(store::Tx& tx)> check);
  Status CheckState(store::Tx& tx) const;

  // The KindHandler's parts. Decode validates as Alertmanager would and returns the document
  // with its secrets sealed (reusing the stored sealed value of an unchanged secret).
  Result<boost::json::object> Decode(const boost::json::value& doc, const std::string& path) const;
  Result<std::map<std::string, boost::json::object>> List(store::Tx& tx) const;
  Status Put(store::Tx& tx, const std::string& actor, const boost::json::object& spec,
             bool create);
  Status Delete(store::Tx& tx, const std::string& actor, const std::string& key);

 private:
  void Changed(std::optional<boost::json::object> doc);

  store::Store& store_;
  const events::EventLog& log_;
  const Clock& clock_;
  const SecretBox& box_;
  std::function<Status(store::Tx&)> check_;  // set once before use
  mutable std::mutex mu_;
  std::optional<boost::json::object> doc_;  // GUARDED_BY(mu_) as stored (secrets sealed)
  std::mutex change_mu_;
  std::function<void()> on_change_;  // GUARDED_BY(change_mu_)
};

// Registers `kind: AlertmanagerConfig` (order 90, admin only) and its recognition of documents
// without a kind.
void RegisterAlertmanagerConfigKind(config::KindRegistry& registry,
                                    AlertmanagerConfigStore& store);

}  // namespace platops::alerting
