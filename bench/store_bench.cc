// The store's write path (group commit) and read path, and catalog operations over it.

#include <benchmark/benchmark.h>

#include <atomic>
#include <filesystem>

#include "base/crypto.h"
#include "server/core.h"
#include "store/sqlite_store.h"

namespace platops {
namespace {

namespace fs = std::filesystem;

struct BenchStore {
  fs::path dir = fs::temp_directory_path() / ("platops-bench-" + RandomHex(6));
  std::unique_ptr<store::Store> store;
  explicit BenchStore(bool sync_full) {
    fs::create_directories(dir);
    store::SqliteOptions o;
    o.path = (dir / "platops.db").string();
    o.sync_full = sync_full;
    store = store::OpenSqliteStore(o).value();
    (void)store->Migrate({{"bench", 1, "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)"}});
  }
  ~BenchStore() {
    store.reset();
    fs::remove_all(dir);
  }
};

// Committed single-row writes; with several threads, group commit shares the fsync.
void BM_StoreWrite(benchmark::State& state) {
  static BenchStore* shared = nullptr;
  static std::atomic<int64_t> next{0};
  if (state.thread_index() == 0) shared = new BenchStore(state.range(0) == 1);
  // Google Benchmark starts all threads' loops together after this point.
  for (auto _ : state) {
    int64_t k = next.fetch_add(1);
    Status st = shared->store->Write([&](store::Tx& tx) -> Status {
      return tx.Exec("INSERT INTO kv (k, v) VALUES ($1, $2)", {std::to_string(k), "value"})
          .status();
    });
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    delete shared;
    shared = nullptr;
  }
}
BENCHMARK(BM_StoreWrite)
    ->Arg(1)
    ->Arg(0)
    ->ArgName("sync_full")
    ->Threads(1)
    ->Threads(8)
    ->UseRealTime();

void BM_StoreRead(benchmark::State& state) {
  BenchStore s(false);
  for (int i = 0; i < 1000; ++i)
    (void)s.store->Write([&](store::Tx& tx) -> Status {
      return tx.Exec("INSERT INTO kv (k, v) VALUES ($1, $2)", {std::to_string(i), "v"}).status();
    });
  int i = 0;
  for (auto _ : state) {
    Status st = s.store->Read([&](store::Tx& tx) -> Status {
      return tx.QueryOne("SELECT v FROM kv WHERE k = $1", {std::to_string(i++ % 1000)}).status();
    });
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreRead);

// GET /api/v1/services/{slug} minus HTTP: one service with its tags, links and dependencies.
void BM_CatalogGetService(benchmark::State& state) {
  fs::path dir = fs::temp_directory_path() / ("platops-bench-" + RandomHex(6));
  SystemClock clock;
  {
    auto core = server::Core::Open(dir.string(), {}, nullptr, clock).value();
    const char* src = std::getenv("PLATOPS_SOURCE_DIR");
    (void)core->ApplyDirectory(std::string(src ? src : ".") + "/examples/demo", "bench");
    if (state.range(0) == 1) {
      for (auto _ : state) benchmark::DoNotOptimize(core->catalog().GetService("payments-api"));
    } else {
      // The uncached path: the service row and its tags, links and dependencies from SQLite.
      for (auto _ : state) {
        Status st = core->store().Read([&](store::Tx& tx) -> Status {
          return core->catalog().FindService(tx, "payments-api").status();
        });
        benchmark::DoNotOptimize(st);
      }
    }
    state.SetItemsProcessed(state.iterations());
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_CatalogGetService)->Arg(1)->Arg(0)->ArgName("cached");

}  // namespace
}  // namespace platops
