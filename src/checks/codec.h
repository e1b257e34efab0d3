#pragma once
// JSON shapes of checks and maintenance windows: the documents of `kind: Check` and
// `kind: MaintenanceWindow`, the API's bodies and the events' payloads. The format is described
// in docs/checks.md. Thread-safety: pure functions.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

#include "checks/checks.h"
#include "checks/model.h"

namespace platops::checks {

// Strict decode and full validation of a check document (everything but `kind`): unknown fields
// are rejected by name, the probe spec is prepared (regexes compiled, exec command found), the
// heartbeat's cron and time zone are parsed. Fills CheckDef::doc with the normalised document.
// Accepts and ignores the read-only fields a GET returns (id, version, created_at, updated_at,
// status, ping_url), so a GET body can be sent back; `version` is read into .version.
// Errors name the field: "<path>.http.url: must start with http:// or https://".
Result<CheckDef> CheckFromJson(const boost::json::value& v, const std::string& path = {});
// The normalised document (what export writes): service, name, type, the common fields with
// their values (defaults included), the type's own object as given.
boost::json::object CheckDocJson(const CheckDef& def);
// The API's view: CheckDocJson plus id, version, created_at, updated_at and, when given, the
// runtime status and the heartbeat's ping_url ("/ping/<token>").
boost::json::object CheckToJson(const CheckDef& def, const CheckStatus* status);
boost::json::object StatusToJson(const CheckStatus& status);
boost::json::object ProbeResultToJson(const probe::Result& r);

Result<MaintenanceWindow> WindowFromJson(const boost::json::value& v, const std::string& path = {});
boost::json::object WindowDocJson(const MaintenanceWindow& w);
boost::json::object WindowToJson(const MaintenanceWindow& w);

boost::json::object StoredResultToJson(const StoredResult& r);
boost::json::object AvailabilityToJson(const std::string& subject, const AvailabilitySummary& a);

}  // namespace platops::checks
