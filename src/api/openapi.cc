// The OpenAPI 3.0 description of /api/v1/. Every route registered under /api/v1/ must have an
// entry in kRoutes; api_test fails when one is missing.

#include <boost/json.hpp>

#include <map>

#include "api/api.h"
#include "base/json_reader.h"

namespace platops::api {

namespace json = boost::json;

namespace {

struct RouteDoc {
  const char* method;
  const char* path;
  const char* summary;
  const char* tag;
  const char* role;
  const char* request;   // schema name or ""
  const char* response;  // schema name or "" (204)
  int status;
  const char* query;  // comma-separated query parameters
};

// clang-format off
constexpr RouteDoc kRoutes[] = {
    {"GET", "/api/v1/services", "List services", "catalog", "viewer", "", "ServicePage", 200, "limit,cursor"},
    {"POST", "/api/v1/services", "Create a service", "catalog", "operator", "ServiceInput", "Service", 201, ""},
    {"GET", "/api/v1/services/{slug}", "Get a service", "catalog", "viewer", "", "Service", 200, ""},
    {"PUT", "/api/v1/services/{slug}", "Replace a service (needs version or If-Match)", "catalog", "operator", "ServiceInput", "Service", 200, ""},
    {"PATCH", "/api/v1/services/{slug}", "Merge-patch a service (RFC 7386; needs version or If-Match)", "catalog", "operator", "ServicePatch", "Service", 200, ""},
    {"DELETE", "/api/v1/services/{slug}", "Delete a service (409 while depended on, unless force=true)", "catalog", "operator", "", "", 204, "force"},
    {"GET", "/api/v1/services/{slug}/dependents", "Services that depend on this one: the blast radius", "catalog", "viewer", "", "GraphResult", 200, "transitive"},
    {"GET", "/api/v1/services/{slug}/dependencies", "Services this one depends on", "catalog", "viewer", "", "GraphResult", 200, "transitive"},
    {"GET", "/api/v1/teams", "List teams", "catalog", "viewer", "", "TeamPage", 200, "limit,cursor"},
    {"POST", "/api/v1/teams", "Create a team", "catalog", "admin", "TeamInput", "Team", 201, ""},
    {"GET", "/api/v1/teams/{slug}", "Get a team", "catalog", "viewer", "", "Team", 200, ""},
    {"PUT", "/api/v1/teams/{slug}", "Replace a team", "catalog", "admin", "TeamInput", "Team", 200, ""},
    {"PATCH", "/api/v1/teams/{slug}", "Merge-patch a team", "catalog", "admin", "TeamPatch", "Team", 200, ""},
    {"DELETE", "/api/v1/teams/{slug}", "Delete a team (409 while it owns services)", "catalog", "admin", "", "", 204, ""},
    {"GET", "/api/v1/users", "List users", "identity", "viewer", "", "UserPage", 200, "limit,cursor"},
    {"POST", "/api/v1/users", "Create a user", "identity", "admin", "UserInput", "User", 201, ""},
    {"GET", "/api/v1/users/{name}", "Get a user", "identity", "viewer", "", "User", 200, ""},
    {"PUT", "/api/v1/users/{name}", "Replace a user", "identity", "admin", "UserInput", "User", 200, ""},
    {"PATCH", "/api/v1/users/{name}", "Merge-patch a user", "identity", "admin", "UserPatch", "User", 200, ""},
    {"DELETE", "/api/v1/users/{name}", "Delete a user and their tokens (409 while in a team)", "identity", "admin", "", "", 204, ""},
    {"GET", "/api/v1/tokens", "List tokens (admins: all or ?user=; others: their own)", "identity", "viewer", "", "TokenPage", 200, "user"},
    {"POST", "/api/v1/tokens", "Create a token; the secret is in this response only", "identity", "admin", "TokenInput", "TokenCreated", 201, ""},
    {"DELETE", "/api/v1/tokens/{id}", "Revoke a token by id (or unique name)", "identity", "admin", "", "", 204, ""},
    {"GET", "/api/v1/events", "The event log: audit trail and timelines", "events", "viewer", "", "EventPage", 200, "subject_type,subject_id,action,after_seq,cursor,limit"},
    {"POST", "/api/v1/apply", "Validate and apply configuration documents in one transaction", "config", "operator", "ApplyRequest", "ApplyResult", 200, "dry_run,prune"},
    {"GET", "/api/v1/export", "The current configuration as documents", "config", "viewer", "", "ExportResult", 200, "format"},
    {"DELETE", "/api/v1/objects/{kind}/{key}", "Delete one configuration object as apply --prune would (kind any case; the kind's own role)", "config", "operator", "", "", 204, ""},
    {"GET", "/api/v1/checks", "List checks, optionally of one service", "checks", "viewer", "", "CheckPage", 200, "service,limit,cursor"},
    {"POST", "/api/v1/checks", "Create a check", "checks", "operator", "CheckInput", "Check", 201, ""},
    {"GET", "/api/v1/checks/{id}", "Get a check with its live status (id is <service>.<name>)", "checks", "viewer", "", "Check", 200, ""},
    {"PUT", "/api/v1/checks/{id}", "Replace a check (needs version or If-Match)", "checks", "operator", "CheckInput", "Check", 200, ""},
    {"PATCH", "/api/v1/checks/{id}", "Merge-patch a check (RFC 7386; needs version or If-Match)", "checks", "operator", "CheckPatch", "Check", 200, ""},
    {"DELETE", "/api/v1/checks/{id}", "Delete a check with its results and history", "checks", "operator", "", "", 204, ""},
    {"GET", "/api/v1/checks/{id}/results", "A check's raw results, newest first (default: the last hour)", "checks", "viewer", "", "CheckResults", 200, "from,to,limit"},
    {"GET", "/api/v1/checks/{id}/availability", "A check's availability and outages (default: the last 30 days; format=csv for the SLA report)", "checks", "viewer", "", "Availability", 200, "from,to,format"},
    {"GET", "/api/v1/services/{slug}/availability", "A service's availability: down while any critical check is HARD CRITICAL", "checks", "viewer", "", "Availability", 200, "from,to,format"},
    {"GET", "/api/v1/maintenance-windows", "List maintenance windows", "checks", "viewer", "", "MaintenanceWindowPage", 200, "limit,cursor"},
    {"POST", "/api/v1/maintenance-windows", "Create a maintenance window", "checks", "operator", "MaintenanceWindowInput", "MaintenanceWindow", 201, ""},
    {"GET", "/api/v1/maintenance-windows/{name}", "Get a maintenance window", "checks", "viewer", "", "MaintenanceWindow", 200, ""},
    {"PUT", "/api/v1/maintenance-windows/{name}", "Replace a maintenance window (needs version or If-Match)", "checks", "operator", "MaintenanceWindowInput", "MaintenanceWindow", 200, ""},
    {"PATCH", "/api/v1/maintenance-windows/{name}", "Merge-patch a maintenance window", "checks", "operator", "MaintenanceWindowPatch", "MaintenanceWindow", 200, ""},
    {"DELETE", "/api/v1/maintenance-windows/{name}", "Delete a maintenance window", "checks", "operator", "", "", 204, ""},
    {"GET", "/api/v1/notifications", "Delivery attempts of notifications, newest first (receiver, status ok|retry|failed, from, to)", "alerting", "viewer", "", "NotificationAttemptPage", 200, "receiver,status,from,to,limit,cursor"},
    {"GET", "/api/v1/alerts/history", "Firing/resolved transitions of alerts, newest first (from, to, matcher repeatable in Alertmanager syntax, state firing|resolved, fingerprint)", "alerting", "viewer", "", "AlertTransitionPage", 200, "from,to,matcher,state,fingerprint,limit,cursor"},
    {"POST", "/api/v1/services/{slug}/integration-keys", "Create an integration key (a PagerDuty Events v2 routing key) bound to the service; the key is in this answer only", "alerting", "operator", "IntegrationKeyInput", "IntegrationKeyCreated", 201, ""},
    {"GET", "/api/v1/services/{slug}/integration-keys", "The service's integration keys (without the keys)", "alerting", "viewer", "", "IntegrationKeyList", 200, ""},
    {"DELETE", "/api/v1/integration-keys/{id}", "Revoke an integration key", "alerting", "operator", "", "", 204, ""},
    {"GET", "/api/v1/scrape-targets", "List scrape targets (Prometheus scrape jobs), optionally of one service", "scrape", "viewer", "", "ScrapeTargetPage", 200, "service,limit,cursor"},
    {"POST", "/api/v1/scrape-targets", "Create a scrape target", "scrape", "operator", "ScrapeTargetInput", "ScrapeTarget", 201, ""},
    {"GET", "/api/v1/scrape-targets/{job}", "Get a scrape target with its targets' health", "scrape", "viewer", "", "ScrapeTarget", 200, ""},
    {"PUT", "/api/v1/scrape-targets/{job}", "Replace a scrape target (needs version or If-Match)", "scrape", "operator", "ScrapeTargetInput", "ScrapeTarget", 200, ""},
    {"PATCH", "/api/v1/scrape-targets/{job}", "Merge-patch a scrape target", "scrape", "operator", "ScrapeTargetPatch", "ScrapeTarget", 200, ""},
    {"DELETE", "/api/v1/scrape-targets/{job}", "Delete a scrape target; its series get stale markers", "scrape", "operator", "", "", 204, ""},
    {"GET", "/api/v1/openapi.json", "This document", "meta", "viewer", "", "", 200, ""},
};
// clang-format on

constexpr const char* kSchemas = R"json({
  "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
    "required": ["code", "message"], "properties": {
      "code": {"type": "string", "enum": ["validation_failed", "unauthenticated", "forbidden",
        "not_found", "method_not_allowed", "conflict", "payload_too_large", "unprocessable",
        "rate_limited", "unavailable", "timeout", "internal"]},
      "message": {"type": "string"}, "field": {"type": "string"},
      "details": {"type": "array", "items": {"type": "object"}}}}}},
  "Dependency": {"type": "object", "required": ["service"], "additionalProperties": false,
    "properties": {"service": {"type": "string"}, "kind": {"type": "string", "enum": ["hard", "soft"], "default": "hard"}}},
  "ServiceInput": {"type": "object", "required": ["slug", "name", "team"], "additionalProperties": false,
    "properties": {"slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
      "name": {"type": "string", "maxLength": 200}, "description": {"type": "string", "maxLength": 4000},
      "tier": {"type": "integer", "minimum": 1, "maximum": 4, "default": 3},
      "team": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
      "links": {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}},
      "depends_on": {"type": "array", "items": {"$ref": "#/components/schemas/Dependency"}},
      "version": {"type": "integer"}, "created_at": {"type": "string"}, "updated_at": {"type": "string"}}},
  "ServicePatch": {"type": "object", "description": "RFC 7386 merge patch of ServiceInput; null removes a field"},
  "Service": {"allOf": [{"$ref": "#/components/schemas/ServiceInput"}, {"type": "object",
    "required": ["version", "created_at", "updated_at"], "properties": {"version": {"type": "integer"},
    "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}}]},
  "ServicePage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Service"}}, "next_cursor": {"type": "string", "nullable": true}}},
  "GraphNode": {"type": "object", "properties": {"slug": {"type": "string"}, "name": {"type": "string"},
    "tier": {"type": "integer"}, "depth": {"type": "integer"}, "kind": {"type": "string", "enum": ["hard", "soft"]}, "via": {"type": "string"}}},
  "GraphResult": {"type": "object", "properties": {"service": {"type": "string"}, "transitive": {"type": "boolean"},
    "items": {"type": "array", "items": {"$ref": "#/components/schemas/GraphNode"}}}},
  "TeamInput": {"type": "object", "required": ["slug", "name"], "additionalProperties": false,
    "properties": {"slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"}, "name": {"type": "string"},
      "description": {"type": "string"}, "members": {"type": "array", "items": {"type": "string"}},
      "version": {"type": "integer"}, "created_at": {"type": "string"}, "updated_at": {"type": "string"}}},
  "TeamPatch": {"type": "object", "description": "RFC 7386 merge patch of TeamInput"},
  "Team": {"allOf": [{"$ref": "#/components/schemas/TeamInput"}]},
  "TeamPage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Team"}}, "next_cursor": {"type": "string", "nullable": true}}},
  "UserInput": {"type": "object", "required": ["name", "email"], "additionalProperties": false,
    "properties": {"name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,62}$"}, "email": {"type": "string"},
      "time_zone": {"type": "string", "default": "UTC"},
      "role": {"type": "string", "enum": ["viewer", "responder", "operator", "admin"], "default": "viewer"},
      "version": {"type": "integer"}, "created_at": {"type": "string"}, "updated_at": {"type": "string"}}},
  "UserPatch": {"type": "object", "description": "RFC 7386 merge patch of UserInput"},
  "User": {"allOf": [{"$ref": "#/components/schemas/UserInput"}]},
  "UserPage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}, "next_cursor": {"type": "string", "nullable": true}}},
  "TokenInput": {"type": "object", "required": ["name"], "additionalProperties": false,
    "properties": {"name": {"type": "string"}, "user": {"type": "string", "description": "default: the caller"},
      "role": {"type": "string", "enum": ["viewer", "responder", "operator", "admin"], "description": "default: the user's role"},
      "expires_in": {"type": "string", "description": "a duration like 30d"}}},
  "Token": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "user": {"type": "string"},
    "role": {"type": "string"}, "created_at": {"type": "string"}, "expires_at": {"type": "string", "nullable": true},
    "last_used_at": {"type": "string", "nullable": true}, "revoked_at": {"type": "string", "nullable": true}}},
  "TokenCreated": {"allOf": [{"$ref": "#/components/schemas/Token"}, {"type": "object", "properties": {"secret": {"type": "string"}}}]},
  "TokenPage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Token"}}, "next_cursor": {"type": "string", "nullable": true}}},
  "Event": {"type": "object", "properties": {"seq": {"type": "integer"}, "time": {"type": "string", "format": "date-time"},
    "actor": {"type": "string"}, "action": {"type": "string"},
    "subject": {"type": "object", "properties": {"type": {"type": "string"}, "id": {"type": "string"}}},
    "payload": {"type": "object"}, "prev_hash": {"type": "string"}, "hash": {"type": "string"}}},
  "EventPage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}, "next_cursor": {"type": "string", "nullable": true}}},
  "ApplyRequest": {"type": "object", "required": ["documents"], "additionalProperties": false,
    "properties": {"documents": {"type": "array", "items": {"type": "object", "required": ["kind"]}},
      "sources": {"type": "array", "items": {"type": "object", "properties": {"file": {"type": "string"}, "index": {"type": "integer"}}}},
      "dry_run": {"type": "boolean"}, "prune": {"type": "boolean"}}},
  "ApplyResult": {"type": "object", "properties": {"dry_run": {"type": "boolean"}, "applied": {"type": "boolean"},
    "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
    "plan": {"type": "array", "items": {"type": "object", "properties": {"kind": {"type": "string"}, "key": {"type": "string"},
      "action": {"type": "string", "enum": ["create", "update", "delete", "unchanged"]},
      "changed_fields": {"type": "array", "items": {"type": "string"}}}}}}},
  "ExportResult": {"type": "object", "properties": {"documents": {"type": "array", "items": {"type": "object"}}}},
  "CheckInput": {"type": "object", "required": ["service", "name", "type"], "additionalProperties": false,
    "description": "Exactly one type object, named after the type. Heartbeats take no interval, timeout or retry_interval.",
    "properties": {"service": {"type": "string"}, "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
      "type": {"type": "string", "enum": ["http", "tcp", "dns", "tls", "exec", "heartbeat"]},
      "interval": {"type": "string", "default": "1m", "description": "a duration, at least 1s"},
      "timeout": {"type": "string", "description": "less than interval; default min(10s, 80% of interval)"},
      "max_attempts": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3, "description": "default 1 for heartbeats"},
      "retry_interval": {"type": "string", "description": "default: the interval"},
      "recovery_attempts": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
      "severity": {"type": "string", "enum": ["critical", "warning", "info"], "default": "critical"},
      "labels": {"type": "object", "additionalProperties": {"type": "string"}},
      "enabled": {"type": "boolean", "default": true},
      "flapping": {"type": "object", "properties": {"enabled": {"type": "boolean", "default": true},
        "low": {"type": "number", "default": 20}, "high": {"type": "number", "default": 30}}},
      "http": {"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}, "method": {"type": "string", "default": "GET"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}}, "body": {"type": "string"},
        "expected_status": {"type": "array", "items": {"description": "200 or \"200-299\""}},
        "body_contains": {"type": "string"}, "body_regex": {"type": "string", "description": "RE2"},
        "json": {"type": "object", "properties": {"path": {"type": "string"}, "op": {"type": "string", "enum": ["==", "!=", "<", "<=", ">", ">=", "contains", "exists"]}, "value": {}}},
        "max_response_time": {"type": "string"}, "follow_redirects": {"type": "boolean"}, "max_redirects": {"type": "integer"},
        "verify_tls": {"type": "boolean"}, "ca_file": {"type": "string"},
        "basic_auth": {"type": "object", "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
        "bearer_token": {"type": "string"}, "max_body_bytes": {"type": "integer"}}},
      "tcp": {"type": "object", "required": ["host", "port"], "properties": {"host": {"type": "string"}, "port": {"type": "integer"},
        "send": {"type": "string"}, "expect": {"type": "string", "description": "RE2"}}},
      "dns": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"},
        "record": {"type": "string", "enum": ["A", "AAAA", "CNAME", "MX", "TXT", "NS"]}, "server": {"type": "string"},
        "expected": {"type": "array", "items": {"type": "string"}}}},
      "tls": {"type": "object", "required": ["host"], "properties": {"host": {"type": "string"}, "port": {"type": "integer", "default": 443},
        "server_name": {"type": "string"}, "verify": {"type": "boolean"}, "ca_file": {"type": "string"},
        "warning_days": {"type": "integer", "default": 21}, "critical_days": {"type": "integer", "default": 7}}},
      "exec": {"type": "object", "required": ["command"], "properties": {"command": {"type": "string", "description": "absolute path or a name in PATH; no shell"},
        "args": {"type": "array", "items": {"type": "string"}}, "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "working_dir": {"type": "string"}, "max_output_bytes": {"type": "integer"}}},
      "heartbeat": {"type": "object", "properties": {"period": {"type": "string"}, "cron": {"type": "string"},
        "time_zone": {"type": "string", "description": "with cron only"}, "grace": {"type": "string", "default": "5m"},
        "token": {"type": "string", "description": "16..128 of A-Z a-z 0-9 _ -; generated when absent"}}},
      "id": {"type": "string", "readOnly": true}, "version": {"type": "integer"}, "created_at": {"type": "string"},
      "updated_at": {"type": "string"}, "status": {"type": "object", "readOnly": true}, "ping_url": {"type": "string", "readOnly": true}}},
  "CheckPatch": {"type": "object", "description": "RFC 7386 merge patch of CheckInput"},
  "CheckStatus": {"type": "object", "properties": {
    "state": {"type": "string", "enum": ["PENDING", "OK", "WARNING", "CRITICAL", "UNKNOWN"]},
    "state_type": {"type": "string", "enum": ["soft", "hard"]}, "attempt": {"type": "integer"},
    "since": {"type": "string", "nullable": true}, "hard_state": {"type": "string"}, "hard_since": {"type": "string", "nullable": true},
    "flapping": {"type": "boolean"}, "flap_percent": {"type": "number"}, "in_maintenance": {"type": "boolean"},
    "suppressed_by": {"type": "string", "nullable": true}, "next_run": {"type": "string", "nullable": true},
    "skipped_in_flight": {"type": "integer"}, "last_result": {"type": "object", "nullable": true},
    "last_ping": {"type": "string"}, "last_start": {"type": "string"}, "last_job_duration": {"type": "string"},
    "ping_deadline": {"type": "string"}}},
  "Check": {"allOf": [{"$ref": "#/components/schemas/CheckInput"}, {"type": "object",
    "required": ["id", "version", "created_at", "updated_at"], "properties": {"id": {"type": "string"},
    "version": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"}, "ping_url": {"type": "string", "description": "heartbeats: /ping/<token>"},
    "status": {"$ref": "#/components/schemas/CheckStatus"}}}]},
  "CheckPage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Check"}}, "next_cursor": {"type": "string", "nullable": true}}},
  "CheckResult": {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"},
    "outcome": {"type": "string", "enum": ["OK", "WARNING", "CRITICAL", "UNKNOWN"]}, "duration_seconds": {"type": "number"},
    "message": {"type": "string"}, "in_maintenance": {"type": "boolean"}, "details": {"type": "object"}}},
  "CheckResults": {"type": "object", "properties": {"check": {"type": "string"},
    "items": {"type": "array", "items": {"$ref": "#/components/schemas/CheckResult"}}}},
  "Availability": {"type": "object", "properties": {"subject": {"type": "string"},
    "from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"},
    "monitored_seconds": {"type": "number"}, "maintenance_seconds": {"type": "number"}, "down_seconds": {"type": "number"},
    "uptime_percent": {"type": "number", "nullable": true},
    "outages": {"type": "array", "items": {"type": "object", "properties": {"start": {"type": "string"}, "end": {"type": "string"},
      "duration_seconds": {"type": "number"}, "cause": {"type": "string"}, "ongoing": {"type": "boolean"}}}},
    "response_times": {"type": "object", "properties": {"count": {"type": "integer"}, "mean_ms": {"type": "number", "nullable": true},
      "p95_ms": {"type": "number", "nullable": true}, "min_ms": {"type": "number", "nullable": true}, "max_ms": {"type": "number", "nullable": true}}}}},
  "WeeklyRange": {"type": "object", "required": ["day", "start", "end"], "properties": {
    "day": {"type": "string", "enum": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]}, "start": {"type": "string", "description": "HH:MM"},
    "end_day": {"type": "string", "description": "default: day, or the next day when end <= start"}, "end": {"type": "string", "description": "HH:MM, up to 24:00"}}},
  "MaintenanceWindowInput": {"type": "object", "required": ["name", "services"], "additionalProperties": false,
    "description": "One of: start and end (one-off); cron and duration; weekly. A recurring window may be bounded by start and end.",
    "properties": {"name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
      "services": {"type": "array", "minItems": 1, "items": {"type": "string"}},
      "check_labels": {"type": "object", "additionalProperties": {"type": "string"}},
      "start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"},
      "cron": {"type": "string"}, "duration": {"type": "string"},
      "weekly": {"type": "array", "items": {"$ref": "#/components/schemas/WeeklyRange"}},
      "time_zone": {"type": "string", "default": "UTC"}, "reason": {"type": "string"},
      "created_by": {"type": "string", "readOnly": true}, "version": {"type": "integer"},
      "created_at": {"type": "string"}, "updated_at": {"type": "string"}}},
  "MaintenanceWindowPatch": {"type": "object", "description": "RFC 7386 merge patch of MaintenanceWindowInput"},
  "ScrapeTargetInput": {"type": "object", "required": ["job"], "additionalProperties": false,
    "description": "A Prometheus scrape job: static targets and/or file_sd, relabeling, limits. docs/scrape.md",
    "properties": {"job": {"type": "string"}, "service": {"type": "string"},
      "targets": {"type": "array", "items": {"type": "string"}},
      "interval": {"type": "string", "default": "15s"}, "timeout": {"type": "string", "default": "10s"},
      "path": {"type": "string", "default": "/metrics"}, "scheme": {"type": "string", "enum": ["http", "https"]},
      "params": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
      "labels": {"type": "object", "additionalProperties": {"type": "string"}},
      "honor_labels": {"type": "boolean"}, "honor_timestamps": {"type": "boolean", "default": true},
      "sample_limit": {"type": "integer"}, "label_limit": {"type": "integer"},
      "label_name_length_limit": {"type": "integer"}, "label_value_length_limit": {"type": "integer"},
      "file_sd": {"type": "object"}, "basic_auth": {"type": "object"}, "bearer_token": {"type": "string"},
      "bearer_token_file": {"type": "string"}, "tls": {"type": "object"},
      "relabel_configs": {"type": "array", "items": {"type": "object"}},
      "metric_relabel_configs": {"type": "array", "items": {"type": "object"}},
      "version": {"type": "integer"}, "created_at": {"type": "string"}, "updated_at": {"type": "string"}}},
  "ScrapeTargetPatch": {"type": "object", "description": "RFC 7386 merge patch of ScrapeTargetInput"},
  "ScrapeTarget": {"allOf": [{"$ref": "#/components/schemas/ScrapeTargetInput"}]},
  "NotificationAttempt": {"type": "object", "properties": {"id": {"type": "integer"}, "notification_id": {"type": "integer"}, "receiver": {"type": "string"}, "at": {"type": "string", "format": "date-time"}, "status": {"type": "string", "enum": ["ok", "retry", "failed"]}, "status_code": {"type": "integer"}, "latency_ms": {"type": "integer"}, "error": {"type": "string"}}},
  "NotificationAttemptPage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/NotificationAttempt"}}, "next_cursor": {"type": "string", "nullable": true}}},
  "AlertTransition": {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}, "fingerprint": {"type": "string"}, "state": {"type": "string", "enum": ["firing", "resolved"]}, "labels": {"type": "object", "additionalProperties": {"type": "string"}}, "annotations": {"type": "object", "additionalProperties": {"type": "string"}}, "starts_at": {"type": "string", "format": "date-time"}, "ends_at": {"type": "string", "format": "date-time", "nullable": true}, "source": {"type": "string"}, "flapping": {"type": "boolean"}}},
  "AlertTransitionPage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/AlertTransition"}}, "next_cursor": {"type": "string", "nullable": true}}},
  "IntegrationKeyInput": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "description": "what sends with it, 1-100 characters"}}},
  "IntegrationKey": {"type": "object", "properties": {"id": {"type": "string"}, "service": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string", "enum": ["pagerduty"]}, "hint": {"type": "string", "description": "the key's last four characters"}, "created_by": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}},
  "IntegrationKeyCreated": {"allOf": [{"$ref": "#/components/schemas/IntegrationKey"}, {"type": "object", "properties": {"routing_key": {"type": "string", "description": "32 hex characters, shown once"}, "enqueue_path": {"type": "string"}}}]},
  "IntegrationKeyList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/IntegrationKey"}}}},
  "ScrapeTargetPage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/ScrapeTarget"}}, "next_cursor": {"type": "string", "nullable": true}}},
  "MaintenanceWindow": {"allOf": [{"$ref": "#/components/schemas/MaintenanceWindowInput"}]},
  "MaintenanceWindowPage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/MaintenanceWindow"}}, "next_cursor": {"type": "string", "nullable": true}}}
})json";

