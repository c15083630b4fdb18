#include "usb/device/rndis_function.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "usb/device/byte_io.hpp"

namespace ndishost::usb::device {

namespace {

// The OIDs answered by QUERY, in the order OID_GEN_SUPPORTED_LIST reports them.
constexpr std::uint32_t SupportedOids[] = {
    rndis_oid::GenSupportedList,        rndis_oid::GenHardwareStatus,
    rndis_oid::GenMediaSupported,       rndis_oid::GenMediaInUse,
    rndis_oid::GenMaximumFrameSize,     rndis_oid::GenLinkSpeed,
    rndis_oid::GenTransmitBlockSize,    rndis_oid::GenReceiveBlockSize,
    rndis_oid::GenVendorId,             rndis_oid::GenVendorDescription,
    rndis_oid::GenVendorDriverVersion,  rndis_oid::GenCurrentPacketFilter,
    rndis_oid::GenMaximumTotalSize,     rndis_oid::GenMediaConnectStatus,
    rndis_oid::GenPhysicalMedium,       rndis_oid::GenXmitOk,
    rndis_oid::GenRcvOk,                rndis_oid::GenXmitError,
    rndis_oid::GenRcvError,             rndis_oid::GenRcvNoBuffer,
    rndis_oid::Ieee8023PermanentAddress, rndis_oid::Ieee8023CurrentAddress,
    rndis_oid::Ieee8023MulticastList,   rndis_oid::Ieee8023MaximumListSize,
};

constexpr std::size_t PacketAlignmentToHost = 8;  // device-to-host messages start on 8 bytes

std::uint32_t clamp32(std::uint64_t value) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(value, 0xFFFFFFFFu));
}

}  // namespace

std::uint64_t RndisCounters::rejectedTotal() const {
  return std::accumulate(rejected.begin(), rejected.end(), std::uint64_t{0});
}

RndisFunction::RndisFunction(RndisConfig config, link::FramePort& port)
    : EthernetFunction(config.ethernet, port, config.maxInTransferSize), rndis_(std::move(config)) {
  frames_.resize(std::max<std::uint32_t>(rndis_.maxPacketsPerTransfer, 1));
}

RndisState RndisFunction::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::uint32_t RndisFunction::hostMaxTransferSize() const {
  std::lock_guard lock(mutex_);
  return hostMaxTransferSize_;
}

PacketFilter RndisFunction::packetFilter() const {
  std::lock_guard lock(mutex_);
  return filterLocked();
}

RndisCounters RndisFunction::rndisCounters() const {
  std::lock_guard lock(mutex_);
  return rndisCounters_;
}

FunctionLayout RndisFunction::describe(StringTable&) {
  const std::uint8_t comm = communicationInterface();
  const std::uint8_t data = dataInterface();
  std::uint8_t cls = usb_class::WirelessController, sub = 0x01, proto = 0x03;
  switch (rndis_.interfaceClass) {
    case RndisInterfaceClass::WirelessController: break;
    case RndisInterfaceClass::CdcAbstractVendor:
      cls = usb_class::Communications, sub = cdc_subclass::AbstractControl, proto = 0xFF;
      break;
    case RndisInterfaceClass::Miscellaneous:
      cls = usb_class::Miscellaneous, sub = 0x04, proto = 0x01;
      break;
  }

  FunctionLayout layout;
  if (rndis_.interfaceAssociation) {
    layout.deviceClass = usb_class::Miscellaneous;
    layout.deviceSubClass = 0x02;
    layout.deviceProtocol = 0x01;
    layout.association = InterfaceAssociationFields{comm, 2, cls, sub, proto, 0};
  } else {
    layout.deviceClass = usb_class::Communications;
  }

  AlternateSettingSpec control;
  control.interfaceClass = cls;
  control.interfaceSubClass = sub;
  control.interfaceProtocol = proto;
  appendCdcHeader(control.classDescriptors, 0x0110);
  appendCdcCallManagement(control.classDescriptors, 0x00, data);
  appendCdcAbstractControlManagement(control.classDescriptors, 0x00);
  const std::uint8_t subordinate[] = {data};
  appendCdcUnion(control.classDescriptors, comm, subordinate);
  control.endpoints.push_back(
      EndpointSpec::interrupt(config_.notificationEndpoint, 8, config_.notificationIntervalMs));
  layout.interfaces.push_back({comm, {std::move(control)}});

  AlternateSettingSpec bulk;
  bulk.interfaceClass = usb_class::CdcData;
  bulk.endpoints = {EndpointSpec::bulk(config_.bulkInEndpoint),
                    EndpointSpec::bulk(config_.bulkOutEndpoint)};
  layout.interfaces.push_back({data, {std::move(bulk)}});
  return layout;
}

