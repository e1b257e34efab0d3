#pragma once
// Collector: reads the host's /proc files and statfs into node_exporter-compatible metric families
// (same names, help, label names and units), so stock Grafana node dashboards work on platops.
// Thread-safety: externally synchronized (Collect reuses internal read buffers); Snapshot is a
// plain value.

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace platops::hostmetrics {

struct CollectorOptions {
  // Where procfs is mounted; tests point it at a fixture tree. Must be an existing directory.
  std::string proc_root = "/proc";
  // The mount table walked for node_filesystem_*; empty means <proc_root>/self/mounts.
  std::string mounts_file;
  // statfs() on a dead NFS/CIFS/sshfs server blocks in the kernel and cannot be interrupted, so
  // network filesystems (kNetworkFsTypes in collector.cc) are skipped unless this is true. When
  // true, a hung server blocks the collecting thread (and HostMetrics::Stop) until the kernel
  // gives up.
  bool include_network_filesystems = false;
};

// One metric family in the Prometheus data model; sample label values follow label_names.
struct Family {
  std::string name;
  std::string help;
  bool counter = false;
  std::vector<std::string> label_names;
  std::vector<std::pair<std::vector<std::string>, double>> samples;
};

// A collector group (node_exporter's collector name: "cpu", "meminfo", ...) that failed.
struct CollectorError {
  std::string collector;
  Status status;
};

struct Snapshot {
  Timestamp time;  // from the injected Clock, when the collection started
  // Fixed families are always present (without samples when their group failed); the
  // node_memory_* families follow the fields of /proc/meminfo and are absent when it failed.
  std::vector<Family> families;
  std::vector<CollectorError> errors;

  const Family* Find(std::string_view name) const;
  // The value of the sample of family `name` with exactly these label values, if any.
  std::optional<double> Value(std::string_view name,
                              const std::vector<std::string>& label_values = {}) const;
};

class Collector {
 public:
  // `clock` must outlive the collector; it stamps snapshots and feeds node_time_seconds.
  Collector(CollectorOptions options, const Clock& clock);

  // Reads every group. A group whose file is missing or malformed is listed in Snapshot::errors
  // and has node_scrape_collector_success{collector} 0; the other groups still report.
  // Fails only when proc_root is not a directory (a configuration error).
  Result<Snapshot> Collect();

 private:
  // A read buffer kept across collections, so steady-state reads do not allocate.
  class FileBuffer {
   public:
    // The whole file, read with read(2); valid until the next Read.
    Result<std::string_view> Read(const std::string& path);

   private:
    std::string data_;
  };

  Status CollectCpu(Snapshot& snap, const Result<std::string_view>& stat);
  Status CollectStat(Snapshot& snap, const Result<std::string_view>& stat);
  Status CollectLoadavg(Snapshot& snap);
  Status CollectMeminfo(Snapshot& snap);
  Status CollectFilesystem(Snapshot& snap);
  Status CollectDiskstats(Snapshot& snap);
  Status CollectNetdev(Snapshot& snap);
  Status CollectFilefd(Snapshot& snap);

  CollectorOptions options_;
  const Clock& clock_;
  double user_hz_;
  std::string stat_path_, loadavg_path_, meminfo_path_, diskstats_path_, netdev_path_,
      file_nr_path_, mounts_path_;
  FileBuffer stat_buf_;  // /proc/stat feeds two groups, so it keeps its own buffer
  FileBuffer buf_;
  std::vector<std::pair<std::string, double>> meminfo_fields_;
  std::unordered_set<std::string> seen_mounts_;
};

}  // namespace platops::hostmetrics
