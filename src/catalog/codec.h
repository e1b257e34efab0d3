#pragma once
// JSON shapes of teams and services: the API's bodies, the event log's payloads and the `spec` of
// Team and Service documents. Thread-safety: pure functions.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "catalog/catalog.h"

namespace platops::catalog {

boost::json::object TeamToJson(const Team& t);
boost::json::object ServiceToJson(const Service& s);
// Strict: unknown fields are rejected by name. `version` is read into .version (0 when absent);
// `created_at` / `updated_at` are accepted and ignored, so a GET body can be sent back.
Result<Team> TeamFromJson(const boost::json::value& v, const std::string& path = {});
Result<Service> ServiceFromJson(const boost::json::value& v, const std::string& path = {});
boost::json::object GraphNodeToJson(const GraphNode& n);

}  // namespace platops::catalog
