// The three network functions end to end: a host (this test) enumerates the emulated
// device, drives its class requests and bulk/interrupt endpoints, while a fake network port
// records frames sent to the network and injects frames from it.
#include <gtest/gtest.h>

#include "test_support.hpp"
#include "usb/device/cdc.hpp"
#include "usb/device/cdc_ecm_function.hpp"
#include "usb/device/cdc_ncm_function.hpp"
#include "usb/device/emulated_device.hpp"
#include "usb/device/rndis_function.hpp"

using namespace ndishost::usb::device;
using namespace ndishost::usb::device::test;

namespace {

constexpr std::uint8_t NotifyEp = 0x81;
constexpr std::uint8_t BulkIn = 0x82;
constexpr std::uint8_t BulkOut = 0x03;

template <class Function, class Config>
struct Rig {
  explicit Rig(Config config = {}, Speed speed = Speed::High) {
    config.ethernet.macAddress = HostMac;
    auto f = std::make_unique<Function>(config, port);
    fn = f.get();
    device = std::make_unique<EmulatedUsbDevice>(DeviceIdentity{}, speed, std::move(f));
  }
  Bytes configuration() { return getDescriptor(*device, descriptor_type::Configuration, 0); }

  FakeFramePort port;
  Function* fn;
  std::unique_ptr<EmulatedUsbDevice> device;
};

using EcmRig = Rig<CdcEcmFunction, CdcEcmConfig>;
using NcmRig = Rig<CdcNcmFunction, CdcNcmConfig>;
using RndisRig = Rig<RndisFunction, RndisConfig>;

// Finds the class-specific descriptor with `subtype` in an alternate setting.
std::span<const std::byte> functional(const ParsedAlternateSetting& alt, std::uint8_t subtype) {
  for (auto d : alt.classDescriptors)
    if (d.size() >= 3 && readU8(d, 1) == descriptor_type::CsInterface && readU8(d, 2) == subtype)
      return d;
  return {};
}

void expectCdcUnion(const ParsedConfiguration& config, std::uint8_t control, std::uint8_t data) {
  const ParsedAlternateSetting* comm = config.find(control, 0);
  ASSERT_TRUE(comm);
  auto u = functional(*comm, cdc_descriptor_subtype::Union);
  ASSERT_EQ(u.size(), 5u);
  EXPECT_EQ(readU8(u, 3), control);
  EXPECT_EQ(readU8(u, 4), data);
  EXPECT_TRUE(config.find(data, 0)) << "the subordinate interface exists";
  auto header = functional(*comm, cdc_descriptor_subtype::Header);
  ASSERT_EQ(header.size(), 5u);
  EXPECT_EQ(&header.front(), &comm->classDescriptors.front().front()) << "header comes first";
}

std::uint16_t wordAt(const Bytes& b, std::size_t offset) { return readLe16(b, offset); }

Bytes readNotification(UsbDevice& device, std::size_t capacity = 16) {
  InResult r = readIn(device, NotifyEp, capacity, 2s);
  EXPECT_TRUE(r.completed) << "expected a notification";
  return r.data;
}

// ---- CDC-ECM ----------------------------------------------------------------------------------

void startEcm(EcmRig& rig) {
  ASSERT_TRUE(setConfiguration(*rig.device, 1));
  ASSERT_TRUE(setInterface(*rig.device, 1, 1));
  Bytes speed = readNotification(*rig.device);
  ASSERT_EQ(speed.size(), 16u);
  EXPECT_EQ(readU8(speed, 1), cdc_notification::ConnectionSpeedChange);
  Bytes connection = readNotification(*rig.device);
  ASSERT_EQ(connection.size(), 8u);
  EXPECT_EQ(readU8(connection, 1), cdc_notification::NetworkConnection);
  EXPECT_EQ(wordAt(connection, 2), 1);
}

}  // namespace

TEST(CdcEcm, DescriptorsParseBackConsistently) {
  EcmRig rig;
  Bytes config = rig.configuration();
  auto parsed = parseConfigurationDescriptor(config);
  ASSERT_EQ(parsed.error, DescriptorError::None) << toString(parsed.error);
  const auto& c = parsed.configuration;
  EXPECT_EQ(c.fields.wTotalLength, config.size());
  EXPECT_EQ(c.fields.bNumInterfaces, 2);
  const ParsedAlternateSetting* comm = c.find(0, 0);
  ASSERT_TRUE(comm);
  EXPECT_EQ(comm->fields.bInterfaceClass, 0x02);
  EXPECT_EQ(comm->fields.bInterfaceSubClass, 0x06);
  ASSERT_EQ(comm->endpoints.size(), 1u);
  EXPECT_EQ(comm->endpoints[0].type(), EndpointType::Interrupt);
  EXPECT_EQ(comm->endpoints[0].fields.bEndpointAddress, NotifyEp);
  expectCdcUnion(c, 0, 1);
  auto ethernet = functional(*comm, cdc_descriptor_subtype::EthernetNetworking);
  ASSERT_EQ(ethernet.size(), 13u);
  EXPECT_EQ(readLe16(ethernet, 8), 1514) << "wMaxSegmentSize";
  EXPECT_EQ(readLe16(ethernet, 10), 32) << "wNumberMCFilters";
  auto mac = parseStringDescriptor(getDescriptor(*rig.device, descriptor_type::String, readU8(ethernet, 3)));
  ASSERT_TRUE(mac);
  EXPECT_EQ(*mac, u"02005E100001");
  ASSERT_TRUE(c.find(1, 0));
  EXPECT_EQ(c.find(1, 0)->endpoints.size(), 0u);
  ASSERT_TRUE(c.find(1, 1));
  EXPECT_EQ(c.find(1, 1)->fields.bInterfaceClass, 0x0A);
  ASSERT_EQ(c.find(1, 1)->endpoints.size(), 2u);
  EXPECT_EQ(c.find(1, 1)->endpoints[0].fields.wMaxPacketSize, 512);
  auto device = parseDeviceDescriptor(getDescriptor(*rig.device, descriptor_type::Device, 0));
  ASSERT_TRUE(device);
  EXPECT_EQ(device->bDeviceClass, 0x02);

  CdcEcmConfig withIad;
  withIad.interfaceAssociation = true;
  EcmRig iadRig(withIad, Speed::Full);
  const Bytes iadConfig = iadRig.configuration();
  auto iadParsed = parseConfigurationDescriptor(iadConfig);
  ASSERT_EQ(iadParsed.error, DescriptorError::None);
  ASSERT_EQ(iadParsed.configuration.associations.size(), 1u);
  EXPECT_EQ(iadParsed.configuration.associations[0].bInterfaceCount, 2);
  EXPECT_EQ(iadParsed.configuration.find(1, 1)->endpoints[0].fields.wMaxPacketSize, 64);
}

TEST(CdcEcm, FramesFlowBothWays) {
  EcmRig rig;
  startEcm(rig);
  Bytes toNetwork = makeFrame(60, PeerMac);
  EXPECT_EQ(writeOut(*rig.device, BulkOut, toNetwork), TransferStatus::Success);
  ASSERT_TRUE(rig.port.waitForSent(1));
  EXPECT_EQ(rig.port.sent()[0], toNetwork);

  for (std::size_t size : {14u, 60u, 511u, 512u, 513u, 1024u, 1514u}) {
    Bytes fromNetwork = makeFrame(size, HostMac, static_cast<unsigned>(size));
    ASSERT_TRUE(rig.port.deliver(fromNetwork));
    InResult r = readIn(*rig.device, BulkIn, 2048);
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(r.data, fromNetwork) << size;
  }
  auto counters = rig.fn->ethernetCounters();
  EXPECT_EQ(counters.fromHostFrames, 1u);
  EXPECT_EQ(counters.toHostFrames, 7u);
}

