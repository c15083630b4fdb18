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

AdapterOffloads adapterOffloadsFrom(const NDIS_OFFLOAD* offload) {
  AdapterOffloads a;
  if (offload == nullptr || offload->Header.Type != NDIS_OBJECT_TYPE_OFFLOAD ||
      offload->Header.Revision < NDIS_OFFLOAD_REVISION_1 || offload->Header.Size < NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1)
    return a;
  auto ethernet = [](ULONG encapsulation) { return (encapsulation & NDIS_ENCAPSULATION_IEEE_802_3) != 0; };
  auto on = [](ULONG field) { return field == NDIS_OFFLOAD_SUPPORTED; };
  const NDIS_TCP_IP_CHECKSUM_OFFLOAD& c = offload->Checksum;
  if (ethernet(c.IPv4Transmit.Encapsulation)) {
    a.checksumTcp4 = on(c.IPv4Transmit.TcpChecksum);
    a.checksumUdp4 = on(c.IPv4Transmit.UdpChecksum);
    a.checksumIp4Options = on(c.IPv4Transmit.IpOptionsSupported);
    a.checksumTcp4Options = on(c.IPv4Transmit.TcpOptionsSupported);
  }
  if (ethernet(c.IPv6Transmit.Encapsulation)) {
    a.checksumTcp6 = on(c.IPv6Transmit.TcpChecksum);
    a.checksumUdp6 = on(c.IPv6Transmit.UdpChecksum);
    a.checksumIp6Extensions = on(c.IPv6Transmit.IpExtensionHeadersSupported);
    a.checksumTcp6Options = on(c.IPv6Transmit.TcpOptionsSupported);
  }
  a.receiveChecksum = (ethernet(c.IPv4Receive.Encapsulation) && (on(c.IPv4Receive.TcpChecksum) || on(c.IPv4Receive.UdpChecksum))) ||
                      (ethernet(c.IPv6Receive.Encapsulation) && (on(c.IPv6Receive.TcpChecksum) || on(c.IPv6Receive.UdpChecksum)));
  // Linux hands a TSO-capable TAP IP packets of up to 64 KiB with a TCP timestamp option,
  // and GSO frames of 2 segments and more; an adapter that cannot take those would see
  // frames dropped all the time, so its LSO is left unused (checksum offload still works).
  constexpr ULONG kLinuxLargestIpPacket = 65535;
  const NDIS_TCP_LARGE_SEND_OFFLOAD_V2& l = offload->LsoV2;
  a.largeSendMaxSize4 = l.IPv4.MaxOffLoadSize;
  a.largeSendMinSegments4 = l.IPv4.MinSegmentCount;
  a.largeSendMaxSize6 = l.IPv6.MaxOffLoadSize;
  a.largeSendMinSegments6 = l.IPv6.MinSegmentCount;
  a.largeSend4 = ethernet(l.IPv4.Encapsulation) && l.IPv4.MaxOffLoadSize >= kLinuxLargestIpPacket && l.IPv4.MinSegmentCount <= 2;
  a.largeSend6 = ethernet(l.IPv6.Encapsulation) && l.IPv6.MaxOffLoadSize >= kLinuxLargestIpPacket &&
                 l.IPv6.MinSegmentCount <= 2 && on(l.IPv6.TcpOptionsSupported);
  return a;
}

TapOffloads tapOffloadsFor(const AdapterOffloads& adapter) {
  TapOffloads tap;
  tap.tcp4 = adapter.largeSend4;
  tap.tcp6 = adapter.largeSend6;
  tap.checksum = adapter.anyTransmitChecksum() || tap.tcp4 || tap.tcp6;
  return tap;
}

namespace {

std::size_t tcpHeaderLength(std::span<const std::byte> frame, std::size_t l4Offset) {
  return (std::to_integer<std::size_t>(frame[l4Offset + 12]) >> 4) * 4u;
}

bool checksumTakenBy(const AdapterOffloads& adapter, const FrameLayout& layout, std::span<const std::byte> frame) {
  const bool tcp = layout.l4 == L4Protocol::Tcp;
  if (tcp && frame.size() < layout.l4Offset + 20u) return false;
  const bool tcpOptions = tcp && tcpHeaderLength(frame, layout.l4Offset) > 20;
  if (layout.l3 == L3Protocol::IPv4) {
    if (layout.l4Offset - layout.l3Offset > 20 && !adapter.checksumIp4Options) return false;
    if (tcpOptions && !adapter.checksumTcp4Options) return false;
    return tcp ? adapter.checksumTcp4 : adapter.checksumUdp4;
  }
  if (tcpOptions && !adapter.checksumTcp6Options) return false;
  return tcp ? adapter.checksumTcp6 : adapter.checksumUdp6;
}

}  // namespace

SendDisposition prepareSend(const TransmitOffload& offload, const AdapterOffloads& adapter, std::span<std::byte> frame,
                            SendInfo& info) {
  info = {};
  if (!offload.checksumNeeded && offload.segmentation == TransmitOffload::Segmentation::None)
    return SendDisposition::Plain;
  const FrameLayout layout = parseFrameLayout(frame);
  TransmitOffload checksumOnly = offload;
  checksumOnly.segmentation = TransmitOffload::Segmentation::None;
  if (offload.segmentation != TransmitOffload::Segmentation::None) {
    const bool ipv4 = offload.segmentation == TransmitOffload::Segmentation::TcpV4;
    const bool ipv6 = offload.segmentation == TransmitOffload::Segmentation::TcpV6;
    if ((!ipv4 && !ipv6) || layout.l4 != L4Protocol::Tcp || frame.size() < layout.l4Offset + 20u)
      return SendDisposition::Drop;
    const std::size_t headers = layout.l4Offset + tcpHeaderLength(frame, layout.l4Offset);
    if (headers > frame.size()) return SendDisposition::Drop;
    const std::size_t payload = frame.size() - headers;
    const std::size_t segments = (payload + offload.segmentSize - 1) / offload.segmentSize;
    if (segments > 1) {
      const bool usable = ipv4 ? adapter.largeSend4 : adapter.largeSend6;
      const ULONG maxSize = ipv4 ? adapter.largeSendMaxSize4 : adapter.largeSendMaxSize6;
      const ULONG minSegments = ipv4 ? adapter.largeSendMinSegments4 : adapter.largeSendMinSegments6;
      if (!usable || frame.size() - layout.l3Offset > maxSize || segments < minSegments) return SendDisposition::Drop;
      if (!sendInfoFor(offload, frame, info)) return SendDisposition::Drop;
      info.checksum = {};  // LSOv2: the miniport computes each segment's checksums itself
      return SendDisposition::Offloaded;
    }
    // One segment's worth: an ordinary frame whose checksum is still to be finished.
    if (!offload.checksumNeeded) return SendDisposition::Plain;
  }
  if (layout.l3 != L3Protocol::Other && layout.l4 != L4Protocol::Other && checksumTakenBy(adapter, layout, frame) &&
      sendInfoFor(checksumOnly, frame, info))
    return SendDisposition::Offloaded;
  info = {};
  return completeChecksum(frame, offload.checksumStart, offload.checksumOffset) ? SendDisposition::SoftwareChecksum
                                                                                : SendDisposition::Drop;
}

ReceiveOffload receiveOffloadFor(const NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO& checksum) {
  const auto& receive = checksum.Receive;
  const bool failed = receive.TcpChecksumFailed || receive.UdpChecksumFailed || receive.IpChecksumFailed;
  return {.checksumVerified = !failed && (receive.TcpChecksumSucceeded || receive.UdpChecksumSucceeded)};
}

}  // namespace ndishost::host::binding
