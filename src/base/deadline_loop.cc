#include "base/deadline_loop.h"

#include <algorithm>

namespace platops {

void DeadlineLoop::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void DeadlineLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void DeadlineLoop::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

void DeadlineLoop::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    const Timestamp next = tick_(clock_.Now());
    lock.lock();
    if (stopping_ || woken_) continue;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - clock_.Now());
    if (wait.count() <= 0) continue;
    cv_.wait_for(lock, std::min<std::chrono::milliseconds>(wait, std::chrono::seconds(1)),
                 [this] { return stopping_ || woken_; });
  }
}

}  // namespace platops
