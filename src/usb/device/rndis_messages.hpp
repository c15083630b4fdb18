// Remote NDIS messages (Microsoft's RNDIS specification, as summarized in the WDK's
// "Remote NDIS" pages): pure parsers and builders over byte spans. Everything is
// little-endian; every offset and length is checked before use (these are fuzzed).
//
// Control messages travel over the default pipe (SEND_ENCAPSULATED_COMMAND /
// GET_ENCAPSULATED_RESPONSE); data messages (REMOTE_NDIS_PACKET_MSG, possibly several per
// bulk transfer, each starting at a multiple of the receiver's alignment) over the bulk
// pipes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ndishost::usb::device {

// ---- constants --------------------------------------------------------------------------------

namespace rndis_message {
inline constexpr std::uint32_t Packet = 0x00000001;
inline constexpr std::uint32_t Initialize = 0x00000002;
inline constexpr std::uint32_t Halt = 0x00000003;
inline constexpr std::uint32_t Query = 0x00000004;
inline constexpr std::uint32_t Set = 0x00000005;
inline constexpr std::uint32_t Reset = 0x00000006;
inline constexpr std::uint32_t IndicateStatus = 0x00000007;
inline constexpr std::uint32_t Keepalive = 0x00000008;
inline constexpr std::uint32_t CompletionFlag = 0x80000000;
inline constexpr std::uint32_t InitializeComplete = Initialize | CompletionFlag;
inline constexpr std::uint32_t QueryComplete = Query | CompletionFlag;
inline constexpr std::uint32_t SetComplete = Set | CompletionFlag;
inline constexpr std::uint32_t ResetComplete = Reset | CompletionFlag;
inline constexpr std::uint32_t KeepaliveComplete = Keepalive | CompletionFlag;
}  // namespace rndis_message

namespace rndis_status {
inline constexpr std::uint32_t Success = 0x00000000;
inline constexpr std::uint32_t Failure = 0xC0000001;
inline constexpr std::uint32_t InvalidData = 0xC0010015;
inline constexpr std::uint32_t NotSupported = 0xC00000BB;
inline constexpr std::uint32_t MediaConnect = 0x4001000B;
inline constexpr std::uint32_t MediaDisconnect = 0x4001000C;
// NDIS_STATUS_* equivalents the device also returns (RNDIS status values are NDIS's).
inline constexpr std::uint32_t InvalidLength = 0xC0010014;
inline constexpr std::uint32_t MulticastFull = 0xC0010009;
}  // namespace rndis_status

inline constexpr std::uint32_t RndisMajorVersion = 1;
inline constexpr std::uint32_t RndisMinorVersion = 0;
inline constexpr std::uint32_t RndisDeviceFlagConnectionless = 0x00000001;
inline constexpr std::uint32_t RndisMedium802_3 = 0x00000000;
// The only notification on the interrupt endpoint (8 bytes: 0x00000001, 0x00000000).
inline constexpr std::uint32_t RndisResponseAvailable = 0x00000001;

