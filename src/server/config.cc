#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "base/strings.h"
#include "base/time_util.h"

extern char** environ;

namespace platops::server {

namespace {

using Setter = std::function<Status(const std::string& value, ServerConfig& c)>;

Status ParseBool(const std::string& v, bool& out) {
  if (v == "true" || v == "1" || v == "yes")
    out = true;
  else if (v == "false" || v == "0" || v == "no")
    out = false;
  else
    return InvalidArgument("must be true or false, got \"" + Abbreviate(v) + "\"");
  return Status::Ok();
}

template <typename T>
Status ParseInt(const std::string& v, T& out, long long lo, long long hi) {
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi)
    return InvalidArgument("must be an integer " + std::to_string(lo) + ".." + std::to_string(hi) +
                           ", got \"" + Abbreviate(v) + "\"");
  out = static_cast<T>(n);
  return Status::Ok();
}

Status ParseMs(const std::string& v, std::chrono::milliseconds& out) {
  PLATOPS_ASSIGN_OR_RETURN(out, ParseDuration(v));
  return Status::Ok();
}

// Every option: its dotted config-file key and its environment variable.
struct Option {
  const char* key;
  const char* env;
  Setter set;
};

const std::vector<Option>& Options() {
  static const std::vector<Option> kOptions = {
      {"data_dir", "PLATOPS_DATA_DIR",
       [](const std::string& v, ServerConfig& c) {
         c.data_dir = v;
         return Status::Ok();
       }},
      {"listen", "PLATOPS_LISTEN",
       [](const std::string& v, ServerConfig& c) {
         c.listen = v;
         return Status::Ok();
       }},
      {"demo", "PLATOPS_DEMO",
       [](const std::string& v, ServerConfig& c) { return ParseBool(v, c.demo); }},
      {"demo_dir", "PLATOPS_DEMO_DIR",
       [](const std::string& v, ServerConfig& c) {
         c.demo_dir = v;
         return Status::Ok();
       }},
      {"log.format", "PLATOPS_LOG_FORMAT",
       [](const std::string& v, ServerConfig& c) {
         c.log.format = v;
         return Status::Ok();
       }},
      {"log.level", "PLATOPS_LOG_LEVEL",
       [](const std::string& v, ServerConfig& c) {
         c.log.level = v;
         return Status::Ok();
       }},
      {"log.access_log", "PLATOPS_LOG_ACCESS",
       [](const std::string& v, ServerConfig& c) { return ParseBool(v, c.log.access_log); }},
      {"http.io_threads", "PLATOPS_HTTP_IO_THREADS",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.http.io_threads, 0, 256);
       }},
      {"http.worker_threads", "PLATOPS_HTTP_WORKER_THREADS",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.http.worker_threads, 0, 1024);
       }},
      {"http.max_body_bytes", "PLATOPS_HTTP_MAX_BODY_BYTES",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.http.max_body_bytes, 1024, 1LL << 30);
       }},
      {"http.max_header_bytes", "PLATOPS_HTTP_MAX_HEADER_BYTES",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.http.max_header_bytes, 1024, 1 << 20);
       }},
      {"http.read_timeout", "PLATOPS_HTTP_READ_TIMEOUT",
       [](const std::string& v, ServerConfig& c) { return ParseMs(v, c.http.read_timeout); }},
      {"http.idle_timeout", "PLATOPS_HTTP_IDLE_TIMEOUT",
       [](const std::string& v, ServerConfig& c) { return ParseMs(v, c.http.idle_timeout); }},
      {"http.max_connections", "PLATOPS_HTTP_MAX_CONNECTIONS",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.http.max_connections, 1, 1000000);
       }},
      {"http.shutdown_grace", "PLATOPS_HTTP_SHUTDOWN_GRACE",
       [](const std::string& v, ServerConfig& c) { return ParseMs(v, c.http.shutdown_grace); }},
      {"tls.cert_file", "PLATOPS_TLS_CERT_FILE",
       [](const std::string& v, ServerConfig& c) {
         c.tls.cert_file = v;
         return Status::Ok();
       }},
      {"tls.key_file", "PLATOPS_TLS_KEY_FILE",
       [](const std::string& v, ServerConfig& c) {
         c.tls.key_file = v;
         return Status::Ok();
       }},
      {"checks.probe_threads", "PLATOPS_CHECKS_PROBE_THREADS",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.checks.probe_threads, 1, 16);
       }},
      {"checks.max_concurrent", "PLATOPS_CHECKS_MAX_CONCURRENT",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.checks.max_concurrent, 1, 100000);
       }},
      {"checks.max_exec", "PLATOPS_CHECKS_MAX_EXEC",
       [](const std::string& v, ServerConfig& c) { return ParseInt(v, c.checks.max_exec, 1, 1024); }},
      {"checks.results_retention", "PLATOPS_CHECKS_RESULTS_RETENTION",
       [](const std::string& v, ServerConfig& c) { return ParseMs(v, c.checks.results_retention); }},
      {"checks.rollup_retention", "PLATOPS_CHECKS_ROLLUP_RETENTION",
       [](const std::string& v, ServerConfig& c) { return ParseMs(v, c.checks.rollup_retention); }},
      {"metrics.retention", "PLATOPS_METRICS_RETENTION",
       [](const std::string& v, ServerConfig& c) { return ParseMs(v, c.metrics.retention); }},
      {"metrics.retention_size", "PLATOPS_METRICS_RETENTION_SIZE",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.metrics.retention_size, 0, 1LL << 60);
       }},
      {"metrics.wal_sync", "PLATOPS_METRICS_WAL_SYNC",
       [](const std::string& v, ServerConfig& c) { return ParseBool(v, c.metrics.wal_sync); }},
      {"metrics.snapshot_interval", "PLATOPS_METRICS_SNAPSHOT_INTERVAL",
       [](const std::string& v, ServerConfig& c) {
         return ParseMs(v, c.metrics.snapshot_interval);
       }},
      {"metrics.max_series", "PLATOPS_METRICS_MAX_SERIES",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.metrics.max_series, 0, 1LL << 40);
       }},
      {"metrics.anonymous_read", "PLATOPS_METRICS_ANONYMOUS_READ",
       [](const std::string& v, ServerConfig& c) {
         return ParseBool(v, c.metrics.anonymous_read);
       }},
      {"metrics.query_timeout", "PLATOPS_METRICS_QUERY_TIMEOUT",
       [](const std::string& v, ServerConfig& c) { return ParseMs(v, c.metrics.query_timeout); }},
      {"metrics.query_max_samples", "PLATOPS_METRICS_QUERY_MAX_SAMPLES",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.metrics.query_max_samples, 1, 1LL << 40);
       }},
      {"metrics.query_max_concurrent", "PLATOPS_METRICS_QUERY_MAX_CONCURRENT",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.metrics.query_max_concurrent, 1, 1024);
       }},
      {"metrics.lookback_delta", "PLATOPS_METRICS_LOOKBACK_DELTA",
       [](const std::string& v, ServerConfig& c) { return ParseMs(v, c.metrics.lookback_delta); }},
      {"metrics.self_scrape_interval", "PLATOPS_METRICS_SELF_SCRAPE_INTERVAL",
       [](const std::string& v, ServerConfig& c) {
         return ParseMs(v, c.metrics.self_scrape_interval);
       }},
      {"metrics.prometheus_config", "PLATOPS_METRICS_PROMETHEUS_CONFIG",
       [](const std::string& v, ServerConfig& c) {
         c.metrics.prometheus_config = v;
         return Status::Ok();
       }},
      {"alerting.alertmanager_config", "PLATOPS_ALERTING_ALERTMANAGER_CONFIG",
       [](const std::string& v, ServerConfig& c) {
         c.alerting.alertmanager_config = v;
         return Status::Ok();
       }},
      {"alerting.rule_files", "PLATOPS_ALERTING_RULE_FILES",
       [](const std::string& v, ServerConfig& c) {
         c.alerting.rule_files = v;
         return Status::Ok();
       }},
      {"alerting.external_url", "PLATOPS_ALERTING_EXTERNAL_URL",
       [](const std::string& v, ServerConfig& c) {
         c.alerting.external_url = v;
         return Status::Ok();
       }},
      {"alerting.history_retention", "PLATOPS_ALERTING_HISTORY_RETENTION",
       [](const std::string& v, ServerConfig& c) {
         return ParseMs(v, c.alerting.history_retention);
       }},
      {"alerting.flap_max_transitions", "PLATOPS_ALERTING_FLAP_MAX_TRANSITIONS",
       [](const std::string& v, ServerConfig& c) {
         return ParseInt(v, c.alerting.flap_max_transitions, 0, 1000);
       }},
      {"alerting.flap_window", "PLATOPS_ALERTING_FLAP_WINDOW",
       [](const std::string& v, ServerConfig& c) { return ParseMs(v, c.alerting.flap_window); }},
      {"host_metrics.enabled", "PLATOPS_HOST_METRICS_ENABLED",
       [](const std::string& v, ServerConfig& c) { return ParseBool(v, c.host_metrics.enabled); }},
      {"host_metrics.interval", "PLATOPS_HOST_METRICS_INTERVAL",
       [](const std::string& v, ServerConfig& c) { return ParseMs(v, c.host_metrics.interval); }},
      {"store.readers", "PLATOPS_STORE_READERS",
       [](const std::string& v, ServerConfig& c) { return ParseInt(v, c.store.readers, 1, 64); }},
      {"store.busy_timeout", "PLATOPS_STORE_BUSY_TIMEOUT",
       [](const std::string& v, ServerConfig& c) { return ParseMs(v, c.store.busy_timeout); }},
      {"store.sync_full", "PLATOPS_STORE_SYNC_FULL",
       [](const std::string& v, ServerConfig& c) { return ParseBool(v, c.store.sync_full); }},
  };
  return kOptions;
}

