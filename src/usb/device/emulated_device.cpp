#include "usb/device/emulated_device.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "usb/device/byte_io.hpp"

namespace ndishost::usb::device {

namespace {

// Transfer::links.state values.
constexpr std::uint32_t TransferIdle = 0;
constexpr std::uint32_t TransferQueued = 1;      // on an endpoint queue, cancellable
constexpr std::uint32_t TransferConsuming = 2;   // the device thread is reading it (OUT)
constexpr std::uint32_t TransferCompleting = 3;  // on a completion list

// At most this many OUT transfers per endpoint per pass, so one busy endpoint cannot starve
// the others (the pass repeats at once).
constexpr int OutTransfersPerPass = 64;

ControlResult copyOut(std::span<std::byte> data, std::uint16_t wLength,
                      std::span<const std::byte> source) {
  std::size_t n = std::min({static_cast<std::size_t>(wLength), data.size(), source.size()});
  std::memcpy(data.data(), source.data(), n);
  return ControlResult::ok(n);
}

}  // namespace

// ---- completion list --------------------------------------------------------------------------

void EmulatedUsbDevice::CompletionList::push(Transfer& t) {
  t.links.state = TransferCompleting;
  t.links.next = nullptr;
  t.links.prev = nullptr;
  if (tail) tail->links.next = &t;
  else head = &t;
  tail = &t;
}

void EmulatedUsbDevice::CompletionList::splice(CompletionList& other) {
  if (!other.head) return;
  if (tail) tail->links.next = other.head;
  else head = other.head;
  tail = other.tail;
  other.head = other.tail = nullptr;
}

// ---- construction -----------------------------------------------------------------------------

EmulatedUsbDevice::EmulatedUsbDevice(DeviceIdentity identity, Speed speed,
                                     std::unique_ptr<UsbFunction> function)
    : identity_(std::move(identity)), speed_(speed), function_(std::move(function)) {
  if (!function_) throw std::invalid_argument("EmulatedUsbDevice needs a function");
  StringIndices indices;
  indices.manufacturer = strings_.add(identity_.manufacturer);
  indices.product = strings_.add(identity_.product);
  indices.serialNumber = strings_.add(identity_.serialNumber);
  layout_ = function_->describe(strings_);

  deviceDescriptor_ = buildDeviceDescriptor(identity_, layout_, indices, speed_);
  configurationDescriptor_ = buildConfigurationDescriptor(identity_, layout_, speed_);
  if (speed_ != Speed::Super) {
    otherSpeedConfigurationDescriptor_ = buildConfigurationDescriptor(
        identity_, layout_, otherSpeed(speed_), descriptor_type::OtherSpeedConfiguration);
    deviceQualifier_ = buildDeviceQualifier(identity_, layout_, speed_);
  } else {
    bosDescriptor_ = buildBosDescriptor();
  }

  alternateSettings_.assign(layout_.interfaces.size(), 0);
  for (const auto& intf : layout_.interfaces) {
    for (const auto& alt : intf.alternates) {
      for (const auto& spec : alt.endpoints) {
        Endpoint& ep = endpoints_[endpointIndex(spec.address)];
        ep.exists = true;
        ep.address = spec.address;
        ep.interfaceNumber = intf.number;
      }
    }
  }

  function_->attach(*this);
  thread_ = std::thread([this] { run(); });
}

EmulatedUsbDevice::~EmulatedUsbDevice() {
  // Unhook the function from its network port first: nothing may call requestService()
  // once the device starts going away.
  {
    std::lock_guard f(functionMutex_);
    function_->detach();
  }
  disconnect();
  {
    std::lock_guard q(queueMutex_);
    stopRequested_ = true;
    serviceRequested_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

EmulatedUsbDevice::Endpoint* EmulatedUsbDevice::findEndpoint(std::uint8_t address) {
  if (endpointNumber(address) == 0 || (address & 0x70) != 0) return nullptr;
  Endpoint& ep = endpoints_[endpointIndex(address)];
  return ep.exists ? &ep : nullptr;
}

const EmulatedUsbDevice::Endpoint* EmulatedUsbDevice::findEndpoint(std::uint8_t address) const {
  return const_cast<EmulatedUsbDevice*>(this)->findEndpoint(address);
}

// ---- public asynchronous API --------------------------------------------------------------------

void EmulatedUsbDevice::requestService() {
  {
    std::lock_guard q(queueMutex_);
    serviceRequested_ = true;
  }
  wake_.notify_one();
}

void EmulatedUsbDevice::submit(Transfer& transfer) {
  if (!transfer.completion) throw std::logic_error("Transfer without completion routine");
  {
    std::lock_guard q(queueMutex_);
    if (transfer.links.state != TransferIdle)
      throw std::logic_error("Transfer submitted while still pending");
    transfer.links.owner = this;
    transfer.actualLength = 0;
    transfer.status = TransferStatus::Success;
    Endpoint* ep = findEndpoint(transfer.endpoint);
    if (!connected_.load(std::memory_order_acquire)) {
      transfer.status = TransferStatus::DeviceGone;
      completedElsewhere_.push(transfer);
    } else if (!ep) {
      // No such endpoint in any configuration: the device never answers its tokens.
      transfer.status = TransferStatus::NoResponse;
      completedElsewhere_.push(transfer);
    } else {
      transfer.links.state = TransferQueued;
      transfer.links.next = nullptr;
      transfer.links.prev = ep->tail;
      if (ep->tail) ep->tail->links.next = &transfer;
      else ep->head = &transfer;
      ep->tail = &transfer;
    }
    serviceRequested_ = true;
  }
  wake_.notify_one();
}

bool EmulatedUsbDevice::cancel(Transfer& transfer) {
  {
    std::lock_guard q(queueMutex_);
    if (transfer.links.owner != this || transfer.links.state != TransferQueued) return false;
    Endpoint* ep = findEndpoint(transfer.endpoint);
    if (!ep) return false;
    if (transfer.links.prev) transfer.links.prev->links.next = transfer.links.next;
    else ep->head = transfer.links.next;
    if (transfer.links.next) transfer.links.next->links.prev = transfer.links.prev;
    else ep->tail = transfer.links.prev;
    transfer.status = TransferStatus::Cancelled;
    completedElsewhere_.push(transfer);
    serviceRequested_ = true;
  }
  wake_.notify_one();
  return true;
}

void EmulatedUsbDevice::abortEndpoint(std::uint8_t endpointAddress) {
  unresponsive_.store(false, std::memory_order_release);
  {
    std::lock_guard q(queueMutex_);
    Endpoint* ep = findEndpoint(endpointAddress);
    if (!ep) return;
    completeQueuedLocked(*ep, TransferStatus::Cancelled, completedElsewhere_);
    serviceRequested_ = true;
  }
  wake_.notify_one();
}

// Queue lock held.
void EmulatedUsbDevice::completeQueuedLocked(Endpoint& ep, TransferStatus status,
                                             CompletionList& into) {
  while (Transfer* t = ep.head) {
    ep.head = t->links.next;
    t->status = status;
    into.push(*t);
  }
  ep.tail = nullptr;
}

void EmulatedUsbDevice::disconnect() {
  {
    std::lock_guard q(queueMutex_);
    connected_.store(false, std::memory_order_release);
    serviceRequested_ = true;
  }
  wake_.notify_one();
}

void EmulatedUsbDevice::setDisconnectHandler(std::function<void()> handler) {
  std::lock_guard q(queueMutex_);
  disconnectHandler_ = std::move(handler);
}

void EmulatedUsbDevice::resetPort() {
  unresponsive_.store(false, std::memory_order_release);
  std::lock_guard f(functionMutex_);
  if (!connected_.load(std::memory_order_acquire) || gone_) return;
  deactivateAllLocked(TransferStatus::Cancelled);
  state_ = UsbState::Default;
  address_ = 0;
  configuration_ = 0;
  std::fill(alternateSettings_.begin(), alternateSettings_.end(), 0);
  remoteWakeupEnabled_ = u1Enabled_ = u2Enabled_ = ltmEnabled_ = false;
  function_->onConfiguration(0);
}

void EmulatedUsbDevice::setUnresponsive(bool unresponsive) {
  unresponsive_.store(unresponsive, std::memory_order_release);
  {
    std::lock_guard q(queueMutex_);
    serviceRequested_ = true;  // answering again: serve what queued up
  }
  wake_.notify_one();
}

// ---- introspection ------------------------------------------------------------------------------

std::uint8_t EmulatedUsbDevice::address() const {
  std::lock_guard f(functionMutex_);
  return address_;
}

std::uint8_t EmulatedUsbDevice::configurationValue() const {
  std::lock_guard f(functionMutex_);
  return configuration_;
}

std::uint8_t EmulatedUsbDevice::alternateSetting(std::uint8_t interfaceNumber) const {
  std::lock_guard f(functionMutex_);
  for (std::size_t i = 0; i < layout_.interfaces.size(); ++i)
    if (layout_.interfaces[i].number == interfaceNumber) return alternateSettings_[i];
  return 0;
}

bool EmulatedUsbDevice::endpointHalted(std::uint8_t endpointAddress) const {
  std::lock_guard f(functionMutex_);
  const Endpoint* ep = findEndpoint(endpointAddress);
  return ep && ep->halted;
}

bool EmulatedUsbDevice::endpointActive(std::uint8_t endpointAddress) const {
  std::lock_guard f(functionMutex_);
  const Endpoint* ep = findEndpoint(endpointAddress);
  return ep && ep->active;
}

EmulatedDeviceCounters EmulatedUsbDevice::counters() const {
  std::lock_guard f(functionMutex_);
  return counters_;
}

// ---- endpoint activation --------------------------------------------------------------------------

// Function lock held.
void EmulatedUsbDevice::deactivateEndpointLocked(Endpoint& ep, TransferStatus pendingStatus) {
  if (ep.hasMessage) {
    ep.hasMessage = false;
    ep.messageOffset = 0;
    function_->releaseInMessage(ep.address);
  }
  ep.reassembled = 0;
  bool wasActive = ep.active;
  ep.active = false;
  ep.halted = false;
  if (!wasActive) return;
  {
    std::lock_guard q(queueMutex_);
    completeQueuedLocked(ep, pendingStatus, completedElsewhere_);
    serviceRequested_ = true;
  }
  wake_.notify_one();
}

void EmulatedUsbDevice::deactivateAllLocked(TransferStatus pendingStatus) {
  for (auto& ep : endpoints_)
    if (ep.exists) deactivateEndpointLocked(ep, pendingStatus);
}

void EmulatedUsbDevice::activateAlternate(std::uint8_t interfaceNumber,
                                          std::uint8_t alternateSetting) {
  const InterfaceSpec* intf = layout_.interface(interfaceNumber);
  const AlternateSettingSpec* alt = intf ? intf->alternate(alternateSetting) : nullptr;
  if (!alt) return;
  for (const auto& spec : alt->endpoints) {
    Endpoint& ep = endpoints_[endpointIndex(spec.address)];
    ep.active = true;
    ep.halted = false;
    ep.type = spec.type;
    ep.maxPacketSize = spec.maxPacketSize(speed_);
    ep.hasMessage = false;
    ep.messageOffset = 0;
    ep.reassembled = 0;
    if (!isInEndpoint(spec.address)) {
      std::size_t capacity = std::max<std::size_t>(function_->outMessageCapacity(spec.address), 1);
      if (ep.reassembly.size() < capacity) ep.reassembly.resize(capacity);
    }
  }
  requestService();
}

bool EmulatedUsbDevice::interfaceUsable(std::uint8_t interfaceNumber) const {
  return state_ == UsbState::Configured && layout_.interface(interfaceNumber) != nullptr;
}

// ---- control transfers ---------------------------------------------------------------------------

ControlResult EmulatedUsbDevice::controlTransfer(const SetupPacket& setup,
                                                 std::span<std::byte> data) {
  std::lock_guard f(functionMutex_);
  if (!connected_.load(std::memory_order_acquire) || gone_) return ControlResult::gone();
  ++counters_.controlRequests;
  ControlResult result = dispatchControl(setup, data);
  if (result.status == TransferStatus::Stall) ++counters_.controlStalls;
  return result;
}

ControlResult EmulatedUsbDevice::dispatchControl(const SetupPacket& setup,
                                                 std::span<std::byte> data) {
  switch (setup.type()) {
    case RequestType::Standard:
      return standardRequest(setup, data);
    case RequestType::Class:
    case RequestType::Vendor:
      switch (setup.recipient()) {
        case Recipient::Interface:
          if (!interfaceUsable(static_cast<std::uint8_t>(setup.wIndex & 0xFF)))
            return ControlResult::stall();
          break;
        case Recipient::Endpoint: {
          const Endpoint* ep = findEndpoint(static_cast<std::uint8_t>(setup.wIndex & 0xFF));
          if (!ep || !ep->active) return ControlResult::stall();
          break;
        }
        case Recipient::Device:
          break;
        case Recipient::Other:
          return ControlResult::stall();
      }
      return function_->classRequest(setup, data);
    case RequestType::Reserved:
      break;
  }
  return ControlResult::stall();
}

ControlResult EmulatedUsbDevice::standardRequest(const SetupPacket& setup,
                                                 std::span<std::byte> data) {
  using namespace standard_request;
  const bool in = setup.deviceToHost();
  const Recipient recipient = setup.recipient();
  switch (setup.bRequest) {
    case GetStatus:
      if (!in) return ControlResult::stall();
      return getStatus(setup, data);
    case ClearFeature:
    case SetFeature:
      if (in || setup.wLength != 0) return ControlResult::stall();
      return changeFeature(setup, setup.bRequest == SetFeature);
    case SetAddress:
      if (in || recipient != Recipient::Device || setup.wIndex != 0 || setup.wLength != 0 ||
          setup.wValue > 127 || state_ == UsbState::Configured)
        return ControlResult::stall();
      address_ = static_cast<std::uint8_t>(setup.wValue);
      state_ = address_ ? UsbState::Address : UsbState::Default;
      return ControlResult::ok();
    case GetDescriptor:
      if (!in || recipient != Recipient::Device) return ControlResult::stall();
      return getDescriptor(setup, data);
    case GetConfiguration: {
      if (!in || recipient != Recipient::Device || setup.wValue != 0 || setup.wIndex != 0 ||
          setup.wLength != 1 || data.empty())
        return ControlResult::stall();
      data[0] = static_cast<std::byte>(configuration_);
      return ControlResult::ok(1);
    }
    case SetConfiguration:
      if (in || recipient != Recipient::Device || setup.wIndex != 0 || setup.wLength != 0 ||
          (setup.wValue >> 8) != 0)
        return ControlResult::stall();
      return setConfiguration(static_cast<std::uint8_t>(setup.wValue));
    case GetInterface: {
      if (!in || recipient != Recipient::Interface || setup.wValue != 0 || setup.wLength != 1 ||
          data.empty() || !interfaceUsable(static_cast<std::uint8_t>(setup.wIndex)) ||
          (setup.wIndex >> 8) != 0)
        return ControlResult::stall();
      for (std::size_t i = 0; i < layout_.interfaces.size(); ++i)
        if (layout_.interfaces[i].number == setup.wIndex)
          data[0] = static_cast<std::byte>(alternateSettings_[i]);
      return ControlResult::ok(1);
    }
    case SetInterface:
      if (in || recipient != Recipient::Interface || setup.wLength != 0 ||
          (setup.wIndex >> 8) != 0 || (setup.wValue >> 8) != 0)
        return ControlResult::stall();
      return setInterface(static_cast<std::uint8_t>(setup.wIndex),
                          static_cast<std::uint8_t>(setup.wValue));
    case SetSel:
      // U1/U2 exit latencies (6 bytes). Only meaningful at SuperSpeed; nothing to model.
      if (speed_ != Speed::Super || in || recipient != Recipient::Device || setup.wLength != 6 ||
          data.size() < 6 || state_ == UsbState::Default)
        return ControlResult::stall();
      return ControlResult::ok(6);
    case SetIsochDelay:
      if (speed_ != Speed::Super || in || recipient != Recipient::Device || setup.wLength != 0 ||
          setup.wIndex != 0)
        return ControlResult::stall();
      return ControlResult::ok();
    case SetDescriptor:  // optional, and descriptors here are fixed
    case SynchFrame:     // isochronous only; the functions have none
    default:
      return ControlResult::stall();
  }
}

ControlResult EmulatedUsbDevice::getDescriptor(const SetupPacket& setup,
                                               std::span<std::byte> data) {
  const auto type = static_cast<std::uint8_t>(setup.wValue >> 8);
  const auto index = static_cast<std::uint8_t>(setup.wValue & 0xFF);
  switch (type) {
    case descriptor_type::Device:
      if (index != 0) return ControlResult::stall();
      return copyOut(data, setup.wLength, deviceDescriptor_);
    case descriptor_type::Configuration:
      if (index != 0) return ControlResult::stall();
      return copyOut(data, setup.wLength, configurationDescriptor_);
    case descriptor_type::OtherSpeedConfiguration:
      if (index != 0 || otherSpeedConfigurationDescriptor_.empty()) return ControlResult::stall();
      return copyOut(data, setup.wLength, otherSpeedConfigurationDescriptor_);
    case descriptor_type::DeviceQualifier:
      if (index != 0 || deviceQualifier_.empty()) return ControlResult::stall();
      return copyOut(data, setup.wLength, deviceQualifier_);
    case descriptor_type::Bos:
      if (index != 0 || bosDescriptor_.empty()) return ControlResult::stall();
      return copyOut(data, setup.wLength, bosDescriptor_);
    case descriptor_type::String: {
      if (index == 0) {
        const std::uint16_t languages[] = {LanguageEnglishUs};
        return copyOut(data, setup.wLength, buildLanguageIdDescriptor(languages));
      }
      const std::u16string* text = strings_.find(index);
      if (!text) return ControlResult::stall();
      return copyOut(data, setup.wLength, buildStringDescriptor(*text));
    }
    default:
      return ControlResult::stall();
  }
}

ControlResult EmulatedUsbDevice::getStatus(const SetupPacket& setup, std::span<std::byte> data) {
  if (setup.wValue != 0 || setup.wLength != 2 || data.size() < 2) return ControlResult::stall();
  std::uint16_t status = 0;
  switch (setup.recipient()) {
    case Recipient::Device:
      if (setup.wIndex != 0) return ControlResult::stall();
      status = static_cast<std::uint16_t>((identity_.selfPowered ? 0x01 : 0) |
                                          (remoteWakeupEnabled_ ? 0x02 : 0));
      if (speed_ == Speed::Super)
        status |= static_cast<std::uint16_t>((u1Enabled_ ? 0x04 : 0) | (u2Enabled_ ? 0x08 : 0) |
                                             (ltmEnabled_ ? 0x10 : 0));
      break;
    case Recipient::Interface:
      if ((setup.wIndex >> 8) != 0 || !interfaceUsable(static_cast<std::uint8_t>(setup.wIndex)))
        return ControlResult::stall();
      break;
    case Recipient::Endpoint: {
      const auto address = static_cast<std::uint8_t>(setup.wIndex & 0xFF);
      if ((setup.wIndex >> 8) != 0) return ControlResult::stall();
      if (endpointNumber(address) == 0 && (address & 0x70) == 0) break;  // default pipe
      const Endpoint* ep = findEndpoint(address);
      if (state_ != UsbState::Configured || !ep || !ep->active) return ControlResult::stall();
      status = ep->halted ? 1 : 0;
      break;
    }
    default:
      return ControlResult::stall();
  }
  writeLe16(data, 0, status);
  return ControlResult::ok(2);
}

ControlResult EmulatedUsbDevice::changeFeature(const SetupPacket& setup, bool set) {
  switch (setup.recipient()) {
    case Recipient::Device:
      if (setup.wIndex != 0) return ControlResult::stall();
      switch (setup.wValue) {
        case feature_selector::DeviceRemoteWakeup:
          if (!identity_.remoteWakeupCapable) return ControlResult::stall();
          remoteWakeupEnabled_ = set;
          return ControlResult::ok();
        case feature_selector::U1Enable:
        case feature_selector::U2Enable:
        case feature_selector::LtmEnable:
          if (speed_ != Speed::Super || state_ != UsbState::Configured) return ControlResult::stall();
          (setup.wValue == feature_selector::U1Enable   ? u1Enabled_
           : setup.wValue == feature_selector::U2Enable ? u2Enabled_
                                                        : ltmEnabled_) = set;
          return ControlResult::ok();
        case feature_selector::TestMode:  // would take the device off the bus; not emulated
        default:
          return ControlResult::stall();
      }
    case Recipient::Interface:
      // FUNCTION_SUSPEND exists only at SuperSpeed; USB 2.0 defines no interface features.
      if (speed_ != Speed::Super || setup.wValue != feature_selector::FunctionSuspend ||
          !interfaceUsable(static_cast<std::uint8_t>(setup.wIndex & 0xFF)))
        return ControlResult::stall();
      return ControlResult::ok();
    case Recipient::Endpoint: {
      if (setup.wValue != feature_selector::EndpointHalt || (setup.wIndex >> 8) != 0)
        return ControlResult::stall();
      const auto address = static_cast<std::uint8_t>(setup.wIndex & 0xFF);
      if (endpointNumber(address) == 0 && (address & 0x70) == 0) {
        // Halting the default pipe is "neither required nor recommended" (9.4.5): clearing it
        // is a harmless no-op, setting it is refused.
        return set ? ControlResult::stall() : ControlResult::ok();
      }
      Endpoint* ep = findEndpoint(address);
      if (state_ != UsbState::Configured || !ep || !ep->active) return ControlResult::stall();
      if (set) {
        ep->halted = true;
      } else {
        ep->halted = false;
        // Clearing a halt resets the pipe (data toggle, sequence): a message half received
        // or half sent before the host's recovery is not continued.
        ep->reassembled = 0;
        if (ep->hasMessage && ep->messageOffset > 0) {
          ep->hasMessage = false;
          ep->messageOffset = 0;
          function_->releaseInMessage(ep->address);
        }
      }
      requestService();
      return ControlResult::ok();
    }
    default:
      return ControlResult::stall();
  }
}

ControlResult EmulatedUsbDevice::setConfiguration(std::uint8_t value) {
  if (value > 1) return ControlResult::stall();
  deactivateAllLocked(TransferStatus::Cancelled);
  std::fill(alternateSettings_.begin(), alternateSettings_.end(), 0);
  configuration_ = value;
  if (value == 0) {
    state_ = address_ ? UsbState::Address : UsbState::Default;
    u1Enabled_ = u2Enabled_ = ltmEnabled_ = false;
  } else {
    state_ = UsbState::Configured;
    for (const auto& intf : layout_.interfaces) activateAlternate(intf.number, 0);
  }
  function_->onConfiguration(value);
  return ControlResult::ok();
}

ControlResult EmulatedUsbDevice::setInterface(std::uint8_t interfaceNumber,
                                              std::uint8_t alternateSetting) {
  if (state_ != UsbState::Configured) return ControlResult::stall();
  std::size_t slot = layout_.interfaces.size();
  for (std::size_t i = 0; i < layout_.interfaces.size(); ++i)
    if (layout_.interfaces[i].number == interfaceNumber) slot = i;
  if (slot == layout_.interfaces.size()) return ControlResult::stall();
  const InterfaceSpec& intf = layout_.interfaces[slot];
  if (!intf.alternate(alternateSetting)) return ControlResult::stall();
  // The endpoints of the old setting go away (even when re-selecting the same setting,
  // which resets them).
  if (const AlternateSettingSpec* old = intf.alternate(alternateSettings_[slot])) {
    for (const auto& spec : old->endpoints)
      deactivateEndpointLocked(endpoints_[endpointIndex(spec.address)], TransferStatus::Cancelled);
  }
  alternateSettings_[slot] = alternateSetting;
  activateAlternate(interfaceNumber, alternateSetting);
  function_->onAlternateSetting(interfaceNumber, alternateSetting);
  return ControlResult::ok();
}

// ---- device thread -------------------------------------------------------------------------------

void EmulatedUsbDevice::run() {
  std::unique_lock q(queueMutex_);
  for (;;) {
    serviceRequested_ = false;
    const bool stopping = stopRequested_;
    q.unlock();

    CompletionList done;
    DeviceClock::time_point deadline;
    {
      std::lock_guard f(functionMutex_);
      deadline = serviceLocked(done);
    }

    q.lock();
    done.splice(completedElsewhere_);
    std::function<void()> disconnectHandler;
    bool reportDisconnect = false;
    bool queuesEmpty = true;
    for (const auto& ep : endpoints_) queuesEmpty = queuesEmpty && ep.head == nullptr;
    if (!connected_.load(std::memory_order_acquire) && !disconnectReported_ && queuesEmpty) {
      disconnectReported_ = true;
      reportDisconnect = true;
      disconnectHandler = disconnectHandler_;
    }
    q.unlock();

    deliver(done);
    if (reportDisconnect && disconnectHandler) disconnectHandler();

    q.lock();
    if (stopping && completedElsewhere_.empty()) {
      bool idle = true;
      for (const auto& ep : endpoints_) idle = idle && ep.head == nullptr;
      if (idle) break;
      continue;
    }
    if (serviceRequested_ || stopRequested_) continue;
    auto woken = [this] { return serviceRequested_ || stopRequested_; };
    if (deadline == DeviceClock::time_point::max()) wake_.wait(q, woken);
    else wake_.wait_until(q, deadline, woken);
  }
}

void EmulatedUsbDevice::deliver(CompletionList& done) {
  Transfer* t = done.head;
  done.head = done.tail = nullptr;
  if (!t) return;
  {
    // Make them resubmittable before any callback runs (a callback may resubmit another
    // transfer of the same batch).
    std::lock_guard q(queueMutex_);
    for (Transfer* p = t; p; p = p->links.next) {
      p->links.state = TransferIdle;
      p->links.owner = nullptr;
    }
  }
  while (t) {
    Transfer* next = t->links.next;
    t->links.next = nullptr;
    t->links.prev = nullptr;
    t->completion(*t, t->context);  // may resubmit or free *t: do not touch it afterwards
    t = next;
  }
}

// Function lock held.
void EmulatedUsbDevice::teardownAfterDisconnectLocked(CompletionList& done) {
  if (!gone_) {
    gone_ = true;
    for (auto& ep : endpoints_) {
      if (!ep.exists) continue;
      if (ep.hasMessage) {
        ep.hasMessage = false;
        function_->releaseInMessage(ep.address);
      }
      ep.active = ep.halted = false;
      ep.reassembled = 0;
    }
    if (configuration_ != 0) function_->onConfiguration(0);
    configuration_ = 0;
    state_ = UsbState::Default;
  }
  std::lock_guard q(queueMutex_);
  for (auto& ep : endpoints_)
    if (ep.exists) completeQueuedLocked(ep, TransferStatus::DeviceGone, done);
}

// Function lock held.
DeviceClock::time_point EmulatedUsbDevice::serviceLocked(CompletionList& done) {
  if (!connected_.load(std::memory_order_acquire) || gone_) {
    teardownAfterDisconnectLocked(done);
    return DeviceClock::time_point::max();
  }
  const DeviceClock::time_point deadline = function_->service(DeviceClock::now());
  for (auto& ep : endpoints_) {
    if (!ep.exists) continue;
    {
      std::lock_guard q(queueMutex_);
      if (!ep.head) continue;
      if (!ep.active || ep.halted) {
        completeQueuedLocked(ep, ep.active ? TransferStatus::Stall : TransferStatus::NoResponse,
                             done);
        continue;
      }
    }
    if (ep.type == EndpointType::Bulk && unresponsive()) continue;  // NAK: the transfers stay queued
    if (isInEndpoint(ep.address)) processIn(ep, done);
    else processOut(ep, done);
  }
  return deadline;
}

void EmulatedUsbDevice::processOut(Endpoint& ep, CompletionList& done) {
  for (int budget = OutTransfersPerPass; budget > 0; --budget) {
    Transfer* t;
    {
      std::lock_guard q(queueMutex_);
      t = ep.head;
      if (!t) return;
      ep.head = t->links.next;
      if (ep.head) ep.head->links.prev = nullptr;
      else ep.tail = nullptr;
      t->links.state = TransferConsuming;
    }
    consumeOut(ep, t->buffer, t->zeroLengthPacket);
    t->status = TransferStatus::Success;
    t->actualLength = t->buffer.size();
    done.push(*t);
  }
  std::lock_guard q(queueMutex_);
  if (ep.head) serviceRequested_ = true;
}

void EmulatedUsbDevice::consumeOut(Endpoint& ep, std::span<const std::byte> data,
                                   bool zeroLengthPacket) {
  const std::size_t packetSize = std::max<std::size_t>(ep.maxPacketSize, 1);
  const std::size_t capacity =
      std::max<std::size_t>(function_->outMessageCapacity(ep.address), 1);
  if (ep.reassembly.size() < capacity) ep.reassembly.resize(capacity);  // capacity grew

  if (data.empty()) {  // a zero-length packet: ends whatever was being received
    if (ep.reassembled) deliverOutMessage(ep);
    return;
  }
  for (std::size_t offset = 0; offset < data.size();) {
    const std::size_t packet = std::min(packetSize, data.size() - offset);
    for (std::size_t taken = 0; taken < packet;) {
      const std::size_t n = std::min(packet - taken, capacity - ep.reassembled);
      std::memcpy(ep.reassembly.data() + ep.reassembled, data.data() + offset + taken, n);
      ep.reassembled += n;
      taken += n;
      if (ep.reassembled == capacity) deliverOutMessage(ep);  // receive buffer full
    }
    offset += packet;
    if (packet < packetSize && ep.reassembled) deliverOutMessage(ep);  // short packet
  }
  if (data.size() % packetSize == 0 && zeroLengthPacket && ep.reassembled) deliverOutMessage(ep);
}

void EmulatedUsbDevice::deliverOutMessage(Endpoint& ep) {
  const std::size_t length = ep.reassembled;
  ep.reassembled = 0;
  ++counters_.outMessages;
  function_->onOutMessage(ep.address, std::span<const std::byte>(ep.reassembly.data(), length));
}

void EmulatedUsbDevice::processIn(Endpoint& ep, CompletionList& done) {
  const std::size_t packetSize = std::max<std::size_t>(ep.maxPacketSize, 1);
  for (;;) {
    {
      std::lock_guard q(queueMutex_);
      if (!ep.head) return;
    }
    if (!ep.hasMessage) {
      std::optional<InMessage> message = function_->nextInMessage(ep.address);
      if (!message) return;
      ep.hasMessage = true;
      ep.message = *message;
      ep.messageOffset = 0;
    }

    bool messageDone = false;
    {
      std::lock_guard q(queueMutex_);
      Transfer* t = ep.head;
      if (!t) return;  // cancelled meanwhile; the message waits for the next transfer
      const std::size_t capacity = t->buffer.size();
      const std::size_t space = capacity - t->actualLength;
      const std::span<const std::byte> message = ep.message.data;
      const std::size_t remaining = message.size() - ep.messageOffset;
      bool transferDone = false;

      auto copy = [&](std::size_t n) {
        if (n) std::memcpy(t->buffer.data() + t->actualLength, message.data() + ep.messageOffset, n);
        t->actualLength += n;
        ep.messageOffset += n;
      };

      if (remaining == 0) {
        // An empty message, or the ZLP owed after a message that exactly filled the previous
        // transfer: either way a zero-length packet, which ends this transfer.
        transferDone = messageDone = true;
      } else if (remaining <= space) {
        copy(remaining);
        const bool endsWithShortPacket = message.size() % packetSize != 0;
        const bool full = t->actualLength == capacity;
        if (endsWithShortPacket) {
          transferDone = messageDone = true;
        } else if (ep.message.zeroLengthPacket) {
          transferDone = true;
          messageDone = !full;  // when full, the ZLP is still owed: it ends the next transfer
        } else {
          messageDone = true;
          transferDone = full;  // otherwise the next message's packets continue this transfer
        }
      } else if (space % packetSize == 0) {
        copy(space);  // whole packets; the rest of the message starts the next transfer
        transferDone = true;
      } else {
        copy(space);  // the next packet does not fit: babble, and the message is lost
        t->status = TransferStatus::Overrun;
        ++counters_.inOverruns;
        transferDone = messageDone = true;
      }

      if (transferDone) {
        ep.head = t->links.next;
        if (ep.head) ep.head->links.prev = nullptr;
        else ep.tail = nullptr;
        done.push(*t);
      }
    }
    if (messageDone) {
      ep.hasMessage = false;
      ep.messageOffset = 0;
      ++counters_.inMessages;
      function_->releaseInMessage(ep.address);
    }
  }
}

}  // namespace ndishost::usb::device