// OIDs (ntddndis.h values) of an RNDIS Ethernet device.
namespace rndis_oid {
inline constexpr std::uint32_t GenSupportedList = 0x00010101;
inline constexpr std::uint32_t GenHardwareStatus = 0x00010102;
inline constexpr std::uint32_t GenMediaSupported = 0x00010103;
inline constexpr std::uint32_t GenMediaInUse = 0x00010104;
inline constexpr std::uint32_t GenMaximumFrameSize = 0x00010106;
inline constexpr std::uint32_t GenLinkSpeed = 0x00010107;
inline constexpr std::uint32_t GenTransmitBlockSize = 0x0001010A;
inline constexpr std::uint32_t GenReceiveBlockSize = 0x0001010B;
inline constexpr std::uint32_t GenVendorId = 0x0001010C;
inline constexpr std::uint32_t GenVendorDescription = 0x0001010D;
inline constexpr std::uint32_t GenCurrentPacketFilter = 0x0001010E;
inline constexpr std::uint32_t GenMaximumTotalSize = 0x00010111;
inline constexpr std::uint32_t GenMacOptions = 0x00010113;
inline constexpr std::uint32_t GenMediaConnectStatus = 0x00010114;
inline constexpr std::uint32_t GenVendorDriverVersion = 0x00010116;
inline constexpr std::uint32_t GenPhysicalMedium = 0x00010202;
inline constexpr std::uint32_t GenRndisConfigParameter = 0x0001021B;
inline constexpr std::uint32_t GenXmitOk = 0x00020101;
inline constexpr std::uint32_t GenRcvOk = 0x00020102;
inline constexpr std::uint32_t GenXmitError = 0x00020103;
inline constexpr std::uint32_t GenRcvError = 0x00020104;
inline constexpr std::uint32_t GenRcvNoBuffer = 0x00020105;
inline constexpr std::uint32_t Ieee8023PermanentAddress = 0x01010101;
inline constexpr std::uint32_t Ieee8023CurrentAddress = 0x01010102;
inline constexpr std::uint32_t Ieee8023MulticastList = 0x01010103;
inline constexpr std::uint32_t Ieee8023MaximumListSize = 0x01010104;
inline constexpr std::uint32_t Ieee8023MacOptions = 0x01010105;
}  // namespace rndis_oid

// NDIS_HARDWARE_STATUS, NDIS_MEDIUM, NDIS_MEDIA_STATE and NDIS_PHYSICAL_MEDIUM values.
inline constexpr std::uint32_t NdisHardwareStatusReady = 0;
inline constexpr std::uint32_t NdisMedium802_3 = 0;
inline constexpr std::uint32_t NdisMediaStateConnected = 0;
inline constexpr std::uint32_t NdisMediaStateDisconnected = 1;
inline constexpr std::uint32_t NdisPhysicalMedium802_3 = 14;

// ---- wire structures (host-order mirrors; every field is a little-endian ULONG) ------------

struct RndisPacketMessage {          // REMOTE_NDIS_PACKET_MSG header
  std::uint32_t MessageType, MessageLength, DataOffset, DataLength, OOBDataOffset,
      OOBDataLength, NumOOBDataElements, PerPacketInfoOffset, PerPacketInfoLength, VcHandle,
      Reserved;
};
struct RndisInitializeMessage {
  std::uint32_t MessageType, MessageLength, RequestId, MajorVersion, MinorVersion,
      MaxTransferSize;
};
struct RndisInitializeComplete {
  std::uint32_t MessageType, MessageLength, RequestId, Status, MajorVersion, MinorVersion,
      DeviceFlags, Medium, MaxPacketsPerMessage, MaxTransferSize, PacketAlignmentFactor,
      AFListOffset, AFListSize;
};
struct RndisHaltMessage { std::uint32_t MessageType, MessageLength, RequestId; };
struct RndisQueryMessage {
  std::uint32_t MessageType, MessageLength, RequestId, Oid, InformationBufferLength,
      InformationBufferOffset, DeviceVcHandle;
};
struct RndisQueryComplete {
  std::uint32_t MessageType, MessageLength, RequestId, Status, InformationBufferLength,
      InformationBufferOffset;
};
struct RndisSetMessage {
  std::uint32_t MessageType, MessageLength, RequestId, Oid, InformationBufferLength,
      InformationBufferOffset, DeviceVcHandle;
};
struct RndisSetComplete { std::uint32_t MessageType, MessageLength, RequestId, Status; };
struct RndisResetMessage { std::uint32_t MessageType, MessageLength, Reserved; };
struct RndisResetComplete { std::uint32_t MessageType, MessageLength, Status, AddressingReset; };
struct RndisIndicateStatusMessage {
  std::uint32_t MessageType, MessageLength, Status, StatusBufferLength, StatusBufferOffset;
};
struct RndisDiagnosticInfo { std::uint32_t DiagStatus, ErrorOffset; };
struct RndisKeepaliveMessage { std::uint32_t MessageType, MessageLength, RequestId; };
struct RndisKeepaliveComplete { std::uint32_t MessageType, MessageLength, RequestId, Status; };