TEST(CdcEcm, HostFrameOnAPacketBoundaryNeedsAZlp) {
  EcmRig rig;
  startEcm(rig);
  Bytes frame = makeFrame(512, PeerMac);
  writeOut(*rig.device, BulkOut, frame);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(rig.port.sentCount(), 0u) << "the device is still waiting for the end of the frame";
  writeOut(*rig.device, BulkOut, {});
  ASSERT_TRUE(rig.port.waitForSent(1));
  EXPECT_EQ(rig.port.sent()[0], frame);
  writeOut(*rig.device, BulkOut, frame, true);
  ASSERT_TRUE(rig.port.waitForSent(2));
}

TEST(CdcEcm, BadFramesFromTheHostAreCounted) {
  EcmRig rig;
  startEcm(rig);
  writeOut(*rig.device, BulkOut, makeFrame(10));
  writeOut(*rig.device, BulkOut, makeFrame(1600));
  writeOut(*rig.device, BulkOut, makeFrame(60));
  ASSERT_TRUE(rig.port.waitForSent(1));
  auto ecm = rig.fn->ecmCounters();
  EXPECT_EQ(ecm.runts, 1u);
  EXPECT_EQ(ecm.oversize, 1u);
  EXPECT_EQ(rig.fn->ethernetCounters().fromHostMalformed, 2u);
}

TEST(CdcEcm, PacketFilterDecidesWhatReachesTheHost) {
  EcmRig rig;
  startEcm(rig);
  auto deliverAndRead = [&](const MacAddress& destination) {
    Bytes frame = makeFrame(80, destination, 42);
    rig.port.deliver(frame);
    InResult r = readIn(*rig.device, BulkIn, 2048, 100ms);
    return r.completed && r.data == frame;
  };
  auto setFilter = [&](std::uint16_t bits) {
    return controlNoData(*rig.device, ClassInterfaceOut, cdc_request::SetEthernetPacketFilter, bits, 0)
        .succeeded();
  };
  // Default after configuration: directed, broadcast, all multicast.
  EXPECT_TRUE(deliverAndRead(HostMac));
  EXPECT_TRUE(deliverAndRead(BroadcastAddress));
  EXPECT_TRUE(deliverAndRead(GroupMac));
  EXPECT_FALSE(deliverAndRead(OtherMac));

  ASSERT_TRUE(setFilter(cdc_packet_type::Directed));
  EXPECT_FALSE(deliverAndRead(BroadcastAddress));
  EXPECT_FALSE(deliverAndRead(GroupMac));
  EXPECT_TRUE(deliverAndRead(HostMac));

  // Multicast through the perfect filter only.
  Bytes list(6);
  GroupMac.toBytes(list);
  ASSERT_TRUE(control(*rig.device, ClassInterfaceOut, cdc_request::SetEthernetMulticastFilters, 1, 0, list)
                  .succeeded());
  ASSERT_TRUE(setFilter(cdc_packet_type::Directed | cdc_packet_type::Multicast));
  EXPECT_TRUE(deliverAndRead(GroupMac));
  EXPECT_FALSE(deliverAndRead(OtherGroupMac));

  ASSERT_TRUE(setFilter(cdc_packet_type::Promiscuous));
  EXPECT_TRUE(deliverAndRead(OtherMac));
  EXPECT_TRUE(deliverAndRead(OtherGroupMac));

  ASSERT_TRUE(setFilter(0));
  EXPECT_FALSE(deliverAndRead(HostMac));
  EXPECT_EQ(rig.fn->ethernetCounters().receive.filtered, 5u);
}

TEST(CdcEcm, BadClassRequestStallsThenTheDeviceRecovers) {
  EcmRig rig;
  startEcm(rig);
  Bytes junk(2);
  EXPECT_EQ(control(*rig.device, ClassInterfaceOut, cdc_request::SetEthernetPacketFilter, 0x0C, 0, junk).status,
            TransferStatus::Stall) << "wLength must be 0";
  EXPECT_EQ(controlNoData(*rig.device, ClassInterfaceOut, cdc_request::SetEthernetPacketFilter, 0x40, 0).status,
            TransferStatus::Stall) << "reserved filter bit";
  EXPECT_EQ(controlNoData(*rig.device, ClassInterfaceOut, cdc_request::SetEthernetPacketFilter, 0x0C, 1).status,
            TransferStatus::Stall) << "sent to the data interface";
  Bytes tooMany(6 * 33);
  EXPECT_EQ(control(*rig.device, ClassInterfaceOut, cdc_request::SetEthernetMulticastFilters, 33, 0, tooMany).status,
            TransferStatus::Stall);
  Bytes unicast(6);
  HostMac.toBytes(unicast);
  EXPECT_EQ(control(*rig.device, ClassInterfaceOut, cdc_request::SetEthernetMulticastFilters, 1, 0, unicast).status,
            TransferStatus::Stall);
  EXPECT_EQ(controlNoData(*rig.device, ClassInterfaceOut, cdc_request::GetNtbParameters, 0, 0).status,
            TransferStatus::Stall) << "an NCM request to an ECM function";
  // The endpoint halt path recovers with CLEAR_FEATURE.
  ASSERT_TRUE(controlNoData(*rig.device, 0x02, standard_request::SetFeature, feature_selector::EndpointHalt, BulkIn)
                  .succeeded());
  EXPECT_EQ(readIn(*rig.device, BulkIn, 2048, 200ms).status, TransferStatus::Stall);
  ASSERT_TRUE(controlNoData(*rig.device, 0x02, standard_request::ClearFeature, feature_selector::EndpointHalt, BulkIn)
                  .succeeded());
  ASSERT_TRUE(controlNoData(*rig.device, ClassInterfaceOut, cdc_request::SetEthernetPacketFilter, 0x0C, 0).succeeded());
  Bytes frame = makeFrame(100);
  rig.port.deliver(frame);
  EXPECT_EQ(readIn(*rig.device, BulkIn, 2048).data, frame);
}

TEST(CdcEcm, StatisticsAndLinkNotifications) {
  EcmRig rig;
  startEcm(rig);
  writeOut(*rig.device, BulkOut, makeFrame(60, PeerMac));
  writeOut(*rig.device, BulkOut, makeFrame(60, PeerMac));
  ASSERT_TRUE(rig.port.waitForSent(2));
  Bytes four(4);
  ASSERT_TRUE(control(*rig.device, ClassInterfaceIn, cdc_request::GetEthernetStatistic,
                      ethernet_statistic::XmitOk, 0, four).succeeded());
  EXPECT_EQ(readLe32(four, 0), 2u);
  EXPECT_FALSE(control(*rig.device, ClassInterfaceIn, cdc_request::GetEthernetStatistic, 9, 0, four).succeeded());

  rig.fn->setLinkUp(false);
  Bytes down = readNotification(*rig.device);
  ASSERT_EQ(down.size(), 8u);
  EXPECT_EQ(readU8(down, 0), ClassInterfaceIn);
  EXPECT_EQ(readU8(down, 1), cdc_notification::NetworkConnection);
  EXPECT_EQ(wordAt(down, 2), 0);
  EXPECT_EQ(wordAt(down, 4), 0) << "wIndex: the communication interface";
  // Link down: frames neither way.
  rig.port.deliver(makeFrame(60));
  writeOut(*rig.device, BulkOut, makeFrame(60, PeerMac));
  EXPECT_EQ(readIn(*rig.device, BulkIn, 2048, 50ms).completed, false);
  EXPECT_EQ(rig.port.sentCount(), 2u);

  rig.fn->setLinkSpeed(100'000'000);
  rig.fn->setLinkUp(true);
  Bytes speed = readNotification(*rig.device);
  ASSERT_EQ(speed.size(), 16u);
  EXPECT_EQ(readU8(speed, 1), cdc_notification::ConnectionSpeedChange);
  EXPECT_EQ(readLe32(speed, 8), 100'000'000u);
  EXPECT_EQ(readLe32(speed, 12), 100'000'000u);
  Bytes up = readNotification(*rig.device);
  EXPECT_EQ(wordAt(up, 2), 1);
}

