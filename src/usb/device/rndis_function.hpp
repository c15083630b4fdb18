// RNDIS over USB (Microsoft's "Remote NDIS To USB Mapping"): an 802.3 connectionless
// Remote NDIS device.
//
// Interfaces: a communication interface (default class E0/01/03, "RNDIS" under Wireless
// Controller, which Windows' in-box RNDIS driver and Linux's rndis_host both bind; 02/02/FF
// and EF/04/01 selectable) with CDC header, call management, ACM and union descriptors and
// an 8-byte interrupt IN endpoint; a data interface 0A/00/00 with bulk IN + bulk OUT in its
// only alternate setting. By default an IAD groups them (device class EF/02/01).
//
// Control channel: SEND_ENCAPSULATED_COMMAND carries a control message; the reply is queued
// and announced by RESPONSE_AVAILABLE (8 bytes: 01 00 00 00 00 00 00 00) on the interrupt
// endpoint; GET_ENCAPSULATED_RESPONSE reads it (one byte 0x00 when nothing is queued, per
// the mapping spec). Messages: INITIALIZE (replies version 1.0, connectionless, 802.3,
// MaxPacketsPerMessage, MaxTransferSize, PacketAlignmentFactor), QUERY/SET of the required
// Ethernet OIDs (unknown OID -> RNDIS_STATUS_NOT_SUPPORTED), RESET (AddressingReset = 1:
// packet filter and multicast list are cleared), KEEPALIVE, HALT (no reply; back to
// RNDIS-uninitialized). Link changes send INDICATE_STATUS(MEDIA_CONNECT/DISCONNECT). A
// message the device cannot parse is answered with INDICATE_STATUS(INVALID_DATA) and the
// Rndis_Diagnostic_Info plus the offending bytes. QUERY/SET before INITIALIZE complete with
// RNDIS_STATUS_FAILURE.
//
// States: uninitialized -> (INITIALIZE) initialized -> (nonzero packet filter)
// data-initialized. Data flows only while data-initialized; PACKET_MSGs from the host before
// that are dropped and counted. Bulk OUT transfers (several PACKET_MSGs each, at most
// MaxPacketsPerMessage, each starting on the PacketAlignmentFactor boundary) are validated
// whole by parseRndisPacketTransfer() and rejected per RndisPacketError (and reported with
// INDICATE_STATUS(INVALID_DATA)). Bulk IN transfers batch PACKET_MSGs, 8-byte aligned, up
// to the host's MaxTransferSize from INITIALIZE.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "usb/device/ethernet_function.hpp"
#include "usb/device/rndis_messages.hpp"

namespace ndishost::usb::device {

enum class RndisInterfaceClass : std::uint8_t {
  WirelessController,  // E0/01/03
  CdcAbstractVendor,   // 02/02/FF (what Microsoft's sample descriptors show)
  Miscellaneous,       // EF/04/01
};

struct RndisConfig {
  EthernetFunctionConfig ethernet;
  RndisInterfaceClass interfaceClass = RndisInterfaceClass::WirelessController;
  bool interfaceAssociation = true;
  std::uint32_t maxTransferSize = 16384;    // largest host-to-device transfer (INITIALIZE_CMPLT)
  std::uint32_t maxPacketsPerTransfer = 8;  // MaxPacketsPerMessage
  std::uint32_t packetAlignmentFactor = 3;  // host-to-device messages start on 2^n bytes
  std::uint32_t maxInTransferSize = 16384;  // largest device-to-host transfer we build
  std::uint32_t vendorId = 0x00FFFFFF;      // OID_GEN_VENDOR_ID
  std::string vendorDescription = "ndishost emulated RNDIS adapter";
  std::uint32_t vendorDriverVersion = 0x00010000;
};

enum class RndisState : std::uint8_t { Uninitialized, Initialized, DataInitialized };

struct RndisCounters {
  std::array<std::uint64_t, static_cast<std::size_t>(RndisPacketError::Count)> rejected{};
  std::uint64_t packetsBeforeInitialized = 0;  // data from the host while not data-initialized
  std::uint64_t controlMessages = 0;
  std::uint64_t invalidControlMessages = 0;    // answered with INDICATE_STATUS(INVALID_DATA)
  std::uint64_t responsesDropped = 0;          // response queue full
  std::uint64_t rejectedTotal() const;
};

class RndisFunction final : public EthernetFunction {
 public:
  RndisFunction(RndisConfig config, link::FramePort& port);

  std::uint8_t communicationInterface() const { return config_.firstInterface; }
  std::uint8_t dataInterface() const { return static_cast<std::uint8_t>(config_.firstInterface + 1); }
  RndisState state() const;
  std::uint32_t hostMaxTransferSize() const;
  PacketFilter packetFilter() const;
  RndisCounters rndisCounters() const;
  const RndisConfig& rndisConfig() const { return rndis_; }

  FunctionLayout describe(StringTable& strings) override;
  void onConfiguration(std::uint8_t configurationValue) override;
  void onAlternateSetting(std::uint8_t interfaceNumber, std::uint8_t alternateSetting) override;
  ControlResult classRequest(const SetupPacket& setup, std::span<std::byte> data) override;
  std::size_t outMessageCapacity(std::uint8_t endpointAddress) const override;
  void onOutMessage(std::uint8_t endpointAddress, std::span<const std::byte> message) override;

 private:
  static constexpr std::size_t ResponseCapacity = 1024;  // GET_ENCAPSULATED_RESPONSE minimum
  static constexpr std::size_t ResponseSlots = 8;
  static constexpr std::size_t MaxControlMessage = 4096;

  struct Response {
    std::array<std::byte, ResponseCapacity> bytes;
    std::size_t length = 0;
  };

  void onLinkChangeLocked(bool up) override;
  void beginBatchLocked(std::span<std::byte> buffer) override;
  bool appendToBatchLocked(std::span<const std::byte> frame) override;
  std::size_t finishBatchLocked() override;

  void handleControlMessageLocked(std::span<const std::byte> message);
  void handleQueryLocked(const RndisRequest& request);
  void handleSetLocked(const RndisRequest& request);
  std::uint32_t queryOidLocked(std::uint32_t oid, std::span<std::byte> out, std::size_t& length);
  std::uint32_t setOidLocked(std::uint32_t oid, std::span<const std::byte> value);
  // Reserves the next response slot; nullptr (and counted) when the queue is full.
  Response* beginResponseLocked();
  void commitResponseLocked(Response& response, std::size_t length);
  void clearResponsesLocked();
  void enterStateLocked(RndisState state);
  void resetToUninitializedLocked();

  const RndisConfig rndis_;
  RndisState state_ = RndisState::Uninitialized;
  std::uint32_t hostMaxTransferSize_ = 0;
  std::array<Response, ResponseSlots> responses_{};
  std::size_t responseHead_ = 0, responseCount_ = 0;
  RndisPacketWriter writer_;
  std::vector<std::span<const std::byte>> frames_;  // parse output, sized once
  RndisCounters rndisCounters_;
};

}  // namespace ndishost::usb::device