static_assert(sizeof(RndisPacketMessage) == 44);
static_assert(sizeof(RndisInitializeMessage) == 24);
static_assert(sizeof(RndisInitializeComplete) == 52);
static_assert(sizeof(RndisHaltMessage) == 12);
static_assert(sizeof(RndisQueryMessage) == 28);
static_assert(sizeof(RndisQueryComplete) == 24);
static_assert(sizeof(RndisSetMessage) == 28);
static_assert(sizeof(RndisSetComplete) == 16);
static_assert(sizeof(RndisResetMessage) == 12);
static_assert(sizeof(RndisResetComplete) == 16);
static_assert(sizeof(RndisIndicateStatusMessage) == 20);
static_assert(sizeof(RndisDiagnosticInfo) == 8);
static_assert(sizeof(RndisKeepaliveMessage) == 12);
static_assert(sizeof(RndisKeepaliveComplete) == 16);

// ---- control messages: host -> device ---------------------------------------------------------

enum class RndisControlError : std::uint8_t {
  None,
  TooShort,             // fewer than 8 bytes, or shorter than its type's fixed part
  BadMessageLength,     // MessageLength larger than the bytes received, or below the fixed part
  BadInformationBuffer, // information buffer outside the message
  UnknownMessageType,
};

std::string_view toString(RndisControlError error);

struct RndisRequest {
  std::uint32_t messageType = 0;
  std::uint32_t messageLength = 0;
  std::uint32_t requestId = 0;       // 0 for RESET (it has none)
  std::uint32_t majorVersion = 0, minorVersion = 0, maxTransferSize = 0;  // INITIALIZE
  std::uint32_t oid = 0;                                                  // QUERY / SET
  std::span<const std::byte> information;                                 // QUERY / SET
};

struct RndisRequestParse {
  RndisControlError error = RndisControlError::None;
  std::size_t errorOffset = 0;   // for REMOTE_NDIS_INDICATE_STATUS_MSG diagnostics
  RndisRequest request;
};

RndisRequestParse parseRndisRequest(std::span<const std::byte> message);

// Host-side builders (tests, fuzz seeds, an RNDIS host). Each returns the message length,
// or 0 when `out` is too small.
std::size_t buildRndisInitialize(std::span<std::byte> out, std::uint32_t requestId,
                                 std::uint32_t maxTransferSize);
std::size_t buildRndisHalt(std::span<std::byte> out, std::uint32_t requestId);
std::size_t buildRndisQuery(std::span<std::byte> out, std::uint32_t requestId, std::uint32_t oid,
                            std::span<const std::byte> information = {});
std::size_t buildRndisSet(std::span<std::byte> out, std::uint32_t requestId, std::uint32_t oid,
                          std::span<const std::byte> information);
std::size_t buildRndisReset(std::span<std::byte> out);
std::size_t buildRndisKeepalive(std::span<std::byte> out, std::uint32_t requestId);

// ---- control messages: device -> host ---------------------------------------------------------

struct RndisInitializeCompleteFields {
  std::uint32_t requestId = 0;
  std::uint32_t status = rndis_status::Success;
  std::uint32_t maxPacketsPerMessage = 1;
  std::uint32_t maxTransferSize = 0;
  std::uint32_t packetAlignmentFactor = 3;  // 2^n bytes
};

std::size_t buildRndisInitializeComplete(std::span<std::byte> out,
                                         const RndisInitializeCompleteFields& fields);
std::size_t buildRndisQueryComplete(std::span<std::byte> out, std::uint32_t requestId,
                                    std::uint32_t status, std::span<const std::byte> information);
std::size_t buildRndisSetComplete(std::span<std::byte> out, std::uint32_t requestId,
                                  std::uint32_t status);
std::size_t buildRndisResetComplete(std::span<std::byte> out, std::uint32_t status,
                                    bool addressingReset);
std::size_t buildRndisKeepaliveComplete(std::span<std::byte> out, std::uint32_t requestId,
                                        std::uint32_t status);
std::size_t buildRndisIndicateStatus(std::span<std::byte> out, std::uint32_t status,
                                     std::span<const std::byte> statusBuffer = {});