Status Walk(const YAML::Node& node, const std::string& prefix, ServerConfig& c) {
  for (const auto& kv : node) {
    std::string key =
        prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>();
    if (kv.second.IsMap()) {
      PLATOPS_RETURN_IF_ERROR(Walk(kv.second, key, c));
      continue;
    }
    const Option* opt = nullptr;
    for (const auto& o : Options())
      if (key == o.key) opt = &o;
    if (!opt) {
      if (key == "bootstrap_token")
        return InvalidArgument("is read from PLATOPS_BOOTSTRAP_TOKEN only, never from a file", key);
      return InvalidArgument("unknown option (see `platops config default`)", key);
    }
    if (!kv.second.IsScalar()) return InvalidArgument("must be a single value", key);
    PLATOPS_RETURN_IF_ERROR(opt->set(kv.second.Scalar(), c).WithFieldPrefix(key));
  }
  return Status::Ok();
}

}  // namespace

Result<ServerConfig> LoadConfigFile(const std::string& path, ServerConfig base) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    YAML::Node root = YAML::Load(ss.str());
    if (root.IsNull()) return base;
    if (!root.IsMap()) return InvalidArgument(path + ": the config must be a mapping");
    Status st = Walk(root, "", base);
    if (!st.ok()) return Status(st.code(), path + ": " + st.message(), st.field());
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path + ": invalid YAML at line " + std::to_string(e.mark.line + 1) +
                           ": " + e.msg);
  }
  return base;
}

