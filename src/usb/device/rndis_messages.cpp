#include "usb/device/rndis_messages.hpp"

#include <algorithm>
#include <cstring>

#include "usb/device/byte_io.hpp"

namespace ndishost::usb::device {

namespace {

constexpr std::size_t PacketHeaderLength = sizeof(RndisPacketMessage);
// Offsets in PACKET_MSG, QUERY/SET and INDICATE_STATUS are counted from byte 8 (the
// DataOffset / RequestId / ... field), not from the start of the message.
constexpr std::size_t OffsetBase = 8;

bool allZero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

std::size_t alignUp(std::size_t value, std::size_t alignment) {
  if (alignment <= 1) return value;
  return (value + alignment - 1) / alignment * alignment;
}

// Writes consecutive little-endian ULONGs; returns the bytes written or 0 if `out` is short.
std::size_t writeWords(std::span<std::byte> out, std::initializer_list<std::uint32_t> words) {
  if (out.size() < words.size() * 4) return 0;
  std::size_t offset = 0;
  for (std::uint32_t word : words) {
    writeLe32(out, offset, word);
    offset += 4;
  }
  return offset;
}

std::size_t buildWithInformation(std::span<std::byte> out, std::uint32_t type,
                                 std::uint32_t requestId, std::uint32_t oid,
                                 std::span<const std::byte> information) {
  const std::size_t fixed = sizeof(RndisQueryMessage);
  const std::size_t total = fixed + information.size();
  if (out.size() < total) return 0;
  const std::uint32_t offset = information.empty() ? 0 : static_cast<std::uint32_t>(fixed - OffsetBase);
  writeWords(out, {type, static_cast<std::uint32_t>(total), requestId, oid,
                   static_cast<std::uint32_t>(information.size()), offset, 0});
  if (!information.empty()) std::memcpy(out.data() + fixed, information.data(), information.size());
  return total;
}

}  // namespace

std::string_view toString(RndisControlError error) {
  switch (error) {
    case RndisControlError::None: return "None";
    case RndisControlError::TooShort: return "TooShort";
    case RndisControlError::BadMessageLength: return "BadMessageLength";
    case RndisControlError::BadInformationBuffer: return "BadInformationBuffer";
    case RndisControlError::UnknownMessageType: return "UnknownMessageType";
  }
  return "?";
}

std::string_view toString(RndisPacketError error) {
  switch (error) {
    case RndisPacketError::None: return "None";
    case RndisPacketError::Empty: return "Empty";
    case RndisPacketError::TransferTooLong: return "TransferTooLong";
    case RndisPacketError::TruncatedHeader: return "TruncatedHeader";
    case RndisPacketError::BadMessageType: return "BadMessageType";
    case RndisPacketError::BadMessageLength: return "BadMessageLength";
    case RndisPacketError::Misaligned: return "Misaligned";
    case RndisPacketError::BadDataOffset: return "BadDataOffset";
    case RndisPacketError::DataOutOfBounds: return "DataOutOfBounds";
    case RndisPacketError::DataTooShort: return "DataTooShort";
    case RndisPacketError::DataTooLong: return "DataTooLong";
    case RndisPacketError::BadOutOfBandData: return "BadOutOfBandData";
    case RndisPacketError::BadPerPacketInfo: return "BadPerPacketInfo";
    case RndisPacketError::TooManyPackets: return "TooManyPackets";
    case RndisPacketError::Count: break;
  }
  return "?";
}

// ---- control: host -> device --------------------------------------------------------------------

RndisRequestParse parseRndisRequest(std::span<const std::byte> m) {
  RndisRequestParse result;
  auto fail = [&](RndisControlError error, std::size_t offset) {
    result.error = error;
    result.errorOffset = offset;
    return result;
  };
  if (m.size() < 8) return fail(RndisControlError::TooShort, 0);
  RndisRequest& r = result.request;
  r.messageType = readLe32(m, 0);
  r.messageLength = readLe32(m, 4);
  std::size_t fixed = 0;
  switch (r.messageType) {
    case rndis_message::Initialize: fixed = sizeof(RndisInitializeMessage); break;
    case rndis_message::Halt: fixed = sizeof(RndisHaltMessage); break;
    case rndis_message::Query: fixed = sizeof(RndisQueryMessage); break;
    case rndis_message::Set: fixed = sizeof(RndisSetMessage); break;
    case rndis_message::Reset: fixed = sizeof(RndisResetMessage); break;
    case rndis_message::Keepalive: fixed = sizeof(RndisKeepaliveMessage); break;
    default: return fail(RndisControlError::UnknownMessageType, 0);
  }
  if (m.size() < fixed) return fail(RndisControlError::TooShort, m.size());
  if (r.messageLength < fixed || r.messageLength > m.size())
    return fail(RndisControlError::BadMessageLength, 4);
  const auto message = m.first(r.messageLength);
  if (r.messageType != rndis_message::Reset) r.requestId = readLe32(message, 8);
  switch (r.messageType) {
    case rndis_message::Initialize:
      r.majorVersion = readLe32(message, 12);
      r.minorVersion = readLe32(message, 16);
      r.maxTransferSize = readLe32(message, 20);
      break;
    case rndis_message::Query:
    case rndis_message::Set: {
      r.oid = readLe32(message, 12);
      const std::size_t length = readLe32(message, 16);
      const std::size_t offset = readLe32(message, 20);
      if (length != 0) {
        // The information buffer follows the fixed part and lies inside the message.
        if (offset < fixed - OffsetBase || offset > message.size() - OffsetBase ||
            length > message.size() - OffsetBase - offset)
          return fail(RndisControlError::BadInformationBuffer, 20);
        r.information = message.subspan(OffsetBase + offset, length);
      }
      break;
    }
    default:
      break;
  }
  return result;
}

std::size_t buildRndisInitialize(std::span<std::byte> out, std::uint32_t requestId,
                                 std::uint32_t maxTransferSize) {
  return writeWords(out, {rndis_message::Initialize, sizeof(RndisInitializeMessage), requestId,
                          RndisMajorVersion, RndisMinorVersion, maxTransferSize});
}

std::size_t buildRndisHalt(std::span<std::byte> out, std::uint32_t requestId) {
  return writeWords(out, {rndis_message::Halt, sizeof(RndisHaltMessage), requestId});
}

std::size_t buildRndisQuery(std::span<std::byte> out, std::uint32_t requestId, std::uint32_t oid,
                            std::span<const std::byte> information) {
  return buildWithInformation(out, rndis_message::Query, requestId, oid, information);
}

std::size_t buildRndisSet(std::span<std::byte> out, std::uint32_t requestId, std::uint32_t oid,
                          std::span<const std::byte> information) {
  return buildWithInformation(out, rndis_message::Set, requestId, oid, information);
}

std::size_t buildRndisReset(std::span<std::byte> out) {
  return writeWords(out, {rndis_message::Reset, sizeof(RndisResetMessage), 0});
}

std::size_t buildRndisKeepalive(std::span<std::byte> out, std::uint32_t requestId) {
  return writeWords(out, {rndis_message::Keepalive, sizeof(RndisKeepaliveMessage), requestId});
}

// ---- control: device -> host ----------------------------------------------------------------------

std::size_t buildRndisInitializeComplete(std::span<std::byte> out,
                                         const RndisInitializeCompleteFields& f) {
  return writeWords(out, {rndis_message::InitializeComplete, sizeof(RndisInitializeComplete),
                          f.requestId, f.status, RndisMajorVersion, RndisMinorVersion,
                          RndisDeviceFlagConnectionless, RndisMedium802_3,
                          f.maxPacketsPerMessage, f.maxTransferSize, f.packetAlignmentFactor,
                          0, 0});
}

std::size_t buildRndisQueryComplete(std::span<std::byte> out, std::uint32_t requestId,
                                    std::uint32_t status, std::span<const std::byte> information) {
  const std::size_t fixed = sizeof(RndisQueryComplete);
  const std::size_t total = fixed + information.size();
  if (out.size() < total) return 0;
  writeWords(out, {rndis_message::QueryComplete, static_cast<std::uint32_t>(total), requestId,
                   status, static_cast<std::uint32_t>(information.size()),
                   information.empty() ? 0u : static_cast<std::uint32_t>(fixed - OffsetBase)});
  if (!information.empty()) std::memcpy(out.data() + fixed, information.data(), information.size());
  return total;
}

std::size_t buildRndisSetComplete(std::span<std::byte> out, std::uint32_t requestId,
                                  std::uint32_t status) {
  return writeWords(out, {rndis_message::SetComplete, sizeof(RndisSetComplete), requestId, status});
}

std::size_t buildRndisResetComplete(std::span<std::byte> out, std::uint32_t status,
                                    bool addressingReset) {
  return writeWords(out, {rndis_message::ResetComplete, sizeof(RndisResetComplete), status,
                          addressingReset ? 1u : 0u});
}

std::size_t buildRndisKeepaliveComplete(std::span<std::byte> out, std::uint32_t requestId,
                                        std::uint32_t status) {
  return writeWords(out, {rndis_message::KeepaliveComplete, sizeof(RndisKeepaliveComplete),
                          requestId, status});
}

std::size_t buildRndisIndicateStatus(std::span<std::byte> out, std::uint32_t status,
                                     std::span<const std::byte> statusBuffer) {
  const std::size_t fixed = sizeof(RndisIndicateStatusMessage);
  const std::size_t total = fixed + statusBuffer.size();
  if (out.size() < total) return 0;
  // StatusBufferOffset: the WDK page says "from the beginning of this message", but hosts
  // (Linux's RNDIS host code adds offsetof(Status) == 8) count it from the Status field like
  // every other RNDIS offset; we follow the hosts. Media indications carry no buffer, so
  // only the INVALID_DATA diagnostic depends on this.
  writeWords(out, {rndis_message::IndicateStatus, static_cast<std::uint32_t>(total), status,
                   static_cast<std::uint32_t>(statusBuffer.size()),
                   statusBuffer.empty() ? 0u : static_cast<std::uint32_t>(fixed - OffsetBase)});
  if (!statusBuffer.empty()) std::memcpy(out.data() + fixed, statusBuffer.data(), statusBuffer.size());
  return total;
}

std::size_t buildRndisInvalidDataIndication(std::span<std::byte> out, std::uint32_t diagStatus,
                                            std::uint32_t errorOffset,
                                            std::span<const std::byte> offendingMessage) {
  const std::size_t fixed = sizeof(RndisIndicateStatusMessage) + sizeof(RndisDiagnosticInfo);
  if (out.size() < fixed) return 0;
  const std::size_t appended = std::min(offendingMessage.size(), out.size() - fixed);
  std::byte diagnostic[sizeof(RndisDiagnosticInfo)];
  writeLe32(diagnostic, 0, diagStatus);
  writeLe32(diagnostic, 4, errorOffset);
  const std::size_t statusLength = sizeof diagnostic + appended;
  writeWords(out, {rndis_message::IndicateStatus, static_cast<std::uint32_t>(fixed + appended),
                   rndis_status::InvalidData, static_cast<std::uint32_t>(statusLength),
                   static_cast<std::uint32_t>(sizeof(RndisIndicateStatusMessage) - OffsetBase)});
  std::memcpy(out.data() + sizeof(RndisIndicateStatusMessage), diagnostic, sizeof diagnostic);
  if (appended) std::memcpy(out.data() + fixed, offendingMessage.data(), appended);
  return fixed + appended;
}

RndisResponseParse parseRndisResponse(std::span<const std::byte> m) {
  RndisResponseParse result;
  if (m.size() < 8) return result;
  RndisResponse& r = result.response;
  r.messageType = readLe32(m, 0);
  const std::size_t length = readLe32(m, 4);
  if (length > m.size()) return result;
  const auto message = m.first(length);
  auto need = [&](std::size_t bytes) { return message.size() >= bytes; };
  switch (r.messageType) {
    case rndis_message::InitializeComplete: {
      if (!need(sizeof(RndisInitializeComplete))) return result;
      auto& f = r.initialize;
      std::uint32_t* fields[] = {&f.MessageType, &f.MessageLength, &f.RequestId, &f.Status,
                                 &f.MajorVersion, &f.MinorVersion, &f.DeviceFlags, &f.Medium,
                                 &f.MaxPacketsPerMessage, &f.MaxTransferSize,
                                 &f.PacketAlignmentFactor, &f.AFListOffset, &f.AFListSize};
      for (std::size_t i = 0; i < std::size(fields); ++i) *fields[i] = readLe32(message, 4 * i);
      r.requestId = f.RequestId;
      r.status = f.Status;
      break;
    }
    case rndis_message::QueryComplete: {
      if (!need(sizeof(RndisQueryComplete))) return result;
      r.requestId = readLe32(message, 8);
      r.status = readLe32(message, 12);
      const std::size_t infoLength = readLe32(message, 16);
      const std::size_t infoOffset = readLe32(message, 20);
      if (infoLength) {
        if (infoOffset > message.size() - OffsetBase ||
            infoLength > message.size() - OffsetBase - infoOffset)
          return result;
        r.information = message.subspan(OffsetBase + infoOffset, infoLength);
      }
      break;
    }
    case rndis_message::SetComplete:
    case rndis_message::KeepaliveComplete:
      if (!need(16)) return result;
      r.requestId = readLe32(message, 8);
      r.status = readLe32(message, 12);
      break;
    case rndis_message::ResetComplete:
      if (!need(sizeof(RndisResetComplete))) return result;
      r.status = readLe32(message, 8);
      r.addressingReset = readLe32(message, 12);
      break;
    case rndis_message::IndicateStatus: {
      if (!need(sizeof(RndisIndicateStatusMessage))) return result;
      r.status = readLe32(message, 8);
      const std::size_t bufferLength = readLe32(message, 12);
      const std::size_t bufferOffset = readLe32(message, 16);
      if (bufferLength) {
        if (bufferOffset > message.size() - OffsetBase ||
            bufferLength > message.size() - OffsetBase - bufferOffset)
          return result;
        r.information = message.subspan(OffsetBase + bufferOffset, bufferLength);
      }
      break;
    }
    case rndis_message::Keepalive:  // device-initiated keepalive
      if (!need(sizeof(RndisKeepaliveMessage))) return result;
      r.requestId = readLe32(message, 8);
      break;
    default:
      return result;
  }
  result.ok = true;
  return result;
}

// ---- data ---------------------------------------------------------------------------------------

RndisPacketParseResult parseRndisPacketTransfer(std::span<const std::byte> transfer,
                                                const RndisPacketLimits& limits,
                                                std::span<std::span<const std::byte>> frames) {
  RndisPacketParseResult result;
  auto fail = [&](RndisPacketError error, std::size_t offset) {
    result.error = error;
    result.errorOffset = offset;
    result.packetCount = 0;
    return result;
  };
  if (transfer.size() > limits.maxTransferSize) return fail(RndisPacketError::TransferTooLong, 0);
  const std::size_t alignment = std::max<std::size_t>(limits.alignment, 1);
  const std::size_t room = std::min(frames.size(), std::max<std::size_t>(limits.maxPackets, 1));
  std::size_t count = 0;
  std::size_t start = 0;
  while (start < transfer.size()) {
    const auto rest = transfer.subspan(start);
    if (allZero(rest)) break;  // padding after the last message
    if (start % alignment != 0) return fail(RndisPacketError::Misaligned, start);
    if (rest.size() < PacketHeaderLength) return fail(RndisPacketError::TruncatedHeader, start);
    if (readLe32(rest, 0) != rndis_message::Packet) return fail(RndisPacketError::BadMessageType, start);
    const std::size_t messageLength = readLe32(rest, 4);
    if (messageLength < PacketHeaderLength || messageLength > rest.size())
      return fail(RndisPacketError::BadMessageLength, start);
    const auto message = rest.first(messageLength);
    const std::size_t dataOffset = readLe32(message, 8);
    const std::size_t dataLength = readLe32(message, 12);
    const std::size_t oobOffset = readLe32(message, 16);
    const std::size_t oobLength = readLe32(message, 20);
    const std::size_t oobCount = readLe32(message, 24);
    const std::size_t ppiOffset = readLe32(message, 28);
    const std::size_t ppiLength = readLe32(message, 32);

    // A block [OffsetBase + offset, + length) must sit after the header and inside the message.
    auto blockInside = [&](std::size_t offset, std::size_t length) {
      return offset % 4 == 0 && offset >= PacketHeaderLength - OffsetBase &&
             offset <= messageLength - OffsetBase && length <= messageLength - OffsetBase - offset;
    };
    if (dataOffset % 4 != 0 || dataOffset < PacketHeaderLength - OffsetBase)
      return fail(RndisPacketError::BadDataOffset, start);
    if (!blockInside(dataOffset, dataLength)) return fail(RndisPacketError::DataOutOfBounds, start);
    if (dataLength < 14) return fail(RndisPacketError::DataTooShort, start);
    if (dataLength > limits.maxFrameSize) return fail(RndisPacketError::DataTooLong, start);
    if ((oobLength || oobCount || oobOffset) && !blockInside(oobOffset, oobLength))
      return fail(RndisPacketError::BadOutOfBandData, start);
    if (ppiLength || ppiOffset) {
      if (!blockInside(ppiOffset, ppiLength)) return fail(RndisPacketError::BadPerPacketInfo, start);
      // Records: Size (multiple of 4, >= 12), Type, PerPacketInformationOffset (<= Size).
      const auto ppi = message.subspan(OffsetBase + ppiOffset, ppiLength);
      for (std::size_t r = 0; r < ppi.size();) {
        if (ppi.size() - r < 12) return fail(RndisPacketError::BadPerPacketInfo, start);
        const std::size_t size = readLe32(ppi, r);
        const std::size_t infoOffset = readLe32(ppi, r + 8);
        if (size < 12 || size % 4 != 0 || size > ppi.size() - r || infoOffset < 12 ||
            infoOffset > size)
          return fail(RndisPacketError::BadPerPacketInfo, start);
        r += size;
      }
    }
    if (count == room) return fail(RndisPacketError::TooManyPackets, start);
    frames[count++] = message.subspan(OffsetBase + dataOffset, dataLength);
    start += messageLength;
  }
  if (count == 0) return fail(RndisPacketError::Empty, 0);
  result.packetCount = count;
  return result;
}

void RndisPacketWriter::begin(std::span<std::byte> buffer, std::size_t maxTransferSize,
                              std::size_t maxPackets, std::size_t alignment) {
  buffer_ = buffer;
  limit_ = std::min(buffer.size(), maxTransferSize);
  maxPackets_ = maxPackets;
  alignment_ = std::max<std::size_t>(alignment, 1);
  end_ = lastStart_ = count_ = 0;
  active_ = true;
}

std::size_t RndisPacketWriter::nextStart() const {
  return count_ == 0 ? 0 : alignUp(end_, alignment_);
}

bool RndisPacketWriter::fits(std::size_t frameLength) const {
  if (!active_ || (maxPackets_ && count_ >= maxPackets_)) return false;
  return nextStart() + PacketHeaderLength + frameLength <= limit_;
}

bool RndisPacketWriter::append(std::span<const std::byte> frame) {
  if (!fits(frame.size())) return false;
  const std::size_t start = nextStart();
  if (count_ > 0) {
    // Pad the previous message up to this one; its MessageLength includes the padding.
    std::memset(buffer_.data() + end_, 0, start - end_);
    writeLe32(buffer_, lastStart_ + 4, static_cast<std::uint32_t>(start - lastStart_));
  }
  const std::size_t length = PacketHeaderLength + frame.size();
  writeWords(buffer_.subspan(start),
             {rndis_message::Packet, static_cast<std::uint32_t>(length),
              static_cast<std::uint32_t>(PacketHeaderLength - OffsetBase),
              static_cast<std::uint32_t>(frame.size()), 0, 0, 0, 0, 0, 0, 0});
  std::memcpy(buffer_.data() + start + PacketHeaderLength, frame.data(), frame.size());
  lastStart_ = start;
  end_ = start + length;
  ++count_;
  return true;
}

std::size_t RndisPacketWriter::finish() {
  active_ = false;
  return end_;
}

std::size_t buildRndisPacketTransfer(std::span<std::byte> out,
                                     std::span<const std::span<const std::byte>> frames,
                                     std::size_t maxTransferSize, std::size_t alignment) {
  RndisPacketWriter writer;
  writer.begin(out, maxTransferSize, 0, alignment);
  for (const auto& frame : frames)
    if (!writer.append(frame)) return 0;
  return writer.finish();
}

}  // namespace ndishost::usb::device
