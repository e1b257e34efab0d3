#pragma once
// EventLoopProber: the shell the socket and exec probers share. One loop thread waits on one
// epoll set; Run hands probes to it through a locked inbox and an eventfd; probes wait in arrival
// order for one of `max_in_flight` slots and fail when they wait longer than their timeout.
// Thread-safety: Run, Start and Stop from any thread; the hooks run on the loop thread only.

#include <sys/epoll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "base/clock.h"
#include "probe/prober.h"

namespace platops::probe {

using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;

inline constexpr std::string_view kShuttingDown = "platops is shutting down";

inline std::chrono::microseconds Since(SteadyTime t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t);
}

class EventLoopProber : public Prober {
 public:
  // `queue_full` ends the message of a probe that waited too long: "not started within timeout:
  // <queue_full>". `max_events` is how many epoll events one wait returns at most.
  EventLoopProber(const Clock& clock, size_t max_in_flight, std::string queue_full, int max_events);
  // REQUIRES: the derived destructor called Stop(), so the loop thread no longer runs its hooks.
  ~EventLoopProber() override;
  EventLoopProber(const EventLoopProber&) = delete;
  EventLoopProber& operator=(const EventLoopProber&) = delete;

  void Run(std::shared_ptr<const Spec> spec, std::chrono::milliseconds timeout,
           Callback done) final;
  void Start() final;
  // Refuses new probes, reports every queued and running probe as shutting down, then joins.
  void Stop() final;

 protected:
  // A probe waiting for a free slot; `id` is set when the loop takes it from the inbox.
  struct Waiting {
    uint64_t id;
    std::shared_ptr<const Spec> spec;
    std::chrono::milliseconds timeout;
    Callback done;
    Timestamp enqueued;
    SteadyTime enqueued_at;
  };

  // The epoll tag of the wake-up eventfd; a derived class tags its own fds with other values.
  static constexpr uint64_t kWakeTag = 0;

  // One event on a derived class's fd (never the eventfd).
  virtual void HandleEvent(const epoll_event& ev) = 0;
  // The earliest deadline of the running probes (and anything else the loop must wake for).
  virtual std::optional<SteadyTime> NextRunningDeadline() = 0;
  // Runs once per iteration before queued probes expire; nothing by default.
  virtual void ProcessTimers(SteadyTime /*now*/) {}
  // Ends the running probes whose deadline is at or before `now`.
  virtual void ExpireRunning(SteadyTime now) = 0;
  // How many slots are taken.
  virtual size_t InFlight() const = 0;
  // Takes a slot for `w` and starts it.
  virtual void StartProbe(Waiting w) = 0;
  // Ends every running probe with kShuttingDown after the queued ones were reported.
  virtual void ShutdownRunning() = 0;

  // A result with its times stamped: `started` by the clock, the duration from `start` to now.
  static Result MakeResult(Outcome outcome, std::string message, Timestamp started,
                           SteadyTime start);

  const Clock& clock() const { return clock_; }
  int epoll_fd() const { return epoll_fd_; }
  // Removes `fd` from the epoll set and closes it.
  void CloseWatched(int fd);
  size_t max_in_flight() const { return max_in_flight_; }
  // errno of the failed epoll or eventfd set-up; 0 when the loop is usable.
  int init_errno() const { return init_errno_; }

 private:
  static Result ShutdownResult(const Waiting& w);
  void Wake();
  void Loop();
  std::optional<SteadyTime> NextDeadline();
  void ExpireQueued(SteadyTime now);
  void Shutdown();

  const Clock& clock_;
  const size_t max_in_flight_;
  const std::string queue_full_;
  const int max_events_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int init_errno_ = 0;

  std::mutex mu_;
  std::deque<Waiting> incoming_;  // GUARDED_BY(mu_)
  bool started_ = false;          // GUARDED_BY(mu_)
  bool stopping_ = false;         // GUARDED_BY(mu_)
  std::thread thread_;

  // Loop thread only.
  uint64_t next_id_ = 1;
  std::map<uint64_t, Waiting> queued_;  // by id, which is arrival order
  std::set<std::pair<SteadyTime, uint64_t>> queue_deadlines_;
};

}  // namespace platops::probe
