#include "checks/checks.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/crypto.h"
#include "base/json_reader.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "catalog/codec.h"
#include "checks/codec.h"
#include "checks/rollup.h"

namespace platops::checks {

namespace json = boost::json;
using probe::Outcome;

namespace {

constexpr const char* kCheckColumns = "id, doc, ping_token, version, created_at, updated_at";
constexpr const char* kWindowColumns = "name, doc, created_by, version, created_at, updated_at";

int64_t Ms(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp FromMs(int64_t ms) { return Timestamp(std::chrono::milliseconds(ms)); }

Result<CheckDef> CheckFromRow(const store::Row& r) {
  auto doc = ParseJson(r.Text(1));
  if (!doc.ok()) return Internal("stored check " + r.Text(0) + ": " + doc.status().message());
  auto def = CheckFromJson(*doc);
  if (!def.ok())
    return Unprocessable("stored check " + r.Text(0) + " is no longer valid: " +
                         def.status().ToString());
  CheckDef d = std::move(def.value());
  if (d.type == CheckType::kHeartbeat) d.heartbeat.token = r.Text(2);
  d.version = r.Int(3);
  d.created_at = ParseStoredTimestamp(r.Text(4));
  d.updated_at = ParseStoredTimestamp(r.Text(5));
  return d;
}

Result<MaintenanceWindow> WindowFromRow(const store::Row& r) {
  auto doc = ParseJson(r.Text(1));
  if (!doc.ok()) return Internal("stored window " + r.Text(0) + ": " + doc.status().message());
  auto w = WindowFromJson(*doc);
  if (!w.ok()) return Internal("stored window " + r.Text(0) + ": " + w.status().ToString());
  MaintenanceWindow out = std::move(w.value());
  out.created_by = r.Text(2);
  out.version = r.Int(3);
  out.created_at = ParseStoredTimestamp(r.Text(4));
  out.updated_at = ParseStoredTimestamp(r.Text(5));
  return out;
}

json::object DocObject(const std::string& doc) {
  auto v = ParseJson(doc);
  if (v.ok() && v->is_object()) return v->get_object();
  return {};
}

}  // namespace

ChecksService::ChecksService(store::Store& store, const events::EventLog& log, const Clock& clock,
                             catalog::CatalogService& catalog, probe::ProbeEngine& engine,
                             const MonitorOptions& options, MetricsRegistry* metrics)
    : store_(store),
      log_(log),
      clock_(clock),
      catalog_(catalog),
      monitor_(std::make_unique<Monitor>(store, log, clock, engine, options, metrics)) {}

ChecksService::~ChecksService() { Stop(); }

std::vector<store::Migration> ChecksService::Migrations() {
  std::vector<store::Migration> out = {
      {"checks", 1,
       "CREATE TABLE checks ("
       " id TEXT PRIMARY KEY, service TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,"
       " doc TEXT NOT NULL, ping_token TEXT, version INTEGER NOT NULL,"
       " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
       "CREATE INDEX checks_by_service ON checks (service, id);"
       "CREATE UNIQUE INDEX checks_by_token ON checks (ping_token);"
       "CREATE TABLE maintenance_windows ("
       " name TEXT PRIMARY KEY, doc TEXT NOT NULL, created_by TEXT NOT NULL,"
       " version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"}};
  for (auto& m : Monitor::Migrations()) out.push_back(std::move(m));
  return out;
}

Status ChecksService::Load(events::EventBus& bus) {
  std::vector<CheckDef> defs;
  std::vector<MaintenanceWindow> windows;
  std::map<std::string, std::vector<std::string>> hard_deps;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto rows, tx.Query(std::string("SELECT ") + kCheckColumns + " FROM checks ORDER BY id"));
    for (const auto& r : rows) {
      auto def = CheckFromRow(r);
      if (!def.ok()) {
        // One broken definition (an exec command removed from the host) must not stop the rest.
        spdlog::error("checks: not running {}: {}", r.Text(0), def.status().ToString());
        continue;
      }
      defs.push_back(std::move(def.value()));
    }
    PLATOPS_ASSIGN_OR_RETURN(windows, AllWindows(tx));
    PLATOPS_ASSIGN_OR_RETURN(
        auto deps, tx.Query("SELECT service_slug, depends_on FROM service_dependencies"
                            " WHERE kind = 'hard' ORDER BY service_slug, depends_on"));
    for (const auto& r : deps) hard_deps[r.Text(0)].push_back(r.Text(1));
    return Status::Ok();
  }));
  PLATOPS_RETURN_IF_ERROR(monitor_->Load(defs, windows, hard_deps));

  // The catalog's news: dependencies feed suppression; a deleted service takes its checks along.
  bus.Subscribe("checks.catalog", "service.", [this](store::Tx& tx, const events::Event& ev) {
    PLATOPS_ASSIGN_OR_RETURN(auto current, catalog_.FindService(tx, ev.subject_id));
    if (ev.action == "service.deleted" && !current) {
      PLATOPS_ASSIGN_OR_RETURN(
          auto rows, tx.Query("SELECT id FROM checks WHERE service = $1", {ev.subject_id}));
      for (const auto& r : rows) PLATOPS_RETURN_IF_ERROR(DeleteCheck(tx, "system", r.Text(0)));
      tx.AfterCommit([this, slug = ev.subject_id] { monitor_->SetHardDependencies(slug, {}); });
      return Status::Ok();
    }
    // A late event for a service created again since: follow what the catalog says now.
    std::vector<std::string> deps;
    if (current)
      for (const auto& d : current->depends_on)
        if (d.kind == catalog::DependencyKind::kHard) deps.push_back(d.service);
    tx.AfterCommit([this, slug = ev.subject_id, deps = std::move(deps)]() mutable {
      monitor_->SetHardDependencies(slug, std::move(deps));
    });
    return Status::Ok();
  });
  return Status::Ok();
}

