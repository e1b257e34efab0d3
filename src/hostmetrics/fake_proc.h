#pragma once
// FakeProc: a fixture /proc tree (stat, loadavg, meminfo, diskstats, net/dev, sys/fs/file-nr) and
// a mounts file in a fresh temporary directory, removed on destruction. For tests only.
// Thread-safety: externally synchronized.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace platops::hostmetrics {

class FakeProc {
 public:
  FakeProc() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "platops-hostmetrics-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
    root_ = tmpl;
    Write("proc/stat", kStat);
    Write("proc/loadavg", "0.52 1.25 2.00 2/345 6789\n");
    Write("proc/meminfo", kMeminfo);
    Write("proc/diskstats", kDiskstats);
    Write("proc/net/dev", kNetDev);
    Write("proc/sys/fs/file-nr", "1024\t0\t1048576\n");
    for (const char* dir : {"data", "tmpfs", "ro dir", "nfs"})
      std::filesystem::create_directories(root_ / dir);
    std::string mounts = kMounts;
    const std::string root = root_.string();
    for (size_t at = mounts.find('@'); at != std::string::npos;
         at = mounts.find('@', at + root.size()))
      mounts.replace(at, 1, root);
    Write("mounts", mounts);
  }
  ~FakeProc() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  FakeProc(const FakeProc&) = delete;
  FakeProc& operator=(const FakeProc&) = delete;

  const std::filesystem::path& root() const { return root_; }
  std::string proc_root() const { return (root_ / "proc").string(); }
  std::string mounts_file() const { return (root_ / "mounts").string(); }

  // Writes `content` to `relative` under the root, creating directories.
  void Write(const std::string& relative, const std::string& content) const {
    std::filesystem::path p = root_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::trunc) << content;
  }
  void Remove(const std::string& relative) const { std::filesystem::remove(root_ / relative); }

  static constexpr const char* kStat =
      "cpu  300 20 100 5000 10 0 5 0 7 1\n"
      "cpu0 200 10 60 2500 4 0 3 0 0 0\n"
      "cpu1 100 10 40 2500 6 0 2 0 7 1\n"
      "intr 123456 0 9 0 0 0\n"
      "ctxt 987654\n"
      "btime 1767225000\n"
      "processes 4242\n"
      "procs_running 3\n"
      "procs_blocked 1\n"
      "softirq 100 1 2 3\n";
  // Real directories of the temporary root ("@"), pseudo and excluded filesystems, an NFS mount,
  // a missing mount point and a duplicate line.
  static constexpr const char* kMounts =
      "/dev/sda1 @/data ext4 rw,relatime 0 0\n"
      "tmpfs @/tmpfs tmpfs rw,nosuid,nodev 0 0\n"
      "/dev/sdb1 @/ro\\040dir ext4 ro,relatime 0 0\n"
      "proc /proc proc rw,nosuid 0 0\n"
      "sysfs @/sysfs sysfs rw 0 0\n"
      "cgroup2 @/cgroup cgroup2 rw 0 0\n"
      "tmpfs /dev/shm tmpfs rw,nosuid 0 0\n"
      "tmpfs /run/credentials/getty.service tmpfs ro 0 0\n"
      "overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0\n"
      "server:/export @/nfs nfs4 rw,vers=4.2 0 0\n"
      "/dev/sdc1 @/missing ext4 rw 0 0\n"
      "/dev/sda1 @/data ext4 rw,relatime 0 0\n";
  static constexpr const char* kMeminfo =
      "MemTotal:       16384000 kB\n"
      "MemFree:         1024000 kB\n"
      "MemAvailable:    8192000 kB\n"
      "Buffers:           20480 kB\n"
      "Cached:          4096000 kB\n"
      "SwapTotal:       2097148 kB\n"
      "SwapFree:        1048576 kB\n"
      "Active(anon):     123456 kB\n"
      "NFS_Unstable:          0 kB\n"
      "HugePages_Total:       4\n"
      "Hugepagesize:       2048 kB\n";
  // sda and dm-0 (17 columns, Linux 5.5+), nvme0n1 (11 columns); the rest match the ignore rule,
  // except sdaa1 and mmcblk0p1.
  static constexpr const char* kDiskstats =
      "   7       0 loop0 10 0 20 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
      "   8       0 sda 1000 50 80000 1500 2000 100 160000 3000 2 4000 4500 0 0 0 0 0 0\n"
      "   8       1 sda1 900 50 70000 1400 1900 100 150000 2900 0 3900 4300 0 0 0 0 0 0\n"
      " 259       0 nvme0n1 10 1 8 2 3 4 16 5 0 6 7\n"
      " 259       1 nvme0n1p1 1 1 1 1 1 1 1 1 0 1 1\n"
      " 259       2 nvme10n2p3 1 1 1 1 1 1 1 1 0 1 1\n"
      " 253       0 dm-0 5 0 10 1 6 0 12 2 0 3 3 1 2 3 4 5 6\n"
      "   1       0 ram0 1 1 1 1 1 1 1 1 0 1 1\n"
      " 252       0 zram0 1 1 1 1 1 1 1 1 0 1 1\n"
      "   2       0 fd0 1 1 1 1 1 1 1 1 0 1 1\n"
      " 202       1 xvda1 1 1 1 1 1 1 1 1 0 1 1\n"
      " 252      16 vdb2 1 1 1 1 1 1 1 1 0 1 1\n"
      "   3       0 hdc 1 1 1 1 1 1 1 1 0 1 1\n"
      "  65     160 sdaa1 1 1 1 1 1 1 1 1 0 1 1\n"
      " 179       1 mmcblk0p1 1 1 1 1 1 1 1 1 0 1 1\n";
  static constexpr const char* kNetDev =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n"
      "    lo:    1000      10    0    0    0     0          0         0     1000      10    0 "
      "   0    0     0       0          0\n"
      "  eth0: 123456789 1000 1 2 3 4 5 6 98765 900 7 8 9 10 11 12\n"
      "enp0s31f6:555 5 0 0 0 0 0 0 666 6 0 0 0 0 0 0\n";

 private:
  std::filesystem::path root_;
};

}  // namespace platops::hostmetrics
