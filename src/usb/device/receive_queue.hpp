// Frames from the network waiting to go up to the host: the NIC's receive FIFO. Bounded
// (a fixed number of frame slots, allocated once): when it is full the frame is dropped and
// counted, as hardware does. The receive filter (directed/multicast/broadcast/promiscuous,
// station address, multicast list) is applied on the way in, on the network port's thread.
//
// One producer (the network port's receive thread, through offer()) and one consumer (the
// function, under its own lock, on the device thread). A view returned by front() stays
// valid until pop()/clear(): the producer never writes an occupied slot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "usb/device/ethernet.hpp"

namespace ndishost::usb::device {

class FunctionHost;

struct ReceiveQueueCounters {
  std::uint64_t frames = 0, bytes = 0;  // accepted into the queue
  std::uint64_t filtered = 0;           // rejected by the packet filter
  std::uint64_t noBuffer = 0;           // queue full: dropped
  std::uint64_t runts = 0;              // shorter than an Ethernet header
  std::uint64_t oversize = 0;           // longer than the maximum frame
  std::uint64_t inactive = 0;           // data path off (unconfigured, alt 0, link down, ...)
};

class ReceiveQueue {
 public:
  ReceiveQueue(std::size_t slots, std::size_t maxFrameSize, std::size_t maxMulticast);

  // Producer.
  void offer(std::span<const std::byte> frame);

  // Configuration (any thread).
  void setHost(FunctionHost* host);  // woken when a frame is queued; nullptr: nobody
  void setEnabled(bool enabled);
  void setFilter(const PacketFilter& filter);
  void setStation(const MacAddress& station);
  // Returns false (and changes nothing) when the list is longer than the filter can hold.
  bool setMulticastList(std::span<const MacAddress> list);

  // Consumer.
  std::optional<std::span<const std::byte>> front();
  void pop();
  void clear();

  std::size_t size() const;
  ReceiveQueueCounters counters() const;

 private:
  mutable std::mutex mutex_;
  const std::size_t slots_, slotSize_, maxMulticast_;
  std::vector<std::byte> storage_;
  std::vector<std::size_t> lengths_;
  std::size_t head_ = 0, count_ = 0;
  bool enabled_ = false;
  PacketFilter filter_;
  MacAddress station_;
  std::vector<MacAddress> multicast_;
  FunctionHost* host_ = nullptr;
  ReceiveQueueCounters counters_;
};

}  // namespace ndishost::usb::device