void ChecksService::Start() { monitor_->Start(); }
void ChecksService::Stop() { monitor_->Stop(); }

// ---- checks ------------------------------------------------------------------------------------

Result<std::optional<CheckDef>> ChecksService::FindCheck(store::Tx& tx,
                                                         const std::string& id) const {
  PLATOPS_ASSIGN_OR_RETURN(
      auto row, tx.QueryOne(std::string("SELECT ") + kCheckColumns + " FROM checks WHERE id = $1",
                            {id}));
  if (!row) return std::optional<CheckDef>();
  PLATOPS_ASSIGN_OR_RETURN(CheckDef d, CheckFromRow(*row));
  return std::optional<CheckDef>(std::move(d));
}

Result<std::map<std::string, std::string>> ChecksService::AllCheckDocs(store::Tx& tx) const {
  PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT id, doc FROM checks ORDER BY id"));
  std::map<std::string, std::string> out;
  for (const auto& r : rows) out.emplace(r.Text(0), r.Text(1));
  return out;
}

Result<std::optional<ChecksService::StoredCheck>> ChecksService::FindStoredCheck(
    store::Tx& tx, const std::string& id) const {
  PLATOPS_ASSIGN_OR_RETURN(
      auto row, tx.QueryOne(std::string("SELECT ") + kCheckColumns + " FROM checks WHERE id = $1",
                            {id}));
  if (!row) return std::optional<StoredCheck>();
  StoredCheck c;
  c.doc = row->Text(1);
  c.ping_token = row->Text(2);
  c.version = row->Int(3);
  c.created_at = ParseStoredTimestamp(row->Text(4));
  c.updated_at = ParseStoredTimestamp(row->Text(5));
  return std::optional<StoredCheck>(std::move(c));
}

Result<std::vector<CheckDef>> ChecksService::AllChecks(store::Tx& tx) const {
  PLATOPS_ASSIGN_OR_RETURN(
      auto rows, tx.Query(std::string("SELECT ") + kCheckColumns + " FROM checks ORDER BY id"));
  std::vector<CheckDef> out;
  for (const auto& r : rows) {
    PLATOPS_ASSIGN_OR_RETURN(CheckDef d, CheckFromRow(r));
    out.push_back(std::move(d));
  }
  return out;
}