// INDICATE_STATUS(RNDIS_STATUS_INVALID_DATA) with an Rndis_Diagnostic_Info buffer and as
// much of the offending message as fits.
std::size_t buildRndisInvalidDataIndication(std::span<std::byte> out, std::uint32_t diagStatus,
                                            std::uint32_t errorOffset,
                                            std::span<const std::byte> offendingMessage);

// A device's reply as the host reads it (host side, tests).
struct RndisResponse {
  std::uint32_t messageType = 0;
  std::uint32_t requestId = 0;
  std::uint32_t status = 0;
  std::span<const std::byte> information;  // QUERY_CMPLT info / INDICATE_STATUS status buffer
  RndisInitializeComplete initialize{};    // INITIALIZE_CMPLT fields
  std::uint32_t addressingReset = 0;       // RESET_CMPLT
};
// Nullopt-like: ok == false when malformed.
struct RndisResponseParse {
  bool ok = false;
  RndisResponse response;
};
RndisResponseParse parseRndisResponse(std::span<const std::byte> message);

// ---- data messages ------------------------------------------------------------------------------

struct RndisPacketLimits {
  std::size_t maxTransferSize = 16384;  // the receiver's MaxTransferSize
  std::size_t maxPackets = 1;           // the receiver's MaxPacketsPerMessage
  std::size_t alignment = 8;            // bytes (2^PacketAlignmentFactor): where messages start
  std::size_t maxFrameSize = 1514;
};

enum class RndisPacketError : std::uint8_t {
  None,
  Empty,                 // no bytes, or only zero padding
  TransferTooLong,       // more than MaxTransferSize
  TruncatedHeader,       // fewer bytes than a PACKET_MSG header at a message start
  BadMessageType,        // not REMOTE_NDIS_PACKET_MSG
  BadMessageLength,      // < 44 or past the end of the transfer
  Misaligned,            // a following message does not start at a multiple of the alignment
  BadDataOffset,         // not a multiple of 4, or pointing into the header
  DataOutOfBounds,       // data past MessageLength
  DataTooShort,          // shorter than an Ethernet header
  DataTooLong,           // longer than the maximum frame
  BadOutOfBandData,      // OOB block misaligned or outside the message
  BadPerPacketInfo,      // per-packet-info block or one of its records malformed
  TooManyPackets,        // more than MaxPacketsPerMessage / the caller's room
  Count
};

std::string_view toString(RndisPacketError error);

struct RndisPacketParseResult {
  RndisPacketError error = RndisPacketError::None;
  std::size_t packetCount = 0;  // frames stored (0 on error)
  std::size_t errorOffset = 0;  // transfer offset of the offending message
};

// Validates a whole bulk transfer of concatenated PACKET_MSGs; when every message is valid,
// stores the Ethernet frames (views into `transfer`) in `frames`. Zero bytes after the last
// message are padding (hosts pad to avoid a ZLP).
RndisPacketParseResult parseRndisPacketTransfer(std::span<const std::byte> transfer,
                                                const RndisPacketLimits& limits,
                                                std::span<std::span<const std::byte>> frames);

// Builds multi-packet transfers incrementally in a caller buffer (no allocation): every
// message but the last is padded so the next starts at a multiple of `alignment`.
class RndisPacketWriter {
 public:
  void begin(std::span<std::byte> buffer, std::size_t maxTransferSize, std::size_t maxPackets,
             std::size_t alignment = 8);
  bool fits(std::size_t frameLength) const;
  bool append(std::span<const std::byte> frame);
  std::size_t finish();  // the transfer length; the writer is then idle
  std::size_t packetCount() const { return count_; }
  bool active() const { return active_; }

 private:
  std::size_t nextStart() const;
  std::span<std::byte> buffer_;
  std::size_t limit_ = 0, maxPackets_ = 0, alignment_ = 8;
  std::size_t end_ = 0, lastStart_ = 0, count_ = 0;
  bool active_ = false;
};

// One-shot builder; 0 when the frames do not all fit.
std::size_t buildRndisPacketTransfer(std::span<std::byte> out,
                                     std::span<const std::span<const std::byte>> frames,
                                     std::size_t maxTransferSize, std::size_t alignment = 8);

}  // namespace ndishost::usb::device
