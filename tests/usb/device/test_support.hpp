// Test doubles and host-side helpers for the emulated USB device tests: a FramePort that
// records what the device transmits and lets the test inject frames from the "network", and
// blocking helpers that drive control and bulk/interrupt transfers like a host would.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "link/frame_port.hpp"
#include "usb/device/byte_io.hpp"
#include "usb/device/ethernet.hpp"
#include "usb/device/usb_device.hpp"

namespace ndishost::usb::device::test {

using Bytes = std::vector<std::byte>;
using namespace std::chrono_literals;

inline Bytes bytesOf(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

inline constexpr MacAddress HostMac{{0x02, 0x00, 0x5E, 0x10, 0x00, 0x01}};
inline constexpr MacAddress PeerMac{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
inline constexpr MacAddress OtherMac{{0x02, 0x99, 0x99, 0x99, 0x99, 0x99}};
inline constexpr MacAddress GroupMac{{0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB}};
inline constexpr MacAddress OtherGroupMac{{0x01, 0x00, 0x5E, 0x00, 0x00, 0x01}};

// An Ethernet frame of `length` bytes to `destination`, payload derived from `seed`.
inline Bytes makeFrame(std::size_t length, const MacAddress& destination = HostMac,
                       unsigned seed = 1) {
  Bytes frame(length);
  for (std::size_t i = 0; i < length; ++i)
    frame[i] = static_cast<std::byte>((i * 31 + seed * 7 + (i >> 8)) & 0xFF);
  if (length >= 14) {
    destination.toBytes(std::span(frame).first(6));
    PeerMac.toBytes(std::span(frame).subspan(6, 6));
    frame[12] = std::byte{0x88};
    frame[13] = std::byte{0xB5};  // local experimental EtherType
  }
  return frame;
}

class FakeFramePort final : public link::FramePort {
 public:
  bool transmit(std::span<const std::byte> frame) override {
    std::lock_guard lock(mutex_);
    if (!accept_) {
      ++counters_.txDropped;
      return false;
    }
    sent_.emplace_back(frame.begin(), frame.end());
    ++counters_.txFrames;
    counters_.txBytes += frame.size();
    changed_.notify_all();
    return true;
  }
  void setReceiveHandler(ReceiveHandler handler) override {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }
  std::size_t maxFrameSize() const override { return 9018; }
  link::FramePortCounters counters() const override {
    std::lock_guard lock(mutex_);
    return counters_;
  }
  std::string describe() const override { return "fake:test"; }

  // --- test side ---
  bool deliver(std::span<const std::byte> frame) {
    ReceiveHandler handler;
    {
      std::lock_guard lock(mutex_);
      handler = handler_;
    }
    if (!handler) return false;
    handler(frame);
    return true;
  }
  bool hasHandler() const {
    std::lock_guard lock(mutex_);
    return static_cast<bool>(handler_);
  }
  void setAccept(bool accept) {
    std::lock_guard lock(mutex_);
    accept_ = accept;
  }
  bool waitForSent(std::size_t count, std::chrono::milliseconds timeout = 3s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return sent_.size() >= count; });
  }
  std::vector<Bytes> sent() const {
    std::lock_guard lock(mutex_);
    return {sent_.begin(), sent_.end()};
  }
  std::size_t sentCount() const {
    std::lock_guard lock(mutex_);
    return sent_.size();
  }
  void clearSent() {
    std::lock_guard lock(mutex_);
    sent_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  ReceiveHandler handler_;
  std::deque<Bytes> sent_;
  bool accept_ = true;
  link::FramePortCounters counters_;
};

// A transfer the test waits for.
struct PendingTransfer {
  Transfer transfer;
  Bytes buffer;
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::thread::id completedOn;

  PendingTransfer(std::uint8_t endpoint, Bytes data, bool zlp = false) : buffer(std::move(data)) {
    transfer.endpoint = endpoint;
    transfer.buffer = buffer;
    transfer.zeroLengthPacket = zlp;
    transfer.completion = &PendingTransfer::complete;
    transfer.context = this;
  }
  static void complete(Transfer&, void* context) {
    auto* self = static_cast<PendingTransfer*>(context);
    std::lock_guard lock(self->mutex);
    self->done = true;
    self->completedOn = std::this_thread::get_id();
    self->cv.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout = 3s) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, timeout, [&] { return done; });
  }
  bool isDone() {
    std::lock_guard lock(mutex);
    return done;
  }
  Bytes data() const { return Bytes(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(transfer.actualLength)); }
};

struct InResult {
  TransferStatus status = TransferStatus::Success;
  Bytes data;
  bool completed = false;
};

// Submits an IN transfer and waits; on timeout cancels it (completed == false then).
inline InResult readIn(UsbDevice& device, std::uint8_t endpoint, std::size_t capacity,
                       std::chrono::milliseconds timeout = 3s) {
  PendingTransfer t(endpoint, Bytes(capacity));
  device.submit(t.transfer);
  InResult result;
  result.completed = t.wait(timeout);
  if (!result.completed) {
    device.cancel(t.transfer);
    t.wait(3s);
  }
  result.status = t.transfer.status;
  result.data = t.data();
  return result;
}

inline TransferStatus writeOut(UsbDevice& device, std::uint8_t endpoint, const Bytes& data,
                               bool zlp = false) {
  PendingTransfer t(endpoint, data, zlp);
  device.submit(t.transfer);
  EXPECT_TRUE(t.wait());
  return t.transfer.status;
}

inline ControlResult control(UsbDevice& device, std::uint8_t bmRequestType, std::uint8_t bRequest,
                             std::uint16_t wValue, std::uint16_t wIndex, Bytes& data) {
  SetupPacket setup{bmRequestType, bRequest, wValue, wIndex, static_cast<std::uint16_t>(data.size())};
  return device.controlTransfer(setup, data);
}

inline ControlResult controlNoData(UsbDevice& device, std::uint8_t bmRequestType,
                                   std::uint8_t bRequest, std::uint16_t wValue, std::uint16_t wIndex) {
  Bytes none;
  return control(device, bmRequestType, bRequest, wValue, wIndex, none);
}

inline Bytes getDescriptor(UsbDevice& device, std::uint8_t type, std::uint8_t index,
                           std::uint16_t length = 4096) {
  Bytes data(length);
  ControlResult r = control(device, 0x80, standard_request::GetDescriptor,
                            static_cast<std::uint16_t>(type << 8 | index), 0, data);
  if (!r.succeeded()) return {};
  data.resize(r.length);
  return data;
}

inline bool setConfiguration(UsbDevice& device, std::uint8_t value) {
  return controlNoData(device, 0x00, standard_request::SetConfiguration, value, 0).succeeded();
}

inline bool setInterface(UsbDevice& device, std::uint8_t interfaceNumber, std::uint8_t alt) {
  return controlNoData(device, 0x01, standard_request::SetInterface, alt, interfaceNumber).succeeded();
}

// Polls `predicate` until true or timeout.
template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = 3s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return predicate();
}

}  // namespace ndishost::usb::device::test