TEST(CdcEcm, ReceiveQueueIsBoundedLikeHardware) {
  CdcEcmConfig config;
  config.ethernet.receiveQueueFrames = 4;
  config.ethernet.inFlightBatches = 1;
  EcmRig rig(config);
  startEcm(rig);
  for (int i = 0; i < 20; ++i) rig.port.deliver(makeFrame(60, HostMac, static_cast<unsigned>(i)));
  auto counters = rig.fn->ethernetCounters();
  // One frame sits in the single batch buffer, four in the queue; the rest are dropped.
  EXPECT_GE(counters.receive.noBuffer, 15u);
  int received = 0;
  while (readIn(*rig.device, BulkIn, 2048, 50ms).completed) ++received;
  EXPECT_EQ(static_cast<std::uint64_t>(received), 20 - rig.fn->ethernetCounters().receive.noBuffer);
}

// ---- CDC-NCM ----------------------------------------------------------------------------------

namespace {

void startNcm(NcmRig& rig, std::optional<NtbFormat> format = std::nullopt,
              std::optional<std::uint32_t> inputSize = std::nullopt) {
  ASSERT_TRUE(setConfiguration(*rig.device, 1));
  if (format) {
    ASSERT_TRUE(controlNoData(*rig.device, ClassInterfaceOut, cdc_request::SetNtbFormat,
                              static_cast<std::uint16_t>(*format), 0).succeeded());
  }
  if (inputSize) {
    Bytes size(8);
    writeLe32(size, 0, *inputSize);
    ASSERT_TRUE(control(*rig.device, ClassInterfaceOut, cdc_request::SetNtbInputSize, 0, 0, size).succeeded());
  }
  ASSERT_TRUE(setInterface(*rig.device, 1, 1));
  Bytes speed = readNotification(*rig.device);
  EXPECT_EQ(readU8(speed, 1), cdc_notification::ConnectionSpeedChange);
  Bytes connection = readNotification(*rig.device);
  EXPECT_EQ(readU8(connection, 1), cdc_notification::NetworkConnection);
}

// Batches close only when the host waits for one (or they are full): deterministic
// aggregation whatever the machine's speed.
CdcNcmConfig patientNcm() {
  CdcNcmConfig config;
  config.ethernet.batchFlushDelay = std::chrono::seconds(30);
  return config;
}

Bytes hostNtb(NtbFormat format, const std::vector<Bytes>& datagrams, std::size_t maxBlock,
              std::uint16_t sequence, std::uint16_t divisor = 4) {
  NtbBuildParameters p;
  p.format = format;
  p.maxBlockLength = maxBlock;
  p.divisor = divisor;
  Bytes block(maxBlock);
  std::vector<std::span<const std::byte>> views(datagrams.begin(), datagrams.end());
  auto length = buildNtb(block, views, p, sequence);
  EXPECT_TRUE(length.has_value());
  block.resize(length.value_or(0));
  return block;
}

std::vector<Bytes> datagramsOf(const Bytes& ntb, NtbFormat format, std::size_t maxBlock,
                               std::size_t maxDatagram = 9014) {
  std::array<std::span<const std::byte>, 1024> out;
  NtbLimits limits;
  limits.format = format;
  limits.maxBlockLength = maxBlock;
  limits.maxDatagramSize = maxDatagram;
  NtbParseResult r = parseNtb(ntb, limits, out);
  EXPECT_EQ(r.error, NtbError::None) << toString(r.error);
  std::vector<Bytes> result;
  for (std::size_t i = 0; i < r.datagramCount; ++i) result.emplace_back(out[i].begin(), out[i].end());
  return result;
}

}  // namespace

TEST(CdcNcm, DescriptorsParseBackConsistently) {
  NcmRig rig;
  const Bytes config = rig.configuration();  // the parse result views these bytes
  auto parsed = parseConfigurationDescriptor(config);
  ASSERT_EQ(parsed.error, DescriptorError::None);
  const auto& c = parsed.configuration;
  const ParsedAlternateSetting* comm = c.find(0, 0);
  ASSERT_TRUE(comm);
  EXPECT_EQ(comm->fields.bInterfaceSubClass, 0x0D);
  expectCdcUnion(c, 0, 1);
  auto ncm = functional(*comm, cdc_descriptor_subtype::Ncm);
  ASSERT_EQ(ncm.size(), 6u);
  EXPECT_EQ(readLe16(ncm, 3), 0x0100);
  const std::uint8_t caps = readU8(ncm, 5);
  EXPECT_EQ(caps & ncm_capability::CrcMode, 0) << "CRC mode not supported";
  EXPECT_NE(caps & ncm_capability::PacketFilter, 0);
  EXPECT_NE(caps & ncm_capability::MaxDatagramSize, 0);
  EXPECT_NE(caps & ncm_capability::NtbInputSize8Byte, 0);
  ASSERT_TRUE(c.find(1, 0));
  EXPECT_EQ(c.find(1, 0)->fields.bInterfaceProtocol, 0x01);
  EXPECT_EQ(c.find(1, 0)->fields.bNumEndpoints, 0);
  EXPECT_EQ(c.find(1, 1)->fields.bNumEndpoints, 2);
}

