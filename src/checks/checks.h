#pragma once
// ChecksService: the checks module's entry class. It owns the check and maintenance-window
// definitions (tables `checks`, `maintenance_windows`), the runtime that probes and judges them
// (Monitor: tables `check_state`, `check_results`, `check_history`, `check_rollups`), and the
// reads built on them: results, availability. Appends `check.*` and `maintenance_window.*` events.
// Thread-safety: thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/metrics_registry.h"
#include "base/status.h"
#include "catalog/catalog.h"
#include "checks/availability.h"
#include "checks/model.h"
#include "checks/monitor.h"
#include "config/kind_registry.h"
#include "events/event_bus.h"
#include "events/event_log.h"
#include "identity/identity.h"
#include "probe/probe.h"
#include "store/store.h"

namespace platops::checks {

using identity::Page;

// One stored result (GET /api/v1/checks/{id}/results).
struct StoredResult {
  Timestamp at{};
  probe::Outcome outcome = probe::Outcome::kUnknown;
  std::chrono::microseconds duration{0};
  std::string message;
  bool in_maintenance = false;
  std::string details;  // JSON text: timings, status code, certificate expiry, ...
};

struct ResponseTimes {
  int64_t count = 0;
  std::optional<double> mean_ms, p95_ms, min_ms, max_ms;
};

struct AvailabilitySummary {
  AvailabilityReport report;
  ResponseTimes response;
};

class ChecksService {
 public:
  ChecksService(store::Store& store, const events::EventLog& log, const Clock& clock,
                catalog::CatalogService& catalog, probe::ProbeEngine& engine,
                const MonitorOptions& options, MetricsRegistry* metrics);
  ~ChecksService();
  static std::vector<store::Migration> Migrations();

  // Reads the definitions and the saved state; subscribes to catalog events (a deleted service
  // takes its checks with it). Call once before Start.
  Status Load(events::EventBus& bus);
  void Start();
  void Stop();
  Monitor& monitor() { return *monitor_; }

  // Checks. Create/Update validate references (the service must exist) and the probe spec.
  Result<CheckDef> CreateCheck(const std::string& actor, CheckDef def);
  Result<CheckDef> GetCheck(const std::string& id) const;
  // `service` empty: every service.
  Result<Page<CheckDef>> ListChecks(const std::string& cursor, int limit,
                                    const std::string& service = {}) const;
  Result<CheckDef> UpdateCheck(const std::string& actor, CheckDef def, int64_t expected_version);
  Status DeleteCheck(const std::string& actor, const std::string& id);

  // Maintenance windows.
  Result<MaintenanceWindow> CreateWindow(const std::string& actor, MaintenanceWindow w);
  Result<MaintenanceWindow> GetWindow(const std::string& name) const;
  Result<Page<MaintenanceWindow>> ListWindows(const std::string& cursor, int limit) const;
  Result<MaintenanceWindow> UpdateWindow(const std::string& actor, MaintenanceWindow w,
                                         int64_t expected_version);
  Status DeleteWindow(const std::string& actor, const std::string& name);

  // Inside a caller's write transaction (apply). The monitor follows after commit.
  Result<std::vector<CheckDef>> AllChecks(store::Tx& tx) const;
  // id -> the stored normalised document, without decoding it.
  Result<std::map<std::string, std::string>> AllCheckDocs(store::Tx& tx) const;
  Status PutCheck(store::Tx& tx, const std::string& actor, CheckDef def, bool create);
  Status DeleteCheck(store::Tx& tx, const std::string& actor, const std::string& id);
  Result<std::vector<MaintenanceWindow>> AllWindows(store::Tx& tx) const;
  Status PutWindow(store::Tx& tx, const std::string& actor, MaintenanceWindow w, bool create);
  Status DeleteWindow(store::Tx& tx, const std::string& actor, const std::string& name);

  // Reads.
  Result<std::vector<StoredResult>> Results(const std::string& id, Timestamp from, Timestamp to,
                                            int limit) const;
  Result<AvailabilitySummary> CheckAvailability(const std::string& id, Timestamp from,
                                                Timestamp to) const;
  // A service is down while any of its checks of severity critical is HARD CRITICAL.
  Result<AvailabilitySummary> ServiceAvailability(const std::string& slug, Timestamp from,
                                                  Timestamp to) const;

  // Heartbeat pings (/ping/{token}...). kNotFound for an unknown token.
  Status Ping(const std::string& token, PingKind kind, std::optional<int> exit_code);

 private:
  Result<CheckDef> PutCheckTx(store::Tx& tx, const std::string& actor, CheckDef def,
                              std::optional<int64_t> expected_version, bool create);
  Result<MaintenanceWindow> PutWindowTx(store::Tx& tx, const std::string& actor,
                                        MaintenanceWindow w,
                                        std::optional<int64_t> expected_version, bool create);
  Result<std::optional<CheckDef>> FindCheck(store::Tx& tx, const std::string& id) const;
  // What an update needs of the stored check, without decoding (and re-preparing) its probe.
  struct StoredCheck {
    std::string doc, ping_token;
    int64_t version = 0;
    Timestamp created_at{}, updated_at{};
  };
  Result<std::optional<StoredCheck>> FindStoredCheck(store::Tx& tx, const std::string& id) const;
  Result<std::optional<MaintenanceWindow>> FindWindow(store::Tx& tx,
                                                      const std::string& name) const;
  Result<std::vector<Interval>> MaintenanceFor(store::Tx& tx, const CheckDef& def, Timestamp from,
                                               Timestamp to) const;
  Result<ResponseTimes> ResponseTimesFor(store::Tx& tx, const std::vector<std::string>& ids,
                                         Timestamp from, Timestamp to) const;

  store::Store& store_;
  const events::EventLog& log_;
  const Clock& clock_;
  catalog::CatalogService& catalog_;
  std::unique_ptr<Monitor> monitor_;
};

// Registers `kind: Check` and `kind: MaintenanceWindow`.
void RegisterKinds(config::KindRegistry& registry, ChecksService& checks);

}  // namespace platops::checks
