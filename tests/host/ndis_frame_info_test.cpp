#include "host/binding/ndis_frame_info.hpp"

#include <linux/if.h>

#include <gtest/gtest.h>

#include <vector>

namespace ndishost::host::binding {
namespace {

// Ethernet + IPv4 (10.0.0.1 -> 10.0.0.2, total length 1500) + TCP with checksum 0xbeef.
std::vector<std::byte> tcp4Frame() {
  std::vector<std::byte> frame(14 + 20 + 20 + 100);
  auto set = [&](std::size_t at, std::initializer_list<int> bytes) {
    for (int b : bytes) frame[at++] = static_cast<std::byte>(b);
  };
  set(12, {0x08, 0x00});
  set(14, {0x45, 0, 0x05, 0xdc, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2});
  set(34 + 16, {0xbe, 0xef});
  return frame;
}

TEST(HostNdisFrameInfo, ChecksumOffloadBecomesTransmitInfo) {
  auto frame = tcp4Frame();
  SendInfo info;
  ASSERT_TRUE(sendInfoFor({.checksumNeeded = true, .checksumStart = 34, .checksumOffset = 16}, frame, info));
  EXPECT_EQ(info.checksum.Transmit.IsIPv4, 1u);
  EXPECT_EQ(info.checksum.Transmit.IsIPv6, 0u);
  EXPECT_EQ(info.checksum.Transmit.TcpChecksum, 1u);
  EXPECT_EQ(info.checksum.Transmit.UdpChecksum, 0u);
  EXPECT_EQ(info.checksum.Transmit.IpHeaderChecksum, 0u) << "Linux computes the IP header checksum itself";
  EXPECT_EQ(info.checksum.Transmit.TcpHeaderOffset, 34u);
  EXPECT_EQ(info.largeSend.Value, nullptr);
  EXPECT_EQ(frame, tcp4Frame()) << "checksum offload alone leaves the frame as it is";
}

TEST(HostNdisFrameInfo, LargeSendBecomesLsoV2WithNdisHeaders) {
  auto frame = tcp4Frame();
  SendInfo info;
  ASSERT_TRUE(sendInfoFor({.checksumNeeded = true,
                           .checksumStart = 34,
                           .checksumOffset = 16,
                           .segmentation = TransmitOffload::Segmentation::TcpV4,
                           .segmentSize = 1448,
                           .headerLength = 54,
                           .ecn = false},
                          frame, info));
  EXPECT_EQ(info.largeSend.LsoV2Transmit.Type, unsigned{NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE});
  EXPECT_EQ(info.largeSend.LsoV2Transmit.IPVersion, unsigned{NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4});
  EXPECT_EQ(info.largeSend.LsoV2Transmit.MSS, 1448u);
  EXPECT_EQ(info.largeSend.LsoV2Transmit.TcpHeaderOffset, 34u);
  EXPECT_EQ(frame[16], std::byte{0});  // IPv4 total length 0
  EXPECT_EQ(frame[17], std::byte{0});
  // 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 = 0x1409: addresses and protocol, no length.
  EXPECT_EQ(frame[50], std::byte{0x14});
  EXPECT_EQ(frame[51], std::byte{0x09});
}

TEST(HostNdisFrameInfo, RefusesWhatNdisCannotExpress) {
  auto frame = tcp4Frame();
  SendInfo info;
  EXPECT_FALSE(sendInfoFor({.checksumNeeded = true, .checksumStart = 30, .checksumOffset = 16}, frame, info))
      << "checksum start not at the TCP header";
  EXPECT_FALSE(sendInfoFor({.checksumNeeded = true,
                            .checksumStart = 34,
                            .checksumOffset = 16,
                            .segmentation = TransmitOffload::Segmentation::Udp,
                            .segmentSize = 1400,
                            .headerLength = 0,
                            .ecn = false},
                           frame, info));
  EXPECT_FALSE(sendInfoFor({.checksumNeeded = true,
                            .checksumStart = 34,
                            .checksumOffset = 16,
                            .segmentation = TransmitOffload::Segmentation::TcpV6,
                            .segmentSize = 1400,
                            .headerLength = 0,
                            .ecn = false},
                           frame, info))
      << "TCPv6 segmentation of an IPv4 frame";
  std::vector<std::byte> arp(60);
  arp[12] = std::byte{0x08};
  arp[13] = std::byte{0x06};
  EXPECT_FALSE(sendInfoFor({.checksumNeeded = true, .checksumStart = 14, .checksumOffset = 6}, arp, info));
  EXPECT_TRUE(sendInfoFor({}, arp, info)) << "no offload asked: nothing to express";
}

TEST(HostNdisFrameInfo, ReceiveChecksumResultsMapToDataValid) {
  NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO checksum{};
  EXPECT_FALSE(receiveOffloadFor(checksum).checksumVerified);
  checksum.Receive.TcpChecksumSucceeded = 1;
  checksum.Receive.IpChecksumSucceeded = 1;
  EXPECT_TRUE(receiveOffloadFor(checksum).checksumVerified);
  checksum.Receive.IpChecksumFailed = 1;
  EXPECT_FALSE(receiveOffloadFor(checksum).checksumVerified);
}

TEST(HostNdisFrameInfo, InterfaceStateBecomesPacketFilterAndMulticastList) {
  LinkSnapshot snapshot{.exists = true, .flags = IFF_UP, .mtu = 1500, .multicast = {}};
  EXPECT_EQ(receiveSettingsFor(snapshot, 32).packetFilter, ULONG{NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST});

  snapshot.multicast = {{0x01, 0x00, 0x5e, 0, 0, 1}, {0x33, 0x33, 0, 0, 0, 1}};
  auto settings = receiveSettingsFor(snapshot, 32);
  EXPECT_EQ(settings.packetFilter, ULONG{NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST | NDIS_PACKET_TYPE_MULTICAST});
  EXPECT_EQ(settings.multicastList, (std::vector<UCHAR>{0x01, 0x00, 0x5e, 0, 0, 1, 0x33, 0x33, 0, 0, 0, 1}));

  settings = receiveSettingsFor(snapshot, 1);
  EXPECT_EQ(settings.packetFilter, ULONG{NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST | NDIS_PACKET_TYPE_ALL_MULTICAST})
      << "more groups than the adapter's list holds: all-multicast";
  EXPECT_TRUE(settings.multicastList.empty());

  snapshot.flags = IFF_UP | IFF_PROMISC | IFF_ALLMULTI;
  settings = receiveSettingsFor(snapshot, 32);
  EXPECT_EQ(settings.packetFilter & (NDIS_PACKET_TYPE_PROMISCUOUS | NDIS_PACKET_TYPE_ALL_MULTICAST),
            ULONG{NDIS_PACKET_TYPE_PROMISCUOUS | NDIS_PACKET_TYPE_ALL_MULTICAST});

  snapshot.flags = 0;
  EXPECT_EQ(receiveSettingsFor(snapshot, 32).packetFilter, 0u) << "a down interface receives nothing";
}

}  // namespace
}  // namespace ndishost::host::binding
