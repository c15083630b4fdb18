// The runtime's clock: interrupt time (100 ns units since the runtime started), system time
// (the wall clock when the runtime started plus interrupt time) and the 10 MHz performance
// counter. The real clock follows CLOCK_MONOTONIC (std::chrono::steady_clock); the virtual
// clock of deterministic mode moves only when the scheduler advances it (all threads
// blocked, a timer or time-out due) or a thread stalls (KeStallExecutionProcessor).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ndishost::nt::ke {

class Clock {
 public:
  explicit Clock(bool virtualTime);

  bool isVirtual() const { return virtual_; }
  // 100 ns units since the runtime started.
  std::uint64_t interruptTime() const;
  // 100 ns units since 1601-01-01 UTC.
  std::int64_t systemTime() const { return systemTimeBase_ + static_cast<std::int64_t>(interruptTime()); }
  std::int64_t systemTimeBase() const { return systemTimeBase_; }
  // Virtual clock only: moves time forward to `time` (never backwards).
  void advanceTo(std::uint64_t time);
  void advanceBy(std::uint64_t delta) { advanceTo(interruptTime() + delta); }
  // Real clock: the steady_clock instant of an interrupt time.
  std::chrono::steady_clock::time_point toSteady(std::uint64_t interruptTime) const;

 private:
  const bool virtual_;
  const std::chrono::steady_clock::time_point start_;
  std::atomic<std::uint64_t> virtualNow_{0};
  std::int64_t systemTimeBase_;
};

}  // namespace ndishost::nt::ke