TEST(CdcNcm, NtbParametersFormatAndInputSize) {
  NcmRig rig;
  ASSERT_TRUE(setConfiguration(*rig.device, 1));
  Bytes params(28);
  ASSERT_TRUE(control(*rig.device, ClassInterfaceIn, cdc_request::GetNtbParameters, 0, 0, params).succeeded());
  NtbParameters p = NtbParameters::read(std::span<const std::byte, 28>(params.data(), 28));
  EXPECT_EQ(p.wLength, 28);
  EXPECT_EQ(p.bmNtbFormatsSupported, 3);
  EXPECT_EQ(p.dwNtbInMaxSize, 16384u);
  EXPECT_EQ(p.dwNtbOutMaxSize, 16384u);
  EXPECT_EQ(p.wNdpInDivisor, 4);
  EXPECT_EQ(p.wNdpOutAlignment, 4);
  EXPECT_EQ(p.wNtbOutMaxDatagrams, 64);
  Bytes head(8);
  ControlResult r = control(*rig.device, ClassInterfaceIn, cdc_request::GetNtbParameters, 0, 0, head);
  EXPECT_EQ(r.length, 8u) << "short wLength truncates";

  Bytes two(2);
  ASSERT_TRUE(control(*rig.device, ClassInterfaceIn, cdc_request::GetNtbFormat, 0, 0, two).succeeded());
  EXPECT_EQ(readLe16(two, 0), 0);
  ASSERT_TRUE(controlNoData(*rig.device, ClassInterfaceOut, cdc_request::SetNtbFormat, 1, 0).succeeded());
  ASSERT_TRUE(control(*rig.device, ClassInterfaceIn, cdc_request::GetNtbFormat, 0, 0, two).succeeded());
  EXPECT_EQ(readLe16(two, 0), 1);
  EXPECT_FALSE(controlNoData(*rig.device, ClassInterfaceOut, cdc_request::SetNtbFormat, 2, 0).succeeded());

  Bytes size(8);
  writeLe32(size, 0, 4096);
  writeLe16(size, 4, 10);
  ASSERT_TRUE(control(*rig.device, ClassInterfaceOut, cdc_request::SetNtbInputSize, 0, 0, size).succeeded());
  Bytes readBack(8);
  ASSERT_TRUE(control(*rig.device, ClassInterfaceIn, cdc_request::GetNtbInputSize, 0, 0, readBack).succeeded());
  EXPECT_EQ(readLe32(readBack, 0), 4096u);
  EXPECT_EQ(readLe16(readBack, 4), 10);
  writeLe32(size, 0, 1024);
  EXPECT_FALSE(control(*rig.device, ClassInterfaceOut, cdc_request::SetNtbInputSize, 0, 0, size).succeeded())
      << "below the 2048-byte minimum";
  writeLe32(size, 0, 16385);
  EXPECT_FALSE(control(*rig.device, ClassInterfaceOut, cdc_request::SetNtbInputSize, 0, 0, size).succeeded())
      << "above dwNtbInMaxSize";
  Bytes fourBytes(4);
  writeLe32(fourBytes, 0, 4096);
  EXPECT_FALSE(control(*rig.device, ClassInterfaceOut, cdc_request::SetNtbInputSize, 0, 0, fourBytes).succeeded())
      << "the 8-byte form was advertised";

  ASSERT_TRUE(control(*rig.device, ClassInterfaceIn, cdc_request::GetMaxDatagramSize, 0, 0, two).succeeded());
  EXPECT_EQ(readLe16(two, 0), 1514);
  EXPECT_FALSE(controlNoData(*rig.device, ClassInterfaceIn, cdc_request::GetCrcMode, 0, 0).succeeded());
  EXPECT_FALSE(controlNoData(*rig.device, ClassInterfaceOut, cdc_request::SetCrcMode, 0, 0).succeeded());

  // While the data interface runs, the format is fixed; going back to alternate setting 0
  // resets everything.
  ASSERT_TRUE(setInterface(*rig.device, 1, 1));
  EXPECT_FALSE(controlNoData(*rig.device, ClassInterfaceOut, cdc_request::SetNtbFormat, 0, 0).succeeded());
  EXPECT_EQ(rig.fn->ntbFormat(), NtbFormat::Ntb32);
  ASSERT_TRUE(setInterface(*rig.device, 1, 0));
  EXPECT_EQ(rig.fn->ntbFormat(), NtbFormat::Ntb16);
  EXPECT_EQ(rig.fn->ntbInputSize(), 16384u);

  Bytes mac(6);
  ASSERT_TRUE(control(*rig.device, ClassInterfaceIn, cdc_request::GetNetAddress, 0, 0, mac).succeeded());
  EXPECT_EQ(MacAddress::fromBytes(mac), HostMac);
}

TEST(CdcNcm, HostNtbsOfEveryFormatReachTheNetwork) {
  for (NtbFormat format : {NtbFormat::Ntb16, NtbFormat::Ntb32}) {
    NcmRig rig;
    startNcm(rig, format);
    std::vector<Bytes> expected;
    std::uint16_t sequence = 0;
    for (std::size_t size = 14; size <= 1514; size += 50) {
      std::vector<Bytes> datagrams{makeFrame(size, PeerMac, 1), makeFrame(1528 - size, PeerMac, 2)};
      writeOut(*rig.device, BulkOut, hostNtb(format, datagrams, 16384, sequence++));
      expected.insert(expected.end(), datagrams.begin(), datagrams.end());
    }
    ASSERT_TRUE(rig.port.waitForSent(expected.size()));
    EXPECT_EQ(rig.port.sent(), expected);
    auto counters = rig.fn->ncmCounters();
    EXPECT_EQ(counters.ntbsReceived, sequence);
    EXPECT_EQ(counters.sequenceGaps, 0u);
    EXPECT_EQ(counters.rejectedTotal(), 0u);
  }
}

TEST(CdcNcm, NtbOfExactlyTheMaximumSizeNeedsNoZlp) {
  CdcNcmConfig config;
  config.ntbOutMaxSize = 4096;  // a multiple of 512: the device must not wait for a ZLP
  NcmRig rig(config);
  startNcm(rig);
  // NTH (12) | 1500 @12 | 1500 @1512 | 1060 @3012 | NDP16 with three entries (24) @4072.
  std::vector<Bytes> frames{makeFrame(1500, PeerMac, 1), makeFrame(1500, PeerMac, 2),
                            makeFrame(1060, PeerMac, 3)};
  Bytes ntb = hostNtb(NtbFormat::Ntb16, frames, 4096, 0);
  ASSERT_EQ(ntb.size(), 4096u);
  writeOut(*rig.device, BulkOut, ntb);
  ASSERT_TRUE(rig.port.waitForSent(3));
  EXPECT_EQ(rig.port.sent(), frames);
  // Four bytes more is a block the device cannot take: it is cut at 4096 and rejected.
  frames[2] = makeFrame(1064, PeerMac, 3);
  Bytes tooBig = hostNtb(NtbFormat::Ntb16, frames, 8192, 1);
  ASSERT_EQ(tooBig.size(), 4100u);
  writeOut(*rig.device, BulkOut, tooBig, true);
  EXPECT_TRUE(eventually([&] {
    return rig.fn->ncmCounters().rejected[static_cast<std::size_t>(NtbError::BlockLengthExceedsMax)] == 1;
  }));
}

TEST(CdcNcm, MalformedNtbsAreRejectedAndCountedPerReason) {
  NcmRig rig;
  startNcm(rig);
  Bytes good = hostNtb(NtbFormat::Ntb16, {makeFrame(60, PeerMac)}, 16384, 0);
  auto corrupt = [&](auto&& change) {
    Bytes b = good;
    change(b);
    writeOut(*rig.device, BulkOut, b);
  };
  corrupt([](Bytes& b) { writeLe32(b, 0, 0xDEADBEEF); });                    // BadSignature
  corrupt([](Bytes& b) { writeLe16(b, 10, 13); });                           // NdpIndexMisaligned
  corrupt([](Bytes& b) { writeLe32(b, readLe16(b, 10), Ndp16CrcSignature); }); // CrcNotSupported
  corrupt([](Bytes& b) { writeLe16(b, readLe16(b, 10) + 10, 10); });         // DatagramTooShort
  corrupt([](Bytes& b) { writeLe16(b, 8, static_cast<std::uint16_t>(b.size() + 8)); });  // > transfer
  writeOut(*rig.device, BulkOut, hostNtb(NtbFormat::Ntb32, {makeFrame(60)}, 16384, 0));  // WrongFormat
  writeOut(*rig.device, BulkOut, good);
  ASSERT_TRUE(rig.port.waitForSent(1));
  auto c = rig.fn->ncmCounters();
  auto count = [&](NtbError e) { return c.rejected[static_cast<std::size_t>(e)]; };
  EXPECT_EQ(count(NtbError::BadSignature), 1u);
  EXPECT_EQ(count(NtbError::NdpIndexMisaligned), 1u);
  EXPECT_EQ(count(NtbError::CrcNotSupported), 1u);
  EXPECT_EQ(count(NtbError::DatagramTooShort), 1u);
  EXPECT_EQ(count(NtbError::BlockLengthExceedsTransfer), 1u);
  EXPECT_EQ(count(NtbError::WrongFormat), 1u);
  EXPECT_EQ(c.rejectedTotal(), 6u);
  EXPECT_EQ(rig.port.sentCount(), 1u) << "nothing from a rejected NTB went out";
  EXPECT_EQ(rig.fn->ethernetCounters().fromHostMalformed, 6u);
}

