#pragma once
// The `/api/v1/` REST API and the server's own endpoints (/healthz, /readyz, /metrics). Handlers
// decode and validate requests, call the domain, and encode answers; errors go through
// http::Response::Error. Entry point: RegisterApi. Thread-safety: handlers are thread-safe.

#include <functional>
#include <string>

#include "base/clock.h"
#include "base/metrics_registry.h"
#include "catalog/catalog.h"
#include "checks/checks.h"
#include "config/kind_registry.h"
#include "events/event_log.h"
#include "http/router.h"
#include "identity/identity.h"
#include "metrics/db.h"
#include "promql/engine.h"
#include "store/store.h"

namespace platops::alerting {
class AlertHistory;
class AlertingService;
class IntegrationKeys;
class PagerDutyIntake;
class Outbox;
class RuleManager;
}
namespace platops::scrape {
class ScrapeManager;
}  // namespace platops::scrape

namespace platops::api {

struct ApiDeps {
  store::Store& store;
  const events::EventLog& log;
  identity::IdentityService& identity;
  catalog::CatalogService& catalog;
  const config::KindRegistry& kinds;
  MetricsRegistry& metrics;
  const Clock& clock;
  // /readyz answers 200 while this returns true.
  std::function<bool()> ready;
  std::string version;
  // Checks, maintenance windows, availability and heartbeat pings; routes are not registered
  // when null.
  checks::ChecksService* checks = nullptr;
  // The metrics store and the PromQL engine behind /prometheus/api/v1/ (query API and remote
  // write); routes are not registered when null.
  metrics::Db* tsdb = nullptr;
  promql::Engine* promql = nullptr;
  // Lets unauthenticated clients use the read endpoints of the query API (config
  // metrics.anonymous_read).
  bool anonymous_query = false;
  // Scrape targets and GET /prometheus/api/v1/targets; routes are not registered when null.
  scrape::ScrapeManager* scrape = nullptr;
  // Alerts and silences behind /alertmanager/api/v2/; routes are not registered when null.
  alerting::AlertingService* alerting = nullptr;
  // The rule groups behind /prometheus/api/v1/rules and /alerts (empty answers when null).
  alerting::RuleManager* rules = nullptr;
  // The notification outbox behind GET /api/v1/notifications; not registered when null.
  alerting::Outbox* outbox = nullptr;
  // Firing/resolved transitions behind GET /api/v1/alerts/history; not registered when null.
  alerting::AlertHistory* alert_history = nullptr;
  // Integration keys (under /api/v1/services/{slug}/integration-keys) and the PagerDuty Events
  // v2 intake at /integrations/pagerduty/v2/enqueue; not registered when null.
  alerting::IntegrationKeys* integration_keys = nullptr;
  alerting::PagerDutyIntake* pagerduty = nullptr;
};

// Registers every route. `deps` must outlive the router.
void RegisterApi(http::Router& router, ApiDeps& deps);

// The OpenAPI 3.0 document describing every /api/v1/ route registered on `router`.
std::string OpenApiDocument(const http::Router& router, const std::string& version);

}  // namespace platops::api
