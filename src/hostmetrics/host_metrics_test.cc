#include "hostmetrics/host_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "base/metrics_registry.h"
#include "hostmetrics/fake_proc.h"

namespace platops::hostmetrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class HostMetricsTest : public ::testing::Test {
 protected:
  HostMetricsOptions Options(std::chrono::milliseconds interval = std::chrono::hours(1)) const {
    HostMetricsOptions options;
    options.collector = {.proc_root = proc_.proc_root(), .mounts_file = proc_.mounts_file()};
    options.interval = interval;
    return options;
  }

  FakeProc proc_;
  FakeClock clock_;
};

TEST_F(HostMetricsTest, RegisteredFamiliesRenderInTextFormat) {
  HostMetrics host(Options(), clock_);
  ASSERT_TRUE(host.Start().ok());
  MetricsRegistry registry;
  host.Register(registry);
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("\nnode_load1 0.52\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE node_cpu_seconds_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE node_load1 gauge\n"));
  EXPECT_THAT(text, HasSubstr("node_memory_Active_anon_bytes 126418944\n"));
  EXPECT_THAT(text, HasSubstr("node_disk_read_bytes_total{device=\"sda\"} 40960000\n"));
  EXPECT_THAT(text, HasSubstr("node_scrape_collector_success{collector=\"netdev\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE platops_host_collection_duration_seconds gauge\n"));
  EXPECT_THAT(text, Not(HasSubstr("platops_host_collection_duration_seconds 0\n")));
  host.Stop();
}

TEST_F(HostMetricsTest, StartCollectsOnceSoTheFirstScrapeHasData) {
  HostMetrics host(Options(), clock_);
  EXPECT_EQ(host.Latest(), nullptr);
  ASSERT_TRUE(host.Start().ok());
  std::shared_ptr<const Snapshot> snap = host.Latest();
  ASSERT_NE(snap, nullptr);
  EXPECT_TRUE(snap->Value("node_load1").has_value());
  EXPECT_GT(host.LastDuration().count(), 0);
}

TEST_F(HostMetricsTest, ScrapesShowTheLatestCollection) {
  HostMetrics host(Options(), clock_);
  MetricsRegistry registry;
  host.Register(registry);  // collects first, since nothing has been collected yet
  EXPECT_THAT(registry.Render(), HasSubstr("\nnode_load1 0.52\n"));
  proc_.Write("proc/loadavg", "3.75 1.25 2.00 2/345 6789\n");
  proc_.Remove("proc/diskstats");
  ASSERT_TRUE(host.CollectNow().ok());
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("\nnode_load1 3.75\n"));
  EXPECT_THAT(text, HasSubstr("node_scrape_collector_success{collector=\"diskstats\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("node_disk_read_bytes_total{")));
}

TEST_F(HostMetricsTest, GaugesOutliveTheService) {
  MetricsRegistry registry;
  {
    HostMetrics host(Options(), clock_);
    ASSERT_TRUE(host.Start().ok());
    host.Register(registry);
  }
  EXPECT_THAT(registry.Render(), HasSubstr("\nnode_load1 0.52\n"));
}

TEST_F(HostMetricsTest, StopWakesTheWaitingThreadImmediately) {
  HostMetrics host(Options(std::chrono::hours(1)), clock_);
  ASSERT_TRUE(host.Start().ok());
  auto start = std::chrono::steady_clock::now();
  host.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  host.Stop();  // idempotent
}

TEST_F(HostMetricsTest, CollectsAgainEveryInterval) {
  HostMetrics host(Options(std::chrono::milliseconds(10)), clock_);
  ASSERT_TRUE(host.Start().ok());
  std::shared_ptr<const Snapshot> first = host.Latest();
  proc_.Write("proc/loadavg", "9.00 1.25 2.00 2/345 6789\n");
  // Waits on the service's own timer (10 ms); the deadline only bounds a broken implementation.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::optional<double> load;
  while (std::chrono::steady_clock::now() < deadline) {
    load = host.Latest()->Value("node_load1");
    if (load == 9.0) break;
    std::this_thread::yield();
  }
  EXPECT_EQ(load, 9.0);
  EXPECT_NE(host.Latest(), first);
  host.Stop();
}

TEST_F(HostMetricsTest, StartRejectsANonPositiveInterval) {
  HostMetrics host(Options(std::chrono::milliseconds(0)), clock_);
  Status status = host.Start();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.field(), "interval");
  EXPECT_EQ(host.Latest(), nullptr);
}

TEST_F(HostMetricsTest, StartFailsWhenProcRootIsMissing) {
  HostMetricsOptions options = Options();
  options.collector.proc_root = (proc_.root() / "absent").string();
  HostMetrics host(options, clock_);
  Status status = host.Start();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.field(), "proc_root");
  MetricsRegistry registry;
  host.Register(registry);  // nothing collected: only the duration gauge
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("platops_host_collection_duration_seconds 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("node_")));
}

TEST_F(HostMetricsTest, StartTwiceIsRefused) {
  HostMetrics host(Options(), clock_);
  ASSERT_TRUE(host.Start().ok());
  EXPECT_FALSE(host.Start().ok());
  host.Stop();
}

}  // namespace
}  // namespace platops::hostmetrics