TEST(CdcNcm, FramesFromTheNetworkAreAggregatedIntoNtbs) {
  for (NtbFormat format : {NtbFormat::Ntb16, NtbFormat::Ntb32}) {
    NcmRig rig(patientNcm());
    startNcm(rig, format);
    std::vector<Bytes> frames;
    for (unsigned i = 0; i < 6; ++i) frames.push_back(makeFrame(100 + i * 200, HostMac, i));
    // No IN transfer is waiting: the frames collect in one NTB.
    for (const auto& f : frames) rig.port.deliver(f);
    InResult r = readIn(*rig.device, BulkIn, 16384);
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(datagramsOf(r.data, format, 16384), frames);
    EXPECT_EQ(readLe16(r.data, 6), 0) << "first NTB after SET_INTERFACE has sequence 0";
    // With a transfer already waiting, a single frame goes out at once.
    PendingTransfer waiting(BulkIn, Bytes(16384));
    rig.device->submit(waiting.transfer);
    std::this_thread::sleep_for(5ms);
    rig.port.deliver(frames[0]);
    ASSERT_TRUE(waiting.wait());
    EXPECT_EQ(datagramsOf(waiting.data(), format, 16384), std::vector<Bytes>{frames[0]});
    EXPECT_EQ(readLe16(waiting.data(), 6), 1);
  }
}

TEST(CdcNcm, AnOpenNtbIsClosedByTheFlushTimer) {
  CdcNcmConfig config;
  config.ethernet.batchFlushDelay = std::chrono::milliseconds(1);
  NcmRig rig(config);
  startNcm(rig);
  Bytes a = makeFrame(60, HostMac, 1), b = makeFrame(70, HostMac, 2);
  rig.port.deliver(a);
  // No transfer is waiting; the timer alone closes the NTB holding `a`.
  ASSERT_TRUE(eventually([&] { return rig.fn->ncmCounters().ntbsSent == 1; }));
  rig.port.deliver(b);
  InResult first = readIn(*rig.device, BulkIn, 16384);
  ASSERT_TRUE(first.completed);
  EXPECT_EQ(datagramsOf(first.data, NtbFormat::Ntb16, 16384), std::vector<Bytes>{a});
  InResult second = readIn(*rig.device, BulkIn, 16384);
  ASSERT_TRUE(second.completed);
  EXPECT_EQ(datagramsOf(second.data, NtbFormat::Ntb16, 16384), std::vector<Bytes>{b});
}

TEST(CdcNcm, DeviceNtbsRespectTheHostsInputSize) {
  NcmRig rig;
  startNcm(rig, NtbFormat::Ntb16, 2048);
  // 14 frames of 138 bytes: each NTB can hold what fits in 2048 bytes with its NDP.
  std::vector<Bytes> frames;
  for (unsigned i = 0; i < 14; ++i) frames.push_back(makeFrame(138, HostMac, i));
  for (const auto& f : frames) rig.port.deliver(f);
  std::vector<Bytes> received;
  while (received.size() < frames.size()) {
    InResult r = readIn(*rig.device, BulkIn, 2048);
    ASSERT_TRUE(r.completed);
    ASSERT_LE(r.data.size(), 2048u);
    if (r.data.empty()) continue;  // a ZLP
    auto got = datagramsOf(r.data, NtbFormat::Ntb16, 2048);
    received.insert(received.end(), got.begin(), got.end());
  }
  EXPECT_EQ(received, frames);
}

TEST(CdcNcm, NtbFillingTheInputSizeExactlyIsNotFollowedByAZlp) {
  NcmRig rig(patientNcm());
  startNcm(rig, NtbFormat::Ntb16, 2048);
  // The maximum datagram size is 1514, so two datagrams fill the 2048 bytes exactly:
  Bytes a = makeFrame(1000, HostMac, 1);
  // NTH 12 | a @12 (1000) | b @1012 | NDP @ (1012 + b) aligned 4, 20 bytes (2 entries + term).
  Bytes b = makeFrame(2048 - 1012 - 20, HostMac, 2);
  rig.port.deliver(a);
  rig.port.deliver(b);
  InResult r = readIn(*rig.device, BulkIn, 2048);
  ASSERT_TRUE(r.completed);
  ASSERT_EQ(r.data.size(), 2048u);
  EXPECT_EQ(datagramsOf(r.data, NtbFormat::Ntb16, 2048), (std::vector<Bytes>{a, b}));
  // No ZLP: the next transfer gets the next NTB, not an empty packet.
  Bytes c = makeFrame(70, HostMac, 3);
  rig.port.deliver(c);
  InResult next = readIn(*rig.device, BulkIn, 2048);
  ASSERT_TRUE(next.completed);
  EXPECT_EQ(datagramsOf(next.data, NtbFormat::Ntb16, 2048), std::vector<Bytes>{c});
}

TEST(CdcNcm, JumboDatagramsBothWays) {
  CdcNcmConfig config;
  config.ethernet.maxFrameSize = 9014;
  config.ntbInMaxSize = 32768;
  config.ntbOutMaxSize = 32768;
  NcmRig rig(config);
  startNcm(rig, NtbFormat::Ntb32, 32768);
  Bytes size(2);
  writeLe16(size, 0, 9014);
  ASSERT_TRUE(control(*rig.device, ClassInterfaceOut, cdc_request::SetMaxDatagramSize, 0, 0, size).succeeded());
  writeLe16(size, 0, 9015);
  EXPECT_FALSE(control(*rig.device, ClassInterfaceOut, cdc_request::SetMaxDatagramSize, 0, 0, size).succeeded());
  std::vector<Bytes> out, in;
  for (std::size_t s = 1514; s <= 9014; s += 750) {
    out.push_back(makeFrame(s, PeerMac, static_cast<unsigned>(s)));
    in.push_back(makeFrame(s, HostMac, static_cast<unsigned>(s) + 1));
  }
  out.push_back(makeFrame(9014, PeerMac, 77));
  in.push_back(makeFrame(9014, HostMac, 78));
  for (const auto& f : out) writeOut(*rig.device, BulkOut, hostNtb(NtbFormat::Ntb32, {f}, 32768, 0), true);
  ASSERT_TRUE(rig.port.waitForSent(out.size()));
  EXPECT_EQ(rig.port.sent(), out);
  std::vector<Bytes> received;
  for (const auto& f : in) {
    rig.port.deliver(f);
    InResult r = readIn(*rig.device, BulkIn, 32768);
    ASSERT_TRUE(r.completed);
    auto got = datagramsOf(r.data, NtbFormat::Ntb32, 32768);
    received.insert(received.end(), got.begin(), got.end());
  }
  EXPECT_EQ(received, in);
}

TEST(CdcNcm, LinkNotificationsAndFilter) {
  NcmRig rig;
  startNcm(rig);
  rig.fn->setLinkUp(false);
  Bytes down = readNotification(*rig.device);
  ASSERT_EQ(down.size(), 8u);
  EXPECT_EQ(wordAt(down, 2), 0);
  rig.fn->setLinkUp(true);
  EXPECT_EQ(readU8(readNotification(*rig.device), 1), cdc_notification::ConnectionSpeedChange);
  EXPECT_EQ(wordAt(readNotification(*rig.device), 2), 1);
  ASSERT_TRUE(controlNoData(*rig.device, ClassInterfaceOut, cdc_request::SetEthernetPacketFilter,
                            cdc_packet_type::Directed, 0).succeeded());
  rig.port.deliver(makeFrame(60, BroadcastAddress));
  Bytes directed = makeFrame(60, HostMac, 9);
  rig.port.deliver(directed);
  InResult r = readIn(*rig.device, BulkIn, 16384);
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(datagramsOf(r.data, NtbFormat::Ntb16, 16384), std::vector<Bytes>{directed});
  EXPECT_EQ(rig.fn->ethernetCounters().receive.filtered, 1u);
}

