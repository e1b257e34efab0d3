#include "probe/event_loop_prober.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace platops::probe {

EventLoopProber::EventLoopProber(const Clock& clock, size_t max_in_flight, std::string queue_full,
                                 int max_events)
    : clock_(clock),
      max_in_flight_(max_in_flight),
      queue_full_(std::move(queue_full)),
      max_events_(max_events) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (epoll_fd_ < 0 || wake_fd_ < 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    init_errno_ = errno;
  }
}

EventLoopProber::~EventLoopProber() {
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void EventLoopProber::Run(std::shared_ptr<const Spec> spec, std::chrono::milliseconds timeout,
                          Callback done) {
  Waiting w{0, std::move(spec), timeout, std::move(done), clock_.Now(), SteadyClock::now()};
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      incoming_.push_back(std::move(w));
      w.done = nullptr;
    }
  }
  if (w.done) {
    w.done(ShutdownResult(w));
    return;
  }
  Wake();
}

void EventLoopProber::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void EventLoopProber::Stop() {
  std::deque<Waiting> never_started;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    if (!started_) never_started.swap(incoming_);
  }
  for (Waiting& w : never_started) w.done(ShutdownResult(w));
  Wake();
  if (thread_.joinable()) thread_.join();
}

Result EventLoopProber::MakeResult(Outcome outcome, std::string message, Timestamp started,
                                   SteadyTime start) {
  Result r;
  r.outcome = outcome;
  r.message = std::move(message);
  r.started = started;
  r.duration = Since(start);
  return r;
}

Result EventLoopProber::ShutdownResult(const Waiting& w) {
  return MakeResult(Outcome::kUnknown, std::string(kShuttingDown), w.enqueued, w.enqueued_at);
}

void EventLoopProber::CloseWatched(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
}

void EventLoopProber::Wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void EventLoopProber::Loop() {
  std::vector<epoll_event> events(static_cast<size_t>(max_events_));
  while (true) {
    int wait_ms = -1;
    if (auto next = NextDeadline()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - SteadyClock::now());
      wait_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 60'000));
    }
    int n = epoll_wait(epoll_fd_, events.data(), max_events_, wait_ms);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kWakeTag) {
        uint64_t count;
        [[maybe_unused]] ssize_t r = read(wake_fd_, &count, sizeof count);
      } else {
        HandleEvent(events[i]);
      }
    }
    std::deque<Waiting> incoming;
    bool stopping;
    {
      std::lock_guard lock(mu_);
      incoming.swap(incoming_);
      stopping = stopping_;
    }
    for (Waiting& w : incoming) {
      w.id = next_id_++;
      queue_deadlines_.emplace(w.enqueued_at + w.timeout, w.id);
      queued_.emplace(w.id, std::move(w));
    }
    if (stopping) break;
    SteadyTime now = SteadyClock::now();
    ProcessTimers(now);
    ExpireQueued(now);
    ExpireRunning(now);
    while (InFlight() < max_in_flight_ && !queued_.empty()) {
      auto node = queued_.extract(queued_.begin());
      Waiting& w = node.mapped();
      queue_deadlines_.erase({w.enqueued_at + w.timeout, w.id});
      StartProbe(std::move(w));
    }
  }
  Shutdown();
}

std::optional<SteadyTime> EventLoopProber::NextDeadline() {
  std::optional<SteadyTime> next = NextRunningDeadline();
  if (!queue_deadlines_.empty() && (!next || queue_deadlines_.begin()->first < *next)) {
    next = queue_deadlines_.begin()->first;
  }
  return next;
}

void EventLoopProber::ExpireQueued(SteadyTime now) {
  while (!queue_deadlines_.empty() && queue_deadlines_.begin()->first <= now) {
    uint64_t id = queue_deadlines_.begin()->second;
    queue_deadlines_.erase(queue_deadlines_.begin());
    auto node = queued_.extract(id);
    Waiting& w = node.mapped();
    w.done(MakeResult(Outcome::kCritical, "not started within timeout: " + queue_full_, w.enqueued,
                      w.enqueued_at));
  }
}

void EventLoopProber::Shutdown() {
  for (auto& [id, w] : queued_) w.done(ShutdownResult(w));
  queued_.clear();
  queue_deadlines_.clear();
  ShutdownRunning();
}

}  // namespace platops::probe
