// Blast-radius traversal on a large catalog: 10,000 services and 50,000 dependency edges.

#include <benchmark/benchmark.h>

#include <random>

#include "catalog/graph.h"

namespace platops::catalog {
namespace {

Graph MakeGraph(int services, int edges, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Graph::NodeInfo> nodes;
  nodes.reserve(services);
  for (int i = 0; i < services; ++i)
    nodes.push_back({"svc-" + std::to_string(i), "Service " + std::to_string(i), 1 + i % 4});
  std::vector<Graph::Edge> list;
  list.reserve(edges);
  std::uniform_int_distribution<int> pick(0, services - 1);
  while (static_cast<int>(list.size()) < edges) {
    int a = pick(rng), b = pick(rng);
    if (a == b) continue;
    list.push_back({nodes[a].slug, nodes[b].slug, (a + b) % 3 != 0});
  }
  return Graph(std::move(nodes), list);
}

void BM_DependentsTransitive(benchmark::State& state) {
  Graph g = MakeGraph(10000, 50000, 42);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pick(0, 9999);
  size_t reached = 0;
  for (auto _ : state) {
    auto out = g.Dependents("svc-" + std::to_string(pick(rng)), true);
    reached += out.size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["reached"] =
      benchmark::Counter(static_cast<double>(reached), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_DependentsTransitive)->Unit(benchmark::kMillisecond);

void BM_DependenciesDirect(benchmark::State& state) {
  Graph g = MakeGraph(10000, 50000, 42);
  for (auto _ : state) benchmark::DoNotOptimize(g.Dependencies("svc-17", false));
}
BENCHMARK(BM_DependenciesDirect)->Unit(benchmark::kMicrosecond);

void BM_GraphBuild(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(MakeGraph(10000, 50000, 42));
}
BENCHMARK(BM_GraphBuild)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace platops::catalog