// ---- RNDIS ------------------------------------------------------------------------------------

namespace {

void sendCommand(UsbDevice& device, Bytes message) {
  ASSERT_TRUE(control(device, ClassInterfaceOut, cdc_request::SendEncapsulatedCommand, 0, 0, message).succeeded());
}

Bytes getResponse(UsbDevice& device) {
  Bytes buffer(1024);
  ControlResult r = control(device, ClassInterfaceIn, cdc_request::GetEncapsulatedResponse, 0, 0, buffer);
  EXPECT_TRUE(r.succeeded());
  buffer.resize(r.length);
  return buffer;
}

// One command, its RESPONSE_AVAILABLE notification, then the response.
RndisResponse exchange(UsbDevice& device, Bytes message, Bytes& storage) {
  sendCommand(device, std::move(message));
  Bytes notification = readNotification(device, 8);
  EXPECT_EQ(notification, bytesOf({1, 0, 0, 0, 0, 0, 0, 0}));
  storage = getResponse(device);
  RndisResponseParse parsed = parseRndisResponse(storage);
  EXPECT_TRUE(parsed.ok);
  return parsed.response;
}

Bytes message(std::size_t (*build)(std::span<std::byte>)) {
  Bytes b(1024);
  b.resize(build(b));
  return b;
}

RndisResponse query(UsbDevice& device, std::uint32_t oid, Bytes& storage, std::uint32_t id = 10) {
  Bytes q(64);
  q.resize(buildRndisQuery(q, id, oid));
  return exchange(device, q, storage);
}

RndisResponse set(UsbDevice& device, std::uint32_t oid, const Bytes& value, Bytes& storage,
                  std::uint32_t id = 11) {
  Bytes s(1024);
  s.resize(buildRndisSet(s, id, oid, value));
  return exchange(device, s, storage);
}

Bytes u32(std::uint32_t v) {
  Bytes b(4);
  writeLe32(b, 0, v);
  return b;
}

void startRndis(RndisRig& rig, std::uint32_t hostMaxTransfer = 16384) {
  ASSERT_TRUE(setConfiguration(*rig.device, 1));
  Bytes init(64), storage;
  init.resize(buildRndisInitialize(init, 1, hostMaxTransfer));
  RndisResponse r = exchange(*rig.device, init, storage);
  ASSERT_EQ(r.messageType, rndis_message::InitializeComplete);
  ASSERT_EQ(r.status, rndis_status::Success);
  r = set(*rig.device, rndis_oid::GenCurrentPacketFilter,
          u32(ndis_packet_type::Directed | ndis_packet_type::Broadcast | ndis_packet_type::AllMulticast), storage);
  ASSERT_EQ(r.status, rndis_status::Success);
  ASSERT_EQ(rig.fn->state(), RndisState::DataInitialized);
}

std::vector<Bytes> packetsOf(const Bytes& transfer) {
  std::array<std::span<const std::byte>, 64> out;
  RndisPacketLimits limits;
  limits.maxPackets = 64;
  limits.maxTransferSize = 65536;
  RndisPacketParseResult r = parseRndisPacketTransfer(transfer, limits, out);
  EXPECT_EQ(r.error, RndisPacketError::None) << toString(r.error);
  std::vector<Bytes> frames;
  for (std::size_t i = 0; i < r.packetCount; ++i) frames.emplace_back(out[i].begin(), out[i].end());
  return frames;
}

}  // namespace

TEST(Rndis, DescriptorsMatchWhatRndisHostsBind) {
  RndisRig rig;
  auto device = parseDeviceDescriptor(getDescriptor(*rig.device, descriptor_type::Device, 0));
  ASSERT_TRUE(device);
  EXPECT_EQ(device->bDeviceClass, 0xEF);
  EXPECT_EQ(device->bDeviceSubClass, 0x02);
  EXPECT_EQ(device->bDeviceProtocol, 0x01);
  const Bytes config = rig.configuration();
  auto parsed = parseConfigurationDescriptor(config);
  ASSERT_EQ(parsed.error, DescriptorError::None);
  const auto& c = parsed.configuration;
  ASSERT_EQ(c.associations.size(), 1u);
  EXPECT_EQ(c.associations[0].bFunctionClass, 0xE0);
  EXPECT_EQ(c.associations[0].bFunctionSubClass, 0x01);
  EXPECT_EQ(c.associations[0].bFunctionProtocol, 0x03);
  const ParsedAlternateSetting* comm = c.find(0, 0);
  ASSERT_TRUE(comm);
  EXPECT_EQ(comm->fields.bInterfaceClass, 0xE0);
  EXPECT_EQ(comm->endpoints[0].fields.wMaxPacketSize, 8);
  expectCdcUnion(c, 0, 1);
  auto callManagement = functional(*comm, cdc_descriptor_subtype::CallManagement);
  ASSERT_EQ(callManagement.size(), 5u);
  EXPECT_EQ(readU8(callManagement, 4), 1);
  EXPECT_EQ(c.find(1, 0)->fields.bNumEndpoints, 2);
  EXPECT_FALSE(c.find(1, 1)) << "RNDIS data interface has a single alternate setting";

  RndisConfig vendor;
  vendor.interfaceClass = RndisInterfaceClass::CdcAbstractVendor;
  vendor.interfaceAssociation = false;
  RndisRig vendorRig(vendor);
  const Bytes vendorConfig = vendorRig.configuration();
  auto vendorParsed = parseConfigurationDescriptor(vendorConfig);
  ASSERT_EQ(vendorParsed.error, DescriptorError::None);
  EXPECT_TRUE(vendorParsed.configuration.associations.empty());
  EXPECT_EQ(vendorParsed.configuration.find(0, 0)->fields.bInterfaceClass, 0x02);
  EXPECT_EQ(vendorParsed.configuration.find(0, 0)->fields.bInterfaceSubClass, 0x02);
  EXPECT_EQ(vendorParsed.configuration.find(0, 0)->fields.bInterfaceProtocol, 0xFF);
}

