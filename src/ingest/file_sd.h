#pragma once
// Target groups and Prometheus's file-based service discovery (file_sd_configs): the file format
// (a JSON array or YAML list of {targets: [...], labels: {...}}) and FileSd, which re-reads the
// files matching a list of globs when they change and every refresh interval. No thread inside:
// the owner calls Poll(now). Also the YAML reading shared by the Prometheus config parsers.
// Thread-safety: free functions are pure; FileSd is externally synchronized.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "metrics/labels.h"

namespace boost::json {
class value;
}

namespace platops::ingest {

// One group of targets sharing labels, as service discovery hands them to scraping.
struct TargetGroup {
  // Addresses ("host:port"), each becoming the __address__ of one target.
  std::vector<std::string> targets;
  // Labels of every target of the group (sorted; empty values dropped). file_sd adds
  // __meta_filepath.
  metrics::Labels labels;
  // Where the group came from: "<file>:<index>" for file_sd, the config path for static_configs.
  std::string source;
  bool operator==(const TargetGroup&) const = default;
};

// Reads YAML the way Prometheus's yaml.v2 decoding sees it, as JSON for the typed readers: every
// scalar stays the text it was written as (a JSON string, so `version: 1.10` keeps "1.10"), and a
// plain null, ~ or empty value becomes null. Only the first document is read; empty text is null.
// Mapping keys must be scalars and unique; merge keys (<<: *anchor) are applied. Errors name the
// line.
Result<boost::json::value> PromYamlToJson(std::string_view text);

// Parses a list of target groups (static_configs, or a file_sd file's content); null is an empty
// list. Each group takes only `targets` (strings) and `labels` (valid label names to strings);
// unknown keys are errors, as in Prometheus. Errors name the field under `path`
// ("<path>[1].labels").
Result<std::vector<TargetGroup>> ParseTargetGroups(const boost::json::value& list,
                                                   std::string_view path);

// Parses a file_sd file: JSON when `file_path` ends in .json, YAML for .yml/.yaml (any case).
// Every group gets __meta_filepath=`file_path` and source "<file_path>:<index>".
Result<std::vector<TargetGroup>> ParseFileSdContent(std::string_view content,
                                                    std::string_view file_path);

// Prometheus's rule for file_sd `files` entries: a '*' only in the last path element, and a
// .json, .yml or .yaml (or upper-case) extension.
bool IsValidFileSdPattern(std::string_view pattern);

// The files matching each glob (Go filepath.Glob semantics: '*', '?', '[...]'; '*' does not cross
// '/', does match a leading '.'), in pattern order, sorted within a pattern, without duplicates.
std::vector<std::string> ExpandGlobs(const std::vector<std::string>& patterns);

// What one FileSd::Poll found.
struct FileSdUpdate {
  // Every current target group on the first Poll and whenever they differ from the previous
  // Poll's; nullopt otherwise.
  std::optional<std::vector<TargetGroup>> groups;
  // Files that could not be read or parsed in this Poll; each keeps its last good groups.
  std::vector<Status> errors;
};

class FileSd {
 public:
  static constexpr std::chrono::milliseconds kDefaultRefreshInterval = std::chrono::minutes(5);

  // `patterns` are globs, already resolved against the config file's directory.
  // REQUIRES: refresh_interval > 0.
  explicit FileSd(std::vector<std::string> patterns,
                  std::chrono::milliseconds refresh_interval = kDefaultRefreshInterval);

  // Lists the files matching the patterns and re-reads those that are new or whose mtime or size
  // changed; on the first call and once `refresh_interval` has passed since the last full read,
  // re-reads them all. Files that no longer match lose their groups; a file that fails to read or
  // parse keeps the groups of its last good read and is reported in `errors`. Call it every few
  // seconds.
  FileSdUpdate Poll(Timestamp now);

  // The current target groups (empty before the first Poll).
  const std::vector<TargetGroup>& groups() const { return groups_; }
  const std::vector<std::string>& patterns() const { return patterns_; }
  // When the next Poll re-reads every file regardless of changes.
  Timestamp next_full_refresh() const { return last_full_ + refresh_interval_; }

 private:
  struct FileState {
    std::filesystem::file_time_type mtime;
    uintmax_t size = 0;
    std::vector<TargetGroup> groups;  // From the last good read.
  };

  std::vector<std::string> patterns_;
  std::chrono::milliseconds refresh_interval_;
  bool polled_ = false;
  Timestamp last_full_{};
  std::map<std::string, FileState> files_;
  std::vector<TargetGroup> groups_;
};

}  // namespace platops::ingest
