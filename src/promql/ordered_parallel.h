#pragma once
// OrderedParallel: produces items on worker threads and consumes them on the calling thread in
// index order, so a query reads and transforms series on several cores while its aggregation
// and output stay single-threaded and deterministic.
// Thread-safety: `produce` runs concurrently on the workers (each with its own worker index);
// `consume` runs on the calling thread only.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <limits>
#include <thread>
#include <vector>

#include "base/status.h"

namespace platops::promql::eval {

// Calls produce(i, slot, worker) for every i in [0, n) on `threads` worker threads and
// consume(i, slot) on the calling thread for i = 0, 1, ... in order, at most `window` items
// ahead of the consumer (`Slot`s are reused ring-wise, so their buffers keep their capacity).
// Stops at the first error consume returns and returns it. With threads <= 1 everything runs
// on the calling thread.
template <typename Slot>
Status OrderedParallel(size_t n, int threads, size_t window,
                       const std::function<void(size_t, Slot&, int)>& produce,
                       const std::function<Status(size_t, Slot&)>& consume) {
  if (threads <= 1 || n <= 1) {
    Slot slot;
    for (size_t i = 0; i < n; ++i) {
      produce(i, slot, 0);
      PLATOPS_RETURN_IF_ERROR(consume(i, slot));
    }
    return Status::Ok();
  }
  window = std::max<size_t>(window, static_cast<size_t>(threads));
  std::vector<Slot> slots(window);
  // ready[k] holds i + 1 once item i (stored in slot k = i % window) is produced.
  std::vector<std::atomic<size_t>> ready(window);
  for (auto& r : ready) r.store(0, std::memory_order_relaxed);
  std::atomic<size_t> next{0};
  // Items below `consumed` are done with; a stop pushes it out of reach to release the workers.
  std::atomic<size_t> consumed{0};
  constexpr size_t kStopped = std::numeric_limits<size_t>::max() / 2;

  auto work = [&](int worker) {
    while (true) {
      const size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) return;
      size_t c = consumed.load(std::memory_order_acquire);
      while (c != kStopped && i >= c + window) {
        consumed.wait(c, std::memory_order_acquire);
        c = consumed.load(std::memory_order_acquire);
      }
      if (c == kStopped) return;
      produce(i, slots[i % window], worker);
      ready[i % window].store(i + 1, std::memory_order_release);
      ready[i % window].notify_one();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int w = 0; w < threads; ++w) pool.emplace_back(work, w);

  Status status;
  for (size_t i = 0; i < n; ++i) {
    std::atomic<size_t>& r = ready[i % window];
    for (size_t v = r.load(std::memory_order_acquire); v != i + 1;
         v = r.load(std::memory_order_acquire)) {
      r.wait(v, std::memory_order_acquire);
    }
    status = consume(i, slots[i % window]);
    if (!status.ok()) break;
    consumed.store(i + 1, std::memory_order_release);
    consumed.notify_all();
  }
  if (!status.ok()) {
    consumed.store(kStopped, std::memory_order_release);
    consumed.notify_all();
  }
  for (auto& t : pool) t.join();
  return status;
}

}  // namespace platops::promql::eval
