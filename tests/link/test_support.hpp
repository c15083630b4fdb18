// Helpers shared by the link tests: frames with recognizable contents, a receive handler
// that collects frames, and polling with a deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "link/frame_port.hpp"

namespace ndishost::link::test {

using Frame = std::vector<std::byte>;
using namespace std::chrono_literals;

// An Ethernet frame of `size` bytes: locally administered MACs, EtherType 0x88B5 (IEEE
// local experimental, never used by a real stack), then a pattern derived from `seed`.
inline Frame makeFrame(std::size_t size, std::uint32_t seed, std::uint16_t etherType = 0x88b5) {
  Frame frame(size);
  const std::uint8_t header[14] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
                                   static_cast<std::uint8_t>(etherType >> 8), static_cast<std::uint8_t>(etherType)};
  for (std::size_t i = 0; i < size; ++i) {
    if (i < 14) {
      frame[i] = std::byte{header[i]};
    } else if (i < 18) {  // the seed itself, so the receiver can tell frames apart
      frame[i] = static_cast<std::byte>(seed >> (8 * (i - 14)));
    } else {
      frame[i] = static_cast<std::byte>((seed * 131 + i * 7) & 0xff);
    }
  }
  return frame;
}

inline std::uint32_t seedOf(std::span<const std::byte> frame) {
  std::uint32_t seed = 0;
  for (std::size_t i = 0; i < 4 && 14 + i < frame.size(); ++i)
    seed |= std::to_integer<std::uint32_t>(frame[14 + i]) << (8 * i);
  return seed;
}

inline std::uint16_t etherTypeOf(std::span<const std::byte> frame) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(frame[12]) << 8) | std::to_integer<unsigned>(frame[13]));
}

// Collects the frames a port delivers (those `accept` lets through).
class FrameCollector {
 public:
  explicit FrameCollector(std::function<bool(std::span<const std::byte>)> accept = {}) : accept_(std::move(accept)) {}

  FramePort::ReceiveHandler handler() {
    return [this](std::span<const std::byte> frame) {
      if (accept_ && !accept_(frame)) return;
      {
        std::lock_guard lock(mutex_);
        frames_.emplace_back(frame.begin(), frame.end());
        threads_.push_back(std::this_thread::get_id());
      }
      changed_.notify_all();
    };
  }

  bool waitFor(std::size_t count, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return frames_.size() >= count; });
  }

  std::vector<Frame> frames() const {
    std::lock_guard lock(mutex_);
    return frames_;
  }
  std::vector<std::thread::id> threads() const {
    std::lock_guard lock(mutex_);
    return threads_;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return frames_.size();
  }

 private:
  std::function<bool(std::span<const std::byte>)> accept_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Frame> frames_;
  std::vector<std::thread::id> threads_;
};

inline bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

}  // namespace ndishost::link::test
