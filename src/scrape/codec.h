#pragma once
// JSON shape of scrape jobs: the document of `kind: ScrapeTarget`, the API's bodies and the
// events' payloads. The format is described in docs/scrape.md. Thread-safety: pure functions.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

#include "scrape/model.h"
#include "scrape/scheduler.h"

namespace platops::scrape {

// Strict decode and full validation of a ScrapeTarget document (everything but `kind`): unknown
// fields are rejected by name, relabel rules compiled. Fills ScrapeTargetDef::doc with the
// normalised document. Accepts and ignores the read-only fields a GET returns (created_at,
// updated_at, status), so a GET body can be sent back; `version` is read into .version.
// Errors name the field: "targets[1]: must be host:port, got \"http://a:1\"".
Result<ScrapeTargetDef> ScrapeTargetFromJson(const boost::json::value& v,
                                             const std::string& path = {});
// The normalised document (what export writes): every field with its value, defaults included,
// relabel rules as written.
boost::json::object ScrapeTargetDocJson(const ScrapeTargetDef& def);
// The API's view: the document plus version, created_at, updated_at and, when given, the job's
// runtime status.
boost::json::object ScrapeTargetToJson(const ScrapeTargetDef& def, const JobStatus* status);
boost::json::object JobStatusToJson(const JobStatus& status);

}  // namespace platops::scrape