Result<CheckDef> ChecksService::PutCheckTx(store::Tx& tx, const std::string& actor, CheckDef def,
                                           std::optional<int64_t> expected_version,
                                           bool create) {
  PLATOPS_ASSIGN_OR_RETURN(auto svc, catalog_.FindService(tx, def.service));
  if (!svc)
    return Unprocessable("service \"" + Abbreviate(def.service) + "\" does not exist", "service");
  const std::string id = def.id();
  PLATOPS_ASSIGN_OR_RETURN(auto existing, FindStoredCheck(tx, id));
  const Timestamp now = clock_.Now();
  json::object payload;
  std::string action;
  // The ping token: the document's, else the existing one, else a new one.
  std::string token;
  if (def.type == CheckType::kHeartbeat) {
    token = def.heartbeat.token;
    if (token.empty() && existing) token = existing->ping_token;
    if (token.empty()) token = RandomHex(16);
    def.heartbeat.token = token;
    PLATOPS_ASSIGN_OR_RETURN(
        auto clash, tx.QueryOne("SELECT id FROM checks WHERE ping_token = $1 AND id <> $2",
                                {token, id}));
    if (clash) return Conflict("another check already uses this ping token", "heartbeat.token");
  }
  const store::Value token_value = token.empty() ? store::Value() : store::Value(token);
  if (create) {
    if (existing) return Conflict("check \"" + id + "\" already exists", "name");
    def.version = 1;
    def.created_at = def.updated_at = now;
    action = "check.created";
    payload["after"] = DocObject(def.doc);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO checks (id, service, name, type, doc, ping_token, version,"
                " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                {id, def.service, def.name, std::string(CheckTypeName(def.type)), def.doc,
                 token_value, def.version, FormatRfc3339(now), FormatRfc3339(now)})
            .status());
  } else {
    if (!existing) return NotFound("check \"" + Abbreviate(id) + "\" not found");
    if (expected_version && *expected_version != existing->version)
      return StaleVersion(*expected_version, existing->version);
    auto changes = JsonChanges(DocObject(existing->doc), DocObject(def.doc));
    def.created_at = existing->created_at;
    if (changes.empty() && token == existing->ping_token) {
      def.version = existing->version;
      def.updated_at = existing->updated_at;
      return def;
    }
    def.version = existing->version + 1;
    def.updated_at = now;
    action = "check.updated";
    payload["changes"] = std::move(changes);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("UPDATE checks SET type = $2, doc = $3, ping_token = $4, version = $5,"
                " updated_at = $6 WHERE id = $1",
                {id, std::string(CheckTypeName(def.type)), def.doc, token_value, def.version,
                 FormatRfc3339(now)})
            .status());
  }
  PLATOPS_RETURN_IF_ERROR(
      log_.Append(tx, {actor, action, "check", id, JsonToString(payload)}).status());
  tx.AfterCommit([this, def] { monitor_->Upsert(def); });
  return def;
}

Status ChecksService::PutCheck(store::Tx& tx, const std::string& actor, CheckDef def,
                               bool create) {
  return PutCheckTx(tx, actor, std::move(def), std::nullopt, create).status();
}

Status ChecksService::DeleteCheck(store::Tx& tx, const std::string& actor, const std::string& id) {
  PLATOPS_ASSIGN_OR_RETURN(
      auto row, tx.QueryOne("SELECT doc FROM checks WHERE id = $1", {id}));
  if (!row) return NotFound("check \"" + Abbreviate(id) + "\" not found");
  for (const char* table : {"check_state", "check_results", "check_history", "check_rollups"})
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec(std::string("DELETE FROM ") + table + " WHERE check_id = $1", {id}).status());
  PLATOPS_RETURN_IF_ERROR(tx.Exec("DELETE FROM checks WHERE id = $1", {id}).status());
  json::object payload;
  payload["before"] = DocObject(row->Text(0));
  PLATOPS_RETURN_IF_ERROR(
      log_.Append(tx, {actor, "check.deleted", "check", id, JsonToString(payload)}).status());
  tx.AfterCommit([this, id] { monitor_->Remove(id); });
  return Status::Ok();
}

