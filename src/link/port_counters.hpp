// Lock-free counters behind FramePort::counters(): bumped on transmit and receive paths
// from any thread, read as a snapshot.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "link/frame_port.hpp"

namespace ndishost::link {

class PortCounters {
 public:
  void transmitted(std::size_t bytes) {
    add(txFrames_, 1);
    add(txBytes_, bytes);
  }
  void transmitDropped() { add(txDropped_, 1); }
  void received(std::size_t bytes) {
    add(rxFrames_, 1);
    add(rxBytes_, bytes);
  }
  void receiveDropped() { add(rxDropped_, 1); }
  void malformed() { add(rxMalformed_, 1); }

  FramePortCounters snapshot() const {
    FramePortCounters c;
    c.txFrames = txFrames_.load(std::memory_order_relaxed);
    c.txBytes = txBytes_.load(std::memory_order_relaxed);
    c.txDropped = txDropped_.load(std::memory_order_relaxed);
    c.rxFrames = rxFrames_.load(std::memory_order_relaxed);
    c.rxBytes = rxBytes_.load(std::memory_order_relaxed);
    c.rxDropped = rxDropped_.load(std::memory_order_relaxed);
    c.rxMalformed = rxMalformed_.load(std::memory_order_relaxed);
    return c;
  }

 private:
  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }

  std::atomic<std::uint64_t> txFrames_{0}, txBytes_{0}, txDropped_{0};
  std::atomic<std::uint64_t> rxFrames_{0}, rxBytes_{0}, rxDropped_{0};
  std::atomic<std::uint64_t> rxMalformed_{0};
};

}  // namespace ndishost::link
