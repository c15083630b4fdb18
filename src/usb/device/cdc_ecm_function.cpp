#include "usb/device/cdc_ecm_function.hpp"

#include <cstring>

#include "usb/device/byte_io.hpp"

namespace ndishost::usb::device {

namespace {

constexpr std::uint16_t DefaultCdcFilter =
    cdc_packet_type::Directed | cdc_packet_type::Broadcast | cdc_packet_type::AllMulticast;
// wMaxPacketSize of every bulk speed divides this, so the OUT buffer ends on a packet
// boundary at all speeds.
constexpr std::size_t LargestBulkPacket = 1024;
constexpr std::uint32_t SupportedStatistics = 0x1F;  // selectors 1..5

}  // namespace

CdcEcmFunction::CdcEcmFunction(CdcEcmConfig config, link::FramePort& port)
    : EthernetFunction(config.ethernet, port, config.ethernet.maxFrameSize),
      interfaceAssociation_(config.interfaceAssociation) {}

PacketFilter CdcEcmFunction::packetFilter() const {
  std::lock_guard lock(mutex_);
  return filterLocked();
}

CdcEcmCounters CdcEcmFunction::ecmCounters() const {
  std::lock_guard lock(mutex_);
  return ecmCounters_;
}

FunctionLayout CdcEcmFunction::describe(StringTable& strings) {
  const std::uint8_t comm = communicationInterface();
  const std::uint8_t data = dataInterface();
  const std::uint8_t macString = strings.add(config_.macAddress.toHexDigits());

  FunctionLayout layout;
  if (interfaceAssociation_) {
    layout.deviceClass = usb_class::Miscellaneous;
    layout.deviceSubClass = 0x02;
    layout.deviceProtocol = 0x01;
    layout.association = InterfaceAssociationFields{
        comm, 2, usb_class::Communications, cdc_subclass::EthernetControl, 0, 0};
  } else {
    layout.deviceClass = usb_class::Communications;
  }

  AlternateSettingSpec control;
  control.interfaceClass = usb_class::Communications;
  control.interfaceSubClass = cdc_subclass::EthernetControl;
  appendCdcHeader(control.classDescriptors, 0x0120);
  const std::uint8_t subordinate[] = {data};
  appendCdcUnion(control.classDescriptors, comm, subordinate);
  appendCdcEthernetNetworking(control.classDescriptors, macString, SupportedStatistics,
                              static_cast<std::uint16_t>(config_.maxFrameSize),
                              static_cast<std::uint16_t>(config_.multicastFilters), 0);
  control.endpoints.push_back(
      EndpointSpec::interrupt(config_.notificationEndpoint, 16, config_.notificationIntervalMs));
  layout.interfaces.push_back({comm, {std::move(control)}});

  AlternateSettingSpec idle;
  idle.interfaceClass = usb_class::CdcData;
  AlternateSettingSpec running = idle;
  running.alternateSetting = 1;
  running.endpoints = {EndpointSpec::bulk(config_.bulkInEndpoint),
                       EndpointSpec::bulk(config_.bulkOutEndpoint)};
  layout.interfaces.push_back({data, {std::move(idle), std::move(running)}});
  return layout;
}

void CdcEcmFunction::notifyLinkLocked() {
  const std::uint8_t comm = communicationInterface();
  if (linkUpLocked()) {
    queueNotificationLocked(makeConnectionSpeedChange(comm, linkSpeedLocked(), linkSpeedLocked()).view());
    queueNotificationLocked(makeNetworkConnection(comm, true).view());
  } else {
    queueNotificationLocked(makeNetworkConnection(comm, false).view());
  }
}

void CdcEcmFunction::onLinkChangeLocked(bool) {
  if (dataPathLocked()) notifyLinkLocked();
}

void CdcEcmFunction::onConfiguration(std::uint8_t) {
  std::lock_guard lock(mutex_);
  // Configured or not, the data interface starts at alternate setting 0: no data path.
  setDataPathLocked(false);
  clearNotificationsLocked();
  setFilterLocked(packetFilterFromCdc(DefaultCdcFilter));
  setMulticastListLocked({});
}

void CdcEcmFunction::onAlternateSetting(std::uint8_t interfaceNumber, std::uint8_t alternateSetting) {
  if (interfaceNumber != dataInterface()) return;
  std::lock_guard lock(mutex_);
  clearNotificationsLocked();
  setDataPathLocked(alternateSetting == 1);
  if (alternateSetting == 1) notifyLinkLocked();
}

ControlResult CdcEcmFunction::classRequest(const SetupPacket& setup, std::span<std::byte> data) {
  if (setup.type() != RequestType::Class || setup.recipient() != Recipient::Interface ||
      setup.wIndex != communicationInterface())
    return ControlResult::stall();
  std::lock_guard lock(mutex_);
  switch (setup.bRequest) {
    case cdc_request::SetEthernetMulticastFilters: {
      const std::size_t count = setup.wValue;
      if (setup.deviceToHost() || setup.wLength != count * 6 || data.size() < count * 6 ||
          count > config_.multicastFilters)
        return ControlResult::stall();
      std::vector<MacAddress> list;
      for (std::size_t i = 0; i < count; ++i) {
        list.push_back(MacAddress::fromBytes(data.subspan(i * 6, 6)));
        if (!list.back().isMulticast()) return ControlResult::stall();
      }
      setMulticastListLocked(list);
      return ControlResult::ok(setup.wLength);
    }
    case cdc_request::SetEthernetPacketFilter:
      if (setup.deviceToHost() || setup.wLength != 0 || (setup.wValue & ~0x1Fu) != 0)
        return ControlResult::stall();
      setFilterLocked(packetFilterFromCdc(setup.wValue));
      return ControlResult::ok();
    case cdc_request::GetEthernetStatistic: {
      if (!setup.deviceToHost() || setup.wLength != 4 || data.size() < 4 || setup.wValue < 1 ||
          setup.wValue > 5)
        return ControlResult::stall();
      const EthernetCounters c = snapshotCountersLocked();
      const ReceiveQueueCounters& rx = c.receive;
      std::uint64_t value = 0;
      switch (setup.wValue) {
        case ethernet_statistic::XmitOk: value = c.fromHostFrames; break;
        case ethernet_statistic::RcvOk: value = c.toHostFrames; break;
        case ethernet_statistic::XmitError:
          value = c.portDrops + c.fromHostMalformed + c.fromHostDropped;
          break;
        case ethernet_statistic::RcvError: value = rx.runts + rx.oversize; break;
        case ethernet_statistic::RcvNoBuffer: value = rx.noBuffer; break;
      }
      writeLe32(data, 0, static_cast<std::uint32_t>(value));
      return ControlResult::ok(4);
    }
    default:
      return ControlResult::stall();
  }
}

std::size_t CdcEcmFunction::outMessageCapacity(std::uint8_t) const {
  return (config_.maxFrameSize + LargestBulkPacket - 1) / LargestBulkPacket * LargestBulkPacket;
}

void CdcEcmFunction::onOutMessage(std::uint8_t, std::span<const std::byte> message) {
  std::lock_guard lock(mutex_);
  ++countersLocked().fromHostMessages;
  if (message.size() < EthernetHeaderLength) {
    ++ecmCounters_.runts;
    ++countersLocked().fromHostMalformed;
    return;
  }
  if (message.size() > config_.maxFrameSize) {
    ++ecmCounters_.oversize;
    ++countersLocked().fromHostMalformed;
    return;
  }
  transmitLocked(message);
}

void CdcEcmFunction::beginBatchLocked(std::span<std::byte> buffer) {
  batch_ = buffer;
  batchLength_ = 0;
}

bool CdcEcmFunction::appendToBatchLocked(std::span<const std::byte> frame) {
  if (batchLength_ > 0 || frame.size() > batch_.size()) return false;
  std::memcpy(batch_.data(), frame.data(), frame.size());
  batchLength_ = frame.size();
  return true;
}

std::size_t CdcEcmFunction::finishBatchLocked() {
  const std::size_t length = batchLength_;
  batchLength_ = 0;
  return length;
}

}  // namespace ndishost::usb::device
