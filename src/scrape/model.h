#pragma once
// The definition of a scrape job (`kind: ScrapeTarget`) as the scrape module keeps it, and its
// conversion to the Prometheus scrape configuration the runtime runs. No JSON and no I/O here:
// codec.h turns documents into these, scrape.h stores them.
// Thread-safety: plain values.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "ingest/file_sd.h"
#include "ingest/prom_config.h"
#include "ingest/relabel.h"

namespace platops::scrape {

// Prometheus's global default is 1m; platops scrapes every 15s unless told otherwise, the
// interval most exporters document.
inline constexpr std::chrono::milliseconds kDefaultInterval{15000};
inline constexpr std::chrono::milliseconds kMinInterval{1000};
inline constexpr std::chrono::milliseconds kDefaultTimeout{10000};

struct FileSdSpec {
  // Globs (Prometheus's file_sd rules: '*' only in the last element, .json/.yml/.yaml).
  std::vector<std::string> files;
  std::chrono::milliseconds refresh_interval = ingest::FileSd::kDefaultRefreshInterval;  // > 0
};

struct BasicAuthSpec {
  std::string username;
  std::string password;       // At most one of password and password_file.
  std::string password_file;  // Read at every scrape, so a rotated secret is picked up.
};

struct TlsSpec {
  std::string ca_file;    // PEM; replaces the system trust store.
  std::string cert_file;  // Client certificate (PEM); needs key_file.
  std::string key_file;
  bool insecure_skip_verify = false;
};

struct ScrapeTargetDef {
  std::string job;      // The key: IsValidJobName. Also the `job` label of every series.
  std::string service;  // Optional catalog service slug; must exist.
  std::vector<std::string> targets;                       // "host:port", unique.
  std::chrono::milliseconds interval = kDefaultInterval;  // >= 1s
  // > 0 and <= interval; default min(10s, interval).
  std::chrono::milliseconds timeout = kDefaultTimeout;
  std::string path = "/metrics";  // Starts with '/'.
  std::string scheme = "http";    // http or https.
  std::map<std::string, std::vector<std::string>> params;
  std::map<std::string, std::string> labels;  // Added to every target (file_sd groups' own win).
  bool honor_labels = false;
  bool honor_timestamps = true;
  // 0 = no limit; as in Prometheus, exceeding one fails the whole scrape.
  uint64_t sample_limit = 0;
  uint64_t label_limit = 0;
  uint64_t label_name_length_limit = 0;
  uint64_t label_value_length_limit = 0;
  std::optional<FileSdSpec> file_sd;
  std::optional<BasicAuthSpec> basic_auth;  // At most one of basic_auth and a bearer token.
  std::string bearer_token;
  std::string bearer_token_file;  // Read at every scrape.
  std::optional<TlsSpec> tls;
  std::vector<ingest::RelabelConfig> relabel_configs;         // Compiled.
  std::vector<ingest::RelabelConfig> metric_relabel_configs;  // Compiled.
  // The normalised document (JSON text, without kind/version/timestamps): what export writes and
  // what the store keeps.
  std::string doc;

  int64_t version = 0;
  Timestamp created_at{}, updated_at{};
};

// 1..128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'.
bool IsValidJobName(std::string_view job);

// The Prometheus scrape configuration of a ScrapeTarget: its targets are one static group
// carrying `labels`; limits, auth and TLS carried over.
ingest::ScrapeConfig ToScrapeConfig(const ScrapeTargetDef& def);

}  // namespace platops::scrape
