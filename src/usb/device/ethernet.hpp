// Ethernet addressing and the receive filter every USB NIC applies before a frame from the
// network reaches the host: directed (our address), multicast (listed groups, or all),
// broadcast, promiscuous -- the semantics of CDC's SetEthernetPacketFilter (ECM 1.2
// section 6.2.4) and of NDIS's OID_GEN_CURRENT_PACKET_FILTER, which the functions map onto
// this one representation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ndishost::usb::device {

inline constexpr std::size_t EthernetHeaderLength = 14;
inline constexpr std::size_t EthernetMaxFrameLength = 1514;  // without FCS

struct MacAddress {
  std::array<std::uint8_t, 6> bytes{};

  bool isMulticast() const { return (bytes[0] & 0x01) != 0; }  // group bit (broadcast too)
  bool isBroadcast() const;
  friend bool operator==(const MacAddress&, const MacAddress&) = default;

  // "02:00:00:00:00:01"
  std::string toString() const;
  // 12 upper-case hex digits, as CDC's iMACAddress string carries it (ECM 1.2 table 3).
  std::string toHexDigits() const;
  static std::optional<MacAddress> parse(std::string_view text);  // "xx:xx:..." or 12 hex digits
  static MacAddress fromBytes(std::span<const std::byte> six);
  void toBytes(std::span<std::byte> six) const;
};

inline constexpr MacAddress BroadcastAddress{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};

struct PacketFilter {
  bool directed = false;
  bool multicast = false;     // groups on the multicast list
  bool allMulticast = false;
  bool broadcast = false;
  bool promiscuous = false;

  bool any() const { return directed || multicast || allMulticast || broadcast || promiscuous; }
  friend bool operator==(const PacketFilter&, const PacketFilter&) = default;
};

// CDC Ethernet packet filter bitmap (wValue of SET_ETHERNET_PACKET_FILTER).
namespace cdc_packet_type {
inline constexpr std::uint16_t Promiscuous = 1u << 0;
inline constexpr std::uint16_t AllMulticast = 1u << 1;
inline constexpr std::uint16_t Directed = 1u << 2;
inline constexpr std::uint16_t Broadcast = 1u << 3;
inline constexpr std::uint16_t Multicast = 1u << 4;
}  // namespace cdc_packet_type

PacketFilter packetFilterFromCdc(std::uint16_t bitmap);
std::uint16_t packetFilterToCdc(const PacketFilter& filter);

// NDIS_PACKET_TYPE_* bits (ntddndis.h values) an RNDIS Ethernet device honours.
namespace ndis_packet_type {
inline constexpr std::uint32_t Directed = 0x00000001;
inline constexpr std::uint32_t Multicast = 0x00000002;
inline constexpr std::uint32_t AllMulticast = 0x00000004;
inline constexpr std::uint32_t Broadcast = 0x00000008;
inline constexpr std::uint32_t Promiscuous = 0x00000020;
inline constexpr std::uint32_t AllLocal = 0x00000080;  // everything the stack would see: promiscuous here
inline constexpr std::uint32_t Supported =
    Directed | Multicast | AllMulticast | Broadcast | Promiscuous | AllLocal;
}  // namespace ndis_packet_type

PacketFilter packetFilterFromNdis(std::uint32_t bits);
std::uint32_t packetFilterToNdis(const PacketFilter& filter);

// Would a NIC with this filter, station address and multicast list pass `frame` (a whole
// Ethernet frame, destination first) up to the host?
bool filterAccepts(const PacketFilter& filter, const MacAddress& station,
                   std::span<const MacAddress> multicastList, std::span<const std::byte> frame);

}  // namespace ndishost::usb::device
