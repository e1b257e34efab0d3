#pragma once
// `kind: Route`: the routing tree as a document of its own. The document is an Alertmanager
// `route` (receiver, group_by, matchers, timings, continue, mute/active_time_intervals, routes)
// with `kind: Route` beside it. There is one root: its key is "root", whatever it is applied
// as. While it is applied it replaces the `route` of the Alertmanager configuration in effect
// (an applied AlertmanagerConfig, else alerting.alertmanager_config's file, else the default),
// so a team can own its routing tree while the receivers' credentials stay with an admin.
//
// Consistency: an apply that leaves the route naming a receiver or time interval the
// configuration lacks is refused, whichever of the two documents it changes (`SetCheck`, run at
// the end of the apply's transaction, which sees both as the apply leaves them).
//
// Table `alert_route` (module "alerting_route"); events `route.created|updated|deleted`.
// Thread-safe.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "config/kind_registry.h"
#include "events/event_log.h"
#include "store/store.h"

namespace platops::alerting {

class RouteStore {
 public:
  static constexpr const char* kKey = "root";
  static std::vector<store::Migration> Migrations();

  RouteStore(store::Store& store, const events::EventLog& log, const Clock& clock);

  Status Load();

  // The applied route (the document without `kind`); nullopt when none is applied.
  std::optional<boost::json::object> Current() const;
  // The same, as the transaction `tx` sees it.
  static Result<std::optional<boost::json::object>> In(store::Tx& tx);

  // Called after a commit that changed the route, on the store's writer thread: it must not
  // write to the store nor wait for anything that might.
  void OnChange(std::function<void()> f);
  // Checks that the routing as the transaction leaves it loads (the KindHandler's check_state:
  // run once per apply that changed the route, after all its writes; an error aborts the
  // apply). Set before the store is used.
  void SetCheck(std::function<Status(store::Tx& tx)> check);
  Status CheckState(store::Tx& tx) const;

  // The KindHandler's parts. Decode checks the route's own syntax (matchers, durations, fields)
  // against an otherwise empty configuration; the receivers it names are checked by SetCheck's
  // function.
  Result<boost::json::object> Decode(const boost::json::value& doc, const std::string& path) const;
  static Result<std::map<std::string, boost::json::object>> List(store::Tx& tx);
  Status Put(store::Tx& tx, const std::string& actor, const boost::json::object& spec,
             bool create);
  Status Delete(store::Tx& tx, const std::string& actor, const std::string& key);

 private:
  void Changed(std::optional<boost::json::object> doc);

  store::Store& store_;
  const events::EventLog& log_;
  const Clock& clock_;
  std::function<Status(store::Tx&)> check_;  // set once before use
  mutable std::mutex mu_;
  std::optional<boost::json::object> doc_;  // GUARDED_BY(mu_)
  std::mutex change_mu_;
  std::function<void()> on_change_;  // GUARDED_BY(change_mu_)
};

// Registers `kind: Route` (order 91: after AlertmanagerConfig, so an apply of both checks the
// route against the new receivers; operators may apply it).
void RegisterRouteKind(config::KindRegistry& registry, RouteStore& routes);

}  // namespace platops::alerting
