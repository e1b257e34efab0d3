// Routes of the scrape module: ScrapeTarget documents (CRUD under /api/v1/scrape-targets) and
// Prometheus's target list, GET /prometheus/api/v1/targets.

#include <boost/json.hpp>

#include <string>

#include "api/crud.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "ingest/prom_config.h"
#include "scrape/codec.h"
#include "scrape/scrape.h"

namespace platops::api {

namespace json = boost::json;
using identity::Role;

namespace {

json::object LabelsJson(const metrics::Labels& labels) {
  json::object o;
  for (const auto& l : labels) o[l.name] = l.value;
  return o;
}

// Go's zero time, which Prometheus shows for a target not scraped yet.
constexpr const char* kNeverScraped = "0001-01-01T00:00:00Z";

json::object ActiveTargetJson(const scrape::TargetStatus& t) {
  json::object o;
  o["discoveredLabels"] = LabelsJson(t.discovered_labels);
  o["labels"] = LabelsJson(t.labels);
  o["scrapePool"] = t.job;
  o["scrapeUrl"] = t.url;
  o["globalUrl"] = t.url;
  o["lastError"] = t.last_error;
  o["lastScrape"] = t.last_scrape ? FormatRfc3339(*t.last_scrape) : std::string(kNeverScraped);
  o["lastScrapeDuration"] = t.last_duration_seconds;
  o["health"] = scrape::HealthName(t.health);
  o["scrapeInterval"] = ingest::FormatPromDuration(t.interval);
  o["scrapeTimeout"] = ingest::FormatPromDuration(t.timeout);
  return o;
}

// Prometheus's GET /api/v1/targets: ?state=active|dropped|any (default any; other values list
// nothing, as Prometheus does) and ?scrapePool=<job>.
http::Response TargetsReply(const scrape::ScrapeManager& svc, const http::Request& req) {
  std::string state = req.Query("state").value_or("");
  for (char& c : state)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  const bool active = state.empty() || state == "any" || state == "active";
  const bool dropped = state.empty() || state == "any" || state == "dropped";
  const std::optional<std::string> pool = req.Query("scrapePool");
  const scrape::TargetsSnapshot snap = svc.Targets();
  json::array active_json;
  json::array dropped_json;
  json::object counts;
  if (active) {
    for (const auto& t : snap.active)
      if (!pool || t.job == *pool) active_json.push_back(ActiveTargetJson(t));
  }
  if (dropped) {
    for (const auto& d : snap.dropped) {
      if (pool && d.job != *pool) continue;
      json::object o;
      o["discoveredLabels"] = LabelsJson(d.discovered_labels);
      o["scrapePool"] = d.job;
      dropped_json.push_back(std::move(o));
    }
    for (const auto& [job, n] : snap.dropped_counts)
      if (!pool || job == *pool) counts[job] = n;
  }
  json::object data;
  data["activeTargets"] = std::move(active_json);
  data["droppedTargets"] = std::move(dropped_json);
  data["droppedTargetCounts"] = std::move(counts);
  json::object body;
  body["status"] = "success";
  body["data"] = std::move(data);
  return JsonReply(body);
}

}  // namespace

void RegisterScrapeApi(http::Router& router, ApiDeps& deps) {
  if (deps.scrape == nullptr) return;
  scrape::ScrapeManager& svc = *deps.scrape;

  CrudOps<scrape::ScrapeTargetDef> ops;
  ops.collection = "/api/v1/scrape-targets";
  ops.key_field = "job";
  ops.write_role = Role::kOperator;
  ops.decode = [](const json::value& v) { return scrape::ScrapeTargetFromJson(v); };
  ops.encode = [&svc](const scrape::ScrapeTargetDef& def) {
    // The runtime's view; a job it does not run (yet) has none.
    std::optional<scrape::JobStatus> status = svc.StatusOf(def.job);
    return scrape::ScrapeTargetToJson(def, status ? &*status : nullptr);
  };
  ops.key = [](const scrape::ScrapeTargetDef& def) { return def.job; };
  ops.list = [&svc](const std::string& cursor, int limit) {
    return svc.ListTargets(cursor, limit);
  };
  ops.list_request = [&svc](const http::Request& req, const std::string& cursor, int limit) {
    return svc.ListTargets(cursor, limit, req.Query("service").value_or(""));
  };
  ops.get = [&svc](const std::string& job) { return svc.GetTarget(job); };
  ops.create = [&svc](const std::string& actor, scrape::ScrapeTargetDef def) {
    return svc.CreateTarget(actor, std::move(def));
  };
  ops.update = [&svc](const std::string& actor, scrape::ScrapeTargetDef def, int64_t version) {
    return svc.UpdateTarget(actor, std::move(def), version);
  };
  ops.remove = [&svc](const std::string& actor, const std::string& job, const http::Request&) {
    return svc.DeleteTarget(actor, job);
  };
  RegisterCrud(router, deps, std::move(ops));

  // Readable like the rest of the query API: anonymously when metrics.anonymous_read is on.
  if (deps.anonymous_query) {
    router.Add(http::Method::kGet, "/prometheus/api/v1/targets",
               [&svc](http::Request& req) { return TargetsReply(svc, req); });
  } else {
    router.Add(http::Method::kGet, "/prometheus/api/v1/targets",
               Protect(deps, Role::kViewer,
                       [&svc](http::Request& req, const auto&) { return TargetsReply(svc, req); }));
  }
}

}  // namespace platops::api
