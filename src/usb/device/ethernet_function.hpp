// EthernetFunction: what CDC-ECM, CDC-NCM and RNDIS devices have in common -- a MAC address,
// a link (up/down, speed), a network port (link::FramePort) whose frames are filtered into a
// bounded receive queue, and the device-to-host aggregation pipeline:
//
//   port thread --offer()--> ReceiveQueue --pump()--> open batch --close--> closed batches
//        --nextInMessage()--> the device's bulk IN endpoint --releaseInMessage()--> free
//
// A batch is one bulk IN message: one Ethernet frame (ECM), one NTB (NCM), several
// REMOTE_NDIS_PACKET_MSGs (RNDIS). A fixed number of batch buffers is allocated up front.
// The open batch is closed when the next frame does not fit (or the format's count limit is
// reached), when the host has an IN transfer waiting and no further frame is queued at that
// moment, or when it has been open for batchFlushDelay -- like the aggregation timers of
// real NCM/RNDIS devices. Frames wait in the receive queue while every batch buffer is in
// use; the queue drops (and counts) when it is full.
//
// The derived class supplies the descriptors, class requests, the host-to-device parser and
// the batch format (begin/append/finish).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "link/frame_port.hpp"
#include "usb/device/cdc.hpp"
#include "usb/device/ethernet.hpp"
#include "usb/device/receive_queue.hpp"
#include "usb/device/usb_function.hpp"

namespace ndishost::usb::device {

struct EthernetFunctionConfig {
  // The address the host's network interface gets (CDC iMACAddress string, RNDIS
  // OID_802_3_PERMANENT_ADDRESS); the receive filter's "directed" address.
  MacAddress macAddress{{0x02, 0x00, 0x5E, 0x10, 0x00, 0x01}};
  std::uint64_t linkSpeedBps = 1'000'000'000;
  bool linkUp = true;
  std::size_t maxFrameSize = EthernetMaxFrameLength;  // without FCS, both directions
  std::size_t receiveQueueFrames = 64;
  std::size_t multicastFilters = 32;                  // perfect-filter entries
  std::size_t inFlightBatches = 2;
  std::chrono::microseconds batchFlushDelay{300};
  std::uint8_t firstInterface = 0;
  std::uint8_t notificationEndpoint = 0x81;
  std::uint8_t bulkInEndpoint = 0x82;
  std::uint8_t bulkOutEndpoint = 0x03;
  unsigned notificationIntervalMs = 32;
};

struct EthernetCounters {
  // network -> host
  ReceiveQueueCounters receive;      // filter and queue
  std::uint64_t toHostFrames = 0, toHostBytes = 0, toHostBatches = 0;
  std::uint64_t toHostTooLarge = 0;  // frame larger than the host's batch size: dropped
  // host -> network
  std::uint64_t fromHostMessages = 0;  // bulk OUT messages received
  std::uint64_t fromHostMalformed = 0; // messages rejected whole (see the function's reasons)
  std::uint64_t fromHostFrames = 0, fromHostBytes = 0;  // frames handed to the port
  std::uint64_t fromHostDropped = 0;   // data path off or link down
  std::uint64_t portDrops = 0;         // FramePort::transmit() refused the frame
  std::uint64_t notificationsDropped = 0;
};

class EthernetFunction : public UsbFunction {
 public:
  ~EthernetFunction() override;

  // Link state as seen on the network side (cable, carrier). Notifies the host. Any thread.
  void setLinkUp(bool up);
  bool linkUp() const;
  void setLinkSpeed(std::uint64_t bitsPerSecond);
  MacAddress macAddress() const;
  EthernetCounters ethernetCounters() const;
  const EthernetFunctionConfig& config() const { return config_; }

  // UsbFunction (common part)
  void attach(FunctionHost& host) override;
  void detach() override;
  DeviceClock::time_point service(DeviceClock::time_point now) override;
  std::optional<InMessage> nextInMessage(std::uint8_t endpointAddress) override;
  void releaseInMessage(std::uint8_t endpointAddress) override;

 protected:
  // maxBatchBytes: the largest IN message the device can build (buffers are this size).
  // `port` must outlive the function; the function installs its receive handler on attach()
  // and removes it on detach() (and in its destructor).
  EthernetFunction(EthernetFunctionConfig config, link::FramePort& port, std::size_t maxBatchBytes);

  // --- for derived classes; "Locked" = call with mutex_ held ---
  mutable std::mutex mutex_;

  // Link changed while the function exists (derived classes notify the host).
  virtual void onLinkChangeLocked(bool up) = 0;
  // The batch format.
  virtual void beginBatchLocked(std::span<std::byte> buffer) = 0;
  virtual bool appendToBatchLocked(std::span<const std::byte> frame) = 0;
  virtual bool batchFullLocked() const { return false; }
  virtual std::size_t finishBatchLocked() = 0;
  // The open batch is thrown away unsent (data path off, RNDIS reset).
  virtual void abandonBatchLocked() { finishBatchLocked(); }
  virtual bool batchNeedsZlpLocked(std::size_t length) const { return length > 0; }

  // Turns the network-to-host path on (frames are queued and batched) or off (queued frames
  // and unsent batches are discarded).
  void setDataPathLocked(bool active);
  bool dataPathLocked() const { return dataPath_; }
  void setFilterLocked(const PacketFilter& filter);
  PacketFilter filterLocked() const { return filter_; }
  bool setMulticastListLocked(std::span<const MacAddress> list);
  std::span<const MacAddress> multicastListLocked() const { return multicast_; }
  void setStationAddressLocked(const MacAddress& mac);
  MacAddress stationAddressLocked() const { return station_; }
  // Discards batches that are not being sent and the receive queue.
  void discardPendingLocked();

  void queueNotificationLocked(std::span<const std::byte> notification);
  void clearNotificationsLocked();
  // Sends a frame from the host to the network, counting the outcome.
  void transmitLocked(std::span<const std::byte> frame);
  void requestServiceLocked();

  bool linkUpLocked() const { return linkUp_; }
  std::uint64_t linkSpeedLocked() const { return linkSpeedBps_; }
  EthernetCounters& countersLocked() { return counters_; }
  EthernetCounters snapshotCountersLocked() const;
  link::FramePort& port() { return port_; }

  const EthernetFunctionConfig config_;

 private:
  enum class BatchState : std::uint8_t { Free, Open, Closed, Lent };
  struct Batch {
    std::vector<std::byte> buffer;
    std::size_t length = 0;
    BatchState state = BatchState::Free;
  };

  void pumpLocked(DeviceClock::time_point now);
  void closeOpenBatchLocked();
  void updateReceiveEnableLocked();

  link::FramePort& port_;
  std::shared_ptr<ReceiveQueue> receiveQueue_;
  FunctionHost* host_ = nullptr;
  bool dataPath_ = false;
  bool linkUp_;
  std::uint64_t linkSpeedBps_;
  MacAddress station_;
  PacketFilter filter_;
  std::vector<MacAddress> multicast_;
  EthernetCounters counters_;

  std::vector<Batch> batches_;
  int openBatch_ = -1;
  std::size_t openFrames_ = 0;
  DeviceClock::time_point openedAt_{};
  std::vector<int> closedOrder_;  // FIFO of closed batches (capacity reserved up front)
  int lentBatch_ = -1;

  static constexpr std::size_t NotificationSlots = 8;
  std::array<CdcNotification, NotificationSlots> notifications_{};
  std::size_t notificationHead_ = 0, notificationCount_ = 0;
  bool notificationLent_ = false;
};

}  // namespace ndishost::usb::device
