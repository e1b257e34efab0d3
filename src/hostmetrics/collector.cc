#include "hostmetrics/collector.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>

#include "base/strings.h"

namespace platops::hostmetrics {

namespace {

using LabelValues = std::vector<std::string>;

// node_exporter's default --collector.filesystem.fs-types-exclude, as an exact-match list.
constexpr std::array<std::string_view, 24> kIgnoredFsTypes = {
    "autofs",     "binfmt_misc", "bpf",       "cgroup",   "cgroup2",   "configfs",
    "debugfs",    "devpts",      "devtmpfs",  "fusectl",  "hugetlbfs", "iso9660",
    "mqueue",     "nsfs",        "overlay",   "proc",     "procfs",    "pstore",
    "rpc_pipefs", "securityfs",  "selinuxfs", "squashfs", "sysfs",     "tracefs"};

// Filesystems whose statfs() can block on a remote server; see
// CollectorOptions::include_network_filesystems.
constexpr std::array<std::string_view, 11> kNetworkFsTypes = {
    "nfs",  "nfs4",           "cifs",      "smb3",   "smbfs", "fuse.sshfs",
    "ceph", "fuse.glusterfs", "glusterfs", "lustre", "afs"};

constexpr std::array<std::string_view, 8> kCpuModes = {"user",   "nice", "system",  "idle",
                                                       "iowait", "irq",  "softirq", "steal"};

constexpr double kSectorBytes = 512;  // diskstats counts 512-byte sectors whatever the device
constexpr double kSecondsPerMs = 1e-3;

bool Contains(const auto& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// node_exporter's default mount-points-exclude:
// ^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)
bool IgnoredMountPoint(std::string_view mp) {
  for (std::string_view dir : {"/dev", "/proc", "/sys"}) {
    if (mp.starts_with(dir) && (mp.size() == dir.size() || mp[dir.size()] == '/')) return true;
  }
  for (std::string_view parent :
       {"/run/credentials/", "/var/lib/docker/", "/var/lib/containers/storage/"}) {
    if (mp.size() > parent.size() && mp.starts_with(parent)) return true;
  }
  return false;
}

// node_exporter's default diskstats device-exclude:
// ^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$
// Every alternative ends in a non-digit, so the prefix is the name minus its trailing digits.
bool IgnoredDisk(std::string_view name) {
  size_t end = name.size();
  while (end > 0 && IsDigit(name[end - 1])) --end;
  if (end == name.size() || end == 0) return false;
  std::string_view p = name.substr(0, end);
  if (p == "ram" || p == "zram" || p == "loop" || p == "fd") return true;
  auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  if (p.size() == 3 && (p[0] == 'h' || p[0] == 's' || p[0] == 'v') && p[1] == 'd' && is_lower(p[2]))
    return true;
  if (p.size() == 4 && p.starts_with("xvd") && is_lower(p[3])) return true;
  // nvme\d+n\d+p
  if (!p.starts_with("nvme") || p.back() != 'p') return false;
  std::string_view mid = p.substr(4, p.size() - 5);  // \d+n\d+
  size_t n = mid.find('n');
  if (n == std::string_view::npos || n == 0 || n + 1 == mid.size()) return false;
  auto all_digits = [](std::string_view s) { return std::all_of(s.begin(), s.end(), IsDigit); };
  return all_digits(mid.substr(0, n)) && all_digits(mid.substr(n + 1));
}

// Decodes the octal escapes (\040 space, \011 tab, \134 backslash, \012 newline) of mount paths.
std::string UnescapeMountField(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Cuts the next line (without its '\n') off the front of `rest`.
std::string_view NextLine(std::string_view& rest) {
  size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  return line;
}

// Cuts the next space- or tab-separated field off the front of `rest`; empty at the end.
std::string_view NextField(std::string_view& rest) {
  size_t start = rest.find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  size_t end = rest.find_first_of(" \t");
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return field;
}

std::optional<double> ParseUint(std::string_view s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return static_cast<double>(v);
}

std::optional<double> ParseDouble(std::string_view s) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

Status Malformed(const std::string& path, int line, std::string_view what, std::string_view got) {
  return Internal(path + ": line " + std::to_string(line) + ": " + std::string(what) + ", got \"" +
                  Abbreviate(got) + "\"");
}

Family& AddFamily(Snapshot& snap, std::string name, std::string help, bool counter,
                  std::vector<std::string> label_names) {
  snap.families.push_back({std::move(name), std::move(help), counter, std::move(label_names), {}});
  return snap.families.back();
}

// Families a group fills; pointers stay valid because the group adds no family after them.
template <size_t N>
std::array<Family*, N> LastFamilies(Snapshot& snap) {
  std::array<Family*, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = &snap.families[snap.families.size() - N + i];
  return out;
}

}  // namespace

const Family* Snapshot::Find(std::string_view name) const {
  for (const Family& f : families)
    if (f.name == name) return &f;
  return nullptr;
}

std::optional<double> Snapshot::Value(std::string_view name,
                                      const std::vector<std::string>& label_values) const {
  const Family* f = Find(name);
  if (!f) return std::nullopt;
  for (const auto& [labels, v] : f->samples)
    if (labels == label_values) return v;
  return std::nullopt;
}

Result<std::string_view> Collector::FileBuffer::Read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFound(path + ": no such file");
    return Internal(path + ": cannot open: " + std::strerror(err));
  }
  size_t used = 0;
  while (true) {
    if (used == data_.size()) data_.resize(std::max<size_t>(16384, data_.size() * 2));
    ssize_t n = ::read(fd, data_.data() + used, data_.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Internal(path + ": cannot read: " + std::strerror(err));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  return std::string_view(data_.data(), used);
}

Collector::Collector(CollectorOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  long hz = ::sysconf(_SC_CLK_TCK);
  user_hz_ = hz > 0 ? static_cast<double>(hz) : 100;
  const std::string& root = options_.proc_root;
  stat_path_ = root + "/stat";
  loadavg_path_ = root + "/loadavg";
  meminfo_path_ = root + "/meminfo";
  diskstats_path_ = root + "/diskstats";
  netdev_path_ = root + "/net/dev";
  file_nr_path_ = root + "/sys/fs/file-nr";
  mounts_path_ = options_.mounts_file.empty() ? root + "/self/mounts" : options_.mounts_file;
}

Result<Snapshot> Collector::Collect() {
  struct stat st {};
  if (::stat(options_.proc_root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return InvalidArgument("must be an existing directory, got \"" + options_.proc_root + "\"",
                           "proc_root");

  Snapshot snap;
  snap.time = clock_.Now();
  snap.families.reserve(128);
  std::vector<std::pair<LabelValues, double>> success, duration;

  // Runs one group; on failure its samples are dropped, so a group reports all or nothing.
  auto run = [&](const char* collector, auto&& fn) {
    size_t first = snap.families.size();
    auto start = std::chrono::steady_clock::now();
    Status status = fn();
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    success.push_back({{collector}, status.ok() ? 1.0 : 0.0});
    duration.push_back({{collector}, took.count()});
    if (!status.ok()) {
      for (size_t i = first; i < snap.families.size(); ++i) snap.families[i].samples.clear();
      snap.errors.push_back({collector, std::move(status)});
    }
  };

  std::optional<Result<std::string_view>> stat;  // read once for both "cpu" and "stat"
  run("cpu", [&] {
    stat.emplace(stat_buf_.Read(stat_path_));
    return CollectCpu(snap, *stat);
  });
  run("diskstats", [&] { return CollectDiskstats(snap); });
  run("filefd", [&] { return CollectFilefd(snap); });
  run("filesystem", [&] { return CollectFilesystem(snap); });
  run("loadavg", [&] { return CollectLoadavg(snap); });
  run("meminfo", [&] { return CollectMeminfo(snap); });
  run("netdev", [&] { return CollectNetdev(snap); });
  run("stat", [&] { return CollectStat(snap, *stat); });
  run("time", [&] {
    AddFamily(snap, "node_time_seconds", "System time in seconds since epoch (1970).", false, {})
        .samples.push_back(
            {{}, std::chrono::duration<double>(snap.time.time_since_epoch()).count()});
    return Status::Ok();
  });

  AddFamily(snap, "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.", false, {"collector"})
      .samples = std::move(duration);
  AddFamily(snap, "node_scrape_collector_success", "node_exporter: Whether a collector succeeded.",
            false, {"collector"})
      .samples = std::move(success);
  return snap;
}

Status Collector::CollectCpu(Snapshot& snap, const Result<std::string_view>& stat) {
  AddFamily(snap, "node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", true,
            {"cpu", "mode"});
  AddFamily(snap, "node_cpu_guest_seconds_total",
            "Seconds the CPUs spent in guests (VMs) for each mode.", true, {"cpu", "mode"});
  auto [seconds, guest] = LastFamilies<2>(snap);
  if (!stat.ok()) return stat.status();
  std::string_view rest = *stat;
  for (int line_no = 1; !rest.empty(); ++line_no) {
    std::string_view fields = NextLine(rest);
    std::string_view name = NextField(fields);
    // Only per-CPU lines ("cpu0"); the "cpu" total is their sum.
    if (name.size() <= 3 || !name.starts_with("cpu")) continue;
    std::string cpu(name.substr(3));
    // Kernels before 2.6.33 lack guest_nice; older ones also guest and steal.
    for (size_t i = 0; i < kCpuModes.size() + 2; ++i) {
      std::string_view field = NextField(fields);
      if (field.empty()) break;
      std::optional<double> ticks = ParseUint(field);
      if (!ticks) return Malformed(stat_path_, line_no, "expected CPU ticks", field);
      double secs = *ticks / user_hz_;
      if (i < kCpuModes.size()) {
        seconds->samples.push_back({{cpu, std::string(kCpuModes[i])}, secs});
      } else {
        guest->samples.push_back({{cpu, i == kCpuModes.size() ? "user" : "nice"}, secs});
      }
    }
  }
  if (seconds->samples.empty()) return Internal(stat_path_ + ": no per-CPU lines");
  return Status::Ok();
}

Status Collector::CollectStat(Snapshot& snap, const Result<std::string_view>& stat) {
  AddFamily(snap, "node_boot_time_seconds", "Node boot time, in unixtime.", false, {});
  AddFamily(snap, "node_context_switches_total", "Total number of context switches.", true, {});
  AddFamily(snap, "node_forks_total", "Total number of forks.", true, {});
  AddFamily(snap, "node_intr_total", "Total number of interrupts serviced.", true, {});
  AddFamily(snap, "node_procs_blocked", "Number of processes blocked waiting for I/O to complete.",
            false, {});
  AddFamily(snap, "node_procs_running", "Number of processes in runnable state.", false, {});
  auto [btime, ctxt, forks, intr, blocked, running] = LastFamilies<6>(snap);
  if (!stat.ok()) return stat.status();
  std::string_view rest = *stat;
  for (int line_no = 1; !rest.empty(); ++line_no) {
    std::string_view fields = NextLine(rest);
    std::string_view key = NextField(fields);
    Family* target = key == "btime"           ? btime
                     : key == "ctxt"          ? ctxt
                     : key == "processes"     ? forks
                     : key == "intr"          ? intr
                     : key == "procs_blocked" ? blocked
                     : key == "procs_running" ? running
                                              : nullptr;
    if (!target) continue;
    std::string_view field = NextField(fields);  // intr: the total, before per-IRQ counts
    std::optional<double> v = ParseUint(field);
    if (!v)
      return Malformed(stat_path_, line_no, "expected a number after " + std::string(key), field);
    target->samples.push_back({{}, *v});
  }
  return Status::Ok();
}

Status Collector::CollectLoadavg(Snapshot& snap) {
  AddFamily(snap, "node_load1", "1m load average.", false, {});
  AddFamily(snap, "node_load5", "5m load average.", false, {});
  AddFamily(snap, "node_load15", "15m load average.", false, {});
  std::array<Family*, 3> loads = LastFamilies<3>(snap);
  PLATOPS_ASSIGN_OR_RETURN(std::string_view rest, buf_.Read(loadavg_path_));
  for (Family* f : loads) {
    std::string_view field = NextField(rest);
    std::optional<double> v = ParseDouble(field);
    if (!v) return Malformed(loadavg_path_, 1, "expected a load average", field);
    f->samples.push_back({{}, *v});
  }
  return Status::Ok();
}

Status Collector::CollectMeminfo(Snapshot& snap) {
  PLATOPS_ASSIGN_OR_RETURN(std::string_view rest, buf_.Read(meminfo_path_));
  meminfo_fields_.clear();
  for (int line_no = 1; !rest.empty(); ++line_no) {
    std::string_view line = NextLine(rest);
    std::string_view key = NextField(line);
    if (key.empty()) continue;  // some kernels print blank lines
    std::string_view value = NextField(line);
    std::string_view unit = NextField(line);
    if (key.back() != ':' || !NextField(line).empty())
      return Malformed(meminfo_path_, line_no, "expected \"Key: value [kB]\"", key);
    key.remove_suffix(1);
    std::optional<double> v = ParseUint(value);
    if (!v) return Malformed(meminfo_path_, line_no, "expected a number", value);
    // node_exporter's naming: "Active(anon)" -> "Active_anon"; "_bytes" only with a kB unit.
    std::string name = "node_memory_";
    size_t open = key.find('(');
    size_t close = key.rfind(')');
    if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
      name.append(key.substr(0, open)).append("_");
      name.append(key.substr(open + 1, close - open - 1)).append(key.substr(close + 1));
    } else {
      name.append(key);
    }
    if (!unit.empty()) {
      if (unit != "kB") return Malformed(meminfo_path_, line_no, "expected unit kB", unit);
      name += "_bytes";
      *v *= 1024;
    }
    meminfo_fields_.emplace_back(std::move(name), *v);
  }
  for (auto& [name, v] : meminfo_fields_) {
    std::string field = name.substr(std::string_view("node_memory_").size());
    bool counter = name.ends_with("_total");
    AddFamily(snap, std::move(name), "Memory information field " + field + ".", counter, {})
        .samples.push_back({{}, v});
  }
  return Status::Ok();
}

Status Collector::CollectFilesystem(Snapshot& snap) {
  const std::vector<std::string> labels = {"device", "fstype", "mountpoint"};
  AddFamily(snap, "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.", false, labels);
  AddFamily(snap, "node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device.", false,
            labels);
  AddFamily(snap, "node_filesystem_files", "Filesystem total file nodes.", false, labels);
  AddFamily(snap, "node_filesystem_files_free", "Filesystem total free file nodes.", false, labels);
  AddFamily(snap, "node_filesystem_free_bytes", "Filesystem free space in bytes.", false, labels);
  AddFamily(snap, "node_filesystem_readonly", "Filesystem read-only status.", false, labels);
  AddFamily(snap, "node_filesystem_size_bytes", "Filesystem size in bytes.", false, labels);
  auto [avail, device_error, files, files_free, free_bytes, readonly, size] = LastFamilies<7>(snap);
  PLATOPS_ASSIGN_OR_RETURN(std::string_view rest, buf_.Read(mounts_path_));
  seen_mounts_.clear();
  for (int line_no = 1; !rest.empty(); ++line_no) {
    std::string_view line = NextLine(rest);
    std::string_view device = NextField(line);
    if (device.empty()) continue;
    std::string_view mount_point = NextField(line);
    std::string_view fstype = NextField(line);
    std::string_view options = NextField(line);
    if (options.empty())
      return Malformed(mounts_path_, line_no, "expected device, mount point, type and options",
                       device);
    if (Contains(kIgnoredFsTypes, fstype)) continue;
    if (!options_.include_network_filesystems && Contains(kNetworkFsTypes, fstype)) continue;
    std::string mp = UnescapeMountField(mount_point);
    if (IgnoredMountPoint(mp)) continue;
    LabelValues values = {UnescapeMountField(device), std::string(fstype), std::move(mp)};
    // A filesystem mounted twice at the same place yields one series, as in node_exporter.
    if (!seen_mounts_.insert(values[0] + '\0' + values[1] + '\0' + values[2]).second) continue;

    struct statfs fs {};
    if (::statfs(values[2].c_str(), &fs) != 0) {
      device_error->samples.emplace_back(std::move(values), 1);
      continue;
    }
    bool ro = false;
    for (std::string_view opts = options; !opts.empty();) {
      size_t comma = opts.find(',');
      if (opts.substr(0, comma) == "ro") ro = true;
      opts.remove_prefix(comma == std::string_view::npos ? opts.size() : comma + 1);
    }
    const double bsize = static_cast<double>(fs.f_bsize);
    avail->samples.emplace_back(values, static_cast<double>(fs.f_bavail) * bsize);
    device_error->samples.emplace_back(values, 0);
    files->samples.emplace_back(values, static_cast<double>(fs.f_files));
    files_free->samples.emplace_back(values, static_cast<double>(fs.f_ffree));
    free_bytes->samples.emplace_back(values, static_cast<double>(fs.f_bfree) * bsize);
    readonly->samples.emplace_back(values, ro ? 1.0 : 0.0);
    size->samples.emplace_back(std::move(values), static_cast<double>(fs.f_blocks) * bsize);
  }
  return Status::Ok();
}

Status Collector::CollectDiskstats(Snapshot& snap) {
  // Columns of /proc/diskstats after major, minor and name (Documentation/admin-guide/iostats):
  // the family, its help, whether it is a counter and the factor to its unit.
  struct Column {
    const char* name;
    const char* help;
    bool counter;
    double scale;
  };
  static constexpr std::array<Column, 17> kColumns = {{
      {"node_disk_reads_completed_total", "The total number of reads completed successfully.", true,
       1},
      {"node_disk_reads_merged_total", "The total number of reads merged.", true, 1},
      {"node_disk_read_bytes_total", "The total number of bytes read successfully.", true,
       kSectorBytes},
      {"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.", true,
       kSecondsPerMs},
      {"node_disk_writes_completed_total", "The total number of writes completed successfully.",
       true, 1},
      {"node_disk_writes_merged_total", "The number of writes merged.", true, 1},
      {"node_disk_written_bytes_total", "The total number of bytes written successfully.", true,
       kSectorBytes},
      {"node_disk_write_time_seconds_total",
       "This is the total number of seconds spent by all writes.", true, kSecondsPerMs},
      {"node_disk_io_now", "The number of I/Os currently in progress.", false, 1},
      {"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", true, kSecondsPerMs},
      {"node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.",
       true, kSecondsPerMs},
      // Linux 4.18+.
      {"node_disk_discards_completed_total", "The total number of discards completed successfully.",
       true, 1},
      {"node_disk_discards_merged_total", "The total number of discards merged.", true, 1},
      {"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.",
       true, 1},
      {"node_disk_discard_time_seconds_total",
       "This is the total number of seconds spent by all discards.", true, kSecondsPerMs},
      // Linux 5.5+.
      {"node_disk_flush_requests_total",
       "The total number of flush requests completed successfully", true, 1},
      {"node_disk_flush_requests_time_seconds_total",
       "This is the total number of seconds spent by all flush requests.", true, kSecondsPerMs},
  }};
  constexpr size_t kMinColumns = 11;  // every kernel since 2.6.25
  for (const Column& c : kColumns) AddFamily(snap, c.name, c.help, c.counter, {"device"});
  std::array<Family*, kColumns.size()> families = LastFamilies<kColumns.size()>(snap);
  PLATOPS_ASSIGN_OR_RETURN(std::string_view rest, buf_.Read(diskstats_path_));
  for (int line_no = 1; !rest.empty(); ++line_no) {
    std::string_view line = NextLine(rest);
    std::string_view major = NextField(line);
    if (major.empty()) continue;
    NextField(line);  // minor
    std::string_view device = NextField(line);
    if (device.empty()) return Malformed(diskstats_path_, line_no, "expected a device name", major);
    if (IgnoredDisk(device)) continue;
    std::array<double, kColumns.size()> values{};
    size_t n = 0;
    for (std::string_view field = NextField(line); !field.empty() && n < values.size();
         field = NextField(line)) {
      std::optional<double> v = ParseUint(field);
      if (!v) return Malformed(diskstats_path_, line_no, "expected a counter", field);
      values[n++] = *v;
    }
    if (n < kMinColumns)
      return Malformed(diskstats_path_, line_no, "expected at least 11 counters", device);
    std::string dev(device);
    for (size_t i = 0; i < n; ++i)
      families[i]->samples.push_back({{dev}, values[i] * kColumns[i].scale});
  }
  return Status::Ok();
}

Status Collector::CollectNetdev(Snapshot& snap) {
  static constexpr std::array<const char*, 16> kColumns = {
      "receive_bytes",  "receive_packets",  "receive_errs",       "receive_drop",
      "receive_fifo",   "receive_frame",    "receive_compressed", "receive_multicast",
      "transmit_bytes", "transmit_packets", "transmit_errs",      "transmit_drop",
      "transmit_fifo",  "transmit_colls",   "transmit_carrier",   "transmit_compressed"};
  for (const char* c : kColumns) {
    AddFamily(snap, std::string("node_network_") + c + "_total",
              std::string("Network device statistic ") + c + ".", true, {"device"});
  }
  std::array<Family*, kColumns.size()> families = LastFamilies<kColumns.size()>(snap);
  PLATOPS_ASSIGN_OR_RETURN(std::string_view rest, buf_.Read(netdev_path_));
  NextLine(rest);  // two header lines
  NextLine(rest);
  for (int line_no = 3; !rest.empty(); ++line_no) {
    std::string_view line = NextLine(rest);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    size_t colon = line.rfind(':');
    if (colon == std::string_view::npos)
      return Malformed(netdev_path_, line_no, "expected \"device: counters\"", line);
    std::string_view name = line.substr(0, colon);
    name.remove_prefix(std::min(name.find_first_not_of(" \t"), name.size()));
    std::string dev(name);
    line.remove_prefix(colon + 1);
    for (Family* f : families) {
      std::string_view field = NextField(line);
      std::optional<double> v = ParseUint(field);
      if (!v) return Malformed(netdev_path_, line_no, "expected 16 counters", field);
      f->samples.push_back({{dev}, *v});
    }
  }
  return Status::Ok();
}

Status Collector::CollectFilefd(Snapshot& snap) {
  AddFamily(snap, "node_filefd_allocated", "File descriptor statistics: allocated.", false, {});
  AddFamily(snap, "node_filefd_maximum", "File descriptor statistics: maximum.", false, {});
  auto [allocated, maximum] = LastFamilies<2>(snap);
  PLATOPS_ASSIGN_OR_RETURN(std::string_view rest, buf_.Read(file_nr_path_));
  // "allocated unused maximum"
  std::array<std::optional<double>, 3> v;
  std::array<std::string_view, 3> fields;
  for (size_t i = 0; i < 3; ++i) {
    fields[i] = NextField(rest);
    if (!fields[i].empty() && fields[i].back() == '\n') fields[i].remove_suffix(1);
    v[i] = ParseUint(fields[i]);
    if (!v[i]) return Malformed(file_nr_path_, 1, "expected three numbers", fields[i]);
  }
  allocated->samples.push_back({{}, *v[0]});
  maximum->samples.push_back({{}, *v[2]});
  return Status::Ok();
}

}  // namespace platops::hostmetrics
