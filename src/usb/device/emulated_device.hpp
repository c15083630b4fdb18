// EmulatedUsbDevice: a UsbDevice implemented in software around one UsbFunction.
//
// It owns everything chapter 9 of USB 2.0 says every device does -- the descriptor set
// (built once from DeviceIdentity + the function's layout), the Default/Address/Configured
// states, the standard requests, alternate settings activating endpoints, endpoint halt --
// and the transfer/packet model documented in usb_device.hpp. Class and vendor requests go
// to the function.
//
// One thread per device (the "device thread") moves data and delivers every completion;
// see usb_device.hpp for the guarantees it gives to callers.
//
// Standard requests implemented (USB 2.0 section 9.4; SuperSpeed additions of USB 3.2):
//   GET_STATUS (device/interface/endpoint), CLEAR_FEATURE/SET_FEATURE (ENDPOINT_HALT,
//   DEVICE_REMOTE_WAKEUP when the identity says remote-wakeup capable; U1/U2/LTM and
//   FUNCTION_SUSPEND accepted at SuperSpeed), SET_ADDRESS, GET_DESCRIPTOR (device,
//   configuration, string, device qualifier and other-speed configuration below
//   SuperSpeed, BOS at SuperSpeed), GET_CONFIGURATION, SET_CONFIGURATION (0 or 1),
//   GET_INTERFACE, SET_INTERFACE, SET_SEL/SET_ISOCH_DELAY (SuperSpeed). SET_DESCRIPTOR,
//   SYNCH_FRAME (no isochronous endpoints) and TEST_MODE stall. Any request that is
//   malformed (wrong direction, wLength, unknown interface/endpoint/alternate, wrong state)
//   stalls. SET_ADDRESS is not required before SET_CONFIGURATION (the host controller, not
//   the bus driver, owns addressing); the string LANGID in wIndex is not checked (single-
//   language devices commonly ignore it).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "usb/device/descriptors.hpp"
#include "usb/device/usb_device.hpp"
#include "usb/device/usb_function.hpp"

namespace ndishost::usb::device {

struct EmulatedDeviceCounters {
  std::uint64_t controlRequests = 0;
  std::uint64_t controlStalls = 0;
  std::uint64_t outMessages = 0;   // messages handed to the function
  std::uint64_t inMessages = 0;    // messages fully sent to the host
  std::uint64_t inOverruns = 0;    // IN transfers ended by babble (message data lost)
};

class EmulatedUsbDevice final : public UsbDevice, private FunctionHost {
 public:
  EmulatedUsbDevice(DeviceIdentity identity, Speed speed, std::unique_ptr<UsbFunction> function);
  // Disconnects (pending transfers complete with DeviceGone on the device thread), then
  // stops the device thread. Must not be called from a completion callback.
  ~EmulatedUsbDevice() override;

  EmulatedUsbDevice(const EmulatedUsbDevice&) = delete;
  EmulatedUsbDevice& operator=(const EmulatedUsbDevice&) = delete;

  UsbFunction& function() { return *function_; }
  const FunctionLayout& layout() const { return layout_; }
  const DeviceIdentity& identity() const { return identity_; }

  // UsbDevice
  Speed speed() const override { return speed_; }
  bool isConnected() const override { return connected_.load(std::memory_order_acquire); }
  ControlResult controlTransfer(const SetupPacket& setup, std::span<std::byte> data) override;
  void submit(Transfer& transfer) override;
  bool cancel(Transfer& transfer) override;
  void abortEndpoint(std::uint8_t endpointAddress) override;
  void resetPort() override;
  void disconnect() override;
  void setDisconnectHandler(std::function<void()> handler) override;

  // Introspection (tests, diagnostics).
  std::uint8_t address() const;
  std::uint8_t configurationValue() const;
  std::uint8_t alternateSetting(std::uint8_t interfaceNumber) const;
  bool endpointHalted(std::uint8_t endpointAddress) const;
  bool endpointActive(std::uint8_t endpointAddress) const;
  EmulatedDeviceCounters counters() const;

  // Fault injection: an unresponsive device NAKs every bulk token, so bulk transfers stay
  // pending (cancel() still completes them) until the host aborts an endpoint (ABORT_PIPE)
  // or resets the port, the recovery a wedged device needs. Control transfers and the
  // interrupt endpoint keep working.
  void setUnresponsive(bool unresponsive);
  bool unresponsive() const { return unresponsive_.load(std::memory_order_acquire); }

