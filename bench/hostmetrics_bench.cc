// One host metrics collection against the real /proc (node_exporter-style families): the budget
// is 5 ms per collection, taken every 15 s on the HostMetrics thread.

#include <benchmark/benchmark.h>

#include "base/clock.h"
#include "hostmetrics/collector.h"

namespace {

void BM_HostMetricsCollect(benchmark::State& state) {
  platops::SystemClock clock;
  platops::hostmetrics::Collector collector({}, clock);
  size_t samples = 0;
  for (auto _ : state) {
    platops::Result<platops::hostmetrics::Snapshot> snap = collector.Collect();
    if (!snap.ok()) {
      state.SkipWithError(snap.status().ToString().c_str());
      break;
    }
    samples = 0;
    for (const auto& family : snap->families) samples += family.samples.size();
    benchmark::DoNotOptimize(samples);
  }
  state.counters["samples"] = static_cast<double>(samples);
}
BENCHMARK(BM_HostMetricsCollect)->Unit(benchmark::kMicrosecond);

}  // namespace
