#include "host/tap/frame_offload.hpp"

namespace ndishost::host {
namespace {

std::uint16_t readBigEndian16(std::span<const std::byte> bytes, std::size_t at) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(bytes[at]) << 8) | std::to_integer<unsigned>(bytes[at + 1]));
}
std::uint16_t readLittleEndian16(std::span<const std::byte> bytes, std::size_t at) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(bytes[at]) | (std::to_integer<unsigned>(bytes[at + 1]) << 8));
}
void writeLittleEndian16(std::span<std::byte> bytes, std::size_t at, std::uint16_t value) {
  bytes[at] = static_cast<std::byte>(value & 0xff);
  bytes[at + 1] = static_cast<std::byte>(value >> 8);
}

L4Protocol l4FromIpProtocol(unsigned protocol) {
  if (protocol == 6) return L4Protocol::Tcp;
  if (protocol == 17) return L4Protocol::Udp;
  return L4Protocol::Other;
}

// virtio_net_hdr layout: flags u8, gso_type u8, hdr_len u16, gso_size u16, csum_start u16,
// csum_offset u16.
// Values of the Linux UAPI (linux/virtio_net.h, which does not compile as C++).
constexpr unsigned VIRTIO_NET_HDR_F_NEEDS_CSUM = 1, VIRTIO_NET_HDR_F_DATA_VALID = 2;
constexpr unsigned VIRTIO_NET_HDR_GSO_NONE = 0, VIRTIO_NET_HDR_GSO_TCPV4 = 1, VIRTIO_NET_HDR_GSO_UDP = 3,
                   VIRTIO_NET_HDR_GSO_TCPV6 = 4, VIRTIO_NET_HDR_GSO_ECN = 0x80;
constexpr std::size_t kFlags = 0, kGsoType = 1, kHeaderLength = 2, kGsoSize = 4, kCsumStart = 6, kCsumOffset = 8;

}  // namespace

FrameLayout parseFrameLayout(std::span<const std::byte> frame) {
  FrameLayout layout;
  if (frame.size() < 14) return layout;
  std::size_t at = 12;
  std::uint16_t etherType = readBigEndian16(frame, at);
  if (etherType == 0x8100 || etherType == 0x88a8) {
    if (frame.size() < 18) return layout;
    at += 4;
    etherType = readBigEndian16(frame, at);
  }
  const std::size_t l3 = at + 2;
  if (etherType == 0x0800 && frame.size() >= l3 + 20) {
    const unsigned versionAndLength = std::to_integer<unsigned>(frame[l3]);
    const std::size_t headerLength = (versionAndLength & 0x0f) * 4u;
    if ((versionAndLength >> 4) != 4 || headerLength < 20 || frame.size() < l3 + headerLength) return layout;
    layout.l3 = L3Protocol::IPv4;
    layout.l3Offset = static_cast<std::uint16_t>(l3);
    layout.l4Offset = static_cast<std::uint16_t>(l3 + headerLength);
    layout.l4 = l4FromIpProtocol(std::to_integer<unsigned>(frame[l3 + 9]));
  } else if (etherType == 0x86dd && frame.size() >= l3 + 40) {
    if ((std::to_integer<unsigned>(frame[l3]) >> 4) != 6) return layout;
    layout.l3 = L3Protocol::IPv6;
    layout.l3Offset = static_cast<std::uint16_t>(l3);
    layout.l4Offset = static_cast<std::uint16_t>(l3 + 40);
    layout.l4 = l4FromIpProtocol(std::to_integer<unsigned>(frame[l3 + 6]));
  }
  return layout;
}

