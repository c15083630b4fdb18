#include "usb/device/cdc_ncm_function.hpp"

#include <algorithm>
#include <numeric>

#include "usb/device/byte_io.hpp"

namespace ndishost::usb::device {

namespace {

constexpr std::uint16_t DefaultCdcFilter =
    cdc_packet_type::Directed | cdc_packet_type::Broadcast | cdc_packet_type::AllMulticast;
constexpr std::uint32_t MinimumNtbInputSize = 2048;  // NCM 1.0 section 6.2.7
constexpr std::size_t MinimumMaxDatagramSize = EthernetMaxFrameLength;

}  // namespace

std::uint64_t CdcNcmCounters::rejectedTotal() const {
  return std::accumulate(rejected.begin(), rejected.end(), std::uint64_t{0});
}

CdcNcmFunction::CdcNcmFunction(CdcNcmConfig config, link::FramePort& port)
    : EthernetFunction(config.ethernet, port, config.ntbInMaxSize),
      ncm_(std::move(config)),
      inputSize_(ncm_.ntbInMaxSize),
      maxDatagramSize_(ncm_.ethernet.maxFrameSize) {
  // Worst case: every datagram the smallest possible (an Ethernet header).
  const std::size_t minEntry = EthernetHeaderLength;
  writer_.reserve(ncm_.ntbInMaxSize / minEntry + 1);
  std::size_t room = ncm_.ntbOutMaxDatagrams ? ncm_.ntbOutMaxDatagrams : ncm_.ntbOutMaxSize / minEntry;
  datagrams_.resize(room);
}

std::uint8_t CdcNcmFunction::capabilities() const {
  return static_cast<std::uint8_t>(ncm_capability::PacketFilter | ncm_capability::NetAddress |
                                   ncm_capability::MaxDatagramSize |
                                   (ncm_.ntbInputSize8Byte ? ncm_capability::NtbInputSize8Byte : 0));
}

NtbParameters CdcNcmFunction::ntbParameters() const {
  NtbParameters p{};
  p.wLength = NtbParameters::WireSize;
  p.bmNtbFormatsSupported = static_cast<std::uint16_t>(0x0001 | (ncm_.supportNtb32 ? 0x0002 : 0));
  p.dwNtbInMaxSize = ncm_.ntbInMaxSize;
  p.wNdpInDivisor = ncm_.ndpInDivisor;
  p.wNdpInPayloadRemainder = ncm_.ndpInPayloadRemainder;
  p.wNdpInAlignment = ncm_.ndpInAlignment;
  p.dwNtbOutMaxSize = ncm_.ntbOutMaxSize;
  p.wNdpOutDivisor = ncm_.ndpOutDivisor;
  p.wNdpOutPayloadRemainder = ncm_.ndpOutPayloadRemainder;
  p.wNdpOutAlignment = ncm_.ndpOutAlignment;
  p.wNtbOutMaxDatagrams = ncm_.ntbOutMaxDatagrams;
  return p;
}

NtbFormat CdcNcmFunction::ntbFormat() const {
  std::lock_guard lock(mutex_);
  return format_;
}

std::uint32_t CdcNcmFunction::ntbInputSize() const {
  std::lock_guard lock(mutex_);
  return inputSize_;
}

std::size_t CdcNcmFunction::maxDatagramSize() const {
  std::lock_guard lock(mutex_);
  return maxDatagramSize_;
}

PacketFilter CdcNcmFunction::packetFilter() const {
  std::lock_guard lock(mutex_);
  return filterLocked();
}

CdcNcmCounters CdcNcmFunction::ncmCounters() const {
  std::lock_guard lock(mutex_);
  return ncmCounters_;
}

FunctionLayout CdcNcmFunction::describe(StringTable& strings) {
  const std::uint8_t comm = communicationInterface();
  const std::uint8_t data = dataInterface();
  const std::uint8_t macString = strings.add(config_.macAddress.toHexDigits());

  FunctionLayout layout;
  if (ncm_.interfaceAssociation) {
    layout.deviceClass = usb_class::Miscellaneous;
    layout.deviceSubClass = 0x02;
    layout.deviceProtocol = 0x01;
    layout.association = InterfaceAssociationFields{
        comm, 2, usb_class::Communications, cdc_subclass::NetworkControl, 0, 0};
  } else {
    layout.deviceClass = usb_class::Communications;
  }

  AlternateSettingSpec control;
  control.interfaceClass = usb_class::Communications;
  control.interfaceSubClass = cdc_subclass::NetworkControl;
  appendCdcHeader(control.classDescriptors, 0x0110);
  const std::uint8_t subordinate[] = {data};
  appendCdcUnion(control.classDescriptors, comm, subordinate);
  appendCdcEthernetNetworking(control.classDescriptors, macString, 0,
                              static_cast<std::uint16_t>(config_.maxFrameSize),
                              static_cast<std::uint16_t>(config_.multicastFilters), 0);
  appendCdcNcm(control.classDescriptors, 0x0100, capabilities());
  control.endpoints.push_back(
      EndpointSpec::interrupt(config_.notificationEndpoint, 16, config_.notificationIntervalMs));
  layout.interfaces.push_back({comm, {std::move(control)}});

  AlternateSettingSpec idle;
  idle.interfaceClass = usb_class::CdcData;
  idle.interfaceProtocol = NcmDataProtocolNtb;
  AlternateSettingSpec running = idle;
  running.alternateSetting = 1;
  running.endpoints = {EndpointSpec::bulk(config_.bulkInEndpoint),
                       EndpointSpec::bulk(config_.bulkOutEndpoint)};
  layout.interfaces.push_back({data, {std::move(idle), std::move(running)}});
  return layout;
}

void CdcNcmFunction::resetNtbStateLocked() {
  format_ = NtbFormat::Ntb16;
  inputSize_ = ncm_.ntbInMaxSize;
  inputMaxDatagrams_ = 0;
  maxDatagramSize_ = ncm_.ethernet.maxFrameSize;
  inSequence_ = 0;
  haveOutSequence_ = false;
  setFilterLocked(packetFilterFromCdc(DefaultCdcFilter));
  setMulticastListLocked({});
  setStationAddressLocked(config_.macAddress);
}

void CdcNcmFunction::notifyLinkLocked() {
  const std::uint8_t comm = communicationInterface();
  if (linkUpLocked()) {
    // NCM 1.0 section 7.1: the speed first, then "connected".
    queueNotificationLocked(makeConnectionSpeedChange(comm, linkSpeedLocked(), linkSpeedLocked()).view());
    queueNotificationLocked(makeNetworkConnection(comm, true).view());
  } else {
    queueNotificationLocked(makeNetworkConnection(comm, false).view());
  }
}

void CdcNcmFunction::onLinkChangeLocked(bool) {
  if (dataPathLocked()) notifyLinkLocked();
}

void CdcNcmFunction::onConfiguration(std::uint8_t) {
  std::lock_guard lock(mutex_);
  dataAlternate_ = 0;
  setDataPathLocked(false);
  clearNotificationsLocked();
  resetNtbStateLocked();
}

void CdcNcmFunction::onAlternateSetting(std::uint8_t interfaceNumber, std::uint8_t alternateSetting) {
  if (interfaceNumber != dataInterface()) return;
  std::lock_guard lock(mutex_);
  dataAlternate_ = alternateSetting;
  clearNotificationsLocked();
  if (alternateSetting == 0) {
    setDataPathLocked(false);
    resetNtbStateLocked();
  } else {
    inSequence_ = 0;
    haveOutSequence_ = false;
    setDataPathLocked(true);
    notifyLinkLocked();
  }
}

ControlResult CdcNcmFunction::classRequest(const SetupPacket& setup, std::span<std::byte> data) {
  if (setup.type() != RequestType::Class || setup.recipient() != Recipient::Interface ||
      setup.wIndex != communicationInterface())
    return ControlResult::stall();
  std::lock_guard lock(mutex_);
  const bool in = setup.deviceToHost();
  const std::size_t inputSizeLength = ncm_.ntbInputSize8Byte ? NtbInputSize::WireSize : 4;
  auto reply = [&](std::span<const std::byte> bytes) {
    const std::size_t n = std::min({bytes.size(), static_cast<std::size_t>(setup.wLength), data.size()});
    std::copy_n(bytes.begin(), n, data.begin());
    return ControlResult::ok(n);
  };
  switch (setup.bRequest) {
    case cdc_request::GetNtbParameters: {
      if (!in || setup.wValue != 0) return ControlResult::stall();
      std::array<std::byte, NtbParameters::WireSize> bytes;
      ntbParameters().write(bytes);
      return reply(bytes);
    }
    case cdc_request::GetNtbFormat: {
      if (!in || setup.wValue != 0 || setup.wLength != 2) return ControlResult::stall();
      std::array<std::byte, 2> bytes;
      writeLe16(bytes, 0, static_cast<std::uint16_t>(format_));
      return reply(bytes);
    }
    case cdc_request::SetNtbFormat:
      if (in || setup.wLength != 0 || dataAlternate_ != 0 || setup.wValue > 1 ||
          (setup.wValue == 1 && !ncm_.supportNtb32))
        return ControlResult::stall();
      format_ = static_cast<NtbFormat>(setup.wValue);
      return ControlResult::ok();
    case cdc_request::GetNtbInputSize: {
      if (!in || setup.wValue != 0 || setup.wLength != inputSizeLength) return ControlResult::stall();
      std::array<std::byte, NtbInputSize::WireSize> bytes{};
      writeLe32(bytes, 0, inputSize_);
      writeLe16(bytes, 4, inputMaxDatagrams_);
      return reply(std::span<const std::byte>(bytes).first(inputSizeLength));
    }
    case cdc_request::SetNtbInputSize: {
      if (in || setup.wValue != 0 || setup.wLength != inputSizeLength ||
          data.size() < inputSizeLength)
        return ControlResult::stall();
      const std::uint32_t size = readLe32(data, 0);
      if (size < MinimumNtbInputSize || size > ncm_.ntbInMaxSize) return ControlResult::stall();
      inputSize_ = size;
      inputMaxDatagrams_ = inputSizeLength == 8 ? readLe16(data, 4) : 0;
      return ControlResult::ok(inputSizeLength);
    }
    case cdc_request::GetMaxDatagramSize: {
      if (!in || setup.wValue != 0 || setup.wLength != 2) return ControlResult::stall();
      std::array<std::byte, 2> bytes;
      writeLe16(bytes, 0, static_cast<std::uint16_t>(maxDatagramSize_));
      return reply(bytes);
    }
    case cdc_request::SetMaxDatagramSize: {
      if (in || setup.wValue != 0 || setup.wLength != 2 || data.size() < 2)
        return ControlResult::stall();
      const std::size_t size = readLe16(data, 0);
      const std::size_t minimum = std::min(MinimumMaxDatagramSize, config_.maxFrameSize);
      if (size < minimum || size > config_.maxFrameSize) return ControlResult::stall();
      maxDatagramSize_ = size;
      return ControlResult::ok(2);
    }
    case cdc_request::GetNetAddress: {
      if (!in || setup.wValue != 0 || setup.wLength != 6) return ControlResult::stall();
      std::array<std::byte, 6> bytes;
      stationAddressLocked().toBytes(bytes);
      return reply(bytes);
    }
    case cdc_request::SetNetAddress: {
      if (in || setup.wValue != 0 || setup.wLength != 6 || data.size() < 6 || dataAlternate_ != 0)
        return ControlResult::stall();
      const MacAddress mac = MacAddress::fromBytes(data.first(6));
      if (mac.isMulticast()) return ControlResult::stall();
      setStationAddressLocked(mac);
      return ControlResult::ok(6);
    }
    case cdc_request::SetEthernetPacketFilter:
      if (in || setup.wLength != 0 || (setup.wValue & ~0x1Fu) != 0) return ControlResult::stall();
      setFilterLocked(packetFilterFromCdc(setup.wValue));
      return ControlResult::ok();
    case cdc_request::SetEthernetMulticastFilters: {
      const std::size_t count = setup.wValue;
      if (in || setup.wLength != count * 6 || data.size() < count * 6 ||
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
    case cdc_request::GetCrcMode:
    case cdc_request::SetCrcMode:  // bmNetworkCapabilities D4 is clear
    default:
      return ControlResult::stall();
  }
}

std::size_t CdcNcmFunction::outMessageCapacity(std::uint8_t) const { return ncm_.ntbOutMaxSize; }

void CdcNcmFunction::onOutMessage(std::uint8_t, std::span<const std::byte> message) {
  std::lock_guard lock(mutex_);
  ++countersLocked().fromHostMessages;
  NtbLimits limits;
  limits.format = format_;
  limits.maxBlockLength = ncm_.ntbOutMaxSize;
  limits.maxDatagramSize = maxDatagramSize_;
  limits.maxDatagrams = ncm_.ntbOutMaxDatagrams;
  limits.maxNdps = ncm_.maxNdpsPerNtb;
  const NtbParseResult parsed = parseNtb(message, limits, datagrams_);
  if (parsed.error != NtbError::None) {
    ++ncmCounters_.rejected[static_cast<std::size_t>(parsed.error)];
    ++countersLocked().fromHostMalformed;
    return;
  }
  ++ncmCounters_.ntbsReceived;
  if (haveOutSequence_ && parsed.sequence != static_cast<std::uint16_t>(lastOutSequence_ + 1))
    ++ncmCounters_.sequenceGaps;
  haveOutSequence_ = true;
  lastOutSequence_ = parsed.sequence;
  for (std::size_t i = 0; i < parsed.datagramCount; ++i) transmitLocked(datagrams_[i]);
}

void CdcNcmFunction::beginBatchLocked(std::span<std::byte> buffer) {
  NtbBuildParameters params;
  params.format = format_;
  params.maxBlockLength = inputSize_;
  params.divisor = ncm_.ndpInDivisor;
  params.payloadRemainder = ncm_.ndpInPayloadRemainder;
  params.ndpAlignment = ncm_.ndpInAlignment;
  params.maxDatagrams = inputMaxDatagrams_;
  writer_.begin(buffer, params, inSequence_);
}

bool CdcNcmFunction::appendToBatchLocked(std::span<const std::byte> frame) {
  if (frame.size() > maxDatagramSize_) return false;
  return writer_.append(frame);
}

void CdcNcmFunction::abandonBatchLocked() {
  if (writer_.active()) writer_.finish();  // the NTB is never sent: no sequence number used
}

std::size_t CdcNcmFunction::finishBatchLocked() {
  if (!writer_.active()) return 0;
  ++inSequence_;
  ++ncmCounters_.ntbsSent;
  return writer_.finish();
}

bool CdcNcmFunction::batchNeedsZlpLocked(std::size_t length) const {
  // NCM 1.0 section 3.2.2: an NTB of exactly the host's input size needs no ZLP.
  return length < inputSize_;
}

}  // namespace ndishost::usb::device
