// Per-frame offload information, in a neutral form between Linux's virtio_net_hdr (what a
// TAP opened with IFF_VNET_HDR puts in front of each frame) and NDIS's per-NBL info
// (NET_BUFFER_LIST_INFO TcpIpChecksumNetBufferListInfo / TcpLargeSendNetBufferListInfo),
// which the TAP binding fills from it. No WDK types here: the binding does that mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace ndishost::host {

enum class L3Protocol : std::uint8_t { Other, IPv4, IPv6 };
enum class L4Protocol : std::uint8_t { Other, Tcp, Udp };

// Frames from Linux (read from the TAP): what the stack left for the NIC to do.
struct TransmitOffload {
  // The L4 checksum is partial (pseudo-header sum only): the NIC must finish it.
  bool checksumNeeded = false;
  std::uint16_t checksumStart = 0;   // offset of the L4 header from the frame start
  std::uint16_t checksumOffset = 0;  // offset of the checksum field within it
  // Large send: the NIC must cut the payload into segmentSize-byte segments.
  enum class Segmentation : std::uint8_t { None, TcpV4, TcpV6, Udp } segmentation = Segmentation::None;
  std::uint16_t segmentSize = 0;   // MSS
  std::uint16_t headerLength = 0;  // Ethernet+IP+L4 headers (a hint; may be 0)
  bool ecn = false;
};

// Frames to Linux (written to the TAP): what the NIC already verified.
struct ReceiveOffload {
  bool checksumVerified = false;  // NDIS said the TCP/UDP (and IP) checksums succeeded
  // Set by markChecksumVerified: where the L4 checksum field is. Linux's TAP ignores
  // VIRTIO_NET_HDR_F_DATA_VALID on frames written to it (the flag is only honoured in the
  // other direction, by virtio-net), so a verified frame also goes up as a partial checksum
  // (VIRTIO_NET_HDR_F_NEEDS_CSUM, CHECKSUM_PARTIAL), which Linux takes as verified on local
  // delivery and finishes correctly when it forwards the frame.
  std::uint16_t checksumStart = 0;  // 0: DATA_VALID only
  std::uint16_t checksumOffset = 0;
};

// Prepares a frame the NIC verified for the TAP: for IPv4/IPv6 TCP and UDP (checksum not 0)
// the L4 checksum field is rewritten to the pseudo-header sum (as Linux's own partial
// checksums have it) and the field's place is noted in `offload`. Other frames are left as
// they are. IP lengths, not the frame length, give the L4 length (Ethernet padding).
void markChecksumVerified(std::span<std::byte> frame, ReceiveOffload& offload);

// What the binding needs to fill NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO.Transmit and
// NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO: protocols and the L4 header offset,
// found by parsing the frame (an optional 802.1Q tag, IPv4 options, IPv6 without
// extension headers).
struct FrameLayout {
  L3Protocol l3 = L3Protocol::Other;
  L4Protocol l4 = L4Protocol::Other;
  std::uint16_t l3Offset = 0;
  std::uint16_t l4Offset = 0;
};
FrameLayout parseFrameLayout(std::span<const std::byte> frame);

// Finishes a partial checksum the way virtio asks the device to: the one's complement sum
// from checksumStart to the end of the frame (the field holds the pseudo-header sum),
// stored at checksumStart + checksumOffset (0 is sent as 0xffff). False when the offsets
// lie outside the frame.
bool completeChecksum(std::span<std::byte> frame, std::uint16_t checksumStart, std::uint16_t checksumOffset);

// The virtio_net_hdr of IFF_VNET_HDR (10 bytes, little-endian as TUNSETVNETLE/ virtio 1.0
// and x86 make it; this host only runs little-endian).
inline constexpr std::size_t kVnetHeaderSize = 10;

// Decodes the header the TAP put in front of a frame. Returns nothing for a header this
// code does not understand (unknown GSO type): the caller drops and counts the frame
// rather than send something half-offloaded.
std::optional<TransmitOffload> decodeVnetHeader(std::span<const std::byte, kVnetHeaderSize> header);

// Encodes the header in front of a frame written to the TAP.
void encodeVnetHeader(const ReceiveOffload& offload, std::span<std::byte, kVnetHeaderSize> header);

}  // namespace ndishost::host