// ---- state --------------------------------------------------------------------------------------

void RndisFunction::enterStateLocked(RndisState state) {
  state_ = state;
  setDataPathLocked(state == RndisState::DataInitialized);
}

void RndisFunction::resetToUninitializedLocked() {
  clearResponsesLocked();
  setFilterLocked({});
  setMulticastListLocked({});
  hostMaxTransferSize_ = 0;
  enterStateLocked(RndisState::Uninitialized);
}

void RndisFunction::onConfiguration(std::uint8_t) {
  // Configured or not, a (re)configuration is a bus-level (re)initialization: RNDIS starts
  // over uninitialized.
  std::lock_guard lock(mutex_);
  resetToUninitializedLocked();
}

void RndisFunction::onAlternateSetting(std::uint8_t, std::uint8_t) {}

void RndisFunction::onLinkChangeLocked(bool up) {
  if (state_ == RndisState::Uninitialized) return;
  if (Response* r = beginResponseLocked()) {
    commitResponseLocked(*r, buildRndisIndicateStatus(r->bytes, up ? rndis_status::MediaConnect
                                                                   : rndis_status::MediaDisconnect));
  }
}

// ---- responses ---------------------------------------------------------------------------------

RndisFunction::Response* RndisFunction::beginResponseLocked() {
  if (responseCount_ == ResponseSlots) {
    ++rndisCounters_.responsesDropped;
    return nullptr;
  }
  return &responses_[(responseHead_ + responseCount_) % ResponseSlots];
}

void RndisFunction::commitResponseLocked(Response& response, std::size_t length) {
  if (length == 0) return;
  response.length = length;
  ++responseCount_;
  std::array<std::byte, 8> notification{};
  writeLe32(notification, 0, RndisResponseAvailable);
  queueNotificationLocked(notification);
}

void RndisFunction::clearResponsesLocked() {
  responseHead_ = responseCount_ = 0;
  clearNotificationsLocked();
}

// ---- control channel ----------------------------------------------------------------------------

ControlResult RndisFunction::classRequest(const SetupPacket& setup, std::span<std::byte> data) {
  if (setup.type() != RequestType::Class || setup.recipient() != Recipient::Interface ||
      setup.wIndex != communicationInterface() || setup.wValue != 0)
    return ControlResult::stall();
  std::lock_guard lock(mutex_);
  switch (setup.bRequest) {
    case cdc_request::SendEncapsulatedCommand: {
      if (setup.deviceToHost() || setup.wLength == 0 || setup.wLength > MaxControlMessage ||
          data.size() < setup.wLength)
        return ControlResult::stall();
      handleControlMessageLocked(data.first(setup.wLength));
      return ControlResult::ok(setup.wLength);
    }
    case cdc_request::GetEncapsulatedResponse: {
      if (!setup.deviceToHost() || setup.wLength == 0 || data.empty()) return ControlResult::stall();
      if (responseCount_ == 0) {
        data[0] = std::byte{0};  // "a one-byte packet set to 0x00, rather than stalling"
        return ControlResult::ok(1);
      }
      const Response& r = responses_[responseHead_];
      const std::size_t n = std::min({r.length, static_cast<std::size_t>(setup.wLength), data.size()});
      std::memcpy(data.data(), r.bytes.data(), n);
      responseHead_ = (responseHead_ + 1) % ResponseSlots;
      --responseCount_;
      return ControlResult::ok(n);
    }
    default:
      return ControlResult::stall();
  }
}

