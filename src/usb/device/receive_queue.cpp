#include "usb/device/receive_queue.hpp"

#include <algorithm>
#include <cstring>

#include "usb/device/usb_function.hpp"

namespace ndishost::usb::device {

ReceiveQueue::ReceiveQueue(std::size_t slots, std::size_t maxFrameSize, std::size_t maxMulticast)
    : slots_(std::max<std::size_t>(slots, 1)),
      slotSize_(maxFrameSize),
      maxMulticast_(maxMulticast),
      storage_(slots_ * slotSize_),
      lengths_(slots_) {
  multicast_.reserve(maxMulticast_);
}

void ReceiveQueue::offer(std::span<const std::byte> frame) {
  std::lock_guard lock(mutex_);
  if (!enabled_) {
    ++counters_.inactive;
    return;
  }
  if (frame.size() < EthernetHeaderLength) {
    ++counters_.runts;
    return;
  }
  if (frame.size() > slotSize_) {
    ++counters_.oversize;
    return;
  }
  if (!filterAccepts(filter_, station_, multicast_, frame)) {
    ++counters_.filtered;
    return;
  }
  if (count_ == slots_) {
    ++counters_.noBuffer;
    return;
  }
  const std::size_t slot = (head_ + count_) % slots_;
  std::memcpy(storage_.data() + slot * slotSize_, frame.data(), frame.size());
  lengths_[slot] = frame.size();
  ++count_;
  ++counters_.frames;
  counters_.bytes += frame.size();
  // Still under our lock, so detach (setHost(nullptr)) cannot race with this call.
  if (host_) host_->requestService();
}

void ReceiveQueue::setHost(FunctionHost* host) {
  std::lock_guard lock(mutex_);
  host_ = host;
}

void ReceiveQueue::setEnabled(bool enabled) {
  std::lock_guard lock(mutex_);
  enabled_ = enabled;
}

void ReceiveQueue::setFilter(const PacketFilter& filter) {
  std::lock_guard lock(mutex_);
  filter_ = filter;
}

void ReceiveQueue::setStation(const MacAddress& station) {
  std::lock_guard lock(mutex_);
  station_ = station;
}

bool ReceiveQueue::setMulticastList(std::span<const MacAddress> list) {
  std::lock_guard lock(mutex_);
  if (list.size() > maxMulticast_) return false;
  multicast_.assign(list.begin(), list.end());
  return true;
}

std::optional<std::span<const std::byte>> ReceiveQueue::front() {
  std::lock_guard lock(mutex_);
  if (count_ == 0) return std::nullopt;
  return std::span<const std::byte>(storage_.data() + head_ * slotSize_, lengths_[head_]);
}

void ReceiveQueue::pop() {
  std::lock_guard lock(mutex_);
  if (count_ == 0) return;
  head_ = (head_ + 1) % slots_;
  --count_;
}

void ReceiveQueue::clear() {
  std::lock_guard lock(mutex_);
  head_ = count_ = 0;
}

std::size_t ReceiveQueue::size() const {
  std::lock_guard lock(mutex_);
  return count_;
}

ReceiveQueueCounters ReceiveQueue::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

}  // namespace ndishost::usb::device