 private:
  enum class UsbState : std::uint8_t { Default, Address, Configured };

  struct Endpoint {
    bool exists = false;        // declared by some alternate setting of the layout
    std::uint8_t address = 0;
    std::uint8_t interfaceNumber = 0;
    // --- function lock ---
    bool active = false;
    bool halted = false;
    EndpointType type = EndpointType::Bulk;
    std::uint16_t maxPacketSize = 0;
    // IN: the message being sent.
    bool hasMessage = false;
    InMessage message;
    std::size_t messageOffset = 0;
    // OUT: the message being received (buffer allocated on activation, not per packet).
    std::vector<std::byte> reassembly;
    std::size_t reassembled = 0;
    // --- queue lock ---
    Transfer* head = nullptr;
    Transfer* tail = nullptr;
  };

  // Intrusive list of transfers to complete, through Transfer::links.next.
  struct CompletionList {
    Transfer* head = nullptr;
    Transfer* tail = nullptr;
    void push(Transfer& t);
    void splice(CompletionList& other);
    bool empty() const { return head == nullptr; }
  };

  static std::size_t endpointIndex(std::uint8_t address) {
    return (address & 0x0F) | (isInEndpoint(address) ? 16u : 0u);
  }
  Endpoint* findEndpoint(std::uint8_t address);
  const Endpoint* findEndpoint(std::uint8_t address) const;

  // FunctionHost
  void requestService() override;

  // Device thread.
  void run();
  DeviceClock::time_point serviceLocked(CompletionList& done);
  void processOut(Endpoint& ep, CompletionList& done);
  void consumeOut(Endpoint& ep, std::span<const std::byte> data, bool zeroLengthPacket);
  void deliverOutMessage(Endpoint& ep);
  void processIn(Endpoint& ep, CompletionList& done);
  void deliver(CompletionList& done);
  void teardownAfterDisconnectLocked(CompletionList& done);

  // Control path (function lock held).
  ControlResult dispatchControl(const SetupPacket& setup, std::span<std::byte> data);
  ControlResult standardRequest(const SetupPacket& setup, std::span<std::byte> data);
  ControlResult getDescriptor(const SetupPacket& setup, std::span<std::byte> data);
  ControlResult getStatus(const SetupPacket& setup, std::span<std::byte> data);
  ControlResult changeFeature(const SetupPacket& setup, bool set);
  ControlResult setConfiguration(std::uint8_t value);
  ControlResult setInterface(std::uint8_t interfaceNumber, std::uint8_t alternateSetting);
  void activateAlternate(std::uint8_t interfaceNumber, std::uint8_t alternateSetting);
  void deactivateEndpointLocked(Endpoint& ep, TransferStatus pendingStatus);
  void deactivateAllLocked(TransferStatus pendingStatus);
  void completeQueuedLocked(Endpoint& ep, TransferStatus status, CompletionList& into);
  bool interfaceUsable(std::uint8_t interfaceNumber) const;

  const DeviceIdentity identity_;
  const Speed speed_;
  std::unique_ptr<UsbFunction> function_;
  FunctionLayout layout_;
  StringTable strings_;
  std::vector<std::byte> deviceDescriptor_, configurationDescriptor_,
      otherSpeedConfigurationDescriptor_, deviceQualifier_, bosDescriptor_;

  // Function lock: device state, endpoint state (except queues), every function hook.
  mutable std::mutex functionMutex_;
  UsbState state_ = UsbState::Default;
  std::uint8_t address_ = 0;
  std::uint8_t configuration_ = 0;
  std::vector<std::uint8_t> alternateSettings_;  // parallel to layout_.interfaces
  bool remoteWakeupEnabled_ = false;
  bool u1Enabled_ = false, u2Enabled_ = false, ltmEnabled_ = false;
  bool gone_ = false;
  EmulatedDeviceCounters counters_;
  std::array<Endpoint, 32> endpoints_;

  // Queue lock: transfer queues, completions made by other threads, wake-ups. Never held
  // while calling a function hook or a completion.
  mutable std::mutex queueMutex_;
  std::condition_variable wake_;
  bool serviceRequested_ = false;
  bool stopRequested_ = false;
  std::atomic<bool> unresponsive_{false};
  CompletionList completedElsewhere_;
  std::function<void()> disconnectHandler_;
  bool disconnectReported_ = false;

  std::atomic<bool> connected_{true};
  std::thread thread_;
};

}  // namespace ndishost::usb::device