void RndisFunction::handleControlMessageLocked(std::span<const std::byte> message) {
  ++rndisCounters_.controlMessages;
  const RndisRequestParse parsed = parseRndisRequest(message);
  if (parsed.error != RndisControlError::None) {
    ++rndisCounters_.invalidControlMessages;
    if (Response* r = beginResponseLocked()) {
      const std::uint32_t diag = parsed.error == RndisControlError::UnknownMessageType
                                     ? rndis_status::NotSupported
                                     : rndis_status::InvalidData;
      commitResponseLocked(*r, buildRndisInvalidDataIndication(
                                   r->bytes, diag, static_cast<std::uint32_t>(parsed.errorOffset), message));
    }
    return;
  }
  const RndisRequest& request = parsed.request;
  switch (request.messageType) {
    case rndis_message::Initialize: {
      // Re-initializing an initialized device starts it over (hosts do this after errors).
      resetToUninitializedLocked();
      hostMaxTransferSize_ = request.maxTransferSize;
      enterStateLocked(RndisState::Initialized);
      if (Response* r = beginResponseLocked()) {
        RndisInitializeCompleteFields fields;
        fields.requestId = request.requestId;
        fields.maxPacketsPerMessage = rndis_.maxPacketsPerTransfer;
        fields.maxTransferSize = rndis_.maxTransferSize;
        fields.packetAlignmentFactor = rndis_.packetAlignmentFactor;
        commitResponseLocked(*r, buildRndisInitializeComplete(r->bytes, fields));
      }
      // Tell the host the current media state, as devices do right after initialization.
      if (!linkUpLocked()) onLinkChangeLocked(false);
      break;
    }
    case rndis_message::Halt:
      resetToUninitializedLocked();  // no reply
      break;
    case rndis_message::Query:
      handleQueryLocked(request);
      break;
    case rndis_message::Set:
      handleSetLocked(request);
      break;
    case rndis_message::Reset: {
      // Outstanding responses and packets are discarded; addressing is lost (and we say so).
      clearResponsesLocked();
      discardPendingLocked();
      setFilterLocked({});
      setMulticastListLocked({});
      if (state_ != RndisState::Uninitialized) enterStateLocked(RndisState::Initialized);
      if (Response* r = beginResponseLocked())
        commitResponseLocked(*r, buildRndisResetComplete(r->bytes, rndis_status::Success, true));
      break;
    }
    case rndis_message::Keepalive:
      if (Response* r = beginResponseLocked())
        commitResponseLocked(*r, buildRndisKeepaliveComplete(r->bytes, request.requestId,
                                                             rndis_status::Success));
      break;
    default:
      break;
  }
}

void RndisFunction::handleQueryLocked(const RndisRequest& request) {
  Response* r = beginResponseLocked();
  if (!r) return;
  std::array<std::byte, ResponseCapacity - sizeof(RndisQueryComplete)> info{};
  std::size_t length = 0;
  std::uint32_t status = rndis_status::Failure;
  if (state_ != RndisState::Uninitialized) status = queryOidLocked(request.oid, info, length);
  if (status != rndis_status::Success) length = 0;
  commitResponseLocked(*r, buildRndisQueryComplete(r->bytes, request.requestId, status,
                                                   std::span<const std::byte>(info).first(length)));
}

void RndisFunction::handleSetLocked(const RndisRequest& request) {
  Response* r = beginResponseLocked();
  if (!r) return;
  std::uint32_t status = rndis_status::Failure;
  if (state_ != RndisState::Uninitialized) status = setOidLocked(request.oid, request.information);
  commitResponseLocked(*r, buildRndisSetComplete(r->bytes, request.requestId, status));
}

std::uint32_t RndisFunction::queryOidLocked(std::uint32_t oid, std::span<std::byte> out,
                                            std::size_t& length) {
  auto ulong = [&](std::uint64_t value) {
    writeLe32(out, 0, clamp32(value));
    length = 4;
    return rndis_status::Success;
  };
  const EthernetCounters c = snapshotCountersLocked();
  switch (oid) {
    case rndis_oid::GenSupportedList:
      for (std::uint32_t supported : SupportedOids) {
        writeLe32(out, length, supported);
        length += 4;
      }
      return rndis_status::Success;
    case rndis_oid::GenHardwareStatus: return ulong(NdisHardwareStatusReady);
    case rndis_oid::GenMediaSupported:
    case rndis_oid::GenMediaInUse: return ulong(NdisMedium802_3);
    case rndis_oid::GenMaximumFrameSize: return ulong(config_.maxFrameSize - EthernetHeaderLength);
    case rndis_oid::GenLinkSpeed: return ulong(linkSpeedLocked() / 100);  // units of 100 bps
    case rndis_oid::GenTransmitBlockSize:
    case rndis_oid::GenReceiveBlockSize: return ulong(config_.maxFrameSize);
    case rndis_oid::GenVendorId: return ulong(rndis_.vendorId);
    case rndis_oid::GenVendorDescription: {
      const std::size_t n = std::min(rndis_.vendorDescription.size(), out.size() - 1);
      std::memcpy(out.data(), rndis_.vendorDescription.data(), n);
      out[n] = std::byte{0};
      length = n + 1;
      return rndis_status::Success;
    }
    case rndis_oid::GenVendorDriverVersion: return ulong(rndis_.vendorDriverVersion);
    case rndis_oid::GenCurrentPacketFilter: return ulong(packetFilterToNdis(filterLocked()));
    case rndis_oid::GenMaximumTotalSize:
      return ulong(config_.maxFrameSize + sizeof(RndisPacketMessage));
    case rndis_oid::GenMediaConnectStatus:
      return ulong(linkUpLocked() ? NdisMediaStateConnected : NdisMediaStateDisconnected);
    case rndis_oid::GenPhysicalMedium: return ulong(NdisPhysicalMedium802_3);
    case rndis_oid::GenXmitOk: return ulong(c.fromHostFrames);
    case rndis_oid::GenRcvOk: return ulong(c.toHostFrames);
    case rndis_oid::GenXmitError: return ulong(c.portDrops + c.fromHostMalformed + c.fromHostDropped);
    case rndis_oid::GenRcvError: return ulong(c.receive.runts + c.receive.oversize);
    case rndis_oid::GenRcvNoBuffer: return ulong(c.receive.noBuffer);
    case rndis_oid::Ieee8023PermanentAddress:
      config_.macAddress.toBytes(out);
      length = 6;
      return rndis_status::Success;
    case rndis_oid::Ieee8023CurrentAddress:
      stationAddressLocked().toBytes(out);
      length = 6;
      return rndis_status::Success;
    case rndis_oid::Ieee8023MulticastList:
      for (const MacAddress& mac : multicastListLocked()) {
        mac.toBytes(out.subspan(length, 6));
        length += 6;
      }
      return rndis_status::Success;
    case rndis_oid::Ieee8023MaximumListSize: return ulong(config_.multicastFilters);
    default:
      return rndis_status::NotSupported;
  }
}