Result<CheckDef> ChecksService::CreateCheck(const std::string& actor, CheckDef def) {
  std::optional<CheckDef> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, PutCheckTx(tx, actor, std::move(def), std::nullopt, true));
    return Status::Ok();
  }));
  return std::move(*out);
}

Result<CheckDef> ChecksService::UpdateCheck(const std::string& actor, CheckDef def,
                                            int64_t expected_version) {
  std::optional<CheckDef> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, PutCheckTx(tx, actor, std::move(def), expected_version, false));
    return Status::Ok();
  }));
  return std::move(*out);
}

Status ChecksService::DeleteCheck(const std::string& actor, const std::string& id) {
  return store_.Write([&](store::Tx& tx) { return DeleteCheck(tx, actor, id); });
}

Result<CheckDef> ChecksService::GetCheck(const std::string& id) const {
  std::optional<CheckDef> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, FindCheck(tx, id));
    return Status::Ok();
  }));
  if (!out) return NotFound("check \"" + Abbreviate(id) + "\" not found");
  return std::move(*out);
}

Result<Page<CheckDef>> ChecksService::ListChecks(const std::string& cursor, int limit,
                                                 const std::string& service) const {
  Page<CheckDef> page;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    std::vector<store::Row> rows;
    if (service.empty()) {
      PLATOPS_ASSIGN_OR_RETURN(
          rows, tx.Query(std::string("SELECT ") + kCheckColumns +
                             " FROM checks WHERE id > $1 ORDER BY id LIMIT $2",
                         {cursor, static_cast<int64_t>(limit) + 1}));
    } else {
      PLATOPS_ASSIGN_OR_RETURN(
          rows, tx.Query(std::string("SELECT ") + kCheckColumns +
                             " FROM checks WHERE service = $3 AND id > $1 ORDER BY id LIMIT $2",
                         {cursor, static_cast<int64_t>(limit) + 1, service}));
    }
    for (const auto& r : rows) {
      if (static_cast<int>(page.items.size()) == limit) {
        page.next_cursor = page.items.back().id();
        break;
      }
      auto d = CheckFromRow(r);
      if (!d.ok()) {
        // Listed checks must not hide the rest; GET of this one names the problem.
        spdlog::warn("checks: {}", d.status().ToString());
        continue;
      }
      page.items.push_back(std::move(d.value()));
    }
    return Status::Ok();
  }));
  return page;
}

// ---- maintenance windows -----------------------------------------------------------------------

Result<std::optional<MaintenanceWindow>> ChecksService::FindWindow(store::Tx& tx,
                                                                   const std::string& name) const {
  PLATOPS_ASSIGN_OR_RETURN(
      auto row,
      tx.QueryOne(std::string("SELECT ") + kWindowColumns + " FROM maintenance_windows"
                                                            " WHERE name = $1",
                  {name}));
  if (!row) return std::optional<MaintenanceWindow>();
  PLATOPS_ASSIGN_OR_RETURN(MaintenanceWindow w, WindowFromRow(*row));
  return std::optional<MaintenanceWindow>(std::move(w));
}

Result<std::vector<MaintenanceWindow>> ChecksService::AllWindows(store::Tx& tx) const {
  PLATOPS_ASSIGN_OR_RETURN(auto rows, tx.Query(std::string("SELECT ") + kWindowColumns +
                                               " FROM maintenance_windows ORDER BY name"));
  std::vector<MaintenanceWindow> out;
  for (const auto& r : rows) {
    PLATOPS_ASSIGN_OR_RETURN(MaintenanceWindow w, WindowFromRow(r));
    out.push_back(std::move(w));
  }
  return out;
}