Status ApplyEnvironment(const std::map<std::string, std::string>& env, ServerConfig& config) {
  for (const auto& o : Options()) {
    auto it = env.find(o.env);
    if (it == env.end()) continue;
    PLATOPS_RETURN_IF_ERROR(o.set(it->second, config).WithFieldPrefix(o.env));
  }
  if (auto it = env.find("PLATOPS_BOOTSTRAP_TOKEN"); it != env.end())
    config.bootstrap_token = it->second;
  return Status::Ok();
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos && StartsWith(kv, "PLATOPS_"))
      out.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return out;
}

Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  auto bad = [&] {
    return InvalidArgument(
        "must be HOST:PORT like 127.0.0.1:9470, got \"" + Abbreviate(listen) + "\"", "listen");
  };
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad();
  std::string host = listen.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']') return bad();
    host = host.substr(1, host.size() - 2);
  }
  uint16_t port = 0;
  if (!ParseInt(listen.substr(colon + 1), port, 0, 65535).ok()) return bad();
  return std::make_pair(host, port);
}

Status Validate(const ServerConfig& c) {
  PLATOPS_RETURN_IF_ERROR(ParseListen(c.listen).status());
  if (c.data_dir.empty()) return InvalidArgument("is required", "data_dir");
  if (c.log.format != "text" && c.log.format != "json")
    return InvalidArgument("must be text or json, got \"" + Abbreviate(c.log.format) + "\"",
                           "log.format");
  static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
  if (!kLevels.count(c.log.level))
    return InvalidArgument("must be one of trace, debug, info, warn, error", "log.level");
  if (c.tls.cert_file.empty() != c.tls.key_file.empty())
    return InvalidArgument("set both tls.cert_file and tls.key_file, or neither", "tls");
  for (const auto* f : {&c.tls.cert_file, &c.tls.key_file})
    if (!f->empty() && !std::filesystem::exists(*f))
      return InvalidArgument("file not found: " + *f,
                             f == &c.tls.cert_file ? "tls.cert_file" : "tls.key_file");
  if (c.http.read_timeout.count() < 100)
    return InvalidArgument("must be at least 100ms", "http.read_timeout");
  if (!c.bootstrap_token.empty() && c.bootstrap_token.size() < 16)
    return InvalidArgument("must be at least 16 characters", "PLATOPS_BOOTSTRAP_TOKEN");
  return Status::Ok();
}

