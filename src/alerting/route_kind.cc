#include "alerting/route_kind.h"

#include <set>

#include <boost/json.hpp>

#include "alerting/am_config.h"
#include "base/json_reader.h"

namespace platops::alerting {

namespace json = boost::json;

namespace {

constexpr const char* kReadOnlyFields[] = {"version", "created_at", "updated_at"};

int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }

// The receiver and time interval names a route tree refers to, so that its syntax can be
// checked on its own.
void Names(const json::value& route, std::set<std::string>& receivers,
           std::set<std::string>& intervals) {
  if (!route.is_object()) return;
  const json::object& r = route.get_object();
  if (const json::value* v = r.if_contains("receiver"); v && v->is_string()) {
    receivers.emplace(v->get_string());
  }
  for (const char* key : {"mute_time_intervals", "active_time_intervals"}) {
    if (const json::value* list = r.if_contains(key); list && list->is_array()) {
      for (const json::value& name : list->get_array()) {
        if (name.is_string()) intervals.emplace(name.get_string());
      }
    }
  }
  if (const json::value* routes = r.if_contains("routes"); routes && routes->is_array()) {
    for (const json::value& child : routes->get_array()) Names(child, receivers, intervals);
  }
}

}  // namespace

std::vector<store::Migration> RouteStore::Migrations() {
  return {{"alerting_route", 1,
           "CREATE TABLE alert_route ("
           " name TEXT PRIMARY KEY, doc TEXT NOT NULL, version INTEGER NOT NULL,"
           " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)"}};
}

RouteStore::RouteStore(store::Store& store, const events::EventLog& log, const Clock& clock)
    : store_(store), log_(log), clock_(clock) {}

Status RouteStore::Load() {
  std::optional<json::object> doc;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(doc, In(tx));
    return Status::Ok();
  }));
  std::lock_guard lock(mu_);
  doc_ = std::move(doc);
  return Status::Ok();
}

std::optional<json::object> RouteStore::Current() const {
  std::lock_guard lock(mu_);
  return doc_;
}

Result<std::optional<json::object>> RouteStore::In(store::Tx& tx) {
  PLATOPS_ASSIGN_OR_RETURN(
      auto row, tx.QueryOne("SELECT doc FROM alert_route WHERE name = $1", {std::string(kKey)}));
  if (!row) return std::optional<json::object>();
  PLATOPS_ASSIGN_OR_RETURN(json::value v, ParseJson(row->Text(0)));
  if (!v.is_object()) return Internal("the stored route is not an object");
  return std::optional<json::object>(std::move(v.get_object()));
}

void RouteStore::OnChange(std::function<void()> f) {
  std::lock_guard lock(change_mu_);
  on_change_ = std::move(f);
}

void RouteStore::SetCheck(std::function<Status(store::Tx&)> check) { check_ = std::move(check); }

Status RouteStore::CheckState(store::Tx& tx) const { return check_ ? check_(tx) : Status::Ok(); }

Result<json::object> RouteStore::Decode(const json::value& input, const std::string& path) const {
  if (!input.is_object()) return InvalidArgument("must be a mapping", path);
  json::object route = input.get_object();
  for (const char* f : kReadOnlyFields) route.erase(f);
  // The route alone, with stand-ins for what it names: its own mistakes are found here, with
  // their fields; whether the names exist is the check at Put.
  std::set<std::string> receivers, intervals;
  Names(route, receivers, intervals);
  json::object config;
  json::array receiver_list;
  for (const auto& name : receivers) receiver_list.push_back(json::object{{"name", name}});
  config["receivers"] = std::move(receiver_list);
  json::array interval_list;
  for (const auto& name : intervals) {
    interval_list.push_back(json::object{{"name", name}, {"time_intervals", json::array()}});
  }
  if (!interval_list.empty()) config["time_intervals"] = std::move(interval_list);
  AmConfigOptions options;
  options.route = route;
  auto parsed = ParseAlertmanagerConfig(JsonToString(config), options);
  if (!parsed.ok()) {
    std::string field = parsed.status().field();
    if (field == "route") {
      field.clear();
    } else if (field.starts_with("route.")) {
      field = field.substr(6);
    }
    return InvalidArgument(std::string(parsed.status().message()),
                           path.empty() ? field : (field.empty() ? path : path + "." + field));
  }
  return route;
}