Result<MaintenanceWindow> ChecksService::PutWindowTx(store::Tx& tx, const std::string& actor,
                                                     MaintenanceWindow w,
                                                     std::optional<int64_t> expected_version,
                                                     bool create) {
  for (size_t i = 0; i < w.services.size(); ++i) {
    PLATOPS_ASSIGN_OR_RETURN(auto svc, catalog_.FindService(tx, w.services[i]));
    if (!svc)
      return Unprocessable("service \"" + Abbreviate(w.services[i]) + "\" does not exist",
                           "services[" + std::to_string(i) + "]");
  }
  PLATOPS_ASSIGN_OR_RETURN(auto existing, FindWindow(tx, w.name));
  const Timestamp now = clock_.Now();
  json::object payload;
  std::string action;
  if (create) {
    if (existing) return Conflict("maintenance window \"" + w.name + "\" already exists", "name");
    w.version = 1;
    w.created_by = actor;
    w.created_at = w.updated_at = now;
    action = "maintenance_window.created";
    payload["after"] = DocObject(w.doc);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO maintenance_windows (name, doc, created_by, version, created_at,"
                " updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                {w.name, w.doc, w.created_by, w.version, FormatRfc3339(now), FormatRfc3339(now)})
            .status());
  } else {
    if (!existing)
      return NotFound("maintenance window \"" + Abbreviate(w.name) + "\" not found");
    if (expected_version && *expected_version != existing->version)
      return StaleVersion(*expected_version, existing->version);
    w.created_by = existing->created_by;
    w.created_at = existing->created_at;
    auto changes = JsonChanges(DocObject(existing->doc), DocObject(w.doc));
    if (changes.empty()) return *existing;
    w.version = existing->version + 1;
    w.updated_at = now;
    action = "maintenance_window.updated";
    payload["changes"] = std::move(changes);
    PLATOPS_RETURN_IF_ERROR(
        tx.Exec("UPDATE maintenance_windows SET doc = $2, version = $3, updated_at = $4"
                " WHERE name = $1",
                {w.name, w.doc, w.version, FormatRfc3339(now)})
            .status());
  }
  PLATOPS_RETURN_IF_ERROR(log_.Append(tx, {actor, action, "maintenance_window", w.name,
                                           JsonToString(payload)})
                              .status());
  tx.AfterCommit([this, w] { monitor_->UpsertWindow(w); });
  return w;
}

Status ChecksService::PutWindow(store::Tx& tx, const std::string& actor, MaintenanceWindow w,
                                bool create) {
  return PutWindowTx(tx, actor, std::move(w), std::nullopt, create).status();
}

Status ChecksService::DeleteWindow(store::Tx& tx, const std::string& actor,
                                   const std::string& name) {
  PLATOPS_ASSIGN_OR_RETURN(auto existing, FindWindow(tx, name));
  if (!existing) return NotFound("maintenance window \"" + Abbreviate(name) + "\" not found");
  PLATOPS_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM maintenance_windows WHERE name = $1", {name}).status());
  json::object payload;
  payload["before"] = DocObject(existing->doc);
  PLATOPS_RETURN_IF_ERROR(log_.Append(tx, {actor, "maintenance_window.deleted",
                                           "maintenance_window", name, JsonToString(payload)})
                              .status());
  tx.AfterCommit([this, name] { monitor_->RemoveWindow(name); });
  return Status::Ok();
}

Result<MaintenanceWindow> ChecksService::CreateWindow(const std::string& actor,
                                                      MaintenanceWindow w) {
  std::optional<MaintenanceWindow> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, PutWindowTx(tx, actor, std::move(w), std::nullopt, true));
    return Status::Ok();
  }));
  return std::move(*out);
}

Result<MaintenanceWindow> ChecksService::UpdateWindow(const std::string& actor,
                                                      MaintenanceWindow w,
                                                      int64_t expected_version) {
  std::optional<MaintenanceWindow> out;
  PLATOPS_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, PutWindowTx(tx, actor, std::move(w), expected_version, false));
    return Status::Ok();
  }));
  return std::move(*out);
}

Status ChecksService::DeleteWindow(const std::string& actor, const std::string& name) {
  return store_.Write([&](store::Tx& tx) { return DeleteWindow(tx, actor, name); });
}

