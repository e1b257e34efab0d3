#pragma once
// The definition of a check (`kind: Check`) and of a maintenance window
// (`kind: MaintenanceWindow`), as the checks module keeps them. No JSON and no I/O here: codec.h
// turns documents into these, checks.h and maintenance.h store them.
// Thread-safety: plain values; a prepared probe spec is immutable and shared.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "checks/maintenance_schedule.h"
#include "probe/probe.h"

namespace platops::checks {

enum class CheckType { kHttp, kTcp, kDns, kTls, kExec, kHeartbeat };
std::string_view CheckTypeName(CheckType t);  // "http", ..., "heartbeat"
std::optional<CheckType> ParseCheckType(std::string_view s);

enum class Severity { kCritical, kWarning, kInfo };
std::string_view SeverityName(Severity s);
std::optional<Severity> ParseSeverity(std::string_view s);

// A job that reports in: expected every `period` (plus `grace`) or on a cron schedule.
struct HeartbeatSpec {
  std::chrono::milliseconds period{0};  // exactly one of period and cron
  std::string cron;                     // 5-field or @macro, in `time_zone`
  std::string time_zone = "UTC";
  std::chrono::milliseconds grace{std::chrono::minutes(5)};  // 0 .. 7 days
  // The secret of /ping/{token}: from the document when it names one (>= 16 URL-safe
  // characters, so a config in git can keep cron jobs working across re-installs), else
  // generated at creation and kept across updates.
  std::string token;
};

struct CheckDef {
  std::string service;  // catalog service slug
  std::string name;     // slug, unique per service
  CheckType type = CheckType::kHttp;
  std::chrono::milliseconds interval{std::chrono::seconds(60)};  // >= 1s
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};   // < interval
  int max_attempts = 3;                                          // default 1 for heartbeats
  std::chrono::milliseconds retry_interval{0};                   // 0: the interval
  int recovery_attempts = 1;
  Severity severity = Severity::kCritical;
  std::map<std::string, std::string> labels;
  bool enabled = true;
  bool flap_detection = true;
  double flap_low = 20, flap_high = 30;
  std::shared_ptr<const probe::Spec> probe;  // prepared; null for heartbeats
  HeartbeatSpec heartbeat;                   // heartbeats only
  // The normalised document (JSON text, without kind/version/timestamps): what export writes
  // and what the store keeps.
  std::string doc;

  int64_t version = 0;
  Timestamp created_at{}, updated_at{};

  // "<service>.<name>": the check's id in the API, in events and in metrics.
  std::string id() const { return service + "." + name; }
  std::chrono::milliseconds effective_retry() const {
    return retry_interval.count() > 0 ? retry_interval : interval;
  }
};

// Splits "<service>.<name>"; nullopt when malformed.
std::optional<std::pair<std::string, std::string>> SplitCheckId(std::string_view id);

struct MaintenanceWindow {
  std::string name;  // slug: the key
  std::vector<std::string> services;  // at least one
  // Only checks carrying all of these labels; empty: every check of the services.
  std::map<std::string, std::string> check_labels;
  MaintenanceTiming timing;
  std::string reason;
  std::string created_by;  // set by the server from the actor that created it
  std::string doc;         // normalised document (JSON text)
  int64_t version = 0;
  Timestamp created_at{}, updated_at{};
};

// True when window `w` covers check `c` (its service is in scope and the labels match).
bool Covers(const MaintenanceWindow& w, const CheckDef& c);

}  // namespace platops::checks
