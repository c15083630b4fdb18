// CDC-ECM (Ethernet Control Model, ECM 1.2): one Ethernet frame per bulk transfer.
//
// Interfaces: communication interface 02/06/00 (header, union and Ethernet networking
// functional descriptors; interrupt IN for notifications) and data interface 0A/00/00 with
// alternate setting 0 (no endpoints) and 1 (bulk IN + bulk OUT). Selecting alternate
// setting 1 starts the data path and sends CONNECTION_SPEED_CHANGE + NETWORK_CONNECTION;
// link changes repeat them.
//
// Class requests (to the communication interface): SET_ETHERNET_MULTICAST_FILTERS (perfect
// filtering, wNumberMCFilters entries), SET_ETHERNET_PACKET_FILTER, GET_ETHERNET_STATISTIC
// (XMIT_OK, RCV_OK, XMIT_ERROR, RCV_ERROR, RCV_NO_BUFFER). Power-management pattern filters
// are not offered (bNumberPowerFilters 0). Anything else stalls.
//
// Packet filter after configuration: directed + broadcast + all-multicast (hosts set their
// own at once).
#pragma once

#include "usb/device/ethernet_function.hpp"

namespace ndishost::usb::device {

struct CdcEcmConfig {
  EthernetFunctionConfig ethernet;
  bool interfaceAssociation = false;  // group the two interfaces with an IAD (device class EF/02/01)
};

struct CdcEcmCounters {
  std::uint64_t runts = 0;     // host sent less than an Ethernet header
  std::uint64_t oversize = 0;  // host sent more than wMaxSegmentSize
};

class CdcEcmFunction final : public EthernetFunction {
 public:
  CdcEcmFunction(CdcEcmConfig config, link::FramePort& port);

  std::uint8_t communicationInterface() const { return config_.firstInterface; }
  std::uint8_t dataInterface() const { return static_cast<std::uint8_t>(config_.firstInterface + 1); }
  PacketFilter packetFilter() const;
  CdcEcmCounters ecmCounters() const;

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
  bool batchFullLocked() const override { return batchLength_ > 0; }
  std::size_t finishBatchLocked() override;
  void notifyLinkLocked();

  const bool interfaceAssociation_;
  std::span<std::byte> batch_;
  std::size_t batchLength_ = 0;
  CdcEcmCounters ecmCounters_;
};

}  // namespace ndishost::usb::device
