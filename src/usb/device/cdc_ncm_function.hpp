// CDC-NCM (Network Control Model, NCM 1.0): Ethernet datagrams aggregated into NTBs.
//
// Interfaces: communication interface 02/0D/00 (header, union, Ethernet networking and NCM
// functional descriptors; interrupt IN) and data interface 0A/00/01 with alternate setting
// 0 (no endpoints) and 1 (bulk IN + bulk OUT).
//
// bmNetworkCapabilities: SetEthernetPacketFilter, Get/SetNetAddress, Get/SetMaxDatagramSize
// and (configurable) the 8-byte Get/SetNtbInputSize form. CRC mode is NOT supported: the
// capability bit is clear, GET/SET_CRC_MODE stall, and NDPs with the CRC signatures
// (NCM1/ncm1) are rejected.
//
// Class requests (to the communication interface): GET_NTB_PARAMETERS, GET/SET_NTB_FORMAT
// (SET only while the data interface is at alternate setting 0, NTB32 only when offered),
// GET/SET_NTB_INPUT_SIZE (2048 .. dwNtbInMaxSize), GET/SET_MAX_DATAGRAM_SIZE (1514 ..
// wMaxSegmentSize), GET/SET_NET_ADDRESS (SET at alternate setting 0 only, unicast only),
// SET_ETHERNET_PACKET_FILTER, SET_ETHERNET_MULTICAST_FILTERS. Malformed ones stall.
//
// Selecting alternate setting 0 of the data interface resets the function (NCM 1.0 section
// 7.2): NTB16, NTB input size dwNtbInMaxSize, maximum datagram size wMaxSegmentSize, default
// packet filter, empty multicast list, NTB sequence numbers 0. Selecting alternate setting 1
// starts the data path and notifies CONNECTION_SPEED_CHANGE + NETWORK_CONNECTION.
//
// Host-to-device NTBs are validated whole by parseNtb() and rejected NTBs counted per
// NtbError. wSequence is informative in NCM: discontinuities are counted, not rejected.
// Device-to-host NTBs are built by the EthernetFunction aggregation pipeline with the
// host's input size and wNdpIn* rules; an NTB shorter than the host's input size that ends
// on a packet boundary is followed by a ZLP, one of exactly the input size is not.
#pragma once

#include <array>
#include <vector>

#include "usb/device/ethernet_function.hpp"
#include "usb/device/ncm_ntb.hpp"

namespace ndishost::usb::device {

struct CdcNcmConfig {
  EthernetFunctionConfig ethernet;
  bool interfaceAssociation = false;
  bool supportNtb32 = true;
  bool ntbInputSize8Byte = true;       // bmNetworkCapabilities D5
  std::uint32_t ntbInMaxSize = 16384;  // dwNtbInMaxSize
  std::uint32_t ntbOutMaxSize = 16384; // dwNtbOutMaxSize
  std::uint16_t ndpInDivisor = 4, ndpInPayloadRemainder = 0, ndpInAlignment = 4;
  std::uint16_t ndpOutDivisor = 4, ndpOutPayloadRemainder = 0, ndpOutAlignment = 4;
  std::uint16_t ntbOutMaxDatagrams = 64;  // 0 would mean "no limit"; we always state one
  std::size_t maxNdpsPerNtb = 16;
};

struct CdcNcmCounters {
  std::array<std::uint64_t, static_cast<std::size_t>(NtbError::Count)> rejected{};  // by reason
  std::uint64_t ntbsReceived = 0;      // valid NTBs from the host
  std::uint64_t sequenceGaps = 0;      // wSequence not previous + 1
  std::uint64_t ntbsSent = 0;          // NTBs built and queued toward the host
  std::uint64_t rejectedTotal() const;
};

class CdcNcmFunction final : public EthernetFunction {
 public:
  CdcNcmFunction(CdcNcmConfig config, link::FramePort& port);

  std::uint8_t communicationInterface() const { return config_.firstInterface; }
  std::uint8_t dataInterface() const { return static_cast<std::uint8_t>(config_.firstInterface + 1); }
  const CdcNcmConfig& ncmConfig() const { return ncm_; }
  NtbParameters ntbParameters() const;
  NtbFormat ntbFormat() const;
  std::uint32_t ntbInputSize() const;
  std::size_t maxDatagramSize() const;
  PacketFilter packetFilter() const;
  CdcNcmCounters ncmCounters() const;

  FunctionLayout describe(StringTable& strings) override;
  void onConfiguration(std::uint8_t configurationValue) override;
  void onAlternateSetting(std::uint8_t interfaceNumber, std::uint8_t alternateSetting) override;
  ControlResult classRequest(const SetupPacket& setup, std::span<std::byte> data) override;
  std::size_t outMessageCapacity(std::uint8_t endpointAddress) const override;
  void onOutMessage(std::uint8_t endpointAddress, std::span<const std::byte> message) override;

 private:
  void onLinkChangeLocked(bool up) override;
  void beginBatchLocked(std::span<std::byte> buffer) override;
  bool appendToBatchLocked(std::span<const std::byte> frame) override;
  std::size_t finishBatchLocked() override;
  void abandonBatchLocked() override;
  bool batchNeedsZlpLocked(std::size_t length) const override;
  void resetNtbStateLocked();
  void notifyLinkLocked();
  std::uint8_t capabilities() const;

  const CdcNcmConfig ncm_;
  std::uint8_t dataAlternate_ = 0;
  NtbFormat format_ = NtbFormat::Ntb16;
  std::uint32_t inputSize_;
  std::uint16_t inputMaxDatagrams_ = 0;
  std::size_t maxDatagramSize_;
  std::uint16_t inSequence_ = 0;
  bool haveOutSequence_ = false;
  std::uint16_t lastOutSequence_ = 0;
  NtbWriter writer_;
  std::vector<std::span<const std::byte>> datagrams_;  // parse output, sized once
  CdcNcmCounters ncmCounters_;
};

}  // namespace ndishost::usb::device
