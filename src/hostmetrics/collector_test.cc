#include "hostmetrics/collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <set>

#include "hostmetrics/fake_proc.h"

namespace platops::hostmetrics {
namespace {

using ::testing::DoubleEq;
using ::testing::HasSubstr;
using ::testing::Optional;

class CollectorTest : public ::testing::Test {
 protected:
  CollectorOptions Options() const {
    return {.proc_root = proc_.proc_root(), .mounts_file = proc_.mounts_file()};
  }
  Snapshot Collect(const CollectorOptions& options) {
    Collector collector(options, clock_);
    Result<Snapshot> snap = collector.Collect();
    EXPECT_TRUE(snap.ok()) << snap.status().ToString();
    return snap.ok() ? std::move(snap).value() : Snapshot{};
  }
  Snapshot Collect() { return Collect(Options()); }

  // The label values of every sample of `family`, e.g. the devices it reports.
  static std::set<std::vector<std::string>> LabelSets(const Snapshot& snap,
                                                      const std::string& family) {
    std::set<std::vector<std::string>> out;
    const Family* f = snap.Find(family);
    EXPECT_NE(f, nullptr) << family;
    if (f)
      for (const auto& [labels, v] : f->samples) out.insert(labels);
    return out;
  }

  FakeProc proc_;
  FakeClock clock_;
  const double hz_ = static_cast<double>(::sysconf(_SC_CLK_TCK));
};

TEST_F(CollectorTest, CpuSecondsAreTicksOverUserHzPerCpuAndMode) {
  Snapshot snap = Collect();
  const Family* cpu = snap.Find("node_cpu_seconds_total");
  ASSERT_NE(cpu, nullptr);
  EXPECT_TRUE(cpu->counter);
  EXPECT_EQ(cpu->label_names, (std::vector<std::string>{"cpu", "mode"}));
  EXPECT_EQ(cpu->samples.size(), 16u);  // 2 CPUs x 8 modes; the "cpu" total line is not exported
  EXPECT_THAT(snap.Value("node_cpu_seconds_total", {"0", "user"}), Optional(DoubleEq(200 / hz_)));
  EXPECT_THAT(snap.Value("node_cpu_seconds_total", {"1", "idle"}), Optional(DoubleEq(2500 / hz_)));
  EXPECT_THAT(snap.Value("node_cpu_seconds_total", {"1", "iowait"}), Optional(DoubleEq(6 / hz_)));
  EXPECT_THAT(snap.Value("node_cpu_seconds_total", {"0", "softirq"}), Optional(DoubleEq(3 / hz_)));
  EXPECT_THAT(snap.Value("node_cpu_seconds_total", {"0", "steal"}), Optional(DoubleEq(0)));
  EXPECT_THAT(snap.Value("node_cpu_guest_seconds_total", {"1", "user"}),
              Optional(DoubleEq(7 / hz_)));
  EXPECT_THAT(snap.Value("node_cpu_guest_seconds_total", {"1", "nice"}),
              Optional(DoubleEq(1 / hz_)));
}

TEST_F(CollectorTest, KernelCountersFromStat) {
  Snapshot snap = Collect();
  EXPECT_THAT(snap.Value("node_context_switches_total"), Optional(DoubleEq(987654)));
  EXPECT_THAT(snap.Value("node_intr_total"), Optional(DoubleEq(123456)));
  EXPECT_THAT(snap.Value("node_forks_total"), Optional(DoubleEq(4242)));
  EXPECT_THAT(snap.Value("node_boot_time_seconds"), Optional(DoubleEq(1767225000)));
  EXPECT_THAT(snap.Value("node_procs_running"), Optional(DoubleEq(3)));
  EXPECT_THAT(snap.Value("node_procs_blocked"), Optional(DoubleEq(1)));
  EXPECT_TRUE(snap.Find("node_context_switches_total")->counter);
  EXPECT_FALSE(snap.Find("node_procs_running")->counter);
}

TEST_F(CollectorTest, LoadFileFdAndTime) {
  Snapshot snap = Collect();
  EXPECT_THAT(snap.Value("node_load1"), Optional(DoubleEq(0.52)));
  EXPECT_THAT(snap.Value("node_load5"), Optional(DoubleEq(1.25)));
  EXPECT_THAT(snap.Value("node_load15"), Optional(DoubleEq(2.0)));
  EXPECT_THAT(snap.Value("node_filefd_allocated"), Optional(DoubleEq(1024)));
  EXPECT_THAT(snap.Value("node_filefd_maximum"), Optional(DoubleEq(1048576)));
  EXPECT_THAT(snap.Value("node_time_seconds"), Optional(DoubleEq(1767225600)));
  EXPECT_EQ(snap.time, clock_.Now());
}

TEST_F(CollectorTest, MeminfoUsesNodeExporterNamesAndBytes) {
  Snapshot snap = Collect();
  EXPECT_THAT(snap.Value("node_memory_MemTotal_bytes"), Optional(DoubleEq(16384000.0 * 1024)));
  EXPECT_THAT(snap.Value("node_memory_MemAvailable_bytes"), Optional(DoubleEq(8192000.0 * 1024)));
  EXPECT_THAT(snap.Value("node_memory_SwapFree_bytes"), Optional(DoubleEq(1048576.0 * 1024)));
  EXPECT_THAT(snap.Value("node_memory_Active_anon_bytes"), Optional(DoubleEq(123456.0 * 1024)));
  EXPECT_THAT(snap.Value("node_memory_NFS_Unstable_bytes"), Optional(DoubleEq(0)));
  // No unit on the line: a count, with no _bytes suffix and no scaling.
  EXPECT_THAT(snap.Value("node_memory_HugePages_Total"), Optional(DoubleEq(4)));
  EXPECT_EQ(snap.Find("node_memory_HugePages_Total_bytes"), nullptr);
  EXPECT_EQ(snap.Find("node_memory_Active(anon)_bytes"), nullptr);
  const Family* total = snap.Find("node_memory_MemTotal_bytes");
  ASSERT_NE(total, nullptr);
  EXPECT_EQ(total->help, "Memory information field MemTotal_bytes.");
  EXPECT_FALSE(total->counter);
  size_t memory_families = 0;
  for (const Family& f : snap.families) memory_families += f.name.starts_with("node_memory_");
  EXPECT_EQ(memory_families, 11u);
}

TEST_F(CollectorTest, DiskstatsConvertsUnitsAndSkipsPartitionsAndVirtualDevices) {
  Snapshot snap = Collect();
  EXPECT_EQ(LabelSets(snap, "node_disk_reads_completed_total"),
            (std::set<std::vector<std::string>>{
                {"sda"}, {"nvme0n1"}, {"dm-0"}, {"hdc"}, {"sdaa1"}, {"mmcblk0p1"}}));
  EXPECT_THAT(snap.Value("node_disk_reads_completed_total", {"sda"}), Optional(DoubleEq(1000)));
  EXPECT_THAT(snap.Value("node_disk_reads_merged_total", {"sda"}), Optional(DoubleEq(50)));
  EXPECT_THAT(snap.Value("node_disk_read_bytes_total", {"sda"}), Optional(DoubleEq(80000 * 512.0)));
  EXPECT_THAT(snap.Value("node_disk_read_time_seconds_total", {"sda"}), Optional(DoubleEq(1.5)));
  EXPECT_THAT(snap.Value("node_disk_writes_completed_total", {"sda"}), Optional(DoubleEq(2000)));
  EXPECT_THAT(snap.Value("node_disk_writes_merged_total", {"sda"}), Optional(DoubleEq(100)));
  EXPECT_THAT(snap.Value("node_disk_written_bytes_total", {"sda"}),
              Optional(DoubleEq(160000 * 512.0)));
  EXPECT_THAT(snap.Value("node_disk_write_time_seconds_total", {"sda"}), Optional(DoubleEq(3.0)));
  EXPECT_THAT(snap.Value("node_disk_io_now", {"sda"}), Optional(DoubleEq(2)));
  EXPECT_THAT(snap.Value("node_disk_io_time_seconds_total", {"sda"}), Optional(DoubleEq(4.0)));
  EXPECT_THAT(snap.Value("node_disk_io_time_weighted_seconds_total", {"sda"}),
              Optional(DoubleEq(4.5)));
  EXPECT_FALSE(snap.Find("node_disk_io_now")->counter);
  EXPECT_TRUE(snap.Find("node_disk_read_bytes_total")->counter);
  // Discard and flush columns exist only on newer kernels' lines.
  EXPECT_THAT(snap.Value("node_disk_flush_requests_total", {"dm-0"}), Optional(DoubleEq(5)));
  EXPECT_THAT(snap.Value("node_disk_flush_requests_time_seconds_total", {"dm-0"}),
              Optional(DoubleEq(0.006)));
  EXPECT_THAT(snap.Value("node_disk_discarded_sectors_total", {"dm-0"}), Optional(DoubleEq(3)));
  EXPECT_EQ(snap.Value("node_disk_flush_requests_total", {"nvme0n1"}), std::nullopt);
  EXPECT_THAT(snap.Value("node_disk_io_time_weighted_seconds_total", {"nvme0n1"}),
              Optional(DoubleEq(0.007)));
}

TEST_F(CollectorTest, NetdevReportsEveryInterfaceAndColumn) {
  Snapshot snap = Collect();
  EXPECT_EQ(LabelSets(snap, "node_network_receive_bytes_total"),
            (std::set<std::vector<std::string>>{{"lo"}, {"eth0"}, {"enp0s31f6"}}));
  EXPECT_THAT(snap.Value("node_network_receive_bytes_total", {"eth0"}),
              Optional(DoubleEq(123456789)));
  EXPECT_THAT(snap.Value("node_network_receive_packets_total", {"eth0"}), Optional(DoubleEq(1000)));
  EXPECT_THAT(snap.Value("node_network_receive_errs_total", {"eth0"}), Optional(DoubleEq(1)));
  EXPECT_THAT(snap.Value("node_network_receive_drop_total", {"eth0"}), Optional(DoubleEq(2)));
  EXPECT_THAT(snap.Value("node_network_receive_multicast_total", {"eth0"}), Optional(DoubleEq(6)));
  EXPECT_THAT(snap.Value("node_network_transmit_bytes_total", {"eth0"}), Optional(DoubleEq(98765)));
  EXPECT_THAT(snap.Value("node_network_transmit_packets_total", {"eth0"}), Optional(DoubleEq(900)));
  EXPECT_THAT(snap.Value("node_network_transmit_errs_total", {"eth0"}), Optional(DoubleEq(7)));
  EXPECT_THAT(snap.Value("node_network_transmit_drop_total", {"eth0"}), Optional(DoubleEq(8)));
  EXPECT_THAT(snap.Value("node_network_transmit_compressed_total", {"eth0"}),
              Optional(DoubleEq(12)));
  EXPECT_THAT(snap.Value("node_network_receive_bytes_total", {"enp0s31f6"}),
              Optional(DoubleEq(555)));
  EXPECT_EQ(snap.Find("node_network_receive_bytes_total")->help,
            "Network device statistic receive_bytes.");
}

TEST_F(CollectorTest, FilesystemsFollowNodeExporterDefaults) {
  Snapshot snap = Collect();
  const std::string r = proc_.root().string();
  const Family* size = snap.Find("node_filesystem_size_bytes");
  ASSERT_NE(size, nullptr);
  EXPECT_EQ(size->label_names, (std::vector<std::string>{"device", "fstype", "mountpoint"}));
  // tmpfs is kept, pseudo filesystems, /dev, /run/credentials and docker layers are not, nfs4 is
  // skipped by default, and the duplicate /data line yields one series.
  EXPECT_EQ(LabelSets(snap, "node_filesystem_size_bytes"),
            (std::set<std::vector<std::string>>{{"/dev/sda1", "ext4", r + "/data"},
                                                {"tmpfs", "tmpfs", r + "/tmpfs"},
                                                {"/dev/sdb1", "ext4", r + "/ro dir"}}));
  EXPECT_EQ(LabelSets(snap, "node_filesystem_device_error"),
            (std::set<std::vector<std::string>>{{"/dev/sda1", "ext4", r + "/data"},
                                                {"tmpfs", "tmpfs", r + "/tmpfs"},
                                                {"/dev/sdb1", "ext4", r + "/ro dir"},
                                                {"/dev/sdc1", "ext4", r + "/missing"}}));
  EXPECT_THAT(snap.Value("node_filesystem_device_error", {"/dev/sdc1", "ext4", r + "/missing"}),
              Optional(DoubleEq(1)));
  EXPECT_EQ(snap.Value("node_filesystem_size_bytes", {"/dev/sdc1", "ext4", r + "/missing"}),
            std::nullopt);
  EXPECT_THAT(snap.Value("node_filesystem_device_error", {"/dev/sda1", "ext4", r + "/data"}),
              Optional(DoubleEq(0)));
  EXPECT_THAT(snap.Value("node_filesystem_readonly", {"/dev/sdb1", "ext4", r + "/ro dir"}),
              Optional(DoubleEq(1)));
  EXPECT_THAT(snap.Value("node_filesystem_readonly", {"/dev/sda1", "ext4", r + "/data"}),
              Optional(DoubleEq(0)));

  struct statfs fs {};
  ASSERT_EQ(::statfs((r + "/data").c_str(), &fs), 0);
  const std::vector<std::string> data = {"/dev/sda1", "ext4", r + "/data"};
  const double bsize = static_cast<double>(fs.f_bsize);
  EXPECT_THAT(snap.Value("node_filesystem_size_bytes", data),
              Optional(DoubleEq(static_cast<double>(fs.f_blocks) * bsize)));
  EXPECT_THAT(snap.Value("node_filesystem_files", data),
              Optional(DoubleEq(static_cast<double>(fs.f_files))));
  // Free space moves while other processes write; it is positive and within the size.
  std::optional<double> avail = snap.Value("node_filesystem_avail_bytes", data);
  std::optional<double> free = snap.Value("node_filesystem_free_bytes", data);
  ASSERT_TRUE(avail && free);
  EXPECT_GT(*avail, 0);
  EXPECT_LE(*avail, *free);
  EXPECT_LE(*free, static_cast<double>(fs.f_blocks) * bsize);
  EXPECT_GT(*snap.Value("node_filesystem_files_free", data), 0);
}

TEST_F(CollectorTest, NetworkFilesystemsOnlyWhenEnabled) {
  CollectorOptions options = Options();
  options.include_network_filesystems = true;
  Snapshot snap = Collect(options);
  EXPECT_THAT(snap.Value("node_filesystem_device_error",
                         {"server:/export", "nfs4", proc_.root().string() + "/nfs"}),
              Optional(DoubleEq(0)));
}

TEST_F(CollectorTest, AllCollectorsSucceedOnACompleteTree) {
  Snapshot snap = Collect();
  EXPECT_TRUE(snap.errors.empty());
  const Family* success = snap.Find("node_scrape_collector_success");
  ASSERT_NE(success, nullptr);
  EXPECT_EQ(success->label_names, (std::vector<std::string>{"collector"}));
  std::set<std::vector<std::string>> collectors;
  for (const auto& [labels, v] : success->samples) {
    collectors.insert(labels);
    EXPECT_EQ(v, 1) << labels[0];
  }
  EXPECT_EQ(collectors, (std::set<std::vector<std::string>>{{"cpu"},
                                                            {"diskstats"},
                                                            {"filefd"},
                                                            {"filesystem"},
                                                            {"loadavg"},
                                                            {"meminfo"},
                                                            {"netdev"},
                                                            {"stat"},
                                                            {"time"}}));
  EXPECT_EQ(LabelSets(snap, "node_scrape_collector_duration_seconds"), collectors);
}

TEST_F(CollectorTest, MissingFilesFailOnlyTheirGroup) {
  proc_.Remove("proc/diskstats");
  proc_.Remove("proc/net/dev");
  Snapshot snap = Collect();
  EXPECT_THAT(snap.Value("node_scrape_collector_success", {"diskstats"}), Optional(DoubleEq(0)));
  EXPECT_THAT(snap.Value("node_scrape_collector_success", {"netdev"}), Optional(DoubleEq(0)));
  EXPECT_THAT(snap.Value("node_scrape_collector_success", {"cpu"}), Optional(DoubleEq(1)));
  EXPECT_THAT(snap.Value("node_scrape_collector_success", {"meminfo"}), Optional(DoubleEq(1)));
  ASSERT_EQ(snap.errors.size(), 2u);
  EXPECT_EQ(snap.errors[0].collector, "diskstats");
  EXPECT_EQ(snap.errors[0].status.code(), StatusCode::kNotFound);
  EXPECT_THAT(snap.errors[0].status.message(), HasSubstr(proc_.proc_root() + "/diskstats"));
  EXPECT_EQ(snap.errors[1].collector, "netdev");
  // The families stay (so a registry built from this snapshot keeps them) but report nothing.
  ASSERT_NE(snap.Find("node_disk_reads_completed_total"), nullptr);
  EXPECT_TRUE(snap.Find("node_disk_reads_completed_total")->samples.empty());
  EXPECT_THAT(snap.Value("node_cpu_seconds_total", {"0", "user"}), Optional(DoubleEq(200 / hz_)));
}

TEST_F(CollectorTest, MissingStatFailsCpuAndStat) {
  proc_.Remove("proc/stat");
  Snapshot snap = Collect();
  EXPECT_THAT(snap.Value("node_scrape_collector_success", {"cpu"}), Optional(DoubleEq(0)));
  EXPECT_THAT(snap.Value("node_scrape_collector_success", {"stat"}), Optional(DoubleEq(0)));
  EXPECT_THAT(snap.Value("node_load1"), Optional(DoubleEq(0.52)));
}

TEST_F(CollectorTest, MalformedFileDropsTheWholeGroupAndSaysWhere) {
  proc_.Write("proc/meminfo", "MemTotal: 100 kB\nMemFree: lots kB\n");
  proc_.Write("proc/diskstats", "   8       0 sda 1 2 3\n");
  Snapshot snap = Collect();
  EXPECT_EQ(snap.Find("node_memory_MemTotal_bytes"), nullptr);
  EXPECT_TRUE(snap.Find("node_disk_reads_completed_total")->samples.empty());
  ASSERT_EQ(snap.errors.size(), 2u);
  EXPECT_EQ(snap.errors[0].collector, "diskstats");
  EXPECT_THAT(snap.errors[0].status.message(), HasSubstr("line 1: expected at least 11 counters"));
  EXPECT_EQ(snap.errors[1].collector, "meminfo");
  EXPECT_EQ(snap.errors[1].status.message(),
            proc_.proc_root() + "/meminfo: line 2: expected a number, got \"lots\"");
}

TEST_F(CollectorTest, ProcRootThatIsNotADirectoryFailsTheCollection) {
  CollectorOptions options = Options();
  options.proc_root = (proc_.root() / "nope").string();
  Collector collector(options, clock_);
  Result<Snapshot> snap = collector.Collect();
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(snap.status().field(), "proc_root");
}

TEST_F(CollectorTest, RepeatedCollectionsReflectFileChanges) {
  Collector collector(Options(), clock_);
  ASSERT_TRUE(collector.Collect().ok());
  proc_.Write("proc/loadavg", "7.50 1.25 2.00 2/345 6789\n");
  Result<Snapshot> snap = collector.Collect();
  ASSERT_TRUE(snap.ok());
  EXPECT_THAT(snap->Value("node_load1"), Optional(DoubleEq(7.5)));
}

TEST(CollectorRealProcTest, ReadsThisMachine) {
  SystemClock clock;
  Collector collector({}, clock);
  Result<Snapshot> snap = collector.Collect();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  const Family* cpu = snap->Find("node_cpu_seconds_total");
  ASSERT_NE(cpu, nullptr);
  ASSERT_FALSE(cpu->samples.empty());
  double total = 0;
  for (const auto& [labels, v] : cpu->samples) {
    EXPECT_GE(v, 0);
    total += v;
  }
  EXPECT_GT(total, 0);
  std::optional<double> mem = snap->Value("node_memory_MemTotal_bytes");
  ASSERT_TRUE(mem.has_value());
  EXPECT_GT(*mem, 0);
  EXPECT_THAT(snap->Value("node_scrape_collector_success", {"cpu"}), Optional(DoubleEq(1)));
  EXPECT_THAT(snap->Value("node_scrape_collector_success", {"meminfo"}), Optional(DoubleEq(1)));
}

}  // namespace
}  // namespace platops::hostmetrics
