#pragma once
// ServerConfig: every option of `platops serve`, its default and its limits. Sources, lowest to
// highest precedence: built-in defaults, the YAML config file, command-line flags, PLATOPS_*
// environment variables (docs/configuration.md lists the mapping).
// Thread-safety: a value type.

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "base/status.h"

namespace platops::server {

struct ServerConfig {
  // Where platops.db lives. Env PLATOPS_DATA_DIR. Default "./data".
  std::string data_dir = "./data";
  // HOST:PORT to listen on. Env PLATOPS_LISTEN. Default "127.0.0.1:9470".
  std::string listen = "127.0.0.1:9470";
  // Seed the demo catalog from demo_dir through apply. Env PLATOPS_DEMO. Default false.
  bool demo = false;
  // Directory of the demo documents. Env PLATOPS_DEMO_DIR. Default "examples/demo".
  std::string demo_dir = "examples/demo";

  struct Log {
    std::string format = "text";  // text | json. Env PLATOPS_LOG_FORMAT.
    std::string level = "info";   // trace | debug | info | warn | error. Env PLATOPS_LOG_LEVEL.
    bool access_log = true;       // one line per request. Env PLATOPS_LOG_ACCESS.
  } log;

  struct Http {
    int io_threads = 0;                             // 0: number of cores
    int worker_threads = 0;                         // 0: 2 x cores, at least 4
    size_t max_body_bytes = 8 * 1024 * 1024;        // 413 above. Env PLATOPS_HTTP_MAX_BODY_BYTES.
    size_t max_header_bytes = 64 * 1024;            // 431 above
    std::chrono::milliseconds read_timeout{30000};  // a whole request must arrive in this
    std::chrono::milliseconds idle_timeout{60000};  // idle keep-alive connections closed after
    int max_connections = 1024;
    std::chrono::milliseconds shutdown_grace{10000};  // in-flight requests get this on SIGTERM
  } http;

  struct Tls {
    std::string cert_file;  // PEM chain; HTTPS when both are set. Env PLATOPS_TLS_CERT_FILE.
    std::string key_file;   // PEM key. Env PLATOPS_TLS_KEY_FILE.
  } tls;

  struct Store {
    int readers = 4;                               // reader connections, 1..64
    std::chrono::milliseconds busy_timeout{5000};  // wait for a lock held by another process
    bool sync_full = true;  // fsync every commit (power-loss safe); false: crash-safe only
  } store;

  struct Checks {
    int probe_threads = 1;     // threads driving HTTP and TLS probes (libcurl multi), 1..16
    int max_concurrent = 2000; // probes in flight at once, all kinds, 1..100000
    int max_exec = 32;         // exec-check children alive at once, 1..1024
    std::chrono::milliseconds results_retention{std::chrono::hours(48)};      // raw results
    std::chrono::milliseconds rollup_retention{std::chrono::hours(24 * 400)};  // hourly rollups
  } checks;

  struct HostMetrics {
    bool enabled = true;                          // collect this machine's node_* metrics
    std::chrono::milliseconds interval{15000};    // how often, >= 1s
  } host_metrics;

  struct Metrics {
    std::chrono::milliseconds retention{std::chrono::hours(24 * 15)};  // blocks older are deleted
    int64_t retention_size = 0;    // bytes of blocks kept at most; 0 = no size limit
    bool wal_sync = true;          // fdatasync before acknowledging samples (group commit)
    // How often the head is snapshotted while running, so a crash restart replays only the WAL
    // logged since; 0 = only at shutdown.
    std::chrono::milliseconds snapshot_interval{std::chrono::minutes(30)};
    int64_t max_series = 0;        // series in the head at most; 0 = unlimited
    bool anonymous_read = false;   // query API readable without a token
    std::chrono::milliseconds query_timeout{std::chrono::minutes(2)};
    int64_t query_max_samples = 50'000'000;  // samples one query may hold in memory
    int query_max_concurrent = 20;
    std::chrono::milliseconds lookback_delta{std::chrono::minutes(5)};
    std::chrono::milliseconds self_scrape_interval{15000};  // platops's own /metrics; 0 = off
    std::string prometheus_config;  // a prometheus.yml to load scrape configs and rules from
  } metrics;

  struct Alerting {
    // An Alertmanager configuration file (route, receivers, inhibit_rules, time_intervals,
    // global) to load; empty: every alert goes to a receiver named "default" that sends nothing.
    std::string alertmanager_config;
    // Rule files to load besides those metrics.prometheus_config names: comma-separated globs.
    std::string rule_files;
    // The URL users reach platops at: alert generator links, $externalURL in templates,
    // externalURL in notifications. Empty: http://<listen>.
    std::string external_url;
    // How long alert transitions (GET /api/v1/alerts/history) are kept.
    std::chrono::milliseconds history_retention{std::chrono::hours(24 * 30)};
    // Flap damping: more firing/resolved changes than this within flap_window make an alert
    // flapping (held firing, marked); 0 turns it off.
    int flap_max_transitions = 4;
    std::chrono::milliseconds flap_window{std::chrono::minutes(30)};
  } alerting;

  // Token of the first admin on an empty data dir. Env PLATOPS_BOOTSTRAP_TOKEN only (never in a
  // file). Empty: one is generated and printed once.
  std::string bootstrap_token;
};

// Reads the YAML file at `path` over the defaults. Unknown keys are errors naming the key.
Result<ServerConfig> LoadConfigFile(const std::string& path, ServerConfig base = {});
// Applies PLATOPS_* variables from `env` (name -> value) over `config`.
Status ApplyEnvironment(const std::map<std::string, std::string>& env, ServerConfig& config);
// The process environment as a map.
std::map<std::string, std::string> ProcessEnvironment();
// Checks ranges and combinations: listen address, thread counts, limits, TLS files exist.
Status Validate(const ServerConfig& config);
// Splits "HOST:PORT" ("[::1]:9470" for IPv6).
Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen);

// A commented YAML file with every option at its default (`platops config default`).
std::string DefaultConfigYaml();

}  // namespace platops::server
