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

namespace ndishost::host::binding {
namespace {

NDIS_OFFLOAD fullOffload() {
  NDIS_OFFLOAD o{};
  o.Header.Type = NDIS_OBJECT_TYPE_OFFLOAD;
  o.Header.Revision = NDIS_OFFLOAD_REVISION_1;
  o.Header.Size = NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1;
  o.Checksum.IPv4Transmit.Encapsulation = NDIS_ENCAPSULATION_IEEE_802_3;
  o.Checksum.IPv4Transmit.TcpChecksum = NDIS_OFFLOAD_SUPPORTED;
  o.Checksum.IPv4Transmit.UdpChecksum = NDIS_OFFLOAD_SUPPORTED;
  o.Checksum.IPv4Transmit.TcpOptionsSupported = NDIS_OFFLOAD_SUPPORTED;
  o.Checksum.IPv4Transmit.IpOptionsSupported = NDIS_OFFLOAD_SUPPORTED;
  o.LsoV2.IPv4.Encapsulation = NDIS_ENCAPSULATION_IEEE_802_3;
  o.LsoV2.IPv4.MaxOffLoadSize = 65535;
  o.LsoV2.IPv4.MinSegmentCount = 2;
  return o;
}

TEST(HostNdisFrameInfo, AdapterOffloadsFromTheOffloadConfiguration) {
  EXPECT_FALSE(adapterOffloadsFrom(nullptr).any());
  NDIS_OFFLOAD o = fullOffload();
  AdapterOffloads a = adapterOffloadsFrom(&o);
  EXPECT_TRUE(a.checksumTcp4 && a.checksumUdp4 && a.largeSend4);
  EXPECT_FALSE(a.checksumTcp6 || a.largeSend6);
  TapOffloads tap = tapOffloadsFor(a);
  EXPECT_TRUE(tap.checksum && tap.tcp4);
  EXPECT_FALSE(tap.tcp6);

  NDIS_OFFLOAD small = o;
  small.LsoV2.IPv4.MaxOffLoadSize = 64000;  // less than Linux hands a TSO TAP: LSO left unused
  EXPECT_FALSE(adapterOffloadsFrom(&small).largeSend4);
  NDIS_OFFLOAD lsoOnly{};
  lsoOnly.Header = o.Header;
  lsoOnly.LsoV2 = o.LsoV2;
  tap = tapOffloadsFor(adapterOffloadsFrom(&lsoOnly));
  EXPECT_TRUE(tap.checksum) << "TSO needs TUN_F_CSUM; the binding finishes the checksums itself";
  EXPECT_TRUE(tap.tcp4);
  NDIS_OFFLOAD notEthernet = o;
  notEthernet.Checksum.IPv4Transmit.Encapsulation = NDIS_ENCAPSULATION_NULL;
  notEthernet.LsoV2.IPv4.Encapsulation = NDIS_ENCAPSULATION_NULL;
  EXPECT_FALSE(adapterOffloadsFrom(&notEthernet).any());
  NDIS_OFFLOAD badHeader = o;
  badHeader.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  EXPECT_FALSE(adapterOffloadsFrom(&badHeader).any());
}

TEST(HostNdisFrameInfo, PrepareSendOffloadsFinishesInSoftwareOrDrops) {
  NDIS_OFFLOAD o = fullOffload();
  const AdapterOffloads adapter = adapterOffloadsFrom(&o);
  SendInfo info;
  auto frame = tcp4Frame();
  EXPECT_EQ(prepareSend({}, adapter, frame, info), SendDisposition::Plain);

  const TransmitOffload checksum{.checksumNeeded = true, .checksumStart = 34, .checksumOffset = 16};
  EXPECT_EQ(prepareSend(checksum, adapter, frame, info), SendDisposition::Offloaded);
  EXPECT_EQ(info.checksum.Transmit.TcpChecksum, 1u);
  EXPECT_EQ(info.checksum.Transmit.TcpHeaderOffset, 34u);

  // An adapter without TCP checksum offload: the binding computes it.
  AdapterOffloads noTcp = adapter;
  noTcp.checksumTcp4 = false;
  frame = tcp4Frame();
  frame.resize(14 + 20 + 20);
  frame[16] = std::byte{0};
  frame[17] = std::byte{40};
  EXPECT_EQ(prepareSend(checksum, noTcp, frame, info), SendDisposition::SoftwareChecksum);
  EXPECT_EQ(info.checksum.Value, nullptr);
  EXPECT_NE(frame, tcp4Frame()) << "the checksum field was written";

  // A large send of 100 payload bytes in 40-byte segments (3 segments): LSOv2 info only.
  TransmitOffload large = checksum;
  large.segmentation = TransmitOffload::Segmentation::TcpV4;
  large.segmentSize = 40;
  frame = tcp4Frame();
  frame[14 + 20 + 12] = std::byte{0x50};  // TCP header length 20
  EXPECT_EQ(prepareSend(large, adapter, frame, info), SendDisposition::Offloaded);
  EXPECT_EQ(info.largeSend.LsoV2Transmit.MSS, 40u);
  EXPECT_EQ(info.checksum.Value, nullptr) << "the miniport computes each segment's checksums";
  // The adapter cannot take it (no LSOv2 for IPv4): dropped, not sent half-offloaded.
  AdapterOffloads noLso = adapter;
  noLso.largeSend4 = false;
  frame = tcp4Frame();
  frame[14 + 20 + 12] = std::byte{0x50};
  EXPECT_EQ(prepareSend(large, noLso, frame, info), SendDisposition::Drop);
  // A "large send" of one segment is an ordinary frame with a checksum to finish.
  large.segmentSize = 1400;
  frame = tcp4Frame();
  frame[14 + 20 + 12] = std::byte{0x50};
  EXPECT_EQ(prepareSend(large, noLso, frame, info), SendDisposition::Offloaded);
  EXPECT_EQ(info.largeSend.Value, nullptr);
  EXPECT_EQ(info.checksum.Transmit.TcpChecksum, 1u);
}

}  // namespace
}  // namespace ndishost::host::binding
