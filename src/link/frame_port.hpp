// One end of an Ethernet link: what an emulated USB network function's network port is
// plugged into (another device over an in-process wire, a Linux interface through
// AF_PACKET, a UDP tunnel to a peer).
//
// A frame is a whole Ethernet frame without FCS (destination MAC first). transmit() never
// truncates: a frame the far side cannot carry is dropped and counted, never cut short.
// Received frames are delivered to the handler on the port's own thread (the in-process
// wire has a delivery thread per wire; only its test-only synchronous mode delivers on the
// transmitting thread); the handler copies what it keeps. Link state, where a port has one,
// is beside this interface: see link_state.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace ndishost::link {

struct FramePortCounters {
  std::uint64_t txFrames = 0, txBytes = 0, txDropped = 0;
  std::uint64_t rxFrames = 0, rxBytes = 0, rxDropped = 0;
  std::uint64_t rxMalformed = 0;  // garbage from the far side, rejected
};

class FramePort {
 public:
  using ReceiveHandler = std::function<void(std::span<const std::byte> frame)>;

  virtual ~FramePort() = default;

  // Sends one frame to the far side. Thread-safe. Returns false when it was dropped
  // (link down, far side full, frame larger than maxFrameSize()); the drop is counted.
  virtual bool transmit(std::span<const std::byte> frame) = 0;

  // Installs the handler for frames from the far side (replacing any previous one);
  // an empty handler stops delivery. Safe to call while frames arrive.
  virtual void setReceiveHandler(ReceiveHandler handler) = 0;

  // Largest frame (without FCS) this link carries, e.g. 9018 for jumbo-capable links.
  virtual std::size_t maxFrameSize() const = 0;

  virtual FramePortCounters counters() const = 0;

  // "wire:lab", "afpacket:veth1", "udp:127.0.0.1:7000->127.0.0.1:7001"
  virtual std::string describe() const = 0;
};

}  // namespace ndishost::link
