#include "usb/device/ethernet.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace ndishost::usb::device {

bool MacAddress::isBroadcast() const { return *this == BroadcastAddress; }

std::string MacAddress::toString() const {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return text;
}

std::string MacAddress::toHexDigits() const {
  char text[13];
  std::snprintf(text, sizeof text, "%02X%02X%02X%02X%02X%02X", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return text;
}

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (c == ':' || c == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    digits.push_back(c);
  }
  if (digits.size() != 12) return std::nullopt;
  MacAddress mac;
  for (std::size_t i = 0; i < 6; ++i)
    mac.bytes[i] = static_cast<std::uint8_t>(std::stoul(digits.substr(2 * i, 2), nullptr, 16));
  return mac;
}

MacAddress MacAddress::fromBytes(std::span<const std::byte> six) {
  MacAddress mac;
  for (std::size_t i = 0; i < 6 && i < six.size(); ++i)
    mac.bytes[i] = static_cast<std::uint8_t>(six[i]);
  return mac;
}

void MacAddress::toBytes(std::span<std::byte> six) const {
  for (std::size_t i = 0; i < 6 && i < six.size(); ++i) six[i] = static_cast<std::byte>(bytes[i]);
}

PacketFilter packetFilterFromCdc(std::uint16_t bitmap) {
  PacketFilter f;
  f.promiscuous = bitmap & cdc_packet_type::Promiscuous;
  f.allMulticast = bitmap & cdc_packet_type::AllMulticast;
  f.directed = bitmap & cdc_packet_type::Directed;
  f.broadcast = bitmap & cdc_packet_type::Broadcast;
  f.multicast = bitmap & cdc_packet_type::Multicast;
  return f;
}

std::uint16_t packetFilterToCdc(const PacketFilter& f) {
  return static_cast<std::uint16_t>((f.promiscuous ? cdc_packet_type::Promiscuous : 0) |
                                    (f.allMulticast ? cdc_packet_type::AllMulticast : 0) |
                                    (f.directed ? cdc_packet_type::Directed : 0) |
                                    (f.broadcast ? cdc_packet_type::Broadcast : 0) |
                                    (f.multicast ? cdc_packet_type::Multicast : 0));
}

PacketFilter packetFilterFromNdis(std::uint32_t bits) {
  PacketFilter f;
  f.directed = bits & ndis_packet_type::Directed;
  f.multicast = bits & ndis_packet_type::Multicast;
  f.allMulticast = bits & ndis_packet_type::AllMulticast;
  f.broadcast = bits & ndis_packet_type::Broadcast;
  f.promiscuous = bits & (ndis_packet_type::Promiscuous | ndis_packet_type::AllLocal);
  return f;
}

std::uint32_t packetFilterToNdis(const PacketFilter& f) {
  return (f.directed ? ndis_packet_type::Directed : 0) |
         (f.multicast ? ndis_packet_type::Multicast : 0) |
         (f.allMulticast ? ndis_packet_type::AllMulticast : 0) |
         (f.broadcast ? ndis_packet_type::Broadcast : 0) |
         (f.promiscuous ? ndis_packet_type::Promiscuous : 0);
}

bool filterAccepts(const PacketFilter& filter, const MacAddress& station,
                   std::span<const MacAddress> multicastList, std::span<const std::byte> frame) {
  if (frame.size() < EthernetHeaderLength) return false;
  if (filter.promiscuous) return true;
  const MacAddress destination = MacAddress::fromBytes(frame.first(6));
  if (destination.isBroadcast()) return filter.broadcast;
  if (destination.isMulticast()) {
    if (filter.allMulticast) return true;
    return filter.multicast &&
           std::find(multicastList.begin(), multicastList.end(), destination) != multicastList.end();
  }
  return filter.directed && destination == station;
}

}  // namespace ndishost::usb::device
