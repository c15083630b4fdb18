#include "host/tap/frame_offload.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace ndishost::host {
namespace {

std::array<std::byte, kVnetHeaderSize> header(std::initializer_list<int> bytes) {
  std::array<std::byte, kVnetHeaderSize> h{};
  std::size_t i = 0;
  for (int b : bytes) h[i++] = static_cast<std::byte>(b);
  return h;
}

TEST(HostFrameOffload, DecodesChecksumAndTcpSegmentation) {
  // NEEDS_CSUM, GSO TCPV4, hdr_len 66, gso_size 1448, csum_start 34, csum_offset 16
  const auto decoded = decodeVnetHeader(header({1, 1, 66, 0, 0xa8, 0x05, 34, 0, 16, 0}));
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->checksumNeeded);
  EXPECT_EQ(decoded->segmentation, TransmitOffload::Segmentation::TcpV4);
  EXPECT_EQ(decoded->segmentSize, 1448);
  EXPECT_EQ(decoded->headerLength, 66);
  EXPECT_EQ(decoded->checksumStart, 34);
  EXPECT_EQ(decoded->checksumOffset, 16);
  EXPECT_FALSE(decoded->ecn);

  const auto v6ecn = decodeVnetHeader(header({1, 0x84, 0, 0, 0x94, 0x05, 54, 0, 16, 0}));
  ASSERT_TRUE(v6ecn);
  EXPECT_EQ(v6ecn->segmentation, TransmitOffload::Segmentation::TcpV6);
  EXPECT_TRUE(v6ecn->ecn);
}

TEST(HostFrameOffload, RejectsUnknownGsoAndSegmentationWithoutMss) {
  EXPECT_FALSE(decodeVnetHeader(header({1, 5, 0, 0, 0xa8, 0x05, 34, 0, 16, 0})));  // GSO_UDP_L4 (5): not ours
  EXPECT_FALSE(decodeVnetHeader(header({1, 1, 0, 0, 0, 0, 34, 0, 16, 0})));        // TCPV4 without gso_size
  EXPECT_TRUE(decodeVnetHeader(header({0, 0, 0, 0, 0, 0, 0, 0, 0, 0})));
}

TEST(HostFrameOffload, EncodesDataValid) {
  std::array<std::byte, kVnetHeaderSize> h;
  h.fill(std::byte{0xee});
  encodeVnetHeader({.checksumVerified = true}, h);
  EXPECT_EQ(h, header({2, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  encodeVnetHeader({.checksumVerified = false}, h);
  EXPECT_EQ(h, header({0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(HostFrameOffload, ParsesIpv4WithOptionsVlanAndIpv6) {
  std::vector<std::byte> v4(80);
  v4[12] = std::byte{0x08};
  v4[14] = std::byte{0x46};  // IHL 6: 24-byte header
  v4[23] = std::byte{6};
  auto layout = parseFrameLayout(v4);
  EXPECT_EQ(layout.l3, L3Protocol::IPv4);
  EXPECT_EQ(layout.l4, L4Protocol::Tcp);
  EXPECT_EQ(layout.l3Offset, 14);
  EXPECT_EQ(layout.l4Offset, 38);

  std::vector<std::byte> tagged(100);
  tagged[12] = std::byte{0x81};
  tagged[16] = std::byte{0x86};
  tagged[17] = std::byte{0xdd};
  tagged[18] = std::byte{0x60};
  tagged[24] = std::byte{17};
  layout = parseFrameLayout(tagged);
  EXPECT_EQ(layout.l3, L3Protocol::IPv6);
  EXPECT_EQ(layout.l4, L4Protocol::Udp);
  EXPECT_EQ(layout.l3Offset, 18);
  EXPECT_EQ(layout.l4Offset, 58);

  std::vector<std::byte> arp(60);
  arp[12] = std::byte{0x08};
  arp[13] = std::byte{0x06};
  EXPECT_EQ(parseFrameLayout(arp).l3, L3Protocol::Other);
  EXPECT_EQ(parseFrameLayout(std::span(v4).first(20)).l3, L3Protocol::Other);  // truncated IPv4 header
}

}  // namespace
}  // namespace ndishost::host

namespace ndishost::host {
namespace {

// Ethernet + IPv4 10.0.0.1 -> 10.0.0.2 + UDP 1000 -> 2000 with 4 payload bytes, checksum as given.
std::vector<std::byte> udp4Frame(std::uint16_t checksum) {
  std::vector<std::byte> f(14 + 20 + 8 + 4 + 14);  // Ethernet padding after the datagram
  const int bytes[] = {0x08, 0x00, 0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
                       0x03, 0xe8, 0x07, 0xd0, 0, 12, checksum >> 8, checksum & 0xff, 'a', 'b', 'c', 'd'};
  for (std::size_t i = 0; i < std::size(bytes); ++i) f[12 + i] = static_cast<std::byte>(bytes[i]);
  return f;
}

std::uint16_t at16(const std::vector<std::byte>& f, std::size_t at) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(f[at]) << 8) | std::to_integer<unsigned>(f[at + 1]));
}

// The UDP checksum over pseudo-header + datagram, computed independently.
std::uint16_t udpChecksumOf(std::vector<std::byte> f) {
  f[40] = f[41] = std::byte{0};
  std::uint32_t sum = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 12;
  for (std::size_t i = 34; i < 46; i += 2) sum += at16(f, i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

TEST(HostFrameOffload, CompletesAPartialChecksumInSoftware) {
  // Linux's partial checksum: the pseudo-header sum (with the length) in the field.
  auto frame = udp4Frame(0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 12);
  frame.resize(46);  // the datagram only: virtio sums to the end of the frame
  const std::uint16_t expected = udpChecksumOf(frame);
  ASSERT_TRUE(completeChecksum(frame, 34, 6));
  EXPECT_EQ(at16(frame, 40), expected);
  EXPECT_FALSE(completeChecksum(frame, 44, 6)) << "a field past the end";
}

TEST(HostFrameOffload, VerifiedFramesGoUpAsPartialChecksums) {
  auto frame = udp4Frame(0x1234);  // wrong on purpose: the NIC's verdict is what counts
  ReceiveOffload offload{.checksumVerified = true};
  markChecksumVerified(frame, offload);
  EXPECT_EQ(offload.checksumStart, 34);
  EXPECT_EQ(offload.checksumOffset, 6);
  // The pseudo-header sum with the UDP length from the IP header, not the padded frame.
  EXPECT_EQ(at16(frame, 40), 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 12);
  std::array<std::byte, kVnetHeaderSize> h;
  encodeVnetHeader(offload, h);
  EXPECT_EQ(h, header({3, 0, 0, 0, 0, 0, 34, 0, 6, 0}));  // NEEDS_CSUM | DATA_VALID

  auto noChecksum = udp4Frame(0);  // IPv4 UDP without a checksum stays so
  ReceiveOffload plain{.checksumVerified = true};
  markChecksumVerified(noChecksum, plain);
  EXPECT_EQ(plain.checksumStart, 0);
  EXPECT_EQ(noChecksum, udp4Frame(0));
  ReceiveOffload notVerified;
  auto untouched = udp4Frame(0x1234);
  markChecksumVerified(untouched, notVerified);
  EXPECT_EQ(untouched, udp4Frame(0x1234));
}

}  // namespace
}  // namespace ndishost::host
