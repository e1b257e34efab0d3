// The metrics store without HTTP: appends through Db's Appender (WAL included) and the memory a
// head series costs. Run: build-bench/bench/platops_bench --benchmark_filter=Tsdb
#include <benchmark/benchmark.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

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
// 30 s), appended 2,000 series per commit. Reports replayed samples per second.
void BM_TsdbWalReplay(benchmark::State& state) {
  BenchDir dir;
  const auto series = NodeLikeSeries(static_cast<int>(state.range(0)));
  const int points = 240;
  {
    DbOptions o;
    o.wal_sync = false;
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
BENCHMARK(BM_TsdbWalReplay)->Arg(20'000)->Iterations(2)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace platops::metrics