bool completeChecksum(std::span<std::byte> frame, std::uint16_t checksumStart, std::uint16_t checksumOffset) {
  const std::size_t field = std::size_t{checksumStart} + checksumOffset;
  if (checksumStart >= frame.size() || field + 2 > frame.size()) return false;
  std::uint32_t sum = 0;
  std::size_t at = checksumStart;
  for (; at + 1 < frame.size(); at += 2) sum += readBigEndian16(frame, at);
  if (at < frame.size()) sum += std::to_integer<std::uint32_t>(frame[at]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  std::uint16_t checksum = static_cast<std::uint16_t>(~sum & 0xffff);
  if (checksum == 0) checksum = 0xffff;
  frame[field] = static_cast<std::byte>(checksum >> 8);
  frame[field + 1] = static_cast<std::byte>(checksum & 0xff);
  return true;
}

std::optional<TransmitOffload> decodeVnetHeader(std::span<const std::byte, kVnetHeaderSize> header) {
  TransmitOffload offload;
  const unsigned flags = std::to_integer<unsigned>(header[kFlags]);
  const unsigned gsoType = std::to_integer<unsigned>(header[kGsoType]);
  offload.checksumNeeded = (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
  offload.checksumStart = readLittleEndian16(header, kCsumStart);
  offload.checksumOffset = readLittleEndian16(header, kCsumOffset);
  offload.headerLength = readLittleEndian16(header, kHeaderLength);
  offload.segmentSize = readLittleEndian16(header, kGsoSize);
  offload.ecn = (gsoType & VIRTIO_NET_HDR_GSO_ECN) != 0;
  switch (gsoType & ~unsigned{VIRTIO_NET_HDR_GSO_ECN}) {
    case VIRTIO_NET_HDR_GSO_NONE: offload.segmentation = TransmitOffload::Segmentation::None; break;
    case VIRTIO_NET_HDR_GSO_TCPV4: offload.segmentation = TransmitOffload::Segmentation::TcpV4; break;
    case VIRTIO_NET_HDR_GSO_TCPV6: offload.segmentation = TransmitOffload::Segmentation::TcpV6; break;
    case VIRTIO_NET_HDR_GSO_UDP: offload.segmentation = TransmitOffload::Segmentation::Udp; break;
    default: return std::nullopt;
  }
  // A segmented frame without an MSS cannot be cut; the kernel never sends one.
  if (offload.segmentation != TransmitOffload::Segmentation::None && offload.segmentSize == 0) return std::nullopt;
  return offload;
}

void encodeVnetHeader(const ReceiveOffload& offload, std::span<std::byte, kVnetHeaderSize> header) {
  for (std::byte& b : header) b = std::byte{0};
  if (offload.checksumVerified) {
    unsigned flags = VIRTIO_NET_HDR_F_DATA_VALID;
    if (offload.checksumStart != 0) {
      flags |= VIRTIO_NET_HDR_F_NEEDS_CSUM;
      writeLittleEndian16(header, kCsumStart, offload.checksumStart);
      writeLittleEndian16(header, kCsumOffset, offload.checksumOffset);
    }
    header[kFlags] = static_cast<std::byte>(flags);
  }
  header[kGsoType] = static_cast<std::byte>(VIRTIO_NET_HDR_GSO_NONE);
  writeLittleEndian16(header, kHeaderLength, 0);
}

void markChecksumVerified(std::span<std::byte> frame, ReceiveOffload& offload) {
  offload.checksumStart = offload.checksumOffset = 0;
  if (!offload.checksumVerified) return;
  const FrameLayout layout = parseFrameLayout(frame);
  if (layout.l3 == L3Protocol::Other || layout.l4 == L4Protocol::Other) return;
  std::size_t l4Length;
  std::uint32_t sum = 0;
  auto addWords = [&](std::size_t from, std::size_t count) {
    for (std::size_t i = 0; i < count; i += 2) sum += readBigEndian16(frame, from + i);
  };
  if (layout.l3 == L3Protocol::IPv4) {
    const std::size_t total = readBigEndian16(frame, layout.l3Offset + 2);
    const std::size_t ipHeader = std::size_t{layout.l4Offset} - layout.l3Offset;
    if (total < ipHeader || layout.l3Offset + total > frame.size()) return;
    l4Length = total - ipHeader;
    addWords(layout.l3Offset + 12, 8);
  } else {
    l4Length = readBigEndian16(frame, layout.l3Offset + 4);
    if (layout.l4Offset + l4Length > frame.size()) return;
    addWords(layout.l3Offset + 8, 32);
  }
  const bool tcp = layout.l4 == L4Protocol::Tcp;
  const std::uint16_t fieldOffset = tcp ? 16 : 6;
  if (l4Length < fieldOffset + 2u) return;
  const std::size_t field = layout.l4Offset + fieldOffset;
  if (!tcp && layout.l3 == L3Protocol::IPv4 && readBigEndian16(frame, field) == 0) return;  // no UDP checksum
  sum += (tcp ? 6u : 17u) + static_cast<std::uint32_t>(l4Length);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  frame[field] = static_cast<std::byte>(sum >> 8);
  frame[field + 1] = static_cast<std::byte>(sum & 0xff);
  offload.checksumStart = layout.l4Offset;
  offload.checksumOffset = fieldOffset;
}

}  // namespace ndishost::host