json::object ErrorResponse(const char* description) {
  json::object r;
  r["description"] = description;
  r["content"] = json::object{
      {"application/json",
       json::object{{"schema", json::object{{"$ref", "#/components/schemas/Error"}}}}}};
  return r;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string OpenApiDocument(const http::Router& router, const std::string& version) {
  std::map<std::pair<std::string, std::string>, const RouteDoc*> docs;
  for (const auto& d : kRoutes) docs[{d.method, d.path}] = &d;

  json::object paths;
  for (const auto& route : router.routes()) {
    if (route.path_template.rfind("/api/v1/", 0) != 0) continue;
    auto it = docs.find({std::string(http::MethodName(route.method)), route.path_template});
    if (it == docs.end()) continue;  // undocumented: api_test fails on this
    const RouteDoc& d = *it->second;
    json::object op;
    op["summary"] = d.summary;
    op["tags"] = json::array{d.tag};
    op["description"] = std::string("Needs role ") + d.role + ".";
    op["operationId"] = Lower(d.method) + std::string(route.path_template);
    json::array params;
    std::string path = route.path_template;
    for (size_t pos = path.find('{'); pos != std::string::npos; pos = path.find('{', pos + 1)) {
      size_t end = path.find('}', pos);
      params.push_back(json::object{{"name", path.substr(pos + 1, end - pos - 1)},
                                    {"in", "path"},
                                    {"required", true},
                                    {"schema", json::object{{"type", "string"}}}});
    }
    std::string query = d.query;
    size_t start = 0;
    while (start < query.size()) {
      size_t comma = query.find(',', start);
      if (comma == std::string::npos) comma = query.size();
      params.push_back(json::object{{"name", query.substr(start, comma - start)},
                                    {"in", "query"},
                                    {"required", false},
                                    {"schema", json::object{{"type", "string"}}}});
      start = comma + 1;
    }
    if (route.method == http::Method::kPut || route.method == http::Method::kPatch) {
      params.push_back(json::object{{"name", "If-Match"},
                                    {"in", "header"},
                                    {"required", false},
                                    {"schema", json::object{{"type", "string"}}}});
    }
    if (!params.empty()) op["parameters"] = std::move(params);
    if (*d.request) {
      json::object content{
          {"application/json",
           json::object{{"schema", json::object{{"$ref", std::string("#/components/schemas/") +
                                                             d.request}}}}}};
      if (std::string(d.request) == "ApplyRequest")
        content["application/yaml"] =
            json::object{{"schema", json::object{{"type", "string"},
                                                 {"description", "a YAML stream of documents"}}}};
      op["requestBody"] = json::object{{"required", true}, {"content", std::move(content)}};
    }
    json::object responses;
    json::object ok;
    ok["description"] = d.status == 204 ? "Done" : "Success";
    if (*d.response) {
      ok["content"] = json::object{
          {"application/json",
           json::object{{"schema", json::object{{"$ref", std::string("#/components/schemas/") +
                                                             d.response}}}}}};
      if (std::string(d.response) == "Availability")
        ok["content"].as_object()["text/csv"] = json::object{
            {"schema", json::object{{"type", "string"},
                                    {"description", "format=csv: the SLA report (RFC 4180)"}}}};
    } else if (d.status == 200) {
      ok["content"] = json::object{
          {"application/json", json::object{{"schema", json::object{{"type", "object"}}}}}};
    }
    responses[std::to_string(d.status)] = std::move(ok);
    responses["400"] = ErrorResponse("Invalid input; error.field names the field");
    responses["401"] = ErrorResponse("Missing or invalid token");
    responses["403"] = ErrorResponse("The token's role is too low");
    if (route.path_template.find('{') != std::string::npos)
      responses["404"] = ErrorResponse("No such object");
    if (route.method != http::Method::kGet) {
      responses["409"] = ErrorResponse("Stale version, already exists, or still referenced");
      responses["422"] = ErrorResponse("Refers to an object that does not exist");
    }
    op["responses"] = std::move(responses);
    json::value& entry = paths[route.path_template];
    if (!entry.is_object()) entry = json::object();
    entry.as_object()[Lower(std::string(http::MethodName(route.method)))] = std::move(op);
  }

  json::object doc;
  doc["openapi"] = "3.0.3";
  doc["info"] =
      json::object{{"title", "platops API"},
                   {"version", version},
                   {"description",
                    "The platops REST API. Authenticate with Authorization: Bearer "
                    "<token>. Errors are {\"error\": {\"code\", \"message\", \"field\"}}."}};
  doc["servers"] = json::array{json::object{{"url", "/"}}};
  doc["security"] = json::array{json::object{{"bearer", json::array{}}}};
  doc["paths"] = std::move(paths);
  auto schemas = ParseJson(kSchemas);
  doc["components"] = json::object{
      {"schemas", schemas.ok() ? *schemas : json::value(json::object{})},
      {"securitySchemes",
       json::object{{"bearer", json::object{{"type", "http"}, {"scheme", "bearer"}}}}}};
  return json::serialize(doc);
}

}  // namespace platops::api
