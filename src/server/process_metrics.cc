#include "server/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace platops::server {

namespace {

using Samples = std::vector<std::pair<LabelValues, double>>;

double ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  in >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double VirtualBytes() {
  std::ifstream in("/proc/self/statm");
  long pages_total = 0;
  in >> pages_total;
  return static_cast<double>(pages_total) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double OpenFds() {
  std::error_code ec;
  double n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

double MaxFds() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  return static_cast<double>(rl.rlim_cur);
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

}  // namespace

void RegisterProcessMetrics(MetricsRegistry& metrics, const std::string& version) {
  const double start =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  metrics.Gauge("platops_build_info", "A metric with a constant 1 labelled by the build version.",
                {"version"}, [version] {
                  return Samples{{{version}, 1}};
                });
  metrics.Gauge(
      "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", {},
      [] {
        return Samples{{{}, CpuSeconds()}};
      },
      /*is_counter=*/true);
  metrics.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {}, [] {
    return Samples{{{}, ResidentBytes()}};
  });
  metrics.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {}, [] {
    return Samples{{{}, VirtualBytes()}};
  });
  metrics.Gauge("process_open_fds", "Number of open file descriptors.", {}, [] {
    return Samples{{{}, OpenFds()}};
  });
  metrics.Gauge("process_max_fds", "Maximum number of open file descriptors.", {}, [] {
    return Samples{{{}, MaxFds()}};
  });
  metrics.Gauge("process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.", {}, [start] {
                  return Samples{{{}, start}};
                });
}

}  // namespace platops::server
