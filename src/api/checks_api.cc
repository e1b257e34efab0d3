// Routes of the checks module: checks and maintenance windows (CRUD), a check's results, check and
// service availability (JSON or CSV), and the unauthenticated heartbeat pings under /ping/.

#include <boost/json.hpp>

#include <charconv>
#include <chrono>
#include <optional>
#include <utility>

#include "api/crud.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "checks/availability.h"
#include "checks/codec.h"

namespace platops::api {

namespace json = boost::json;
using identity::Role;

namespace {

constexpr std::chrono::hours kDefaultResultsSpan{1};
constexpr std::chrono::hours kDefaultAvailabilitySpan{24 * 30};

// A check body may name its identity by `id` alone (PUT fills it in from the path): a missing
// service or name is taken from it, and one that disagrees with it is refused.
Result<checks::CheckDef> DecodeCheck(const json::value& body) {
  json::value v = body;
  std::optional<std::string> id;
  if (v.is_object()) {
    json::object& o = v.get_object();
    if (auto it = o.find("id"); it != o.end() && it->value().is_string()) {
      id = std::string(it->value().get_string());
      if (auto parts = checks::SplitCheckId(*id)) {
        if (!o.contains("service")) o["service"] = parts->first;
        if (!o.contains("name")) o["name"] = parts->second;
      }
    }
  }
  PLATOPS_ASSIGN_OR_RETURN(checks::CheckDef def, checks::CheckFromJson(v));
  if (id && *id != def.id())
    return InvalidArgument("is \"" + Abbreviate(*id) + "\" but service and name make \"" +
                               Abbreviate(def.id()) + "\"; a check's id cannot be changed",
                           "id");
  return def;
}

// The [from, to) of a read: RFC 3339 ?from= and ?to=; `to` defaults to now and `from` to `span`
// before `to`.
Result<std::pair<Timestamp, Timestamp>> TimeRangeParams(const http::Request& req, Timestamp now,
                                                        std::chrono::milliseconds span) {
  auto parse = [&req](const char* name) -> Result<std::optional<Timestamp>> {
    auto v = req.Query(name);
    if (!v) return std::optional<Timestamp>();
    auto t = ParseRfc3339(*v);
    if (!t.ok())
      return InvalidArgument(
          "must be an RFC 3339 time like 2026-01-31T00:00:00Z, got \"" + Abbreviate(*v) + "\"",
          name);
    return std::optional<Timestamp>(*t);
  };
  PLATOPS_ASSIGN_OR_RETURN(auto from, parse("from"));
  PLATOPS_ASSIGN_OR_RETURN(auto to, parse("to"));
  const Timestamp end = to.value_or(now);
  const Timestamp start = from.value_or(end - span);
  if (!(start < end))
    return InvalidArgument(
        "must be before to (" + FormatRfc3339(end) + "), got " + FormatRfc3339(start), "from");
  return std::make_pair(start, end);
}

// ?format=json (default) or csv.
Result<bool> CsvFormatParam(const http::Request& req) {
  auto v = req.Query("format");
  if (!v || *v == "json") return false;
  if (*v == "csv") return true;
  return InvalidArgument("must be json or csv, got \"" + Abbreviate(*v) + "\"", "format");
}

http::Response AvailabilityReply(const std::string& subject,
                                 const Result<checks::AvailabilitySummary>& summary, bool csv) {
  if (!summary.ok()) return http::Response::Error(summary.status());
  if (!csv) return JsonReply(checks::AvailabilityToJson(subject, *summary));
  http::Response r = http::Response::Text(200, checks::AvailabilityCsv(subject, summary->report),
                                          "text/csv; charset=utf-8");
  // Subjects are slugs and "<slug>.<slug>" ids, so the name needs no escaping.
  r.headers.Set("Content-Disposition", "attachment; filename=\"" + subject + "-availability.csv\"");
  return r;
}

void RegisterCheckRoutes(http::Router& router, ApiDeps& deps, checks::ChecksService& svc) {
  CrudOps<checks::CheckDef> ops;
  ops.collection = "/api/v1/checks";
  ops.key_field = "id";
  ops.write_role = Role::kOperator;
  ops.decode = DecodeCheck;
  ops.encode = [&svc](const checks::CheckDef& def) {
    // The live state comes from the monitor; a check it does not run (yet) has none.
    std::optional<checks::CheckStatus> status = svc.monitor().StatusOf(def.id());
    return checks::CheckToJson(def, status ? &*status : nullptr);
  };
  ops.key = [](const checks::CheckDef& def) { return def.id(); };
  ops.list = [&svc](const std::string& cursor, int limit) { return svc.ListChecks(cursor, limit); };
  ops.list_request = [&svc](const http::Request& req, const std::string& cursor, int limit) {
    return svc.ListChecks(cursor, limit, req.Query("service").value_or(""));
  };
  ops.get = [&svc](const std::string& id) { return svc.GetCheck(id); };
  ops.create = [&svc](const std::string& actor, checks::CheckDef def) {
    return svc.CreateCheck(actor, std::move(def));
  };
  ops.update = [&svc](const std::string& actor, checks::CheckDef def, int64_t version) {
    return svc.UpdateCheck(actor, std::move(def), version);
  };
  ops.remove = [&svc](const std::string& actor, const std::string& id, const http::Request&) {
    return svc.DeleteCheck(actor, id);
  };
  RegisterCrud(router, deps, std::move(ops));

  router.Add(http::Method::kGet, "/api/v1/checks/{id}/results",
             Protect(deps, Role::kViewer, [&svc, &deps](http::Request& req, const auto&) {
               auto limit = LimitParam(req);
               if (!limit.ok()) return http::Response::Error(limit.status());
               auto range = TimeRangeParams(req, deps.clock.Now(), kDefaultResultsSpan);
               if (!range.ok()) return http::Response::Error(range.status());
               const std::string id = req.PathParam("id");
               auto results = svc.Results(id, range->first, range->second, *limit);
               if (!results.ok()) return http::Response::Error(results.status());
               json::array items;
               for (const auto& r : *results) items.push_back(checks::StoredResultToJson(r));
               json::object o;
               o["check"] = id;
               o["items"] = std::move(items);
               return JsonReply(o);
             }));

  router.Add(http::Method::kGet, "/api/v1/checks/{id}/availability",
             Protect(deps, Role::kViewer, [&svc, &deps](http::Request& req, const auto&) {
               auto csv = CsvFormatParam(req);
               if (!csv.ok()) return http::Response::Error(csv.status());
               auto range = TimeRangeParams(req, deps.clock.Now(), kDefaultAvailabilitySpan);
               if (!range.ok()) return http::Response::Error(range.status());
               const std::string id = req.PathParam("id");
               return AvailabilityReply(id, svc.CheckAvailability(id, range->first, range->second),
                                        *csv);
             }));

  router.Add(http::Method::kGet, "/api/v1/services/{slug}/availability",
             Protect(deps, Role::kViewer, [&svc, &deps](http::Request& req, const auto&) {
               auto csv = CsvFormatParam(req);
               if (!csv.ok()) return http::Response::Error(csv.status());
               auto range = TimeRangeParams(req, deps.clock.Now(), kDefaultAvailabilitySpan);
               if (!range.ok()) return http::Response::Error(range.status());
               const std::string slug = req.PathParam("slug");
               return AvailabilityReply(
                   slug, svc.ServiceAvailability(slug, range->first, range->second), *csv);
             }));
}

void RegisterWindowRoutes(http::Router& router, ApiDeps& deps, checks::ChecksService& svc) {
  CrudOps<checks::MaintenanceWindow> ops;
  ops.collection = "/api/v1/maintenance-windows";
  ops.key_field = "name";
  ops.write_role = Role::kOperator;
  ops.decode = [](const json::value& v) { return checks::WindowFromJson(v); };
  ops.encode = checks::WindowToJson;
  ops.key = [](const checks::MaintenanceWindow& w) { return w.name; };
  ops.list = [&svc](const std::string& cursor, int limit) {
    return svc.ListWindows(cursor, limit);
  };
  ops.get = [&svc](const std::string& name) { return svc.GetWindow(name); };
  ops.create = [&svc](const std::string& actor, checks::MaintenanceWindow w) {
    return svc.CreateWindow(actor, std::move(w));
  };
  ops.update = [&svc](const std::string& actor, checks::MaintenanceWindow w, int64_t version) {
    return svc.UpdateWindow(actor, std::move(w), version);
  };
  ops.remove = [&svc](const std::string& actor, const std::string& name, const http::Request&) {
    return svc.DeleteWindow(actor, name);
  };
  RegisterCrud(router, deps, std::move(ops));
}

// The answers of /ping/: plain text for cron jobs and shell scripts.
http::Response PingReply(const Status& st) {
  if (st.ok()) return http::Response::Text(200, "OK\n");
  if (st.code() == StatusCode::kNotFound) return http::Response::Text(404, "not found\n");
  return http::Response::Error(st);
}

// An exit code 0..255; nullopt for anything else.
std::optional<int> ParseExitCode(std::string_view s) {
  int code = -1;
  if (s.empty() || s.size() > 3) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), code);
  if (ec != std::errc() || end != s.data() + s.size() || code < 0 || code > 255)
    return std::nullopt;
  return code;
}