std::uint32_t RndisFunction::setOidLocked(std::uint32_t oid, std::span<const std::byte> value) {
  switch (oid) {
    case rndis_oid::GenCurrentPacketFilter: {
      if (value.size() != 4) return rndis_status::InvalidLength;
      const std::uint32_t bits = readLe32(value, 0);
      if ((bits & ~ndis_packet_type::Supported) != 0) return rndis_status::NotSupported;
      setFilterLocked(packetFilterFromNdis(bits));
      enterStateLocked(bits ? RndisState::DataInitialized : RndisState::Initialized);
      return rndis_status::Success;
    }
    case rndis_oid::Ieee8023MulticastList: {
      if (value.size() % 6 != 0) return rndis_status::InvalidLength;
      const std::size_t count = value.size() / 6;
      if (count > config_.multicastFilters) return rndis_status::MulticastFull;
      std::vector<MacAddress> list;
      for (std::size_t i = 0; i < count; ++i) {
        list.push_back(MacAddress::fromBytes(value.subspan(i * 6, 6)));
        if (!list.back().isMulticast()) return rndis_status::InvalidData;
      }
      setMulticastListLocked(list);
      return rndis_status::Success;
    }
    default:
      // Query-only and unknown OIDs alike.
      return rndis_status::NotSupported;
  }
}

// ---- data ---------------------------------------------------------------------------------------

std::size_t RndisFunction::outMessageCapacity(std::uint8_t) const { return rndis_.maxTransferSize; }

void RndisFunction::onOutMessage(std::uint8_t, std::span<const std::byte> message) {
  std::lock_guard lock(mutex_);
  ++countersLocked().fromHostMessages;
  if (state_ != RndisState::DataInitialized) {
    ++rndisCounters_.packetsBeforeInitialized;
    ++countersLocked().fromHostDropped;
    return;
  }
  RndisPacketLimits limits;
  limits.maxTransferSize = rndis_.maxTransferSize;
  limits.maxPackets = rndis_.maxPacketsPerTransfer;
  limits.alignment = std::size_t{1} << std::min<std::uint32_t>(rndis_.packetAlignmentFactor, 7);
  limits.maxFrameSize = config_.maxFrameSize;
  const RndisPacketParseResult parsed = parseRndisPacketTransfer(message, limits, frames_);
  if (parsed.error != RndisPacketError::None) {
    ++rndisCounters_.rejected[static_cast<std::size_t>(parsed.error)];
    ++countersLocked().fromHostMalformed;
    if (Response* r = beginResponseLocked()) {
      const auto offending = message.subspan(std::min(parsed.errorOffset, message.size()));
      commitResponseLocked(*r, buildRndisInvalidDataIndication(
                                   r->bytes, rndis_status::InvalidData,
                                   static_cast<std::uint32_t>(parsed.errorOffset),
                                   offending.first(std::min<std::size_t>(offending.size(),
                                                                         sizeof(RndisPacketMessage)))));
    }
    return;
  }
  for (std::size_t i = 0; i < parsed.packetCount; ++i) transmitLocked(frames_[i]);
}

void RndisFunction::beginBatchLocked(std::span<std::byte> buffer) {
  const std::size_t limit = std::min<std::size_t>(hostMaxTransferSize_, rndis_.maxInTransferSize);
  writer_.begin(buffer, limit, 0, PacketAlignmentToHost);
}

bool RndisFunction::appendToBatchLocked(std::span<const std::byte> frame) {
  return writer_.append(frame);
}

std::size_t RndisFunction::finishBatchLocked() {
  if (!writer_.active()) return 0;
  return writer_.finish();
}

}  // namespace ndishost::usb::device