Result<MaintenanceWindow> ChecksService::GetWindow(const std::string& name) const {
  std::optional<MaintenanceWindow> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(out, FindWindow(tx, name));
    return Status::Ok();
  }));
  if (!out) return NotFound("maintenance window \"" + Abbreviate(name) + "\" not found");
  return std::move(*out);
}

Result<Page<MaintenanceWindow>> ChecksService::ListWindows(const std::string& cursor,
                                                           int limit) const {
  Page<MaintenanceWindow> page;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(
        auto rows, tx.Query(std::string("SELECT ") + kWindowColumns +
                                " FROM maintenance_windows WHERE name > $1 ORDER BY name LIMIT $2",
                            {cursor, static_cast<int64_t>(limit) + 1}));
    for (const auto& r : rows) {
      PLATOPS_ASSIGN_OR_RETURN(MaintenanceWindow w, WindowFromRow(r));
      page.items.push_back(std::move(w));
    }
    return Status::Ok();
  }));
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next_cursor = page.items.back().name;
  }
  return page;
}

// ---- reads -------------------------------------------------------------------------------------

Result<std::vector<StoredResult>> ChecksService::Results(const std::string& id, Timestamp from,
                                                         Timestamp to, int limit) const {
  std::vector<StoredResult> out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto exists, tx.QueryOne("SELECT 1 FROM checks WHERE id = $1", {id}));
    if (!exists) return NotFound("check \"" + Abbreviate(id) + "\" not found");
    PLATOPS_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("SELECT at, outcome, duration_us, message, in_maintenance, details"
                 " FROM check_results WHERE check_id = $1 AND at >= $2 AND at < $3"
                 " ORDER BY at DESC LIMIT $4",
                 {id, Ms(from), Ms(to), static_cast<int64_t>(limit)}));
    for (const auto& r : rows) {
      StoredResult s;
      s.at = FromMs(r.Int(0));
      s.outcome = static_cast<Outcome>(std::clamp<int64_t>(r.Int(1), 0, 3));
      s.duration = std::chrono::microseconds(r.Int(2));
      s.message = r.Text(3);
      s.in_maintenance = r.Int(4) != 0;
      s.details = r.Text(5);
      out.push_back(std::move(s));
    }
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<Interval>> ChecksService::MaintenanceFor(store::Tx& tx, const CheckDef& def,
                                                            Timestamp from, Timestamp to) const {
  PLATOPS_ASSIGN_OR_RETURN(auto windows, AllWindows(tx));
  std::vector<Interval> out;
  for (const auto& w : windows) {
    if (!Covers(w, def)) continue;
    auto schedule = MaintenanceSchedule::Compile(w.timing);
    if (!schedule.ok()) continue;
    for (const auto& i : schedule->Intervals(from, to)) out.push_back(i);
  }
  return UnionIntervals(std::move(out));
}

namespace {

Result<std::vector<StateChange>> HistoryOf(store::Tx& tx, const std::string& id, Timestamp to) {
  PLATOPS_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT at, hard_state, message FROM check_history"
                                    " WHERE check_id = $1 AND at < $2 ORDER BY at",
                                    {id, Ms(to)}));
  std::vector<StateChange> out;
  for (const auto& r : rows)
    out.push_back({FromMs(r.Int(0)), static_cast<Outcome>(std::clamp<int64_t>(r.Int(1), 0, 3)),
                   r.Text(2)});
  return out;
}

}  // namespace

