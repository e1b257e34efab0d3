// The metrics store without HTTP: appends through Db's Appender (WAL included), the memory a
// head series costs, and restarts (head snapshot and full WAL replay).
// Run: build-bench/bench/platops_bench --benchmark_filter=Tsdb
#include <benchmark/benchmark.h>

#include <stdlib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "metrics/db.h"

namespace platops::metrics {
namespace {

std::vector<Labels> NodeLikeSeries(int n) {
  std::vector<Labels> out;
  out.reserve(static_cast<size_t>(n));
  const char* modes[] = {"idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"};
  for (int i = 0; i < n; ++i) {
    out.push_back(Normalize({{"__name__", "node_cpu_seconds_total"},
                             {"instance", "host-" + std::to_string(i / 64) + ":9100"},
                             {"job", "node"},
                             {"cpu", std::to_string((i / 8) % 8)},
                             {"mode", modes[i % 8]}}));
  }
  return out;
}

// A fresh directory under /tmp, removed when it goes out of scope.
class BenchDir {
 public:
  BenchDir() {
    char tmpl[] = "/tmp/platops-tsdb-bench-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~BenchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

long RssKib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// Samples per second appended to existing series, 2,000 samples per commit (a remote-write
// request), refs looked up by labels as remote write does.
void BM_TsdbAppendByLabels(benchmark::State& state) {
  BenchDir dir;
  DbOptions o;
  o.wal_sync = state.range(1) != 0;
  auto db = Db::Open(dir.path(), o).value();
  auto series = NodeLikeSeries(static_cast<int>(state.range(0)));
  int64_t t = 1'700'000'000'000;
  for (auto _ : state) {
    for (size_t i = 0; i < series.size(); i += 2000) {
      auto app = db->NewAppender();
      for (size_t j = i; j < std::min(series.size(), i + 2000); ++j) {
        SeriesRef ref = 0;
        app->Append(ref, series[j], t, static_cast<double>(j));
      }
      (void)app->Commit();
    }
    t += 15'000;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(series.size()));
}
BENCHMARK(BM_TsdbAppendByLabels)->Args({100'000, 0})->Args({100'000, 1})->Unit(benchmark::kMillisecond);

// Resident memory per head series after 10 samples each.
void BM_TsdbHeadMemoryPerSeries(benchmark::State& state) {
  for (auto _ : state) {
    BenchDir dir;
    DbOptions o;
    o.wal_sync = false;
    long before = RssKib();
    auto db = Db::Open(dir.path(), o).value();
    {
      auto series = NodeLikeSeries(static_cast<int>(state.range(0)));
      int64_t t = 1'700'000'000'000;
      for (int k = 0; k < 10; ++k, t += 15'000) {
        for (size_t i = 0; i < series.size(); i += 2000) {
          auto app = db->NewAppender();
          for (size_t j = i; j < std::min(series.size(), i + 2000); ++j) {
            SeriesRef ref = 0;
            app->Append(ref, series[j], t, static_cast<double>(j + k));
          }
          (void)app->Commit();
        }
      }
    }
    long after = RssKib();
    state.counters["bytes_per_series"] =
        static_cast<double>(after - before) * 1024 / static_cast<double>(state.range(0));
  }
}
BENCHMARK(BM_TsdbHeadMemoryPerSeries)->Arg(200'000)->Iterations(1)->Unit(benchmark::kSecond);

// WAL replay: reopening a store whose head holds state.range(0) series x 240 samples (2 h at
// 30 s), appended 2,000 series per commit, without head snapshots. Reports replayed samples per
// wall-clock second (replay runs on worker threads too).
void BM_TsdbWalReplay(benchmark::State& state) {
  BenchDir dir;
  const auto series = NodeLikeSeries(static_cast<int>(state.range(0)));
  const int points = 240;
  {
    DbOptions o;
    o.wal_sync = false;
    o.snapshot_on_close = false;
    auto db = Db::Open(dir.path(), o).value();
    std::vector<SeriesRef> refs(series.size(), 0);
    int64_t t = 1'700'000'000'000;
    for (int k = 0; k < points; ++k, t += 30'000) {
      for (size_t i = 0; i < series.size(); i += 2000) {
        auto app = db->NewAppender();
        for (size_t j = i; j < std::min(series.size(), i + 2000); ++j) {
          app->Append(refs[j], series[j], t, static_cast<double>(j + k));
        }
        (void)app->Commit();
      }
    }
    (void)db->Close();
  }
  uint64_t replayed = 0;
  for (auto _ : state) {
    DbOptions o;
    o.wal_sync = false;
    o.snapshot_on_close = false;
    auto db = Db::Open(dir.path(), o).value();
    replayed = db->open_report().replayed_samples;
    state.PauseTiming();
    (void)db->Close();
    db.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(replayed));
  state.counters["samples"] = static_cast<double>(replayed);
}
BENCHMARK(BM_TsdbWalReplay)
    ->Arg(20'000)
    ->Iterations(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

double ProcessCpuSeconds() {
  rusage u;
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

// A store whose WAL holds `series` node_cpu_seconds_total-like series x `points` scrapes: 15 s
// apart, each commit of 2,000 series (one target's scrape) stamped with the same time +-2 ms
// jitter; values are counters in hundredths (idle ~13/s, steal constant, the rest 0-2/s, each
// step jittered), as node_exporter reports them. Built once per process, for both restart
// benchmarks; its setup Close leaves a head snapshot.
struct RestartFixture {
  BenchDir dir;
  uint64_t samples = 0;
  uint64_t wal_bytes = 0;
};

// Opens the store in `dir`; sets the wall seconds and the process CPU seconds (workers included)
// the Open took.
std::unique_ptr<Db> TimedOpen(const std::string& dir, const DbOptions& o, double& seconds,
                              double& cpu) {
  const double cpu_start = ProcessCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  auto db = Db::Open(dir, o).value();
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  cpu = ProcessCpuSeconds() - cpu_start;
  return db;
}

// A copy of the snapshot taken after three quarters of a fixture's samples.
constexpr const char* kSnapshotAt75 = "bench-snapshot-at-75-percent";

RestartFixture& Fixture(int series_count, int points) {
  static std::map<std::pair<int, int>, std::unique_ptr<RestartFixture>> fixtures;
  auto& slot = fixtures[{series_count, points}];
  if (slot != nullptr) return *slot;
  slot = std::make_unique<RestartFixture>();
  const auto start = std::chrono::steady_clock::now();
  DbOptions o;
  o.wal_sync = false;
  auto db = Db::Open(slot->dir.path(), o).value();
  const auto series = NodeLikeSeries(series_count);
  std::vector<SeriesRef> refs(series.size(), 0);
  std::vector<int64_t> cents(series.size());
  std::vector<int64_t> rate(series.size());
  for (size_t j = 0; j < series.size(); ++j) {
    cents[j] = static_cast<int64_t>(Mix(j) % 100'000'000);
    const size_t mode = j % 8;  // NodeLikeSeries: 0 idle, 6 steal.
    rate[j] = mode == 0 ? 1300 : mode == 6 ? 0 : static_cast<int64_t>(Mix(j + 7) % 200);
  }
  const int64_t t0 = 1'700'000'000'000;
  for (int k = 0; k < points; ++k) {
    if (k == points * 3 / 4) {
      // The periodic snapshot a running store would have taken 30 min before a crash.
      (void)db->Snapshot();
      std::filesystem::copy_file(slot->dir.path() + "/head.snapshot",
                                 slot->dir.path() + "/" + kSnapshotAt75,
                                 std::filesystem::copy_options::overwrite_existing);
    }
    for (size_t i = 0; i < series.size(); i += 2000) {
      const uint64_t jitter = Mix(static_cast<uint64_t>(k) * 1'000'003 + i) % 5;
      const int64_t t = t0 + int64_t{k} * 15'000 + static_cast<int64_t>(jitter) - 2;
      auto app = db->NewAppender();
      for (size_t j = i; j < std::min(series.size(), i + 2000); ++j) {
        if (rate[j] > 0) cents[j] += rate[j] + static_cast<int64_t>(Mix(j * 31 + k) % 50);
        app->Append(refs[j], series[j], t, static_cast<double>(cents[j]) / 100);
      }
      (void)app->Commit();
    }
  }
  slot->samples = static_cast<uint64_t>(series_count) * static_cast<uint64_t>(points);
  slot->wal_bytes = DirBytes(slot->dir.path() + "/wal");
  (void)db->Close();
  std::fprintf(stderr, "restart fixture %d x %d: %.1f s to build, WAL %.2f GB\n", series_count,
               points,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
               static_cast<double>(slot->wal_bytes) / 1e9);
  return *slot;
}

// Restart after a clean Close: Open loads the head snapshot and replays only the WAL after it.
// The Close between iterations (untimed) writes the next snapshot; close_s reports it.
void BM_TsdbRestartClean(benchmark::State& state) {
  RestartFixture& f = Fixture(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  DbOptions o;
  o.wal_sync = false;
  if (!std::filesystem::exists(f.dir.path() + "/head.snapshot")) {
    (void)Db::Open(f.dir.path(), o).value()->Close();  // Writes one.
  }
  double seconds = 0;
  double cpu = 0;
  double close_seconds = 0;
  uint64_t samples = 0;
  uint64_t snapshot_bytes = 0;
  for (auto _ : state) {
    auto db = TimedOpen(f.dir.path(), o, seconds, cpu);
    state.PauseTiming();
    const DbOpenReport& r = db->open_report();
    samples = r.snapshot.samples + r.replayed_samples;
    snapshot_bytes = r.snapshot.bytes;
    if (!r.snapshot_loaded || samples != f.samples) {
      state.SkipWithError("the clean restart did not load every sample from the snapshot");
    }
    const auto close_start = std::chrono::steady_clock::now();
    (void)db->Close();
    close_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - close_start).count();
    db.reset();
    state.ResumeTiming();
  }
  state.counters["samples"] = static_cast<double>(samples);
  state.counters["open_s"] = seconds;
  state.counters["cpu_s"] = cpu;
  state.counters["samples_per_s"] = static_cast<double>(samples) / seconds;
  state.counters["close_s"] = close_seconds;
  state.counters["snapshot_GB"] = static_cast<double>(snapshot_bytes) / 1e9;
}
BENCHMARK(BM_TsdbRestartClean)
    ->Args({1'000'000, 480})
    ->Iterations(1)
    ->Repetitions(3)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

// Restart after a crash: no head snapshot, Open replays the whole WAL (state.range(2) workers).
// Reports samples per wall second and the process CPU seconds the Open used (workers included).
void BM_TsdbRestartCrash(benchmark::State& state) {
  RestartFixture& f = Fixture(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const std::string snapshot = f.dir.path() + "/head.snapshot";
  double seconds = 0;
  double cpu = 0;
  uint64_t replayed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove(snapshot);
    DbOptions o;
    o.wal_sync = false;
    o.snapshot_on_close = false;
    o.replay_workers = static_cast<int>(state.range(2));
    state.ResumeTiming();
    auto db = TimedOpen(f.dir.path(), o, seconds, cpu);
    replayed = db->open_report().replayed_samples;
    state.PauseTiming();
    if (db->open_report().snapshot_loaded || replayed != f.samples) {
      state.SkipWithError("the crash path did not replay every sample from the WAL");
    }
    (void)db->Close();
    db.reset();
    state.ResumeTiming();
  }
  state.counters["samples"] = static_cast<double>(replayed);
  state.counters["open_s"] = seconds;
  state.counters["cpu_s"] = cpu;
  state.counters["samples_per_s"] = static_cast<double>(replayed) / seconds;
  state.counters["wal_GB"] = static_cast<double>(f.wal_bytes) / 1e9;
}
BENCHMARK(BM_TsdbRestartCrash)
    ->Args({1'000'000, 480, 2})
    ->Iterations(1)
    ->Repetitions(3)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

// Restart after a crash 30 min after the last periodic snapshot (DbOptions::snapshot_interval):
// Open loads the snapshot taken after 1 h 30 of the 2 h and replays the WAL logged since.
void BM_TsdbRestartCrashAfterSnapshot(benchmark::State& state) {
  RestartFixture& f = Fixture(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const std::string snapshot = f.dir.path() + "/head.snapshot";
  double seconds = 0;
  double cpu = 0;
  uint64_t replayed = 0;
  uint64_t loaded = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::copy_file(f.dir.path() + "/" + kSnapshotAt75, snapshot,
                               std::filesystem::copy_options::overwrite_existing);
    DbOptions o;
    o.wal_sync = false;
    o.snapshot_on_close = false;
    o.snapshot_interval = std::chrono::minutes(30);
    state.ResumeTiming();
    auto db = TimedOpen(f.dir.path(), o, seconds, cpu);
    state.PauseTiming();
    const DbOpenReport& r = db->open_report();
    replayed = r.replayed_samples;
    loaded = r.snapshot.samples;
    if (!r.snapshot_loaded || loaded + replayed != f.samples) {
      state.SkipWithError("the snapshot and the WAL after it did not restore every sample");
    }
    (void)db->Close();
    db.reset();
    std::filesystem::remove(snapshot);
    state.ResumeTiming();
  }
  state.counters["snapshot_samples"] = static_cast<double>(loaded);
  state.counters["replayed"] = static_cast<double>(replayed);
  state.counters["open_s"] = seconds;
  state.counters["cpu_s"] = cpu;
}
BENCHMARK(BM_TsdbRestartCrashAfterSnapshot)
    ->Args({1'000'000, 480})
    ->Iterations(1)
    ->Repetitions(3)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace platops::metrics