TEST(Rndis, InitializeQuerySetKeepaliveResetHalt) {
  RndisRig rig;
  ASSERT_TRUE(setConfiguration(*rig.device, 1));
  Bytes storage;
  // Nothing queued: one zero byte, not a stall.
  EXPECT_EQ(getResponse(*rig.device), bytesOf({0}));

  Bytes init(64);
  init.resize(buildRndisInitialize(init, 0x1234, 8192));
  RndisResponse r = exchange(*rig.device, init, storage);
  ASSERT_EQ(r.messageType, rndis_message::InitializeComplete);
  EXPECT_EQ(r.requestId, 0x1234u);
  EXPECT_EQ(r.status, rndis_status::Success);
  EXPECT_EQ(r.initialize.MajorVersion, 1u);
  EXPECT_EQ(r.initialize.MinorVersion, 0u);
  EXPECT_EQ(r.initialize.DeviceFlags, RndisDeviceFlagConnectionless);
  EXPECT_EQ(r.initialize.Medium, RndisMedium802_3);
  EXPECT_EQ(r.initialize.MaxPacketsPerMessage, 8u);
  EXPECT_EQ(r.initialize.MaxTransferSize, 16384u);
  EXPECT_EQ(r.initialize.PacketAlignmentFactor, 3u);
  EXPECT_EQ(rig.fn->state(), RndisState::Initialized);
  EXPECT_EQ(rig.fn->hostMaxTransferSize(), 8192u);

  r = query(*rig.device, rndis_oid::GenSupportedList, storage, 5);
  ASSERT_EQ(r.status, rndis_status::Success);
  EXPECT_EQ(r.requestId, 5u);
  ASSERT_EQ(r.information.size() % 4, 0u);
  std::vector<std::uint32_t> supported;
  for (std::size_t i = 0; i < r.information.size(); i += 4) supported.push_back(readLe32(r.information, i));
  for (std::uint32_t required :
       {rndis_oid::GenSupportedList, rndis_oid::GenHardwareStatus, rndis_oid::GenMediaSupported,
        rndis_oid::GenMediaInUse, rndis_oid::GenMaximumFrameSize, rndis_oid::GenLinkSpeed,
        rndis_oid::GenTransmitBlockSize, rndis_oid::GenReceiveBlockSize, rndis_oid::GenVendorId,
        rndis_oid::GenVendorDescription, rndis_oid::GenCurrentPacketFilter,
        rndis_oid::GenMaximumTotalSize, rndis_oid::GenMediaConnectStatus, rndis_oid::GenPhysicalMedium,
        rndis_oid::GenXmitOk, rndis_oid::GenRcvOk, rndis_oid::GenXmitError, rndis_oid::GenRcvError,
        rndis_oid::GenRcvNoBuffer, rndis_oid::Ieee8023PermanentAddress, rndis_oid::Ieee8023CurrentAddress,
        rndis_oid::Ieee8023MulticastList, rndis_oid::Ieee8023MaximumListSize}) {
    EXPECT_NE(std::find(supported.begin(), supported.end(), required), supported.end()) << std::hex << required;
    // Every listed OID answers.
    EXPECT_EQ(query(*rig.device, required, storage).status, rndis_status::Success) << std::hex << required;
  }
  r = query(*rig.device, rndis_oid::Ieee8023PermanentAddress, storage);
  ASSERT_EQ(r.information.size(), 6u);
  EXPECT_EQ(MacAddress::fromBytes(r.information), HostMac);
  r = query(*rig.device, rndis_oid::GenLinkSpeed, storage);
  EXPECT_EQ(readLe32(r.information, 0), 10'000'000u) << "1 Gbit/s in 100 bit/s units";
  r = query(*rig.device, rndis_oid::GenMaximumFrameSize, storage);
  EXPECT_EQ(readLe32(r.information, 0), 1500u);
  r = query(*rig.device, rndis_oid::GenMediaConnectStatus, storage);
  EXPECT_EQ(readLe32(r.information, 0), NdisMediaStateConnected);
  r = query(*rig.device, rndis_oid::GenPhysicalMedium, storage);
  EXPECT_EQ(readLe32(r.information, 0), NdisPhysicalMedium802_3);
  r = query(*rig.device, rndis_oid::GenVendorDescription, storage);
  ASSERT_FALSE(r.information.empty());
  EXPECT_EQ(r.information.back(), std::byte{0}) << "NUL-terminated";
  r = query(*rig.device, 0x00FF00FF, storage);
  EXPECT_EQ(r.messageType, rndis_message::QueryComplete);
  EXPECT_EQ(r.status, rndis_status::NotSupported);
  EXPECT_TRUE(r.information.empty());

  // SET: packet filter moves the device to data-initialized; errors are statuses.
  EXPECT_EQ(set(*rig.device, rndis_oid::GenCurrentPacketFilter, Bytes(2), storage).status,
            rndis_status::InvalidLength);
  EXPECT_EQ(set(*rig.device, rndis_oid::GenCurrentPacketFilter, u32(0x00010000), storage).status,
            rndis_status::NotSupported);
  EXPECT_EQ(set(*rig.device, rndis_oid::GenLinkSpeed, u32(1), storage).status, rndis_status::NotSupported);
  EXPECT_EQ(set(*rig.device, rndis_oid::GenCurrentPacketFilter, u32(ndis_packet_type::Directed), storage).status,
            rndis_status::Success);
  EXPECT_EQ(rig.fn->state(), RndisState::DataInitialized);
  r = query(*rig.device, rndis_oid::GenCurrentPacketFilter, storage);
  EXPECT_EQ(readLe32(r.information, 0), ndis_packet_type::Directed);
  Bytes groups(12);
  GroupMac.toBytes(std::span(groups).first(6));
  OtherGroupMac.toBytes(std::span(groups).subspan(6));
  EXPECT_EQ(set(*rig.device, rndis_oid::Ieee8023MulticastList, groups, storage).status, rndis_status::Success);
  r = query(*rig.device, rndis_oid::Ieee8023MulticastList, storage);
  EXPECT_EQ(Bytes(r.information.begin(), r.information.end()), groups);
  EXPECT_EQ(set(*rig.device, rndis_oid::Ieee8023MulticastList, Bytes(7), storage).status,
            rndis_status::InvalidLength);
  EXPECT_EQ(set(*rig.device, rndis_oid::Ieee8023MulticastList, Bytes(6 * 33, std::byte{1}), storage).status,
            rndis_status::MulticastFull);

  // KEEPALIVE.
  Bytes keepalive(64);
  keepalive.resize(buildRndisKeepalive(keepalive, 77));
  r = exchange(*rig.device, keepalive, storage);
  EXPECT_EQ(r.messageType, rndis_message::KeepaliveComplete);
  EXPECT_EQ(r.requestId, 77u);
  EXPECT_EQ(r.status, rndis_status::Success);

  // RESET: addressing is lost, and the reply says so.
  r = exchange(*rig.device, message(&buildRndisReset), storage);
  EXPECT_EQ(r.messageType, rndis_message::ResetComplete);
  EXPECT_EQ(r.status, rndis_status::Success);
  EXPECT_EQ(r.addressingReset, 1u);
  EXPECT_EQ(rig.fn->state(), RndisState::Initialized);
  r = query(*rig.device, rndis_oid::GenCurrentPacketFilter, storage);
  EXPECT_EQ(readLe32(r.information, 0), 0u);

  // HALT: no reply, back to uninitialized; QUERY then fails.
  Bytes halt(64);
  halt.resize(buildRndisHalt(halt, 90));
  sendCommand(*rig.device, halt);
  EXPECT_FALSE(readIn(*rig.device, NotifyEp, 8, 50ms).completed);
  EXPECT_EQ(getResponse(*rig.device), bytesOf({0}));
  EXPECT_EQ(rig.fn->state(), RndisState::Uninitialized);
  EXPECT_EQ(query(*rig.device, rndis_oid::GenLinkSpeed, storage).status, rndis_status::Failure);
}

TEST(Rndis, MalformedControlMessagesGetInvalidDataIndications) {
  RndisRig rig;
  startRndis(rig);
  Bytes storage;
  Bytes unknown(16);
  writeLe32(unknown, 0, 0x00000042);
  writeLe32(unknown, 4, 16);
  RndisResponse r = exchange(*rig.device, unknown, storage);
  EXPECT_EQ(r.messageType, rndis_message::IndicateStatus);
  EXPECT_EQ(r.status, rndis_status::InvalidData);
  ASSERT_GE(r.information.size(), 8u + 16u);
  EXPECT_EQ(readLe32(r.information, 0), rndis_status::NotSupported);
  EXPECT_EQ(Bytes(r.information.begin() + 8, r.information.begin() + 24), unknown);
  Bytes truncated(64);
  truncated.resize(buildRndisQuery(truncated, 3, rndis_oid::GenLinkSpeed));
  writeLe32(truncated, 4, 100);
  r = exchange(*rig.device, truncated, storage);
  EXPECT_EQ(r.status, rndis_status::InvalidData);
  EXPECT_EQ(rig.fn->rndisCounters().invalidControlMessages, 2u);
  // A class request RNDIS does not define stalls; the device keeps working.
  EXPECT_EQ(controlNoData(*rig.device, ClassInterfaceOut, cdc_request::SetEthernetPacketFilter, 0, 0).status,
            TransferStatus::Stall);
  EXPECT_EQ(query(*rig.device, rndis_oid::GenRcvOk, storage).status, rndis_status::Success);
}

