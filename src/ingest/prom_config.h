#pragma once
// A Prometheus configuration file (prometheus.yml) read the way Prometheus 2.42+ / 3.x reads it:
// global defaults and their inheritance, scrape_configs with static_configs and file_sd_configs,
// relabeling, limits and HTTP client settings, rule_files; plus the per-target label computation
// Prometheus does before scraping (BuildTarget). Parts platops does not implement (other service
// discovery, remote_write, storage, tracing, unknown keys, ...) are reported by name in `warnings`,
// never silently dropped; invalid values are errors naming their path.
// Thread-safety: pure functions over values.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ingest/file_sd.h"
#include "ingest/relabel.h"
#include "metrics/labels.h"

namespace platops::ingest {

struct BasicAuth {
  std::string username;
  std::string username_file;  // Resolved against the config file's directory, like every *_file.
  std::string password;
  std::string password_file;
};

// The Authorization header: "<type> <credentials>". bearer_token / bearer_token_file become this.
struct Authorization {
  std::string type = "Bearer";
  std::string credentials;
  std::string credentials_file;
};

struct TlsConfig {
  std::string ca;  // Inline PEM; at most one of ca / ca_file.
  std::string ca_file;
  std::string cert;  // Inline PEM client certificate; needs key or key_file.
  std::string cert_file;
  std::string key;
  std::string key_file;
  std::string server_name;
  bool insecure_skip_verify = false;
  std::string min_version;  // "" or TLS10, TLS11, TLS12, TLS13.
  std::string max_version;
};

struct HttpClientConfig {
  std::optional<BasicAuth> basic_auth;
  std::optional<Authorization> authorization;
  TlsConfig tls;
  bool follow_redirects = true;
};

struct FileSdConfig {
  std::vector<std::string> files;  // Globs, resolved against the config file's directory.
  std::chrono::milliseconds refresh_interval = FileSd::kDefaultRefreshInterval;
};

// The limits shared by global and scrape configs; 0 means no limit. A job's 0 takes the global.
struct ScrapeLimits {
  uint64_t sample_limit = 0;
  uint64_t target_limit = 0;
  uint64_t label_limit = 0;
  uint64_t label_name_length_limit = 0;
  uint64_t label_value_length_limit = 0;
  uint64_t body_size_limit = 0;  // Bytes of uncompressed body ("10MB" = 10 MiB, as Prometheus).
  uint64_t keep_dropped_targets = 0;
};

struct GlobalConfig {
  std::chrono::milliseconds scrape_interval = std::chrono::minutes(1);
  // Default: the smaller of 10s and scrape_interval. Never above scrape_interval.
  std::chrono::milliseconds scrape_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds evaluation_interval = std::chrono::minutes(1);
  std::chrono::milliseconds rule_query_offset{0};
  // ${VAR} / $VAR in values are expanded from the environment, as Prometheus 3 does.
  metrics::Labels external_labels;
  ScrapeLimits limits;
};

struct ScrapeConfig {
  std::string job_name;  // Required, unique.
  // Inherited from global when unset; timeout defaults to min(global timeout, scrape_interval).
  std::chrono::milliseconds scrape_interval{0};
  std::chrono::milliseconds scrape_timeout{0};
  std::string metrics_path = "/metrics";
  std::string scheme = "http";  // http or https.
  std::map<std::string, std::vector<std::string>> params;
  bool honor_labels = false;
  bool honor_timestamps = true;
  bool enable_compression = true;
  std::vector<TargetGroup> static_configs;
  std::vector<FileSdConfig> file_sd_configs;
  std::vector<RelabelConfig> relabel_configs;         // Compiled.
  std::vector<RelabelConfig> metric_relabel_configs;  // Compiled.
  ScrapeLimits limits;                                // Global values filled in.
  HttpClientConfig http;
};

struct PromConfig {
  GlobalConfig global;
  // Glob patterns, resolved against the config file's directory; see RuleFilePaths.
  std::vector<std::string> rule_files;
  std::vector<ScrapeConfig> scrape_configs;
  // The `alerting` section as JSON text (scalars as strings), "" when absent; kept for the
  // alerting module (alertmanagers, alert_relabel_configs).
  std::string alerting_json;
  // Everything read but not applied, one line each, e.g. "scrape_configs[2] (job \"k8s\"):
  // kubernetes_sd_configs is not supported by platops; this job has no targets".
  std::vector<std::string> warnings;
};

// Parses prometheus.yml text. Relative file paths (rule_files, file_sd files, *_file) are joined
// to `directory` (none when empty). Errors are InvalidArgument with the field's path, e.g.
// field "scrape_configs[0].metric_relabel_configs[2].action", message "unknown action \"foo\"".
Result<PromConfig> ParsePromConfig(std::string_view yaml, std::string_view directory = {});
// Reads and parses a file; relative paths resolve against its directory.
Result<PromConfig> LoadPromConfigFile(const std::string& path);
// The rule files the patterns match now (see ExpandGlobs).
std::vector<std::string> RuleFilePaths(const PromConfig& config);

// Prometheus's spelling of a duration (model.Duration.String): "1m", "1m30s", "90d", "0s".
std::string FormatPromDuration(std::chrono::milliseconds d);

// What a target is after relabeling: where to scrape it and which labels its series get.
struct ScrapeTargetSpec {
  // scheme://__address__ + __metrics_path__ + ?query from params and __param_* labels.
  std::string url;
  // The labels every scraped series gets: target_labels without the "__"-prefixed ones.
  metrics::Labels labels;
  // All labels after relabeling, __meta_* removed, instance added (Prometheus's target labels).
  metrics::Labels target_labels;
  // The labels before relabeling (Prometheus's discovered labels).
  metrics::Labels discovered_labels;
  // From __scrape_interval__ / __scrape_timeout__ after relabeling.
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds timeout{0};
};

// The discovered labels of target `index` of `group`: __address__ plus the group labels (the
// target's own labels win).
metrics::Labels TargetSourceLabels(const TargetGroup& group, size_t index);

// Prometheus's PopulateLabels (3.x: no default port is added) and Target.URL: adds job,
// __scheme__, __metrics_path__, __scrape_interval__, __scrape_timeout__ and __param_<name> where
// absent, applies relabel_configs, checks __address__ and the interval labels, drops __meta_*,
// defaults instance to __address__. nullopt when relabeling dropped the target; InvalidArgument
// when it cannot be scraped ("no address", "\"a/b\" is not a valid hostname", ...).
Result<std::optional<ScrapeTargetSpec>> BuildTarget(const ScrapeConfig& config,
                                                    const metrics::Labels& source_labels);

// BuildTarget over every target of `groups`.
struct BuiltTargets {
  std::vector<ScrapeTargetSpec> active;
  std::vector<metrics::Labels> dropped;  // Discovered labels of targets relabeling dropped.
  // One per target that could not be built: "instance 0 in group <source>: no address".
  std::vector<Status> errors;
};
BuiltTargets BuildTargets(const ScrapeConfig& config, std::span<const TargetGroup> groups);

}  // namespace platops::ingest
