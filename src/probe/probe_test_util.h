#pragma once
// Test-only helpers shared by the prober tests: a collector of probe callbacks and a one-probe run.
// Thread-safety: ProbeResults is thread-safe; callbacks may run on any prober thread.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "probe/prober.h"

namespace platops::probe {

// Collects callbacks from the prober's thread; each key must be reported exactly once.
class ProbeResults {
 public:
  Callback For(int key) {
    return [this, key](Result r) {
      std::lock_guard lock(mu_);
      ++calls_[key];
      results_[key] = std::move(r);
      order_.push_back(key);
      cv_.notify_all();
    };
  }
  // Waits until `n` distinct keys have reported (at most `limit`).
  bool WaitFor(size_t n, std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return results_.size() >= n; });
  }
  Result Get(int key) {
    std::lock_guard lock(mu_);
    return results_.at(key);
  }
  int Calls(int key) {
    std::lock_guard lock(mu_);
    return calls_[key];
  }
  // The key of every report, in arrival order.
  std::vector<int> Order() {
    std::lock_guard lock(mu_);
    return order_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, Result> results_;
  std::map<int, int> calls_;
  std::vector<int> order_;
};

// Runs one probe on `p` and waits for its result.
inline Result RunOneProbe(Prober& p, std::shared_ptr<const Spec> spec,
                          std::chrono::milliseconds timeout) {
  ProbeResults results;
  p.Run(std::move(spec), timeout, results.For(0));
  EXPECT_TRUE(results.WaitFor(1));
  return results.Get(0);
}

}  // namespace platops::probe