TEST(Rndis, MultiPacketTransfersBothWays) {
  RndisConfig config;
  // Only a waiting transfer closes a batch: the test decides what is aggregated.
  config.ethernet.batchFlushDelay = std::chrono::seconds(30);
  RndisRig rig(config);
  startRndis(rig);
  // Host to device: 8 packets in one transfer, 8-byte aligned.
  std::vector<Bytes> out;
  for (unsigned i = 0; i < 8; ++i) out.push_back(makeFrame(60 + i * 171, PeerMac, i));
  std::vector<std::span<const std::byte>> views(out.begin(), out.end());
  Bytes transfer(16384);
  transfer.resize(buildRndisPacketTransfer(transfer, views, 16384));
  EXPECT_EQ(writeOut(*rig.device, BulkOut, transfer, true), TransferStatus::Success);
  ASSERT_TRUE(rig.port.waitForSent(out.size()));
  EXPECT_EQ(rig.port.sent(), out);

  // Device to host: frames queued while no transfer waits come in one transfer.
  std::vector<Bytes> in;
  for (unsigned i = 0; i < 6; ++i) in.push_back(makeFrame(100 + i * 97, HostMac, i));
  for (const auto& f : in) rig.port.deliver(f);
  InResult r = readIn(*rig.device, BulkIn, 16384);
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(packetsOf(r.data), in);
  EXPECT_EQ(rig.fn->ethernetCounters().toHostBatches, 1u);

  Bytes storage;
  EXPECT_EQ(readLe32(query(*rig.device, rndis_oid::GenXmitOk, storage).information, 0), 8u);
  EXPECT_EQ(readLe32(query(*rig.device, rndis_oid::GenRcvOk, storage).information, 0), 6u);
}

TEST(Rndis, BatchesStayWithinTheHostsMaxTransferSize) {
  RndisRig rig;
  startRndis(rig, 2048);
  std::vector<Bytes> in;
  for (unsigned i = 0; i < 10; ++i) in.push_back(makeFrame(500, HostMac, i));
  for (const auto& f : in) rig.port.deliver(f);
  std::vector<Bytes> received;
  while (received.size() < in.size()) {
    InResult r = readIn(*rig.device, BulkIn, 2048);
    ASSERT_TRUE(r.completed);
    ASSERT_LE(r.data.size(), 2048u);
    if (r.data.empty()) continue;
    auto got = packetsOf(r.data);
    EXPECT_LE(got.size(), 3u) << "3 x (44 + 500) + padding fit in 2048";
    received.insert(received.end(), got.begin(), got.end());
  }
  EXPECT_EQ(received, in);
}

TEST(Rndis, MalformedDataTransfersAreRejectedAndReported) {
  RndisRig rig;
  startRndis(rig);
  Bytes frame = makeFrame(60, PeerMac);
  std::span<const std::byte> view = frame;
  Bytes good(1024);
  good.resize(buildRndisPacketTransfer(good, std::span(&view, 1), 1024));
  Bytes bad = good;
  writeLe32(bad, 12, 5000);  // DataLength past the message
  writeOut(*rig.device, BulkOut, bad);
  Bytes notification = readNotification(*rig.device, 8);
  EXPECT_EQ(readLe32(notification, 0), RndisResponseAvailable);
  RndisResponseParse indication = parseRndisResponse(getResponse(*rig.device));
  ASSERT_TRUE(indication.ok);
  EXPECT_EQ(indication.response.messageType, rndis_message::IndicateStatus);
  EXPECT_EQ(indication.response.status, rndis_status::InvalidData);

  std::vector<Bytes> many(9, frame);
  std::vector<std::span<const std::byte>> views(many.begin(), many.end());
  Bytes tooMany(16384);
  tooMany.resize(buildRndisPacketTransfer(tooMany, views, 16384));
  writeOut(*rig.device, BulkOut, tooMany, true);
  writeOut(*rig.device, BulkOut, good);
  ASSERT_TRUE(rig.port.waitForSent(1));
  auto c = rig.fn->rndisCounters();
  EXPECT_EQ(c.rejected[static_cast<std::size_t>(RndisPacketError::DataOutOfBounds)], 1u);
  EXPECT_EQ(c.rejected[static_cast<std::size_t>(RndisPacketError::TooManyPackets)], 1u);
  EXPECT_EQ(rig.port.sentCount(), 1u);
}

TEST(Rndis, DataBeforeDataInitializedIsDropped) {
  RndisRig rig;
  ASSERT_TRUE(setConfiguration(*rig.device, 1));
  Bytes frame = makeFrame(60, PeerMac);
  std::span<const std::byte> view = frame;
  Bytes transfer(1024);
  transfer.resize(buildRndisPacketTransfer(transfer, std::span(&view, 1), 1024));
  writeOut(*rig.device, BulkOut, transfer);
  rig.port.deliver(makeFrame(60));
  EXPECT_FALSE(readIn(*rig.device, BulkIn, 16384, 50ms).completed);
  EXPECT_EQ(rig.port.sentCount(), 0u);
  EXPECT_EQ(rig.fn->rndisCounters().packetsBeforeInitialized, 1u);
  EXPECT_EQ(rig.fn->ethernetCounters().receive.inactive, 1u);
}

TEST(Rndis, MediaStateIndications) {
  RndisRig rig;
  startRndis(rig);
  rig.fn->setLinkUp(false);
  Bytes notification = readNotification(*rig.device, 8);
  EXPECT_EQ(readLe32(notification, 0), RndisResponseAvailable);
  RndisResponseParse r = parseRndisResponse(getResponse(*rig.device));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.response.messageType, rndis_message::IndicateStatus);
  EXPECT_EQ(r.response.status, rndis_status::MediaDisconnect);
  Bytes storage;
  EXPECT_EQ(readLe32(query(*rig.device, rndis_oid::GenMediaConnectStatus, storage).information, 0),
            NdisMediaStateDisconnected);
  rig.fn->setLinkUp(true);
  readNotification(*rig.device, 8);
  r = parseRndisResponse(getResponse(*rig.device));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.response.status, rndis_status::MediaConnect);
}

TEST(EthernetFunctions, DisconnectWithTrafficInFlight) {
  NcmRig rig;
  startNcm(rig);
  PendingTransfer in(BulkIn, Bytes(16384)), notify(NotifyEp, Bytes(16));
  rig.device->submit(in.transfer);
  rig.device->submit(notify.transfer);
  std::thread network([&] {
    for (int i = 0; i < 200; ++i) rig.port.deliver(makeFrame(60, HostMac, static_cast<unsigned>(i)));
  });
  rig.device->disconnect();
  network.join();
  ASSERT_TRUE(in.wait());
  ASSERT_TRUE(notify.wait());
  EXPECT_TRUE(in.transfer.status == TransferStatus::DeviceGone || in.transfer.status == TransferStatus::Success);
  EXPECT_EQ(notify.transfer.status, TransferStatus::DeviceGone);
  EXPECT_EQ(readIn(*rig.device, BulkIn, 16384).status, TransferStatus::DeviceGone);
  rig.device.reset();
  EXPECT_FALSE(rig.port.hasHandler()) << "the function unhooked itself from the port";
}
