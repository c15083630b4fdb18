#include "host/binding/ndis_frame_info.hpp"

#include <cstdint>

namespace ndishost::host::binding {
namespace {

std::uint32_t addWords(std::span<const std::byte> bytes, std::uint32_t sum) {
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2)
    sum += (std::to_integer<std::uint32_t>(bytes[i]) << 8) | std::to_integer<std::uint32_t>(bytes[i + 1]);
  return sum;
}

std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

void writeBigEndian16(std::span<std::byte> bytes, std::size_t at, std::uint16_t value) {
  bytes[at] = static_cast<std::byte>(value >> 8);
  bytes[at + 1] = static_cast<std::byte>(value & 0xff);
}

}  // namespace

AdapterReceiveSettings receiveSettingsFor(const LinkSnapshot& snapshot, std::size_t maximumListSize) {
  AdapterReceiveSettings settings;
  const ReceiveFilter filter = receiveFilterFor(snapshot);
  bool allMulticast = filter.allMulticast;
  if (filter.multicast && snapshot.multicast.size() > maximumListSize) allMulticast = true;
  if (filter.directed) settings.packetFilter |= NDIS_PACKET_TYPE_DIRECTED;
  if (filter.broadcast) settings.packetFilter |= NDIS_PACKET_TYPE_BROADCAST;
  if (allMulticast) settings.packetFilter |= NDIS_PACKET_TYPE_ALL_MULTICAST;
  if (filter.promiscuous) settings.packetFilter |= NDIS_PACKET_TYPE_PROMISCUOUS;
  if (filter.multicast && !allMulticast) {
    settings.packetFilter |= NDIS_PACKET_TYPE_MULTICAST;
    for (const LinkLayerAddress& address : snapshot.multicast) settings.multicastList.insert(settings.multicastList.end(), address.begin(), address.end());
  }
  return settings;
}

bool sendInfoFor(const TransmitOffload& offload, std::span<std::byte> frame, SendInfo& info) {
  info = {};
  if (!offload.checksumNeeded && offload.segmentation == TransmitOffload::Segmentation::None) return true;
  const FrameLayout layout = parseFrameLayout(frame);
  if (layout.l3 == L3Protocol::Other || layout.l4 == L4Protocol::Other) return false;
  // NDIS locates the checksum by protocol and header offset, Linux by start and offset:
  // they must agree or the NIC would write the checksum somewhere else.
  if (offload.checksumNeeded) {
    const std::uint16_t fieldOffset = layout.l4 == L4Protocol::Tcp ? 16 : 6;
    if (offload.checksumStart != layout.l4Offset || offload.checksumOffset != fieldOffset) return false;
    info.checksum.Transmit.IsIPv4 = layout.l3 == L3Protocol::IPv4;
    info.checksum.Transmit.IsIPv6 = layout.l3 == L3Protocol::IPv6;
    info.checksum.Transmit.TcpChecksum = layout.l4 == L4Protocol::Tcp;
    info.checksum.Transmit.UdpChecksum = layout.l4 == L4Protocol::Udp;
    info.checksum.Transmit.TcpHeaderOffset = layout.l4Offset;
  }
  switch (offload.segmentation) {
    case TransmitOffload::Segmentation::None: return true;
    case TransmitOffload::Segmentation::Udp: return false;  // NDIS LSO is TCP only
    case TransmitOffload::Segmentation::TcpV4:
    case TransmitOffload::Segmentation::TcpV6: break;
  }
  const bool ipv4 = offload.segmentation == TransmitOffload::Segmentation::TcpV4;
  if (layout.l4 != L4Protocol::Tcp || (ipv4 != (layout.l3 == L3Protocol::IPv4)) || frame.size() < layout.l4Offset + 20u) return false;
  if (offload.segmentSize >= (1u << 20)) return false;
  info.largeSend.LsoV2Transmit.Type = NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE;
  info.largeSend.LsoV2Transmit.IPVersion = ipv4 ? NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4 : NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6;
  info.largeSend.LsoV2Transmit.TcpHeaderOffset = layout.l4Offset;
  info.largeSend.LsoV2Transmit.MSS = offload.segmentSize;
  // LSOv2: IP length 0 (the miniport takes the length from the NET_BUFFER), and the TCP
  // checksum field holds the pseudo-header sum over addresses and protocol only.
  std::uint32_t sum = 6;
  if (ipv4) {
    writeBigEndian16(frame, layout.l3Offset + 2, 0);
    sum = addWords(frame.subspan(layout.l3Offset + 12, 8), sum);
  } else {
    writeBigEndian16(frame, layout.l3Offset + 4, 0);
    sum = addWords(frame.subspan(layout.l3Offset + 8, 32), sum);
  }
  writeBigEndian16(frame, layout.l4Offset + 16, fold(sum));
  return true;
}

ReceiveOffload receiveOffloadFor(const NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO& checksum) {
  const auto& receive = checksum.Receive;
  const bool failed = receive.TcpChecksumFailed || receive.UdpChecksumFailed || receive.IpChecksumFailed;
  return {.checksumVerified = !failed && (receive.TcpChecksumSucceeded || receive.UdpChecksumSucceeded)};
}

}  // namespace ndishost::host::binding