Result<std::map<std::string, json::object>> RouteStore::List(store::Tx& tx) {
  std::map<std::string, json::object> out;
  PLATOPS_ASSIGN_OR_RETURN(auto route, In(tx));
  if (route) out.emplace(kKey, std::move(*route));
  return out;
}

Status RouteStore::Put(store::Tx& tx, const std::string& actor, const json::object& spec,
                       bool create) {
  const std::string text = JsonToString(spec);
  const std::string key(kKey);
  PLATOPS_ASSIGN_OR_RETURN(
      auto existing, tx.QueryOne("SELECT doc, version FROM alert_route WHERE name = $1", {key}));
  const int64_t now = Ms(clock_.Now());
  json::object payload;
  std::string action;
  if (create) {
    if (existing) return Conflict("a route is applied already");
    action = "route.created";
    payload["after"] = spec;
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO alert_route (name, doc, version, created_at, updated_at)"
                " VALUES ($1, $2, 1, $3, $3)",
                {key, text, now})
            .status());
  } else {
    if (!existing) return NotFound("no route is applied");
    if (existing->Text(0) == text) return Status::Ok();
    action = "route.updated";
    auto before = ParseJson(existing->Text(0));
    if (before.ok() && before->is_object()) {
      payload["changes"] = JsonChanges(before->get_object(), spec);
    }
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("UPDATE alert_route SET doc = $2, version = $3, updated_at = $4 WHERE name = $1",
                {key, text, existing->Int(1) + 1, now})
            .status());
  }
  PLATOPS_RETURN_IF_ERROR(
      log_.Append(tx, {actor, action, "route", key, JsonToString(payload)}).status());
  tx.AfterCommit([this, spec] { Changed(spec); });
  return Status::Ok();
}

Status RouteStore::Delete(store::Tx& tx, const std::string& actor, const std::string& key) {
  PLATOPS_ASSIGN_OR_RETURN(auto existing,
                           tx.QueryOne("SELECT 1 FROM alert_route WHERE name = $1", {key}));
  if (!existing) return NotFound("no route is applied");
  PLATOPS_RETURN_IF_ERROR(tx.Exec("DELETE FROM alert_route WHERE name = $1", {key}).status());
  PLATOPS_RETURN_IF_ERROR(
      log_.Append(tx, {actor, "route.deleted", "route", key, "{}"}).status());
  tx.AfterCommit([this] { Changed(std::nullopt); });
  return Status::Ok();
}

void RouteStore::Changed(std::optional<json::object> doc) {
  {
    std::lock_guard lock(mu_);
    doc_ = std::move(doc);
  }
  std::lock_guard lock(change_mu_);
  if (on_change_) on_change_();
}

void RegisterRouteKind(config::KindRegistry& registry, RouteStore& routes) {
  config::KindHandler h;
  h.kind = "Route";
  h.order = 91;
  h.write_role = 3;
  h.decode = [&routes](const json::value& doc, const std::string& path) {
    return routes.Decode(doc, path);
  };
  h.key = [](const json::object&) { return std::string(RouteStore::kKey); };
  h.references = [](const json::object&) { return std::vector<config::Reference>{}; };
  h.list = [](store::Tx& tx) { return RouteStore::List(tx); };
  h.put = [&routes](store::Tx& tx, const std::string& actor, const json::object& spec,
                    bool create) { return routes.Put(tx, actor, spec, create); };
  h.remove = [&routes](store::Tx& tx, const std::string& actor, const std::string& key) {
    return routes.Delete(tx, actor, key);
  };
  h.check_state = [&routes](store::Tx& tx) { return routes.CheckState(tx); };
  registry.Register(std::move(h));
}

}  // namespace platops::alerting
