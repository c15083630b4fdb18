#include "nt/ke/clock.hpp"

#include <algorithm>

namespace ndishost::nt::ke {
namespace {

// 100 ns intervals between 1601-01-01 (NT epoch) and 1970-01-01 (Unix epoch).
constexpr std::int64_t kUnixEpochAsNtTime = 116444736000000000LL;
// Deterministic mode starts its system clock at a fixed instant (2024-01-01T00:00:00Z) so
// that runs with the same seed see the same times.
constexpr std::int64_t kDeterministicSystemTimeBase = kUnixEpochAsNtTime + 1704067200LL * 10000000LL;

std::int64_t wallClockNow() {
  auto sinceUnixEpoch = std::chrono::system_clock::now().time_since_epoch();
  return kUnixEpochAsNtTime + std::chrono::duration_cast<std::chrono::nanoseconds>(sinceUnixEpoch).count() / 100;
}

}  // namespace

Clock::Clock(bool virtualTime)
    : virtual_(virtualTime),
      start_(std::chrono::steady_clock::now()),
      systemTimeBase_(virtualTime ? kDeterministicSystemTimeBase : wallClockNow()) {}

std::uint64_t Clock::interruptTime() const {
  if (virtual_) return virtualNow_.load(std::memory_order_acquire);
  auto elapsed = std::chrono::steady_clock::now() - start_;
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count() / 100);
}

void Clock::advanceTo(std::uint64_t time) {
  std::uint64_t current = virtualNow_.load(std::memory_order_relaxed);
  while (time > current && !virtualNow_.compare_exchange_weak(current, time, std::memory_order_acq_rel)) {
  }
}

std::chrono::steady_clock::time_point Clock::toSteady(std::uint64_t interruptTime) const {
  // Cap far deadlines: steady_clock arithmetic must not overflow.
  constexpr std::uint64_t kMax = std::uint64_t{1} << 60;
  return start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(std::min(interruptTime, kMax / 100) * 100));
}

}  // namespace ndishost::nt::ke