Result<ResponseTimes> ChecksService::ResponseTimesFor(store::Tx& tx,
                                                      const std::vector<std::string>& ids,
                                                      Timestamp from, Timestamp to) const {
  // Hours that overlap [from, to): rollups have hourly resolution.
  const int64_t hour_ms = 3600 * 1000;
  const int64_t first_hour = Ms(from) / hour_ms * hour_ms;
  HourRollup total;
  std::string buckets;
  for (size_t i = 0; i <= kResponseBucketsMs.size(); ++i) buckets += ", b" + std::to_string(i);
  for (const auto& id : ids) {
    PLATOPS_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT rt_count, rt_sum, rt_min, rt_max" + buckets +
                                " FROM check_rollups WHERE check_id = $1 AND hour >= $2"
                                " AND hour < $3",
                            {id, first_hour, Ms(to)}));
    for (const auto& r : rows) {
      HourRollup h;
      h.rt_count = r.Int(0);
      h.rt_sum_ms = r.Double(1);
      h.rt_min_ms = r.Double(2);
      h.rt_max_ms = r.Double(3);
      for (size_t i = 0; i < h.rt_buckets.size(); ++i) h.rt_buckets[i] = r.Int(4 + i);
      MergeInto(total, h);
    }
  }
  ResponseTimes rt;
  rt.count = total.rt_count;
  if (total.rt_count > 0) {
    rt.mean_ms = MeanMs(total);
    rt.p95_ms = QuantileMs(total, 0.95);
    rt.min_ms = total.rt_min_ms;
    rt.max_ms = total.rt_max_ms;
  }
  return rt;
}

Result<AvailabilitySummary> ChecksService::CheckAvailability(const std::string& id,
                                                             Timestamp from,
                                                             Timestamp to) const {
  if (!(from < to)) return InvalidArgument("must be before `to`", "from");
  AvailabilitySummary out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto def, FindCheck(tx, id));
    if (!def) return NotFound("check \"" + Abbreviate(id) + "\" not found");
    PLATOPS_ASSIGN_OR_RETURN(auto history, HistoryOf(tx, id, to));
    PLATOPS_ASSIGN_OR_RETURN(auto maintenance, MaintenanceFor(tx, *def, from, to));
    out.report = Availability(history, maintenance, from, to, clock_.Now());
    PLATOPS_ASSIGN_OR_RETURN(out.response, ResponseTimesFor(tx, {id}, from, to));
    return Status::Ok();
  }));
  return out;
}

Result<AvailabilitySummary> ChecksService::ServiceAvailability(const std::string& slug,
                                                               Timestamp from,
                                                               Timestamp to) const {
  if (!(from < to)) return InvalidArgument("must be before `to`", "from");
  AvailabilitySummary out;
  PLATOPS_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    PLATOPS_ASSIGN_OR_RETURN(auto svc, catalog_.FindService(tx, slug));
    if (!svc) return NotFound("service \"" + Abbreviate(slug) + "\" not found");
    PLATOPS_ASSIGN_OR_RETURN(
        auto rows, tx.Query(std::string("SELECT ") + kCheckColumns +
                                " FROM checks WHERE service = $1 ORDER BY id",
                            {slug}));
    std::vector<std::pair<std::string, std::vector<StateChange>>> histories;
    std::vector<std::string> ids;
    std::vector<Interval> maintenance;
    bool first = true;
    for (const auto& r : rows) {
      auto def = CheckFromRow(r);
      if (!def.ok() || def->severity != Severity::kCritical) continue;
      PLATOPS_ASSIGN_OR_RETURN(auto history, HistoryOf(tx, def->id(), to));
      histories.emplace_back(def->id(), std::move(history));
      ids.push_back(def->id());
      // Service-wide maintenance: the time every critical check is covered.
      PLATOPS_ASSIGN_OR_RETURN(auto m, MaintenanceFor(tx, *def, from, to));
      if (first) {
        maintenance = std::move(m);
        first = false;
      } else {
        std::vector<Interval> both;
        size_t i = 0, j = 0;
        while (i < maintenance.size() && j < m.size()) {
          Timestamp s = std::max(maintenance[i].start, m[j].start);
          Timestamp e = std::min(maintenance[i].end, m[j].end);
          if (s < e) both.push_back({s, e});
          if (maintenance[i].end < m[j].end)
            ++i;
          else
            ++j;
        }
        maintenance = std::move(both);
      }
    }
    out.report = checks::ServiceAvailability(histories, maintenance, from, to, clock_.Now());
    PLATOPS_ASSIGN_OR_RETURN(out.response, ResponseTimesFor(tx, ids, from, to));
    return Status::Ok();
  }));
  return out;
}

Status ChecksService::Ping(const std::string& token, PingKind kind, std::optional<int> exit_code) {
  return monitor_->Ping(token, kind, exit_code);
}

}  // namespace platops::checks