// Heartbeats: the token in the path is the credential, so these routes take no Authorization.
// HEAD reaches the GET routes through the router's fallback and counts as a ping too.
void RegisterPingRoutes(http::Router& router, checks::ChecksService& svc) {
  struct Sub {
    const char* suffix;
    checks::PingKind kind;
  };
  for (const Sub& sub :
       {Sub{"", checks::PingKind::kSuccess}, Sub{"/start", checks::PingKind::kStart},
        Sub{"/fail", checks::PingKind::kFail}}) {
    for (http::Method m : {http::Method::kGet, http::Method::kPost}) {
      router.Add(m, std::string("/ping/{token}") + sub.suffix,
                 [&svc, kind = sub.kind](http::Request& req) {
                   return PingReply(svc.Ping(req.PathParam("token"), kind, std::nullopt));
                 },
                 /*run_inline=*/false, /*secret_params=*/true);
    }
  }
  for (http::Method m : {http::Method::kGet, http::Method::kPost}) {
    router.Add(m, "/ping/{token}/{exit_code}", [&svc](http::Request& req) {
      std::optional<int> code = ParseExitCode(req.PathParam("exit_code"));
      // Not an exit code: the path is unknown. The message leaves the token out.
      if (!code)
        return http::Response::Error(NotFound(
            "no route for this /ping/ path: use /ping/<token>, /start, /fail or /<exit code "
            "0..255>"));
      return PingReply(svc.Ping(req.PathParam("token"), checks::PingKind::kExitCode, code));
    }, /*run_inline=*/false, /*secret_params=*/true);
  }
}

}  // namespace

void RegisterChecksApi(http::Router& router, ApiDeps& deps) {
  if (deps.checks == nullptr) return;
  checks::ChecksService& svc = *deps.checks;
  RegisterCheckRoutes(router, deps, svc);
  RegisterWindowRoutes(router, deps, svc);
  RegisterPingRoutes(router, svc);
}

}  // namespace platops::api
