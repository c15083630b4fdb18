// The contract between EmulatedUsbDevice (chapter 9: descriptors, standard requests,
// endpoint state, the transfer/packet model, threads) and one USB function behind it
// (CDC-ECM, CDC-NCM, RNDIS): descriptors, class requests and endpoint data as MESSAGES.
//
// The device turns host transfers into messages and back (see usb_device.hpp for the
// packet rules), so a function never sees packets, ZLPs or host buffers.
//
// Threading: the device calls every hook below with its own "function lock" held, so hooks
// never run concurrently with each other. Control hooks (classRequest, onConfiguration,
// onAlternateSetting) run on the thread that called controlTransfer()/resetPort(); data
// hooks (service, nextInMessage, releaseInMessage, onOutMessage) run on the device thread.
// A hook must not call back into the UsbDevice (no submit/controlTransfer); it may call
// FunctionHost::requestService(). Functions that also have public methods for other
// threads (link state, counters) protect their state with a mutex of their own, taken
// inside hooks too (lock order: device function lock -> function's own locks -> the device's
// transfer-queue lock, which requestService() takes).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "usb/device/descriptors.hpp"
#include "usb/device/usb_types.hpp"

namespace ndishost::usb::device {

using DeviceClock = std::chrono::steady_clock;

// What the device offers its function.
class FunctionHost {
 public:
  // Thread-safe, cheap, never blocks for long: asks the device thread to run service() and
  // to offer waiting IN transfers to nextInMessage() soon. Call it whenever new IN data may
  // be available (a frame arrived from the network, a notification was queued).
  virtual void requestService() = 0;
  virtual Speed speed() const = 0;

 protected:
  ~FunctionHost() = default;
};

// One device-to-host message: sent as packets, then (when it ends on a packet boundary and
// zeroLengthPacket is set) a ZLP.
struct InMessage {
  std::span<const std::byte> data;
  bool zeroLengthPacket = true;
};

class UsbFunction {
 public:
  virtual ~UsbFunction() = default;

  // Called once, by the device's constructor: the function's interfaces, alternate
  // settings, endpoints and class descriptors; strings it needs are added to `strings`.
  virtual FunctionLayout describe(StringTable& strings) = 0;

  // Called once by the device's constructor (attach) and once at the start of its
  // destructor (detach). After detach() the function must not call the host again, and no
  // other thread (e.g. a network port's receive thread) may reach it.
  virtual void attach(FunctionHost& host) = 0;
  virtual void detach() = 0;

  // SET_CONFIGURATION(value); 0 = unconfigured, which is also what a bus reset and a
  // disconnect look like to the function. All alternate settings are 0 afterwards.
  virtual void onConfiguration(std::uint8_t configurationValue) = 0;
  // SET_INTERFACE (also re-selecting the current setting, which resets it).
  virtual void onAlternateSetting(std::uint8_t interfaceNumber, std::uint8_t alternateSetting) = 0;

  // A class or vendor request addressed to one of the function's interfaces or endpoints
  // (or a class/vendor request to the device). Return ControlResult::stall() for anything
  // unsupported or malformed, as hardware does.
  virtual ControlResult classRequest(const SetupPacket& setup, std::span<std::byte> data) = 0;

  // Device thread: periodic work (aggregation timers, draining received frames). Returns
  // when it wants to be called again (DeviceClock::time_point::max() for "only when
  // requestService() is called").
  virtual DeviceClock::time_point service(DeviceClock::time_point now) = 0;

  // Device thread: an IN transfer is waiting on `endpointAddress`; return the next message,
  // or nullopt when there is nothing to send now. The data must stay valid and unchanged
  // until releaseInMessage(endpointAddress); the device asks for at most one message per
  // endpoint at a time.
  virtual std::optional<InMessage> nextInMessage(std::uint8_t endpointAddress) = 0;
  // The message was delivered (or discarded: endpoint torn down, halted mid-message,
  // overrun, disconnect). Always called before onConfiguration/onAlternateSetting tear the
  // endpoint down.
  virtual void releaseInMessage(std::uint8_t endpointAddress) = 0;

  // The size of the function's receive buffer for an OUT endpoint: a message that reaches
  // it ends there (no ZLP needed); see usb_device.hpp.
  virtual std::size_t outMessageCapacity(std::uint8_t endpointAddress) const = 0;
  // Device thread: one complete host-to-device message. The bytes are valid only during
  // the call.
  virtual void onOutMessage(std::uint8_t endpointAddress, std::span<const std::byte> message) = 0;
};

}  // namespace ndishost::usb::device