std::string DefaultConfigYaml() {
  return R"(# platops server configuration. Every option is shown at its default.
# Precedence: defaults < this file < command-line flags < PLATOPS_* environment variables.

# Directory holding platops.db. Env PLATOPS_DATA_DIR, flag --data-dir.
data_dir: ./data
# Address to listen on, HOST:PORT. Env PLATOPS_LISTEN, flag --listen.
listen: 127.0.0.1:9470
# Seed the demo catalog on start. Env PLATOPS_DEMO, flag --demo.
demo: false
# Where the demo documents live. Env PLATOPS_DEMO_DIR.
demo_dir: examples/demo

log:
  # text or json (one JSON object per line). Env PLATOPS_LOG_FORMAT, flag --log-format.
  format: text
  # trace, debug, info, warn or error. Env PLATOPS_LOG_LEVEL.
  level: info
  # One line per HTTP request with its request id. Env PLATOPS_LOG_ACCESS.
  access_log: true

http:
  # Threads running the event loop; 0 means one per core. Env PLATOPS_HTTP_IO_THREADS.
  io_threads: 0
  # Threads running handlers that touch the store; 0 means 2 per core, at least 4.
  # Env PLATOPS_HTTP_WORKER_THREADS.
  worker_threads: 0
  # Largest request body in bytes; larger gets 413. Env PLATOPS_HTTP_MAX_BODY_BYTES.
  max_body_bytes: 8388608
  # Largest request line plus headers in bytes; larger gets 431. Env PLATOPS_HTTP_MAX_HEADER_BYTES.
  max_header_bytes: 65536
  # A whole request must arrive within this once it started. Env PLATOPS_HTTP_READ_TIMEOUT.
  read_timeout: 30s
  # Idle keep-alive connections are closed after this. Env PLATOPS_HTTP_IDLE_TIMEOUT.
  idle_timeout: 1m
  # Connections beyond this are closed at once. Env PLATOPS_HTTP_MAX_CONNECTIONS.
  max_connections: 1024
  # On SIGTERM, in-flight requests get this long to finish. Env PLATOPS_HTTP_SHUTDOWN_GRACE.
  shutdown_grace: 10s

tls:
  # PEM certificate chain and key; HTTPS when both are set.
  # Env PLATOPS_TLS_CERT_FILE, PLATOPS_TLS_KEY_FILE.
  cert_file: ""
  key_file: ""

checks:
  # Threads driving HTTP and TLS probes on libcurl multi handles (1..16).
  # Env PLATOPS_CHECKS_PROBE_THREADS.
  probe_threads: 1
  # Probes in flight at once, all kinds together; due checks beyond it wait.
  # Env PLATOPS_CHECKS_MAX_CONCURRENT.
  max_concurrent: 2000
  # Exec-check children alive at once (1..1024). Env PLATOPS_CHECKS_MAX_EXEC.
  max_exec: 32
  # How long raw check results are kept. Env PLATOPS_CHECKS_RESULTS_RETENTION.
  results_retention: 2d
  # How long hourly rollups and state history are kept (availability reports).
  # Env PLATOPS_CHECKS_ROLLUP_RETENTION.
  rollup_retention: 400d

metrics:
  # The built-in metrics store (under DATA_DIR/metrics) and its Prometheus-compatible API at
  # /prometheus/api/v1/. Blocks older than this are deleted. Env PLATOPS_METRICS_RETENTION.
  retention: 15d
  # Bytes of blocks kept at most, oldest deleted first; 0 = no limit.
  # Env PLATOPS_METRICS_RETENTION_SIZE.
  retention_size: 0
  # true: samples are fdatasynced before a write is acknowledged (concurrent writes share one
  # sync); false: they survive a crash of platops but not of the machine.
  # Env PLATOPS_METRICS_WAL_SYNC.
  wal_sync: true
  # The in-memory head is also written to a snapshot this often, so that a restart after a
  # crash loads it and replays only the WAL logged since (a clean shutdown always writes one);
  # 0 = only at shutdown. Env PLATOPS_METRICS_SNAPSHOT_INTERVAL.
  snapshot_interval: 30m
  # Series in memory at most (new series beyond it are rejected and counted); 0 = unlimited.
  # Env PLATOPS_METRICS_MAX_SERIES.
  max_series: 0
  # Let clients without a token use the read endpoints of the query API (for a Grafana without
  # credentials). Env PLATOPS_METRICS_ANONYMOUS_READ.
  anonymous_read: false
  # Query limits: time, samples held in memory, queries at once.
  # Env PLATOPS_METRICS_QUERY_TIMEOUT, PLATOPS_METRICS_QUERY_MAX_SAMPLES,
  # PLATOPS_METRICS_QUERY_MAX_CONCURRENT.
  query_timeout: 2m
  query_max_samples: 50000000
  query_max_concurrent: 20
  # How far back an instant selector looks for a sample. Env PLATOPS_METRICS_LOOKBACK_DELTA.
  lookback_delta: 5m
  # platops scrapes its own /metrics into the store this often; 0 turns it off.
  # Env PLATOPS_METRICS_SELF_SCRAPE_INTERVAL.
  self_scrape_interval: 15s
  # A Prometheus configuration file whose scrape_configs and rule_files platops loads.
  # Env PLATOPS_METRICS_PROMETHEUS_CONFIG.
  prometheus_config: ""

alerting:
  # An Alertmanager configuration file (route, receivers, inhibit_rules, time_intervals, global)
  # loaded as is; receiver kinds platops does not support are reported by name at start. Empty:
  # every alert goes to a receiver named "default" that sends nothing.
  # Env PLATOPS_ALERTING_ALERTMANAGER_CONFIG.
  alertmanager_config: ""
  # Prometheus rule files to load besides those metrics.prometheus_config names
  # (comma-separated globs). Env PLATOPS_ALERTING_RULE_FILES.
  rule_files: ""
  # The URL users reach platops at (alert links, $externalURL, notifications). Empty:
  # http://<listen>. Env PLATOPS_ALERTING_EXTERNAL_URL.
  external_url: ""
  # How long every firing/resolved transition is kept for GET /api/v1/alerts/history.
  # Env PLATOPS_ALERTING_HISTORY_RETENTION.
  history_retention: 30d
  # Flap damping: an alert changing between firing and resolved more than this many times
  # within flap_window is held firing and marked flapping="true" until it settles; 0: off.
  # Env PLATOPS_ALERTING_FLAP_MAX_TRANSITIONS, PLATOPS_ALERTING_FLAP_WINDOW.
  flap_max_transitions: 4
  flap_window: 30m

host_metrics:
  # Collect this machine's CPU, memory, disk, filesystem and network metrics (node_exporter
  # names) and serve them on /metrics. Env PLATOPS_HOST_METRICS_ENABLED.
  enabled: true
  # How often. Env PLATOPS_HOST_METRICS_INTERVAL.
  interval: 15s

store:
  # SQLite reader connections (1..64). Env PLATOPS_STORE_READERS.
  readers: 4
  # How long to wait for a lock held by another process. Env PLATOPS_STORE_BUSY_TIMEOUT.
  busy_timeout: 5s
  # true: fsync every commit, surviving power loss; false: survives a crash of platops only.
  # Concurrent writes share one fsync (group commit). Env PLATOPS_STORE_SYNC_FULL.
  sync_full: true

# The first admin token on an empty data dir is PLATOPS_BOOTSTRAP_TOKEN when set (at least 16
# characters); it is never read from this file.
)";
}

}  // namespace platops::server
