// USB CDC 1.2 / ECM 1.2 / NCM 1.0 class codes, class-specific requests and the
// notifications a communications interface sends on its interrupt IN endpoint.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ndishost::usb::device {

namespace usb_class {
inline constexpr std::uint8_t Communications = 0x02;  // CDC communications interface / device
inline constexpr std::uint8_t CdcData = 0x0A;
inline constexpr std::uint8_t Miscellaneous = 0xEF;
inline constexpr std::uint8_t WirelessController = 0xE0;
}  // namespace usb_class

namespace cdc_subclass {
inline constexpr std::uint8_t AbstractControl = 0x02;
inline constexpr std::uint8_t EthernetControl = 0x06;     // ECM
inline constexpr std::uint8_t NetworkControl = 0x0D;      // NCM
}  // namespace cdc_subclass

inline constexpr std::uint8_t NcmDataProtocolNtb = 0x01;  // data interface bInterfaceProtocol

// Class-specific request codes (CDC 1.2 table 19, ECM 1.2 table 6, NCM 1.0 table 6-2).
namespace cdc_request {
inline constexpr std::uint8_t SendEncapsulatedCommand = 0x00;
inline constexpr std::uint8_t GetEncapsulatedResponse = 0x01;
inline constexpr std::uint8_t SetEthernetMulticastFilters = 0x40;
inline constexpr std::uint8_t SetEthernetPowerManagementPatternFilter = 0x41;
inline constexpr std::uint8_t GetEthernetPowerManagementPatternFilter = 0x42;
inline constexpr std::uint8_t SetEthernetPacketFilter = 0x43;
inline constexpr std::uint8_t GetEthernetStatistic = 0x44;
inline constexpr std::uint8_t GetNtbParameters = 0x80;
inline constexpr std::uint8_t GetNetAddress = 0x81;
inline constexpr std::uint8_t SetNetAddress = 0x82;
inline constexpr std::uint8_t GetNtbFormat = 0x83;
inline constexpr std::uint8_t SetNtbFormat = 0x84;
inline constexpr std::uint8_t GetNtbInputSize = 0x85;
inline constexpr std::uint8_t SetNtbInputSize = 0x86;
inline constexpr std::uint8_t GetMaxDatagramSize = 0x87;
inline constexpr std::uint8_t SetMaxDatagramSize = 0x88;
inline constexpr std::uint8_t GetCrcMode = 0x89;
inline constexpr std::uint8_t SetCrcMode = 0x8A;
}  // namespace cdc_request

// bmRequestType of class requests to an interface.
inline constexpr std::uint8_t ClassInterfaceOut = 0x21;
inline constexpr std::uint8_t ClassInterfaceIn = 0xA1;

// Notification codes (CDC 1.2 table 20).
namespace cdc_notification {
inline constexpr std::uint8_t NetworkConnection = 0x00;
inline constexpr std::uint8_t ResponseAvailable = 0x01;
inline constexpr std::uint8_t ConnectionSpeedChange = 0x2A;
}  // namespace cdc_notification

// ECM 1.2 table 9: GET_ETHERNET_STATISTIC feature selectors (bit n-1 of bmEthernetStatistics).
namespace ethernet_statistic {
inline constexpr std::uint16_t XmitOk = 1;
inline constexpr std::uint16_t RcvOk = 2;
inline constexpr std::uint16_t XmitError = 3;
inline constexpr std::uint16_t RcvError = 4;
inline constexpr std::uint16_t RcvNoBuffer = 5;
}  // namespace ethernet_statistic

// NCM 1.0 table 5-2: bmNetworkCapabilities.
namespace ncm_capability {
inline constexpr std::uint8_t PacketFilter = 1u << 0;       // SetEthernetPacketFilter
inline constexpr std::uint8_t NetAddress = 1u << 1;         // Get/SetNetAddress
inline constexpr std::uint8_t EncapsulatedCommand = 1u << 2;
inline constexpr std::uint8_t MaxDatagramSize = 1u << 3;    // Get/SetMaxDatagramSize
inline constexpr std::uint8_t CrcMode = 1u << 4;            // Get/SetCrcMode
inline constexpr std::uint8_t NtbInputSize8Byte = 1u << 5;  // 8-byte Get/SetNtbInputSize
}  // namespace ncm_capability

// A notification: 8-byte header (bmRequestType 0xA1, code, wValue, wIndex, wLength) plus
// data. At most 16 bytes (CONNECTION_SPEED_CHANGE).
struct CdcNotification {
  std::array<std::byte, 16> bytes{};
  std::size_t length = 0;
  std::span<const std::byte> view() const { return {bytes.data(), length}; }
};

CdcNotification makeNetworkConnection(std::uint8_t interfaceNumber, bool connected);
// Bit rates in bits per second (ECM 1.2 table 21); values above 2^32-1 are clamped.
CdcNotification makeConnectionSpeedChange(std::uint8_t interfaceNumber, std::uint64_t downlinkBps,
                                          std::uint64_t uplinkBps);

}  // namespace ndishost::usb::device
