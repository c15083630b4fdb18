#include "usb/device/ethernet_function.hpp"

#include <algorithm>
#include <cstring>

namespace ndishost::usb::device {

EthernetFunction::EthernetFunction(EthernetFunctionConfig config, link::FramePort& port,
                                   std::size_t maxBatchBytes)
    : config_(std::move(config)),
      port_(port),
      receiveQueue_(std::make_shared<ReceiveQueue>(config_.receiveQueueFrames, config_.maxFrameSize,
                                                   config_.multicastFilters)),
      linkUp_(config_.linkUp),
      linkSpeedBps_(config_.linkSpeedBps),
      station_(config_.macAddress) {
  receiveQueue_->setStation(station_);
  multicast_.reserve(config_.multicastFilters);
  batches_.resize(std::max<std::size_t>(config_.inFlightBatches, 1));
  for (auto& batch : batches_) batch.buffer.resize(maxBatchBytes);
  closedOrder_.reserve(batches_.size());
}

EthernetFunction::~EthernetFunction() {
  // Normally detach() already ran; a function destroyed without ever being attached to a
  // device must still not leave its handler on the port.
  port_.setReceiveHandler({});
  receiveQueue_->setHost(nullptr);
}

void EthernetFunction::attach(FunctionHost& host) {
  {
    std::lock_guard lock(mutex_);
    host_ = &host;
  }
  receiveQueue_->setHost(&host);
  // The handler holds the queue, not the function: a frame still being delivered while the
  // function goes away lands in a queue nobody reads.
  port_.setReceiveHandler(
      [queue = receiveQueue_](std::span<const std::byte> frame) { queue->offer(frame); });
}

void EthernetFunction::detach() {
  port_.setReceiveHandler({});
  receiveQueue_->setHost(nullptr);
  std::lock_guard lock(mutex_);
  host_ = nullptr;
}

void EthernetFunction::requestServiceLocked() {
  if (host_) host_->requestService();
}

// ---- link -------------------------------------------------------------------------------------

void EthernetFunction::setLinkUp(bool up) {
  std::lock_guard lock(mutex_);
  if (linkUp_ == up) return;
  linkUp_ = up;
  updateReceiveEnableLocked();
  onLinkChangeLocked(up);
  requestServiceLocked();
}

bool EthernetFunction::linkUp() const {
  std::lock_guard lock(mutex_);
  return linkUp_;
}

void EthernetFunction::setLinkSpeed(std::uint64_t bitsPerSecond) {
  std::lock_guard lock(mutex_);
  linkSpeedBps_ = bitsPerSecond;
  if (linkUp_) onLinkChangeLocked(true);  // hosts learn speeds from the "up" notifications
  requestServiceLocked();
}

MacAddress EthernetFunction::macAddress() const {
  std::lock_guard lock(mutex_);
  return station_;
}

EthernetCounters EthernetFunction::ethernetCounters() const {
  std::lock_guard lock(mutex_);
  return snapshotCountersLocked();
}

EthernetCounters EthernetFunction::snapshotCountersLocked() const {
  EthernetCounters copy = counters_;
  copy.receive = receiveQueue_->counters();
  return copy;
}

// ---- configuration helpers -------------------------------------------------------------------------

void EthernetFunction::updateReceiveEnableLocked() {
  receiveQueue_->setEnabled(dataPath_ && linkUp_);
}

void EthernetFunction::setDataPathLocked(bool active) {
  dataPath_ = active;
  updateReceiveEnableLocked();
  if (!active) discardPendingLocked();
  requestServiceLocked();
}

void EthernetFunction::discardPendingLocked() {
  receiveQueue_->clear();
  for (auto& batch : batches_)
    if (batch.state == BatchState::Open || batch.state == BatchState::Closed)
      batch.state = BatchState::Free;
  if (openBatch_ >= 0) abandonBatchLocked();  // leave the format's writer idle
  openBatch_ = -1;
  openFrames_ = 0;
  closedOrder_.clear();
}

void EthernetFunction::setFilterLocked(const PacketFilter& filter) {
  filter_ = filter;
  receiveQueue_->setFilter(filter);
}

bool EthernetFunction::setMulticastListLocked(std::span<const MacAddress> list) {
  if (list.size() > config_.multicastFilters) return false;
  multicast_.assign(list.begin(), list.end());
  receiveQueue_->setMulticastList(list);
  return true;
}

void EthernetFunction::setStationAddressLocked(const MacAddress& mac) {
  station_ = mac;
  receiveQueue_->setStation(mac);
}

// ---- notifications ---------------------------------------------------------------------------------

void EthernetFunction::queueNotificationLocked(std::span<const std::byte> notification) {
  if (notificationCount_ == NotificationSlots || notification.size() > 16) {
    ++counters_.notificationsDropped;
    return;
  }
  CdcNotification& slot = notifications_[(notificationHead_ + notificationCount_) % NotificationSlots];
  std::memcpy(slot.bytes.data(), notification.data(), notification.size());
  slot.length = notification.size();
  ++notificationCount_;
  requestServiceLocked();
}

void EthernetFunction::clearNotificationsLocked() {
  // A notification being sent stays until the device releases it.
  if (notificationLent_) {
    notificationCount_ = std::min<std::size_t>(notificationCount_, 1);
  } else {
    notificationCount_ = 0;
  }
}

// ---- host -> network ----------------------------------------------------------------------------------

void EthernetFunction::transmitLocked(std::span<const std::byte> frame) {
  if (!dataPath_ || !linkUp_) {
    ++counters_.fromHostDropped;
    return;
  }
  if (port_.transmit(frame)) {
    ++counters_.fromHostFrames;
    counters_.fromHostBytes += frame.size();
  } else {
    ++counters_.portDrops;
  }
}

// ---- network -> host ------------------------------------------------------------------------------------

void EthernetFunction::closeOpenBatchLocked() {
  if (openBatch_ < 0) return;
  Batch& batch = batches_[static_cast<std::size_t>(openBatch_)];
  batch.length = finishBatchLocked();
  batch.state = BatchState::Closed;
  closedOrder_.push_back(openBatch_);
  ++counters_.toHostBatches;
  openBatch_ = -1;
  openFrames_ = 0;
}

void EthernetFunction::pumpLocked(DeviceClock::time_point now) {
  if (!dataPath_) return;
  while (auto frame = receiveQueue_->front()) {
    if (openBatch_ < 0) {
      auto free = std::find_if(batches_.begin(), batches_.end(),
                               [](const Batch& b) { return b.state == BatchState::Free; });
      if (free == batches_.end()) return;  // every buffer busy: frames wait in the queue
      openBatch_ = static_cast<int>(free - batches_.begin());
      free->state = BatchState::Open;
      openFrames_ = 0;
      openedAt_ = now;
      beginBatchLocked(free->buffer);
    }
    if (appendToBatchLocked(*frame)) {
      ++openFrames_;
      ++counters_.toHostFrames;
      counters_.toHostBytes += frame->size();
      receiveQueue_->pop();
      if (batchFullLocked()) closeOpenBatchLocked();
    } else if (openFrames_ == 0) {
      // Does not fit even an empty batch (the host chose a transfer size below the frame
      // size): no device could deliver it.
      ++counters_.toHostTooLarge;
      receiveQueue_->pop();
    } else {
      closeOpenBatchLocked();
    }
  }
}

DeviceClock::time_point EthernetFunction::service(DeviceClock::time_point now) {
  std::lock_guard lock(mutex_);
  pumpLocked(now);
  if (openBatch_ >= 0 && openFrames_ > 0) {
    if (now - openedAt_ >= config_.batchFlushDelay) {
      closeOpenBatchLocked();
      pumpLocked(now);
    }
  }
  if (openBatch_ >= 0 && openFrames_ > 0) return openedAt_ + config_.batchFlushDelay;
  return DeviceClock::time_point::max();
}

std::optional<InMessage> EthernetFunction::nextInMessage(std::uint8_t endpointAddress) {
  std::lock_guard lock(mutex_);
  if (endpointAddress == config_.notificationEndpoint) {
    if (notificationCount_ == 0 || notificationLent_) return std::nullopt;
    notificationLent_ = true;
    // Notifications are single packets; hardware sends no ZLP after them.
    return InMessage{notifications_[notificationHead_].view(), false};
  }
  if (endpointAddress != config_.bulkInEndpoint || lentBatch_ >= 0) return std::nullopt;
  pumpLocked(DeviceClock::now());
  // The host is waiting and nothing more is queued right now: send what we have.
  if (closedOrder_.empty() && openBatch_ >= 0 && openFrames_ > 0) closeOpenBatchLocked();
  if (closedOrder_.empty()) return std::nullopt;
  lentBatch_ = closedOrder_.front();
  closedOrder_.erase(closedOrder_.begin());
  Batch& batch = batches_[static_cast<std::size_t>(lentBatch_)];
  batch.state = BatchState::Lent;
  return InMessage{std::span<const std::byte>(batch.buffer.data(), batch.length),
                   batchNeedsZlpLocked(batch.length)};
}

void EthernetFunction::releaseInMessage(std::uint8_t endpointAddress) {
  std::lock_guard lock(mutex_);
  if (endpointAddress == config_.notificationEndpoint) {
    if (!notificationLent_) return;
    notificationLent_ = false;
    if (notificationCount_ > 0) {
      notificationHead_ = (notificationHead_ + 1) % NotificationSlots;
      --notificationCount_;
    }
  } else if (endpointAddress == config_.bulkInEndpoint && lentBatch_ >= 0) {
    batches_[static_cast<std::size_t>(lentBatch_)].state = BatchState::Free;
    lentBatch_ = -1;
  }
  requestServiceLocked();  // a buffer came free: queued frames can move on
}

}  // namespace ndishost::usb::device
