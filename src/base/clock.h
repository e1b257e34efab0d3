#pragma once
// Clock: the only source of "now" for domain logic, so time-dependent behaviour is tested by moving
// a FakeClock. Thread-safety: both implementations are thread-safe.

#include <atomic>
#include <chrono>

namespace platops {

using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, millisecond precision.
  virtual Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(
      Timestamp start = Timestamp(std::chrono::milliseconds(1767225600000)))  // 2026-01-01
      : now_ms_(start.time_since_epoch().count()) {}
  Timestamp Now() const override { return Timestamp(std::chrono::milliseconds(now_ms_.load())); }
  void Set(Timestamp t) { now_ms_ = t.time_since_epoch().count(); }
  void Advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }

 private:
  std::atomic<long long> now_ms_;
};

}  // namespace platops
