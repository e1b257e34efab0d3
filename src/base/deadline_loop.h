#pragma once
// DeadlineLoop: one thread that runs a tick, sleeps until the time the tick returns, and wakes
// early on Wake() or Stop(). It never sleeps more than a second at a time, so a clock stepped
// forward (or a fake clock moved) is noticed. Thread-safety: Start/Stop from one controlling
// thread; Wake from any thread.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "base/clock.h"

namespace platops {

class DeadlineLoop {
 public:
  // `tick` runs on the loop's thread with the clock's time and returns when to run next.
  using Tick = std::function<Timestamp(Timestamp now)>;

  DeadlineLoop(const Clock& clock, Tick tick) : clock_(clock), tick_(std::move(tick)) {}
  ~DeadlineLoop() { Stop(); }
  DeadlineLoop(const DeadlineLoop&) = delete;
  DeadlineLoop& operator=(const DeadlineLoop&) = delete;

  void Start();
  // Returns once a tick in progress has finished and the thread has ended.
  void Stop();
  // Runs the tick again now (after the one in progress, if any).
  void Wake();

 private:
  void Run();

  const Clock& clock_;
  Tick tick_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  bool woken_ = false;     // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace platops
